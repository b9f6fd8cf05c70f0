import Foundation
import GymAdmin
import GymApp
import GymStore
import GymWeb
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// Sign-in attempts sent as raw requests, so many can share one sign-in form and carry any header.
struct SignInForm: Sendable {
    let token: String

    /// Loads the sign-in page once; its double-submit token serves every post below.
    static func load(_ client: any TestClientProtocol) async throws -> SignInForm {
        let page = try await client.execute(uri: "/admin/login", method: .get) { String(buffer: $0.body) }
        let marker = try #require(page.range(of: "name=\"csrf\" value=\""))
        let rest = page[marker.upperBound...]
        return SignInForm(token: String(rest[..<(try #require(rest.firstIndex(of: "\"")))]))
    }

    func post(_ client: any TestClientProtocol, email: String, password: String, forwardedFor: String? = nil) async throws -> HTTPResponse.Status {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .cookie: "bgm_login=\(token)"]
        if let forwardedFor { headers[HTTPFields.Element.Name("X-Forwarded-For")!] = forwardedFor }
        let form = ["csrf": token, "email": email, "password": password]
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        return try await client.execute(uri: "/admin/login", method: .post, headers: headers, body: ByteBuffer(string: form)) { $0.status }
    }
}

/// A server whose admin UI believes `X-Forwarded-For` from the loopback proxy and from 10.0.0.0/8.
func withProxiedAdminServer(_ body: @Sendable (any TestClientProtocol, GymRepository) async throws -> Void) async throws {
    var logger = Logger(label: "boogyman.admin-proxy-tests")
    logger.logLevel = .warning
    let configuration = AppConfiguration(
        host: "127.0.0.1", port: 0, database: .sqliteInMemory, trustedProxies: try TrustedProxies(parsing: "127.0.0.1, ::1, 10.0.0.0/8"))
    let database = try await GymServer.openDatabase(configuration, logger: logger)
    let hash = StaffPasswords.hash(AdminBrowser.password)
    _ = try await database.repository.createStaff(email: AdminBrowser.ownerEmail, name: "Olga Owner", role: .owner, passwordHash: hash)
    let app = GymServer.application(configuration, database: database, logger: logger)
    try await app.test(.live) { client in try await body(client, database.repository) }
}

@Suite("Admin UI: sign-in under attack")
struct SignInSecurityTests {
    @Test("Forty parallel wrong passwords for one account: five are checked, the rest and then the right password get 429")
    func parallelGuessesAreCountedBeforeTheCheck() async throws {
        try await withAdminServer { browser in
            let client = browser.client
            let form = try await SignInForm.load(client)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<40 {
                    group.addTask { try await form.post(client, email: AdminBrowser.ownerEmail, password: "wrong guess \(index)") }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .unauthorized }.count == 5)
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 35)
            #expect(try await form.post(client, email: AdminBrowser.ownerEmail, password: AdminBrowser.password) == .tooManyRequests)
        }
    }

    @Test("Without trusted proxies X-Forwarded-For is ignored: a forged header does not buy fresh attempts")
    func forwardedForIsIgnoredFromUntrustedPeers() async throws {
        try await withAdminServer { browser in
            let form = try await SignInForm.load(browser.client)
            for index in 0..<5 {
                let status = try await form.post(browser.client, email: AdminBrowser.ownerEmail, password: "wrong", forwardedFor: "203.0.113.\(index)")
                #expect(status == .unauthorized)
            }
            #expect(try await form.post(browser.client, email: AdminBrowser.ownerEmail, password: "wrong", forwardedFor: "198.51.100.200") == .tooManyRequests)
        }
    }

    @Test("Behind a trusted proxy each client is throttled by its own address, and entries a client forged are not believed")
    func trustedProxyNamesTheClient() async throws {
        try await withProxiedAdminServer { client, repository in
            let form = try await SignInForm.load(client)
            for _ in 0..<5 {
                #expect(try await form.post(client, email: AdminBrowser.ownerEmail, password: "wrong", forwardedFor: "203.0.113.5") == .unauthorized)
            }
            #expect(try await form.post(client, email: AdminBrowser.ownerEmail, password: "wrong", forwardedFor: "203.0.113.5") == .tooManyRequests)
            // The attacker prepends an address; the proxy appended the real one, which is what counts.
            #expect(try await form.post(client, email: AdminBrowser.ownerEmail, password: "wrong", forwardedFor: "198.51.100.7, 203.0.113.5") == .tooManyRequests)
            // Through a second, inner proxy of ours the client is still found.
            #expect(try await form.post(client, email: AdminBrowser.ownerEmail, password: "wrong", forwardedFor: "203.0.113.5, 10.1.2.3") == .tooManyRequests)
            // The owner at another address signs in: one attacker does not lock the account for everyone.
            #expect(try await form.post(client, email: AdminBrowser.ownerEmail, password: AdminBrowser.password, forwardedFor: "198.51.100.7") == .seeOther)
            let lock = try #require(try await repository.staffSignInLock(email: AdminBrowser.ownerEmail, limits: SignInLimits()))
            #expect(lock.addresses == ["203.0.113.5"])
            #expect(lock.everywhere == false)
        }
    }

    @Test("An owner sees why an account is locked, with the addresses, and can lift the lock")
    func ownerSeesAndLiftsLocks() async throws {
        try await withAdminServer { browser in
            let limits = SignInLimits()
            // Ten addresses, five failures each: the account-wide limit of 50.
            for host in 1...10 {
                for _ in 0..<5 {
                    let address = "198.51.100.\(host)"
                    #expect(try await browser.repository.admitStaffSignIn(email: AdminBrowser.deskEmail, clientAddress: address, limits: limits) == .allowed)
                    try await browser.repository.finishStaffSignIn(email: AdminBrowser.deskEmail, clientAddress: address, succeeded: false, limits: limits)
                }
            }
            let desk = AdminBrowser(client: browser.client, repository: browser.repository)
            let refused = try await desk.signIn(AdminBrowser.deskEmail)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.body.contains("An owner can see where they came from"))

            try await browser.signIn(AdminBrowser.ownerEmail)
            let settings = try await browser.get("/admin/settings")
            let row = try #require(settings.body.components(separatedBy: "<tr class=\"staff-row\"").first { $0.contains(AdminBrowser.deskEmail) })
            #expect(row.contains("locked until "))
            #expect(row.contains("after 50 failed sign-ins from 198.51.100."))
            #expect(row.contains("and 5 more"))
            let ownerRow = try #require(settings.body.components(separatedBy: "<tr class=\"staff-row\"").first { $0.contains(AdminBrowser.ownerEmail) })
            #expect(!ownerRow.contains("locked"))

            let deskID = try #require(try await browser.repository.staffAccounts().first { $0.email.value == AdminBrowser.deskEmail }?.id)
            #expect(try await browser.post("/admin/settings/staff/\(deskID)/unlock", [:]).status == .forbidden, "the form needs its CSRF token")
            let lifted = try await browser.post("/admin/settings/staff/\(deskID)/unlock", ["csrf": try #require(settings.csrf)])
            #expect(lifted.location == "/admin/settings?done=staff_unlocked")
            #expect(try await desk.signIn(AdminBrowser.deskEmail).status == .seeOther)
        }
    }
}

@Suite("Staff passwords")
struct StaffPasswordRuleTests {
    @Test("Common passwords, with or without a tail of digits, repeated patterns and the account's e-mail are refused", arguments: [
        "password123", "Password2026!", "qwertyuiop", "1234567890", "iloveyou123", "aaaaaaaaaaaa", "abcabcabcabc", "letmein!!!!",
    ])
    func commonPasswordsAreRefused(password: String) {
        #expect(StaffPasswords.problem(with: password)?.contains("most common") == true)
    }

    @Test("A password equal to the e-mail or its local part is refused, whatever the letter case")
    func emailIsNoPassword() {
        #expect(StaffPasswords.problem(with: "Dan.Desk@Gym.example", email: "dan.desk@gym.example")?.contains("e-mail") == true)
        #expect(StaffPasswords.problem(with: "DAN.DESKTOP", email: "dan.desktop@gym.example")?.contains("e-mail") == true)
        #expect(StaffPasswords.problem(with: "dan.desk likes rowing", email: "dan.desk@gym.example") == nil)
    }

    @Test("More than 72 bytes is refused with the reason, counting bytes rather than characters")
    func longPasswordsAreRefused() {
        let seventyTwo = String("the quick brown fox jumps over the lazy dog, then naps by the warm fire until dusk".prefix(72))
        #expect(seventyTwo.utf8.count == 72)
        #expect(StaffPasswords.problem(with: seventyTwo) == nil)
        #expect(StaffPasswords.problem(with: seventyTwo + "z")?.contains("72 bytes") == true)
        // 25 characters of 3 bytes each: short to the eye, 75 bytes to bcrypt.
        #expect(StaffPasswords.problem(with: String(repeating: "€", count: 25))?.contains("72 bytes") == true)
    }

    @Test("Changing to a common password in the account page is refused with the reason")
    func accountPageRefusesCommonPasswords() async throws {
        try await withAdminServer { browser in
            try await browser.signIn(AdminBrowser.deskEmail)
            let csrf = try await browser.sessionCSRF()
            let answer = try await browser.post("/admin/account/password", [
                "csrf": csrf, "current_password": AdminBrowser.password, "new_password": "Password2026", "repeat_password": "Password2026",
            ])
            #expect(answer.status == .unprocessableContent)
            #expect(answer.body.contains("most common passwords"))
            #expect(try await browser.repository.staffCredentials(email: AdminBrowser.deskEmail).map { StaffPasswords.verify(AdminBrowser.password, hash: $0.passwordHash) } == true)
        }
    }
}
