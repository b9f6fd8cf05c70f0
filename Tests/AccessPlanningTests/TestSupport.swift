import Foundation
import Testing
import GymCore
@testable import AccessPlanning

// Shared fixtures for the planning suites. Everything sits in Bucharest in February 2026 (UTC+2,
// before the spring-forward), so local midnight of day D is (D-1)T22:00:00Z. "Now" is
// 2026-02-15T10:00:00Z, noon in Bucharest.

func day(_ text: String) -> LocalDate {
    guard let date = LocalDate(text) else { fatalError("bad fixture date \(text)") }
    return date
}

func instant(_ text: String) -> Date {
    guard let date = ISO8601DateFormatter().date(from: text) else { fatalError("bad fixture instant \(text)") }
    return date
}

func fixedID(_ n: Int) -> UUID {
    UUID(uuidString: String(format: "00000000-0000-0000-0000-%012d", n))!
}

func email(_ text: String) -> EmailAddress {
    guard let address = EmailAddress(text) else { fatalError("bad fixture e-mail \(text)") }
    return address
}

let now = instant("2026-02-15T10:00:00Z")
let bucharest = TimeZone(identifier: "Europe/Bucharest")!

/// Two clubs in two Kisi places, two studios, four plans.
///
/// Locks: Old Town entrance 5001 + 5002 (place 1001), Spinning studio 5003 (in Old Town),
/// Floreasca entrance 5011 (place 1002), Pool studio 5012 (in Floreasca).
enum Gym {
    static let oldTown = Club(id: fixedID(100), name: "Old Town", timeZone: bucharest, kisiPlaceID: 1001, kisiLockIDs: [5001, 5002])
    static let floreasca = Club(id: fixedID(101), name: "Floreasca", timeZone: bucharest, kisiPlaceID: 1002, kisiLockIDs: [5011])
    static let spinning = Studio(id: fixedID(200), clubID: oldTown.id, name: "Spinning", kisiLockIDs: [5003])
    static let pool = Studio(id: fixedID(201), clubID: floreasca.id, name: "Pool", kisiLockIDs: [5012])

    /// Both clubs: organization-scoped.
    static let unlimited = Plan(id: fixedID(300), name: "Unlimited", clubIDs: [oldTown.id, floreasca.id])
    /// Old Town only: place 1001.
    static let oldTownOnly = Plan(id: fixedID(301), name: "Old Town", clubIDs: [oldTown.id])
    /// Spinning studio (implies the Old Town entrance): place 1001, locks 5001 5002 5003.
    static let spin = Plan(id: fixedID(302), name: "Spin", studioIDs: [spinning.id], pastDueGraceDays: 3)
    /// Archived, still sold to some.
    static let legacy = Plan(id: fixedID(303), name: "Legacy", clubIDs: [floreasca.id], isArchived: true)

    static let ana = Member(id: fixedID(1), firstName: "Ana", lastName: "Popescu", email: email("ana@example.com"))
    static let bogdan = Member(id: fixedID(2), firstName: "Bogdan", lastName: "Ionescu", email: email("bogdan@example.com"))
    static let carla = Member(id: fixedID(3), firstName: "Carla", lastName: "Dinu", email: email("carla@example.com"))
    static let dan = Member(id: fixedID(4), firstName: "Dan", lastName: "Marin", email: email("dan@example.com"))

    static var layout: GymLayout {
        GymLayout(clubs: [oldTown, floreasca], studios: [spinning, pool], plans: [unlimited, oldTownOnly, spin, legacy])
    }

    static var members: [Member] { [ana, bogdan, carla, dan] }

    /// Ana: Unlimited all of 2026. Bogdan: Spin Feb–Mar. Carla: Old Town from March (ahead). Dan: nothing.
    static var subscriptions: [Subscription] {
        [
            Subscription(id: fixedID(400), memberID: ana.id, planID: unlimited.id, startDate: day("2026-01-01"),
                         endDate: day("2026-12-31"), paidThrough: day("2026-12-31")),
            Subscription(id: fixedID(401), memberID: bogdan.id, planID: spin.id, startDate: day("2026-02-01"),
                         endDate: day("2026-03-31"), paidThrough: day("2026-03-31")),
            Subscription(id: fixedID(402), memberID: carla.id, planID: oldTownOnly.id, startDate: day("2026-03-01"),
                         endDate: day("2026-03-31"), paidThrough: day("2026-03-31")),
        ]
    }

