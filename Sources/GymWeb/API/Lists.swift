import Foundation
import GymStore
import Hummingbird

// What every resource shares: the page envelope of lists and PATCH's "absent or null" decoding.
// Field names are snake_case; calendar dates are "YYYY-MM-DD" in the club's zone; instants are
// ISO 8601 in UTC. Create bodies are complete; PATCH bodies change only the keys they contain, and
// `null` clears an optional field.

extension KeyedDecodingContainer {
    /// For PATCH: `nil` when the key is absent, `.some(nil)` when it is `null`.
    func patch<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T?? {
        guard contains(key) else { return nil }
        if try decodeNil(forKey: key) { return .some(nil) }
        return .some(try decode(T.self, forKey: key))
    }
}

struct ListResponse<Item: Encodable & Sendable>: ResponseEncodable, Sendable {
    let items: [Item]
    let total: Int
    let limit: Int
    let offset: Int
    /// Set when more matches follow on the lists that page by key; left out otherwise.
    let nextCursor: String?

    enum CodingKeys: String, CodingKey { case items, total, limit, offset, nextCursor = "next_cursor" }

    init<Source: Sendable>(_ page: Page<Source>, _ transform: (Source) -> Item) {
        self.items = page.items.map(transform)
        self.total = page.total
        self.limit = page.limit
        self.offset = page.offset
        self.nextCursor = page.nextCursor?.token
    }
}
