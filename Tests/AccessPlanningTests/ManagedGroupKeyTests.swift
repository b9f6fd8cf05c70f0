import Foundation
import Testing
import GymCore
@testable import AccessPlanning

@Suite("Managed-group keys")
struct ManagedGroupKeyTests {
    static let keys: [ManagedGroupKey] = [
        .plan(fixedID(300)), .planAtPlace(fixedID(300), placeID: 1001), .planAtPlace(fixedID(300), placeID: 7),
        .studioClasses(fixedID(200), slot: 1), .studioClasses(fixedID(200), slot: 12),
    ]

    @Test("a whole plan's marker stays byte for byte what every installation has written")
    func planMarkerUnchanged() {
        #expect(ManagedGroupMarker.description(for: .plan(fixedID(300)))
            == "Managed by BooGYMan (plan 00000000-0000-0000-0000-000000000300). Changes here are overwritten.")
        #expect(ManagedGroupMarker.description(planID: fixedID(300)) == ManagedGroupMarker.description(for: .plan(fixedID(300))))
    }

    @Test("the other kinds' markers read as documented")
    func otherMarkers() {
        #expect(ManagedGroupMarker.description(for: .planAtPlace(fixedID(300), placeID: 12))
            == "Managed by BooGYMan (plan 00000000-0000-0000-0000-000000000300 at place 12). Changes here are overwritten.")
        #expect(ManagedGroupMarker.description(for: .studioClasses(fixedID(200), slot: 1))
            == "Managed by BooGYMan (classes of studio 00000000-0000-0000-0000-000000000200, slot 1). Changes here are overwritten.")
    }

    @Test("every kind's marker reads back as its key, also in lower case and inside staff's notes", arguments: keys)
    func markerRoundTrip(_ key: ManagedGroupKey) {
        let marker = ManagedGroupMarker.description(for: key)
        #expect(ManagedGroupMarker.key(in: marker) == key)
        #expect(ManagedGroupMarker.key(in: marker.lowercased().replacingOccurrences(of: "managed by boogyman", with: "Managed by BooGYMan")) == key)
        #expect(ManagedGroupMarker.key(in: "Front desk notes. " + marker + " Call Ana.") == key)
        // Only a whole plan's group answers to the plan-only reading (what older code looked for).
        if case .plan(let id) = key { #expect(ManagedGroupMarker.planID(in: marker) == id) } else { #expect(ManagedGroupMarker.planID(in: marker) == nil) }
    }

    @Test("broken markers name no key", arguments: [
        "Managed by BooGYMan (plan 00000000-0000-0000-0000-000000000300 at place ). Changes here are overwritten.",
        "Managed by BooGYMan (plan 00000000-0000-0000-0000-000000000300 at place 12",
        "Managed by BooGYMan (classes of studio 00000000-0000-0000-0000-000000000200). Changes here are overwritten.",
        "Managed by BooGYMan (classes of studio 00000000-0000-0000-0000-000000000200, slot x). Changes here are overwritten.",
        "Managed by BooGYMan (plan not-a-uuid). Changes here are overwritten.",
        "Managed by someone else",
    ])
    func brokenMarkers(_ text: String) {
        #expect(ManagedGroupMarker.key(in: text) == nil)
    }

    @Test("a later marker in the text is found when an earlier one is broken")
    func laterMarker() {
        let text = "Managed by BooGYMan (old notes) " + ManagedGroupMarker.description(for: .studioClasses(fixedID(200), slot: 2))
        #expect(ManagedGroupMarker.key(in: text) == .studioClasses(fixedID(200), slot: 2))
    }

    @Test("every kind's stored form reads back as its key", arguments: keys)
    func storageRoundTrip(_ key: ManagedGroupKey) {
        #expect(ManagedGroupKey(storageKey: key.storageKey) == key)
        #expect(ManagedGroupKey(storageKey: key.storageKey.lowercased()) == key)
    }

    @Test("stored forms that are not keys are refused", arguments: [
        "", "plan", "plan:", "plan:nope", "plan:00000000-0000-0000-0000-000000000300:place", "plan:00000000-0000-0000-0000-000000000300:place:+1",
        "plan:00000000-0000-0000-0000-000000000300:slot:1", "studio-classes:00000000-0000-0000-0000-000000000200:slot:",
        "member:00000000-0000-0000-0000-000000000001",
    ])
    func badStorage(_ text: String) {
        #expect(ManagedGroupKey(storageKey: text) == nil)
    }

    @Test("keys sort plans before studios, a plan's whole group before its place groups, places by ID")
    func order() {
        let sorted = Self.keys.shuffled().sorted()
        #expect(sorted == [
            .plan(fixedID(300)), .planAtPlace(fixedID(300), placeID: 7), .planAtPlace(fixedID(300), placeID: 1001),
            .studioClasses(fixedID(200), slot: 1), .studioClasses(fixedID(200), slot: 12),
        ])
    }
}

