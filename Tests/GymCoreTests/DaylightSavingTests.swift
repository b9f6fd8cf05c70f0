import Foundation
import Testing
@testable import GymCore

// Calendar dates meet instants here. Expected instants were worked out by hand from the 2026
// rules (tzdata as reported by Foundation on this machine):
// - Europe/Bucharest: EET +02, EEST +03; spring forward 2026-03-29 03:00→04:00, fall back
//   2026-10-25 04:00→03:00. Both midnights exist; the days last 23 h and 25 h.
// - America/New_York: EST −05, EDT −04; 2026-03-08 (23 h) and 2026-11-01 (25 h).
// - America/Santiago: −04/−03; clocks jump from 00:00 to 01:00 on 2026-09-06, so that day's
//   first instant is 01:00 −03 = 04:00Z; they fall back at 00:00 on 2026-04-05, making 04-04 25 h.
// - America/Havana: CST −05, CDT −04; midnight skipped on 2026-03-08 (starts 01:00 CDT = 05:00Z),
//   01:00 CDT→00:00 CST on 2026-11-01, so that midnight happens twice (the first counts).
// - Australia/Lord_Howe: +10:30 / +11, a half-hour shift: 2026-04-05 lasts 24.5 h, 2026-10-04 23.5 h.
// - Pacific/Apia skipped 2011-12-30 entirely when it crossed the date line (−10 → +14).

@Suite("Daylight saving and time zones")
struct DaylightSavingTests {
    @Test("a date starts at the first instant that exists on it", arguments: [
        ("UTC", "2026-01-01", "2026-01-01T00:00:00Z"),
        ("Europe/Bucharest", "2026-12-31", "2026-12-30T22:00:00Z"),
        ("Europe/Bucharest", "2027-01-01", "2026-12-31T22:00:00Z"),
        ("Europe/Bucharest", "2026-03-29", "2026-03-28T22:00:00Z"),
        ("Europe/Bucharest", "2026-03-30", "2026-03-29T21:00:00Z"),
        ("Europe/Bucharest", "2026-10-25", "2026-10-24T21:00:00Z"),
        ("Europe/Bucharest", "2026-10-26", "2026-10-25T22:00:00Z"),
        ("America/New_York", "2026-03-08", "2026-03-08T05:00:00Z"),
        ("America/New_York", "2026-03-09", "2026-03-09T04:00:00Z"),
        ("America/New_York", "2026-11-01", "2026-11-01T04:00:00Z"),
        ("America/New_York", "2026-11-02", "2026-11-02T05:00:00Z"),
        ("America/Santiago", "2026-09-05", "2026-09-05T04:00:00Z"),
        ("America/Santiago", "2026-09-06", "2026-09-06T04:00:00Z"),  // 00:00 skipped: 01:00 −03
        ("America/Santiago", "2026-09-07", "2026-09-07T03:00:00Z"),
        ("America/Santiago", "2026-04-04", "2026-04-04T03:00:00Z"),
        ("America/Santiago", "2026-04-05", "2026-04-05T04:00:00Z"),
        ("America/Havana", "2026-03-07", "2026-03-07T05:00:00Z"),
        ("America/Havana", "2026-03-08", "2026-03-08T05:00:00Z"),    // 00:00 skipped: 01:00 CDT
        ("America/Havana", "2026-03-09", "2026-03-09T04:00:00Z"),
        ("America/Havana", "2026-11-01", "2026-11-01T04:00:00Z"),    // first of two midnights
        ("America/Havana", "2026-11-02", "2026-11-02T05:00:00Z"),
        ("Australia/Lord_Howe", "2026-04-05", "2026-04-04T13:00:00Z"),
        ("Australia/Lord_Howe", "2026-04-06", "2026-04-05T13:30:00Z"),
        ("Australia/Lord_Howe", "2026-10-04", "2026-10-03T13:30:00Z"),
        ("Australia/Lord_Howe", "2026-10-05", "2026-10-04T13:00:00Z"),
        ("Asia/Kathmandu", "2026-01-01", "2025-12-31T18:15:00Z"),
        ("Pacific/Kiritimati", "2026-01-01", "2025-12-31T10:00:00Z"),
        ("Pacific/Pago_Pago", "2026-01-01", "2026-01-01T11:00:00Z"),
        ("Pacific/Apia", "2011-12-29", "2011-12-29T10:00:00Z"),
        ("Pacific/Apia", "2011-12-30", "2011-12-30T10:00:00Z"),      // skipped day: empty, starts with the 31st
        ("Pacific/Apia", "2011-12-31", "2011-12-30T10:00:00Z"),
    ])
    func startOfDay(zoneID: String, date: String, expected: String) {
        #expect(iso(day(date).startOfDay(in: zone(zoneID))) == expected)
    }

