import Foundation
import GymCore

/// The order in which the executor runs actions: lower first.
public enum SyncPriority: Int, Hashable, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    /// Removals: role assignments, group locks, groups of deleted plans. Access that must end ends first.
    case revocation = 0
    /// Everything that gives access: groups, their locks, users, links, role assignments, validity updates.
    case grant = 1
    /// Renames, descriptions, user names and metadata.
    case cosmetic = 2
    /// Deleting a group replaced by a new one (plan scope change), after its grants moved.
    case cleanup = 3
    /// Local bookkeeping of staff reviews (open or close a held review).
    case review = 4

    public static func < (lhs: SyncPriority, rhs: SyncPriority) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .revocation: "revocation"
        case .grant: "grant"
        case .cosmetic: "cosmetic"
        case .cleanup: "cleanup"
        case .review: "review"
        }
    }
}

/// A Kisi group: an existing one, or the one this run creates for a managed-group key (resolved by the
/// executor through the key→group link it stores right after `createGroup`).
public enum GroupRef: Hashable, Sendable, CustomStringConvertible {
    case kisi(Int)
    case managed(ManagedGroupKey)

    public var description: String {
        switch self {
        case .kisi(let id): "group \(id)"
        case .managed(let key): "new group \(key.storageKey)"
        }
    }

    var sortKey: String {
        switch self {
        case .kisi(let id): "k" + pad(id)
        case .managed(let key): "p" + key.storageKey
        }
    }
}

extension ManagedGroupKey {
    /// The subject of a review about this key: a whole plan's group keeps the plan ID (the subject its
    /// reviews have always had, so open ones still match); other keys their stored form.
    public var reviewSubject: String {
        if case .plan(let id) = self { return id.uuidString }
        return storageKey
    }
}

/// A Kisi user: an existing one, or the one this run creates for a member (resolved by the executor
/// through the member→user link it stores right after `createUser` / `inviteUser`).
public enum UserRef: Hashable, Sendable, CustomStringConvertible {
    case kisi(Int)
    case member(UUID)

    public var description: String {
        switch self {
        case .kisi(let id): "user \(id)"
        case .member(let id): "new user of member \(id.uuidString)"
        }
    }

    var sortKey: String {
        switch self {
        case .kisi(let id): "k" + pad(id)
        case .member(let id): "m" + id.uuidString
        }
    }
}

/// Why a role assignment is removed.
public enum RemovalCause: String, Hashable, Sendable, CaseIterable {
    /// The member's access to the plan ended (frozen, cancelled, ended, past due, no subscription).
    case accessEnded = "access_ended"
    /// The user is linked to a member who was deleted; the Kisi user is kept.
    case memberDeleted = "member_deleted"
    /// Hand-added in a managed group for a Kisi user not linked to any member (drift).
    case notLinked = "not_linked"
    /// The plan's group is deleted (plan deleted, or archived with no live subscription).
    case planRemoved = "plan_removed"
    /// A second assignment of the same user in the same group; one is kept.
    case duplicate
    /// A role other than `group_basic` for an entitled member; replaced by a `group_basic` grant.
    case wrongRole = "wrong_role"
    /// The assignment's `valid_until` has passed: it opens nothing any more, so removing it is cleanup.
    case expired

    /// True when the person loses door access through this removal (what the brake counts).
    public var losesAccess: Bool {
        switch self {
        case .accessEnded, .memberDeleted, .notLinked, .planRemoved: true
        case .duplicate, .wrongRole, .expired: false
        }
    }
}

public enum GroupDeletionCause: String, Hashable, Sendable {
    /// The plan is gone (deleted, or archived without live subscriptions); its grants are removed first.
    case planRemoved = "plan_removed"
    /// The plan needs a group of another scope; the replacement was created and filled earlier in the run.
    case scopeChanged = "scope_changed"
    /// The plan's groups are cut differently now (one organization group ⇄ one group per place, after the
    /// API key changed): the new groups were created and given their grants earlier in the run, and
    /// members kept this group's grants until then.
    case regrouped
    /// A marked copy of a plan's group that is not the linked one: left behind by a scope change or a
    /// create whose run stopped before it finished. The plan's grants live in the linked group.
    case superseded
}

