import Foundation
import Testing
import GymCore
@testable import AccessPlanning

@Suite("Planner scenarios")
struct PlannerTests {
    // MARK: Full sync and idempotence

    @Test("an empty Kisi gets the full gym, then re-planning yields nothing", arguments: UserCreationMode.allCases)
    func emptyToFull(mode: UserCreationMode) {
        let desired = Gym.desired(mode: mode)
        let actions = plan(desired: desired, observed: ObservedState())
        // Legacy is archived without subscriptions: no group. Three groups, their locks.
        #expect(actions.count("createGroup") == 3)
        #expect(actions.count("addGroupLock") == 3 + 2 + 3)  // Unlimited 5001 5002 5011; Old Town 5001 5002; Spin 5001 5002 5003
        // Ana (active), Bogdan (active), Carla (ahead) need users; Dan has no access and gets none.
        switch mode {
        case .managedUsers:
            #expect(actions.count("createUser") == 3)
            #expect(actions.count("inviteUser") == 0)
            #expect(actions.count("createGrant") == 3)
        case .invitations:
            #expect(actions.count("createUser") == 0)
            #expect(actions.count("inviteUser") == 3)
            #expect(actions.count("createGrant") == 0)
            #expect(actions.count("updateUser") == 3)
        }
        #expect(!actions.contains { $0.memberID == Gym.dan.id })
        #expect(actions.allSatisfy { !$0.reason.isEmpty })

        var sim = KisiSimulator(state: ObservedState())
        sim.apply(actions)
        #expect(sim.errors.isEmpty)
        #expect(plan(desired: desired, observed: sim.state).isEmpty)

        // Scopes: Unlimited spans two places; Old Town and Spin sit in place 1001.
        #expect(sim.state.group(ofPlan: Gym.unlimited.id)?.placeID == nil)
        #expect(sim.state.group(ofPlan: Gym.oldTownOnly.id)?.placeID == 1001)
        #expect(sim.state.group(ofPlan: Gym.spin.id)?.placeID == 1001)
        // Users carry the member ID in metadata; grants carry the rule's window.
        let anaUser = sim.state.users.first { $0.id == sim.state.userLinks[Gym.ana.id] }
        #expect(anaUser?.metadata[memberIDMetadataKey] == Gym.ana.id.uuidString)
        let anaGrant = sim.state.assignments(ofMember: Gym.ana.id, plan: Gym.unlimited.id)
        #expect(anaGrant.map(\.validFrom) == [instant("2025-12-31T22:00:00Z")])
        #expect(anaGrant.map(\.validUntil) == [instant("2026-12-31T22:00:00Z")])
        #expect(anaGrant.map(\.roleID) == [groupBasicRoleID])
    }

    @Test("a Kisi already in sync gets zero actions")
    func alreadyInSync() {
        let observed = Gym.synced()
        #expect(plan(desired: Gym.desired(), observed: observed).isEmpty)
        // Also after a sub-second drift of a validity, which Kisi would have truncated anyway.
        var drifted = observed
        drifted.roleAssignments[0].validUntil = drifted.roleAssignments[0].validUntil!.addingTimeInterval(0.4)
        #expect(plan(desired: Gym.desired(), observed: drifted).isEmpty)
    }

    // MARK: Users

