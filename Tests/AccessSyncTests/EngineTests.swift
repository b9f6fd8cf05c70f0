import Foundation
import GymCore
import GymStore
import KisiAPI
import KisiSandbox
import Logging
import Testing
@testable import AccessSync
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

// The I/O shell against a real KisiSandbox over sockets and a real GymStore on in-memory SQLite.
// The small gym's doors are doors of the sandbox's demo seed: Old Town (place 1001: 5001, 5002,
// studio Spinning 5003) and Floreasca (place 1002: 5011).

/// A small gym in the store: two clubs, a studio, two plans, ten members.
struct EngineGym: Sendable {
    let today: LocalDate
    let unlimited: Plan
    let oldTown: Plan
    let members: [Member]
    /// The first subscription of each member that has one.
    let subscriptionOf: [UUID: Subscription]
    let lockIDs = [5001, 5002, 5003, 5011]

    static let zone = TimeZone(identifier: "Europe/Bucharest")!

    /// Members 0–7 active (even: Unlimited, odd: Old Town), 8 starts in three days (Old Town), 9 has nothing.
    static func seed(_ repository: GymRepository) async throws -> EngineGym {
        let today = LocalDate(containing: Date(), in: zone)
        let oldTownClub = try await repository.createClub(ClubDraft(
            name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1001, kisiLockIDs: [5001, 5002]))
        let floreasca = try await repository.createClub(ClubDraft(
            name: "Floreasca", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1002, kisiLockIDs: [5011]))
        let spinning = try await repository.createStudio(StudioDraft(clubID: oldTownClub.id, name: "Spinning", kisiLockIDs: [5003]))
        let unlimited = try await repository.createPlan(PlanDraft(
            name: "Unlimited", clubIDs: [oldTownClub.id, floreasca.id], studioIDs: [spinning.id], pastDueGraceDays: 3))
        let oldTown = try await repository.createPlan(PlanDraft(name: "Old Town basic", clubIDs: [oldTownClub.id]))
        var members: [Member] = []
        var subscriptionOf: [UUID: Subscription] = [:]
        for index in 0..<10 {
            let member = try await repository.createMember(MemberDraft(
                firstName: "Member\(index)", lastName: "Test", email: "member\(index)@engine-test.example"))
            members.append(member)
            switch index {
            case 0..<8:
                subscriptionOf[member.id] = try await repository.createSubscription(SubscriptionDraft(
                    memberID: member.id, planID: index % 2 == 0 ? unlimited.id : oldTown.id, startDate: today.adding(days: -30),
                    paidThrough: today.adding(days: 30)))
            case 8:
                subscriptionOf[member.id] = try await repository.createSubscription(SubscriptionDraft(
                    memberID: member.id, planID: oldTown.id, startDate: today.adding(days: 3), paidThrough: today.adding(days: 33)))
            default:
                break
            }
        }
        return EngineGym(today: today, unlimited: unlimited, oldTown: oldTown, members: members, subscriptionOf: subscriptionOf)
    }
}

/// Everything one test needs; torn down by `withEngineEnvironment`.
struct EngineEnvironment: Sendable {
    let sandbox: KisiSandbox
    let port: Int
    let client: KisiClient
    let repository: GymRepository
    let ledger: any SyncLedger
    let engine: SyncEngine
    let gym: EngineGym

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Every journal entry, oldest first.
    func journal() async throws -> [KisiWrite] {
        if let memory = ledger as? InMemorySyncLedger { return await memory.journal }
        return try await repository.kisiWrites(KisiWriteFilter(), before: nil, limit: 5_000).reversed()
    }

