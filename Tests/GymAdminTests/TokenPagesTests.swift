import Foundation
import GymAdmin
import GymStore
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Admin UI: API tokens")
struct TokenPagesTests {
    func apiStatus(_ client: any TestClientProtocol, token: String) async throws -> HTTPResponse.Status {
        try await client.execute(uri: "/api/v1/members", method: .get, headers: [.authorization: "Bearer \(token)"]) { $0.status }
    }

    @Test("Owners see each token's name, creation and last use, and revoke one with the form; the API refuses it at once")
    func ownersRevokeTokens() async throws {
        try await withAdminServer { browser in
            let (tablet, secret) = try await browser.repository.createAPIToken(name: "front desk tablet")
            _ = try await browser.repository.createAPIToken(name: "accounting export")
            #expect(try await apiStatus(browser.client, token: secret) == .ok)

            try await browser.signIn(AdminBrowser.ownerEmail)
            let settings = try await browser.get("/admin/settings")
            let rows = settings.body.components(separatedBy: "<tr class=\"token-row\"").dropFirst()
            #expect(rows.count == 2)
            let row = try #require(rows.first { $0.contains("front desk tablet") })
            #expect(!row.contains("never"), "the API call just now is its last use")
            #expect(row.contains(" UTC"))
            #expect(try #require(rows.first { $0.contains("accounting export") }).contains("never"))

            #expect(try await browser.post("/admin/settings/tokens/\(tablet.id)/revoke", [:]).status == .forbidden)
            #expect(try await apiStatus(browser.client, token: secret) == .ok)
            let revoked = try await browser.post("/admin/settings/tokens/\(tablet.id)/revoke", ["csrf": try #require(settings.csrf)])
            #expect(revoked.location == "/admin/settings?done=token_revoked#tokens")
            #expect(try await apiStatus(browser.client, token: secret) == .unauthorized)
            let after = try await browser.get("/admin/settings?done=token_revoked")
            #expect(after.body.contains("API token revoked"))
            #expect(!after.body.contains("front desk tablet"))
        }
    }

    @Test("Front desk cannot revoke tokens, even with its own session's CSRF token")
    func frontDeskCannotRevoke() async throws {
        try await withAdminServer { browser in
            let (token, secret) = try await browser.repository.createAPIToken(name: "kiosk")
            try await browser.signIn(AdminBrowser.deskEmail)
            let csrf = try await browser.sessionCSRF()
            #expect(try await browser.post("/admin/settings/tokens/\(token.id)/revoke", ["csrf": csrf]).status == .forbidden)
            #expect(try await apiStatus(browser.client, token: secret) == .ok)
        }
    }
}
