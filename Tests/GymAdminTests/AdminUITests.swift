import Foundation
import GymAdmin
import GymApp
import GymCore
import GymStore
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// Runs `body` against a real BooGYMan server (JSON API and admin UI) over a fresh in-memory
/// database with an owner and a front-desk account.
func withAdminServer(_ body: @Sendable (AdminBrowser) async throws -> Void) async throws {
    var logger = Logger(label: "boogyman.admin-tests")
    logger.logLevel = .warning
    let configuration = AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteInMemory)
    let database = try await GymServer.openDatabase(configuration, logger: logger)
    let hash = StaffPasswords.hash(AdminBrowser.password)
    _ = try await database.repository.createStaff(email: AdminBrowser.ownerEmail, name: "Olga Owner", role: .owner, passwordHash: hash)
    _ = try await database.repository.createStaff(email: AdminBrowser.deskEmail, name: "Dan Desk", role: .frontDesk, passwordHash: hash)
    let app = GymServer.application(configuration, database: database, logger: logger)
    try await app.test(.live) { client in
        try await body(AdminBrowser(client: client, repository: database.repository))
    }
}

/// A minimal browser: keeps cookies, reads the CSRF token from the last page, posts forms.
final class AdminBrowser: @unchecked Sendable {
    static let ownerEmail = "owner@gym.example"
    static let deskEmail = "desk@gym.example"
    static let password = "correct horse battery"

    let client: any TestClientProtocol
    let repository: GymRepository
    private let lock = NSLock()
    private var cookies: [String: String] = [:]

    init(client: any TestClientProtocol, repository: GymRepository) {
        self.client = client
        self.repository = repository
    }

    struct Page: Sendable {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: String

        /// The first hidden CSRF field's value on the page.
        var csrf: String? { field("csrf") }

        func field(_ name: String) -> String? {
            guard let range = body.range(of: "name=\"\(name)\" value=\"") else { return nil }
            let rest = body[range.upperBound...]
            return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
        }

        var location: String? { headers[.location] }
        var setCookies: [String] { headers[values: .setCookie] }
    }

    func cookie(_ name: String) -> String? { lock.withLock { cookies[name] } }

    func request(_ method: HTTPRequest.Method, _ path: String, form: [String: String]? = nil) async throws -> Page {
        var headers: HTTPFields = [:]
        let cookieHeader = lock.withLock { cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        if !cookieHeader.isEmpty { headers[.cookie] = cookieHeader }
        var body: ByteBuffer?
        if let form {
            headers[.contentType] = "application/x-www-form-urlencoded"
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            body = ByteBuffer(string: form.map {
                "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
            }.joined(separator: "&"))
        }
        let page = try await client.execute(uri: path, method: method, headers: headers, body: body) { response in
            Page(status: response.status, headers: response.headers, body: String(buffer: response.body))
        }
        lock.withLock {
            for header in page.setCookies {
                let pair = header.split(separator: ";", maxSplits: 1)[0].split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                let name = String(pair[0]).trimmingCharacters(in: .whitespaces)
                if header.contains("Max-Age=0") || pair[1].isEmpty { cookies[name] = nil } else { cookies[name] = String(pair[1]) }
            }
        }
        return page
    }

    func get(_ path: String) async throws -> Page { try await request(.get, path) }
    func post(_ path: String, _ form: [String: String]) async throws -> Page { try await request(.post, path, form: form) }

    /// Signs in through the login form; returns the answer to the form post.
    @discardableResult
    func signIn(_ email: String, password: String = AdminBrowser.password) async throws -> Page {
        let login = try await get("/admin/login")
        let token = try #require(login.csrf)
        return try await post("/admin/login", ["csrf": token, "email": email, "password": password])
    }

    /// The CSRF token of the signed-in session, read from a page's sign-out form.
    func sessionCSRF() async throws -> String {
        try #require(try await get("/admin").csrf)
    }
}

@Suite("Admin UI")
struct AdminUITests {
    @Test("Pages need a session: without one they redirect to the sign-in page")
    func pagesNeedASession() async throws {
        try await withAdminServer { browser in
            let page = try await browser.get("/admin/members")
            #expect(page.status == .seeOther)
            #expect(page.location == "/admin/login?next=%2Fadmin%2Fmembers")
            let css = try await browser.get("/admin/assets/admin.css")
            #expect(css.status == .ok)
            #expect(css.headers[.contentType]?.hasPrefix("text/css") == true)
        }
    }

