import AccessSync
import Foundation
import GymApp
import GymStore
import KisiSandbox
import Logging
import Testing

@Suite("boogyman sync --once")
struct SyncOnceTests {
    @Test("A one-off reconcile refuses while a server leads the sync, and otherwise runs under the lease and gives it back")
    func oneOffReconcileRespectsTheLease() async throws {
        let logger = {
            var logger = Logger(label: "boogyman.sync-once-tests")
            logger.logLevel = .warning
            return logger
        }()
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: .demoSeed(), requestsPerSecond: 0, logger: logger))
        try await sandbox.withRunningServer { kisiPort in
            let masterKey = MasterKey.generate()
            let configuration = AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteInMemory, logLevel: .warning, masterKey: masterKey)
            let database = try await GymServer.openDatabase(configuration, logger: logger)
            let repository = database.repository
            try await repository.saveKisiSettings(
                KisiSettings(apiKey: SandboxSeed.demoAPIKey, organizationID: 1, baseURL: "http://127.0.0.1:\(kisiPort)"), masterKey: masterKey)
            let engine = try #require(try await KisiConnection.engine(repository: repository, masterKey: masterKey, logger: logger))

            let server = try #require(try await repository.acquireLease(name: SyncLeadership.defaultLeaseName, holder: "replica-a", ttl: .seconds(60)))
            do {
                _ = try await KisiConnection.reconcileOnceUnderLease(engine: engine, repository: repository)
                Issue.record("ran beside a live leader")
            } catch let refusal as KisiConnection.LeaseRefusal {
                #expect(refusal.message.contains("replica-a"))
            }
            #expect(try await repository.lease(name: SyncLeadership.defaultLeaseName)?.token == server.token, "the leader kept its lease")

            try await repository.releaseLease(name: SyncLeadership.defaultLeaseName, holder: "replica-a", token: server.token)
            let report = try await KisiConnection.reconcileOnceUnderLease(engine: engine, repository: repository)
            #expect(report.failures.isEmpty && report.pausedReason == nil)
            // Given back at once: a server starting now leads without waiting for the lease to expire.
            let next = try await repository.acquireLease(name: SyncLeadership.defaultLeaseName, holder: "replica-b", ttl: .seconds(60))
            #expect(next?.token == server.token + 2)
            await database.shutdown()
        }
    }
}