    @Test("a day lasts as long as its daylight-saving change makes it", arguments: [
        ("Europe/Bucharest", "2026-03-29", 23.0),
        ("Europe/Bucharest", "2026-10-25", 25.0),
        ("Europe/Bucharest", "2026-12-31", 24.0),
        ("Europe/Bucharest", "2026-03-28", 24.0),
        ("America/New_York", "2026-03-08", 23.0),
        ("America/New_York", "2026-11-01", 25.0),
        ("America/Santiago", "2026-09-05", 24.0),
        ("America/Santiago", "2026-09-06", 23.0),
        ("America/Santiago", "2026-04-04", 25.0),
        ("America/Havana", "2026-03-07", 24.0),
        ("America/Havana", "2026-03-08", 23.0),
        ("America/Havana", "2026-11-01", 25.0),
        ("Australia/Lord_Howe", "2026-04-05", 24.5),
        ("Australia/Lord_Howe", "2026-10-04", 23.5),
        ("Pacific/Apia", "2011-12-29", 24.0),
        ("Pacific/Apia", "2011-12-30", 0.0),
    ])
    func dayLength(zoneID: String, date: String, hours: Double) {
        let start = day(date).startOfDay(in: zone(zoneID))
        let end = day(date).adding(days: 1).startOfDay(in: zone(zoneID))
        #expect(end.timeIntervalSince(start) == hours * 3600)
    }

    @Test("an instant falls on the club-local date, switching exactly at local midnight", arguments: [
        ("Europe/Bucharest", "2026-12-31T21:59:59Z", "2026-12-31"),
        ("Europe/Bucharest", "2026-12-31T22:00:00Z", "2027-01-01"),
        ("Europe/Bucharest", "2026-03-29T20:59:59Z", "2026-03-29"),
        ("Europe/Bucharest", "2026-03-29T21:00:00Z", "2026-03-30"),
        ("Europe/Bucharest", "2026-10-25T00:30:00Z", "2026-10-25"),  // 03:30 EEST, before the fall-back
        ("Europe/Bucharest", "2026-10-25T01:30:00Z", "2026-10-25"),  // 03:30 EET, the repeated half hour
        ("Europe/Bucharest", "2026-10-25T21:59:59Z", "2026-10-25"),
        ("Europe/Bucharest", "2026-10-25T22:00:00Z", "2026-10-26"),
        ("America/New_York", "2026-03-08T04:59:59Z", "2026-03-07"),
        ("America/New_York", "2026-03-08T05:00:00Z", "2026-03-08"),
        ("America/Santiago", "2026-09-06T03:59:59Z", "2026-09-05"),
        ("America/Santiago", "2026-09-06T04:00:00Z", "2026-09-06"),
        ("America/Havana", "2026-11-01T04:30:00Z", "2026-11-01"),
        ("America/Havana", "2026-11-01T05:30:00Z", "2026-11-01"),    // 00:30 again, after falling back
        ("Australia/Lord_Howe", "2026-04-05T13:29:59Z", "2026-04-05"),
        ("Australia/Lord_Howe", "2026-04-05T13:30:00Z", "2026-04-06"),
        ("Pacific/Kiritimati", "2025-12-31T09:59:59Z", "2025-12-31"),
        ("Pacific/Kiritimati", "2025-12-31T10:00:00Z", "2026-01-01"),
        ("Pacific/Apia", "2011-12-30T09:59:59Z", "2011-12-29"),
        ("Pacific/Apia", "2011-12-30T10:00:00Z", "2011-12-31"),
    ])
    func dateContaining(zoneID: String, at text: String, expected: String) {
        #expect(LocalDate(containing: instant(text), in: zone(zoneID)).description == expected)
    }

    struct WindowCase: Sendable, CustomTestStringConvertible {
        var zoneID: String
        var start: String
        var end: String
        var from: String
        var until: String
        var hours: Double
        var testDescription: String { "\(zoneID) \(start)...\(end)" }
    }

