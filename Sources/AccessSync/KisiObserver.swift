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

/// Reads what BooGYMan manages in Kisi into an ``ObservedState``: never the whole organization when the
/// organization is bigger than the gym, and never a list Kisi cannot page through (offsets stop at 20,000).
///
/// Cost of a full observation, every list at the endpoint's maximum page size (G managed groups, L linked
/// users, U members who need a Kisi user and have none yet, T users and A role assignments in the
/// organization, M assignments in managed groups):
/// - groups: `GET /groups` (250 per page) — 1 call for any real gym;
/// - group locks: `GET /group_locks?group_id=` for each group that is linked to a plan or carries a
///   BooGYMan marker — one call per plan (doors per group ≪ 250); foreign groups are never read;
/// - users: one page of `GET /users` tells T. Listing them all costs ⌈T/100⌉; reading the managed ones
///   costs ⌈L/100⌉ (`ids`, 100 per call) + U (`email`, one call each, for members not linked yet). The
///   cheaper one is taken, and listing only while T stays under Kisi's offset ceiling. A 2,000-member
///   gym alone in its organization lists (21 calls; its first sync would otherwise look up 2,000
///   e-mails); the same gym in a 150,000-user organization reads 20 + U calls, whatever T;
/// - role assignments: one page of `GET /role_assignments` tells A. Listing all costs ⌈A/250⌉; listing
///   per managed group (`applies_to`) costs Σ⌈Mᵢ/250⌉ ≤ ⌈M/250⌉ + G. Per group is taken when A is past
///   the ceiling or when ⌈A/250⌉ exceeds the estimate ⌈L/250⌉ + G, so foreign assignments are read in
///   bulk only while they are few. A group past the offset ceiling is read from both ends and by what
///   BooGYMan knows is in it (see ``readGroupAssignments(groupID:hints:)``).
///
/// So a 2,000-member, 5-plan gym alone in its organization is observed in about 1 + 5 + 1 + 20 + 1 + 8 =
/// 36 reads, and in a 150,000-user organization with 300,000 foreign assignments in about 1 + 5 + 1 + 20 + 1 + 13 = 41.
public struct KisiObserver: Sendable {
    public let client: KisiClient
    public let meter: KisiCallMeter
    /// Awaited before every Kisi request: the rolling sweep slows its reads here while changes wait.
    public let pace: (@Sendable () async throws -> Void)?
    /// Told the reads a whole observation is about to take, once the first pages' totals are known.
    public let onEstimate: (@Sendable (Int) async -> Void)?
    /// The highest offset a listing asks for: Kisi's ceiling (lower only in tests, to reach past it cheaply).
    let maximumOffset: Int
    /// The most unlinked members whose e-mails an observation looks up before planning. Past it (the first
    /// sync of a big gym in an organization too big to list), none are: their `createUser` looks the
    /// e-mail up just before creating (see ``SyncExecutor``), so the first grants are written at once,
    /// in the members' arrival order, instead of after hours of look-ups (100,000 at 5/s: 5.5 hours).
    public var emailLookUpLimit = KisiObserver.defaultEmailLookUpLimit
    public static let defaultEmailLookUpLimit = 1_000

    public init(
        client: KisiClient, meter: KisiCallMeter = KisiCallMeter(), pace: (@Sendable () async throws -> Void)? = nil,
        onEstimate: (@Sendable (Int) async -> Void)? = nil, maximumOffset: Int = kisiMaximumOffset
    ) {
        self.maximumOffset = maximumOffset
        self.client = client
        self.meter = meter
        self.pace = pace
        self.onEstimate = onEstimate
    }

    /// A member who needs a Kisi user: the planner links them by e-mail when they have none.
    public struct UserCandidate: Sendable, Hashable {
        public var memberID: UUID
        public var email: String
        public init(memberID: UUID, email: String) {
            self.memberID = memberID
            self.email = email
        }
    }

