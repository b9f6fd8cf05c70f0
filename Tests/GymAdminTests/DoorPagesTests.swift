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

/// BooGYMan's admin UI connected (through its stored settings) to a live Kisi sandbox with the demo
/// organization, an owner signed in. Each run has its own API key, because the Kisi client paces
/// requests per key across the whole test process.
struct KisiAdmin: Sendable {
    let browser: AdminBrowser
    let repository: GymRepository
    let sandbox: KisiSandbox
    let csrf: String

    static func run(_ body: @Sendable (KisiAdmin) async throws -> Void) async throws {
        let logger = {
            var logger = Logger(label: "boogyman.admin-door-tests")
            logger.logLevel = .warning
            return logger
        }()
        let apiKey = "door-pages-\(UUID().uuidString)"
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(
            seed: .demoSeed(apiKey: apiKey), requestsPerSecond: 0, logger: logger))
        try await sandbox.withRunningServer { kisiPort in
            let masterKey = MasterKey.generate()
            let configuration = AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteInMemory, masterKey: masterKey)
            let database = try await GymServer.openDatabase(configuration, logger: logger)
            try await database.repository.saveKisiSettings(
                KisiSettings(apiKey: apiKey, organizationID: 1, baseURL: "http://127.0.0.1:\(kisiPort)"), masterKey: masterKey)
            _ = try await database.repository.createStaff(
                email: AdminBrowser.ownerEmail, name: "Olga Owner", role: .owner, passwordHash: StaffPasswords.hash(AdminBrowser.password))
            let app = GymServer.application(configuration, database: database, logger: logger)
            try await app.test(.live) { client in
                let browser = AdminBrowser(client: client, repository: database.repository)
                try await browser.signIn(AdminBrowser.ownerEmail)
                let csrf = try await browser.sessionCSRF()
                try await body(KisiAdmin(browser: browser, repository: database.repository, sandbox: sandbox, csrf: csrf))
            }
        }
    }
}

/// The part of a page from the element with `id` to the next element of the same kind (or the end).
func section(_ body: String, id: String, tag: String = "section") -> String {
    guard let start = body.range(of: "id=\"\(id)\"") else { return "" }
    let rest = body[start.upperBound...]
    let end = rest.range(of: "<\(tag) ")?.lowerBound ?? rest.endIndex
    return String(rest[..<end])
}

