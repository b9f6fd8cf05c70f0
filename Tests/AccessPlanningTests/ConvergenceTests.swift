import Foundation
import Testing
import GymCore
@testable import AccessPlanning

/// Random gyms, random history, random hand-made drift in Kisi: one planned sync must converge (the
/// next plan is empty), never trip the simulator, and leave foreign objects exactly as they were.
@Suite("Convergence property")
struct ConvergenceTests {
    struct RandomGym {
        var clubs: [Club]
        var studios: [Studio]
        var plans: [Plan]
        var members: [Member]
        var subscriptions: [Subscription]
        var mode: UserCreationMode

        var layout: GymLayout { GymLayout(clubs: clubs, studios: studios, plans: plans) }

        func desired(at instant: Date = now) -> DesiredState {
            DesiredState.build(layout: layout, members: members, subscriptions: subscriptions, at: instant,
                               options: SyncOptions(userCreationMode: mode))
        }
    }

    static func randomGym(_ rng: inout SeededGenerator) -> RandomGym {
        var nextLock = 5000
        let clubs: [Club] = (0..<Int.random(in: 1...3, using: &rng)).map { index in
            let locks = (0..<Int.random(in: 0...2, using: &rng)).map { _ in nextLock += 1; return nextLock }
            let place: Int? = Int.random(in: 0..<6, using: &rng) == 0 ? nil : 1001 + Int.random(in: 0...1, using: &rng) + index
            return Club(id: fixedID(100 + index), name: "Club \(index)", timeZone: bucharest, kisiPlaceID: place, kisiLockIDs: locks)
        }
        let studios: [Studio] = (0..<Int.random(in: 0...3, using: &rng)).map { index in
            let locks = (0..<Int.random(in: 0...1, using: &rng)).map { _ in nextLock += 1; return nextLock }
            return Studio(id: fixedID(200 + index), clubID: clubs.randomElement(using: &rng)!.id, name: "Studio \(index)", kisiLockIDs: locks)
        }
        let plans: [Plan] = (0..<Int.random(in: 1...4, using: &rng)).map { index in
            Plan(id: fixedID(300 + index), name: "Plan \(index)",
                 clubIDs: clubs.filter { _ in Bool.random(using: &rng) }.map(\.id),
                 studioIDs: studios.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }.map(\.id),
                 pastDueGraceDays: Int.random(in: 0...5, using: &rng), isArchived: Int.random(in: 0..<5, using: &rng) == 0)
        }
        var members: [Member] = []
        for index in 0..<Int.random(in: 0...12, using: &rng) {
            var address = "m\(index)@example.com"
            if index > 0, Int.random(in: 0..<12, using: &rng) == 0 { address = "M\(Int.random(in: 0..<index, using: &rng))@Example.com" }
            members.append(Member(id: fixedID(1 + index), firstName: "First\(index)", lastName: "Last", email: email(address)))
        }
        var subscriptions: [Subscription] = []
        var subID = 1000
        for member in members {
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                subID += 1
                subscriptions.append(randomSubscription(id: fixedID(subID), member: member.id, plan: plans.randomElement(using: &rng)!.id, &rng))
            }
        }
        return RandomGym(clubs: clubs, studios: studios, plans: plans, members: members, subscriptions: subscriptions,
                         mode: Bool.random(using: &rng) ? .managedUsers : .invitations)
    }

    static func randomSubscription(id: UUID, member: UUID, plan: UUID, _ rng: inout SeededGenerator) -> Subscription {
        let today = day("2026-02-15")
        let start = today.adding(days: Int.random(in: -90...40, using: &rng))
        let end: LocalDate? = Bool.random(using: &rng) ? start.adding(days: Int.random(in: 10...200, using: &rng)) : nil
        let paid = start.adding(days: Int.random(in: -5...200, using: &rng))
        var sub = Subscription(id: id, memberID: member, planID: plan, startDate: start, endDate: end, paidThrough: paid)
        if Int.random(in: 0..<5, using: &rng) == 0 { sub.cancellation = Cancellation(effectiveDate: today.adding(days: Int.random(in: -20...20, using: &rng))) }
        if Int.random(in: 0..<5, using: &rng) == 0 {
            let first = today.adding(days: Int.random(in: -10...10, using: &rng))
            sub.freezes = [Freeze(id: fixedID(id.hashValue & 0xFFFF), span: DateSpan(first: first, last: first.adding(days: Int.random(in: 0...14, using: &rng))))]
        }
        return sub
    }

    /// The gym some time later: renamed, re-scoped, deleted plans; deleted, renamed, re-mailed members; changed subscriptions.
    static func evolve(_ gym: RandomGym, _ rng: inout SeededGenerator) -> RandomGym {
        var gym = gym
        for index in gym.plans.indices {
            switch Int.random(in: 0..<8, using: &rng) {
            case 0: gym.plans[index].name += " renamed"
            case 1: gym.plans[index].clubIDs = gym.clubs.filter { _ in Bool.random(using: &rng) }.map(\.id)
            case 2: gym.plans[index].isArchived.toggle()
            default: break
            }
        }
        if gym.plans.count > 1, Bool.random(using: &rng) { gym.plans.remove(at: Int.random(in: 0..<gym.plans.count, using: &rng)) }
        if Int.random(in: 0..<3, using: &rng) == 0, !gym.clubs.isEmpty {
            let index = Int.random(in: 0..<gym.clubs.count, using: &rng)
            gym.clubs[index].kisiLockIDs.append(6000 + index)
            if Bool.random(using: &rng) { gym.clubs[index].kisiLockIDs.removeFirst(min(1, gym.clubs[index].kisiLockIDs.count)) }
        }
        if !gym.members.isEmpty, Int.random(in: 0..<3, using: &rng) == 0 { gym.members.remove(at: Int.random(in: 0..<gym.members.count, using: &rng)) }
        for index in gym.members.indices {
            switch Int.random(in: 0..<12, using: &rng) {
            case 0: gym.members[index].lastName = "Renamed"
            case 1: gym.members[index].email = email("new\(index)@example.com")
            default: break
            }
        }
        for index in gym.subscriptions.indices where Int.random(in: 0..<4, using: &rng) == 0 {
            let old = gym.subscriptions[index]
            if let plan = gym.plans.randomElement(using: &rng) {
                gym.subscriptions[index] = randomSubscription(id: old.id, member: old.memberID, plan: Bool.random(using: &rng) ? old.planID : plan.id, &rng)
            }
        }
        return gym
    }

    /// Foreign Kisi objects BooGYMan must never change.
    static func foreign(_ rng: inout SeededGenerator) -> ObservedState {
        var state = ObservedState()
        state.groups = [
            ObservedGroup(id: 1, name: "Cleaning staff", description: "Night shift", placeID: 1001),
            ObservedGroup(id: 2, name: "Plan 0", description: nil, placeID: nil),  // same name as a plan
        ]
        state.groupLocks = [ObservedGroupLock(id: 3, groupID: 1, lockID: 5001), ObservedGroupLock(id: 4, groupID: 2, lockID: 5002)]
        state.users = [ObservedUser(id: 5, email: "cleaner@example.com", name: "Cleaner"), ObservedUser(id: 6, email: "owner@example.com", name: "Owner")]
        state.roleAssignments = [
            ObservedRoleAssignment(id: 7, userID: 5, groupID: 1, validFrom: nil, validUntil: nil),
            ObservedRoleAssignment(id: 8, userID: 6, groupID: 2, roleID: "group_manager"),
        ]
        if Bool.random(using: &rng) {
            // A pre-existing Kisi user for member 0, in another spelling: adopted, never duplicated.
            state.users.append(ObservedUser(id: 9, email: "M0@example.com", name: "Someone", metadata: ["crm_id": "42"]))
        }
        return state
    }

    /// Hand-made changes in Kisi between syncs.
    static func drift(_ state: ObservedState, _ rng: inout SeededGenerator) -> ObservedState {
        var state = state
        var nextID = 20_000  // unique IDs for hand-made objects
        func newID() -> Int { nextID += 1; return nextID }
        for _ in 0..<Int.random(in: 0...6, using: &rng) {
            let managed = state.managedGroupIDs.sorted()
            let linkedUsers = Set(state.userLinks.values)
            switch Int.random(in: 0..<11, using: &rng) {
            case 0:  // hand-deleted assignment
                let candidates = state.roleAssignments.filter { managed.contains($0.groupID) }
                if let victim = candidates.randomElement(using: &rng) { state.roleAssignments.removeAll { $0.id == victim.id } }
            case 1:  // hand-added assignment of a foreign or linked user in a managed group
                if let group = managed.randomElement(using: &rng), let user = state.users.randomElement(using: &rng) {
                    state.roleAssignments.append(ObservedRoleAssignment(id: newID(), userID: user.id, groupID: group))
                }
            case 2:  // duplicate
                if let original = state.roleAssignments.filter({ managed.contains($0.groupID) }).randomElement(using: &rng) {
                    var copy = original
                    copy.id = newID()
                    state.roleAssignments.append(copy)
                }
            case 3:  // validity edited by hand
                if let index = state.roleAssignments.indices.filter({ managed.contains(state.roleAssignments[$0].groupID) }).randomElement(using: &rng) {
                    state.roleAssignments[index].validUntil = state.roleAssignments[index].validUntil?.addingTimeInterval(86_400)
                }
            case 4:  // group renamed
                if let index = state.groups.indices.filter({ managed.contains(state.groups[$0].id) }).randomElement(using: &rng) {
                    state.groups[index].name = "Hand renamed"
                }
            case 5:  // group lock removed, or a stray one added
                if let lock = state.groupLocks.filter({ managed.contains($0.groupID) }).randomElement(using: &rng) {
                    state.groupLocks.removeAll { $0.id == lock.id }
                } else if let group = managed.randomElement(using: &rng) {
                    state.groupLocks.append(ObservedGroupLock(id: newID(), groupID: group, lockID: 7777))
                }
            case 6:  // group deleted in Kisi
                if let group = managed.randomElement(using: &rng) {
                    state.groups.removeAll { $0.id == group }
                    state.groupLocks.removeAll { $0.groupID == group }
                    state.roleAssignments.removeAll { $0.groupID == group }
                }
            case 7:  // the link write was lost
                if let key = state.groupLinks.keys.sorted().randomElement(using: &rng) {
                    state.groupLinks[key] = nil
                }
            case 8:  // a Kisi user deleted by hand
                if let user = linkedUsers.sorted().randomElement(using: &rng) {
                    state.users.removeAll { $0.id == user }
                    state.roleAssignments.removeAll { $0.userID == user }
                }
            case 9:  // a wrong role
                if let index = state.roleAssignments.indices.filter({ managed.contains(state.roleAssignments[$0].groupID) }).randomElement(using: &rng) {
                    state.roleAssignments[index].roleID = "group_manager"
                }
            default:  // a second Kisi user with a member-like e-mail
                state.users.append(ObservedUser(id: newID(), email: "m\(Int.random(in: 0..<12, using: &rng))@example.com", name: "Twin"))
            }
        }
        return state
    }

    static func foreignPart(_ state: ObservedState) -> [String] {
        let groups = state.groups.filter { $0.id <= 2 }.map { "\($0)" }
        let locks = state.groupLocks.filter { $0.groupID <= 2 }.map { "\($0)" }
        let users = state.users.filter { $0.id == 5 || $0.id == 6 }.map { "\($0)" }
        let assignments = state.roleAssignments.filter { $0.groupID <= 2 }.map { "\($0)" }
        return (groups + locks + users + assignments).sorted()
    }

    @Test("200 random gyms converge in one sync and keep foreign objects", arguments: 0..<200)
    func converges(seed: Int) {
        var rng = SeededGenerator(seed: UInt64(seed) &* 7919 &+ 17)
        let before = Self.randomGym(&rng)
        let foreign = Self.foreign(&rng)

        // History: a first sync of the earlier gym, then the gym changes and Kisi drifts.
        var sim = KisiSimulator(state: foreign)
        sim.apply(plan(desired: before.desired(), observed: foreign))
        #expect(sim.errors.isEmpty)
        let after = Self.evolve(before, &rng)
        let observed = Self.drift(sim.state, &rng)

        let desired = after.desired(at: now.addingTimeInterval(Double(Int.random(in: 0...20, using: &rng)) * 86_400))
        let actions = plan(desired: desired, observed: observed)
        #expect(plan(desired: desired, observed: observed.shuffled(using: &rng)) == actions, "deterministic")
        let priorities = actions.map(\.priority)
        #expect(priorities == priorities.sorted())

        var next = KisiSimulator(state: observed)
        next.nextID = sim.nextID  // Kisi never reuses IDs
        next.apply(actions)
        #expect(next.errors.isEmpty)
        let replanned = plan(desired: desired, observed: next.state)
        if !replanned.isEmpty && ProcessInfo.processInfo.environment["SYNC_DEBUG"] != nil {
            print("OBSERVED", observed, "\nDESIRED", desired, "\nACTIONS", actions.map(\.description).joined(separator: "\n"))
        }
        #expect(replanned.isEmpty, "not converged: \(replanned.map(\.description).joined(separator: "\n"))")
        #expect(Self.foreignPart(next.state) == Self.foreignPart(foreign))
        // Kisi users are never deleted.
        #expect(Set(observed.users.map(\.id)).isSubset(of: Set(next.state.users.map(\.id))))
        // Every entitled, unheld member with a usable group ends up with exactly one matching grant.
        let held = Set(next.state.heldReviews.compactMap(\.memberID))
        let heldPlans = Set(next.state.heldReviews.compactMap(\.planID))
        for grant in desired.grants where !held.contains(grant.memberID) && !heldPlans.contains(grant.planID!) {
            let assignments = next.state.assignments(ofMember: grant.memberID, plan: grant.planID!)
            #expect(assignments.count == 1)
            #expect(assignments.allSatisfy { Planner.sameSecond($0.validUntil, grant.window.until) && $0.roleID == groupBasicRoleID })
        }
    }
}
