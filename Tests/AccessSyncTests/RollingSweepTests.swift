import Foundation
import GymCore
import GymStore
import KisiAPI
import KisiSandbox
import Logging
import ServiceLifecycle
import Testing
@testable import AccessSync

/// Whether changes wait, as the sweep's pacer asks it.
actor WaitingFlag {
    var value: Bool
    init(_ value: Bool) { self.value = value }
    func set(_ value: Bool) { self.value = value }
}

@Suite("Rolling sweep: drift repair that leaves changes their share of Kisi", .serialized)
struct RollingSweepTests {
    /// The grant of `member` in the sandbox, by BooGYMan's own key (as staff would delete it in Kisi's dashboard).
    func grants(of userID: Int, _ env: EngineEnvironment) async throws -> [KisiRoleAssignment] {
        var found: [KisiRoleAssignment] = []
        for try await page in env.client.allRoleAssignments(filter: KisiRoleAssignmentFilter(assignee: .user(id: userID))).pages {
            found += page.items.filter { if case .group = $0.appliesTo { true } else { false } }
        }
        return found
    }

    @Test("a sweep repairs what it read, except for members another run wrote for while it was reading", arguments: LedgerKind.allCases)
    func repairsAndSparesTouchedMembers(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind) { env in
            #expect(try await env.engine.reconcileAll().failures.isEmpty)
            // Drift: a grant deleted by hand in Kisi.
            let drifted = env.gym.members[0]
            let driftedUser = try #require(try await env.ledger.links().users[drifted.id])
            for grant in try await grants(of: driftedUser, env) { _ = try await env.client.deleteRoleAssignment(id: grant.id) }
            #expect(try await !env.oracle(userID: driftedUser, lockID: 5001))
            // A member who buys a plan: not in Kisi when the sweep reads.
            let newcomer = try await env.repository.createMember(MemberDraft(
                firstName: "New", lastName: "Comer", email: "sweep-newcomer@engine-test.example"))
            _ = try await env.repository.createSubscription(SubscriptionDraft(
                memberID: newcomer.id, planID: env.gym.unlimited.id, startDate: env.gym.today, paidThrough: env.gym.today.adding(days: 30)))

            let meter = KisiCallMeter()
            let sweep = try await env.engine.observeForSweep(pace: {}, onEstimate: { _ in }, meter: meter)
            #expect(sweep.reads > 0)
            // The change loop gets there first: user and grant created after the sweep's reads.
            let change = try await env.engine.reconcile(memberIDs: [newcomer.id])
            #expect(change.executed == ["createUser": 1, "createGrant": 1])

            let report = try #require(try await env.engine.applySweep(sweep))
            // Only the drift is repaired: the sweep's reads missed the newcomer's user and grant, and a
            // sweep acting on them would create both a second time.
            #expect(report.executed == ["createGrant": 1])
            #expect(report.failures.isEmpty)
            #expect(report.kisiReads >= sweep.reads)
            #expect(try await env.oracle(userID: driftedUser, lockID: 5001))
            let creates = try await env.journal().filter { $0.memberID == newcomer.id && $0.action == "createUser" }
            #expect(creates.count == 1)
            let verified = try #require(try await env.ledger.syncState.get(.allMembersVerifiedAt))
            #expect(abs(verified.timeIntervalSince(sweep.startedAt)) < 1.5)
            try await env.expectOracleAgrees()
            #expect(try await env.engine.reconcileAll().planned == 0)
        }
    }

    @Test("a sweep whose reads a full reconcile overtook acts on nothing", arguments: [LedgerKind.gymStore])
    func overtakenSweepDoesNothing(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind) { env in
            #expect(try await env.engine.reconcileAll().failures.isEmpty)
            let member = env.gym.members[2]
            let userID = try #require(try await env.ledger.links().users[member.id])
            let sweep = try await env.engine.observeForSweep(pace: {}, onEstimate: { _ in }, meter: KisiCallMeter())
            // After the reads, the member leaves; a full reconcile removes the grant.
            try await env.repository.deleteMember(member.id)
            #expect(try await env.engine.reconcileAll().executed["removeGrant"] == 1)
            // Acting on the stale reads would plan that removal again; the sweep steps back instead.
            #expect(try await env.engine.applySweep(sweep) == nil)
            #expect(try await !env.oracle(userID: userID, lockID: 5001))
            // Its watch ended with it: the next sweep acts.
            let next = try await env.engine.observeForSweep(pace: {}, onEstimate: { _ in }, meter: KisiCallMeter())
            #expect(try await env.engine.applySweep(next)?.planned == 0)
        }
    }

    @Test("the service's rolling sweep repairs a grant deleted by hand and says when every member was last verified")
    func serviceSweepRepairsDrift() async throws {
        try await withEngineEnvironment(.gymStore) { env in
            let service = SyncService(
                engine: env.engine, repository: env.repository, ledger: env.ledger, pollInterval: .milliseconds(50),
                fullReconcileInterval: .seconds(1), sweepShare: 0.2)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                // The full reconcile records its end and then the members' verification: wait for the second.
                #expect(try await eventually { try await env.ledger.syncState.get(.allMembersVerifiedAt) != nil })
                #expect(try await env.ledger.syncState.get(.lastFullReconcileAt) != nil)
                let firstVerified = try #require(try await env.ledger.syncState.get(.allMembersVerifiedAt))
                let member = env.gym.members[3]
                let userID = try #require(try await env.ledger.links().users[member.id])
                for grant in try await grants(of: userID, env) { _ = try await env.client.deleteRoleAssignment(id: grant.id) }
                #expect(try await eventually(within: .seconds(60)) { try await env.oracle(userID: userID, lockID: 5001) })
                #expect(try await eventually(within: .seconds(60)) {
                    let status = try await env.ledger.syncState.get(.sweep)
                    return status?.lastFinishedAt != nil && (status?.lastReads ?? 0) > 0
                })
                #expect(try await eventually(within: .seconds(30)) {
                    (try await env.ledger.syncState.get(.allMembersVerifiedAt)).map { $0 > firstVerified } ?? false
                })
                group.cancelAll()
                try await group.waitForAll()
            }
            let journal = try await env.journal()
            #expect(journal.contains { $0.trigger == "rolling sweep" && $0.action == "createGrant" })
            try await env.expectOracleAgrees()
        }
    }

    @Test("while changes wait, the sweep's reads are spaced to its share of the key's rate")
    func pacerSpacesReadsWhileChangesWait() async throws {
        let waiting = WaitingFlag(true)
        // 20% of 50 requests a second: one read every 100 ms while changes wait.
        let pacer = SweepPacer(share: 0.2, requestsPerSecond: 50) { await waiting.value }
        #expect(pacer.minimumGap == .milliseconds(100))
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<4 { try await pacer.beforeRead() }
        #expect(clock.now - start >= .milliseconds(300))
    }
}

