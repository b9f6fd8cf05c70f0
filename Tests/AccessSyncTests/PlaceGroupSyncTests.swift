import Foundation
import GymCore
import GymStore
import KisiAPI
import KisiSandbox
import Logging
import Testing

@testable import AccessSync

/// End to end against the sandbox: a place administrator's key for two of the demo's three places gets one
/// group per place for a plan spanning both, keeps single-place plans as they are, leaves the club outside
/// alone; an access manager's key keeps organization groups; switching keys either way never leaves a paying
/// member without a door in the meantime.
@Suite("Place groups and key switches against the sandbox", .serialized)
struct PlaceGroupSyncTests {
    static var quietLogger: Logger {
        var logger = Logger(label: "place-group-tests")
        logger.logLevel = .critical
        return logger
    }

    /// The Kisi place of each gym door (demo seed: Old Town 1001, Floreasca 1002, Cluj Centru 1003).
    static let placeOfLock = [5001: 1001, 5002: 1001, 5003: 1001, 5011: 1002, 5021: 1003]

    /// The engine gym plus what a place key must cope with: a studio plan, a club outside the key's places
    /// with a plan of its own, and a plan over all three clubs; one active member each (two for "All clubs").
    struct Extension {
        var spinPass: Plan
        var clujPass: Plan
        var allClubs: Plan
        var members: [Member]
    }

    static func extend(_ env: EngineEnvironment) async throws -> Extension {
        let repository = env.repository
        let layout = try await repository.layout()
        let oldTown = try #require(layout.clubs.values.first { $0.name == "Old Town" })
        let floreasca = try #require(layout.clubs.values.first { $0.name == "Floreasca" })
        let spinning = try #require(layout.studios.values.first { $0.name == "Spinning" })
        let cluj = try await repository.createClub(ClubDraft(
            name: "Cluj Centru", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1003, kisiLockIDs: [5021]))
        let spinPass = try await repository.createPlan(PlanDraft(name: "Spin pass", studioIDs: [spinning.id]))
        let clujPass = try await repository.createPlan(PlanDraft(name: "Cluj pass", clubIDs: [cluj.id]))
        let allClubs = try await repository.createPlan(PlanDraft(name: "All clubs", clubIDs: [oldTown.id, floreasca.id, cluj.id]))
        var members: [Member] = []
        for (index, plan) in [spinPass, clujPass, allClubs, allClubs].enumerated() {
            let member = try await repository.createMember(MemberDraft(
                firstName: "Place\(index)", lastName: "Test", email: "place\(index)@engine-test.example"))
            _ = try await repository.createSubscription(SubscriptionDraft(
                memberID: member.id, planID: plan.id, startDate: env.gym.today.adding(days: -10), paidThrough: env.gym.today.adding(days: 30)))
            members.append(member)
        }
        return Extension(spinPass: spinPass, clujPass: clujPass, allClubs: allClubs, members: members)
    }

    /// `GET /_sandbox/stats`' count of answers with `status`.
    static func answers(status: Int, _ env: EngineEnvironment) async throws -> Int {
        let root = try JSONSerialization.jsonObject(with: try await env.control("stats")) as? [String: Any]
        let byStatus = (root?["requests"] as? [String: Any])?["by_status"] as? [String: Any]
        return byStatus?[String(status)] as? Int ?? 0
    }

    /// An engine holding `key`, whose rights are found out and kept the way a connection keeps them, so runs
    /// take the key's places from there.
    static func engine(_ env: EngineEnvironment, key: SandboxAPIKey, hooks: SyncHooks = SyncHooks()) async throws -> (SyncEngine, KisiKeyRights) {
        let settings = KisiSettings(apiKey: key.secret, baseURL: env.baseURL)
        let client = engineClient(port: env.port, apiKey: key.secret)
        let rights = try #require(await KisiConnector.keyRights(for: settings, client: client, repository: env.repository, refresh: true))
        let engine = SyncEngine(
            client: client, repository: env.repository, ledger: env.ledger,
            configuration: .init(hooks: hooks, logger: quietLogger, keyFingerprint: settings.keyFingerprint))
        return (engine, rights)
    }