@Suite("Admin UI: doors picked from Kisi, door state and door events")
struct DoorPagesTests {
    @Test("Picking a club's Kisi place and locks, and a studio's locks, saves them; a lock of another door is refused and nothing is saved")
    func pickPlacesAndLocks() async throws {
        try await KisiAdmin.run { kisi in
            let repository = kisi.repository
            let oldTown = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest"))
            let spinning = try await repository.createStudio(StudioDraft(clubID: oldTown.id, name: "Spinning"))
            _ = try await repository.createClub(
                ClubDraft(name: "Floreasca", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1002, kisiLockIDs: [5011]))

            let first = try await kisi.browser.get("/admin/clubs")
            #expect(first.status == .ok)
            #expect(first.body.contains("<option value=\"1001\">Old Town (1001)</option>"))
            #expect(section(first.body, id: "club-\(oldTown.id)").contains("Pick the place and save"))

            let placed = try await kisi.browser.post("/admin/clubs/\(oldTown.id)", ["csrf": kisi.csrf, "kisi_place_id": "1001"])
            #expect(placed.status == .seeOther)
            #expect(try await repository.club(oldTown.id).kisiPlaceID == 1001)

            let withPlace = try await kisi.browser.get("/admin/clubs")
            let clubForm = section(withPlace.body, id: "club-\(oldTown.id)")
            #expect(clubForm.contains("<option value=\"1001\" selected>Old Town (1001)</option>"))
            #expect(clubForm.contains("value=\"5001\"> Old Town entrance <span class=\"hint\">lock 5001</span>"))
            // Floreasca's entrance is another place's lock: not offered for Old Town.
            #expect(!clubForm.contains("value=\"5011\""))

            let changesBefore = try await repository.unprocessedAccessChangeCount()
            let entrance = try await kisi.browser.post(
                "/admin/clubs/\(oldTown.id)", ["csrf": kisi.csrf, "kisi_place_id": "1001", "kisi_lock_ids": "5001,5002"])
            #expect(entrance.status == .seeOther)
            #expect(try await repository.club(oldTown.id).kisiLockIDs == [5001, 5002])
            let studioSaved = try await kisi.browser.post("/admin/studios/\(spinning.id)", ["csrf": kisi.csrf, "kisi_lock_ids": "5003"])
            #expect(studioSaved.status == .seeOther)
            #expect(try await repository.studio(spinning.id).kisiLockIDs == [5003])
            #expect(try await repository.unprocessedAccessChangeCount() == changesBefore + 2, "each save is an access change the sync re-plans")

            let studioForm = section(try await kisi.browser.get("/admin/clubs").body, id: "studio-\(spinning.id)")
            #expect(studioForm.contains("value=\"5003\" checked> Spinning studio"))
            #expect(studioForm.contains("value=\"5001\" disabled> Old Town entrance <span class=\"hint\">lock 5001 · used by entrance of Old Town</span>"))

            let refused = try await kisi.browser.post("/admin/studios/\(spinning.id)", ["csrf": kisi.csrf, "kisi_lock_ids": "5003,5001"])
            #expect(refused.status == .unprocessableContent)
            let refusedForm = section(refused.body, id: "studio-\(spinning.id)")
            #expect(refusedForm.contains("Lock 5001 already belongs to club &quot;Old Town&quot;."))
            #expect(refusedForm.contains("value=\"5001\" checked> Old Town entrance"), "the user's picks are shown again")
            #expect(try await repository.studio(spinning.id).kisiLockIDs == [5003])
            #expect(try await repository.unprocessedAccessChangeCount() == changesBefore + 2)

            let otherPlace = try await kisi.browser.post(
                "/admin/clubs/\(oldTown.id)", ["csrf": kisi.csrf, "kisi_place_id": "1001", "kisi_lock_ids": "5001,5012"])
            #expect(otherPlace.status == .unprocessableContent)
            #expect(otherPlace.body.contains("Pool (lock 5012) is in the Kisi place Floreasca, not in Old Town."))
            #expect(try await repository.club(oldTown.id).kisiLockIDs == [5001, 5002])
        }
    }