    static func desired(
        layout: GymLayout = Gym.layout, members: [Member] = Gym.members, subscriptions: [Subscription] = Gym.subscriptions,
        mode: UserCreationMode = .managedUsers, at: Date = now
    ) -> DesiredState {
        DesiredState.build(layout: layout, members: members, subscriptions: subscriptions, at: at, options: SyncOptions(userCreationMode: mode))
    }

    /// Kisi after a complete sync of the fixture gym (computed through the simulator).
    static func synced(_ desired: DesiredState = Gym.desired(), base: ObservedState = ObservedState()) -> ObservedState {
        var sim = KisiSimulator(state: base)
        sim.apply(plan(desired: desired, observed: base))
        return sim.state
    }
}

/// A tiny in-memory Kisi plus BooGYMan's link store: applies actions the way the executor would.
struct KisiSimulator {
    var state: ObservedState
    var nextID = 900_000
    var errors: [String] = []

    init(state: ObservedState) {
        self.state = state
        let ids = state.groups.map(\.id) + state.groupLocks.map(\.id) + state.users.map(\.id) + state.roleAssignments.map(\.id)
        nextID = max(900_000, ids.max() ?? 0)
    }

    mutating func newID() -> Int {
        nextID += 1
        return nextID
    }

    func groupID(_ ref: GroupRef) -> Int? {
        switch ref {
        case .kisi(let id): id
        case .managed(let key): state.groupLinks[key]
        }
    }

    func userID(_ ref: UserRef) -> Int? {
        switch ref {
        case .kisi(let id): id
        case .member(let memberID): state.userLinks[memberID]
        }
    }

    /// Kisi keeps whole seconds.
    static func truncate(_ date: Date) -> Date { Date(timeIntervalSince1970: floor(date.timeIntervalSince1970)) }

    mutating func addAssignment(user: Int, group: Int, role: String, from: Date, until: Date) {
        if state.roleAssignments.contains(where: { $0.userID == user && $0.groupID == group }) {
            errors.append("user \(user) already has a role in group \(group)")
        }
        guard state.groups.contains(where: { $0.id == group }) else { return errors.append("no group \(group)") }
        guard state.users.contains(where: { $0.id == user }) else { return errors.append("no user \(user)") }
        state.roleAssignments.append(ObservedRoleAssignment(
            id: newID(), userID: user, groupID: group, roleID: role, validFrom: Self.truncate(from), validUntil: Self.truncate(until)))
    }

    mutating func apply(_ actions: [SyncAction]) {
        for action in actions { apply(action) }
    }