/// One step of a sync run. The executor maps each kind onto one Kisi call or one local write.
public enum SyncActionKind: Hashable, Sendable {
    /// `POST /groups {name, description, place_id}`; the executor then stores the link key→new group.
    case createGroup(key: ManagedGroupKey, name: String, description: String, placeID: Int?)
    /// `PATCH /groups/{id} {name, description}`.
    case updateGroup(groupID: Int, name: String, description: String)
    /// `DELETE /groups/{id}`; for `.planRemoved` the executor also drops the key→group link.
    case deleteGroup(groupID: Int, cause: GroupDeletionCause)
    /// Local write: store key→group for a group carrying this key's marker but not linked
    /// (e.g. the link write was lost after `createGroup`).
    case linkGroup(key: ManagedGroupKey, groupID: Int)
    /// `POST /group_locks {group_id, lock_id}`.
    case addGroupLock(group: GroupRef, lockID: Int)
    /// `DELETE /group_locks/{id}`.
    case removeGroupLock(groupLockID: Int, groupID: Int, lockID: Int)
    /// `POST /users {email, name, metadata, send_emails: false, confirm: true}`; then store member→user.
    case createUser(memberID: UUID, email: String, name: String, metadata: [String: String])
    /// `POST /invites` (Group invite: invitee {email, name}, role_assignment {group_basic, valid_from,
    /// valid_until}); creates the user and the member's first grant; then store member→user.
    case inviteUser(memberID: UUID, email: String, name: String, group: GroupRef, roleID: String, validFrom: Date, validUntil: Date)
    /// Local write: adopt the existing Kisi user with the member's e-mail (store member→user).
    case linkUser(memberID: UUID, userID: Int)
    /// `PATCH /users/{id} {name, metadata}`; `metadata` lists the keys to set, merged by the executor
    /// into the user's other metadata.
    case updateUser(user: UserRef, name: String, metadata: [String: String])
    /// `POST /role_assignments` (Group, User, role, valid_from, valid_until).
    case createGrant(user: UserRef, group: GroupRef, roleID: String, validFrom: Date, validUntil: Date)
    /// `PATCH /role_assignments/{id} {valid_from, valid_until}`.
    case updateGrantValidity(assignmentID: Int, validFrom: Date, validUntil: Date)
    /// `DELETE /role_assignments/{id}`.
    case removeGrant(assignmentID: Int, userID: Int, groupID: Int, cause: RemovalCause)
    /// Local write: open a review for staff; nothing about its subject changes until resolved.
    case holdForReview(HeldReview)
    /// Local write: close a review whose ambiguity no longer exists.
    case resolveReview(ReviewKey)

    public var priority: SyncPriority {
        switch self {
        case .removeGrant, .removeGroupLock: .revocation
        case .deleteGroup(_, let cause): cause == .planRemoved ? .revocation : .cleanup
        case .createGroup, .linkGroup, .addGroupLock, .createUser, .inviteUser, .linkUser, .createGrant, .updateGrantValidity: .grant
        case .updateGroup, .updateUser: .cosmetic
        case .holdForReview, .resolveReview: .review
        }
    }

    /// Order of kinds inside one priority: creations before what depends on them.
    var rank: Int {
        switch self {
        case .removeGrant: 0
        case .removeGroupLock: 1
        case .deleteGroup: 2
        case .linkGroup: 3
        case .createGroup: 4
        case .addGroupLock: 5
        case .linkUser: 6
        case .createUser: 7
        case .inviteUser: 8
        case .createGrant: 9
        case .updateGrantValidity: 10
        case .updateGroup: 11
        case .updateUser: 12
        case .holdForReview: 13
        case .resolveReview: 14
        }
    }

    /// A total, stable key inside a rank.
    var sortKey: String {
        switch self {
        case let .createGroup(key, _, _, _): key.storageKey
        case let .updateGroup(groupID, _, _): pad(groupID)
        case let .deleteGroup(groupID, _): pad(groupID)
        case let .linkGroup(key, groupID): key.storageKey + pad(groupID)
        case let .addGroupLock(group, lockID): group.sortKey + pad(lockID)
        case let .removeGroupLock(groupLockID, groupID, _): pad(groupID) + pad(groupLockID)
        case let .createUser(memberID, _, _, _): memberID.uuidString
        case let .inviteUser(memberID, _, _, _, _, _, _): memberID.uuidString
        case let .linkUser(memberID, userID): memberID.uuidString + pad(userID)
        case let .updateUser(user, _, _): user.sortKey
        case let .createGrant(user, group, _, _, _): group.sortKey + user.sortKey
        case let .updateGrantValidity(assignmentID, _, _): pad(assignmentID)
        case let .removeGrant(assignmentID, _, groupID, _): pad(groupID) + pad(assignmentID)
        case let .holdForReview(review): review.key.description
        case let .resolveReview(key): key.description
        }
    }
}

/// One planned step with everything a log line or a staff screen needs.
public struct SyncAction: Hashable, Sendable, CustomStringConvertible {
    public var kind: SyncActionKind
    /// Human-readable why, e.g. "Ana Popescu's subscription to Unlimited was frozen from 2026-03-01 through 2026-03-14".
    public var reason: String
    public var priority: SyncPriority
    public var memberID: UUID?
    public var planID: UUID?

    public init(_ kind: SyncActionKind, reason: String, memberID: UUID? = nil, planID: UUID? = nil) {
        self.kind = kind
        self.reason = reason
        self.priority = kind.priority
        self.memberID = memberID
        self.planID = planID
    }

    public var description: String { "[\(priority)] \(kind) — \(reason)" }

    /// The deterministic execution order: priority, then kind, then the kind's identifiers.
    public static func executionOrder(_ lhs: SyncAction, _ rhs: SyncAction) -> Bool {
        if lhs.priority != rhs.priority { return lhs.priority < rhs.priority }
        if lhs.kind.rank != rhs.kind.rank { return lhs.kind.rank < rhs.kind.rank }
        let (l, r) = (lhs.kind.sortKey, rhs.kind.sortKey)
        if l != r { return l < r }
        return lhs.reason < rhs.reason
    }
}

func pad(_ value: Int) -> String {
    let text = String(value.magnitude)
    return (value < 0 ? "-" : "+") + String(repeating: "0", count: max(0, 20 - text.count)) + text
}
