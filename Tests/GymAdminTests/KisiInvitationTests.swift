import AccessSync
import Foundation
import GymAdmin
import GymStore
import KisiAPI
@testable import KisiSandbox
import Testing

@Suite("Admin UI: resending Kisi invitations")
struct KisiInvitationTests {
    @Test("Resending an invitation asks Kisi to notify the member about their grant, or invites them again when the grant was removed; journaled, one role assignment")
    func resendInvitation() async throws {
        try await KisiAdminGym.run(mode: .invitations) { gym in
            _ = try await gym.engine.reconcileAll()  // the sync invites Ana: her Kisi user and her grant
            let links = try await gym.repository.kisiLinks()
            let userID = try #require(links.users[gym.member.id])
            let groupID = try #require(links.groups[.plan(gym.planID)])
            #expect(try await gym.assignments(userID: userID).count == 1)

            let desk = try await gym.browser(AdminBrowser.deskEmail)
            let memberPage = try await desk.get("/admin/members/\(gym.member.id)")
            #expect(memberPage.body.contains("id=\"resend-invite\""))
            let csrf = try #require(memberPage.csrf)

            // Ana holds door access in the group, and Kisi allows one role per user and group: rather than a
            // second invite, her assignment is updated with `notify`, which makes Kisi e-mail her; nothing
            // else about it changes.
            let before = try #require(try await gym.assignments(userID: userID).first)
            let notified = try await desk.post("/admin/members/\(gym.member.id)/invite", ["csrf": csrf])
            #expect(notified.status == .seeOther)
            // The page waits a few seconds for the leader; a loaded machine may answer "queued" first.
            let first = try await settledResends(gym.repository, memberID: gym.member.id, count: 1)
            #expect(first.map(\.status) == [.succeeded])
            #expect(first.first?.kisiObjectType == "role_assignment")
            #expect(first.first?.kisiObjectID == before.id)
            #expect(first.first?.actor == "staff:\(AdminBrowser.deskEmail)")
            let after = try #require(try await gym.assignments(userID: userID).first)
            #expect(after.id == before.id && after.notify == true)
            #expect(Planner.sameSecond(after.validUntil, before.validUntil))
            #expect(await gym.sandbox.store.state.events.contains { $0.type == "role_assignment.update" && $0.objectId == before.id })
            _ = try await gym.engine.reconcile(memberIDs: [gym.member.id])
            #expect(try await gym.assignments(userID: userID).count == 1)

            // Someone removed Ana's access by hand in Kisi's dashboard: the invite goes through, with the
            // grant's validity, and Kisi e-mails her.
            let invitesBefore = await gym.sandbox.store.state.invites.count
            let assignment = try #require(try await gym.assignments(userID: userID).first)
            _ = try await gym.engine.client.deleteRoleAssignment(id: assignment.id)
            let resent = try await desk.post("/admin/members/\(gym.member.id)/invite", ["csrf": csrf])
            #expect(resent.status == .seeOther)
            let notice = try await desk.get(try #require(resent.location)).body
            #expect(notice.contains("Kisi sent the invitation again.") || notice.contains("The invitation is queued"))
            let journal = try await settledResends(gym.repository, memberID: gym.member.id, count: 2)
            let state = await gym.sandbox.store.state
            #expect(state.invites.count == invitesBefore + 1)
            let invite = try #require(state.invites.values.max { $0.id < $1.id })
            #expect(invite.userId == userID)
            #expect(invite.groupId == groupID)
            #expect(invite.notify)
            #expect(state.events.contains { $0.type == "invite.create" && $0.objectId == invite.id })
            #expect(journal.map(\.status) == [.succeeded, .succeeded])
            #expect(journal.first?.kisiObjectID == invite.id)
            #expect(journal.first?.actor == "staff:\(AdminBrowser.deskEmail)")
            #expect(journal.first?.requestJSON?.contains("\"notify\":true") == true)

            // The sync finds the grant it wants in Kisi: still exactly one assignment, with the grant's window.
            let grant = try #require(try await gym.engine.desiredState(at: Date()).grants.first { $0.memberID == gym.member.id })
            let report = try await gym.engine.reconcile(memberIDs: [gym.member.id])
            #expect(report.failures.isEmpty)
            let assignments = try await gym.assignments(userID: userID)
            #expect(assignments.count == 1)
            #expect(Planner.sameSecond(assignments.first?.validFrom, grant.window.from))
            #expect(Planner.sameSecond(assignments.first?.validUntil, grant.window.until))
        }
    }

    @Test("In managed-user mode the member page has no resend button and says why; posting anyway sends nothing")
    func noResendForManagedUsers() async throws {
        try await KisiAdminGym.run(mode: .managed) { gym in
            _ = try await gym.engine.reconcileAll()
            #expect(try await gym.repository.kisiLinks().users[gym.member.id] != nil)
            let desk = try await gym.browser(AdminBrowser.deskEmail)
            let memberPage = try await desk.get("/admin/members/\(gym.member.id)")
            #expect(memberPage.status == .ok)
            #expect(!memberPage.body.contains("resend-invite"))
            #expect(memberPage.body.contains("Managed Kisi users get no e-mail from Kisi."))
            let posted = try await desk.post("/admin/members/\(gym.member.id)/invite", ["csrf": try #require(memberPage.csrf)])
            #expect(posted.status == .badRequest)
            #expect(try await gym.repository.kisiWrites(KisiWriteFilter(action: "resend_invite")).items.isEmpty)
            #expect(await gym.sandbox.store.state.invites.isEmpty)
        }
    }
}

/// The member's journalled invitation resends once `count` of them have an outcome (up to 30 s).
private func settledResends(_ repository: GymRepository, memberID: UUID, count: Int) async throws -> [KisiWrite] {
    var writes: [KisiWrite] = []
    for _ in 0..<300 {
        writes = try await repository.kisiWrites(KisiWriteFilter(memberID: memberID, action: "resend_invite")).items
        if writes.count >= count, !writes.contains(where: { $0.status == .pending }) { return writes }
        try await Task.sleep(for: .milliseconds(100))
    }
    return writes
}
