import Foundation
import GymStore
import KisiAPI

extension SyncActionKind {
    /// A stable name for logs, the write journal and report counts, e.g. `createGrant`.
    public var actionName: String {
        switch self {
        case .createGroup: "createGroup"
        case .updateGroup: "updateGroup"
        case .deleteGroup: "deleteGroup"
        case .linkGroup: "linkGroup"
        case .addGroupLock: "addGroupLock"
        case .removeGroupLock: "removeGroupLock"
        case .createUser: "createUser"
        case .inviteUser: "inviteUser"
        case .linkUser: "linkUser"
        case .updateUser: "updateUser"
        case .createGrant: "createGrant"
        case .updateGrantValidity: "updateGrantValidity"
        case .removeGrant: "removeGrant"
        case .holdForReview: "holdForReview"
        case .resolveReview: "resolveReview"
        }
    }

    /// True when executing the action calls Kisi (the others are local link or review writes).
    public var writesKisi: Bool {
        switch self {
        case .linkGroup, .linkUser, .holdForReview, .resolveReview: false
        default: true
        }
    }
}

/// Counts Kisi requests (list pages and single calls), split into reads and writes.
public final class KisiCallMeter: @unchecked Sendable {
    private let lock = NSLock()
    private var readCount = 0
    private var writeCount = 0

    public init() {}

    public var reads: Int { lock.withLock { readCount } }
    public var writes: Int { lock.withLock { writeCount } }

    func read(_ n: Int = 1) { lock.withLock { readCount += n } }
    func write(_ n: Int = 1) { lock.withLock { writeCount += n } }
}

/// Reads Kisi in bulk into an ``ObservedState``.
///
/// Cost for a full observation, every list at the endpoint's maximum page size:
/// - groups: `GET /groups` (250 per page) — 1 call for any real gym;
/// - group locks: `GET /group_locks?group_id=` for each group that is linked to a plan or carries a
///   BooGYMan marker — one call per plan (doors per group ≪ 250); foreign groups are never read;
/// - users: **all** users, `GET /users` at 100 per page. For a gym of 2,000 members that is 20 calls
///   (+1 for staff). The alternative — linked users by `ids` (also ≤ 100 per page, so ≥ 20 calls)
///   plus one `GET /users?email=` per unlinked member — is never cheaper, so all users are read;
/// - role assignments: **all** of the organization, `GET /role_assignments` at 250 per page, kept when
///   they are Group/User assignments of a linked or marked group. 2,000 members ≈ 2,000 grants ≈ 9
///   calls; listing per managed group (`applies_to`) costs Σ⌈nᵢ/250⌉ ≥ ⌈N/250⌉, i.e. never fewer
///   unless foreign assignments outnumber the gym's own.
///
/// So a 2,000-member, 5-plan gym is observed in about 1 + 5 + 21 + 9 = 36 reads.
public struct KisiObserver: Sendable {
    public let client: KisiClient
    public let meter: KisiCallMeter

    public init(client: KisiClient, meter: KisiCallMeter = KisiCallMeter()) {
        self.client = client
        self.meter = meter
    }

    /// Everything the planner needs, plus the stored links and open reviews given.
    public func observeAll(links: KisiLinks, reviews: [HeldReview]) async throws -> ObservedState {
        let groups = try await readGroups()
        let relevant = Self.relevantGroupIDs(groups: groups, links: links)
        var groupLocks: [ObservedGroupLock] = []
        for groupID in relevant.sorted() {
            groupLocks += try await readGroupLocks(groupID: groupID)
        }
        let users = try await collect(client.allUsers()).map(Self.observed)
        let assignments = try await collect(client.allRoleAssignments()).compactMap(Self.observed)
            .filter { relevant.contains($0.groupID) }
        return ObservedState(
            groups: groups, groupLocks: groupLocks, users: users, roleAssignments: assignments,
            groupLinks: links.groups, userLinks: links.users, heldReviews: reviews)
    }

    public func readGroups() async throws -> [ObservedGroup] {
        try await collect(client.allGroups()).map(Self.observed)
    }

    public func readGroupLocks(groupID: Int) async throws -> [ObservedGroupLock] {
        try await collect(client.allGroupLocks(groupID: groupID)).map {
            ObservedGroupLock(id: $0.id, groupID: $0.groupID, lockID: $0.lockID)
        }
    }

    /// Every Group/User assignment matching `filter`.
    public func readAssignments(_ filter: KisiRoleAssignmentFilter) async throws -> [ObservedRoleAssignment] {
        try await collect(client.allRoleAssignments(filter: filter)).compactMap(Self.observed)
    }

    /// Users by ID, 100 per call (IDs no longer in Kisi are simply absent).
    public func readUsers(ids: [Int]) async throws -> [ObservedUser] {
        var users: [ObservedUser] = []
        let unique = Array(Set(ids)).sorted()
        var start = 0
        while start < unique.count {
            let batch = Array(unique[start..<min(start + 100, unique.count)])
            users += try await collect(client.allUsers(filter: KisiUserFilter(ids: batch))).map(Self.observed)
            start += 100
        }
        return users
    }

    /// The user with exactly this e-mail (one call).
    public func readUser(email: String) async throws -> ObservedUser? {
        meter.read()
        return try await client.user(email: email).map(Self.observed)
    }

    public func readAllUsers() async throws -> [ObservedUser] {
        try await collect(client.allUsers()).map(Self.observed)
    }

    /// Groups linked to a plan or carrying a BooGYMan marker: the only groups whose doors and
    /// assignments matter to the planner.
    static func relevantGroupIDs(groups: [ObservedGroup], links: KisiLinks) -> Set<Int> {
        let linked = Set(links.groups.values)
        return Set(groups.filter { linked.contains($0.id) || ManagedGroupMarker.planID(in: $0.description) != nil }.map(\.id))
    }

    func collect<Item: Sendable>(_ sequence: KisiPaginatedSequence<Item>) async throws -> [Item] {
        var items: [Item] = []
        for try await page in sequence.pages {
            meter.read()
            items += page.items
        }
        return items
    }

    static func observed(_ group: KisiGroup) -> ObservedGroup {
        ObservedGroup(id: group.id, name: group.name, description: group.description, placeID: group.placeID)
    }

    static func observed(_ user: KisiUser) -> ObservedUser {
        var metadata: [String: String] = [:]
        for (key, value) in user.metadata where value != .null { metadata[key] = value.description }
        return ObservedUser(id: user.id, email: user.email, name: user.name, metadata: metadata, accessEnabled: user.accessEnabled)
    }

    static func observed(_ assignment: KisiRoleAssignment) -> ObservedRoleAssignment? {
        guard case .group(let groupID) = assignment.appliesTo, case .user(let userID) = assignment.assignee else { return nil }
        return ObservedRoleAssignment(
            id: assignment.id, userID: userID, groupID: groupID, roleID: assignment.roleID,
            validFrom: assignment.validFrom, validUntil: assignment.validUntil)
    }
}
