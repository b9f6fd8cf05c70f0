import Foundation
import Testing
@testable import AccessPlanning

@Suite("Day boundaries")
struct DayBoundaryTests {
    @Test("the next re-plan is just after the earliest coming club-local midnight, across zones and DST")
    func nextMidnight() throws {
        let bucharest = TimeZone(identifier: "Europe/Bucharest")!
        let newYork = TimeZone(identifier: "America/New_York")!
        // 2026-10-25 20:00 UTC: 22:00 in Bucharest (DST ended that morning, UTC+2), 16:00 in New York (UTC-4).
        let evening = instant("2026-10-25T20:00:00Z")
        let next = try #require(SyncTriggerChoice.nextDayBoundary(after: evening, zones: [newYork, bucharest]))
        #expect(next.zone == "Europe/Bucharest")
        #expect(next.instant == evening.addingTimeInterval(2 * 3_600 + 5))
        let onlyNewYork = try #require(SyncTriggerChoice.nextDayBoundary(after: evening, zones: [newYork]))
        #expect(onlyNewYork.instant == instant("2026-10-26T04:00:05Z"))
        #expect(SyncTriggerChoice.nextDayBoundary(after: evening, zones: []) == nil)
    }
}