    /// `GET /_sandbox/…` as JSON.
    func control(_ path: String) async throws -> Data {
        var request = URLRequest(url: URL(string: baseURL + "/_sandbox/" + path)!)
        request.setValue("sandbox-admin", forHTTPHeaderField: "X-Sandbox-Admin-Key")
        let (data, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        return data
    }

    func oracle(userID: Int, lockID: Int) async throws -> Bool {
        let data = try await control("oracle?user_id=\(userID)&lock_id=\(lockID)")
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return object?["allowed"] as? Bool ?? false
    }

    /// The demo organization's data from `/_sandbox/state`.
    func state() async throws -> [String: Any] {
        let data = try await control("state?organization_id=1")
        let root = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return ((root?["organizations"] as? [Any])?.first as? [String: Any]) ?? [:]
    }

    /// The foreign "Cleaning staff" group (2002), its doors and assignments, as canonical JSON bytes.
    func cleaningStaff() async throws -> Data {
        let state = try await state()
        func of(_ key: String, _ match: ([String: Any]) -> Bool) -> [[String: Any]] {
            ((state[key] as? [Any]) ?? []).compactMap { $0 as? [String: Any] }.filter(match)
        }
        let subset: [String: Any] = [
            "groups": of("groups") { ($0["id"] as? Int) == 2002 },
            "group_locks": of("group_locks") { ($0["group_id"] as? Int) == 2002 },
            "role_assignments": of("role_assignments") { ($0["group_id"] as? Int) == 2002 || ($0["applies_to_id"] as? Int) == 2002 },
        ]
        return try JSONSerialization.data(withJSONObject: subset, options: [.sortedKeys])
    }

    /// Users, groups, group locks and role assignments as canonical JSON bytes (for "nothing written").
    func kisiData() async throws -> Data {
        let state = try await state()
        let subset: [String: Any] = [
            "users": state["users"] ?? [], "groups": state["groups"] ?? [], "group_locks": state["group_locks"] ?? [],
            "role_assignments": state["role_assignments"] ?? [],
        ]
        return try JSONSerialization.data(withJSONObject: subset, options: [.sortedKeys])
    }

    func users(withEmail email: String) async throws -> [[String: Any]] {
        ((try await state()["users"] as? [Any]) ?? []).compactMap { $0 as? [String: Any] }
            .filter { ($0["email"] as? String)?.lowercased() == email.lowercased() }
    }

    /// For every member × gym door: the sandbox oracle agrees with the access rule.
    func expectOracleAgrees(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let links = try await ledger.links()
        let layout = try await repository.layout()
        let instant = Date()
        for member in gym.members {
            let decision = AccessRule.decide(
                memberID: member.id, subscriptions: try await repository.subscriptions(memberID: member.id), layout: layout, at: instant)
            let expected = Dictionary(uniqueKeysWithValues: decision.doors.map { ($0.door.lockID, $0.allowed) })
            guard let userID = links.users[member.id] else {
                let mayEnter = decision.mayEnter
                #expect(!mayEnter, "\(member.fullName) may enter but has no Kisi user", sourceLocation: sourceLocation)
                continue
            }
            for lockID in gym.lockIDs {
                let allowed = try await oracle(userID: userID, lockID: lockID)
                #expect(allowed == (expected[lockID] ?? false),
                        "\(member.fullName) at lock \(lockID): Kisi says \(allowed), the access rule \(expected[lockID] ?? false)",
                        sourceLocation: sourceLocation)
            }
        }
    }
}

func engineClient(port: Int, apiKey: String = SandboxSeed.demoAPIKey) -> KisiClient {
    KisiClient(configuration: .init(
        apiKey: KisiAPIKey(apiKey), baseURL: URL(string: "http://127.0.0.1:\(port)")!, requestDeadline: .seconds(10),
        requestsPerSecond: 10_000,
        retryPolicy: KisiRetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(50))))
}

/// Which ledger the engine writes to.
enum LedgerKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory, gymStore
    var testDescription: String { rawValue }
}

func withEngineEnvironment(
    _ ledgerKind: LedgerKind,
    brake: RevocationBrake = RevocationBrake(),
    options: SyncOptions = SyncOptions(),
    hooks: @escaping @Sendable (KisiSandbox) -> SyncHooks = { _ in SyncHooks() },
    seed: SandboxSeed = .demoSeed(),
    _ body: @escaping @Sendable (EngineEnvironment) async throws -> Void
) async throws {
    let logger = {
        var logger = Logger(label: "engine-tests")
        logger.logLevel = .warning
        return logger
    }()
    let database = try GymDatabase(location: .sqliteInMemory, logger: logger)
    try await database.migrate()
    let repository = database.repository
    let gym = try await EngineGym.seed(repository)
    let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: seed, requestsPerSecond: 0, logger: logger))
    do {
        try await sandbox.withRunningServer { port in
            let client = engineClient(port: port)
            let ledger: any SyncLedger = ledgerKind == .memory ? InMemorySyncLedger() : GymStoreSyncLedger(repository: repository)
            let engine = SyncEngine(
                client: client, repository: repository, ledger: ledger,
                configuration: .init(options: options, brake: brake, hooks: hooks(sandbox), logger: logger))
            try await body(EngineEnvironment(
                sandbox: sandbox, port: port, client: client, repository: repository, ledger: ledger, engine: engine, gym: gym))
        }
    } catch {
        await database.shutdown()
        throw error
    }
    await database.shutdown()
}

