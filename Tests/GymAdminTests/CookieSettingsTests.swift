import Foundation
import GymAdmin
import GymApp
import GymStore
import GymWeb
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@Suite("Admin UI: cookie settings")
struct CookieSettingsTests {
    @Test("BOOGYMAN_SECURE_COOKIES turns on Secure cookies; anything but true/false is refused")
    func secureCookiesSetting() throws {
        #expect(try AppConfiguration.resolve(environment: [:]).secureCookies == false)
        #expect(try AppConfiguration.resolve(environment: ["BOOGYMAN_SECURE_COOKIES": "true"]).secureCookies == true)
        #expect(try AppConfiguration.resolve(environment: ["BOOGYMAN_SECURE_COOKIES": "0"]).secureCookies == false)
        #expect(throws: ConfigurationError.self) { try AppConfiguration.resolve(environment: ["BOOGYMAN_SECURE_COOKIES": "maybe"]) }
    }

    @Test("With secure cookies on, the session and sign-in cookies carry Secure")
    func sessionCookieIsSecure() async throws {
        let logger = {
            var logger = Logger(label: "boogyman.admin-cookie-tests")
            logger.logLevel = .warning
            return logger
        }()
        let database = try GymDatabase(location: .sqliteInMemory, logger: logger)
        try await database.migrate()
        _ = try await database.repository.createStaff(
            email: AdminBrowser.ownerEmail, name: "Olga Owner", role: .owner, passwordHash: StaffPasswords.hash(AdminBrowser.password))
        let router = Router(context: APIContext.self)
        AdminRoutes(repository: database.repository, control: liveControl(database.repository), configuration: AdminConfiguration(secureCookies: true)).register(on: router)
        try await Application(router: router, logger: logger).test(.live) { client in
            let browser = AdminBrowser(client: client, repository: database.repository)
            let login = try await browser.get("/admin/login")
            #expect(login.setCookies.allSatisfy { $0.contains("Secure") && $0.contains("HttpOnly") && $0.contains("SameSite=Lax") })
            let answer = try await browser.signIn(AdminBrowser.ownerEmail)
            let session = try #require(answer.setCookies.first { $0.hasPrefix("bgm_session=") })
            #expect(session.contains("Secure"))
            #expect(session.contains("Path=/admin"))
        }
        await database.shutdown()
    }
}

@Suite("Admin UI: trusted proxies setting")
struct TrustedProxiesSettingTests {
    @Test("BOOGYMAN_TRUSTED_PROXIES lists addresses and CIDR blocks; a bad entry stops the start with its name")
    func trustedProxiesSetting() throws {
        #expect(try AppConfiguration.resolve(environment: [:]).trustedProxies.ranges.isEmpty)
        let proxies = try AppConfiguration.resolve(environment: ["BOOGYMAN_TRUSTED_PROXIES": "10.0.0.0/8, 2001:db8::1"]).trustedProxies
        #expect(proxies.trusts("10.20.30.40"))
        #expect(proxies.trusts("2001:db8::1"))
        #expect(!proxies.trusts("192.0.2.1"))
        #expect {
            try AppConfiguration.resolve(environment: ["BOOGYMAN_TRUSTED_PROXIES": "10.0.0.0/8, my-proxy"])
        } throws: { error in
            "\(error)".contains("my-proxy")
        }
    }
}
