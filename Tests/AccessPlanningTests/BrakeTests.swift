import Foundation
import Testing
import GymCore
@testable import AccessPlanning

@Suite("Mass-revocation brake")
struct BrakeTests {
    /// `count` access-losing removals spread over `people` members (round robin), in group 7.
    static func removals(_ count: Int, people: Int, cause: RemovalCause = .accessEnded, group: Int = 7) -> [SyncAction] {
        (0..<count).map { index in
            SyncAction(.removeGrant(assignmentID: 1000 + index, userID: 100 + index % max(people, 1), groupID: group, cause: cause),
                       reason: "test", memberID: fixedID(index % max(people, 1) + 1), planID: fixedID(300))
        }
    }

    static let grant = SyncAction(.createGrant(user: .kisi(1), group: .kisi(7), roleID: groupBasicRoleID, validFrom: now, validUntil: now),
                                  reason: "grant")

    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var count: Int
        var people: Int
        var managed: Int
        var cause: RemovalCause = .accessEnded
        var brake = RevocationBrake()
        var tripped: Bool
        var testDescription: String { label }
    }

    static let cases: [Case] = [
        // Count threshold (default 25), share irrelevant (10 % of 1000 = 100).
        .init(label: "25 of 1000 by count: flows", count: 25, people: 25, managed: 1000, tripped: false),
        .init(label: "26 of 1000 by count: held", count: 26, people: 26, managed: 1000, tripped: true),
        // Share threshold (default 10 %), count irrelevant.
        .init(label: "10 of 100 (exactly 10 %): flows", count: 10, people: 10, managed: 100, tripped: false),
        .init(label: "11 of 100 (11 %): held", count: 11, people: 11, managed: 100, tripped: true),
        .init(label: "25 of 250 (both exactly at the limit): flows", count: 25, people: 25, managed: 250, tripped: false),
        // The floor (default 5): a small gym is not held for a handful of cancellations.
        .init(label: "2 of 19 (10.5 %, under the floor): flows", count: 2, people: 2, managed: 19, tripped: false),
        .init(label: "5 of 25 (the floor): flows", count: 5, people: 5, managed: 25, tripped: false),
        .init(label: "6 of 25 (over the floor and the share): held", count: 6, people: 6, managed: 25, tripped: true),
        .init(label: "5 people, nothing managed: flows", count: 5, people: 5, managed: 0, tripped: false),
        .init(label: "6 people, nothing managed: held", count: 6, people: 6, managed: 0, tripped: true),
        .init(label: "6 of 60 (exactly 10 %, over the floor): flows", count: 6, people: 6, managed: 60, tripped: false),
        .init(label: "7 of 60 (11.7 %): held", count: 7, people: 7, managed: 60, tripped: true),
        // Single revocations always flow.
        .init(label: "a single revocation in a three-grant gym flows", count: 1, people: 1, managed: 3, tripped: false),
        .init(label: "a single revocation with nothing managed flows", count: 1, people: 1, managed: 0, tripped: false),
        .init(label: "30 revocations of one person flow", count: 30, people: 1, managed: 30, tripped: false),
        // Removals that do not lose access are not counted.
        .init(label: "30 duplicate collapses flow", count: 30, people: 30, managed: 60, cause: .duplicate, tripped: false),
        .init(label: "30 wrong-role replacements flow", count: 30, people: 30, managed: 60, cause: .wrongRole, tripped: false),
        .init(label: "30 removals of already expired grants flow (cleanup)", count: 30, people: 30, managed: 60, cause: .expired, tripped: false),
        .init(label: "30 removals of unlinked hand-added users are braked", count: 30, people: 30, managed: 1000, cause: .notLinked, tripped: true),
        .init(label: "30 plan-removal revocations are braked", count: 30, people: 30, managed: 1000, cause: .planRemoved, tripped: true),
        // Configurable thresholds.
        .init(label: "custom count 5: 6 held", count: 6, people: 6, managed: 1000, brake: RevocationBrake(maxShare: 1, maxCount: 5), tripped: true),
        .init(label: "custom floor 0: 2 of 19 held", count: 2, people: 2, managed: 19, brake: RevocationBrake(minimumCount: 0), tripped: true),
        .init(label: "custom count 5: 5 flow", count: 5, people: 5, managed: 1000, brake: RevocationBrake(maxShare: 1, maxCount: 5), tripped: false),
        .init(label: "custom share 50 %: 6 of 10 held", count: 6, people: 6, managed: 10, brake: RevocationBrake(maxShare: 0.5, maxCount: 100), tripped: true),
        .init(label: "custom share 50 %: 5 of 10 flow", count: 5, people: 5, managed: 10, brake: RevocationBrake(maxShare: 0.5, maxCount: 100), tripped: false),
    ]

    @Test("thresholds by share and by count, with boundaries", arguments: cases)
    func thresholds(_ scenario: Case) {
        let revocations = Self.removals(scenario.count, people: scenario.people, cause: scenario.cause)
        let actions = revocations + [Self.grant]
        let outcome = scenario.brake.apply(to: actions, managedGrantCount: scenario.managed)
        #expect(outcome.tripped == scenario.tripped)
        if scenario.tripped {
            #expect(outcome.held == revocations)
            #expect(outcome.proceed == [Self.grant])
            #expect(outcome.explanation != nil)
        } else {
            #expect(outcome.held.isEmpty)
            #expect(outcome.proceed == actions)
        }
    }

    @Test("when tripped, the plan-removal group deletion waits with its revocations; other groups' actions proceed")
    func heldGroupDeletion() {
        let revocations = Self.removals(30, people: 30, cause: .planRemoved, group: 7)
        let deletion = SyncAction(.deleteGroup(groupID: 7, cause: .planRemoved), reason: "plan deleted")
        let otherDeletion = SyncAction(.deleteGroup(groupID: 8, cause: .planRemoved), reason: "empty plan deleted")
        let lockRemoval = SyncAction(.removeGroupLock(groupLockID: 1, groupID: 9, lockID: 5001), reason: "lock")
        let actions = revocations + [deletion, otherDeletion, lockRemoval, Self.grant]
        let outcome = RevocationBrake().apply(to: actions, managedGrantCount: 40)
        #expect(outcome.tripped)
        #expect(outcome.held == revocations + [deletion])
        #expect(outcome.proceed == [otherDeletion, lockRemoval, Self.grant])
        #expect(outcome.revocationCount == 30)
        #expect(outcome.peopleAffected == 30)
    }

    @Test("when tripped, deleting a replaced or superseded group waits too: it would revoke the same access")
    func heldReplacedGroupDeletion() {
        let revocations = Self.removals(30, people: 30, cause: .accessEnded, group: 7)
        let replaced = SyncAction(.deleteGroup(groupID: 7, cause: .scopeChanged), reason: "scope changed")
        let superseded = SyncAction(.deleteGroup(groupID: 7, cause: .superseded), reason: "leftover copy")
        let outcome = RevocationBrake().apply(to: revocations + [replaced, superseded], managedGrantCount: 40)
        #expect(outcome.tripped)
        #expect(outcome.held == revocations + [replaced, superseded])
        #expect(outcome.proceed.isEmpty)
    }

    @Test("the brake on a real plan: a wiped subscription table holds every revocation")
    func wipedSubscriptions() {
        let observed = Gym.synced()
        let actions = plan(desired: Gym.desired(subscriptions: []), observed: observed)
        #expect(observed.managedGrantCount == 3)
        // Three grants are under the default floor; with a floor of one the wipe is held.
        #expect(!RevocationBrake().apply(to: actions, managedGrantCount: observed.managedGrantCount).tripped)
        let outcome = RevocationBrake(minimumCount: 1).apply(to: actions, managedGrantCount: observed.managedGrantCount)
        #expect(outcome.tripped)
        #expect(outcome.held.count == 3)
        #expect(outcome.proceed.isEmpty)
        // One cancellation alone flows even though it is a third of the managed grants.
        var subs = Gym.subscriptions
        subs[0].cancellation = Cancellation(effectiveDate: day("2026-02-01"))
        let single = RevocationBrake(minimumCount: 1).apply(to: plan(desired: Gym.desired(subscriptions: subs), observed: observed),
                                             managedGrantCount: observed.managedGrantCount)
        #expect(!single.tripped)
        #expect(single.proceed.count == 1)
    }
}
