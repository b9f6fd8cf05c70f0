import FluentKit
import FluentSQL
import Foundation
import SQLKit

/// Where the next page of a list starts: the sort key of the last row a client saw, handed out as
/// `next_cursor` and taken back as `cursor`.
///
/// Offset paging makes the database walk past every skipped row, so the 2,000th page of 100,000
/// members or of a million audit entries costs as much as reading them all; a cursor turns the page
/// into an index range scan that costs the same on every page, and rows added meanwhile do not shift
/// what the next page shows. The token is opaque to clients (base64url of the key's values as a JSON
/// array of strings); each list checks that the values fit its own key and refuses anything else.
public struct PageCursor: Sendable, Equatable {
    /// The sort key's values, first column first, as text.
    public let values: [String]

    /// Longer tokens are refused before decoding: no real key comes near this.
    public static let maximumTokenLength = 1_024

    public init(values: [String]) {
        self.values = values
    }

    /// Reads a token; nil when it is not one this server could have written.
    public init?(token: String) {
        guard !token.isEmpty, token.utf8.count <= Self.maximumTokenLength,
              token.unicodeScalars.allSatisfy({ Self.alphabet.contains($0) })
        else { return nil }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let values = try? JSONDecoder().decode([String].self, from: data),
              !values.isEmpty
        else { return nil }
        self.values = values
    }

    public var token: String {
        let data = (try? JSONEncoder().encode(values)) ?? Data()
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".unicodeScalars)

    /// A cursor that does not fit the list it was sent to (another list's, or a forged one).
    public struct Mismatch: Error, Equatable, Sendable {}
}

/// A list's order as keyset paging needs it: the columns of its sort key (the last one unique, so
/// the order is total), one direction for all, a row's key values, and how to turn a cursor's text
/// back into values the database compares like the columns.
struct Keyset<M: Model>: Sendable {
    var columns: [String]
    var descending: Bool
    var key: @Sendable (M) throws -> [String]
    var binds: @Sendable ([String]) throws(PageCursor.Mismatch) -> [any Encodable & Sendable]

    /// Sorts `query` by the key.
    func sort(_ query: QueryBuilder<M>) -> QueryBuilder<M> {
        for column in columns { query.sort(.string(column), descending ? .descending : .ascending) }
        return query
    }

    /// Keeps the rows after `cursor` in the key's order. A row-value comparison, which both SQLite
    /// (3.15+) and PostgreSQL evaluate as a range on an index over the same columns.
    func restrict(_ query: QueryBuilder<M>, after cursor: PageCursor) throws(PageCursor.Mismatch) {
        guard cursor.values.count == columns.count else { throw PageCursor.Mismatch() }
        let values = try binds(cursor.values)
        let comparison = descending ? "<" : ">"
        query.filter(.sql(embed: "(\(idents: columns, joinedBy: ", ")) \(unsafeRaw: comparison) (\(binds: values))"))
    }
}

extension GymRepository {
    /// From this offset on, pages skip by ID first (see below); before it the second query costs more than it saves.
    static let deferredOffset = 500

    /// A page of `query` in `keyset`'s order: from `request.cursor` when given (then `offset` counts
    /// from there), with `total` counting every match and `nextCursor` set when more rows follow.
    static func page<M: Model, T: Sendable>(
        _ query: QueryBuilder<M>, _ request: PageRequest, keyset: Keyset<M>, map: (M) throws -> T
    ) async throws -> Page<T> {
        let request = request.clamped
        let total = try await query.copy().count()
        if let cursor = request.cursor { try keyset.restrict(query, after: cursor) }
        // One row more than asked shows whether another page follows, without a second query.
        var rows: [M]
        if request.offset < deferredOffset {
            rows = try await keyset.sort(query).offset(request.offset).limit(request.limit + 1).all()
        } else {
            // The database produces every skipped row before discarding it. Skipping on IDs alone
            // lets it walk the sort key's index without reading the table (an index-only scan, as
            // every key ends with the ID), then the page's few rows are read by ID.
            let ids = try await keyset.sort(query.copy()).offset(request.offset).limit(request.limit + 1).all(\._$id)
            rows = ids.isEmpty ? [] : try await keyset.sort(query.filter(\._$id ~~ ids)).all()
        }
        var next: PageCursor?
        if rows.count > request.limit {
            rows.removeLast()
            if let last = rows.last { next = PageCursor(values: try keyset.key(last)) }
        }
        var page = Page(items: try rows.map(map), total: total, limit: request.limit, offset: request.offset)
        page.nextCursor = next
        return page
    }
}