    @Test("Signing in sets an HttpOnly SameSite=Lax session cookie, and signing out ends the session")
    func signInAndOut() async throws {
        try await withAdminServer { browser in
            let answer = try await browser.signIn(AdminBrowser.ownerEmail)
            #expect(answer.status == .seeOther)
            #expect(answer.location == "/admin")
            let sessionCookie = try #require(answer.setCookies.first { $0.hasPrefix("bgm_session=") })
            #expect(sessionCookie.contains("HttpOnly"))
            #expect(sessionCookie.contains("SameSite=Lax"))
            #expect(!sessionCookie.contains("Secure"))
            let dashboard = try await browser.get("/admin")
            #expect(dashboard.status == .ok)
            #expect(dashboard.body.contains("Olga Owner"))
            #expect(dashboard.body.contains("Not connected"))
            let secret = try #require(browser.cookie("bgm_session"))

            let out = try await browser.post("/admin/logout", ["csrf": try #require(dashboard.csrf)])
            #expect(out.status == .seeOther)
            #expect(try await browser.repository.staffSession(secret: secret) == nil)
            #expect(try await browser.get("/admin").status == .seeOther)
        }
    }

    @Test("A wrong password is refused, and after five failures even the right one waits")
    func wrongPasswordsAreThrottled() async throws {
        try await withAdminServer { browser in
            let wrong = try await browser.signIn(AdminBrowser.ownerEmail, password: "not the password")
            #expect(wrong.status == .unauthorized)
            #expect(wrong.body.contains("The e-mail or password is wrong."))
            #expect(wrong.body.contains("value=\"owner@gym.example\""))
            #expect(try await browser.signIn("nobody@gym.example").status == .unauthorized)
            for _ in 0..<4 {
                _ = try await browser.signIn(AdminBrowser.ownerEmail, password: "still wrong")
            }
            let throttled = try await browser.signIn(AdminBrowser.ownerEmail)
            #expect(throttled.status == .tooManyRequests)
            #expect(throttled.body.contains("Too many failed sign-ins"))
            #expect(throttled.headers[.retryAfter] != nil)
            #expect(browser.cookie("bgm_session") == nil)
            // Another account from the same address is not affected.
            #expect(try await browser.signIn(AdminBrowser.deskEmail).status == .seeOther)
        }
    }

    @Test("A form posted without the session's CSRF token is rejected and changes nothing")
    func formsNeedTheCSRFToken() async throws {
        try await withAdminServer { browser in
            try await browser.signIn(AdminBrowser.ownerEmail)
            let member = ["first_name": "Ana", "last_name": "Popescu", "email": "ana@example.com"]
            let missing = try await browser.post("/admin/members", member)
            #expect(missing.status == .forbidden)
            var forged = member
            forged["csrf"] = String(repeating: "0", count: 64)
            #expect(try await browser.post("/admin/members", forged).status == .forbidden)
            #expect(try await browser.repository.members().total == 0)
            // The sign-in form has its own token: a forged sign-in post is refused too.
            let login = try await browser.post("/admin/login", ["email": AdminBrowser.ownerEmail, "password": AdminBrowser.password])
            #expect(login.status == .forbidden)

            var genuine = member
            genuine["csrf"] = try await browser.sessionCSRF()
            let created = try await browser.post("/admin/members", genuine)
            #expect(created.status == .seeOther)
            #expect(try await browser.repository.members().total == 1)
        }
    }

    @Test("Front desk gets 403 on settings, plans and the audit log, also by direct URL and by form post")
    func frontDeskIsLimited() async throws {
        try await withAdminServer { browser in
            try await browser.signIn(AdminBrowser.deskEmail)
            let dashboard = try await browser.get("/admin")
            #expect(dashboard.status == .ok)
            #expect(!dashboard.body.contains("/admin/settings"))
            for path in ["/admin/settings", "/admin/audit", "/admin/audit.csv", "/admin/plans", "/admin/clubs"] {
                #expect(try await browser.get(path).status == .forbidden, "\(path)")
            }
            let csrf = try #require(dashboard.csrf)
            let post = try await browser.post("/admin/settings/staff", [
                "csrf": csrf, "email": "new@gym.example", "name": "New", "role": "owner", "password": "long enough password",
            ])
            #expect(post.status == .forbidden)
            #expect(try await browser.repository.staffAccounts().count == 2)
            #expect(try await browser.get("/admin/members").status == .ok)
            #expect(try await browser.get("/admin/activity").status == .ok)
        }
    }

    @Test("Member data is escaped: a name with markup renders as text")
    func memberDataIsEscaped() async throws {
        try await withAdminServer { browser in
            let member = try await browser.repository.createMember(MemberDraft(
                firstName: "<script>alert(1)</script>", lastName: "O'Brien \"x\"", email: "xss@example.com"))
            try await browser.signIn(AdminBrowser.ownerEmail)
            for path in ["/admin/members", "/admin/members/rows?q=script", "/admin/members/\(member.id)"] {
                let page = try await browser.get(path)
                #expect(page.status == .ok)
                #expect(!page.body.contains("<script>alert(1)</script>"), "\(path)")
                #expect(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "\(path)")
            }
        }
    }

    @Test("A member form with bad input keeps what was typed, shows the field's error and saves nothing")
    func memberFormKeepsInput() async throws {
        try await withAdminServer { browser in
            try await browser.signIn(AdminBrowser.ownerEmail)
            let csrf = try await browser.sessionCSRF()
            let page = try await browser.post("/admin/members", ["csrf": csrf, "first_name": "Ioana", "last_name": "Pop", "email": "not-an-email"])
            #expect(page.status == .unprocessableContent)
            #expect(page.body.contains("value=\"Ioana\""))
            #expect(page.body.contains("value=\"not-an-email\""))
            #expect(page.body.contains("id=\"email-error\""))
            #expect(try await browser.repository.members().total == 0)
        }
    }

    @Test("Selling and freezing a subscription from the member page changes the door access panel")
    func sellAndFreezeShowTheirEffect() async throws {
        try await withAdminServer { browser in
            let repository = browser.repository
            let club = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiLockIDs: [11]))
            let plan = try await repository.createPlan(PlanDraft(name: "Unlimited", clubIDs: [club.id]))
            let member = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Popescu", email: "ana@example.com"))
            try await browser.signIn(AdminBrowser.deskEmail)
            let before = try await browser.get("/admin/members/\(member.id)")
            #expect(before.body.contains("data-may-enter=\"no\""))
            let csrf = try #require(before.csrf)
            let today = LocalDate(containing: Date(), in: TimeZone(identifier: "Europe/Bucharest")!)

            let bad = try await browser.post("/admin/members/\(member.id)/subscriptions", [
                "csrf": csrf, "plan_id": plan.id.uuidString, "start_date": "someday", "paid_through": today.description,
            ])
            #expect(bad.status == .unprocessableContent)
            #expect(bad.body.contains("must be a date like 2026-12-31"))

            let sold = try await browser.post("/admin/members/\(member.id)/subscriptions", [
                "csrf": csrf, "plan_id": plan.id.uuidString, "start_date": today.adding(days: -1).description,
                "paid_through": today.adding(days: 30).description,
            ])
            #expect(sold.status == .seeOther)
            let active = try await browser.get(try #require(sold.location))
            #expect(active.body.contains("data-may-enter=\"yes\""))
            #expect(active.body.contains("Subscription sold."))
            #expect(active.body.contains("data-lock-id=\"11\" data-allowed=\"yes\""))

            let subscription = try #require(try await repository.subscriptions(memberID: member.id).first)
            let frozen = try await browser.post("/admin/subscriptions/\(subscription.id)/freeze", [
                "csrf": csrf, "start_date": today.description, "end_date": today.adding(days: 7).description,
            ])
            #expect(frozen.status == .seeOther)
            let backwards = try await browser.post("/admin/subscriptions/\(subscription.id)/freeze", [
                "csrf": csrf, "start_date": today.adding(days: 20).description, "end_date": today.adding(days: 10).description,
            ])
            #expect(backwards.status == .unprocessableContent)
            #expect(backwards.body.contains("end date: must not be before the first day"))
            let after = try await browser.get("/admin/members/\(member.id)")
            #expect(after.body.contains("data-may-enter=\"no\""))
            #expect(after.body.contains("Subscription is frozen."))

            let list = try await browser.get("/admin/subscriptions?plan_id=\(plan.id)")
            #expect(list.status == .ok)
            #expect(list.body.contains("Ana Popescu"))
            #expect(list.body.contains("Frozen"))
            #expect(try await browser.get("/admin/subscriptions?plan_id=nonsense").status == .badRequest)

            // Cancelling needs a manager.
            let cancel = try await browser.post("/admin/subscriptions/\(subscription.id)/cancel", ["csrf": csrf, "effective_date": today.description])
            #expect(cancel.status == .forbidden)
        }
    }

    @Test("Previewing a plan change lists the members whose door access would change and saves nothing")
    func planPreviewChangesNothing() async throws {
        try await withAdminServer { browser in
            let repository = browser.repository
            let club = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiLockIDs: [11]))
            let plan = try await repository.createPlan(PlanDraft(name: "Unlimited", clubIDs: [club.id], pastDueGraceDays: 0))
            let member = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Unpaid", email: "ana@example.com"))
            let today = LocalDate(containing: Date(), in: TimeZone(identifier: "Europe/Bucharest")!)
            _ = try await repository.createSubscription(SubscriptionDraft(
                memberID: member.id, planID: plan.id, startDate: today.adding(days: -60), paidThrough: today.adding(days: -3)))
            try await browser.signIn(AdminBrowser.ownerEmail)
            let csrf = try await browser.sessionCSRF()
            let preview = try await browser.post("/admin/plans/\(plan.id)", [
                "csrf": csrf, "intent": "preview", "name": "Unlimited+", "past_due_grace_days": "10",
            ])
            #expect(preview.status == .ok)
            #expect(preview.body.contains("Ana Unpaid"))
            #expect(preview.body.contains("gains access"))
            #expect(preview.body.contains("renamed"))
            #expect(try await repository.plan(plan.id) == plan)

            let bad = try await browser.post("/admin/plans/\(plan.id)", ["csrf": csrf, "intent": "save", "name": "", "past_due_grace_days": "-1"])
            #expect(bad.status == .unprocessableContent)
            #expect(try await repository.plan(plan.id) == plan)
            let saved = try await browser.post("/admin/plans/\(plan.id)", ["csrf": csrf, "intent": "save", "name": "Unlimited+", "past_due_grace_days": "10"])
            #expect(saved.status == .seeOther)
            #expect(try await repository.plan(plan.id).pastDueGraceDays == 10)
        }
    }

