import Foundation
import GymAdmin
import GymApp
import GymCore
import GymStore
import Hummingbird
import HummingbirdTesting
import KisiSandbox
import Logging
import Testing

@Suite("Admin UI: Kisi pages")
struct KisiPagesTests {
    @Test("The owner connects Kisi with the wizard, sees its places and locks, and a manager's unlock is audited")
    func connectAndUnlock() async throws {
        let logger = {
            var logger = Logger(label: "boogyman.admin-kisi-tests")
            logger.logLevel = .warning
            return logger
        }()
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: .demoSeed(), requestsPerSecond: 0, logger: logger))
        try await sandbox.withRunningServer { kisiPort in
            let configuration = AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteInMemory, masterKey: MasterKey.generate())
            let database = try await GymServer.openDatabase(configuration, logger: logger)
            _ = try await database.repository.createStaff(
                email: AdminBrowser.ownerEmail, name: "Olga Owner", role: .owner, passwordHash: StaffPasswords.hash(AdminBrowser.password))
            // As `serve` runs: the connection made in the wizard is adopted and led, and the unlock goes to the leader.
            let app = GymServer.application(configuration, database: database, followsStoredKisiConnection: true, logger: logger)
            try await app.test(.live) { client in
                let browser = AdminBrowser(client: client, repository: database.repository)
                try await browser.signIn(AdminBrowser.ownerEmail)
                let csrf = try await browser.sessionCSRF()
                let kisiURL = "http://127.0.0.1:\(kisiPort)"

                let refused = try await browser.post("/admin/settings/kisi", ["csrf": csrf, "api_key": "wrong key", "base_url": kisiURL])
                #expect(refused.status == .unprocessableContent)
                #expect(refused.body.contains("Kisi did not accept it"))
                #expect(!refused.body.contains("wrong key"), "the typed key is not echoed back")
                #expect(try await database.repository.kisiSettings(masterKey: configuration.masterKey!) == nil)

                let connected = try await browser.post("/admin/settings/kisi", ["csrf": csrf, "api_key": SandboxSeed.demoAPIKey, "base_url": kisiURL])
                #expect(connected.status == .ok)
                #expect(connected.body.contains("Kisi is connected"))
                #expect(connected.body.contains("(5001)"), "the wizard lists the organization's locks")
                #expect(connected.body.replacingOccurrences(of: "&#39;", with: "'")
                    .contains("✓ <strong>Key rights</strong>: The key's user holds Kisi's organization owner role"), "\(connected.body)")
                #expect(connected.body.contains("anywhere in the organization"), "the wizard says what the key may do")
                #expect(connected.body.contains("It can register a webhook"))
                #expect(connected.body.contains("✓ <strong>Doors&#39; locks exist</strong>") || connected.body.contains("✓ <strong>Doors' locks exist</strong>"))
                #expect(connected.body.contains("✗ <strong>Webhook</strong>"), "no public address given, so no webhook")
                #expect(!connected.body.contains(SandboxSeed.demoAPIKey), "the stored key never appears on a page")
                #expect(try await database.repository.kisiSettings(masterKey: configuration.masterKey!)?.apiKey == SandboxSeed.demoAPIKey)

                // The server adopts the new connection and starts leading it within seconds; an unlock before
                // that is refused ("no server answered"), never run late.
                var unlocked = try await browser.post("/admin/locks/5001/unlock", ["csrf": csrf])
                for _ in 0..<10 where unlocked.status == .badRequest && unlocked.body.contains("No BooGYMan server answered") {
                    try await Task.sleep(for: .seconds(1))
                    unlocked = try await browser.post("/admin/locks/5001/unlock", ["csrf": csrf])
                }
                #expect(unlocked.status == .seeOther)
                let audit = try await database.repository.kisiWrites(KisiWriteFilter(action: "unlock_lock")).items
                #expect(audit.map(\.status) == [.succeeded])
                #expect(audit.first?.actor == "staff:\(AdminBrowser.ownerEmail)")

                let unknown = try await browser.post("/admin/locks/999999/unlock", ["csrf": csrf])
                #expect(unknown.status == .badRequest)
                #expect(unknown.body.contains("Kisi does not know this door"))

                let disconnected = try await browser.post("/admin/settings/kisi/disconnect", ["csrf": csrf])
                #expect(disconnected.status == .seeOther)
                #expect(try await database.repository.kisiSettings(masterKey: configuration.masterKey!) == nil)
            }
        }
    }

    @Test("Connecting with a place administrator's key, the wizard names the key's places and says there will be no webhook")
    func connectWithPlaceAdministratorKey() async throws {
        let logger = {
            var logger = Logger(label: "boogyman.admin-kisi-tests")
            logger.logLevel = .warning
            return logger
        }()
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: .demoSeed(), requestsPerSecond: 0, logger: logger))
        let placeKey = try await sandbox.createAPIKey(.placeAdministrator(of: [1001, 1002]))
        try await sandbox.withRunningServer { kisiPort in
            let configuration = AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteInMemory, masterKey: MasterKey.generate())
            let database = try await GymServer.openDatabase(configuration, logger: logger)
            _ = try await database.repository.createStaff(
                email: AdminBrowser.ownerEmail, name: "Olga Owner", role: .owner, passwordHash: StaffPasswords.hash(AdminBrowser.password))
            let app = GymServer.application(configuration, database: database, logger: logger)
            try await app.test(.live) { client in
                let browser = AdminBrowser(client: client, repository: database.repository)
                try await browser.signIn(AdminBrowser.ownerEmail)
                let csrf = try await browser.sessionCSRF()
                let connected = try await browser.post(
                    "/admin/settings/kisi", ["csrf": csrf, "api_key": placeKey.secret, "base_url": "http://127.0.0.1:\(kisiPort)"])
                #expect(connected.status == .ok)
                let page = connected.body.replacingOccurrences(of: "&#39;", with: "'")
                #expect(page.contains("administers places Old Town and Floreasca"), "\(page)")
                #expect(page.contains("It cannot register a webhook"))
                #expect(page.contains("✓ <strong>Key rights</strong>: The key's user is the place administrator of Old Town and Floreasca"))
                #expect(page.contains("✗ <strong>Webhook</strong>: This key cannot register a webhook"))
                #expect(!page.contains("anywhere in the organization"))
                #expect(try await database.repository.kisiSettings(masterKey: configuration.masterKey!)?.apiKey == placeKey.secret)
            }
        }
    }

    @Test("A key whose rights Kisi does not reveal still connects, and the wizard says what the key may do is unknown")
    func connectWhenDiscoveryFails() async throws {
        let logger = {
            var logger = Logger(label: "boogyman.admin-kisi-tests")
            logger.logLevel = .warning
            return logger
        }()
        // A Kisi that answers the organization, places and locks but not GET /user, discovery's first call.
        let router = Router()
        @Sendable func json(_ text: String) -> Response {
            Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("organization") { _, _ in json(#"{"id": 7, "name": "Stub Gym"}"#) }
        router.get("places") { _, _ in json("[]") }
        router.get("locks") { _, _ in json("[]") }
        let kisi = Application(router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await kisi.test(.live) { kisiClient in
            let kisiPort = try #require(kisiClient.port)
            let configuration = AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteInMemory, masterKey: MasterKey.generate())
            let database = try await GymServer.openDatabase(configuration, logger: logger)
            _ = try await database.repository.createStaff(
                email: AdminBrowser.ownerEmail, name: "Olga Owner", role: .owner, passwordHash: StaffPasswords.hash(AdminBrowser.password))
            let app = GymServer.application(configuration, database: database, logger: logger)
            try await app.test(.live) { client in
                let browser = AdminBrowser(client: client, repository: database.repository)
                try await browser.signIn(AdminBrowser.ownerEmail)
                let csrf = try await browser.sessionCSRF()
                let connected = try await browser.post(
                    "/admin/settings/kisi", ["csrf": csrf, "api_key": "stub-key", "base_url": "http://127.0.0.1:\(kisiPort)"])
                #expect(connected.status == .ok)
                let page = connected.body.replacingOccurrences(of: "&#39;", with: "'")
                #expect(page.contains("BooGYMan could not tell what this key may do"), "\(page)")
                #expect(page.contains("✗ <strong>Key rights</strong>"))
                #expect(try await database.repository.kisiSettings(masterKey: configuration.masterKey!)?.organizationID == 7)
            }
        }
    }
}
