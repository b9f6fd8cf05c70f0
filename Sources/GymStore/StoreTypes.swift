import Foundation
import GymCore

/// Failures the repository reports besides field validation (`FieldErrors`).
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No row of that kind has that ID.
    case notFound(entity: String, id: UUID)
    /// The change is well-formed but the current data forbids it (e.g. deleting a plan still sold).
    case conflict(String)
    /// A stored value no longer parses; only possible after a manual edit of the database.
    case corrupt(String)

    public var description: String {
        switch self {
        case .notFound(let entity, let id): "no \(entity) with ID \(id)"
        case .conflict(let message): message
        case .corrupt(let message): "stored data is unreadable: \(message)"
        }
    }
}

/// Offset pagination as the API exposes it, and keyset pagination from a `cursor` on the lists that
/// grow large (members, subscriptions, the audit log).
public struct PageRequest: Sendable, Equatable {
    public static let maximumLimit = 500
    /// Far beyond any real list, and small enough that `offset + limit` (what the pages' "next"
    /// links and the database compute) cannot overflow, whatever a client asks for.
    public static let maximumOffset = Int(Int32.max)
    public var limit: Int
    public var offset: Int
    /// Start after this row (a previous page's `nextCursor`); `offset` then counts from there.
    public var cursor: PageCursor?

    public init(limit: Int = 50, offset: Int = 0, cursor: PageCursor? = nil) {
        self.limit = min(max(limit, 1), PageRequest.maximumLimit)
        self.offset = min(max(offset, 0), PageRequest.maximumOffset)
        self.cursor = cursor
    }

    /// The same request with both numbers forced into range; the fields are settable, so a page
    /// query cannot rely on the initializer having clamped them.
    public var clamped: PageRequest { PageRequest(limit: limit, offset: offset, cursor: cursor) }
}

public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var total: Int
    public var limit: Int
    public var offset: Int
    /// Where the next page starts, when more rows follow and the list pages by key.
    public var nextCursor: PageCursor?

    public init(items: [Item], total: Int, limit: Int, offset: Int, nextCursor: PageCursor? = nil) {
        self.items = items
        self.total = total
        self.limit = limit
        self.offset = offset
        self.nextCursor = nextCursor
    }
}

/// A committed change that may alter door access; the sync worker's input.
public struct AccessChange: Sendable, Equatable {
    public enum Subject: String, Sendable, CaseIterable { case club, studio, plan, member, subscription }
    public enum Action: String, Sendable, CaseIterable {
        case created, updated, deleted, frozen, unfrozen, cancelled
        /// Kisi reported a change (webhook) to what BooGYMan manages for this member or plan, or staff
        /// decided which Kisi user stands for the member (an adoption review): either way the member's
        /// Kisi side must be re-planned.
        case kisiEvent = "kisi_event"
        /// Staff asked the sync to look at the member again ("Resync now"); nothing in the gym changed.
        case resyncRequested = "resync_requested"
        /// A booked class ended: the member's Kisi class slot is free for the booking after next.
        case classWindowClosed = "class_window_closed"
    }

    public var id: Int
    public var recordedAt: Date
    public var subject: Subject
    public var subjectID: UUID
    public var action: Action
    /// The member whose access may change, when the change concerns one member.
    public var memberID: UUID?
    /// The plan whose group may change, when the change concerns one plan.
    public var planID: UUID?
}

/// An API token as listed to staff; the secret is shown only once, at creation.
public struct APIToken: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var createdAt: Date?
    public var lastUsedAt: Date?
    /// When it was revoked; revoked tokens authenticate nothing and are listed only on request.
    public var revokedAt: Date? = nil
}