    @Test("The audit log filters Kisi writes and exports them as CSV; bad filters are refused")
    func auditLogFiltersAndExports() async throws {
        try await withAdminServer { browser in
            let repository = browser.repository
            let member = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Popescu", email: "ana@example.com"))
            let first = try await repository.beginKisiWrite(action: "create_user", kisiObjectType: "user", memberID: member.id, reason: "Ana needs a Kisi user")
            try await repository.finishKisiWrite(id: first, status: .succeeded, kisiObjectID: 42)
            let second = try await repository.beginKisiWrite(action: "delete_role_assignment", reason: "=cmd|' /C calc'!A0")
            try await repository.finishKisiWrite(id: second, status: .failed, kisiStatus: 500, error: "Kisi: server error (500)")
            try await browser.signIn(AdminBrowser.ownerEmail)

            let filtered = try await browser.get("/admin/audit?member_id=\(member.id)")
            #expect(filtered.status == .ok)
            #expect(filtered.body.contains("data-action=\"create_user\""))
            #expect(!filtered.body.contains("data-action=\"delete_role_assignment\""))
            // The action filter offers the actions the log holds; the member filter takes a name.
            #expect(filtered.body.contains("<option value=\"delete_role_assignment\" >"))
            #expect(filtered.body.contains("<option value=\"create_user\" >"))
            let byName = try await browser.get("/admin/audit?member=popescu")
            #expect(byName.body.contains("data-action=\"create_user\""))
            #expect(!byName.body.contains("data-action=\"delete_role_assignment\""))
            #expect(try await browser.get("/admin/audit?from=yesterday").status == .badRequest)

            let csv = try await browser.get("/admin/audit.csv?status=failed")
            #expect(csv.status == .ok)
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            let lines = csv.body.split(separator: "\r\n")
            #expect(lines.count == 2)
            #expect(lines.first?.hasPrefix("id,created_at") == true)
            #expect(lines.last?.contains("'=cmd") == true, "formulas are defused for spreadsheets")

            let dashboard = try await browser.get("/admin")
            #expect(dashboard.body.contains("Kisi: server error (500)"), "the dashboard lists recent Kisi errors")
        }
    }

    @Test("An owner creates a staff account from the settings page; a short password is refused")
    func ownerCreatesStaff() async throws {
        try await withAdminServer { browser in
            try await browser.signIn(AdminBrowser.ownerEmail)
            let settings = try await browser.get("/admin/settings")
            #expect(settings.status == .ok)
            let csrf = try #require(settings.csrf)
            let short = try await browser.post("/admin/settings/staff", ["csrf": csrf, "email": "m@gym.example", "name": "Mara", "role": "manager", "password": "short"])
            #expect(short.status == .unprocessableContent)
            #expect(short.body.contains("at least 10 characters"))
            let created = try await browser.post("/admin/settings/staff", [
                "csrf": csrf, "email": "m@gym.example", "name": "Mara", "role": "manager", "password": "long enough password",
            ])
            #expect(created.status == .seeOther)
            #expect(try await browser.repository.staffAccounts().map(\.role).contains(.manager))
        }
    }
}
