import AccessSync
import Foundation
import GymAdmin
import GymApp
import GymCore
import GymStore
import GymWeb
import Hummingbird
import HummingbirdTesting
import KisiAPI
import KisiSandbox
import Logging
import Testing

/// A member with an active subscription to a plan opening `lockIDs` of one Bucharest club.
private func activeMember(_ repository: GymRepository, placeID: Int? = nil, lockIDs: [Int] = [11]) async throws -> Member {
    let club = try await repository.createClub(ClubDraft(
        name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: placeID, kisiLockIDs: lockIDs))
    let plan = try await repository.createPlan(PlanDraft(name: "Unlimited", clubIDs: [club.id]))
    let member = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Popescu", email: "ana@example.com"))
    let today = LocalDate(containing: Date(), in: TimeZone(identifier: "Europe/Bucharest")!)
    _ = try await repository.createSubscription(SubscriptionDraft(
        memberID: member.id, planID: plan.id, startDate: today.adding(days: -10), paidThrough: today.adding(days: 30)))
    return member
}

private let managerEmail = "mara@gym.example"

private func createManager(_ repository: GymRepository) async throws {
    _ = try await repository.createStaff(
        email: managerEmail, name: "Mara Manager", role: .manager, passwordHash: StaffPasswords.hash(AdminBrowser.password))
}

/// The server over a fresh database with a manager, its Kisi sync led by `sync` (which may fail): the
/// admin UI hands Kisi writes to that leader, as in production.
private func withAdminRoutes(sync: @Sendable (GymRepository) -> SyncEngine, _ body: @Sendable (AdminBrowser) async throws -> Void) async throws {
    var logger = Logger(label: "boogyman.admin-block-tests")
    logger.logLevel = .warning
    let configuration = AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteInMemory)
    let database = try await GymServer.openDatabase(configuration, logger: logger)
    try await createManager(database.repository)
    let app = GymServer.application(configuration, database: database, sync: sync(database.repository), logger: logger)
    try await app.test(.live) { client in
        try await body(AdminBrowser(client: client, repository: database.repository))
    }
}

@Suite("Admin UI: member blocks")
struct MemberBlockUITests {
    @Test("Blocking with a blank or too long reason keeps what was typed, shows the field error and blocks nobody")
    func badReasonKeepsInput() async throws {
        try await withAdminServer { browser in
            let member = try await activeMember(browser.repository)
            try await browser.signIn(AdminBrowser.ownerEmail)
            let page = try await browser.get("/admin/members/\(member.id)")
            #expect(page.body.contains("id=\"block-form\""))
            #expect(page.body.contains("data-confirm="), "the browser asks before blocking")
            let csrf = try #require(page.csrf)
            let changes = try await browser.repository.accessChanges().count

            let blank = try await browser.post("/admin/members/\(member.id)/block", ["csrf": csrf, "reason": "   "])
            #expect(blank.status == .unprocessableContent)
            #expect(blank.body.contains("id=\"block-reason-error\">is required<"))
            #expect(blank.body.contains("<details id=\"block\" open>"), "the form stays open")
            #expect(blank.body.contains("data-may-enter=\"yes\""))

            let typed = String(repeating: "Shouted at the staff. ", count: 24)
            let long = try await browser.post("/admin/members/\(member.id)/block", ["csrf": csrf, "reason": typed])
            #expect(long.status == .unprocessableContent)
            #expect(long.body.contains("must be at most 500 characters"))
            #expect(long.body.contains("value=\"\(typed)\""), "what was typed is kept")

            #expect(try await browser.repository.member(member.id).block == nil)
            #expect(try await browser.repository.accessChanges().count == changes)
        }
    }

