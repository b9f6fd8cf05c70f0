import AccessSync
import Foundation
import GymStore
import KisiAPI
import KisiSandbox
import Logging
import ServiceLifecycle
import SQLKit
import Synchronization
import Testing

/// Counts what a fake sync did, across tasks.
final class SyncProbe: Sendable {
    let state = Mutex<(runs: Int, running: Bool, tokens: [Int64])>((0, false, []))

    var running: Bool { state.withLock { $0.running } }
    var runs: Int { state.withLock { $0.runs } }
    var tokens: [Int64] { state.withLock { $0.tokens } }
}

/// Stands in for ``SyncService``: runs until cancelled or until graceful shutdown.
struct FakeSync: Service {
    let probe: SyncProbe
    let fence: LeaseFence

    func run() async throws {
        probe.state.withLock {
            $0.runs += 1
            $0.running = true
            $0.tokens.append(fence.token)
        }
        defer { probe.state.withLock { $0.running = false } }
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
    }
}

func waitFor(_ what: String, within limit: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + limit
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting until \(what)")
}

struct LeadershipTests {
    static var quiet: Logger {
        var logger = Logger(label: "leadership-tests")
        logger.logLevel = .critical
        return logger
    }

    @Test("The leader runs the sync while it holds the lease and stops it as soon as the lease is taken over")
    func leaderStopsOnTakeover() async throws {
        let database = try GymDatabase(location: .sqliteInMemory, logger: Self.quiet)
        try await database.migrate()
        let repository = database.repository
        let probe = SyncProbe()
        let leadership = SyncLeadership(
            repository: repository,
            configuration: .init(replicaID: "replica-a", ttl: .seconds(30), heartbeatInterval: .milliseconds(100)),
            logger: Self.quiet
        ) { fence in FakeSync(probe: probe, fence: fence) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await leadership.run() }
            try await waitFor("the sync runs under token 1") { probe.running }
            #expect(probe.tokens == [1])
            #expect(try await repository.leaseStatus(name: SyncLeadership.defaultLeaseName)?.lease.holder == "replica-a")

            // Another replica takes the lease over (as after an expiry): the next heartbeat notices.
            let clock = ContinuousClock()
            let takenAt = clock.now
            try await (database.database as! any SQLDatabase).raw(
                "UPDATE sync_leases SET holder = 'replica-b', token = token + 1, expires_at_ms = expires_at_ms + 60000").run()
            try await waitFor("the sync stops") { !probe.running }
            // A heartbeat noticed it: giving up after failed renewals would take the TTL (30 s).
            #expect(clock.now - takenAt < .seconds(10))
            // And it does not start again while replica-b holds the lease.
            try await Task.sleep(for: .milliseconds(300))
            #expect(probe.runs == 1)
            group.cancelAll()
        }
        await database.shutdown()
    }

    @Test("On graceful shutdown the leader lets its sync finish and releases the lease, so a standby need not wait for it to expire")
    func gracefulShutdownReleases() async throws {
        let database = try GymDatabase(location: .sqliteInMemory, logger: Self.quiet)
        try await database.migrate()
        let repository = database.repository
        let probe = SyncProbe()
        let leadership = SyncLeadership(
            repository: repository,
            configuration: .init(replicaID: "replica-a", ttl: .seconds(30), heartbeatInterval: .milliseconds(100)),
            logger: Self.quiet
        ) { fence in FakeSync(probe: probe, fence: fence) }
        let group = ServiceGroup(services: [leadership], logger: Self.quiet)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await waitFor("the sync runs") { probe.running }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(!probe.running)
        #expect(try await repository.leaseStatus(name: SyncLeadership.defaultLeaseName)?.live == false)
        let next = try #require(try await repository.acquireLease(name: SyncLeadership.defaultLeaseName, holder: "replica-b", ttl: .seconds(30)))
        #expect(next.token == 2)
        await database.shutdown()
    }

    @Test("A standby replica takes over with a higher token once the leader stops renewing")
    func standbyTakesOver() async throws {
        let database = try GymDatabase(location: .sqliteInMemory, logger: Self.quiet)
        try await database.migrate()
        let repository = database.repository
        // The crashed leader: a lease nobody renews.
        let dead = try #require(try await repository.acquireLease(name: SyncLeadership.defaultLeaseName, holder: "crashed", ttl: .seconds(30)))
        let probe = SyncProbe()
        let standby = SyncLeadership(
            repository: repository,
            configuration: .init(replicaID: "replica-b", ttl: .seconds(6), heartbeatInterval: .milliseconds(100)),
            logger: Self.quiet
        ) { fence in FakeSync(probe: probe, fence: fence) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await standby.run() }
            try await Task.sleep(for: .milliseconds(300))
            #expect(!probe.running, "the standby must not lead while the crashed leader's lease runs")
            // The lease runs out (as it does TTL after the crash; forced here so test timing cannot matter).
            try await (database.database as! any SQLDatabase)
                .raw("UPDATE sync_leases SET expires_at_ms = expires_at_ms - 3600000").run()
            try await waitFor("the standby leads") { probe.running }
            #expect(probe.tokens == [dead.token + 1])
            group.cancelAll()
        }
        await database.shutdown()
    }

    @Test("A replica whose lease was taken over is fenced out of a reconcile and sends Kisi no write")
    func fencedReplicaWritesNothing() async throws {
        try await withEngineEnvironment(.gymStore) { env in
            let repository = env.repository
            let name = SyncLeadership.defaultLeaseName
            // Leases far longer than the test: only the takeover below may end replica-a's, never a slow machine.
            let old = try #require(try await repository.acquireLease(name: name, holder: "replica-a", ttl: .seconds(3600)))
            // Its lease runs out (released here rather than slept through, so test timing cannot matter).
            try await repository.releaseLease(name: name, holder: "replica-a", token: old.token)
            let new = try #require(try await repository.acquireLease(name: name, holder: "replica-b", ttl: .seconds(3600)))
            #expect(new.token == old.token + 1)

            let usersBefore = try await env.client.users().items.map(\.id)
            let writes = Mutex(0)
            let ledger = GymStoreSyncLedger(repository: repository, fence: old.fence)
            let stale = SyncEngine(
                client: env.client, repository: repository, ledger: ledger,
                configuration: .init(hooks: SyncHooks(willWrite: { _ in writes.withLock { $0 += 1 } }), logger: Self.quiet))
            await #expect(throws: FencingError.self) { _ = try await stale.reconcileAll(trigger: "stale replica") }
            #expect(writes.withLock { $0 } == 0)
            #expect(try await env.journal().isEmpty)
            #expect(try await env.client.users().items.map(\.id) == usersBefore)
            #expect(try await repository.syncState.get(.lastProcessedChangeID) == nil)

            // The current leader's engine, same everything but the fence, does the work.
            let current = SyncEngine(
                client: env.client, repository: repository, ledger: GymStoreSyncLedger(repository: repository, fence: new.fence),
                configuration: .init(hooks: SyncHooks(willWrite: { _ in writes.withLock { $0 += 1 } }), logger: Self.quiet))
            let report = try await current.reconcileAll(trigger: "leader")
            #expect(report.failures.isEmpty)
            #expect(writes.withLock { $0 } > 0)
            try await env.expectOracleAgrees()
        }
    }
}
