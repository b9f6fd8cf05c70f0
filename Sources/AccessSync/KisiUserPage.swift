import Foundation

/// One page of an organization's Kisi users, as a page reads them.
public struct KisiUserPage: Sendable, Equatable {
    public var users: [KisiUserSummary]
    public var offset: Int
    public var limit: Int
    /// Every user of the organization, when Kisi said (`X-Collection-Range`).
    public var total: Int?

    public init(users: [KisiUserSummary], offset: Int, limit: Int, total: Int?) {
        self.users = users
        self.offset = offset
        self.limit = limit
        self.total = total
    }

    /// Whether another page may follow: Kisi's total says so, or this page came back full.
    public var hasMore: Bool {
        if let total { return offset + users.count < total }
        return users.count >= limit
    }
}
