import Foundation
import GymCore
import GymStore
import Testing

@Suite("Admin UI: staff accounts")
struct StaffPagesTests {
    @Test("An owner disables a front-desk account: its open session ends at once and it cannot sign in until enabled again")
    func disablingSignsOutAndBlocksSignIn() async throws {
        try await withAdminServer { owner in
            let desk = AdminBrowser(client: owner.client, repository: owner.repository)
            try await desk.signIn(AdminBrowser.deskEmail)
            #expect(try await desk.get("/admin/members").status == .ok)

            try await owner.signIn(AdminBrowser.ownerEmail)
            let settings = try await owner.get("/admin/settings")
            let deskAccount = try #require(try await owner.repository.staffAccounts().first { $0.email.value == AdminBrowser.deskEmail })
            let ownerAccount = try #require(try await owner.repository.staffAccounts().first { $0.email.value == AdminBrowser.ownerEmail })
            #expect(settings.body.contains("/admin/settings/staff/\(deskAccount.id.uuidString)/disable"))
            #expect(!settings.body.contains("/admin/settings/staff/\(ownerAccount.id.uuidString)/disable"), "no button to disable oneself")

            let csrf = try await owner.sessionCSRF()
            let disabled = try await owner.post("/admin/settings/staff/\(deskAccount.id.uuidString)/disable", ["csrf": csrf])
            #expect(disabled.location == "/admin/settings?done=staff_disabled")
            #expect(try await desk.get("/admin/members").status == .seeOther, "the open session ended")
            let refused = try await desk.signIn(AdminBrowser.deskEmail)
            #expect(refused.status == .forbidden)
            #expect(refused.body.contains("This account is disabled."))

            // Disabling oneself by a forged post is refused as well.
            let selfDisable = try await owner.post("/admin/settings/staff/\(ownerAccount.id.uuidString)/disable", ["csrf": csrf])
            #expect(selfDisable.status == .conflict)

            _ = try await owner.post("/admin/settings/staff/\(deskAccount.id.uuidString)/enable", ["csrf": csrf])
            #expect(try await desk.signIn(AdminBrowser.deskEmail).status == .seeOther)
            // Front desk may not manage accounts.
            let deskCSRF = try await desk.sessionCSRF()
            #expect(try await desk.post("/admin/settings/staff/\(ownerAccount.id.uuidString)/disable", ["csrf": deskCSRF]).status == .forbidden)
        }
    }

    @Test("Changing one's password needs the current one, keeps the form's errors, and signs out the other sessions")
    func passwordChange() async throws {
        try await withAdminServer { desk in
            let elsewhere = AdminBrowser(client: desk.client, repository: desk.repository)
            try await elsewhere.signIn(AdminBrowser.deskEmail)
            try await desk.signIn(AdminBrowser.deskEmail)
            let csrf = try await desk.sessionCSRF()
            let newPassword = "a much better password"

            let wrong = try await desk.post("/admin/account/password", [
                "csrf": csrf, "current_password": "guess", "new_password": newPassword, "repeat_password": "different one",
            ])
            #expect(wrong.status == .unprocessableContent)
            #expect(wrong.body.contains("is not your current password"))
            #expect(wrong.body.contains("does not match the new password"))
            #expect(!wrong.body.contains(newPassword), "passwords are never echoed")
            #expect(try await elsewhere.get("/admin/members").status == .ok, "nothing changed")

            let changed = try await desk.post("/admin/account/password", [
                "csrf": csrf, "current_password": AdminBrowser.password, "new_password": newPassword, "repeat_password": newPassword,
            ])
            #expect(changed.location == "/admin/account?done=password_changed")
            #expect(try await desk.get("/admin/members").status == .ok, "this session stays")
            #expect(try await elsewhere.get("/admin/members").status == .seeOther, "the other session ended")
            #expect(try await elsewhere.signIn(AdminBrowser.deskEmail).status == .unauthorized)
            #expect(try await elsewhere.signIn(AdminBrowser.deskEmail, password: newPassword).status == .seeOther)
        }
    }
}