    /// Everything the planner needs, plus the stored links and open reviews given.
    ///
    /// - Parameter candidates: members who need a Kisi user (their e-mails are looked up when they are
    ///   not linked to an existing user); nil lists every user of the organization.
    public func observeAll(
        links: KisiLinks, reviews: [HeldReview], candidates: [UserCandidate]? = nil, hints: GroupHints = GroupHints()
    ) async throws -> ObservedState {
        let groups = try await readGroups()
        let unreachable = try await readUnreachableGroupIDs(links: links, listed: groups, known: hints.knownUnreachable)
        let relevant = Self.relevantGroupIDs(groups: groups, links: links)
        var groupLocks: [ObservedGroupLock] = []
        for groupID in relevant.sorted() {
            groupLocks += try await readGroupLocks(groupID: groupID)
        }
        let linkedUsers = Set(links.users.values).count
        if let onEstimate {
            // Targeted reads of the users and per-group listings of the grants: close to the real count for
            // a big gym, an overestimate for a small one that lists instead (which is quick anyway).
            let unlinked = candidates?.filter { links.users[$0.memberID] == nil }.count ?? 0
            let lookUps = unlinked > emailLookUpLimit ? 0 : unlinked
            await onEstimate(1 + relevant.count + 1 + (linkedUsers + 99) / 100 + lookUps + 1 + (linkedUsers + 249) / 250 + relevant.count)
        }
        let (users, notLookedUp) = try await readManagedUsers(links: links, candidates: candidates)
        let assignments = try await readManagedAssignments(relevant: relevant, linkedUsers: linkedUsers, hints: hints)
        var observed = ObservedState(
            groups: groups, groupLocks: groupLocks, users: users, roleAssignments: assignments,
            groupLinks: links.groups, userLinks: links.users, heldReviews: reviews, unreachableGroupIDs: unreachable)
        observed.membersNotLookedUp = notLookedUp
        return observed
    }

    /// The linked groups Kisi did not list that still exist but may not be read with this key (`GET
    /// /groups/{id}` answers 403, not 404): an organization group of an earlier organization key, seen with
    /// a place administrator's. One call per linked group missing from the list, which is none in a gym
    /// whose key did not change. Groups in `known` (refused recently) are not asked about again: a call
    /// outside the key's rights is not repeated at every run.
    public func readUnreachableGroupIDs(links: KisiLinks, listed: [ObservedGroup], known: Set<Int> = []) async throws -> Set<Int> {
        let listedIDs = Set(listed.map(\.id))
        var unreachable = Set<Int>()
        for groupID in Set(links.groups.values).subtracting(listedIDs).sorted() {
            if known.contains(groupID) {
                unreachable.insert(groupID)
                continue
            }
            try await pace?()
            meter.read()
            do {
                _ = try await client.group(id: groupID)
            } catch KisiError.forbidden {
                unreachable.insert(groupID)
            } catch KisiError.notFound {
                continue  // deleted: a stale link
            }
        }
        return unreachable
    }

    /// How the users are read (see the type's cost notes).
    enum UserReading: Equatable { case listAll, targeted }

    static func userReading(organizationUsers total: Int?, linked: Int, unlinkedCandidates: Int?) -> UserReading {
        guard let unlinked = unlinkedCandidates else { return .listAll }
        guard let total else { return .targeted }
        if total > kisiMaximumOffset + 100 { return .targeted }
        let listing = (total + 99) / 100
        let targeted = (linked + 99) / 100 + unlinked
        return listing <= targeted ? .listAll : .targeted
    }

    static func assignmentsPerGroup(organizationAssignments total: Int?, groups: Int, linkedUsers: Int) -> Bool {
        guard let total else { return true }
        if total > kisiMaximumOffset + 250 { return true }
        return (total + 249) / 250 > (linkedUsers + 249) / 250 + groups
    }