    /// Every member × gym door where the access rule lets the member in now and the door lies in `places`,
    /// with the member's Kisi user.
    static func entitledDoors(_ env: EngineEnvironment, members: [Member], places: Set<Int>) async throws -> [(name: String, userID: Int, lockID: Int)] {
        let links = try await env.ledger.links()
        let layout = try await env.repository.layout()
        var pairs: [(String, Int, Int)] = []
        for member in members {
            let decision = AccessRule.decide(
                memberID: member.id, subscriptions: try await env.repository.subscriptions(memberID: member.id), layout: layout, at: Date())
            for door in decision.doors where door.allowed && places.contains(placeOfLock[door.door.lockID] ?? -1) {
                let userID = try #require(links.users[member.id], "\(member.fullName) may enter but has no Kisi user")
                pairs.append((member.fullName, userID, door.door.lockID))
            }
        }
        return pairs
    }

    /// For every member × gym door in `places`: Kisi's oracle says what the access rule says.
    static func expectOracleAgrees(_ env: EngineEnvironment, members: [Member], places: Set<Int>, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let links = try await env.ledger.links()
        let layout = try await env.repository.layout()
        for member in members {
            let decision = AccessRule.decide(
                memberID: member.id, subscriptions: try await env.repository.subscriptions(memberID: member.id), layout: layout, at: Date())
            let expected = Dictionary(uniqueKeysWithValues: decision.doors.map { ($0.door.lockID, $0.allowed) })
            guard let userID = links.users[member.id] else {
                let entitled = decision.doors.filter { $0.allowed && places.contains(placeOfLock[$0.door.lockID] ?? -1) }
                #expect(entitled.isEmpty, "\(member.fullName) may enter but has no Kisi user", sourceLocation: sourceLocation)
                continue
            }
            for (lockID, place) in placeOfLock.sorted(by: { $0.key < $1.key }) where places.contains(place) {
                let allowed = try await env.oracle(userID: userID, lockID: lockID)
                #expect(allowed == (expected[lockID] ?? false),
                        "\(member.fullName) at lock \(lockID): Kisi says \(allowed), the access rule \(expected[lockID] ?? false)",
                        sourceLocation: sourceLocation)
            }
        }
    }

    @Test("A place administrator's key for Old Town and Floreasca: a plan spanning both gets a group in each, the studio plan its place group, the club outside nothing; Kisi agrees with the access rule at every door of the key's places, nothing is refused, a second run writes nothing")
    func placeKeyConverges() async throws {
        try await withEngineEnvironment(.gymStore) { env in
            let added = try await Self.extend(env)
            let key = try await env.sandbox.createAPIKey(.placeAdministrator(of: [1001, 1002]))
            let (engine, rights) = try await Self.engine(env, key: key)
            #expect(rights.reach == .places([KisiPlaceSummary(id: 1001, name: "Old Town"), KisiPlaceSummary(id: 1002, name: "Floreasca")]))

            let first = try await engine.reconcileAll()
            #expect(first.failures.isEmpty, "\(first.failures)")
            #expect(!first.isPaused)
            let links = try await env.ledger.links()
            let keys = Set(links.groups.keys)
            #expect(keys == [
                .planAtPlace(env.gym.unlimited.id, placeID: 1001), .planAtPlace(env.gym.unlimited.id, placeID: 1002),
                .planAtPlace(added.allClubs.id, placeID: 1001), .planAtPlace(added.allClubs.id, placeID: 1002),
                .plan(env.gym.oldTown.id), .plan(added.spinPass.id),
            ])
            // Recorded as such in Kisi: place-scoped, named after the place, carrying the place's marker.
            let groups = try await env.client.allGroups().collect()
            let unlimitedAtFloreasca = try #require(groups.first { $0.id == links.groups[.planAtPlace(env.gym.unlimited.id, placeID: 1002)] })
            #expect(unlimitedAtFloreasca.name == "Unlimited · Floreasca")
            #expect(unlimitedAtFloreasca.placeID == 1002)
            #expect(ManagedGroupMarker.key(in: unlimitedAtFloreasca.description) == .planAtPlace(env.gym.unlimited.id, placeID: 1002))
            #expect(!groups.contains { ManagedGroupMarker.key(in: $0.description)?.planID == added.clujPass.id })

            let members = env.gym.members + added.members
            try await Self.expectOracleAgrees(env, members: members, places: [1001, 1002])
            // The club outside the key's places: its member gets no Kisi user through BooGYMan, and nothing is tried.
            #expect(links.users[added.members[1].id] == nil)
            #expect(try await Self.answers(status: 403, env) == 0, "no call outside the key's rights")

            let second = try await engine.reconcileAll()
            #expect(second.executedTotal == 0, "\(second.executed)")

            // A freeze reaches both place groups through a change-driven run.
            let frozen = env.gym.members[0]  // Unlimited
            let subscription = try #require(env.gym.subscriptionOf[frozen.id])
            _ = try await env.repository.freeze(subscription.id, span: DateSpan(first: env.gym.today, last: env.gym.today.adding(days: 6)), reason: "Holiday")
            let change = try await engine.reconcile(memberIDs: [frozen.id])
            #expect(change.failures.isEmpty, "\(change.failures)")
            #expect(change.executed["removeGrant"] == 2, "\(change.executed)")
            try await Self.expectOracleAgrees(env, members: members, places: [1001, 1002])
            #expect(try await Self.answers(status: 403, env) == 0)
        }
    }

    @Test("An access manager's key keeps one organization group per plan and brings every door of every club in step, nothing refused")
    func accessManagerConverges() async throws {
        try await withEngineEnvironment(.gymStore) { env in
            let added = try await Self.extend(env)
            let key = try await env.sandbox.createAPIKey(.accessManager())
            let (engine, rights) = try await Self.engine(env, key: key)
            #expect(rights.reach == .wholeOrganization)
            let first = try await engine.reconcileAll()
            #expect(first.failures.isEmpty, "\(first.failures)")
            let keys = Set(try await env.ledger.links().groups.keys)
            #expect(keys == Set([env.gym.unlimited, env.gym.oldTown, added.spinPass, added.clujPass, added.allClubs].map { ManagedGroupKey.plan($0.id) }))
            try await Self.expectOracleAgrees(env, members: env.gym.members + added.members, places: [1001, 1002, 1003])
            #expect(try await engine.reconcileAll().executedTotal == 0)
            #expect(try await Self.answers(status: 403, env) == 0)
        }
    }

    /// Checks, after every Kisi write of a run, that each of `pairs` still opens.
    actor StepWatch {
        var pairs: [(name: String, userID: Int, lockID: Int)] = []
        var problems: [String] = []
        var steps = 0
        func set(_ pairs: [(name: String, userID: Int, lockID: Int)]) { self.pairs = pairs }
        func check(after action: SyncAction, env: EngineEnvironment) async {
            steps += 1
            for (name, userID, lockID) in pairs {
                let open = (try? await env.oracle(userID: userID, lockID: lockID)) ?? false
                if !open { problems.append("\(name) could not open lock \(lockID) after \(action.kind.actionName): \(action.reason)") }
            }
        }
    }

    @Test("Switching from the owner's key to a place administrator's and back: new groups and grants first, old groups last, and at no write does an entitled member lose a door of the key's places")
    func keySwitchBothWays() async throws {
        try await withEngineEnvironment(.gymStore) { env in
            let added = try await Self.extend(env)
            let members = env.gym.members + added.members
            let keyPlaces: Set<Int> = [1001, 1002]
            // The owner's key (an organization administrator's) first: one organization group per plan.
            let start = try await env.engine.reconcileAll()
            #expect(start.failures.isEmpty, "\(start.failures)")
            try await Self.expectOracleAgrees(env, members: members, places: [1001, 1002, 1003])
            let organizationLinks = try await env.ledger.links()
            let unlimitedOrganizationGroup = try #require(organizationLinks.groups[.plan(env.gym.unlimited.id)])

            // To the place administrator's key.
            let watch = StepWatch()
            let placeKey = try await env.sandbox.createAPIKey(.placeAdministrator(of: [1001, 1002]))
            let hooks = SyncHooks(didWrite: { action in await watch.check(after: action, env: env) })
            let (placeEngine, _) = try await Self.engine(env, key: placeKey, hooks: hooks)
            await watch.set(try await Self.entitledDoors(env, members: members, places: keyPlaces))
            let toPlace = try await placeEngine.reconcileAll()
            #expect(toPlace.failures.isEmpty, "\(toPlace.failures)")
            let steps = await watch.steps
            let problems = await watch.problems
            #expect(steps > 0)
            #expect(problems.isEmpty, "\(problems)")
            try await Self.expectOracleAgrees(env, members: members, places: keyPlaces)
            let placeLinks = try await env.ledger.links()
            #expect(placeLinks.groups[.planAtPlace(env.gym.unlimited.id, placeID: 1001)] != nil)
            #expect(placeLinks.groups[.planAtPlace(env.gym.unlimited.id, placeID: 1002)] != nil)
            // The organization groups are out of this key's sight: left as they are, kept linked and held for staff.
            #expect(placeLinks.groups[.plan(env.gym.unlimited.id)] == unlimitedOrganizationGroup)
            let reviews = try await env.ledger.openReviews().filter { $0.key.kind == .unreachableGroup }
            // Hidden: the two organization groups, and Cluj pass's group, scoped to a place the key does not administer.
            let hiddenGroups: [Int] = [env.gym.unlimited, added.allClubs, added.clujPass].compactMap { organizationLinks.groups[.plan($0.id)] }
            #expect(Set(reviews.map(\.key.subject)) == Set(hiddenGroups.map { String($0) }))
            let refusedOnce = try await Self.answers(status: 403, env)
            #expect(refusedOnce == 3, "one look at each group the key may not see")
            let settled = try await placeEngine.reconcileAll()
            #expect(settled.executedTotal == 0, "\(settled.executed)")
            #expect(try await Self.answers(status: 403, env) == refusedOnce, "no refused call is made twice")

            // And back to the owner's key: the organization groups are seen again and hold every grant before
            // the place groups go.
            let backWatch = StepWatch()
            let ownerHooks = SyncHooks(didWrite: { action in await backWatch.check(after: action, env: env) })
            let ownerEngine = SyncEngine(
                client: env.client, repository: env.repository, ledger: env.ledger,
                configuration: .init(hooks: ownerHooks, logger: Self.quietLogger))
            await backWatch.set(try await Self.entitledDoors(env, members: members, places: [1001, 1002, 1003]))
            let back = try await ownerEngine.reconcileAll()
            #expect(back.failures.isEmpty, "\(back.failures)")
            #expect(back.executed["deleteGroup"] == 4, "the four place groups of the two plans spanning places: \(back.executed)")
            let backProblems = await backWatch.problems
            #expect(backProblems.isEmpty, "\(backProblems)")
            let finalLinks = try await env.ledger.links()
            #expect(!finalLinks.groups.keys.contains { $0.placeID != nil })
            #expect(finalLinks.groups[.plan(env.gym.unlimited.id)] == unlimitedOrganizationGroup)
            #expect(try await env.ledger.openReviews().filter { $0.key.kind == .unreachableGroup }.isEmpty)
            try await Self.expectOracleAgrees(env, members: members, places: [1001, 1002, 1003])
            #expect(try await ownerEngine.reconcileAll().executedTotal == 0)
        }
    }

    @Test("A new place group's grant that fails keeps the old organization group, and its members' doors, until a later run succeeds")
    func failedGrantKeepsOldGroup() async throws {
        try await withEngineEnvironment(.gymStore) { env in
            let members = env.gym.members
            // A gym that started with a place administrator's key: Unlimited lives in two place groups. The
            // owner's key then needs one organization group, with every Unlimited member's grant made anew.
            let placeKey = try await env.sandbox.createAPIKey(.placeAdministrator(of: [1001, 1002]))
            let (placeEngine, _) = try await Self.engine(env, key: placeKey)
            #expect(try await placeEngine.reconcileAll().failures.isEmpty)
            let placeGroups = try await env.ledger.links().groups.filter { $0.key.placeID != nil }
            #expect(placeGroups.count == 2)

            // The owner's key, with Kisi failing one new grant (a 503 on every attempt of that one write).
            let hooks = SyncHooks.failingFirstGrant(env.sandbox)
            let ownerEngine = SyncEngine(
                client: env.client, repository: env.repository, ledger: env.ledger, configuration: .init(hooks: hooks, logger: Self.quietLogger))
            let failing = try await ownerEngine.reconcileAll()
            #expect(failing.failures.contains { $0.action == "createGrant" && $0.kisiStatus == 503 }, "\(failing.failures)")
            let failedPlan = try #require(failing.failures.first { $0.action == "createGrant" }?.planID)
            // The plan whose grant failed keeps its place groups; a plan whose grants all went through is regrouped.
            #expect(failing.failures.contains { $0.action == "deleteGroup" && $0.planID == failedPlan }, "\(failing.failures)")
            let failedPlanGroups = placeGroups.filter { $0.key.planID == failedPlan }.values
            let stillThere = Set(try await env.client.allGroups().collect().map(\.id))
            #expect(!failedPlanGroups.isEmpty && failedPlanGroups.allSatisfy(stillThere.contains), "the old groups of the plan whose grant failed stay")
            try await Self.expectOracleAgrees(env, members: members, places: [1001, 1002])

            let retried = try await ownerEngine.reconcileAll()
            #expect(retried.failures.isEmpty, "\(retried.failures)")
            #expect(try await env.ledger.links().groups.keys.allSatisfy { $0.placeID == nil })
            try await Self.expectOracleAgrees(env, members: members, places: [1001, 1002, 1003])
        }
    }
}

