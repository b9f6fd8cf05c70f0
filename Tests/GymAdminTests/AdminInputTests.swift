import Foundation
import GymCore
import GymStore
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Admin UI: hostile input")
struct AdminInputTests {
    @Test("A form body over 64 KB answers 413 with a message, signed in or not, and the server keeps serving")
    func oversizedForms() async throws {
        try await withAdminServer { browser in
            let huge = String(repeating: "x", count: 100 * 1024)
            let anonymous = try await browser.post("/admin/login", ["email": AdminBrowser.ownerEmail, "password": huge])
            #expect(anonymous.status == .contentTooLarge)
            #expect(anonymous.body.contains("64 KB"))
            #expect(anonymous.headers[.contentType]?.hasPrefix("text/html") == true)

            try await browser.signIn(AdminBrowser.ownerEmail)
            let csrf = try await browser.sessionCSRF()
            let before = try await browser.repository.members().total
            let signedIn = try await browser.post("/admin/members", [
                "csrf": csrf, "first_name": "Ana", "last_name": "Pop", "email": "ana@example.com", "notes": huge,
            ])
            #expect(signedIn.status == .contentTooLarge)
            #expect(try await browser.repository.members().total == before)
            #expect(try await browser.get("/admin").status == .ok)
        }
    }

    @Test("The adopted users list refuses an offset outside 0...Int32.max with 400 and keeps serving", arguments: [
        "9223372036854775807", "-1", "2147483648", "1e3", "99999999999999999999999",
    ])
    func adoptionOffset(offset: String) async throws {
        try await withAdminServer { browser in
            try await browser.signIn(AdminBrowser.ownerEmail)
            let page = try await browser.get("/admin/kisi/adoption?offset=\(offset)")
            #expect(page.status == .badRequest)
            #expect(page.body.contains("offset"))
            #expect(try await browser.get("/admin/kisi/adoption?offset=2147483647").status == .ok)
            #expect(try await browser.get("/admin").status == .ok)
        }
    }

    @Test("A member form with control characters or over-long notes is refused per field and saves nothing")
    func memberFormRules() async throws {
        try await withAdminServer { browser in
            try await browser.signIn(AdminBrowser.ownerEmail)
            let csrf = try await browser.sessionCSRF()
            for (field, value) in [("first_name", "Ana\u{0}Evil"), ("notes", String(repeating: "n", count: 2_001)), ("email", "ana\u{7}@example.com")] {
                var form = ["csrf": csrf, "first_name": "Ana", "last_name": "Pop", "email": "ana@example.com"]
                form[field] = value
                let page = try await browser.post("/admin/members", form)
                #expect(page.status == .unprocessableContent, "\(field)")
                #expect(try await browser.repository.members().total == 0)
            }
        }
    }

    @Test("The audit log's filters refuse years outside 1900–2200 and control characters; so does member search")
    func auditDateBounds() async throws {
        try await withAdminServer { browser in
            try await browser.signIn(AdminBrowser.ownerEmail)
            #expect(try await browser.get("/admin/audit?from=9999-12-31").status == .badRequest)
            #expect(try await browser.get("/admin/audit?until=0001-01-01").status == .badRequest)
            #expect(try await browser.get("/admin/audit?from=2026-01-01").status == .ok)
            #expect(try await browser.get("/admin/audit?action=create%00Grant").status == .badRequest)
            #expect(try await browser.get("/admin/members?q=ana%00").status == .badRequest)
            #expect(try await browser.get("/admin/members/rows?q=" + String(repeating: "a", count: 201)).status == .badRequest)
        }
    }
}
