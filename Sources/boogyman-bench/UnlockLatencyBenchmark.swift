import AccessSync
import ArgumentParser
import Foundation
import GymStore
import KisiSandbox
import Logging

/// "Unlock" as staff press it: the page's call into ``LiveSyncControl/unlock(_:)``, which queues a command
/// for the sync leader, is claimed by the leader's ``SyncCommandProcessor``, sent to Kisi (the sandbox,
/// paced at 5 requests/second) under the leader's fence, and answered back. Measured from the call to its
/// answer, on one replica (the leader's own page: the bell wakes the command loop) and on a standby
/// replica (another connection pool to the same PostgreSQL: the leader finds the command by polling).
struct UnlockLatency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock-latency",
        abstract: "Click → Kisi unlock → answer, through the sync leader, on one replica and on a standby.")

    @Option(help: "Unlocks per case.")
    var samples: Int = 60

    @Option(help: "PostgreSQL URL of an empty database for the standby case (a user that may create tables); without it only the one-replica case runs.")
    var postgresURL: String?

    mutating func validate() throws {
        guard (1...10_000).contains(samples) else { throw ValidationError("--samples must be in 1...10000") }
    }

    func run() async throws {
        let quiet = Logger(label: "boogyman-bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: .demoSeed(), requestsPerSecond: 5, logger: quiet))
        try await sandbox.withRunningServer { port in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("boogyman-unlock-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let sqlite = DatabaseLocation.sqliteFile(path: directory.appendingPathComponent("gym.sqlite").path)
            try await measureDirect(database: .sqliteFile(path: directory.appendingPathComponent("direct.sqlite").path), kisiPort: port, logger: quiet)
            try await measure("one replica, SQLite file", leader: sqlite, requester: nil, kisiPort: port, logger: quiet)
            if let postgresURL {
                try await measure("one replica, PostgreSQL", leader: .postgres(url: postgresURL), requester: nil, kisiPort: port, logger: quiet)
                try await measure(
                    "standby replica, PostgreSQL", leader: .postgres(url: postgresURL), requester: .postgres(url: postgresURL), kisiPort: port,
                    logger: quiet)
            }
        }
    }

    /// The baseline: the page's own client calling Kisi directly (how unlocks were sent before they went
    /// through the leader), with the same shared pacing.
    func measureDirect(database location: DatabaseLocation, kisiPort: Int, logger: Logger) async throws {
        let database = try GymDatabase(location: location, logger: logger)
        try await database.migrate()
        let settings = KisiSettings(apiKey: SandboxSeed.demoAPIKey, organizationID: 1, baseURL: "http://127.0.0.1:\(kisiPort)")
        let engine = try KisiConnector.engine(settings: settings, repository: database.repository, logger: logger, sharedPacing: true)
        var latencies: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<samples {
            let clicked = clock.now
            _ = try await engine.client.unlock(lockID: 5001)
            let elapsed = clock.now - clicked
            latencies.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
            try await Task.sleep(for: .milliseconds(300))
        }
        await database.shutdown()
        report("baseline: direct Kisi call from the page, SQLite file (no leader, no journal)", latencies, extra: "")
    }

    func report(_ label: String, _ latencies: [Double], extra: String) {
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)] }
        print(String(format: "%@: %d unlocks, p50 %.1f ms, p95 %.1f ms, max %.1f ms", label, sorted.count, percentile(0.5), percentile(0.95), sorted.last ?? 0) + extra)
    }

    /// `requester` nil: the page runs in the leader's process; else in another replica over its own pool.
    func measure(_ label: String, leader: DatabaseLocation, requester: DatabaseLocation?, kisiPort: Int, logger: Logger) async throws {
        let leaderDatabase = try GymDatabase(location: leader, logger: logger)
        try await leaderDatabase.migrate()
        let requesterDatabase = try requester.map { try GymDatabase(location: $0, logger: logger) }
        let masterKey = MasterKey.generate()
        let repository = leaderDatabase.repository
        let settings = KisiSettings(apiKey: SandboxSeed.demoAPIKey, organizationID: 1, baseURL: "http://127.0.0.1:\(kisiPort)")
        try await repository.saveKisiSettings(settings, masterKey: masterKey)
        let holder = "bench leader \(UUID().uuidString.prefix(8))"
        guard let lease = try await repository.acquireLease(name: SyncLeadership.defaultLeaseName + "-bench", holder: holder, ttl: .seconds(600)) else {
            throw ValidationError("the bench lease is taken")
        }
        let engine = try KisiConnector.engine(settings: settings, repository: repository, logger: logger, sharedPacing: true)
        let fenced = SyncEngine(
            client: engine.client, repository: repository, ledger: GymStoreSyncLedger(repository: repository, fence: lease.fence),
            configuration: await engine.configuration)
        let leaderBell = SyncCommandBell()
        let processor = SyncCommandProcessor(engine: fenced, repository: repository, fence: lease.fence, bell: leaderBell, logger: logger)
        let control: LiveSyncControl
        if let requesterDatabase {
            let standbyEngine = try KisiConnector.engine(settings: settings, repository: requesterDatabase.repository, logger: logger, sharedPacing: true)
            // Its own bell: nothing in the standby's process listens to it, as in production.
            control = LiveSyncControl(engines: CurrentSyncEngine(standbyEngine), repository: requesterDatabase.repository, masterKey: masterKey)
        } else {
            control = LiveSyncControl(engines: CurrentSyncEngine(engine), repository: repository, masterKey: masterKey, bell: leaderBell)
        }
        let samples = self.samples
        let started = Date()
        let latencies: [Double] = try await withThrowingTaskGroup(of: [Double]?.self) { group in
            group.addTask {
                try await processor.run()
                return nil
            }
            group.addTask {
                var latencies: [Double] = []
                let clock = ContinuousClock()
                for _ in 0..<samples {
                    let clicked = clock.now
                    _ = try await control.unlock(SyncCommand.UnlockRequest(lockID: 5001, actor: "staff:bench@gym.example", reason: "benchmark"))
                    let elapsed = clock.now - clicked
                    latencies.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
                    // A front desk's pace, well inside Kisi's 5 requests a second.
                    try await Task.sleep(for: .milliseconds(300))
                }
                return latencies
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            return []
        }
        try await repository.releaseLease(name: lease.name, holder: holder, token: lease.token)
        let writes = try await repository.kisiWrites(KisiWriteFilter(action: "unlock_lock", from: started), PageRequest(limit: 500)).items
        let fencedWrites = writes.filter { $0.fencingToken == lease.token }.count
        await requesterDatabase?.shutdown()
        if case .postgres = leader {
            // Leave the database as found for the next case.
            try await repository.deleteFinishedSyncCommands(before: Date().addingTimeInterval(3600))
        }
        await leaderDatabase.shutdown()
        report(label, latencies, extra: "; \(fencedWrites) of \(writes.count) journalled unlock writes carry the leader's fence")
    }
}