    @Test("A manager blocks a member: the page shows the banner and no entry with reason blocked, and unblocking restores access")
    func blockShowsBannerThenUnblock() async throws {
        try await withAdminServer { browser in
            try await createManager(browser.repository)
            let member = try await activeMember(browser.repository)
            try await browser.signIn(managerEmail)
            let csrf = try await browser.sessionCSRF()

            let blocked = try await browser.post("/admin/members/\(member.id)/block", ["csrf": csrf, "reason": "Damaged the sauna door"])
            #expect(blocked.status == .seeOther)
            #expect(blocked.location == "/admin/members/\(member.id)?done=blocked_later", "no sync on this server: Kisi follows from the change log")
            let page = try await browser.get(try #require(blocked.location))
            #expect(page.body.contains("Member blocked; Kisi follows within seconds."))
            #expect(page.body.contains("id=\"blocked-banner\""))
            #expect(page.body.contains("by \(managerEmail): Damaged the sauna door"))
            #expect(page.body.contains("data-may-enter=\"no\""))
            #expect(page.body.contains("Blocked — no door opens"))
            // The block's reason shows once, in its banner.
            #expect(page.body.components(separatedBy: "Damaged the sauna door").count == 2)
            #expect(page.body.contains("data-lock-id=\"11\" data-allowed=\"no\""))
            #expect(page.body.contains("id=\"unblock\""))
            #expect(!page.body.contains("id=\"block-form\""), "no second block while blocked")
            let stored = try #require(try await browser.repository.member(member.id).block)
            #expect(stored.reason == "Damaged the sauna door")
            #expect(stored.blockedBy == "staff:\(managerEmail)")
            #expect(try await browser.repository.kisiWrites(KisiWriteFilter(memberID: member.id, action: "block_member")).total == 1)

            let list = try await browser.get("/admin/members")
            #expect(list.body.contains("<span class=\"status-pill status-blocked\" data-status=\"blocked\">Blocked</span>"))

            let unblocked = try await browser.post("/admin/members/\(member.id)/unblock", ["csrf": csrf])
            #expect(unblocked.status == .seeOther)
            let after = try await browser.get(try #require(unblocked.location))
            #expect(after.body.contains("Member unblocked; Kisi follows within seconds."))
            #expect(!after.body.contains("id=\"blocked-banner\""))
            #expect(after.body.contains("data-may-enter=\"yes\""))
            #expect(try await browser.repository.member(member.id).block == nil)
        }
    }

    @Test("Front desk sees a block but no button, and gets 403 on the block and unblock posts")
    func frontDeskMayNotBlock() async throws {
        try await withAdminServer { browser in
            let member = try await activeMember(browser.repository)
            try await browser.signIn(AdminBrowser.deskEmail)
            let page = try await browser.get("/admin/members/\(member.id)")
            #expect(!page.body.contains("id=\"block-form\""))
            let csrf = try #require(page.csrf)
            let refused = try await browser.post("/admin/members/\(member.id)/block", ["csrf": csrf, "reason": "Damaged the sauna door"])
            #expect(refused.status == .forbidden)
            #expect(try await browser.repository.member(member.id).block == nil)

            _ = try await browser.repository.blockMember(id: member.id, reason: "Card reported stolen", by: "staff:\(managerEmail)")
            let blocked = try await browser.get("/admin/members/\(member.id)")
            #expect(blocked.body.contains("id=\"blocked-banner\""))
            #expect(blocked.body.contains("Card reported stolen"))
            #expect(!blocked.body.contains("id=\"unblock\""))
            #expect(try await browser.post("/admin/members/\(member.id)/unblock", ["csrf": csrf]).status == .forbidden)
            #expect(try await browser.repository.member(member.id).block != nil)
        }
    }

    @Test("When Kisi cannot be reached at once, the block still holds and the notice says Kisi follows")
    func failedImmediateSyncKeepsTheBlock() async throws {
        // Nothing listens on port 9: the immediate reconcile fails.
        try await withAdminRoutes(sync: { repository in
            var quiet = Logger(label: "boogyman.admin-block-tests.kisi")
            quiet.logLevel = .critical
            return SyncEngine(
                client: KisiClient(configuration: .init(
                    apiKey: "unused", baseURL: URL(string: "http://127.0.0.1:9")!, requestDeadline: .seconds(2),
                    retryPolicy: KisiRetryPolicy(maxAttempts: 1, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(10)),
                    logger: quiet)),
                repository: repository, ledger: GymStoreSyncLedger(repository: repository))
        }) { browser in
            let member = try await activeMember(browser.repository)
            try await browser.signIn(managerEmail)
            let csrf = try await browser.sessionCSRF()
            let blocked = try await browser.post("/admin/members/\(member.id)/block", ["csrf": csrf, "reason": "Damaged the sauna door"])
            #expect(blocked.status == .seeOther)
            #expect(blocked.location == "/admin/members/\(member.id)?done=blocked_later")
            #expect(try await browser.get(try #require(blocked.location)).body.contains("Member blocked; Kisi follows within seconds."))
            #expect(try await browser.repository.member(member.id).block?.reason == "Damaged the sauna door")
            #expect(try await browser.repository.accessChanges().last?.memberID == member.id, "the change log still carries the block")
        }
    }

    @Test("With Kisi reachable, blocking revokes the member's door access in Kisi at once and keeps the Kisi user")
    func blockRevokesInKisiAtOnce() async throws {
        let logger = {
            var logger = Logger(label: "boogyman.admin-block-tests.kisi-sandbox")
            logger.logLevel = .warning
            return logger
        }()
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: .demoSeed(), requestsPerSecond: 0, logger: logger))
        try await sandbox.withRunningServer { kisiPort in
            let engineBox = LockedEngine()
            try await withAdminRoutes(sync: { repository in
                let engine = SyncEngine(
                    client: KisiClient(configuration: .init(
                        apiKey: KisiAPIKey(SandboxSeed.demoAPIKey), baseURL: URL(string: "http://127.0.0.1:\(kisiPort)")!,
                        requestDeadline: .seconds(10), requestsPerSecond: 10_000)),
                    repository: repository, ledger: GymStoreSyncLedger(repository: repository), configuration: .init(logger: logger))
                engineBox.set(engine)
                return engine
            }) { browser in
                // The demo organization's Old Town: place 1001, entrance locks 5001 and 5002.
                let member = try await activeMember(browser.repository, placeID: 1001, lockIDs: [5001, 5002])
                // The leader's change loop gives the new member their Kisi user and grant.
                var linked: Int?
                for _ in 0..<300 where linked == nil {
                    linked = try await browser.repository.kisiLinks().users[member.id]
                    if linked == nil { try await Task.sleep(for: .milliseconds(100)) }
                }
                let userID = try #require(linked)
                try await TestClient.withClient(host: "127.0.0.1", port: kisiPort) { kisi in
                    var granted = false
                    for _ in 0..<300 where !granted {
                        granted = try await oracle(kisi, userID: userID, lockID: 5001) == true
                        if !granted { try await Task.sleep(for: .milliseconds(100)) }
                    }
                    #expect(granted)

                    try await browser.signIn(managerEmail)
                    let csrf = try await browser.sessionCSRF()
                    let blocked = try await browser.post("/admin/members/\(member.id)/block", ["csrf": csrf, "reason": "Damaged the sauna door"])
                    // The page waits a few seconds for the leader; on a loaded machine it may say Kisi follows instead.
                    // Either way what it says is true: "revoked" means Kisi refuses the door already.
                    if blocked.location == "/admin/members/\(member.id)?done=blocked" {
                        #expect(try await browser.get(try #require(blocked.location)).body.contains("Member blocked. Kisi access revoked."))
                        #expect(try await oracle(kisi, userID: userID, lockID: 5001) == false, "Kisi refuses the door as soon as the page says so")
                    } else {
                        #expect(blocked.location == "/admin/members/\(member.id)?done=blocked_later")
                        #expect(try await eventuallyAnswer(kisi, userID: userID, lockID: 5001, is: false), "Kisi refuses the door within seconds")
                    }
                    #expect(try await browser.repository.kisiLinks().users[member.id] == userID, "the Kisi user is kept")

                    let unblocked = try await browser.post("/admin/members/\(member.id)/unblock", ["csrf": csrf])
                    if unblocked.location == "/admin/members/\(member.id)?done=unblocked" {
                        #expect(try await oracle(kisi, userID: userID, lockID: 5001) == true)
                    } else {
                        #expect(unblocked.location == "/admin/members/\(member.id)?done=unblocked_later")
                        #expect(try await eventuallyAnswer(kisi, userID: userID, lockID: 5001, is: true))
                    }
                }
            }
        }
    }
}

private final class LockedEngine: @unchecked Sendable {
    private let lock = NSLock()
    private var engine: SyncEngine?
    func set(_ engine: SyncEngine) { lock.withLock { self.engine = engine } }
    func get() -> SyncEngine? { lock.withLock { engine } }
}

/// Whether the sandbox gives `expected` for the door within 30 s.
private func eventuallyAnswer(_ kisi: TestClient, userID: Int, lockID: Int, is expected: Bool) async throws -> Bool {
    for _ in 0..<300 {
        if try await oracle(kisi, userID: userID, lockID: lockID) == expected { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return false
}

/// The sandbox's answer to "may this Kisi user open this lock now?".
private func oracle(_ kisi: TestClient, userID: Int, lockID: Int) async throws -> Bool? {
    var headers = HTTPFields()
    headers[.init("X-Sandbox-Admin-Key")!] = "sandbox-admin"
    let response = try await kisi.get("/_sandbox/oracle?user_id=\(userID)&lock_id=\(lockID)", headers: headers)
    guard response.head.status == .ok, let body = response.body else { return nil }
    return ((try JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any])?["allowed"] as? Bool
}