    @Test("A lock in lockdown shows as locked down and an offline one as offline, neither with an Unlock button; the dashboard lists both first")
    func lockedDownDoor() async throws {
        try await KisiAdmin.run { kisi in
            _ = try await kisi.repository.createClub(
                ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1001, kisiLockIDs: [5001, 5002]))
            try await kisi.sandbox.setLockState(5001, lockedDown: true)
            try await kisi.sandbox.setLockState(5002, online: false)

            let page = try await kisi.browser.get("/admin/clubs")
            let lockedDown = section(page.body, id: "5001", tag: "li")
            let offline = section(page.body, id: "5002", tag: "li")
            #expect(page.body.contains("<li class=\"door\" data-lock-id=\"5001\">Old Town entrance"))
            #expect(lockedDown.contains("Locked down"))
            #expect(!page.body.contains("action=\"/admin/locks/5001/unlock\""))
            #expect(page.body.contains("<li class=\"door offline\" data-lock-id=\"5002\">"))
            #expect(offline.contains(">Offline</span>"))
            #expect(!offline.contains("Locked down"))
            #expect(!page.body.contains("action=\"/admin/locks/5002/unlock\""), "an offline lock cannot hear an unlock: no button")

            // The dashboard's door health puts the doors needing attention first: offline, then locked down.
            let dashboard = try await kisi.browser.get("/admin")
            let health = section(dashboard.body, id: "door-health")
            #expect(health.contains("0 of 2 doors online · 2 need attention"))
            let offlineAt = try #require(health.range(of: "data-lock-id=\"5002\" data-state=\"offline\""))
            let lockedDownAt = try #require(health.range(of: "data-lock-id=\"5001\" data-state=\"locked-down\""))
            #expect(offlineAt.lowerBound < lockedDownAt.lowerBound)
        }
    }

    @Test("The dashboard counts an unlock done through Kisi as a check-in at the right club, and a refusal as denied")
    func dashboardCheckIns() async throws {
        try await KisiAdmin.run { kisi in
            _ = try await kisi.repository.createClub(
                ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1001, kisiLockIDs: [5001]))
            _ = try await kisi.repository.createClub(
                ClubDraft(name: "Floreasca", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1002, kisiLockIDs: [5011]))
            // Demo users: Ana (2) is staff with every door; Elena (4) has no door access.
            #expect(try await kisi.sandbox.tap(userID: 2, lockID: 5001))
            #expect(try await kisi.sandbox.tap(userID: 4, lockID: 5011) == false)

            let dashboard = try await kisi.browser.get("/admin")
            #expect(dashboard.status == .ok)
            let checkIns = section(dashboard.body, id: "check-ins")
            #expect(checkIns.contains("<td>Old Town</td><td class=\"check-in-count\">1</td><td class=\"denied-count\">0</td>"))
            #expect(checkIns.contains("<td>Floreasca</td><td class=\"check-in-count\">0</td><td class=\"denied-count\">1</td>"))
        }
    }

    @Test("The member page lists the member's door events, a denial with Kisi's reason")
    func memberDoorEvents() async throws {
        try await KisiAdmin.run { kisi in
            _ = try await kisi.repository.createClub(
                ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1001, kisiLockIDs: [5001, 5002]))
            let member = try await kisi.repository.createMember(
                MemberDraft(firstName: "Ana", lastName: "Popescu", email: "ana.popescu@boogyman.example"))
            try await kisi.repository.setKisiUserLink(memberID: member.id, userID: 2)
            try await kisi.sandbox.setLockState(5001, lockedDown: true)
            #expect(try await kisi.sandbox.tap(userID: 2, lockID: 5001) == false)
            try await Task.sleep(for: .milliseconds(20)) // distinct instants, so "newest first" is well defined
            #expect(try await kisi.sandbox.tap(userID: 2, lockID: 5002))
            // Someone else's refusal is not the member's.
            #expect(try await kisi.sandbox.tap(userID: 4, lockID: 5002) == false)

            let page = try await kisi.browser.get("/admin/members/\(member.id)")
            #expect(page.status == .ok)
            let events = section(page.body, id: "door-events", tag: "div")
            #expect(events.contains("Old Town · Old Town entrance · denied: The door is currently locked down."))
            #expect(events.contains("Old Town · Old Town side door · opened"))
            #expect(events.components(separatedBy: "<li class=\"door-event").count == 3, "two events, the member's own")
            // Newest first.
            let opened = try #require(events.range(of: "opened"))
            let denied = try #require(events.range(of: "denied"))
            #expect(opened.lowerBound < denied.lowerBound)
        }
    }

    @Test("When Kisi does not answer in time the dashboard still renders at once and says so")
    func slowKisi() async throws {
        try await KisiAdmin.run { kisi in
            _ = try await kisi.repository.createClub(
                ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1001, kisiLockIDs: [5001]))
            // Kisi answers in 12 s; the page's reads give up after 3 s each (side by side). The bound sits far
            // from both, so that a loaded machine cannot make it fail, while a page that waited for Kisi would.
            await kisi.sandbox.setFaults(FaultSettings(latencyMs: 12_000))
            let started = ContinuousClock.now
            let dashboard = try await kisi.browser.get("/admin")
            let elapsed = ContinuousClock.now - started
            #expect(dashboard.status == .ok)
            #expect(section(dashboard.body, id: "check-ins").contains("Kisi did not answer within 3 seconds."))
            #expect(elapsed < .seconds(9), "the page waited \(elapsed)")
            await kisi.sandbox.setFaults(FaultSettings())
        }
    }
}