    static let windowCases: [WindowCase] = [
        .init(zoneID: "Europe/Bucharest", start: "2026-12-01", end: "2026-12-31",
              from: "2026-11-30T22:00:00Z", until: "2026-12-31T22:00:00Z", hours: 31 * 24),
        .init(zoneID: "Europe/Bucharest", start: "2026-03-28", end: "2026-03-28",
              from: "2026-03-27T22:00:00Z", until: "2026-03-28T22:00:00Z", hours: 24),
        .init(zoneID: "Europe/Bucharest", start: "2026-03-29", end: "2026-03-29",
              from: "2026-03-28T22:00:00Z", until: "2026-03-29T21:00:00Z", hours: 23),
        .init(zoneID: "Europe/Bucharest", start: "2026-03-01", end: "2026-03-31",
              from: "2026-02-28T22:00:00Z", until: "2026-03-31T21:00:00Z", hours: 31 * 24 - 1),
        .init(zoneID: "Europe/Bucharest", start: "2026-10-25", end: "2026-10-25",
              from: "2026-10-24T21:00:00Z", until: "2026-10-25T22:00:00Z", hours: 25),
        .init(zoneID: "Europe/Bucharest", start: "2026-10-01", end: "2026-10-31",
              from: "2026-09-30T21:00:00Z", until: "2026-10-31T22:00:00Z", hours: 31 * 24 + 1),
        .init(zoneID: "Europe/Bucharest", start: "2026-01-01", end: "2026-12-31",
              from: "2025-12-31T22:00:00Z", until: "2026-12-31T22:00:00Z", hours: 365 * 24),
        .init(zoneID: "America/New_York", start: "2026-03-08", end: "2026-03-08",
              from: "2026-03-08T05:00:00Z", until: "2026-03-09T04:00:00Z", hours: 23),
        .init(zoneID: "America/New_York", start: "2026-11-01", end: "2026-11-01",
              from: "2026-11-01T04:00:00Z", until: "2026-11-02T05:00:00Z", hours: 25),
        .init(zoneID: "America/New_York", start: "2026-12-01", end: "2026-12-31",
              from: "2026-12-01T05:00:00Z", until: "2027-01-01T05:00:00Z", hours: 31 * 24),
        .init(zoneID: "America/Santiago", start: "2026-09-01", end: "2026-09-05",
              from: "2026-09-01T04:00:00Z", until: "2026-09-06T04:00:00Z", hours: 5 * 24),
        .init(zoneID: "America/Santiago", start: "2026-09-06", end: "2026-09-06",
              from: "2026-09-06T04:00:00Z", until: "2026-09-07T03:00:00Z", hours: 23),
        .init(zoneID: "America/Havana", start: "2026-03-08", end: "2026-03-08",
              from: "2026-03-08T05:00:00Z", until: "2026-03-09T04:00:00Z", hours: 23),
        .init(zoneID: "America/Havana", start: "2026-11-01", end: "2026-11-01",
              from: "2026-11-01T04:00:00Z", until: "2026-11-02T05:00:00Z", hours: 25),
        .init(zoneID: "Australia/Lord_Howe", start: "2026-04-05", end: "2026-04-05",
              from: "2026-04-04T13:00:00Z", until: "2026-04-05T13:30:00Z", hours: 24.5),
        .init(zoneID: "Australia/Lord_Howe", start: "2026-10-04", end: "2026-10-04",
              from: "2026-10-03T13:30:00Z", until: "2026-10-04T13:00:00Z", hours: 23.5),
        .init(zoneID: "Asia/Kathmandu", start: "2026-06-01", end: "2026-06-30",
              from: "2026-05-31T18:15:00Z", until: "2026-06-30T18:15:00Z", hours: 30 * 24),
    ]

    @Test("a subscription's window runs from local midnight of its start to local midnight after its end",
          arguments: windowCases)
    func window(_ testCase: WindowCase) throws {
        let layout = TestGym.single(zoneID: testCase.zoneID)
        let subscription = sub(testCase.start, end: testCase.end, plan: TestGym.solo)
        let inside = instant(testCase.from).addingTimeInterval(3600)
        let decision = AccessRule.decide(memberID: member, subscriptions: [subscription], layout: layout, at: inside)
        #expect(decision.reason == .active)
        #expect(decision.window.spelled == ExpectedWindow(testCase.from, testCase.until))
        let window = try #require(decision.window)
        #expect(window.until.timeIntervalSince(window.from) == testCase.hours * 3600)
    }

    @Test("one second before the window's start is not yet, its start is", arguments: windowCases)
    func startBoundary(_ testCase: WindowCase) {
        let layout = TestGym.single(zoneID: testCase.zoneID)
        let subscriptions = [sub(testCase.start, end: testCase.end, plan: TestGym.solo)]
        let from = instant(testCase.from)
        func reason(at date: Date) -> AccessReason {
            AccessRule.decide(memberID: member, subscriptions: subscriptions, layout: layout, at: date).reason
        }
        #expect(reason(at: from.addingTimeInterval(-1)) == .notStarted)
        #expect(reason(at: from) == .active)
    }