/// The planner and a simulated executor treat every key alike: a studio's class groups (windowed grants, the
/// studio's locks) and a plan's groups at two places converge, and are retired when no longer wanted.
@Suite("Planning over managed-group keys")
struct KeyedPlanningTests {
    static let yoga = fixedID(210)
    static let classes = ManagedGroupKey.studioClasses(yoga, slot: 1)
    static let unlimitedAtOldTown = ManagedGroupKey.planAtPlace(Gym.unlimited.id, placeID: 1001)
    static let unlimitedAtFloreasca = ManagedGroupKey.planAtPlace(Gym.unlimited.id, placeID: 1002)

    /// The fixture gym's desired state with Unlimited cut into two place groups and one class group of a studio.
    static func desired(classGrants: Bool = true) -> DesiredState {
        var desired = Gym.desired()
        let whole = desired.groups.first { $0.key == .plan(Gym.unlimited.id) }!
        desired.groups.removeAll { $0.key == .plan(Gym.unlimited.id) }
        desired.groups += [
            DesiredGroup(key: unlimitedAtOldTown, name: "Unlimited · Old Town", description: ManagedGroupMarker.description(for: unlimitedAtOldTown),
                         scope: .place(1001), lockIDs: [5001, 5002], lockLabels: whole.lockLabels),
            DesiredGroup(key: unlimitedAtFloreasca, name: "Unlimited · Floreasca", description: ManagedGroupMarker.description(for: unlimitedAtFloreasca),
                         scope: .place(1002), lockIDs: [5011], lockLabels: whole.lockLabels),
            DesiredGroup(key: classes, name: "Yoga classes", description: ManagedGroupMarker.description(for: classes),
                         scope: .place(1001), lockIDs: [5003], lockLabels: [5003: "studio Spinning in Old Town"]),
        ]
        var grants = desired.grants.filter { $0.groupKey != .plan(Gym.unlimited.id) }
        for grant in desired.grants where grant.groupKey == .plan(Gym.unlimited.id) {
            for key in [unlimitedAtOldTown, unlimitedAtFloreasca] {
                grants.append(DesiredGrant(memberID: grant.memberID, groupKey: key, window: grant.window, isAhead: false,
                                           memberName: "Ana Popescu", planName: "Unlimited", timeZone: bucharest))
            }
        }
        if classGrants {
            // A class on the evening of the 16th: the grant opens the door for that hour only.
            grants.append(DesiredGrant(memberID: Gym.dan.id, groupKey: classes,
                                       window: AccessWindow(from: instant("2026-02-16T16:45:00Z"), until: instant("2026-02-16T18:15:00Z")),
                                       isAhead: true, memberName: "Dan Marin", planName: "Yoga classes", timeZone: bucharest))
        }
        desired.grants = grants
        // Dan needs a Kisi user for his class.
        desired.users = desired.users.map { user in
            var user = user
            if user.memberID == Gym.dan.id { user.needsKisiUser = true }
            return user
        }
        return DesiredState(evaluatedAt: desired.evaluatedAt, options: desired.options, groups: desired.groups, users: desired.users,
                            grants: desired.grants, denials: desired.denials, retiredPlans: desired.retiredPlans)
    }