    @Test("an existing Kisi user with the member's e-mail is adopted, never duplicated",
          arguments: ["ana@example.com", "ANA@example.com", "Ana@Example.COM"])
    func adoption(kisiEmail: String) {
        let base = ObservedState(users: [ObservedUser(id: 77, email: kisiEmail, name: "A. Popescu", metadata: ["crm": "x"])])
        let actions = plan(desired: Gym.desired(), observed: base)
        #expect(actions.contains { $0.kind == .linkUser(memberID: Gym.ana.id, userID: 77) })
        #expect(!actions.contains { if case .createUser(Gym.ana.id, _, _, _) = $0.kind { true } else { false } })
        #expect(actions.contains {
            $0.kind == .updateUser(user: .kisi(77), name: "Ana Popescu", metadata: [memberIDMetadataKey: Gym.ana.id.uuidString])
        })
        #expect(actions.contains {
            if case .createGrant(.kisi(77), .managed(.plan(Gym.unlimited.id)), _, _, _) = $0.kind { true } else { false }
        })
        var sim = KisiSimulator(state: base)
        sim.apply(actions)
        #expect(sim.state.users.first { $0.id == 77 }?.metadata["crm"] == "x")  // foreign metadata kept
        #expect(plan(desired: Gym.desired(), observed: sim.state).isEmpty)
    }

    @Test("e-mail matching is exact apart from case", arguments: ["ana+gym@example.com", "ana@example.co", " ana@example.com"])
    func noFuzzyAdoption(kisiEmail: String) {
        let base = ObservedState(users: [ObservedUser(id: 77, email: kisiEmail, name: "Someone")])
        let actions = plan(desired: Gym.desired(), observed: base)
        #expect(!actions.contains { if case .linkUser = $0.kind { true } else { false } })
        #expect(actions.contains { if case .createUser(Gym.ana.id, _, _, _) = $0.kind { true } else { false } })
    }

    struct AmbiguityCase: Sendable, CustomTestStringConvertible {
        var label: String
        var kind: ReviewKind
        var members: [Member] = Gym.members
        var observed: @Sendable () -> ObservedState
        var testDescription: String { label }
    }

    static let ambiguityCases: [AmbiguityCase] = [
        .init(label: "two members share one e-mail case-insensitively", kind: .sharedMemberEmail,
              members: Gym.members + [Member(id: fixedID(9), firstName: "Ana", lastName: "Twin", email: email("ANA@example.com"))],
              observed: { ObservedState() }),
        .init(label: "two Kisi users carry the member's e-mail", kind: .duplicateKisiEmail, observed: {
            ObservedState(users: [ObservedUser(id: 70, email: "ana@example.com", name: "Ana"), ObservedUser(id: 71, email: "Ana@example.com", name: "Ana P")])
        }),
        .init(label: "the linked Kisi user's e-mail no longer matches", kind: .linkedEmailMismatch, observed: {
            ObservedState(users: [ObservedUser(id: 70, email: "ana.old@example.com", name: "Ana Popescu")], userLinks: [Gym.ana.id: 70])
        }),
        .init(label: "the Kisi user with the e-mail is linked to another member", kind: .kisiUserClaimed, observed: {
            ObservedState(users: [ObservedUser(id: 70, email: "ana@example.com", name: "Ana")], userLinks: [Gym.dan.id: 70])
        }),
        .init(label: "the Kisi user with the e-mail names another member in metadata", kind: .kisiUserClaimed, observed: {
            ObservedState(users: [ObservedUser(id: 70, email: "ana@example.com", name: "Ana", metadata: [memberIDMetadataKey: Gym.dan.id.uuidString])])
        }),
        .init(label: "one Kisi user linked to two members", kind: .userLinkedToSeveralMembers, observed: {
            ObservedState(users: [ObservedUser(id: 70, email: "ana@example.com", name: "Ana")], userLinks: [Gym.ana.id: 70, Gym.dan.id: 70])
        }),
    ]

    @Test("ambiguous identities are held for review, not guessed", arguments: ambiguityCases)
    func ambiguityHeld(_ scenario: AmbiguityCase) {
        let desired = Gym.desired(members: scenario.members)
        let base = scenario.observed()
        let actions = plan(desired: desired, observed: base)
        let holds = actions.holds.filter { $0.memberID == Gym.ana.id }
        #expect(holds.map(\.key.kind) == [scenario.kind])
        // Nothing else happens to Ana or to the Kisi users in question.
        #expect(actions.filter { $0.memberID == Gym.ana.id }.allSatisfy { $0.priority == .review })
        #expect(!actions.contains { if case .linkUser(_, 70) = $0.kind { true } else { false } })
        #expect(!actions.contains { if case .updateUser(.kisi(70), _, _) = $0.kind { true } else { false } })
        // The hold is recorded once: re-planning after applying yields nothing.
        var sim = KisiSimulator(state: base)
        sim.apply(actions)
        #expect(sim.errors.isEmpty)
        #expect(plan(desired: desired, observed: sim.state).isEmpty)
    }

    @Test("a held review is resolved once the ambiguity is gone")
    func reviewResolved() {
        let review = HeldReview(key: ReviewKey(kind: .duplicateKisiEmail, subject: Gym.ana.id.uuidString), message: "two users", memberID: Gym.ana.id)
        var observed = Gym.synced()
        observed.heldReviews = [review]
        let actions = plan(desired: Gym.desired(), observed: observed)
        #expect(actions.map(\.kind) == [.resolveReview(review.key)])
    }

    // MARK: Foreign objects

    static let cleaningGroup = ObservedGroup(id: 1, name: "Cleaning staff", description: "Night shift", placeID: 1001)
    static let foreignUser = ObservedUser(id: 2, email: "cleaner@example.com", name: "Cleaner")

    @Test("foreign groups, their locks and assignments, and unlinked users are never touched", arguments: [false, true])
    func foreignUntouched(preSynced: Bool) {
        var base = preSynced ? Gym.synced() : ObservedState()
        base.groups.append(Self.cleaningGroup)
        base.groups.append(ObservedGroup(id: 3, name: "Unlimited", description: nil))  // same name as a plan, no marker, not linked
        base.groupLocks += [ObservedGroupLock(id: 10, groupID: 1, lockID: 5001), ObservedGroupLock(id: 11, groupID: 3, lockID: 9999)]
        base.users.append(Self.foreignUser)
        base.roleAssignments += [ObservedRoleAssignment(id: 20, userID: 2, groupID: 1), ObservedRoleAssignment(id: 21, userID: 2, groupID: 3, roleID: "group_manager")]
        let actions = plan(desired: Gym.desired(), observed: base)
        let foreignGroupIDs: Set<Int> = [1, 3]
        for action in actions {
            switch action.kind {
            case let .updateGroup(id, _, _), let .deleteGroup(id, _), let .linkGroup(_, id): #expect(!foreignGroupIDs.contains(id))
            case let .removeGroupLock(lockLink, group, _): #expect(![10, 11].contains(lockLink)); #expect(!foreignGroupIDs.contains(group))
            case let .addGroupLock(.kisi(id), _): #expect(!foreignGroupIDs.contains(id))
            case let .removeGrant(id, _, _, _): #expect(![20, 21].contains(id))
            case let .updateUser(.kisi(id), _, _), let .linkUser(_, id): #expect(id != 2)
            default: break
            }
        }
        if preSynced { #expect(actions.isEmpty) }
    }

    // MARK: Assignments in managed groups

    @Test("a hand-added assignment in a managed group is removed", arguments: [
        (userEmail: "stranger@example.com", linkedTo: nil as UUID?, cause: RemovalCause.notLinked),
        (userEmail: "dan@example.com", linkedTo: Gym.dan.id, cause: RemovalCause.accessEnded),
    ])
    func handAddedRemoved(userEmail: String, linkedTo: UUID?, cause: RemovalCause) {
        var observed = Gym.synced()
        observed.users.append(ObservedUser(id: 55, email: userEmail, name: linkedTo == nil ? "Hand Added" : "Dan Marin",
                                           metadata: linkedTo.map { [memberIDMetadataKey: $0.uuidString] } ?? [:]))
        if let linkedTo { observed.userLinks[linkedTo] = 55 }
        let group = observed.groupLinks[.plan(Gym.unlimited.id)]!
        observed.roleAssignments.append(ObservedRoleAssignment(id: 66, userID: 55, groupID: group))
        let actions = plan(desired: Gym.desired(), observed: observed)
        #expect(actions.map(\.kind) == [.removeGrant(assignmentID: 66, userID: 55, groupID: group, cause: cause)])
        if cause == .accessEnded { #expect(actions[0].reason == "Dan Marin has no subscription to Unlimited") }
    }

    @Test("a hand-deleted assignment is re-created")
    func handDeletedRecreated() {
        var observed = Gym.synced()
        let removed = observed.assignments(ofMember: Gym.bogdan.id, plan: Gym.spin.id)[0]
        observed.roleAssignments.removeAll { $0.id == removed.id }
        let actions = plan(desired: Gym.desired(), observed: observed)
        #expect(actions.map(\.kind) == [
            .createGrant(user: .kisi(removed.userID), group: .kisi(removed.groupID), roleID: groupBasicRoleID,
                         validFrom: removed.validFrom!, validUntil: removed.validUntil!),
        ])
        #expect(actions[0].reason.contains("Bogdan Ionescu's subscription to Spin is active from 2026-02-01 through 2026-03-31"))
    }

    @Test("duplicate assignments collapse to one, keeping the one with the right window", arguments: [false, true])
    func duplicatesCollapsed(secondMatches: Bool) {
        var observed = Gym.synced()
        let original = observed.assignments(ofMember: Gym.ana.id, plan: Gym.unlimited.id)[0]
        var copy = original
        copy.id = 1
        if !secondMatches { copy.validUntil = instant("2026-06-30T21:00:00Z") } else {
            observed.roleAssignments.removeAll { $0.id == original.id }
            var wrong = original
            wrong.validUntil = instant("2026-06-30T21:00:00Z")
            observed.roleAssignments.append(wrong)
        }
        observed.roleAssignments.append(copy)
        let actions = plan(desired: Gym.desired(), observed: observed)
        let dropped = secondMatches ? original.id : 1
        #expect(actions.map(\.kind) == [.removeGrant(assignmentID: dropped, userID: original.userID, groupID: original.groupID, cause: .duplicate)])
    }

    @Test("a wrong role for an entitled member is replaced by group_basic")
    func wrongRoleReplaced() {
        var observed = Gym.synced()
        let index = observed.roleAssignments.firstIndex { $0.userID == observed.userLinks[Gym.ana.id] }!
        observed.roleAssignments[index].roleID = "group_manager"
        let assignment = observed.roleAssignments[index]
        let actions = plan(desired: Gym.desired(), observed: observed)
        #expect(actions.kinds == ["removeGrant", "createGrant"])
        #expect(actions.removals.map(\.cause) == [.wrongRole])
        var sim = KisiSimulator(state: observed)
        sim.apply(actions)
        #expect(sim.errors.isEmpty)
        #expect(sim.state.roleAssignments.first { $0.userID == assignment.userID }?.roleID == groupBasicRoleID)
    }

    @Test("a window change updates the assignment's validity", arguments: [
        (end: "2026-06-30", until: "2026-06-30T21:00:00Z"),  // shortened; summer time, UTC+3
        (end: "2027-01-31", until: "2027-01-31T22:00:00Z"),  // extended
    ])
    func windowChange(end: String, until: String) {
        let observed = Gym.synced()
        var subs = Gym.subscriptions
        subs[0].endDate = day(end)
        subs[0].paidThrough = day(end)
        let actions = plan(desired: Gym.desired(subscriptions: subs), observed: observed)
        let assignment = observed.assignments(ofMember: Gym.ana.id, plan: Gym.unlimited.id)[0]
        #expect(actions.map(\.kind) == [
            .updateGrantValidity(assignmentID: assignment.id, validFrom: instant("2025-12-31T22:00:00Z"), validUntil: instant(until)),
        ])
        #expect(actions.first?.priority == .grant)
    }

    struct RevocationCase: Sendable, CustomTestStringConvertible {
        var label: String
        var change: @Sendable (inout Subscription) -> Void
        var reason: String
        var testDescription: String { label }
    }

    static let revocationCases: [RevocationCase] = [
        .init(label: "frozen", change: { $0.freezes = [Freeze(span: DateSpan(first: day("2026-02-10"), last: day("2026-02-20")))] },
              reason: "Bogdan Ionescu's subscription to Spin was frozen from 2026-02-10 through 2026-02-20"),
        .init(label: "cancelled", change: { $0.cancellation = Cancellation(effectiveDate: day("2026-02-14")) },
              reason: "Bogdan Ionescu's subscription to Spin was cancelled effective 2026-02-14"),
        .init(label: "ended", change: { $0.endDate = day("2026-02-13") },
              reason: "Bogdan Ionescu's subscription to Spin ended on 2026-02-13"),
        .init(label: "past due beyond grace", change: { $0.paidThrough = day("2026-02-10") },
              reason: "Bogdan Ionescu's subscription to Spin is past due: paid through 2026-02-10, 3 grace day(s) over"),
    ]

    @Test("freeze, cancellation, end and past due remove the assignment", arguments: revocationCases)
    func revocation(_ scenario: RevocationCase) {
        let observed = Gym.synced()
        var subs = Gym.subscriptions
        scenario.change(&subs[1])
        let actions = plan(desired: Gym.desired(subscriptions: subs), observed: observed)
        let assignment = observed.assignments(ofMember: Gym.bogdan.id, plan: Gym.spin.id)[0]
        #expect(actions.map(\.kind) == [.removeGrant(assignmentID: assignment.id, userID: assignment.userID, groupID: assignment.groupID, cause: .accessEnded)])
        #expect(actions.first?.reason == scenario.reason)
        #expect(actions.first?.priority == .revocation)
        #expect(actions.first?.memberID == Gym.bogdan.id)
        #expect(actions.first?.planID == Gym.spin.id)
    }

    @Test("past due within grace keeps the grant")
    func withinGrace() {
        var subs = Gym.subscriptions
        subs[1].paidThrough = day("2026-02-13")
        let desired = Gym.desired(subscriptions: subs)
        let grant = desired.grants.first { $0.memberID == Gym.bogdan.id }
        #expect(grant?.window.until == instant("2026-02-16T22:00:00Z"))  // paid through 02-13 + 3 grace days
    }

    @Test("a subscription starting later is granted ahead with a future valid_from")
    func grantAhead() {
        let actions = plan(desired: Gym.desired(), observed: ObservedState())
        let carla = actions.filter { $0.memberID == Gym.carla.id && $0.kind.name == "createGrant" }
        #expect(carla.map(\.kind) == [
            .createGrant(user: .member(Gym.carla.id), group: .managed(.plan(Gym.oldTownOnly.id)), roleID: groupBasicRoleID,
                         validFrom: instant("2026-02-28T22:00:00Z"), validUntil: instant("2026-03-31T21:00:00Z")),
        ])
        #expect(carla.first?.reason.contains("starts on 2026-03-01") == true)
    }

    // MARK: Groups

    @Test("a plan rename renames the group")
    func planRename() {
        let observed = Gym.synced()
        var spin = Gym.spin
        spin.name = "Spin & Ride"
        let layout = GymLayout(clubs: [Gym.oldTown, Gym.floreasca], studios: [Gym.spinning, Gym.pool], plans: [Gym.unlimited, Gym.oldTownOnly, spin, Gym.legacy])
        let actions = plan(desired: Gym.desired(layout: layout), observed: observed)
        let group = observed.groupLinks[.plan(Gym.spin.id)]!
        #expect(actions.map(\.kind) == [.updateGroup(groupID: group, name: "Spin & Ride", description: ManagedGroupMarker.description(planID: Gym.spin.id))])
        #expect(actions.first?.reason == "plan renamed from \"Spin\" to \"Spin & Ride\"")
        #expect(actions.first?.priority == .cosmetic)
    }

    @Test("a member rename updates the Kisi user name")
    func memberRename() {
        let observed = Gym.synced()
        var ana = Gym.ana
        ana.lastName = "Ionescu"
        let actions = plan(desired: Gym.desired(members: [ana, Gym.bogdan, Gym.carla, Gym.dan]), observed: observed)
        #expect(actions.map(\.kind) == [.updateUser(user: .kisi(observed.userLinks[Gym.ana.id]!), name: "Ana Ionescu", metadata: [memberIDMetadataKey: Gym.ana.id.uuidString])])
    }

    @Test("a lock joining or leaving the plan adds or removes the group lock", arguments: [
        (studioLocks: [5003, 5004], added: [5004], removed: [] as [Int]),
        (studioLocks: [] as [Int], added: [] as [Int], removed: [5003]),
    ])
    func lockChanges(studioLocks: [Int], added: [Int], removed: [Int]) {
        let observed = Gym.synced()
        var spinning = Gym.spinning
        spinning.kisiLockIDs = studioLocks
        let layout = GymLayout(clubs: [Gym.oldTown, Gym.floreasca], studios: [spinning, Gym.pool], plans: [Gym.unlimited, Gym.oldTownOnly, Gym.spin, Gym.legacy])
        let actions = plan(desired: Gym.desired(layout: layout), observed: observed)
        let group = observed.groupLinks[.plan(Gym.spin.id)]!
        let adds = actions.compactMap { if case let .addGroupLock(.kisi(g), lock) = $0.kind, g == group { lock } else { nil } }
        let removes = actions.compactMap { if case let .removeGroupLock(_, g, lock) = $0.kind, g == group { lock } else { nil } }
        #expect(adds == added)
        #expect(removes == removed)
        #expect(actions.count == added.count + removed.count)
        if !added.isEmpty {
            #expect(actions[0].reason == "group lock 5004 added because studio Spinning in Old Town is a door of plan Spin")
        }
    }

    @Test("a studio joining a plan adds its door")
    func studioJoinsPlan() {
        let observed = Gym.synced()
        var unlimited = Gym.unlimited
        unlimited.studioIDs = [Gym.spinning.id]
        let layout = GymLayout(clubs: [Gym.oldTown, Gym.floreasca], studios: [Gym.spinning, Gym.pool], plans: [unlimited, Gym.oldTownOnly, Gym.spin, Gym.legacy])
        let actions = plan(desired: Gym.desired(layout: layout), observed: observed)
        #expect(actions.map(\.kind) == [.addGroupLock(group: .kisi(observed.groupLinks[.plan(Gym.unlimited.id)]!), lockID: 5003)])
        #expect(actions.first?.reason == "group lock 5003 added because studio Spinning in Old Town is a door of plan Unlimited")
    }

    @Test("a plan whose scope must change gets a new group, grants move, the old group goes last", arguments: [
        (clubs: [Gym.oldTown.id, Gym.floreasca.id], place: nil as Int?),  // place → organization
        (clubs: [Gym.floreasca.id], place: 1002),  // place 1001 → place 1002
    ])
    func scopeChange(clubs: [UUID], place: Int?) {
        var observed = Gym.synced()
        // Carla's plan; she holds a grant ahead. Add Dan as a (cancelled) subscriber with a stale grant.
        var oldTown = Gym.oldTownOnly
        oldTown.clubIDs = clubs
        let oldGroup = observed.groupLinks[.plan(oldTown.id)]!
        observed.users.append(ObservedUser(id: 44, email: "dan@example.com", name: "Dan Marin", metadata: [memberIDMetadataKey: Gym.dan.id.uuidString]))
        observed.userLinks[Gym.dan.id] = 44
        observed.roleAssignments.append(ObservedRoleAssignment(id: 45, userID: 44, groupID: oldGroup))
        let layout = GymLayout(clubs: [Gym.oldTown, Gym.floreasca], studios: [Gym.spinning, Gym.pool], plans: [Gym.unlimited, oldTown, Gym.spin, Gym.legacy])
        let desired = Gym.desired(layout: layout)
        let actions = plan(desired: desired, observed: observed)
        #expect(actions.kinds == ["removeGrant"] + ["createGroup"] + Array(repeating: "addGroupLock", count: layout.lockIDs(of: oldTown).count) + ["createGrant", "deleteGroup"])
        #expect(actions.contains { $0.kind == .createGroup(key: .plan(oldTown.id), name: "Old Town", description: ManagedGroupMarker.description(planID: oldTown.id), placeID: place) })
        #expect(actions.last?.kind == .deleteGroup(groupID: oldGroup, cause: .scopeChanged))
        #expect(actions.last?.priority == .cleanup)
        #expect(actions.contains { if case .createGrant(.kisi(observed.userLinks[Gym.carla.id]!), .managed(.plan(oldTown.id)), _, _, _) = $0.kind { true } else { false } })
        var sim = KisiSimulator(state: observed)
        sim.apply(actions)
        #expect(sim.errors.isEmpty)
        #expect(sim.state.group(ofPlan: oldTown.id)?.placeID == place)
        #expect(plan(desired: desired, observed: sim.state).isEmpty)
    }

    @Test("a deleted plan's managed group is deleted after its grants are removed")
    func planDeleted() {
        let observed = Gym.synced()
        let layout = GymLayout(clubs: [Gym.oldTown, Gym.floreasca], studios: [Gym.spinning, Gym.pool], plans: [Gym.unlimited, Gym.oldTownOnly, Gym.legacy])
        let actions = plan(desired: Gym.desired(layout: layout), observed: observed)
        let group = observed.groupLinks[.plan(Gym.spin.id)]!
        #expect(actions.kinds == ["removeGrant", "deleteGroup"])
        #expect(actions.removals.map(\.cause) == [.planRemoved])
        #expect(actions.last?.kind == .deleteGroup(groupID: group, cause: .planRemoved))
        #expect(actions.last?.reason == "Kisi group \"Spin\" (#\(group)) deleted: plan Spin was deleted")
        #expect(actions.allSatisfy { $0.priority == .revocation && $0.planID == Gym.spin.id })
    }

    @Test("a linked group without the marker is never deleted or changed, only held", arguments: [nil, "Our VIP room", ManagedGroupMarker.description(planID: Gym.unlimited.id)])
    func unmarkedLinkedGroupNotDeleted(description: String?) {
        var observed = Gym.synced()
        let group = observed.groupLinks[.plan(Gym.spin.id)]!
        let index = observed.groups.firstIndex { $0.id == group }!
        observed.groups[index].description = description
        // Spin deleted:
        let layout = GymLayout(clubs: [Gym.oldTown, Gym.floreasca], studios: [Gym.spinning, Gym.pool], plans: [Gym.unlimited, Gym.oldTownOnly, Gym.legacy])
        for desired in [Gym.desired(layout: layout), Gym.desired()] {
            let actions = plan(desired: desired, observed: observed)
            #expect(actions.map(\.kind.name) == ["holdForReview"])
            #expect(actions.holds.map(\.key) == [ReviewKey(kind: .groupMarkerMismatch, subject: Gym.spin.id.uuidString)])
        }
    }

    @Test("an unlinked group carrying a plan's marker is adopted once, otherwise held")
    func markedGroupAdoption() {
        var observed = Gym.synced()
        let group = observed.groupLinks[.plan(Gym.spin.id)]!
        observed.groupLinks[.plan(Gym.spin.id)] = nil
        #expect(plan(desired: Gym.desired(), observed: observed).map(\.kind) == [.linkGroup(key: .plan(Gym.spin.id), groupID: group)])
        // Two candidates: hold both, create nothing.
        observed.groups.append(ObservedGroup(id: 5, name: "Spin", description: ManagedGroupMarker.description(planID: Gym.spin.id), placeID: 1001))
        let actions = plan(desired: Gym.desired(), observed: observed)
        #expect(actions.holds.map(\.key.kind) == [.unlinkedMarkedGroup, .unlinkedMarkedGroup])
        #expect(actions.count("createGroup") == 0)
        #expect(actions.count == 2)
    }

    @Test("a group linked from two plans is held")
    func groupLinkedTwice() {
        var observed = Gym.synced()
        observed.groupLinks[.plan(Gym.oldTownOnly.id)] = observed.groupLinks[.plan(Gym.spin.id)]
        let actions = plan(desired: Gym.desired(), observed: observed)
        // The group is left alone; Old Town's own group, now unlinked but marked, is held too.
        #expect(actions.holds.map(\.key.kind) == [.groupLinkedToSeveralPlans, .unlinkedMarkedGroup])
        #expect(actions.count == 2)
    }

    @Test("a hand-deleted managed group is re-created with its grants")
    func groupDeletedInKisi() {
        var observed = Gym.synced()
        let group = observed.groupLinks[.plan(Gym.spin.id)]!
        observed.groups.removeAll { $0.id == group }
        observed.groupLocks.removeAll { $0.groupID == group }
        observed.roleAssignments.removeAll { $0.groupID == group }
        let actions = plan(desired: Gym.desired(), observed: observed)
        #expect(actions.kinds == ["createGroup", "addGroupLock", "addGroupLock", "addGroupLock", "createGrant"])
        #expect(actions[0].reason.contains("no longer exists"))
    }

    @Test("the archived plan keeps working while it has live subscriptions, and goes when they end")
    func archivedPlan() {
        let legacySub = Subscription(id: fixedID(410), memberID: Gym.dan.id, planID: Gym.legacy.id, startDate: day("2026-01-01"),
                                     endDate: day("2026-06-30"), paidThrough: day("2026-06-30"))
        let withLegacy = Gym.desired(subscriptions: Gym.subscriptions + [legacySub])
        #expect(withLegacy.groups.map(\.planID).contains(Gym.legacy.id))
        #expect(withLegacy.grants.contains { $0.planID == Gym.legacy.id && $0.memberID == Gym.dan.id })
        let observed = Gym.synced(withLegacy)
        let later = Gym.desired(subscriptions: Gym.subscriptions + [legacySub], at: instant("2026-07-01T10:00:00Z"))
        #expect(!later.groups.map(\.planID).contains(Gym.legacy.id))
        let actions = plan(desired: later, observed: observed).filter { $0.planID == Gym.legacy.id }
        #expect(actions.kinds == ["removeGrant", "deleteGroup"])
        #expect(actions.last?.reason.hasSuffix("plan Legacy is archived and has no live subscription") == true)
    }

    // MARK: Members

    @Test("a deleted member loses managed assignments and keeps the Kisi user")
    func memberDeleted() {
        let observed = Gym.synced()
        let actions = plan(desired: Gym.desired(members: [Gym.bogdan, Gym.carla, Gym.dan]), observed: observed)
        let user = observed.userLinks[Gym.ana.id]!
        #expect(actions.kinds == ["removeGrant"])
        #expect(actions.removals.map(\.cause) == [.memberDeleted])
        #expect(actions.first?.memberID == Gym.ana.id)
        var sim = KisiSimulator(state: observed)
        sim.apply(actions)
        #expect(sim.state.users.contains { $0.id == user })
        #expect(sim.state.userLinks[Gym.ana.id] == user)
    }

    @Test("a blocked member's grant is revoked with the block's reason, the Kisi user kept; unblocking grants it again")
    func blockedMember() {
        let observed = Gym.synced()
        var bogdan = Gym.bogdan
        bogdan.block = MemberBlock(reason: "Damaged the sauna door", blockedAt: instant("2026-02-13T08:00:00Z"), blockedBy: "staff:olga@gym.example")
        let members = [Gym.ana, bogdan, Gym.carla, Gym.dan]
        let desired = Gym.desired(members: members)
        #expect(!desired.grants.contains { $0.memberID == bogdan.id })
        #expect(desired.users.first { $0.memberID == bogdan.id }?.needsKisiUser == false)
        #expect(desired.denials[MemberPlan(memberID: bogdan.id, planID: Gym.spin.id)] == "Bogdan Ionescu is blocked by staff: Damaged the sauna door")

        let actions = plan(desired: desired, observed: observed)
        let assignment = observed.assignments(ofMember: bogdan.id, plan: Gym.spin.id)[0]
        #expect(actions.map(\.kind) == [.removeGrant(assignmentID: assignment.id, userID: assignment.userID, groupID: assignment.groupID, cause: .accessEnded)])
        #expect(actions.first?.reason == "Bogdan Ionescu is blocked by staff: Damaged the sauna door")
        #expect(actions.first?.priority == .revocation)
        var sim = KisiSimulator(state: observed)
        sim.apply(actions)
        #expect(sim.errors.isEmpty)
        let user = observed.userLinks[bogdan.id]
        #expect(user != nil)
        #expect(sim.state.userLinks[bogdan.id] == user)
        #expect(sim.state.users.contains { $0.id == user })
        #expect(sim.state.assignments(ofMember: bogdan.id, plan: Gym.spin.id).isEmpty)
        #expect(plan(desired: desired, observed: sim.state).isEmpty, "a block is settled in one run")

        let restored = plan(desired: Gym.desired(), observed: sim.state)
        #expect(restored.kinds == ["createGrant"])
        #expect(restored.first?.memberID == bogdan.id)
    }

    @Test("a member without any access keeps an existing link but gets no new user")
    func noUserWithoutAccess() {
        let observed = Gym.synced()
        var subs = Gym.subscriptions
        subs[0].cancellation = Cancellation(effectiveDate: day("2026-02-01"))
        let actions = plan(desired: Gym.desired(subscriptions: subs), observed: observed)
        #expect(actions.kinds == ["removeGrant"])
        #expect(!plan(desired: Gym.desired(subscriptions: subs), observed: ObservedState()).contains { $0.memberID == Gym.ana.id })
    }

    @Test("invitations mode uses one invite per new member; further grants are plain assignments")
    func invitations() {
        let second = Subscription(id: fixedID(420), memberID: Gym.ana.id, planID: Gym.spin.id, startDate: day("2026-02-10"),
                                  endDate: day("2026-03-10"), paidThrough: day("2026-03-10"))
        let desired = Gym.desired(subscriptions: Gym.subscriptions + [second], mode: .invitations)
        let actions = plan(desired: desired, observed: ObservedState())
        let ana = actions.filter { $0.memberID == Gym.ana.id }
        #expect(ana.kinds == ["inviteUser", "createGrant", "updateUser"])
        // The invite carries the earliest grant (Unlimited from 2026-01-01), the assignment the other.
        #expect(ana[0].kind == .inviteUser(memberID: Gym.ana.id, email: "ana@example.com", name: "Ana Popescu", group: .managed(.plan(Gym.unlimited.id)),
                                           roleID: groupBasicRoleID, validFrom: instant("2025-12-31T22:00:00Z"), validUntil: instant("2026-12-31T22:00:00Z")))
        #expect(ana[1].kind == .createGrant(user: .member(Gym.ana.id), group: .managed(.plan(Gym.spin.id)), roleID: groupBasicRoleID,
                                            validFrom: instant("2026-02-09T22:00:00Z"), validUntil: instant("2026-03-10T22:00:00Z")))
        #expect(actions.count("inviteUser") == 3)
        #expect(actions.count("createUser") == 0)
        // Existing users are never re-invited.
        #expect(plan(desired: desired, observed: Gym.synced(desired)).isEmpty)
    }

    @Test("a stale user link (user deleted in Kisi) re-creates or re-adopts the user", arguments: [false, true])
    func staleUserLink(otherUserHasEmail: Bool) {
        var observed = Gym.synced()
        let user = observed.userLinks[Gym.ana.id]!
        observed.users.removeAll { $0.id == user }
        observed.roleAssignments.removeAll { $0.userID == user }
        if otherUserHasEmail { observed.users.append(ObservedUser(id: 8, email: "ana@example.com", name: "Ana Popescu", metadata: [memberIDMetadataKey: Gym.ana.id.uuidString])) }
        let actions = plan(desired: Gym.desired(), observed: observed)
        #expect(actions.kinds == (otherUserHasEmail ? ["linkUser", "createGrant"] : ["createUser", "createGrant"]))
        #expect(actions[0].reason.contains("linked Kisi user #\(user) no longer exists"))
    }

    // MARK: Ordering and determinism

    @Test("actions come revocations first, then grants, cosmetic, cleanup, reviews")
    func priorities() {
        var observed = Gym.synced()
        var layoutPlans = [Gym.unlimited, Gym.spin, Gym.legacy]
        layoutPlans[1].name = "Spin 2"
        var oldTown = Gym.oldTownOnly
        oldTown.clubIDs = [Gym.floreasca.id]  // scope change
        layoutPlans.append(oldTown)
        observed.users.append(ObservedUser(id: 5, email: "x@example.com", name: "X"))
        observed.roleAssignments.append(ObservedRoleAssignment(id: 6, userID: 5, groupID: observed.groupLinks[.plan(Gym.unlimited.id)]!))
        let members = Gym.members + [Member(id: fixedID(9), firstName: "Ana", lastName: "Twin", email: email("ANA@example.com"))]
        let subs = Gym.subscriptions + [Subscription(memberID: fixedID(9), planID: Gym.unlimited.id, startDate: day("2026-01-01"), paidThrough: day("2026-12-31"))]
        let layout = GymLayout(clubs: [Gym.oldTown, Gym.floreasca], studios: [Gym.spinning, Gym.pool], plans: layoutPlans)
        let actions = plan(desired: Gym.desired(layout: layout, members: members, subscriptions: subs), observed: observed)
        let priorities = actions.map(\.priority)
        #expect(priorities == priorities.sorted())
        #expect(Set(priorities) == Set(SyncPriority.allCases))
    }

    @Test("shuffled observed input gives an identical plan", arguments: 0..<20)
    func determinism(seed: Int) {
        var rng = SeededGenerator(seed: UInt64(seed))
        var observed = Gym.synced()
        observed.groups.append(Self.cleaningGroup)
        observed.users.append(Self.foreignUser)
        observed.roleAssignments.append(ObservedRoleAssignment(id: 3, userID: 2, groupID: observed.groupLinks[.plan(Gym.spin.id)]!))
        observed.roleAssignments.append(ObservedRoleAssignment(id: 4, userID: 2, groupID: observed.groupLinks[.plan(Gym.unlimited.id)]!))
        var subs = Gym.subscriptions
        subs[0].endDate = day("2026-05-31")
        let desired = Gym.desired(layout: GymLayout(clubs: [Gym.oldTown, Gym.floreasca], studios: [Gym.spinning, Gym.pool], plans: [Gym.unlimited, Gym.spin]),
                                  members: Gym.members.shuffled(using: &rng), subscriptions: subs.shuffled(using: &rng))
        let reference = plan(desired: desired, observed: observed)
        #expect(!reference.isEmpty)
        #expect(plan(desired: desired, observed: observed.shuffled(using: &rng)) == reference)
    }
}
