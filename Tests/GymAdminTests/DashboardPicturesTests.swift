import Foundation
import GymCore
import GymStore
import Testing

@Suite("Admin UI: dashboard pictures and attendance")
struct DashboardPicturesTests {
    /// Every `data-hour`/`data-count` pair of the page's hourly bars, in order.
    static func hourlyCounts(_ body: String) -> [Int: Int] {
        var counts: [Int: Int] = [:]
        var rest = Substring(body)
        while let bar = rest.range(of: "data-hour=\"") {
            rest = rest[bar.upperBound...]
            guard let hourEnd = rest.firstIndex(of: "\""), let hour = Int(rest[..<hourEnd]),
                  let countStart = rest.range(of: "data-count=\"")
            else { break }
            let afterCount = rest[countStart.upperBound...]
            guard let countEnd = afterCount.firstIndex(of: "\""), let count = Int(afterCount[..<countEnd]) else { break }
            counts[hour] = count
            rest = afterCount[countEnd...]
        }
        return counts
    }

    static func event(_ id: String, at instant: Date, user: Int? = nil, success: Bool = true) -> DoorEvent {
        DoorEvent(
            kisiUUID: id, occurredAt: instant, lockID: 11, lockName: "Entrance", placeID: 1001, kisiUserID: user, actorName: nil,
            success: success, message: nil)
    }

    /// Two check-ins at 00:xx and one in the current hour (the refusal is not a check-in).
    static func expectedHours(hourNow: Int) -> [Int: Int] {
        var expected = [Int: Int]()
        for hour in 0..<24 { expected[hour] = 0 }
        expected[0, default: 0] += 2
        expected[hourNow, default: 0] += 1
        return expected
    }

    @Test("the dashboard's hourly bars carry the check-ins stored for today, filed under the club's local hour; the attendance page lists an active member who stopped coming, and its CSV keeps UTC")
    func picturesFollowTheStoredEvents() async throws {
        try await withAdminServer { browser in
            let repository = browser.repository
            let zone = TimeZone(identifier: "Europe/Bucharest")!
            let club = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: zone.identifier, kisiPlaceID: 1001, kisiLockIDs: [11]))
            let plan = try await repository.createPlan(PlanDraft(name: "Unlimited", clubIDs: [club.id]))
            let member = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Absent", email: "ana@example.com"))
            let today = LocalDate(containing: Date(), in: zone)
            _ = try await repository.createSubscription(SubscriptionDraft(
                memberID: member.id, planID: plan.id, startDate: today.adding(days: -60), paidThrough: today.adding(days: 30)))
            try await repository.setKisiUserLink(memberID: member.id, userID: 4242)

            // Today just after local midnight (twice, and a refusal) and now; 20 days ago the member's last visit.
            let midnight = today.startOfDay(in: zone)
            let now = Date()
            let events = [
                Self.event("a", at: midnight.addingTimeInterval(1)), Self.event("b", at: midnight.addingTimeInterval(2)),
                Self.event("c", at: midnight.addingTimeInterval(3), success: false), Self.event("d", at: now.addingTimeInterval(-1)),
                Self.event("e", at: now.addingTimeInterval(-20 * 86_400), user: 4242),
            ]
            for event in events { try await repository.recordDoorEvent(event) }
            _ = try await browser.signIn(AdminBrowser.ownerEmail)
            let dashboard = try await browser.get("/admin")
            #expect(dashboard.status == .ok)
            let pictures = section(dashboard.body, id: "pictures")
            let hourly = Self.hourlyCounts(String(pictures[..<(pictures.range(of: "class=\"chart daily\"")?.lowerBound ?? pictures.endIndex)]))
            #expect(hourly.count == 24)
            let hourNow = Calendar.current.dateComponents(in: zone, from: now).hour ?? 0
            let expected = Self.expectedHours(hourNow: hourNow)
            #expect(hourly == expected)
            #expect(pictures.contains("1 refused today"))

            let attendance = try await browser.get("/admin/attendance?days=14")
            #expect(attendance.status == .ok)
            let churn = section(attendance.body, id: "churn")
            #expect(churn.contains("Ana Absent"))
            #expect(churn.contains("(20 days)"))
            let month = try await browser.get("/admin/attendance?days=30")
            #expect(!month.body.contains("Ana Absent"), "seen 20 days ago: not absent for 30")
            let week = try await browser.get("/admin/attendance?days=7")
            #expect(week.status == .badRequest)
            let csv = try await browser.get("/admin/attendance/churn.csv?days=14")
            #expect(csv.status == .ok)
            let lines = csv.body.split(separator: "\r\n")
            #expect(lines.count == 2)
            #expect(lines.last?.contains("Ana Absent") == true)
            #expect(lines.last?.contains((now.addingTimeInterval(-20 * 86_400)).formatted(.iso8601)) == true)
            // The front desk sees the dashboard but not the attendance page.
            _ = try await browser.post("/admin/logout", ["csrf": try await browser.sessionCSRF()])
            _ = try await browser.signIn(AdminBrowser.deskEmail)
            let refused = try await browser.get("/admin/attendance")
            #expect(refused.status == .forbidden)
        }
    }
}
