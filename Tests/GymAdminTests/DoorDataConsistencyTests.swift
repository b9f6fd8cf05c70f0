import Foundation
import GymApp
import GymCore
import GymStore
import Logging
import Testing
@testable import GymAdmin

@Suite("Admin UI: stored door data, counted alike everywhere")
struct DoorDataConsistencyTests {
    static func event(_ id: String, at instant: Date, success: Bool = true) -> DoorEvent {
        DoorEvent(
            kisiUUID: id, occurredAt: instant, lockID: 11, lockName: "Entrance", placeID: 1001, kisiUserID: nil, actorName: nil,
            success: success, message: success ? nil : "Denied")
    }

    @Test("Without Kisi the dashboard's today counts the stored check-ins the charts show, and says no new door events arrive and how old the latest is")
    func todayWithoutKisi() async throws {
        try await withAdminServer { browser in
            let repository = browser.repository
            let zone = TimeZone(identifier: "Europe/Bucharest")!
            _ = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: zone.identifier, kisiPlaceID: 1001, kisiLockIDs: [11]))
            _ = try await repository.createClub(ClubDraft(name: "Floreasca", timeZoneIdentifier: zone.identifier, kisiPlaceID: 1002, kisiLockIDs: [21]))
            let now = Date()
            let midnight = LocalDate(containing: now, in: zone).startOfDay(in: zone)
            // Two check-ins and a refusal since the club's midnight, one check-in the day before.
            for event in [
                Self.event("t1", at: midnight.addingTimeInterval(1)), Self.event("t2", at: now.addingTimeInterval(-1)),
                Self.event("t3", at: midnight.addingTimeInterval(2), success: false), Self.event("y1", at: midnight.addingTimeInterval(-3600)),
            ] { try await repository.recordDoorEvent(event) }
            _ = try await browser.signIn(AdminBrowser.ownerEmail)
            let dashboard = try await browser.get("/admin")
            #expect(dashboard.status == .ok)
            let checkIns = section(dashboard.body, id: "check-ins").replacingOccurrences(of: "&#39;", with: "'")
            #expect(!checkIns.contains("class=\"error\""), "\(checkIns)")
            #expect(checkIns.contains("<td>Old Town</td><td class=\"check-in-count\">2</td><td class=\"denied-count\">1</td>"), "\(checkIns)")
            #expect(checkIns.contains("id=\"door-data-stale\""))
            #expect(checkIns.contains("Kisi is not connected, so no new door events arrive"))
            #expect(checkIns.contains("the latest is from \(ClubTime(zone).text(now.addingTimeInterval(-1), now: now))"))
            // The charts beside it count the same two.
            let pictures = section(dashboard.body, id: "pictures")
            #expect(pictures.contains("data-total=\"2\""))
            #expect(pictures.contains("2 today"))
            // A club whose doors reported nothing says so instead of showing empty charts alone.
            #expect(pictures.contains("No check-ins stored for Floreasca in the last 30 days"))
            #expect(!pictures.contains("No check-ins stored for Old Town"))
            #expect(checkIns.contains("<td>Floreasca</td><td class=\"check-in-count\">0</td><td class=\"denied-count\">0</td>"))
        }
    }

    @Test("The demo's stopped members lead the churn list with their last visit, though its door events name members without Kisi users")
    func demoChurnListHasLastVisits() async throws {
        try await withAdminServer { browser in
            let zone = TimeZone(identifier: "Europe/Bucharest")!
            let now = Date()
            _ = try await DemoGym.seed(browser.repository, today: LocalDate(containing: now, in: zone), now: now, memberCount: 300)
            #expect(try await browser.repository.kisiLinks().users.isEmpty)
            _ = try await browser.signIn(AdminBrowser.ownerEmail)
            let page = try await browser.get("/admin/attendance?days=14")
            #expect(page.status == .ok)
            let rows = section(page.body, id: "churn-list", tag: "table").components(separatedBy: "class=\"churn-row\"").dropFirst()
            #expect(!rows.isEmpty)
            let withVisit = rows.filter { $0.contains(" days)</span>") }
            // About one in eight regulars stopped 20–40 days ago: they come first, each with the day of their last
            // visit; every member of the list whose visits the store matched shows one.
            let lastSeen = try await browser.repository.lastDoorEventPerMember()
            let matched = rows.filter { row in
                row.split(separator: "\"").dropFirst().first.flatMap { UUID(uuidString: String($0)) }.map { lastSeen[$0] != nil } ?? false
            }
            #expect(!withVisit.isEmpty)
            #expect(withVisit.count == matched.count, "\(withVisit.count) shown, \(matched.count) matched, of \(rows.count)")
            #expect(rows.first.map { withVisit.contains($0) } == true)
            let days = withVisit.compactMap { row -> Int? in
                guard let end = row.range(of: " days)</span>") else { return nil }
                return Int(row[..<end.lowerBound].split(separator: "(").last ?? "")
            }
            #expect(days.allSatisfy { $0 >= 14 && $0 <= 41 }, "\(days)")
            // Members who came in the last two weeks are not in it: most of the demo's active members.
            #expect(lastSeen.count > 150, "nearly every demo member with door history is matched: \(lastSeen.count)")
        }
    }
}