    /// The linked users by ID and the unlinked candidates by e-mail, or every user when listing them
    /// costs no more; and the members whose e-mails were not looked up (more than ``emailLookUpLimit``).
    func readManagedUsers(links: KisiLinks, candidates: [UserCandidate]?) async throws -> (users: [ObservedUser], notLookedUp: Set<UUID>) {
        var pages = client.allUsers().pages.makeAsyncIterator()
        let first = try await firstPage(&pages)
        let linkedIDs = Set(links.users.values)
        let unlinked = candidates?.filter { links.users[$0.memberID] == nil }
        let reading = Self.userReading(organizationUsers: first.total, linked: linkedIDs.count, unlinkedCandidates: unlinked?.count)
        guard reading == .targeted, let candidates else {
            return (try await rest(after: first, &pages).map(Self.observed), [])
        }
        var users = try await readUsers(ids: Array(linkedIDs))
        let found = Set(users.map(\.id))
        var seen = Set(users.map(\.normalizedEmail))
        // Members with no link, or whose linked user is gone: their e-mail may name a Kisi user to adopt.
        let toLookUp = candidates.filter { links.users[$0.memberID].map { !found.contains($0) } ?? true }
        guard toLookUp.count <= emailLookUpLimit else { return (users, Set(toLookUp.map(\.memberID))) }
        for candidate in toLookUp {
            let email = candidate.email.lowercased()
            guard seen.insert(email).inserted else { continue }
            if let user = try await readUser(email: candidate.email) { users.append(user) }
        }
        return (users, [])
    }

    /// Group/User assignments of the relevant groups: listed per group, or from the organization's
    /// whole list while that is small enough to be cheaper.
    func readManagedAssignments(relevant: Set<Int>, linkedUsers: Int, hints: GroupHints = GroupHints()) async throws -> [ObservedRoleAssignment] {
        guard !relevant.isEmpty else { return [] }
        var pages = client.allRoleAssignments().pages.makeAsyncIterator()
        let first = try await firstPage(&pages)
        if !Self.assignmentsPerGroup(organizationAssignments: first.total, groups: relevant.count, linkedUsers: linkedUsers) {
            return try await rest(after: first, &pages).compactMap(Self.observed).filter { relevant.contains($0.groupID) }
        }
        var assignments: [ObservedRoleAssignment] = []
        for groupID in relevant.sorted() {
            assignments += try await readGroupAssignments(groupID: groupID, hints: hints)
        }
        return assignments
    }

    /// What the planner expects in the managed groups, for reading those too big to list in one order:
    /// the linked Kisi users meant to hold a grant in each, and the assignment IDs the last full
    /// observation saw in each.
    public struct GroupHints: Sendable {
        public var holders: [Int: Set<Int>]
        public var knownAssignmentIDs: [Int: Set<Int>]
        /// Linked groups this key was recently refused (see ``readUnreachableGroupIDs(links:listed:known:)``):
        /// taken as still unreachable without asking Kisi again.
        public var knownUnreachable: Set<Int>

        public init(holders: [Int: Set<Int>] = [:], knownAssignmentIDs: [Int: Set<Int>] = [:], knownUnreachable: Set<Int> = []) {
            self.holders = holders
            self.knownAssignmentIDs = knownAssignmentIDs
            self.knownUnreachable = knownUnreachable
        }
    }

