import Foundation
import Testing
import GymCore
@testable import AccessPlanning

/// A place administrator's key: a plan whose doors span places gets one group per place of the key;
/// switching keys regroups without a moment in which an entitled member holds no grant.
@Suite("Place groups for a place administrator's key")
struct PlaceGroupPlanningTests {
    static let atOldTown = ManagedGroupKey.planAtPlace(Gym.unlimited.id, placeID: 1001)
    static let atFloreasca = ManagedGroupKey.planAtPlace(Gym.unlimited.id, placeID: 1002)

    static func desired(places: Set<Int>?, subscriptions: [Subscription] = Gym.subscriptions) -> DesiredState {
        DesiredState.build(layout: Gym.layout, members: Gym.members, subscriptions: subscriptions, at: now,
                           options: SyncOptions(keyPlaceIDs: places))
    }

    @Test("a plan spanning two places becomes one group per place of the key, with that place's doors; one-place plans keep their group")
    func groupsPerPlace() throws {
        let desired = Self.desired(places: [1001, 1002])
        #expect(desired.groups.map(\.key) == [.plan(Gym.oldTownOnly.id), .plan(Gym.spin.id), Self.atOldTown, Self.atFloreasca].sorted())
        let oldTown = try #require(desired.groups.first { $0.key == Self.atOldTown })
        #expect(oldTown.name == "Unlimited · Old Town")
        #expect(oldTown.scope == .place(1001))
        #expect(oldTown.lockIDs == [5001, 5002])
        #expect(oldTown.description == "Managed by BooGYMan (plan \(Gym.unlimited.id.uuidString) at place 1001). Changes here are overwritten.")
        let floreasca = try #require(desired.groups.first { $0.key == Self.atFloreasca })
        #expect(floreasca.name == "Unlimited · Floreasca")
        #expect(floreasca.lockIDs == [5011])
        // Ana's Unlimited subscription: one grant in each place group, the same window.
        let ana = desired.grants.filter { $0.memberID == Gym.ana.id }
        #expect(ana.map(\.groupKey) == [Self.atOldTown, Self.atFloreasca])
        #expect(Set(ana.map(\.window)).count == 1)
        // An organization key keeps the one organization group.
        let organization = Self.desired(places: nil)
        #expect(organization.groups.first { $0.key == .plan(Gym.unlimited.id) }?.scope == .organization)
        #expect(!organization.groups.contains { $0.key.placeID != nil })
    }

    @Test("doors of places outside the key are in no group, and plans wholly outside it get none")
    func outsideTheKey() {
        let desired = Self.desired(places: [1001])
        #expect(desired.groups.map(\.key) == [.plan(Gym.oldTownOnly.id), .plan(Gym.spin.id), Self.atOldTown].sorted())
        #expect(desired.grants.filter { $0.memberID == Gym.ana.id }.map(\.groupKey) == [Self.atOldTown])
        #expect(!desired.groups.flatMap(\.lockIDs).contains(5011))
        #expect(!desired.groups.flatMap(\.lockIDs).contains(5012))
    }

    @Test("a live plan wholly outside the key's places keeps the group an earlier key made: not taken for a deleted plan's")
    func outOfReachNotRetired() throws {
        var sim = KisiSimulator(state: ObservedState())
        sim.apply(plan(desired: Self.desired(places: nil), observed: ObservedState()))
        let oldTownGroup = try #require(sim.state.groupLinks[.plan(Gym.oldTownOnly.id)])
        let floreascaOnly = Self.desired(places: [1002])
        #expect(floreascaOnly.plansOutOfReach == [Gym.oldTownOnly.id: "Old Town", Gym.spin.id: "Spin"])
        let actions = plan(desired: floreascaOnly, observed: sim.state)
        #expect(!actions.contains { if case let .deleteGroup(id, _) = $0.kind { id == oldTownGroup } else { false } })
        #expect(!actions.contains { if case let .removeGrant(_, _, group, _) = $0.kind { group == oldTownGroup } else { false } })
        // A deleted plan's group still goes.
        let withoutOldTown = DesiredState.build(
            layout: GymLayout(clubs: [Gym.oldTown, Gym.floreasca], studios: [Gym.spinning, Gym.pool], plans: [Gym.unlimited, Gym.spin, Gym.legacy]),
            members: Gym.members, subscriptions: Gym.subscriptions, at: now, options: SyncOptions(keyPlaceIDs: [1002]))
        #expect(plan(desired: withoutOldTown, observed: sim.state).contains { $0.kind == .deleteGroup(groupID: oldTownGroup, cause: .planRemoved) })
    }