/// Flips a sandbox fault on for exactly one write, then off again.
actor OneShot {
    var armed = true
    var fired = false
    func fire() -> Bool {
        guard armed else { return false }
        armed = false
        fired = true
        return true
    }
    var active = false
    func setActive(_ value: Bool) { active = value }
}

extension SyncHooks {
    /// Hooks under which Kisi answers 503 to every attempt of the run's first `createGrant`, and to nothing else.
    static func failingFirstGrant(_ sandbox: KisiSandbox) -> SyncHooks {
        let shot = OneShot()
        return SyncHooks(
            willWrite: { action in
                if case .createGrant = action.kind, await shot.fire() {
                    await shot.setActive(true)
                    await sandbox.setFaults(FaultSettings(errorRate: 1))
                }
            },
            didWrite: { _ in
                if await shot.active {
                    await sandbox.setFaults(FaultSettings())
                    await shot.setActive(false)
                }
            })
    }
}

@Suite("SyncEngine against the Kisi sandbox", .serialized)
struct EngineTests {
    @Test("initial sync makes Kisi agree with the access rule; a second sync writes nothing; foreign group untouched", arguments: LedgerKind.allCases)
    func initialSync(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind) { env in
            let cleaningBefore = try await env.cleaningStaff()
            let first = try await env.engine.reconcileAll()
            #expect(first.failures.isEmpty, "\(first.failures)")
            #expect(!first.isPaused)
            #expect(first.executed["createGroup"] == 2)
            #expect(first.executed["createUser"] == 9)  // members 0–8 (8 starts ahead); 9 has nothing
            #expect(first.executed["createGrant"] == 9)
            #expect(first.kisiWrites == first.executed.filter { !["linkUser", "linkGroup"].contains($0.key) }.values.reduce(0, +))
            #expect(first.kisiReads > 0)
            try await env.expectOracleAgrees()

            let second = try await env.engine.reconcileAll()
            #expect(second.planned == 0)
            #expect(second.kisiWrites == 0)
            #expect(second.failures.isEmpty)
            #expect(try await env.cleaningStaff() == cleaningBefore)

            let journal = try await env.journal()
            #expect(journal.count == first.kisiWrites)
            #expect(journal.allSatisfy { $0.status == .succeeded })
            #expect(journal.allSatisfy { !($0.requestJSON ?? "").contains(SandboxSeed.demoAPIKey) })
        }
    }

    @Test("invitations mode: one invite per new member, then the member ID goes into the user's metadata", arguments: LedgerKind.allCases)
    func invitations(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind, options: SyncOptions(userCreationMode: .invitations)) { env in
            let first = try await env.engine.reconcileAll()
            #expect(first.failures.isEmpty, "\(first.failures)")
            #expect(first.executed["inviteUser"] == 9)
            #expect(first.executed["updateUser"] == 9)
            #expect(first.executed["createUser"] == nil)
            try await env.expectOracleAgrees()
            let member = env.gym.members[0]
            let userID = try #require(try await env.ledger.links().users[member.id])
            #expect(try await env.client.user(id: userID).metadata[memberIDMetadataKey]?.stringValue == member.id.uuidString)
            #expect(try await env.engine.reconcileAll().planned == 0)
        }
    }

    @Test("concurrent runs are serialized: nothing is written twice", arguments: LedgerKind.allCases)
    func concurrentRuns(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind) { env in
            async let one = env.engine.reconcileAll(trigger: "one")
            async let two = env.engine.reconcileAll(trigger: "two")
            let (first, second) = try await (one, two)
            #expect(first.failures.isEmpty && second.failures.isEmpty)
            #expect((first.executed["createUser"] ?? 0) + (second.executed["createUser"] ?? 0) == 9)
            #expect(min(first.kisiWrites, second.kisiWrites) == 0)
            try await env.expectOracleAgrees()
        }
    }

    @Test("dry run plans with reasons and writes nothing", arguments: LedgerKind.allCases)
    func dryRun(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind) { env in
            let before = try await env.kisiData()
            let actions = try await env.engine.dryRun()
            #expect(actions.contains { if case .createGroup = $0.kind { true } else { false } })
            #expect(actions.allSatisfy { !$0.reason.isEmpty })
            #expect(try await env.kisiData() == before)
            #expect(try await env.journal().isEmpty)
            #expect(try await env.ledger.links() == KisiLinks())
        }
    }

    @Test("a frozen subscription is withdrawn by a change-driven run", arguments: LedgerKind.allCases)
    func freezeIsChangeDriven(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind) { env in
            _ = try await env.engine.reconcileAll()
            let member = env.gym.members[2]
            let subscription = try #require(env.gym.subscriptionOf[member.id])
            let userID = try #require(try await env.ledger.links().users[member.id])
            #expect(try await env.oracle(userID: userID, lockID: 5011))

            _ = try await env.repository.freeze(
                subscription.id, span: DateSpan(first: env.gym.today, last: env.gym.today.adding(days: 13)), reason: "Holiday")
            let report = try await env.engine.reconcile(memberIDs: [member.id])
            #expect(report.executed["removeGrant"] == 1)
            #expect(report.kisiWrites == 1)
            #expect(report.failures.isEmpty)
            let removal = try #require(try await env.journal().last)
            #expect(removal.action == "removeGrant")
            #expect(removal.memberID == member.id)
            #expect(removal.requestJSON?.contains("access_ended") == true)
            #expect(removal.reason.contains("frozen"))
            #expect(try await env.oracle(userID: userID, lockID: 5011) == false)
            try await env.expectOracleAgrees()

            // The service's change loop: the fixture's club and studio changes ask for a full reconcile,
            // then a single cancellation is handled as a change of that member.
            let service = SyncService(engine: env.engine, repository: env.repository, ledger: env.ledger)
            #expect(try await service.processChanges() == .fullReconcileNeeded)
            #expect(try await env.repository.unprocessedAccessChangeCount() == 0)
            #expect(try await service.processChanges() == .none)
            let other = env.gym.members[3]
            _ = try await env.repository.cancel(try #require(env.gym.subscriptionOf[other.id]).id, effectiveDate: env.gym.today)
            #expect(try await service.processChanges() == .changes)
            #expect(try await env.repository.unprocessedAccessChangeCount() == 0)
            let otherUser = try #require(try await env.ledger.links().users[other.id])
            #expect(try await env.oracle(userID: otherUser, lockID: 5001) == false)
            let after = try await env.engine.reconcileAll()
            #expect(after.planned == 0)
        }
    }

    @Test("the service runs a full reconcile at start, then follows access changes until cancelled", arguments: LedgerKind.allCases)
    func serviceLoop(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind) { env in
            let service = SyncService(
                engine: env.engine, repository: env.repository, ledger: env.ledger, pollInterval: .milliseconds(50))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                let member = env.gym.members[4]
                // Wait for the start-up full reconcile.
                #expect(try await eventually { try await env.ledger.syncState.get(.lastFullReconcileAt) != nil })
                let kisiUser = try #require(try await env.ledger.links().users[member.id])
                try await env.expectOracleAgrees()
                _ = try await env.repository.freeze(
                    try #require(env.gym.subscriptionOf[member.id]).id,
                    span: DateSpan(first: env.gym.today, last: env.gym.today.adding(days: 6)))
                #expect(try await eventually { try await !env.oracle(userID: kisiUser, lockID: 5001) })
                group.cancelAll()
                try await group.waitForAll()
            }
            try await env.expectOracleAgrees()
        }
    }

    @Test("a change-driven run reads only the changed member's data and leaves other members alone", arguments: LedgerKind.allCases)
    func changeDrivenScope(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind) { env in
            _ = try await env.engine.reconcileAll()
            // A new member with a subscription: the change-driven run creates their user and grant only.
            let newcomer = try await env.repository.createMember(MemberDraft(
                firstName: "New", lastName: "Comer", email: "newcomer@engine-test.example"))
            _ = try await env.repository.createSubscription(SubscriptionDraft(
                memberID: newcomer.id, planID: env.gym.unlimited.id, startDate: env.gym.today, paidThrough: env.gym.today.adding(days: 30)))
            let report = try await env.engine.reconcile(memberIDs: [newcomer.id])
            #expect(report.executed == ["createUser": 1, "createGrant": 1])
            #expect(report.failures.isEmpty)
            let userID = try #require(try await env.ledger.links().users[newcomer.id])
            #expect(try await env.oracle(userID: userID, lockID: 5003))
            #expect(report.kisiWritesByMember[newcomer.id] == 2)

            // A deleted member: the change-driven run removes their grant and keeps their Kisi user.
            let leaver = env.gym.members[5]
            let leaverUser = try #require(try await env.ledger.links().users[leaver.id])
            try await env.repository.deleteMember(leaver.id)
            let removal = try await env.engine.reconcile(memberIDs: [leaver.id])
            #expect(removal.executed == ["removeGrant": 1])
            #expect(try await env.oracle(userID: leaverUser, lockID: 5001) == false)
            #expect(try await env.client.user(id: leaverUser).id == leaverUser)
            let full = try await env.engine.reconcileAll()
            #expect(full.planned == 0)
        }
    }

    @Test("a plan change is reconciled for that plan's group and its members only", arguments: LedgerKind.allCases)
    func planChange(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind) { env in
            _ = try await env.engine.reconcileAll()
            let plan = env.gym.oldTown
            _ = try await env.repository.updatePlan(plan.id) { $0.name = "Old Town classic" }
            // A member of the other plan drifts meanwhile: not this run's business.
            let other = env.gym.members[0]
            _ = try await env.repository.cancel(try #require(env.gym.subscriptionOf[other.id]).id, effectiveDate: env.gym.today)
            let report = try await env.engine.reconcile(memberIDs: [], planIDs: [plan.id])
            #expect(report.executed == ["updateGroup": 1])
            #expect(report.failures.isEmpty)
            let groupID = try #require(try await env.ledger.links().groups[.plan(plan.id)])
            #expect(try await env.client.group(id: groupID).name == "Old Town classic")
            let otherUser = try #require(try await env.ledger.links().users[other.id])
            #expect(try await env.oracle(userID: otherUser, lockID: 5001))
            let full = try await env.engine.reconcileAll()
            #expect(full.executed == ["removeGrant": 1])
            #expect(try await env.engine.reconcileAll().planned == 0)
        }
    }

    @Test("a 5xx on one member's grant fails that action only and is reported per member", arguments: LedgerKind.allCases)
    func serverErrorIsPerMember(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind, hooks: { sandbox in SyncHooks.failingFirstGrant(sandbox) }) { env in
            let report = try await env.engine.reconcileAll()
            #expect(report.failures.count == 1)
            #expect(report.failuresByMember.count == 1)
            #expect(report.failures.first?.kisiStatus == 503)
            #expect(report.executed["createGrant"] == 8)
            #expect(!report.isPaused)
            let failed = try await env.journal().filter { $0.status == .failed }
            #expect(failed.count == 1)
            #expect(failed.first?.kisiStatus == 503)
            let retry = try await env.engine.reconcileAll()
            #expect(retry.executed == ["createGrant": 1])
            try await env.expectOracleAgrees()
        }
    }

    @Test("a hand-added assignment in a managed group is removed by the next full reconcile", arguments: LedgerKind.allCases)
    func handAddedAssignment(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind) { env in
            _ = try await env.engine.reconcileAll()
            let groupID = try #require(try await env.ledger.links().groups[.plan(env.gym.unlimited.id)])
            // Mihai (demo user 3, staff) is added by hand to the BooGYMan group.
            let added = try await env.client.createRoleAssignment(.groupAccess(userID: 3, groupID: groupID))
            let cleaningBefore = try await env.cleaningStaff()
            let report = try await env.engine.reconcileAll()
            #expect(report.executed["removeGrant"] == 1)
            #expect(report.heldRevocations.isEmpty)
            let ids = ((try await env.state()["role_assignments"] as? [Any]) ?? []).compactMap { ($0 as? [String: Any])?["id"] as? Int }
            #expect(!ids.contains(added.id))
            #expect(try await env.cleaningStaff() == cleaningBefore)
            #expect(try await env.engine.reconcileAll().planned == 0)
        }
    }

    @Test("a lost response on createUser does not duplicate the user", arguments: LedgerKind.allCases)
    func lostResponse(ledgerKind: LedgerKind) async throws {
        let shot = OneShot()
        try await withEngineEnvironment(ledgerKind, hooks: { sandbox in
            SyncHooks(
                willWrite: { action in
                    if case .createUser = action.kind, await shot.fire() {
                        await shot.setActive(true)
                        await sandbox.setFaults(FaultSettings(lostResponseRate: 1))
                    }
                },
                didWrite: { _ in
                    if await shot.active {
                        await sandbox.setFaults(FaultSettings())
                        await shot.setActive(false)
                    }
                })
        }) { env in
            let report = try await env.engine.reconcileAll()
            #expect(await shot.fired)
            #expect(report.failures.isEmpty, "\(report.failures)")
            #expect(report.recovered == 1)
            #expect(report.executed["createUser"] == 9)
            let journal = try await env.journal()
            let recovered = try #require(journal.first { $0.action == "createUser" && ($0.error ?? "").contains("response lost") })
            #expect(recovered.status == .succeeded)
            let memberID = try #require(recovered.memberID)
            let member = try #require(env.gym.members.first { $0.id == memberID })
            let users = try await env.users(withEmail: member.email.value)
            #expect(users.count == 1)
            #expect(users.first?["id"] as? Int == recovered.kisiObjectID)
            #expect(try await env.ledger.links().users[memberID] == recovered.kisiObjectID)
            try await env.expectOracleAgrees()
            #expect(try await env.engine.reconcileAll().planned == 0)
        }
    }

    @Test("an unfinished journal entry makes the next run look before creating again", arguments: LedgerKind.allCases)
    func unfinishedJournalEntry(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind) { env in
            // A previous process created the user of member 0 in Kisi and died before finishing its entry.
            let member = env.gym.members[0]
            let user = try await env.client.createUser(KisiUserCreate(email: member.email.value, name: member.fullName))
            _ = try await env.ledger.beginWrite(SyncWriteIntent(
                action: "createUser", kisiObjectType: "user", memberID: member.id, trigger: "test", actor: "sync",
                reason: "crashed mid-call", requestJSON: "{}"))
            let report = try await env.engine.reconcileAll()
            #expect(report.failures.isEmpty)
            #expect(try await env.users(withEmail: member.email.value).count == 1)
            #expect(try await env.ledger.links().users[member.id] == user.id)
            #expect(try await env.ledger.unfinishedWrites().isEmpty)
            try await env.expectOracleAgrees()
        }
    }

    @Test("401 pauses the run; after the key is restored the next run completes", arguments: LedgerKind.allCases)
    func unauthorizedPauses(ledgerKind: LedgerKind) async throws {
        let shot = OneShot()
        try await withEngineEnvironment(ledgerKind, hooks: { sandbox in
            SyncHooks(willWrite: { action in
                // Revoke the key in the middle of the run: after the groups exist, before the users.
                if case .createUser = action.kind, await shot.fire() {
                    try? await sandbox.load(seed: .demoSeed(apiKey: "some-other-key"))
                }
            })
        }) { env in
            let paused = try await env.engine.reconcileAll()
            #expect(paused.isPaused)
            #expect(paused.notRun > 0)
            #expect(try await env.engine.pausedReason() != nil)
            let journal = try await env.journal()
            #expect(journal.contains { $0.status == .failed && $0.kisiStatus == 401 })
            #expect(journal.allSatisfy { $0.status != .pending })

            // Still revoked: the next run pauses at once, during observation, and writes nothing.
            let again = try await env.engine.reconcileAll()
            #expect(again.isPaused)
            #expect(again.kisiWrites == 0)

            try await env.sandbox.load(seed: .demoSeed())
            let resumed = try await env.engine.reconcileAll()
            #expect(!resumed.isPaused)
            #expect(resumed.failures.isEmpty, "\(resumed.failures)")
            #expect(try await env.engine.pausedReason() == nil)
            try await env.expectOracleAgrees()
            #expect(try await env.engine.reconcileAll().planned == 0)
        }
    }

    @Test("the brake holds a mass revocation, lets a single one through, and executes approved ones", arguments: LedgerKind.allCases)
    func brake(ledgerKind: LedgerKind) async throws {
        // No floor: this small gym's three revocations would otherwise be under the default five.
        try await withEngineEnvironment(ledgerKind, brake: RevocationBrake(minimumCount: 1)) { env in
            _ = try await env.engine.reconcileAll()
            let links = try await env.ledger.links()
            func cancel(_ index: Int) async throws {
                let member = env.gym.members[index]
                _ = try await env.repository.cancel(try #require(env.gym.subscriptionOf[member.id]).id, effectiveDate: env.gym.today)
            }
            // One person: flows, whatever the share (1 of 9 grants is over 10 %).
            try await cancel(0)
            let single = try await env.engine.reconcileAll()
            #expect(single.heldRevocations.isEmpty)
            #expect(single.executed["removeGrant"] == 1)
            #expect(try await env.oracle(userID: try #require(links.users[env.gym.members[0].id]), lockID: 5001) == false)

            // Three people at once out of eight grants: held.
            for index in [1, 2, 3] { try await cancel(index) }
            let held = try await env.engine.reconcileAll()
            #expect(held.heldRevocations.count == 3)
            #expect(held.brakeExplanation != nil)
            #expect(held.executed["removeGrant"] == nil)
            #expect(held.kisiWrites == 0)
            for index in [1, 2, 3] {
                #expect(try await env.oracle(userID: try #require(links.users[env.gym.members[index].id]), lockID: 5001))
            }
            #expect(try await env.engine.heldRevocations().count == 3)

            #expect(try await env.engine.approveHeldRevocations() == 3)
            let approved = try await env.engine.reconcileAll()
            #expect(approved.heldRevocations.isEmpty)
            #expect(approved.executed["removeGrant"] == 3)
            #expect(try await env.engine.heldRevocations().isEmpty)
            try await env.expectOracleAgrees()
        }
    }

    @Test("the running service carries out approved revocations within a poll, not at the next periodic reconcile", arguments: LedgerKind.allCases)
    func serviceExecutesApprovalPromptly(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind, brake: RevocationBrake(minimumCount: 1)) { env in
            _ = try await env.engine.reconcileAll()
            let links = try await env.ledger.links()
            for index in [1, 2, 3] {
                let member = env.gym.members[index]
                _ = try await env.repository.cancel(try #require(env.gym.subscriptionOf[member.id]).id, effectiveDate: env.gym.today)
            }
            #expect(try await env.engine.reconcileAll().heldRevocations.count == 3)
            // A periodic reconcile far in the future: only the approval can make the service act.
            let service = SyncService(
                engine: env.engine, repository: env.repository, ledger: env.ledger, pollInterval: .milliseconds(50),
                fullReconcileInterval: .seconds(3600))
            try await withThrowingTaskGroup(of: Void.self) { group in
                // The reconcile time is kept to the second: step past it so the service's own start-up
                // reconcile is told apart from the one above.
                try await Task.sleep(for: .milliseconds(1100))
                let before = try await env.ledger.syncState.get(.lastFullReconcileAt)
                group.addTask { try await service.run() }
                // Let the service's start-up reconcile finish (and hold the revocations again) first.
                #expect(try await eventually { try await env.ledger.syncState.get(.lastFullReconcileAt) != before })
                #expect(try await env.engine.heldRevocations().count == 3)
                #expect(try await env.engine.approveHeldRevocations() == 3)
                let revoked = try await eventually {
                    var anyDoorOpens = false
                    for index in [1, 2, 3] {
                        anyDoorOpens = try await env.oracle(userID: try #require(links.users[env.gym.members[index].id]), lockID: 5001) || anyDoorOpens
                    }
                    return try await env.engine.heldRevocations().isEmpty && !anyDoorOpens
                }
                #expect(revoked)
                group.cancelAll()
                try await group.waitForAll()
            }
            try await env.expectOracleAgrees()
        }
    }

    @Test("a long run yields to newer changes after its revocations, and the set-aside work resumes minus what was re-planned", arguments: LedgerKind.allCases)
    func yieldAndResume(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind) { env in
            let checks = Counter()
            let yieldOnThirdCheck = SyncYield(interval: .zero) { await checks.increment() >= 3 }
            let first = try await env.engine.reconcileAll(trigger: "initial", yield: yieldOnThirdCheck)
            #expect(first.deferred > 0)
            #expect(first.executedTotal == 2)  // two actions ran before the third check said "yield"
            let setAside = await env.engine.deferred
            #expect(setAside.allSatisfy { $0.priority > .revocation })

            // A member whose grant was set aside is frozen meanwhile; a change-driven run handles them.
            let frozen = try #require(env.gym.members.first { member in
                setAside.contains { if case .createGrant = $0.kind { $0.memberID == member.id } else { false } }
            })
            _ = try await env.repository.freeze(
                try #require(env.gym.subscriptionOf[frozen.id]).id,
                span: DateSpan(first: env.gym.today, last: env.gym.today.adding(days: 6)))
            _ = try await env.engine.reconcile(memberIDs: [frozen.id])
            #expect(await env.engine.deferred.allSatisfy { $0.memberID != frozen.id })

            let resumed = try #require(try await env.engine.resumeDeferred())
            #expect(resumed.failures.isEmpty)
            #expect(resumed.deferred == 0)
            #expect(await env.engine.hasDeferredWork == false)
            #expect(try await env.engine.resumeDeferred() == nil)
            try await env.expectOracleAgrees()
            #expect(try await env.engine.reconcileAll().planned == 0)
        }
    }

    @Test("the service reconciles a freeze committed during a long full reconcile before finishing that reconcile", arguments: LedgerKind.allCases)
    func serviceYieldsToFreeze(ledgerKind: LedgerKind) async throws {
        // Every Kisi write waits, as at Kisi's real pace, so the start-up reconcile is still granting
        // when the freeze is committed.
        let slowWrites: @Sendable (KisiSandbox) -> SyncHooks = { _ in
            SyncHooks(willWrite: { _ in try? await Task.sleep(for: .milliseconds(300)) })
        }
        try await withEngineEnvironment(ledgerKind, hooks: slowWrites) { env in
            let service = SyncService(
                engine: env.engine, repository: env.repository, ledger: env.ledger, pollInterval: .milliseconds(50),
                fullReconcileInterval: .seconds(3600), yieldCheckInterval: .milliseconds(50))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                // The first member whose door opens is frozen at once, while the other grants are pending.
                let active = Array(env.gym.members[0..<8])
                var opened: (member: Member, user: Int)?
                #expect(try await eventually {
                    let links = try await env.ledger.links()
                    for member in active {
                        guard let user = links.users[member.id], try await env.oracle(userID: user, lockID: 5001) else { continue }
                        opened = (member, user)
                        return true
                    }
                    return false
                })
                let (frozen, kisiUser) = try #require(opened)
                _ = try await env.repository.freeze(
                    try #require(env.gym.subscriptionOf[frozen.id]).id,
                    span: DateSpan(first: env.gym.today, last: env.gym.today.adding(days: 6)))
                #expect(try await eventually { try await !env.oracle(userID: kisiUser, lockID: 5001) })
                #expect(try await eventually {
                    try await env.ledger.syncState.get(.lastFullReconcileAt) != nil
                })
                group.cancelAll()
                try await group.waitForAll()

                // The revocation reached Kisi before the start-up reconcile's last grant.
                let journal = try await env.journal()
                let revoked = try #require(journal.firstIndex { $0.action == "removeGrant" && $0.memberID == frozen.id })
                let lastGrant = try #require(journal.lastIndex { $0.action == "createGrant" })
                #expect(revoked < lastGrant)
            }
            try await env.expectOracleAgrees()
        }
    }
}