    /// Every Group/User assignment of one group, without an offset past Kisi's ceiling.
    ///
    /// Up to 20,250 assignments: one listing, ⌈M/250⌉ calls. Up to 40,500: the same listing from both
    /// ends (sorted by user name), ⌈M/250⌉ + 1 calls. Beyond that the middle is out of reach of any
    /// listing, so it is read by what BooGYMan knows should be there: the assignment IDs the last full
    /// observation saw in the group (`ids`, 250 per call; those gone since are simply absent), then each
    /// holder-to-be still unseen on their own (`assignee`, one call each: members whose grant was
    /// created since, or never). A 50,000-grant group thus costs 162 + 38 calls plus one per grant
    /// created since the last sweep. What stays unseen there is an assignment neither listed nor known:
    /// one made by hand in Kisi, which Kisi's events report (webhook or event sets) instead.
    func readGroupAssignments(groupID: Int, hints: GroupHints) async throws -> [ObservedRoleAssignment] {
        var found: [Int: ObservedRoleAssignment] = [:]
        func keep(_ items: [KisiRoleAssignment]) {
            for item in items {
                if let assignment = Self.observed(item), assignment.groupID == groupID { found[assignment.id] = assignment }
            }
        }
        let inGroup = KisiRoleAssignmentFilter(appliesTo: .group(id: groupID), sortByUserName: .ascending)
        var total: Int?
        var offset = 0
        while offset <= maximumOffset {
            try await pace?()
            let page = try await client.roleAssignments(filter: inGroup, offset: offset, limit: 250)
            meter.read()
            keep(page.items)
            total = page.total
            guard page.hasMore else { return Array(found.values) }
            offset += page.items.count
        }
        guard let total else { return Array(found.values) }
        var fromTheEnd = inGroup
        fromTheEnd.sortByUserName = .descending
        offset = 0
        while offset <= maximumOffset, found.count < total {
            try await pace?()
            let page = try await client.roleAssignments(filter: fromTheEnd, offset: offset, limit: 250)
            meter.read()
            keep(page.items)
            guard page.hasMore else { break }
            offset += page.items.count
        }
        let known = (hints.knownAssignmentIDs[groupID] ?? []).subtracting(found.keys).sorted()
        var start = 0
        while start < known.count, found.count < total {
            let batch = Array(known[start..<min(start + 250, known.count)])
            keep(try await collect(client.allRoleAssignments(filter: KisiRoleAssignmentFilter(ids: batch))))
            start += 250
        }
        guard found.count < total else { return Array(found.values) }
        let seenUsers = Set(found.values.map(\.userID))
        for userID in (hints.holders[groupID] ?? []).subtracting(seenUsers).sorted() {
            keep(try await collect(client.allRoleAssignments(filter: KisiRoleAssignmentFilter(assignee: .user(id: userID)))))
        }
        return Array(found.values)
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
        try await pace?()
        meter.read()
        return try await client.user(email: email).map(Self.observed)
    }

    public func readAllUsers() async throws -> [ObservedUser] {
        try await collect(client.allUsers()).map(Self.observed)
    }

    /// Groups linked to a managed-group key or carrying a BooGYMan marker: the only groups whose doors
    /// and assignments matter to the planner.
    static func relevantGroupIDs(groups: [ObservedGroup], links: KisiLinks) -> Set<Int> {
        let linked = Set(links.groups.values)
        return Set(groups.filter { linked.contains($0.id) || ManagedGroupMarker.key(in: $0.description) != nil }.map(\.id))
    }

    /// The first page of a whole-organization list, read once: its `total` decides how to read the rest.
    struct FirstPage<Item: Sendable> {
        var items: [Item]
        /// nil when Kisi cannot list them all (past its offset ceiling) or gave no total.
        var total: Int?
        var done: Bool
        /// Past the ceiling the sequence refuses before yielding: listing the rest would throw this.
        var ceiling: KisiError?
    }

    func firstPage<Item: Sendable>(_ pages: inout KisiPageSequence<Item>.AsyncIterator) async throws -> FirstPage<Item> {
        try await pace?()
        meter.read()
        do {
            guard let page = try await pages.next() else { return FirstPage(items: [], total: 0, done: true) }
            return FirstPage(items: page.items, total: page.total ?? (page.hasMore ? nil : page.offset + page.items.count), done: !page.hasMore)
        } catch let error as KisiError {
            guard case .paginationCeiling = error else { throw error }
            return FirstPage(items: [], total: nil, done: true, ceiling: error)
        }
    }

    /// The first page's items and every page after it.
    func rest<Item: Sendable>(after first: FirstPage<Item>, _ pages: inout KisiPageSequence<Item>.AsyncIterator) async throws -> [Item] {
        if let ceiling = first.ceiling { throw ceiling }
        var items = first.items
        guard !first.done else { return items }
        while true {
            try await pace?()
            guard let page = try await pages.next() else { break }
            meter.read()
            items += page.items
        }
        return items
    }

    func collect<Item: Sendable>(_ sequence: KisiPaginatedSequence<Item>) async throws -> [Item] {
        var items: [Item] = []
        var pages = sequence.pages.makeAsyncIterator()
        while true {
            try await pace?()
            guard let page = try await pages.next() else { break }
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
