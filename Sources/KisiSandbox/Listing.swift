import Foundation
import Hummingbird

/// Offset pagination with Kisi's per-endpoint `limit` defaults and maxima, and `X-Collection-Range`.
struct PageSpec: Sendable {
    var defaultLimit: Int
    var maxLimit: Int

    static let users = PageSpec(defaultLimit: 50, maxLimit: 100)
    static let locksAndPlaces = PageSpec(defaultLimit: 50, maxLimit: 250)
    static let standard = PageSpec(defaultLimit: 10, maxLimit: 250)

    /// The document's `offset` maximum on every list endpoint.
    static let maxOffset = 20_000
}

enum Listing {
    /// Decisions (see README): `limit` above the maximum is clamped to it; `limit` < 1 or non-numeric,
    /// negative or non-numeric `offset`, and `offset` above 20000 are 400 errors.
    static func page(_ items: [JSONValue], query: [String: String], spec: PageSpec) throws(APIError) -> Reply {
        try page(items, query: query, spec: spec) { $0 }
    }

    /// The page of `items` the query asks for, serializing only that page: a list of 150,000 users costs
    /// the sandbox one page's worth of serialization, not the whole organization's.
    static func page<Item>(
        _ items: [Item], query: [String: String], spec: PageSpec, serialize: ([Item]) -> [JSONValue]
    ) throws(APIError) -> Reply {
        var limit = spec.defaultLimit
        if let raw = query["limit"] {
            guard let v = Int(raw), v >= 1 else { throw APIError.badRequest("limit must be a positive integer") }
            limit = min(v, spec.maxLimit)
        }
        var offset = 0
        if let raw = query["offset"] {
            guard let v = Int(raw), v >= 0 else { throw APIError.badRequest("offset must be a non-negative integer") }
            guard v <= PageSpec.maxOffset else {
                throw APIError.badRequest("offset must be less than or equal to \(PageSpec.maxOffset)")
            }
            offset = v
        }
        let total = items.count
        let slice = offset < total ? serialize(Array(items[offset..<min(total, offset + limit)])) : []
        // The document's example (offset 10, limit 10, 15 items → "10-19/15") shows `end = offset + limit - 1`,
        // unclamped; an empty page is "*/total" (so "*/0" for an empty collection).
        let range = slice.isEmpty ? "*/\(total)" : "\(offset)-\(offset + limit - 1)/\(total)"
        var reply = Reply.ok(.array(slice))
        reply.headers[.collectionRange] = range
        return reply
    }

    /// `ids=1,2,3` (comma-separated; blanks and non-numbers ignored).
    static func ids(_ query: [String: String]) -> Set<Int>? {
        guard let raw = query["ids"] else { return nil }
        return Set(raw.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) })
    }

    /// `query` search: case-insensitive substring match on any of the endpoint's documented fields.
    static func matches(_ query: [String: String], _ fields: [String?]) -> Bool {
        guard let q = query["query"]?.trimmingCharacters(in: .whitespaces), !q.isEmpty else { return true }
        return fields.contains { $0?.localizedCaseInsensitiveContains(q) ?? false }
    }

    static func intParam(_ query: [String: String], _ key: String) throws(APIError) -> Int? {
        guard let raw = query[key], !raw.isEmpty else { return nil }
        guard let v = Int(raw) else { throw APIError.badRequest("\(key) must be an integer") }
        return v
    }

    static func boolParam(_ query: [String: String], _ key: String) -> Bool? {
        switch query[key] {
        case "true", "1": return true
        case "false", "0": return false
        default: return nil
        }
    }

    /// Sort by `field` or `-field`; `keys` maps field names to a comparable string.
    static func sorted<T>(_ items: [T], query: [String: String], keys: [String: (T) -> String], id: (T) -> Int) -> [T] {
        guard let raw = query["sort"], !raw.isEmpty else { return items.sorted { id($0) < id($1) } }
        let desc = raw.hasPrefix("-")
        let name = desc ? String(raw.dropFirst()) : raw
        guard let key = keys[name] else { return items.sorted { id($0) < id($1) } }
        // Each item's key once, not once per comparison: a group of 50,000 is sorted for every page.
        let keyed = items.map { (key: key($0).lowercased(), id: id($0), item: $0) }
        return keyed.sorted { a, b in
            if a.key == b.key { return a.id < b.id }
            return desc ? a.key > b.key : a.key < b.key
        }.map(\.item)
    }
}

extension HTTPFields.Element.Name {
    static let collectionRange = Self("X-Collection-Range")!
    static let retryAfter = Self("Retry-After")!
    static let signature = Self("X-Signature")!
    static let sandboxAdminKey = Self("X-Sandbox-Admin-Key")!
}
