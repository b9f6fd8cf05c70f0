import Foundation
import GymCore
import GymStore
import Testing

@Suite("Admin UI: Kisi users page, paged")
struct AdoptionPagingTests {
    @Test("Kisi users BooGYMan created page to the end, and paging one list keeps the others where they are")
    func createdUsersPageToTheEnd() async throws {
        try await withAdminServer { browser in
            let repository = browser.repository
            for index in 0..<55 {
                let member = try await repository.createMember(
                    MemberDraft(firstName: "Ana", lastName: String(format: "Created%02d", index), email: "ana\(index)@example.com"))
                try await repository.setKisiUserLink(memberID: member.id, userID: 1_000 + index)
                let write = try await repository.beginKisiWrite(action: "createUser", kisiObjectType: "user", memberID: member.id, reason: "test")
                try await repository.finishKisiWrite(id: write, status: .succeeded, kisiObjectID: 1_000 + index)
            }
            let adopted = try await repository.createMember(MemberDraft(firstName: "Bo", lastName: "Adopted", email: "bo@example.com"))
            try await repository.setKisiUserLink(memberID: adopted.id, userID: 7)
            _ = try await browser.signIn(AdminBrowser.ownerEmail)

            let first = try await browser.get("/admin/kisi/adoption?kisi_offset=100")
            #expect(first.status == .ok)
            let created = section(first.body, id: "created")
            #expect(created.components(separatedBy: "<tr class=\"created\"").count - 1 == 50)
            #expect(created.contains("Created 1–50 of 55."))
            #expect(created.contains("id=\"created-next\" href=\"/admin/kisi/adoption?created_offset=50&amp;kisi_offset=100#created\""))
            #expect(!created.contains("Bo Adopted"), "an adopted user is not listed as created")
            #expect(section(first.body, id: "matched").contains("Bo Adopted"))

            let last = try await browser.get("/admin/kisi/adoption?created_offset=50&kisi_offset=100")
            let rest = section(last.body, id: "created")
            #expect(rest.components(separatedBy: "<tr class=\"created\"").count - 1 == 5)
            #expect(rest.contains("Ana Created54"))
            #expect(!rest.contains("created-next"))
            #expect(rest.contains("id=\"created-previous\" href=\"/admin/kisi/adoption?kisi_offset=100#created\""))
            #expect(try await browser.get("/admin/kisi/adoption?created_offset=-1").status == .badRequest)
        }
    }
}
