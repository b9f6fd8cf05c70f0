import AccessSync
import Foundation
import GymApp
import GymCore
import GymStore
import Hummingbird
import HummingbirdTesting
import KisiSandbox
import Logging
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("boogyman demo --kisi-role", .serialized)
struct DemoKisiRoleTests {
    static var quiet: Logger {
        var logger = Logger(label: "boogyman.demo-kisi-role-tests")
        logger.logLevel = .critical
        return logger
    }

    /// `GET /_sandbox/stats`' count of answers with `status`.
    static func sandboxAnswers(status: Int, port: Int) async throws -> Int {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/_sandbox/stats")!)
        request.setValue("sandbox-admin", forHTTPHeaderField: "X-Sandbox-Admin-Key")
        let (data, _) = try await URLSession.shared.data(for: request)
        let root = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let byStatus = (root?["requests"] as? [String: Any])?["by_status"] as? [String: Any]
        return byStatus?[String(status)] as? Int ?? 0
    }

    @Test("Each role's key is made in the sandbox and connected, and what it may do is found out and kept", arguments: DemoKisiRole.allCases)
    func connectsWithRole(role: DemoKisiRole) async throws {
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: .demoSeed(), requestsPerSecond: 0, logger: Self.quiet))
        try await sandbox.withRunningServer { kisiPort in
            let masterKey = MasterKey.generate()
            let database = try await GymServer.openDatabase(
                AppConfiguration(database: .sqliteInMemory, masterKey: masterKey), logger: Self.quiet)
            let outcome = try await role.connect(
                sandbox: sandbox, kisiURL: "http://127.0.0.1:\(kisiPort)", instanceURL: nil, repository: database.repository,
                masterKey: masterKey, logger: Self.quiet)
            let settings = try #require(try await database.repository.kisiSettings(masterKey: masterKey))
            #expect(settings.apiKey == role.secret)
            #expect(settings.userCreationMode == .invitations)
            #expect(try await database.repository.syncState.get(SyncStateEntry<StoredKisiKeyRights>.kisiKeyRights)?.keyFingerprint == settings.keyFingerprint)
            switch role {
            case .administrator:
                #expect(outcome.rights.reach == .wholeOrganization && outcome.rights.canRegisterWebhook)
            case .accessManager:
                #expect(outcome.rights.reach == .wholeOrganization && !outcome.rights.canRegisterWebhook)
                #expect(outcome.keyRights.contains { $0.contains("access manager") })
            case .placeAdministrator:
                guard case .places(let places) = outcome.rights.reach else {
                    Issue.record("a place administrator's reach is its places, not \(outcome.rights.reach)")
                    return
                }
                #expect(places.map(\.name) == ["Old Town", "Floreasca"])
                #expect(outcome.rights.unlock?.covers(placeID: 1003) == false)
            }
            await database.shutdown()
        }
    }

    @Test("The server syncs the demo gym with an access manager's key, registers no webhook (it may not) and makes no call Kisi refuses")
    func accessManagerServerStaysWithinRights() async throws {
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: .demoSeed(), requestsPerSecond: 0, logger: Self.quiet))
        try await sandbox.withRunningServer { kisiPort in
            let masterKey = MasterKey.generate()
            let configuration = AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteInMemory, logLevel: .critical, masterKey: masterKey)
            let database = try await GymServer.openDatabase(configuration, logger: Self.quiet)
            let repository = database.repository
            let today = LocalDate(containing: Date(), in: TimeZone(identifier: "Europe/Bucharest")!)
            _ = try await DemoGym.seed(repository, today: today, memberCount: 12)
            _ = try await DemoKisiRole.accessManager.connect(
                sandbox: sandbox, kisiURL: "http://127.0.0.1:\(kisiPort)", instanceURL: "http://127.0.0.1:1", repository: repository,
                masterKey: masterKey, logger: Self.quiet)
            // Kept rights gone stale (as if the key's user had been an administrator when connecting): the sync
            // finds out afresh when it starts, so it does not try to register a webhook either.
            let settings = try #require(try await repository.kisiSettings(masterKey: masterKey))
            try await repository.syncState.set(SyncStateEntry<StoredKisiKeyRights>.kisiKeyRights, StoredKisiKeyRights(
                keyFingerprint: settings.keyFingerprint, discoveredAt: Date(),
                rights: KisiKeyRights(reach: .wholeOrganization, canRegisterWebhook: true, unlock: .organization, readEvents: .organization, lines: [])))
            let app = GymServer.application(configuration, database: database, followsStoredKisiConnection: true, logger: Self.quiet)
            try await app.test(.live) { _ in
                let clock = ContinuousClock()
                let deadline = clock.now + .seconds(120)
                while clock.now < deadline, try await repository.syncState.get(.lastFullReconcileAt) == nil {
                    try await Task.sleep(for: .milliseconds(200))
                }
                #expect(try await repository.syncState.get(.lastFullReconcileAt) != nil, "the start-up full reconcile finished")
                #expect(try await repository.syncState.get(.pausedReason) == nil)
                #expect(try await repository.syncState.get(.kisiWebhookIntegrationID) == nil, "no webhook registered")
                let kept = try await repository.syncState.get(SyncStateEntry<StoredKisiKeyRights>.kisiKeyRights)
                #expect(kept?.rights.canRegisterWebhook == false && kept?.rights.reach == .wholeOrganization, "the kept rights were found out afresh")
                #expect(try await Self.sandboxAnswers(status: 403, port: kisiPort) == 0, "no call outside the access manager's rights")
            }
            await database.shutdown()
        }
    }
}