/// Counts the yield checks: steps aside at the `yieldAt`-th.
actor YieldCounter {
    var checks = 0
    let yieldAt: Int
    init(yieldAt: Int) { self.yieldAt = yieldAt }
    func check() -> Bool {
        checks += 1
        return checks >= yieldAt
    }
}

@Suite("Set-aside work and groups being replaced")
struct DeferredRegroupTests {
    @Test("a run that steps aside after a grant of the plan failed does not set aside the deletion of the plan's old group", arguments: [
        GroupDeletionCause.regrouped, .scopeChanged,
    ])
    func deletionNotDeferredAfterFailure(cause: GroupDeletionCause) async throws {
        let plan = UUID()
        let actions = [
            // Its user is not known: it fails without a Kisi call.
            SyncAction(.createGrant(user: .member(UUID()), group: .kisi(700), roleID: groupBasicRoleID, validFrom: Date(), validUntil: Date().addingTimeInterval(86_400)),
                       reason: "new place group's grant", memberID: UUID(), planID: plan),
            SyncAction(.deleteGroup(groupID: 600, cause: cause), reason: "old group", planID: plan),
            SyncAction(.deleteGroup(groupID: 601, cause: cause), reason: "another plan's old group", planID: UUID()),
        ]
        var executor = SyncExecutor(
            client: engineClient(port: 1), ledger: InMemorySyncLedger(), meter: KisiCallMeter(), trigger: "test", actor: "sync",
            hooks: SyncHooks(), logger: Logger(label: "deferred-regroup"), links: KisiLinks())
        let counter = YieldCounter(yieldAt: 2)
        let result = try await executor.run(actions, closeUnmatched: false, yield: SyncYield(interval: .zero) { await counter.check() })
        #expect(result.failures.map(\.action) == ["createGrant"])
        #expect(result.deferred.map(\.kind) == [.deleteGroup(groupID: 601, cause: cause)], "only the plan without a failure keeps its deletion")
    }
}