    mutating func apply(_ action: SyncAction) {
        switch action.kind {
        case let .createGroup(key, name, description, placeID):
            let id = newID()
            state.groups.append(ObservedGroup(id: id, name: name, description: description, placeID: placeID))
            state.groupLinks[key] = id
        case let .updateGroup(groupID, name, description):
            guard let index = state.groups.firstIndex(where: { $0.id == groupID }) else { return errors.append("no group \(groupID)") }
            state.groups[index].name = name
            state.groups[index].description = description
        case let .deleteGroup(groupID, cause):
            guard state.groups.contains(where: { $0.id == groupID }) else { return errors.append("no group \(groupID)") }
            state.groups.removeAll { $0.id == groupID }
            state.groupLocks.removeAll { $0.groupID == groupID }
            state.roleAssignments.removeAll { $0.groupID == groupID }
            if cause == .planRemoved || cause == .regrouped { state.groupLinks = state.groupLinks.filter { $0.value != groupID } }
        case let .linkGroup(key, groupID):
            state.groupLinks[key] = groupID
        case let .addGroupLock(ref, lockID):
            guard let group = groupID(ref) else { return errors.append("unresolved \(ref)") }
            if state.groupLocks.contains(where: { $0.groupID == group && $0.lockID == lockID }) {
                errors.append("lock \(lockID) already in group \(group)")
            }
            state.groupLocks.append(ObservedGroupLock(id: newID(), groupID: group, lockID: lockID))
        case let .removeGroupLock(groupLockID, _, _):
            guard state.groupLocks.contains(where: { $0.id == groupLockID }) else { return errors.append("no group lock \(groupLockID)") }
            state.groupLocks.removeAll { $0.id == groupLockID }
        case let .createUser(memberID, address, name, metadata):
            let id = newID()
            state.users.append(ObservedUser(id: id, email: address, name: name, metadata: metadata))
            state.userLinks[memberID] = id
        case let .inviteUser(memberID, address, name, ref, role, from, until):
            let id = newID()
            state.users.append(ObservedUser(id: id, email: address, name: name))
            state.userLinks[memberID] = id
            guard let group = groupID(ref) else { return errors.append("unresolved \(ref)") }
            addAssignment(user: id, group: group, role: role, from: from, until: until)
        case let .linkUser(memberID, userID):
            state.userLinks[memberID] = userID
        case let .updateUser(ref, name, metadata):
            guard let id = userID(ref), let index = state.users.firstIndex(where: { $0.id == id }) else {
                return errors.append("unresolved \(ref)")
            }
            state.users[index].name = name
            state.users[index].metadata.merge(metadata) { _, new in new }
        case let .createGrant(userRef, groupRef, role, from, until):
            guard let user = userID(userRef), let group = groupID(groupRef) else { return errors.append("unresolved \(userRef) / \(groupRef)") }
            addAssignment(user: user, group: group, role: role, from: from, until: until)
        case let .updateGrantValidity(assignmentID, from, until):
            guard let index = state.roleAssignments.firstIndex(where: { $0.id == assignmentID }) else {
                return errors.append("no assignment \(assignmentID)")
            }
            state.roleAssignments[index].validFrom = Self.truncate(from)
            state.roleAssignments[index].validUntil = Self.truncate(until)
        case let .removeGrant(assignmentID, _, _, _):
            guard state.roleAssignments.contains(where: { $0.id == assignmentID }) else { return errors.append("no assignment \(assignmentID)") }
            state.roleAssignments.removeAll { $0.id == assignmentID }
        case let .holdForReview(review):
            state.heldReviews.append(review)
        case let .resolveReview(key):
            state.heldReviews.removeAll { $0.key == key }
        }
    }
}

/// Compact views of a plan for expectations.
extension Array where Element == SyncAction {
    var kinds: [String] { map(\.kind.name) }

    func count(_ name: String) -> Int { filter { $0.kind.name == name }.count }

    var holds: [HeldReview] {
        compactMap { if case let .holdForReview(review) = $0.kind { review } else { nil } }
    }

    var removals: [(assignmentID: Int, cause: RemovalCause)] {
        compactMap { if case let .removeGrant(id, _, _, cause) = $0.kind { (id, cause) } else { nil } }
    }
}

extension SyncActionKind {
    var name: String {
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
}

/// A deterministic generator (SplitMix64) so random tests replay exactly.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension ObservedState {
    func shuffled(using rng: inout SeededGenerator) -> ObservedState {
        var copy = self
        copy.groups.shuffle(using: &rng)
        copy.groupLocks.shuffle(using: &rng)
        copy.users.shuffle(using: &rng)
        copy.roleAssignments.shuffle(using: &rng)
        copy.heldReviews.shuffle(using: &rng)
        return copy
    }

    func group(ofPlan planID: UUID) -> ObservedGroup? {
        groupLinks[.plan(planID)].flatMap { id in groups.first { $0.id == id } }
    }

    func assignments(ofMember memberID: UUID, plan planID: UUID) -> [ObservedRoleAssignment] {
        guard let user = userLinks[memberID], let group = groupLinks[.plan(planID)] else { return [] }
        return roleAssignments.filter { $0.userID == user && $0.groupID == group }
    }
}
