import Foundation
import Testing
import GymCore
@testable import AccessPlanning

@Suite("Arrival order of a long run's grants")
struct ArrivalOrderTests {
    /// Where a member's grant-priority actions sit in `actions`.
    func positions(of memberID: UUID, in actions: [SyncAction]) -> [Int] {
        actions.indices.filter { actions[$0].memberID == memberID && actions[$0].priority == .grant }
    }

    @Test("a first sync gives each member user and grant together, ranked members first, after every group and door")
    func memberByMember() {
        let actions = plan(desired: Gym.desired(), observed: ObservedState())
        let order = ArrivalOrder(rank: [Gym.carla.id: 0, Gym.bogdan.id: 1])
        let ordered = order.sorted(actions)
        #expect(ordered.count == actions.count)

        // Every group and its doors first: the grants need them.
        let lastGroupWork = ordered.lastIndex { if case .addGroupLock = $0.kind { true } else if case .createGroup = $0.kind { true } else { false } }!
        let firstMemberWork = ordered.firstIndex { $0.memberID != nil }!
        #expect(lastGroupWork < firstMemberWork)

        // Carla (rank 0), then Bogdan (rank 1), then Ana (unranked): each one's user, then their grant.
        let carla = positions(of: Gym.carla.id, in: ordered)
        let bogdan = positions(of: Gym.bogdan.id, in: ordered)
        let ana = positions(of: Gym.ana.id, in: ordered)
        #expect(carla.map { ordered[$0].kind.name } == ["createUser", "createGrant"])
        #expect(bogdan.map { ordered[$0].kind.name } == ["createUser", "createGrant"])
        #expect(ana.map { ordered[$0].kind.name } == ["createUser", "createGrant"])
        #expect(carla.max()! < bogdan.min()!)
        #expect(bogdan.max()! < ana.min()!)
        // Each member's actions are contiguous: nobody waits for the whole gym's users.
        #expect(carla == Array(carla.min()!...carla.max()!))

        // The plain order creates every user before any grant.
        let plain = actions.sorted(by: SyncAction.executionOrder)
        let plainFirstGrant = plain.firstIndex { $0.kind.name == "createGrant" }!
        #expect(plain.lastIndex { $0.kind.name == "createUser" }! < plainFirstGrant)

        // Applied in this order, Kisi ends where the plain order leaves it.
        var sim = KisiSimulator(state: ObservedState())
        sim.apply(ordered)
        #expect(sim.errors.isEmpty)
        #expect(plan(desired: Gym.desired(), observed: sim.state).isEmpty)
    }

    @Test("revocations come first whatever the members' ranks; later priorities keep their place")
    func revocationsFirst() {
        let removal = SyncAction(.removeGrant(assignmentID: 7, userID: 70, groupID: 700, cause: .accessEnded), reason: "ended", memberID: Gym.dan.id)
        let grant = SyncAction(
            .createGrant(user: .kisi(10), group: .kisi(700), roleID: groupBasicRoleID, validFrom: now, validUntil: now.addingTimeInterval(86_400)),
            reason: "sold", memberID: Gym.ana.id)
        let rename = SyncAction(.updateUser(user: .kisi(10), name: "Ana P", metadata: [:]), reason: "renamed", memberID: Gym.ana.id)
        let order = ArrivalOrder(rank: [Gym.ana.id: 0])
        #expect(order.sorted([rename, grant, removal]).map(\.kind.name) == ["removeGrant", "createGrant", "updateUser"])
    }

    @Test("ranks: recent check-ins (latest first), then access starting about now (nearest first), then older check-ins; others unranked")
    func ranks() {
        let ranks = ArrivalOrder.rank(
            lastCheckIns: [
                fixedID(1): now.addingTimeInterval(-3 * 86_400),
                fixedID(2): now.addingTimeInterval(-3_600),
                fixedID(3): now.addingTimeInterval(-60 * 86_400),
                fixedID(4): now.addingTimeInterval(-40 * 86_400),
            ],
            accessStarts: [
                fixedID(1): now.addingTimeInterval(-300 * 86_400),
                fixedID(3): now.addingTimeInterval(2 * 86_400),
                fixedID(5): now.addingTimeInterval(-86_400),
                fixedID(6): now.addingTimeInterval(-200 * 86_400),
                fixedID(7): now.addingTimeInterval(30 * 86_400),
            ],
            now: now)
        #expect(ranks[fixedID(2)] == 0)  // at the door an hour ago
        #expect(ranks[fixedID(1)] == 1)  // three days ago
        #expect(ranks[fixedID(5)] == 2)  // access started yesterday
        #expect(ranks[fixedID(3)] == 3)  // starts in two days (its old check-in does not push it back)
        #expect(ranks[fixedID(4)] == 4)  // last seen 40 days ago
        #expect(ranks[fixedID(6)] == nil)  // long idle, no recent start
        #expect(ranks[fixedID(7)] == nil)  // starts in a month
    }
}
