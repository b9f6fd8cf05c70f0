import Foundation

/// Kisi's `X-Collection-Range` header: `start-end/total` (zero-based, inclusive), or `*/0` when the
/// result is empty.
///
/// Only `total` is used: Kisi's own example (`10-19/15` for 15 items, offset 10, limit 10) shows that
/// `end` is `offset + limit - 1`, not the index of the last item returned, so it must not be trusted.
public struct KisiCollectionRange: Sendable, Hashable {
    /// `start`, or nil for the `*/total` form.
    public var start: Int?
    /// `end` as sent (may exceed `total - 1`; informational only).
    public var end: Int?
    public var total: Int

    public init(start: Int?, end: Int?, total: Int) {
        self.start = start
        self.end = end
        self.total = total
    }

    /// Parses `0-99/1234`, `*/0` and `*/1234`; surrounding whitespace is ignored. Nil when malformed.
    public init?(header: String) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard let slash = trimmed.lastIndex(of: "/") else { return nil }
        let rangePart = trimmed[..<slash].trimmingCharacters(in: .whitespaces)
        let totalPart = trimmed[trimmed.index(after: slash)...].trimmingCharacters(in: .whitespaces)
        guard let total = Int(totalPart), total >= 0 else { return nil }
        if rangePart == "*" {
            self.init(start: nil, end: nil, total: total)
            return
        }
        let bounds = rangePart.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 2, let start = Int(bounds[0]), let end = Int(bounds[1]), start >= 0, end >= start else {
            return nil
        }
        self.init(start: start, end: end, total: total)
    }
}

/// One page of an offset-paginated list.
public struct KisiPage<Item: Sendable>: Sendable {
    public var items: [Item]
    /// The `offset` that was requested.
    public var offset: Int
    /// The `limit` that was requested.
    public var limit: Int
    /// `total` from `X-Collection-Range`, when the header was present and well-formed.
    public var total: Int?

    public init(items: [Item], offset: Int, limit: Int, total: Int?) {
        self.items = items
        self.offset = offset
        self.limit = limit
        self.total = total
    }

    /// Whether another page should be requested: uses `total` and the item count, never the header's `end`.
    /// Without a total, a short page ends the list.
    public var hasMore: Bool {
        if items.isEmpty { return false }
        if let total { return offset + items.count < total }
        return items.count >= limit
    }
}

extension KisiPage: Equatable where Item: Equatable {}

/// Kisi rejects (or ignores) `offset` above this value on every list endpoint.
public let kisiMaximumOffset = 20_000

/// The pages of a list, fetched lazily one after the other with `limit` = the endpoint's maximum.
///
/// The 20,000 offset ceiling: the sequence never requests an offset above ``kisiMaximumOffset``. When the
/// first page's `total` shows that the list cannot be read completely (more than `20_000 + limit` items),
/// it throws ``KisiError/paginationCeiling(operation:total:reachable:)`` *before yielding anything*: for a
/// sync, a silently truncated list is worse than an error (it would look like members disappeared). The
/// caller narrows the filter instead (place, group, query). If the list grows past the ceiling while it is
/// being read (or Kisi sends no total), the pages up to offset 20,000 are yielded and then the same error
/// is thrown.
public struct KisiPageSequence<Item: Sendable>: AsyncSequence, Sendable {
    public typealias Element = KisiPage<Item>
    public typealias Failure = any Error

    let operation: String
    let pageSize: Int
    let maximumOffset: Int
    let fetch: @Sendable (_ offset: Int, _ limit: Int) async throws -> KisiPage<Item>

    init(
        operation: String,
        pageSize: Int,
        maximumOffset: Int = kisiMaximumOffset,
        fetch: @escaping @Sendable (_ offset: Int, _ limit: Int) async throws -> KisiPage<Item>
    ) {
        self.operation = operation
        self.pageSize = pageSize
        self.maximumOffset = maximumOffset
        self.fetch = fetch
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let sequence: KisiPageSequence<Item>
        var nextOffset: Int? = 0
        var pendingError: KisiError?

        public mutating func next() async throws -> KisiPage<Item>? {
            if let pendingError {
                self.pendingError = nil
                throw pendingError
            }
            guard let offset = nextOffset else { return nil }
            let limit = sequence.pageSize
            let page: KisiPage<Item>
            do {
                page = try await sequence.fetch(offset, limit)
            } catch {
                nextOffset = nil
                throw error
            }
            let reachable = sequence.maximumOffset + limit
            if let total = page.total, total > reachable {
                nextOffset = nil
                throw KisiError.paginationCeiling(operation: sequence.operation, total: total, reachable: reachable)
            }
            if page.hasMore {
                let next = offset + page.items.count
                if next > sequence.maximumOffset {
                    // Yield this page, then fail: the rest is beyond the ceiling.
                    nextOffset = nil
                    pendingError = KisiError.paginationCeiling(
                        operation: sequence.operation,
                        total: page.total ?? next + 1,
                        reachable: reachable
                    )
                    return page
                }
                nextOffset = next
            } else {
                nextOffset = nil
            }
            return page
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(sequence: self)
    }
}

/// Every item of a list, across all pages (see ``KisiPageSequence`` for paging and the offset ceiling).
///
/// ```swift
/// for try await user in client.allUsers(filter: .init(query: "gym")) { ... }
/// ```
public struct KisiPaginatedSequence<Item: Sendable>: AsyncSequence, Sendable {
    public typealias Element = Item
    public typealias Failure = any Error

    /// The same list, page by page.
    public let pages: KisiPageSequence<Item>

    init(pages: KisiPageSequence<Item>) {
        self.pages = pages
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var pages: KisiPageSequence<Item>.AsyncIterator
        var buffer: [Item] = []
        var index = 0

        public mutating func next() async throws -> Item? {
            while index >= buffer.count {
                guard let page = try await pages.next() else { return nil }
                buffer = page.items
                index = 0
            }
            defer { index += 1 }
            return buffer[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(pages: pages.makeAsyncIterator())
    }

    /// Collects every item (convenience for small lists).
    public func collect() async throws -> [Item] {
        var all: [Item] = []
        for try await item in self { all.append(item) }
        return all
    }
}
