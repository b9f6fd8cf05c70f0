import Foundation
import GymCore
import GymStore
import Testing

@Suite("Admin UI: members list by status")
struct MemberStatusSortTests {
    /// (member ID, status code) of each row of the list, in order.
    static func rows(_ body: String) -> [(id: String, status: String)] {
        section(body, id: "member-rows", tag: "tbody").components(separatedBy: "data-member-id=\"").dropFirst().compactMap { row in
            guard let id = row.split(separator: "\"").first,
                  let statusStart = row.range(of: "data-status=\"")
            else { return nil }
            return (String(id), String(row[statusStart.upperBound...].prefix { $0 != "\"" }))
        }
    }

    /// The next page's link, unescaped, or nil on the last page.
    static func nextLink(_ body: String) -> String? {
        guard let start = body.range(of: "id=\"next-page\" rel=\"next\" href=\"") else { return nil }
        return String(body[start.upperBound...].prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&")
    }

    @Test("By status, the list shows one status after the other, each by name, and pages to the end with every member once")
    func statusOrderPagesToTheEnd() async throws {
        try await withAdminServer { browser in
            let repository = browser.repository
            let zone = TimeZone(identifier: "Europe/Bucharest")!
            let club = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: zone.identifier))
            let plan = try await repository.createPlan(PlanDraft(name: "Unlimited", clubIDs: [club.id]))
            let today = LocalDate(containing: Date(), in: zone)
            var expected: [String: String] = [:]
            // Names whose order mixes the statuses: Zed00 active, Zed01 without a subscription, Zed02 frozen …
            for index in 0..<70 {
                let member = try await repository.createMember(
                    MemberDraft(firstName: "Ana", lastName: String(format: "Zed%02d", index), email: "ana\(index)@example.com"))
                switch index % 3 {
                case 0:
                    _ = try await repository.createSubscription(SubscriptionDraft(
                        memberID: member.id, planID: plan.id, startDate: today.adding(days: -30), paidThrough: today.adding(days: 30)))
                    expected[member.id.uuidString] = "active"
                case 1:
                    expected[member.id.uuidString] = "no_subscription"
                default:
                    let subscription = try await repository.createSubscription(SubscriptionDraft(
                        memberID: member.id, planID: plan.id, startDate: today.adding(days: -30), paidThrough: today.adding(days: 30)))
                    _ = try await repository.freeze(subscription.id, span: DateSpan(first: today.adding(days: -1), last: today.adding(days: 5)))
                    expected[member.id.uuidString] = "frozen"
                }
            }
            _ = try await browser.signIn(AdminBrowser.ownerEmail)
            var seen: [(id: String, status: String)] = []
            var link: String? = "/admin/members?sort=status"
            var pages = 0
            while let path = link, pages < 5 {
                let page = try await browser.get(path)
                #expect(page.status == .ok, "\(path)")
                if pages == 0 {
                    #expect(page.body.contains("<option value=\"status\" selected>Status</option>"))
                    #expect(page.body.contains("1–50 of 70 members"))
                }
                seen += Self.rows(page.body)
                link = Self.nextLink(page.body)
                if let link { #expect(link.contains("sort=status") && link.contains("group=")) }
                pages += 1
            }
            #expect(pages == 2)
            #expect(seen.count == 70)
            #expect(Set(seen.map(\.id)).count == 70, "every member once")
            #expect(seen.allSatisfy { expected[$0.id] == $0.status })
            // Active first, then frozen, and those without a subscription last; by name within each.
            let order = ["active", "frozen", "no_subscription"]
            #expect(seen.map(\.status) == order.flatMap { status in [String](repeating: status, count: expected.values.filter { $0 == status }.count) })
            for status in order {
                let ids = seen.filter { $0.status == status }.map(\.id)
                var names: [String] = []
                for id in ids { names.append(try await repository.member(try #require(UUID(uuidString: id))).lastName) }
                #expect(names == names.sorted(), "\(status) by name")
            }
            #expect(try await browser.get("/admin/members?sort=status&group=asleep").status == .badRequest)
        }
    }

    @Test("Search as you type answers the list with its count line and next-page link, not the rows alone")
    func liveSearchCarriesTheCount() async throws {
        try await withAdminServer { browser in
            for index in 0..<7 {
                _ = try await browser.repository.createMember(MemberDraft(
                    firstName: index == 3 ? "Sorina" : "Ana", lastName: index == 3 ? "Searchable" : "Zed\(index)", email: "m\(index)@example.com"))
            }
            _ = try await browser.signIn(AdminBrowser.ownerEmail)
            let list = try await browser.get("/admin/members/rows?q=searchable")
            #expect(list.status == .ok)
            #expect(list.body.contains("id=\"member-count\" data-total=\"1\""))
            #expect(list.body.contains("1–1 of 1 members matching “searchable”."))
            #expect(Self.rows(list.body).count == 1)
            let page = try await browser.get("/admin/members")
            #expect(page.body.contains("data-target=\"member-list\""))
            #expect(page.body.contains("<div id=\"member-list\"><p class=\"list-count\" id=\"member-count\" data-total=\"7\""))
        }
    }
}