    @Test("one second before the window's end is still in, its end is out", arguments: windowCases)
    func endBoundary(_ testCase: WindowCase) {
        let layout = TestGym.single(zoneID: testCase.zoneID)
        let subscriptions = [sub(testCase.start, end: testCase.end, plan: TestGym.solo)]
        let until = instant(testCase.until)
        func reason(at date: Date) -> AccessReason {
            AccessRule.decide(memberID: member, subscriptions: subscriptions, layout: layout, at: date).reason
        }
        #expect(reason(at: until.addingTimeInterval(-1)) == .active)
        #expect(reason(at: until) == .ended)
    }

    @Test("the same subscription is read in the plan's zone", arguments: [
        // 2026-02-28T23:00:00Z is 01:00 on 03-01 in Bucharest but 18:00 on 02-28 in New York.
        ("Europe/Bucharest", "2026-02-28T23:00:00Z", AccessReason.ended, nil as ExpectedWindow?),
        ("America/New_York", "2026-02-28T23:00:00Z", .active, ExpectedWindow("2026-01-01T05:00:00Z", "2026-03-01T05:00:00Z")),
        ("Asia/Tokyo", "2026-02-28T14:59:59Z", .active, ExpectedWindow("2025-12-31T15:00:00Z", "2026-02-28T15:00:00Z")),
        ("Asia/Tokyo", "2026-02-28T15:00:00Z", .ended, nil),
        ("UTC", "2026-02-28T23:59:59Z", .active, ExpectedWindow("2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z")),
    ])
    func planZoneDecides(zoneID: String, at text: String, reason: AccessReason, window: ExpectedWindow?) {
        let decision = decide([sub("2026-01-01", end: "2026-02-28", plan: TestGym.solo)], at: text,
                              layout: TestGym.single(zoneID: zoneID))
        #expect(decision.reason == reason)
        #expect(decision.window.spelled == window)
    }

    @Test("past-due grace ends at local midnight across the spring-forward", arguments: [
        // Paid through 2026-03-27 with three grace days: last day 03-30, which starts in EEST.
        ("2026-03-30T20:59:59Z", AccessReason.active, true),
        ("2026-03-30T21:00:00Z", .pastDue, false),
        ("2026-03-27T21:59:59Z", .active, false),   // last paid second, still EET
        ("2026-03-27T22:00:00Z", .active, true),    // first grace second
    ])
    func graceAcrossSpringForward(at text: String, reason: AccessReason, inGrace: Bool) throws {
        let decision = decide([sub("2026-03-01", paid: "2026-03-27", plan: TestGym.solo)], at: text,
                              layout: TestGym.single(zoneID: "Europe/Bucharest", graceDays: 3))
        #expect(decision.reason == reason)
        let plan = try #require(decision.plan(TestGym.solo))
        #expect(plan.inGracePeriod == inGrace)
        #expect(plan.window.spelled == (reason == .active ? ExpectedWindow("2026-02-28T22:00:00Z", "2026-03-30T21:00:00Z") : nil))
    }

    @Test("a freeze across the fall-back ends at the new local midnight")
    func freezeAcrossFallBack() throws {
        let subscription = sub("2026-10-01", end: "2026-11-30", freezes: [("2026-10-20", "2026-10-25")], plan: TestGym.solo)
        let layout = TestGym.single(zoneID: "Europe/Bucharest")
        let during = decide([subscription], at: "2026-10-25T21:59:59Z", layout: layout)
        #expect(during.reason == .frozen)
        let plan = try #require(during.plan(TestGym.solo))
        // The freeze's last day, 10-25, lasts 25 h; access resumes at 10-26 00:00 EET.
        #expect(plan.upcoming.spelled == ExpectedWindow("2026-10-25T22:00:00Z", "2026-11-30T22:00:00Z"))
        #expect(decide([subscription], at: "2026-10-25T22:00:00Z", layout: layout).reason == .active)
        let before = decide([subscription], at: "2026-10-10T10:00:00Z", layout: layout)
        // Access before the freeze stops at 10-20 00:00 EEST.
        #expect(before.window.spelled == ExpectedWindow("2026-09-30T21:00:00Z", "2026-10-19T21:00:00Z"))
    }
}
