import AccessSync
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
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The demo gym's three clubs (Old Town 1001, Floreasca 1002, Cluj Centru 1003) connected with a place
/// administrator's key for Old Town and Floreasca only.
@Suite("Admin UI with a place administrator's Kisi key")
struct PlaceKeyPagesTests {
    /// `GET /_sandbox/stats`' count of answers with `status`.
    static func sandboxAnswers(status: Int, port: Int) async throws -> Int {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/_sandbox/stats")!)
        request.setValue("sandbox-admin", forHTTPHeaderField: "X-Sandbox-Admin-Key")
        let (data, _) = try await URLSession.shared.data(for: request)
        let root = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let byStatus = (root?["requests"] as? [String: Any])?["by_status"] as? [String: Any]
        return byStatus?[String(status)] as? Int ?? 0
    }

    @Test("Doors outside the key's places show why they cannot be unlocked instead of a button, a forced unlock is refused without asking Kisi, the health check names the clubs and studios outside, and door activity is read per place")
    func placeKeyPages() async throws {
        let logger = {
            var logger = Logger(label: "boogyman.place-key-pages")
            logger.logLevel = .warning
            return logger
        }()
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: .demoSeed(), requestsPerSecond: 0, logger: logger))
        let placeKey = try await sandbox.createAPIKey(.placeAdministrator(of: [1001, 1002]))
        try await sandbox.withRunningServer { kisiPort in
            let masterKey = MasterKey.generate()
            let configuration = AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteInMemory, masterKey: masterKey)
            let database = try await GymServer.openDatabase(configuration, logger: logger)
            let repository = database.repository
            let today = LocalDate(containing: Date(), in: TimeZone(identifier: "Europe/Bucharest")!)
            _ = try await DemoGym.seed(repository, today: today, memberCount: 0)
            // Stored as an installation connected before its key's rights were kept: the pages find them out.
            try await repository.saveKisiSettings(
                KisiSettings(apiKey: placeKey.secret, organizationID: 1, baseURL: "http://127.0.0.1:\(kisiPort)"), masterKey: masterKey)
            _ = try await repository.createStaff(
                email: AdminBrowser.ownerEmail, name: "Olga Owner", role: .owner, passwordHash: StaffPasswords.hash(AdminBrowser.password))
            let layout = try await repository.layout()
            let cluj = try #require(layout.clubs.values.first { $0.name == "Cluj Centru" })
            let oldTown = try #require(layout.clubs.values.first { $0.name == "Old Town" })
            // Someone at the door in each place, so that door activity has something to read.
            for lock in [5001, 5011, 5021] {
                var tap = URLRequest(url: URL(string: "http://127.0.0.1:\(kisiPort)/_sandbox/tap")!)
                tap.httpMethod = "POST"
                tap.setValue("sandbox-admin", forHTTPHeaderField: "X-Sandbox-Admin-Key")
                tap.setValue("application/json", forHTTPHeaderField: "Content-Type")
                tap.httpBody = Data(#"{"user_id": 2, "lock_id": \#(lock)}"#.utf8)
                _ = try await URLSession.shared.data(for: tap)
            }

            let app = GymServer.application(configuration, database: database, followsStoredKisiConnection: true, logger: logger)
            try await app.test(.live) { client in
                let browser = AdminBrowser(client: client, repository: repository)
                try await browser.signIn(AdminBrowser.ownerEmail)
                let csrf = try await browser.sessionCSRF()

                let clubs = try await browser.get("/admin/clubs")
                #expect(clubs.status == .ok)
                let clujSection = section(clubs.body, id: "club-\(cluj.id)")
                #expect(clujSection.contains("This Kisi key may not unlock doors at Cluj Centru."), "\(clujSection)")
                #expect(!clujSection.contains("/admin/locks/5021/unlock"))
                #expect(!clubs.body.contains("/admin/locks/5023/unlock"), "the Cluj studio's door has no button either")
                let oldTownSection = section(clubs.body, id: "club-\(oldTown.id)")
                #expect(oldTownSection.contains("action=\"/admin/locks/5001/unlock\""))
                #expect(!oldTownSection.contains("may not unlock"))
                let kept = try await repository.syncState.get(SyncStateEntry<StoredKisiKeyRights>.kisiKeyRights)
                let unlock = try #require(kept?.rights.unlock, "the key's rights are kept with the connection")
                #expect(unlock.covers(placeID: 1001) && unlock.covers(placeID: 1002) && !unlock.covers(placeID: 1003))

                // A member of a plan spanning the key's two places and Cluj: the member page lists the grants the
                // sync keeps, one per place group, and none at Cluj.
                let allClubs = try #require(layout.plans.values.first { $0.name == "All clubs" })
                let ana = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Placeholder", email: "ana.place@example.com"))
                _ = try await repository.createSubscription(SubscriptionDraft(
                    memberID: ana.id, planID: allClubs.id, startDate: today.adding(days: -10), paidThrough: today.adding(days: 20)))
                let memberPage = try await browser.get("/admin/members/\(ana.id)")
                let grants = memberPage.body.components(separatedBy: "<ul class=\"grants\">").dropFirst().first?
                    .components(separatedBy: "</ul>").first ?? ""
                #expect(grants.contains("All clubs · Old Town: valid from"), "\(grants)")
                #expect(grants.contains("All clubs · Floreasca: valid from"), "\(grants)")
                #expect(!grants.contains("Cluj"), "\(grants)")

                let forced = try await browser.post("/admin/locks/5021/unlock", ["csrf": csrf])
                #expect(forced.status == .badRequest)
                #expect(forced.body.contains("The door did not unlock: This Kisi key may not unlock doors at Cluj Centru."), "\(forced.body)")

                let tested = try await browser.post("/admin/settings/kisi/test", ["csrf": csrf])
                let check = tested.body.replacingOccurrences(of: "&#39;", with: "'")
                #expect(check.contains("✗ <strong>Key rights</strong>: The key's user administers only Old Town and Floreasca: BooGYMan cannot keep door access at club Cluj Centru, studio Cardio floor (Cluj Centru) and studio Climbing wall (Cluj Centru)"), "\(check)")
                #expect(check.contains("make the key's user place administrator of Cluj Centru too"))

                let activity = try await browser.get("/admin/activity")
                #expect(activity.body.replacingOccurrences(of: "&#39;", with: "'")
                    .contains("Door activity is read every 4 s from Kisi's event sets, for Old Town and Floreasca only"), "\(activity.body)")
                let dashboard = try await browser.get("/admin")
                let checkIns = section(dashboard.body.replacingOccurrences(of: "&#39;", with: "'"), id: "check-ins")
                #expect(checkIns.contains("Door activity is read every 4 s from Kisi's event sets, for Old Town and Floreasca only"), "\(checkIns)")
                #expect(checkIns.contains("<td>Old Town</td><td class=\"check-in-count\">1</td>"), "\(checkIns)")
                #expect(checkIns.contains("<td>Floreasca</td><td class=\"check-in-count\">1</td>"))
                #expect(checkIns.contains("<td>Cluj Centru</td><td class=\"check-in-count\">0</td>"), "the key reads no events of Cluj")

                #expect(try await Self.sandboxAnswers(status: 403, port: kisiPort) == 0, "no call outside the key's rights reached Kisi")
            }
        }
    }
}
