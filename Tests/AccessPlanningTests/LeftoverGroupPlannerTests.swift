import Foundation
import Testing
import GymCore
@testable import AccessPlanning

// Planner cases that once kept the sync short of Kisi's exact state.

@Suite("Planner: leftover copies of a plan's group, and expired grants")
struct LeftoverGroupPlannerTests {
    static func unlimitedGroup(_ observed: ObservedState) -> ObservedGroup {
        observed.group(ofPlan: Gym.unlimited.id)!
    }

    @Test("a marked copy of a linked plan group is deleted after the plan's grants, its unlinked holders removed first, no review")
    func supersededCopyIsDeleted() throws {
        var observed = Gym.synced()
        let linked = Self.unlimitedGroup(observed)
        let anaUser = try #require(observed.userLinks[Gym.ana.id])
        observed.groups.append(ObservedGroup(id: 777, name: linked.name, description: linked.description, placeID: 1001))
        observed.roleAssignments.append(ObservedRoleAssignment(id: 7001, userID: anaUser, groupID: 777))
        observed.roleAssignments.append(ObservedRoleAssignment(id: 7002, userID: 55, groupID: 777))
        let actions = plan(desired: Gym.desired(), observed: observed)
        #expect(actions.contains { $0.kind == .deleteGroup(groupID: 777, cause: .superseded) })
        #expect(actions.contains { $0.kind == .removeGrant(assignmentID: 7002, userID: 55, groupID: 777, cause: .notLinked) })
        // Ana keeps her grant in the linked group; her copy goes with the leftover group.
        #expect(!actions.contains { if case .removeGrant(7001, _, _, _) = $0.kind { true } else { false } })
        #expect(!actions.contains { if case .holdForReview = $0.kind { true } else { false } })
        let deletion = try #require(actions.firstIndex { $0.kind == .deleteGroup(groupID: 777, cause: .superseded) })
        #expect(deletion == actions.count - 1, "the leftover goes last, after every grant of the run")
        // Applied, nothing more is planned.
        var simulator = KisiSimulator(state: observed)
        simulator.apply(actions)
        #expect(plan(desired: Gym.desired(), observed: simulator.state).isEmpty)
    }

    @Test("a marked group of a plan with no linked group is still held for staff, not deleted")
    func unlinkedMarkedGroupWithoutLinkIsHeld() {
        var observed = Gym.synced()
        let linked = Self.unlimitedGroup(observed)
        observed.groupLinks[.plan(Gym.unlimited.id)] = nil
        observed.groups.append(ObservedGroup(id: 778, name: linked.name, description: linked.description))
        let actions = plan(desired: Gym.desired(), observed: observed)
        #expect(!actions.contains { if case .deleteGroup = $0.kind { true } else { false } })
        #expect(actions.contains { if case .holdForReview = $0.kind { true } else { false } })
    }

    @Test("removing a grant whose validity already ended is cleanup: not counted by the brake")
    func expiredGrantRemovalIsCleanup() throws {
        var observed = Gym.synced()
        let group = Self.unlimitedGroup(observed)
        // Two hand-made grants that ended yesterday, and one still running.
        observed.roleAssignments.append(ObservedRoleAssignment(id: 8001, userID: 61, groupID: group.id, validUntil: now.addingTimeInterval(-86_400)))
        observed.roleAssignments.append(ObservedRoleAssignment(id: 8002, userID: 62, groupID: group.id, validUntil: now.addingTimeInterval(-60)))
        observed.roleAssignments.append(ObservedRoleAssignment(id: 8003, userID: 63, groupID: group.id, validUntil: now.addingTimeInterval(3600)))
        let actions = plan(desired: Gym.desired(), observed: observed)
        #expect(actions.contains { $0.kind == .removeGrant(assignmentID: 8001, userID: 61, groupID: group.id, cause: .expired) })
        #expect(actions.contains { $0.kind == .removeGrant(assignmentID: 8002, userID: 62, groupID: group.id, cause: .expired) })
        #expect(actions.contains { $0.kind == .removeGrant(assignmentID: 8003, userID: 63, groupID: group.id, cause: .notLinked) })
        let outcome = RevocationBrake(minimumCount: 0).apply(to: actions, managedGrantCount: 4)
        #expect(outcome.revocationCount == 1)
    }
}