    @Test("groups of every kind are created with their markers, filled and then left alone")
    func converges() throws {
        let desired = Self.desired()
        let actions = plan(desired: desired, observed: ObservedState())
        #expect(actions.contains { $0.kind == .createGroup(key: Self.classes, name: "Yoga classes",
                                                            description: ManagedGroupMarker.description(for: Self.classes), placeID: 1001) })
        #expect(actions.contains { if case .createGroup(Self.unlimitedAtFloreasca, _, _, 1002) = $0.kind { true } else { false } })
        #expect(actions.contains { $0.kind == .addGroupLock(group: .managed(Self.classes), lockID: 5003) })
        let classGrant = try #require(actions.first { if case .createGrant(_, .managed(Self.classes), _, _, _) = $0.kind { true } else { false } })
        #expect(classGrant.kind == .createGrant(user: .member(Gym.dan.id), group: .managed(Self.classes), roleID: groupBasicRoleID,
                                                validFrom: instant("2026-02-16T16:45:00Z"), validUntil: instant("2026-02-16T18:15:00Z")))
        #expect(classGrant.planID == nil)
        // Ana holds Unlimited at both places, one grant each.
        let anaGrants = actions.filter { $0.memberID == Gym.ana.id && $0.kind.name == "createGrant" && $0.planID == Gym.unlimited.id }
        #expect(anaGrants.count == 2)

        var sim = KisiSimulator(state: ObservedState())
        sim.apply(actions)
        #expect(sim.errors.isEmpty)
        #expect(sim.state.groupLinks.keys.sorted() == desired.groups.map(\.key))
        #expect(plan(desired: desired, observed: sim.state).isEmpty)
        var rng = SeededGenerator(seed: 17)
        #expect(plan(desired: desired, observed: sim.state.shuffled(using: &rng)).isEmpty)
    }

    @Test("a class group whose grants ended loses them; a group no longer wanted is retired with its grants")
    func retires() throws {
        var sim = KisiSimulator(state: ObservedState())
        sim.apply(plan(desired: Self.desired(), observed: ObservedState()))
        let classGroup = try #require(sim.state.groupLinks[Self.classes])

        let withoutBooking = Self.desired(classGrants: false)
        let removals = plan(desired: withoutBooking, observed: sim.state)
        #expect(removals.map(\.kind.name) == ["removeGrant"])
        #expect(removals.first?.reason == "Dan Marin has no booking in Yoga classes")

        var later = withoutBooking
        later.groups.removeAll { $0.key == Self.classes }
        let retiring = plan(desired: later, observed: sim.state)
        #expect(retiring.contains { $0.kind == .deleteGroup(groupID: classGroup, cause: .planRemoved) })
        #expect(retiring.removals.count == 1)
        sim.apply(retiring)
        #expect(sim.state.groupLinks[Self.classes] == nil)
        #expect(plan(desired: later, observed: sim.state).isEmpty)
    }

    @Test("an unlinked group carrying a place group's marker is adopted by that key only")
    func adoptsByKey() throws {
        var sim = KisiSimulator(state: ObservedState())
        sim.apply(plan(desired: Self.desired(), observed: ObservedState()))
        let group = try #require(sim.state.groupLinks[Self.unlimitedAtFloreasca])
        sim.state.groupLinks[Self.unlimitedAtFloreasca] = nil
        #expect(plan(desired: Self.desired(), observed: sim.state).map(\.kind) == [.linkGroup(key: Self.unlimitedAtFloreasca, groupID: group)])
    }
}