@Suite("Sync service: graceful shutdown")
struct SyncShutdownTests {
    @Test("a graceful shutdown stops a long full reconcile between two actions and sets the rest aside, instead of holding the process until it ends")
    func shutdownSetsLongRunAside() async throws {
        try await withEngineEnvironment(.gymStore) { env in
            // Each Kisi call takes 400 ms: the start-up full reconcile's 15 or so writes would take seconds.
            await env.sandbox.setFaults(FaultSettings(latencyMs: 400))
            let service = SyncService(engine: env.engine, repository: env.repository, ledger: env.ledger, pollInterval: .milliseconds(50))
            let group = ServiceGroup(services: [service], logger: Logger(label: "shutdown-test"))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                // Shut down once the run has begun writing.
                #expect(try await eventually { try await env.journal().contains { $0.action == "createGrant" } })
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            await env.sandbox.setFaults(FaultSettings())
            let written = try await env.journal().filter { $0.action == "createGrant" }.count
            let planned = env.gym.members.prefix(8).count  // members 0–7 hold a grant today
            #expect(written < planned, "the run went on after the shutdown")
            #expect(await env.engine.hasDeferredWork)
            // Nothing is lost: the next start's full reconcile does the rest.
            #expect(try await env.engine.reconcileAll().failures.isEmpty)
            try await env.expectOracleAgrees()
        }
    }
}
