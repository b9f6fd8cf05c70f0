import Foundation
import GymCore

/// A Kisi group as listed by `GET /groups`.
public struct ObservedGroup: Hashable, Sendable {
    public var id: Int
    public var name: String
    public var description: String?
    /// nil for an organization-scoped group.
    public var placeID: Int?

    public init(id: Int, name: String, description: String? = nil, placeID: Int? = nil) {
        self.id = id
        self.name = name
        self.description = description
        self.placeID = placeID
    }

    public var scope: GroupScope { GroupScope(placeID: placeID) }
}

/// A Kisi group lock (door ↔ group link) as listed by `GET /group_locks?group_id=`.
public struct ObservedGroupLock: Hashable, Sendable {
    public var id: Int
    public var groupID: Int
    public var lockID: Int

    public init(id: Int, groupID: Int, lockID: Int) {
        self.id = id
        self.groupID = groupID
        self.lockID = lockID
    }
}

/// A Kisi user as listed by `GET /users`. Metadata values are Kisi scalars spelled as strings.
public struct ObservedUser: Hashable, Sendable {
    public var id: Int
    public var email: String {
        didSet { normalizedEmail = email.lowercased() }
    }
    /// Kisi e-mails are matched to members case-insensitively and otherwise exactly. Kept, not computed:
    /// a full reconcile compares every Kisi user's address.
    public private(set) var normalizedEmail: String
    public var name: String
    public var metadata: [String: String]
    public var accessEnabled: Bool

    public init(id: Int, email: String, name: String, metadata: [String: String] = [:], accessEnabled: Bool = true) {
        self.id = id
        self.email = email
        self.normalizedEmail = email.lowercased()
        self.name = name
        self.metadata = metadata
        self.accessEnabled = accessEnabled
    }
}

/// A Kisi role assignment of a user in a group (only Group/User assignments are observed).
public struct ObservedRoleAssignment: Hashable, Sendable {
    public var id: Int
    public var userID: Int
    public var groupID: Int
    public var roleID: String
    public var validFrom: Date?
    public var validUntil: Date?

    public init(id: Int, userID: Int, groupID: Int, roleID: String = groupBasicRoleID, validFrom: Date? = nil, validUntil: Date? = nil) {
        self.id = id
        self.userID = userID
        self.groupID = groupID
        self.roleID = roleID
        self.validFrom = validFrom
        self.validUntil = validUntil
    }
}

/// What kind of ambiguity a review is about.
public enum ReviewKind: String, Hashable, Sendable, Codable, CaseIterable, Comparable {
    /// An unlinked member shares an e-mail (case-insensitively) with another member.
    case sharedMemberEmail = "shared_member_email"
    /// Several Kisi users carry the e-mail of an unlinked member.
    case duplicateKisiEmail = "duplicate_kisi_email"
    /// The Kisi user linked to a member has another e-mail than the member.
    case linkedEmailMismatch = "linked_email_mismatch"
    /// The Kisi user with the member's e-mail already belongs to another member (link or metadata).
    case kisiUserClaimed = "kisi_user_claimed"
    /// One Kisi user is linked to several members.
    case userLinkedToSeveralMembers = "user_linked_to_several_members"
    /// The group linked to a plan (or a plan at a place, or a studio's classes) does not carry its marker.
    case groupMarkerMismatch = "group_marker_mismatch"
    /// One Kisi group is linked to several plans (or managed-group keys).
    case groupLinkedToSeveralPlans = "group_linked_to_several_plans"
    /// A group carries a BooGYMan marker but is not linked and cannot be adopted.
    case unlinkedMarkedGroup = "unlinked_marked_group"
    /// A linked group exists in Kisi but the API key may not see it (an organization group made with an
    /// organization key, now read with a place administrator's): BooGYMan can neither check nor remove it.
    case unreachableGroup = "unreachable_group"

    public static func < (lhs: ReviewKind, rhs: ReviewKind) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Identity of a review: the same ambiguity always yields the same key, so holds are not repeated.
public struct ReviewKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var kind: ReviewKind
    /// The member ID, plan ID (a whole plan's group), managed-group key (``ManagedGroupKey/storageKey``,
    /// other groups) or Kisi group ID the review is about.
    public var subject: String

    public init(kind: ReviewKind, subject: String) {
        self.kind = kind
        self.subject = subject
    }

    public static func < (lhs: ReviewKey, rhs: ReviewKey) -> Bool { (lhs.kind, lhs.subject) < (rhs.kind, rhs.subject) }
    public var description: String { "\(kind.rawValue):\(subject)" }
}

/// A question for staff; BooGYMan does not guess, and leaves the objects concerned alone meanwhile.
public struct HeldReview: Hashable, Sendable {
    public var key: ReviewKey
    public var message: String
    public var memberID: UUID?
    public var planID: UUID?

    public init(key: ReviewKey, message: String, memberID: UUID? = nil, planID: UUID? = nil) {
        self.key = key
        self.message = message
        self.memberID = memberID
        self.planID = planID
    }
}

/// What Kisi holds (as far as the planner cares) plus BooGYMan's own stored links and open reviews.
///
/// Arrays may come in any order; the planner's output does not depend on it.
public struct ObservedState: Hashable, Sendable {
    public var groups: [ObservedGroup]
    public var groupLocks: [ObservedGroupLock]
    public var users: [ObservedUser]
    public var roleAssignments: [ObservedRoleAssignment]
    /// Stored link managed-group key → Kisi group ID.
    public var groupLinks: [ManagedGroupKey: Int]
    /// Linked groups that Kisi did not list but says exist (403 rather than 404 on `GET /groups/{id}`):
    /// the key may not read them, so neither they nor their grants are in this state.
    public var unreachableGroupIDs: Set<Int>
    /// Stored link member ID → Kisi user ID (kept when the member is deleted).
    public var userLinks: [UUID: Int]
    /// Reviews currently open for staff.
    public var heldReviews: [HeldReview]
    /// Unlinked members whose e-mails were not looked up in Kisi (too many for a big organization's first
    /// sync): planned as new users; the executor looks each e-mail up just before creating, and adopts.
    public var membersNotLookedUp: Set<UUID> = []

    public init(
        groups: [ObservedGroup] = [], groupLocks: [ObservedGroupLock] = [], users: [ObservedUser] = [],
        roleAssignments: [ObservedRoleAssignment] = [], groupLinks: [ManagedGroupKey: Int] = [:], userLinks: [UUID: Int] = [:],
        heldReviews: [HeldReview] = [], unreachableGroupIDs: Set<Int> = []
    ) {
        self.unreachableGroupIDs = unreachableGroupIDs
        self.groups = groups
        self.groupLocks = groupLocks
        self.users = users
        self.roleAssignments = roleAssignments
        self.groupLinks = groupLinks
        self.userLinks = userLinks
        self.heldReviews = heldReviews
    }

    /// IDs of the groups BooGYMan manages: linked from exactly one key and carrying that key's marker.
    public var managedGroupIDs: Set<Int> {
        let groupsByID = Dictionary(groups.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let linkCounts = Dictionary(groupLinks.values.map { ($0, 1) }, uniquingKeysWith: +)
        var managed = Set<Int>()
        for (key, groupID) in groupLinks where linkCounts[groupID] == 1 {
            if let group = groupsByID[groupID], ManagedGroupMarker.key(in: group.description) == key {
                managed.insert(groupID)
            }
        }
        return managed
    }

    /// Role assignments in managed groups: the denominator of the mass-revocation brake.
    public var managedGrantCount: Int {
        let managed = managedGroupIDs
        return roleAssignments.filter { managed.contains($0.groupID) }.count
    }
}
