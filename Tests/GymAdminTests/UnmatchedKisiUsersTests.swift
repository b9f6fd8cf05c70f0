import AccessSync
import Foundation
import GymCore
import GymStore
import KisiAPI
import Testing

@Suite("Admin UI: Kisi users who are not members")
struct UnmatchedKisiUsersTests {
    @Test("The adoption page lists Kisi users no member stands for; creating a member from one links it, and the sync then adopts that user instead of creating another")
    func createMemberFromKisiUser() async throws {
        try await KisiAdminGym.run(mode: .managed) { gym in
            let walter = try await gym.engine.client.createUser(KisiUserCreate(
                email: "walter.inn@example.com", name: "Walter van Inn", sendEmails: false, confirm: true)).id
            let mononym = try await gym.engine.client.createUser(KisiUserCreate(
                email: "prince@example.com", name: "Prince", sendEmails: false, confirm: true)).id
            // A Kisi user with a member's e-mail is the sync's to adopt, not a stranger.
            let anasUser = try await gym.engine.client.createUser(KisiUserCreate(
                email: KisiAdminGym.memberEmail, name: "Ana Twice", sendEmails: false, confirm: true)).id

            let owner = try await gym.browser(AdminBrowser.ownerEmail)
            let page = try await owner.get("/admin/kisi/adoption")
            #expect(page.status == .ok)
            #expect(page.body.contains("Kisi users who are not members"))
            #expect(page.body.contains("class=\"unmatched-user\" data-user-id=\"\(walter)\""))
            #expect(page.body.contains("class=\"unmatched-user\" data-user-id=\"5\""), "the demo organization's cleaning crew")
            #expect(!page.body.contains("data-user-id=\"\(anasUser)\""), "Ana's e-mail belongs to a member")
            #expect(page.body.contains("action=\"/admin/kisi/unmatched/\(walter)/member\""))
            #expect(!page.body.contains("action=\"/admin/kisi/unmatched/\(mononym)/member\""), "one word is no first and last name")
            let csrf = try #require(page.csrf)

            // Managers only, and never without the CSRF token.
            let desk = try await gym.browser(AdminBrowser.deskEmail)
            #expect(try await desk.get("/admin/kisi/adoption").status == .forbidden)
            #expect(try await desk.post("/admin/kisi/unmatched/\(walter)/member", ["csrf": try await desk.sessionCSRF()]).status == .forbidden)
            #expect(try await owner.post("/admin/kisi/unmatched/\(walter)/member", ["csrf": "forged"]).status == .forbidden)
            #expect(try await gym.repository.member(email: "walter.inn@example.com") == nil)
            #expect(try await owner.post("/admin/kisi/unmatched/\(mononym)/member", ["csrf": csrf]).status == .badRequest)
            #expect(try await owner.post("/admin/kisi/unmatched/99999999/member", ["csrf": csrf]).status == .notFound)

            let before = try await gym.lastChangeID()
            let created = try await owner.post("/admin/kisi/unmatched/\(walter)/member", ["csrf": csrf])
            #expect(created.status == .seeOther)
            let member = try #require(try await gym.repository.member(email: "walter.inn@example.com"))
            #expect(member.firstName == "Walter van" && member.lastName == "Inn")
            #expect(created.location == "/admin/members/\(member.id)?done=created")
            #expect(try await gym.repository.kisiUserIDs(memberIDs: [member.id]) == [member.id: walter])
            let journal = try await gym.repository.kisiWrites(
                KisiWriteFilter(memberID: member.id, action: GymRepository.createMemberFromKisiUserAction)).items
            #expect(journal.map(\.actor) == ["staff:\(AdminBrowser.ownerEmail)"])
            #expect(try await gym.repository.accessChanges(after: before).map(\.memberID) == [member.id])
            #expect(try await owner.post("/admin/kisi/unmatched/\(walter)/member", ["csrf": csrf]).status == .badRequest, "a second click creates nothing")
            #expect(!(try await owner.get("/admin/kisi/adoption").body.contains("class=\"unmatched-user\" data-user-id=\"\(walter)\"")))

            // Sold a plan, the member's door access goes to the linked Kisi user; no second user appears.
            let today = LocalDate(containing: Date(), in: TimeZone(identifier: "Europe/Bucharest")!)
            let sale = try await gym.lastChangeID()
            _ = try await gym.repository.createSubscription(SubscriptionDraft(
                memberID: member.id, planID: gym.planID, startDate: today, paidThrough: today.adding(days: 30)))
            let report = try await gym.syncChanges(after: sale)
            #expect(report.failures.isEmpty)
            #expect(try await gym.assignments(userID: walter).count == 1)
            #expect(try await gym.engine.client.allUsers(filter: KisiUserFilter(email: "walter.inn@example.com")).collect().map(\.id) == [walter])
        }
    }
}