    @Test("renaming the plan renames its place groups; deleting it removes them all, grants first")
    func renamedAndRemovedTogether() throws {
        var sim = KisiSimulator(state: ObservedState())
        sim.apply(plan(desired: Self.desired(places: [1001, 1002]), observed: ObservedState()))
        #expect(sim.errors.isEmpty)

        var allClubs = Gym.unlimited
        allClubs.name = "All clubs"
        var layout = GymLayout(clubs: [Gym.oldTown, Gym.floreasca], studios: [Gym.spinning, Gym.pool],
                               plans: [allClubs, Gym.oldTownOnly, Gym.spin, Gym.legacy])
        let renamed = DesiredState.build(layout: layout, members: Gym.members, subscriptions: Gym.subscriptions, at: now,
                                         options: SyncOptions(keyPlaceIDs: [1001, 1002]))
        let renames = plan(desired: renamed, observed: sim.state)
        #expect(Set(renames.compactMap { if case let .updateGroup(_, name, _) = $0.kind { name } else { nil } })
            == ["All clubs · Old Town", "All clubs · Floreasca"])
        #expect(renames.count == 2)

        layout = GymLayout(clubs: [Gym.oldTown, Gym.floreasca], studios: [Gym.spinning, Gym.pool], plans: [Gym.oldTownOnly, Gym.spin, Gym.legacy])
        let deleted = DesiredState.build(layout: layout, members: Gym.members, subscriptions: Gym.subscriptions, at: now,
                                         options: SyncOptions(keyPlaceIDs: [1001, 1002]))
        let removal = plan(desired: deleted, observed: sim.state)
        let deletions = removal.filter { if case .deleteGroup(_, .planRemoved) = $0.kind { true } else { false } }
        #expect(Set(deletions.compactMap { if case let .deleteGroup(id, _) = $0.kind { id } else { nil } })
            == [sim.state.groupLinks[Self.atOldTown]!, sim.state.groupLinks[Self.atFloreasca]!])
        #expect(removal.removals.count == 2)
        #expect(removal.allSatisfy { $0.priority == .revocation })
        sim.apply(removal)
        #expect(sim.state.groupLinks.keys.allSatisfy { $0.planID != Gym.unlimited.id })
    }

    /// Ana's grants, read off a simulated Kisi: which keys' groups hold a `group_basic` assignment for her now.
    static func anaHoldsUnlimited(_ state: ObservedState) -> Bool {
        guard let user = state.userLinks[Gym.ana.id] else { return false }
        let unlimitedGroups = Set(state.groupLinks.filter { $0.key.planID == Gym.unlimited.id }.values)
        return state.roleAssignments.contains { $0.userID == user && unlimitedGroups.contains($0.groupID) && $0.roleID == groupBasicRoleID }
    }

    @Test("switching keys moves a plan's grants to its new groups first and deletes the old groups last", arguments: [
        (from: nil, to: Set([1001, 1002])), (from: Set([1001, 1002]), to: nil),
    ] as [(from: Set<Int>?, to: Set<Int>?)])
    func switchKeys(_ change: (from: Set<Int>?, to: Set<Int>?)) throws {
        // A member blocked by staff at the switch is in the old group too: she goes at once.
        var eva = Member(id: fixedID(5), firstName: "Eva", lastName: "Stan", email: email("eva@example.com"))
        let evas = Subscription(id: fixedID(405), memberID: eva.id, planID: Gym.unlimited.id, startDate: day("2026-01-01"),
                                endDate: day("2026-12-31"), paidThrough: day("2026-12-31"))
        let before = DesiredState.build(layout: Gym.layout, members: Gym.members + [eva], subscriptions: Gym.subscriptions + [evas], at: now,
                                        options: SyncOptions(keyPlaceIDs: change.from))
        var sim = KisiSimulator(state: ObservedState())
        sim.apply(plan(desired: before, observed: ObservedState()))
        #expect(sim.errors.isEmpty)
        let oldGroups = Set(sim.state.groupLinks.filter { $0.key.planID == Gym.unlimited.id }.values)
        eva.block = MemberBlock(reason: "Lent her card", blockedAt: now, blockedBy: "staff:olga@gym.example")
        let after = DesiredState.build(layout: Gym.layout, members: Gym.members + [eva], subscriptions: Gym.subscriptions + [evas],
                                       at: now, options: SyncOptions(keyPlaceIDs: change.to))
        let actions = plan(desired: after, observed: sim.state)

        let deletions = actions.filter { if case .deleteGroup(_, .regrouped) = $0.kind { true } else { false } }
        #expect(Set(deletions.compactMap { if case let .deleteGroup(id, _) = $0.kind { id } else { nil } }) == oldGroups)
        #expect(deletions.allSatisfy { $0.priority == .cleanup })
        // Eva's grants in the old groups go as revocations, Ana's stay until the groups go.
        let evaUser = try #require(sim.state.userLinks[eva.id])
        let revoked = actions.compactMap { if case let .removeGrant(_, user, group, cause) = $0.kind { (user, group, cause) } else { nil } }
        #expect(revoked.count == oldGroups.count)
        #expect(revoked.allSatisfy { $0.0 == evaUser && oldGroups.contains($0.1) && $0.2 == .accessEnded })

        // Executed in order, action by action: Ana holds an Unlimited grant at every step.
        for action in actions.sorted(by: SyncAction.executionOrder) {
            sim.apply(action)
            #expect(Self.anaHoldsUnlimited(sim.state), "Ana lost her grant at \(action)")
        }
        #expect(sim.errors.isEmpty)
        #expect(Set(sim.state.groupLinks.filter { $0.key.planID == Gym.unlimited.id }.keys) == Set(after.groups.map(\.key).filter { $0.planID == Gym.unlimited.id }))
        #expect(plan(desired: after, observed: sim.state).isEmpty)
    }

    @Test("an old group the new key may not see is left as it is and held for staff, until it is seen again or gone")
    func unreachableOldGroup() throws {
        var sim = KisiSimulator(state: ObservedState())
        sim.apply(plan(desired: Self.desired(places: nil), observed: ObservedState()))
        let orgGroup = try #require(sim.state.groupLinks[.plan(Gym.unlimited.id)])
        // The place key lists neither the organization group nor its grants, and Kisi answers 403 for it.
        var seen = sim.state
        seen.groups.removeAll { $0.id == orgGroup }
        seen.groupLocks.removeAll { $0.groupID == orgGroup }
        seen.roleAssignments.removeAll { $0.groupID == orgGroup }
        seen.unreachableGroupIDs = [orgGroup]
        let actions = plan(desired: Self.desired(places: [1001, 1002]), observed: seen)
        #expect(actions.holds.map(\.key) == [ReviewKey(kind: .unreachableGroup, subject: String(orgGroup))])
        #expect(!actions.contains { if case .deleteGroup = $0.kind { true } else { false } })
        #expect(!actions.contains { if case let .removeGrant(_, _, group, _) = $0.kind { group == orgGroup } else { false } })
        #expect(actions.contains { if case .createGroup(Self.atFloreasca, _, _, 1002) = $0.kind { true } else { false } })

        var placeSim = KisiSimulator(state: seen)
        placeSim.apply(actions)
        var settled = placeSim.state
        #expect(plan(desired: Self.desired(places: [1001, 1002]), observed: settled).isEmpty)
        // Staff deleted it in Kisi: 404 now, and the review closes by itself.
        settled.unreachableGroupIDs = []
        #expect(plan(desired: Self.desired(places: [1001, 1002]), observed: settled).map(\.kind)
            == [.resolveReview(ReviewKey(kind: .unreachableGroup, subject: String(orgGroup)))])
    }
}
