import Foundation
import GymCore
import GymStore
import Testing

@Suite("Admin UI: members list order")
struct MemberSortTests {
    static func memberIDs(_ body: String) -> [String] {
        body.components(separatedBy: "data-member-id=\"").dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) }
    }

    @Test("Newest members first pages by offset to the end with every member once; oldest first is its reverse; an unknown order is refused")
    func joinedOrderPagesToTheEnd() async throws {
        try await withAdminServer { browser in
            var created: [String] = []
            for index in 0..<60 {
                // Names against the join order, so that the order by name would differ.
                let member = try await browser.repository.createMember(
                    MemberDraft(firstName: "Ana", lastName: String(format: "Zed%02d", 99 - index), email: "ana\(index)@example.com"))
                created.append(member.id.uuidString)
            }
            _ = try await browser.signIn(AdminBrowser.ownerEmail)
            let first = try await browser.get("/admin/members?sort=joined")
            #expect(first.status == .ok)
            let firstIDs = Self.memberIDs(section(first.body, id: "member-rows", tag: "tbody"))
            #expect(firstIDs == Array(created.reversed().prefix(50)))
            #expect(first.body.contains("<option value=\"joined\" selected>"))
            #expect(first.body.contains("href=\"/admin/members?sort=joined&amp;offset=50&amp;from=51\""))
            let second = try await browser.get("/admin/members?sort=joined&offset=50&from=51")
            let secondIDs = Self.memberIDs(section(second.body, id: "member-rows", tag: "tbody"))
            #expect(secondIDs == Array(created.reversed().dropFirst(50)))
            #expect(second.body.contains("51–60 of 60 members"))
            #expect(!second.body.contains("id=\"next-page\""))

            let oldest = try await browser.get("/admin/members?sort=joined_oldest")
            #expect(Self.memberIDs(section(oldest.body, id: "member-rows", tag: "tbody")) == Array(created.prefix(50)))
            #expect(try await browser.get("/admin/members?sort=shoe_size").status == .badRequest)
            #expect(try await browser.get("/admin/members?sort=joined&offset=-5").status == .badRequest)
        }
    }

    @Test("Subscriptions list by start date both ways, the order kept by the next page's link")
    func subscriptionsByStartDate() async throws {
        try await withAdminServer { browser in
            let repository = browser.repository
            let club = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest"))
            let plan = try await repository.createPlan(PlanDraft(name: "Unlimited", clubIDs: [club.id]))
            let today = LocalDate(containing: Date(), in: TimeZone(identifier: "Europe/Bucharest")!)
            for index in 0..<105 {
                let member = try await repository.createMember(MemberDraft(firstName: "Bo", lastName: "Sub\(index)", email: "bo\(index)@example.com"))
                _ = try await repository.createSubscription(SubscriptionDraft(
                    memberID: member.id, planID: plan.id, startDate: today.adding(days: -index), paidThrough: today.adding(days: 30)))
            }
            _ = try await browser.signIn(AdminBrowser.ownerEmail)
            func starts(_ body: String) -> [String] {
                body.components(separatedBy: "data-start=\"").dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) }
            }
            let latest = starts(try await browser.get("/admin/subscriptions").body)
            #expect(latest.first == today.description && latest == latest.sorted(by: >))
            let oldestPage = try await browser.get("/admin/subscriptions?sort=oldest")
            let oldest = starts(oldestPage.body)
            #expect(oldest.count == 100 && oldest.first == today.adding(days: -104).description && oldest == oldest.sorted())
            #expect(oldestPage.body.contains("<option value=\"oldest\" selected>"))
            let next = try #require(oldestPage.body.components(separatedBy: "id=\"next-page\" rel=\"next\" href=\"").dropFirst().first?
                .split(separator: "\"").first).replacingOccurrences(of: "&amp;", with: "&")
            #expect(next.contains("sort=oldest"))
            #expect(starts(try await browser.get(next).body).sorted() == (0..<5).map { today.adding(days: -4 + $0).description })
            #expect(try await browser.get("/admin/subscriptions?sort=sideways").status == .badRequest)
        }
    }
}
