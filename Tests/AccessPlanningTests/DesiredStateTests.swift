import Foundation
import Testing
import GymCore
@testable import AccessPlanning

@Suite("Desired state and marker")
struct DesiredStateTests {
    @Test("the marker round-trips and is found inside edited descriptions", arguments: [
        (text: ManagedGroupMarker.description(planID: fixedID(300)), plan: fixedID(300) as UUID?),
        (text: "Notes. " + ManagedGroupMarker.description(planID: fixedID(300)) + " More notes", plan: fixedID(300)),
        (text: "Managed by BooGYMan (plan abcdef00-0000-0000-0000-000000000300). Changes here are overwritten.",
         plan: UUID(uuidString: "ABCDEF00-0000-0000-0000-000000000300")),
        (text: "Managed by BooGYMan (plan not-a-uuid). Changes here are overwritten.", plan: nil),
        (text: "Managed by BooGYMan (plan 00000000-0000-0000-0000-000000000300", plan: nil),
        (text: "Cleaning staff", plan: nil),
        (text: "", plan: nil),
    ])
    func marker(text: String, plan: UUID?) {
        #expect(ManagedGroupMarker.planID(in: text) == plan)
    }

    @Test("the marker format is stable")
    func markerFormat() {
        #expect(ManagedGroupMarker.description(planID: fixedID(300))
                == "Managed by BooGYMan (plan 00000000-0000-0000-0000-000000000300). Changes here are overwritten.")
        #expect(ManagedGroupMarker.planID(in: nil) == nil)
    }

    static let noPlace = Club(id: fixedID(102), name: "Pop-up", timeZone: bucharest, kisiPlaceID: nil, kisiLockIDs: [5021])
    static let emptyClub = Club(id: fixedID(103), name: "Empty", timeZone: bucharest, kisiPlaceID: 1003, kisiLockIDs: [])

    @Test("group scope follows the places of the plan's locks", arguments: [
        (plan: Plan(name: "Both clubs", clubIDs: [Gym.oldTown.id, Gym.floreasca.id]), scope: GroupScope.organization),
        (plan: Plan(name: "Old Town", clubIDs: [Gym.oldTown.id]), scope: .place(1001)),
        (plan: Plan(name: "Studio only", studioIDs: [Gym.spinning.id]), scope: .place(1001)),
        (plan: Plan(name: "Studio + its club", clubIDs: [Gym.oldTown.id], studioIDs: [Gym.spinning.id]), scope: .place(1001)),
        (plan: Plan(name: "Studio of the other club", clubIDs: [Gym.oldTown.id], studioIDs: [Gym.pool.id]), scope: .organization),
        (plan: Plan(name: "Club without place", clubIDs: [noPlace.id]), scope: .organization),
        (plan: Plan(name: "Lockless club with place", clubIDs: [emptyClub.id]), scope: .place(1003)),
        (plan: Plan(name: "Lockless club joins Old Town", clubIDs: [Gym.oldTown.id, emptyClub.id]), scope: .place(1001)),
        (plan: Plan(name: "Nothing", clubIDs: []), scope: .organization),
    ])
    func scope(plan: Plan, scope: GroupScope) {
        let layout = GymLayout(clubs: [Gym.oldTown, Gym.floreasca, Self.noPlace, Self.emptyClub], studios: [Gym.spinning, Gym.pool], plans: [plan])
        #expect(DesiredState.scope(of: plan, layout: layout) == scope)
    }

    @Test("groups exist for live plans and for archived plans with live subscriptions only")
    func groups() {
        let desired = Gym.desired()
        #expect(desired.groups.map(\.planID) == [Gym.unlimited.id, Gym.oldTownOnly.id, Gym.spin.id])
        #expect(desired.retiredPlans == [Gym.legacy.id: "Legacy"])
        #expect(desired.groups.first { $0.planID == Gym.spin.id }?.lockIDs == [5001, 5002, 5003])
        #expect(desired.groups.first { $0.planID == Gym.spin.id }?.lockLabels[5003] == "studio Spinning in Old Town")
        #expect(desired.groups.first { $0.planID == Gym.spin.id }?.lockLabels[5001] == "entrance of club Old Town")
    }

    @Test("grants, users and denials", arguments: UserCreationMode.allCases)
    func grantsAndUsers(mode: UserCreationMode) {
        var subs = Gym.subscriptions
        subs.append(Subscription(memberID: Gym.dan.id, planID: Gym.unlimited.id, startDate: day("2026-01-01"), paidThrough: day("2026-01-31")))
        subs.append(Subscription(memberID: fixedID(99), planID: Gym.unlimited.id, startDate: day("2026-01-01"), paidThrough: day("2026-12-31")))  // unknown member
        let desired = Gym.desired(subscriptions: subs, mode: mode)
        #expect(desired.options.userCreationMode == mode)
        #expect(desired.grants.map(\.memberID) == [Gym.ana.id, Gym.bogdan.id, Gym.carla.id])
        #expect(desired.grants.map(\.isAhead) == [false, false, true])
        #expect(desired.users.filter(\.needsKisiUser).map(\.memberID) == [Gym.ana.id, Gym.bogdan.id, Gym.carla.id])
        #expect(desired.users.map(\.metadata) == Gym.members.map { [memberIDMetadataKey: $0.id.uuidString] })
        #expect(desired.denials == [
            MemberPlan(memberID: Gym.dan.id, planID: Gym.unlimited.id): "Dan Marin's subscription to Unlimited is past due: paid through 2026-01-31, 0 grace day(s) over",
        ])
    }
}
