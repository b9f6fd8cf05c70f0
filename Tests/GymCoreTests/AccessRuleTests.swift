import Foundation
import Testing
@testable import GymCore

@Suite("AccessRule per subscription")
struct AccessRuleTests {
    struct ReasonCase: Sendable, CustomTestStringConvertible {
        var label: String
        var subscription: Subscription
        var on: String
        var graceDays = 0
        var expected: AccessReason
        var testDescription: String { "\(label) on \(on)" }
    }

    /// March 2026, inclusive: access on 03-01 through 03-31.
    static let march = sub("2026-03-01", end: "2026-03-31")

    static let reasonCases: [ReasonCase] = [
        // Start and end are inclusive.
        .init(label: "the day before the start", subscription: march, on: "2026-02-28", expected: .notStarted),
        .init(label: "the first day", subscription: march, on: "2026-03-01", expected: .active),
        .init(label: "the last day", subscription: march, on: "2026-03-31", expected: .active),
        .init(label: "the day after the end", subscription: march, on: "2026-04-01", expected: .ended),
        .init(label: "long after the end", subscription: march, on: "2027-01-01", expected: .ended),
        .init(label: "an open-ended subscription years later", subscription: sub("2026-03-01"), on: "2035-06-15", expected: .active),
        .init(label: "a one-day pass on its day", subscription: sub("2026-03-01", end: "2026-03-01"), on: "2026-03-01", expected: .active),
        .init(label: "a one-day pass the next day", subscription: sub("2026-03-01", end: "2026-03-01"), on: "2026-03-02", expected: .ended),

        // The cancellation's effective date is the first day without access.
        .init(label: "the day before the cancellation", subscription: sub("2026-03-01", end: "2026-03-31", cancel: "2026-03-15"), on: "2026-03-14", expected: .active),
        .init(label: "the cancellation's effective date", subscription: sub("2026-03-01", end: "2026-03-31", cancel: "2026-03-15"), on: "2026-03-15", expected: .cancelled),
        .init(label: "after the end, when the cancellation cut first", subscription: sub("2026-03-01", end: "2026-03-31", cancel: "2026-03-15"), on: "2026-04-10", expected: .cancelled),
        .init(label: "a cancellation on the last day cuts before the end", subscription: sub("2026-03-01", end: "2026-03-31", cancel: "2026-03-31"), on: "2026-04-01", expected: .cancelled),
        .init(label: "a cancellation on the day after the end ties, and the end wins", subscription: sub("2026-03-01", end: "2026-03-31", cancel: "2026-04-01"), on: "2026-04-01", expected: .ended),
        .init(label: "a cancellation after the end changes nothing", subscription: sub("2026-03-01", end: "2026-03-31", cancel: "2026-04-05"), on: "2026-04-10", expected: .ended),
        .init(label: "a cancellation after the end, between end and cancel", subscription: sub("2026-03-01", end: "2026-03-31", cancel: "2026-04-05"), on: "2026-04-02", expected: .ended),
        .init(label: "an open-ended subscription after cancellation", subscription: sub("2026-03-01", cancel: "2026-06-01"), on: "2026-07-01", expected: .cancelled),
        .init(label: "cancelled on the start date, before it", subscription: sub("2026-03-01", end: "2026-03-31", cancel: "2026-03-01"), on: "2026-02-28", expected: .notStarted),
        .init(label: "cancelled on the start date, on it", subscription: sub("2026-03-01", end: "2026-03-31", cancel: "2026-03-01"), on: "2026-03-01", expected: .cancelled),
        .init(label: "cancelled before it ever started", subscription: sub("2026-03-01", end: "2026-03-31", cancel: "2026-02-15"), on: "2026-02-20", expected: .cancelled),

        // Freezes are inclusive spans without access.
        .init(label: "the day before a freeze", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-03-10", "2026-03-20")]), on: "2026-03-09", expected: .active),
        .init(label: "a freeze's first day", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-03-10", "2026-03-20")]), on: "2026-03-10", expected: .frozen),
        .init(label: "a freeze's last day", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-03-10", "2026-03-20")]), on: "2026-03-20", expected: .frozen),
        .init(label: "the day after a freeze", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-03-10", "2026-03-20")]), on: "2026-03-21", expected: .active),
        .init(label: "the second of two freezes", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-03-03", "2026-03-04"), ("2026-03-25", "2026-03-26")]), on: "2026-03-26", expected: .frozen),
        .init(label: "between two freezes", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-03-03", "2026-03-04"), ("2026-03-25", "2026-03-26")]), on: "2026-03-15", expected: .active),
        .init(label: "a freeze over the start, before the start", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-02-25", "2026-03-05")]), on: "2026-02-26", expected: .notStarted),
        .init(label: "a freeze over the start, after the start", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-02-25", "2026-03-05")]), on: "2026-03-03", expected: .frozen),
        .init(label: "a freeze over the end, after the end", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-03-25", "2026-04-10")]), on: "2026-04-02", expected: .ended),
        .init(label: "a freeze after the cancellation", subscription: sub("2026-03-01", end: "2026-03-31", cancel: "2026-03-12", freezes: [("2026-03-10", "2026-03-20")]), on: "2026-03-15", expected: .cancelled),
        .init(label: "frozen while also unpaid", subscription: sub("2026-03-01", end: "2026-03-31", paid: "2026-03-05", freezes: [("2026-03-10", "2026-03-20")]), on: "2026-03-15", expected: .frozen),

        // Past due: access continues through paidThrough + grace days.
        .init(label: "the last paid day", subscription: sub("2026-03-01", paid: "2026-03-10"), on: "2026-03-10", expected: .active),
        .init(label: "the day after the last paid day without grace", subscription: sub("2026-03-01", paid: "2026-03-10"), on: "2026-03-11", expected: .pastDue),
        .init(label: "the first grace day", subscription: sub("2026-03-01", paid: "2026-03-10"), on: "2026-03-11", graceDays: 3, expected: .active),
        .init(label: "the last grace day", subscription: sub("2026-03-01", paid: "2026-03-10"), on: "2026-03-13", graceDays: 3, expected: .active),
        .init(label: "the day after the grace days", subscription: sub("2026-03-01", paid: "2026-03-10"), on: "2026-03-14", graceDays: 3, expected: .pastDue),
        .init(label: "negative grace counts as none", subscription: sub("2026-03-01", paid: "2026-03-10"), on: "2026-03-10", graceDays: -2, expected: .active),
        .init(label: "negative grace does not cut paid days", subscription: sub("2026-03-01", paid: "2026-03-10"), on: "2026-03-11", graceDays: -2, expected: .pastDue),
        .init(label: "nothing paid yet, on the start date", subscription: sub("2026-03-01", paid: "2026-02-28"), on: "2026-03-01", expected: .pastDue),
        .init(label: "nothing paid yet, inside the grace days", subscription: sub("2026-03-01", paid: "2026-02-28"), on: "2026-03-02", graceDays: 2, expected: .active),
        .init(label: "unpaid but not yet started", subscription: sub("2026-03-01", paid: "2026-01-31"), on: "2026-02-20", expected: .notStarted),
        .init(label: "unpaid and ended", subscription: sub("2026-03-01", end: "2026-03-31", paid: "2026-03-10"), on: "2026-04-01", expected: .ended),
        .init(label: "unpaid and cancelled", subscription: sub("2026-03-01", paid: "2026-03-10", cancel: "2026-03-20"), on: "2026-03-25", expected: .cancelled),
        .init(label: "paid beyond the end", subscription: sub("2026-03-01", end: "2026-03-31", paid: "2026-06-30"), on: "2026-04-01", expected: .ended),
        .init(label: "grace days do not outlast the end", subscription: sub("2026-03-01", end: "2026-03-31", paid: "2026-03-31"), on: "2026-04-01", graceDays: 10, expected: .ended),
    ]

    @Test("a subscription's reason on a club-local day follows the documented priorities", arguments: reasonCases)
    func reasonOnDay(_ testCase: ReasonCase) {
        let reason = AccessRule.reason(for: testCase.subscription, on: day(testCase.on), graceDays: testCase.graceDays)
        #expect(reason == testCase.expected)
    }

    struct AccessDaysCase: Sendable, CustomTestStringConvertible {
        var label: String
        var subscription: Subscription
        var graceDays = 0
        /// Inclusive spans as "first...last".
        var expected: [String]
        var testDescription: String { label }
    }

    static let accessDayCases: [AccessDaysCase] = [
        .init(label: "a plain month", subscription: march, expected: ["2026-03-01...2026-03-31"]),
        .init(label: "a freeze inside", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-03-10", "2026-03-20")]),
              expected: ["2026-03-01...2026-03-09", "2026-03-21...2026-03-31"]),
        .init(label: "a freeze on the first days", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-03-01", "2026-03-05")]),
              expected: ["2026-03-06...2026-03-31"]),
        .init(label: "a freeze overlapping the start", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-02-20", "2026-03-05")]),
              expected: ["2026-03-06...2026-03-31"]),
        .init(label: "a freeze before the start", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-02-01", "2026-02-10")]),
              expected: ["2026-03-01...2026-03-31"]),
        .init(label: "a freeze on the last days", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-03-25", "2026-03-31")]),
              expected: ["2026-03-01...2026-03-24"]),
        .init(label: "a freeze after the end", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-04-05", "2026-04-10")]),
              expected: ["2026-03-01...2026-03-31"]),
        .init(label: "back-to-back freezes", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-03-10", "2026-03-12"), ("2026-03-13", "2026-03-15")]),
              expected: ["2026-03-01...2026-03-09", "2026-03-16...2026-03-31"]),
        .init(label: "freezes listed out of order", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-03-20", "2026-03-21"), ("2026-03-05", "2026-03-06")]),
              expected: ["2026-03-01...2026-03-04", "2026-03-07...2026-03-19", "2026-03-22...2026-03-31"]),
        .init(label: "a freeze over the whole subscription", subscription: sub("2026-03-01", end: "2026-03-31", freezes: [("2026-03-01", "2026-03-31")]),
              expected: []),
        .init(label: "a cancellation mid-month", subscription: sub("2026-03-01", end: "2026-03-31", cancel: "2026-03-15"),
              expected: ["2026-03-01...2026-03-14"]),
        .init(label: "a cancellation on the start date", subscription: sub("2026-03-01", end: "2026-03-31", cancel: "2026-03-01"),
              expected: []),
        .init(label: "a cancellation inside a freeze", subscription: sub("2026-03-01", end: "2026-03-31", cancel: "2026-03-15", freezes: [("2026-03-10", "2026-03-20")]),
              expected: ["2026-03-01...2026-03-09"]),
        .init(label: "paid through with grace", subscription: sub("2026-03-01", paid: "2026-03-10"), graceDays: 3,
              expected: ["2026-03-01...2026-03-13"]),
        .init(label: "grace clipped by the end", subscription: sub("2026-03-01", end: "2026-03-31", paid: "2026-03-30"), graceDays: 5,
              expected: ["2026-03-01...2026-03-31"]),
        .init(label: "negative grace counts as none", subscription: sub("2026-03-01", paid: "2026-03-10"), graceDays: -4,
              expected: ["2026-03-01...2026-03-10"]),
        .init(label: "nothing paid and no grace", subscription: sub("2026-03-01", paid: "2026-02-28"),
              expected: []),
        .init(label: "a freeze after the paid days", subscription: sub("2026-03-01", paid: "2026-03-10", freezes: [("2026-03-15", "2026-03-20")]),
              expected: ["2026-03-01...2026-03-10"]),
    ]

    @Test("a subscription's access days are its paid, unfrozen, uncancelled days", arguments: accessDayCases)
    func accessDays(_ testCase: AccessDaysCase) {
        let spans = AccessRule.accessDays(of: testCase.subscription, graceDays: testCase.graceDays)
        #expect(spans.map { "\($0.first)...\($0.last)" } == testCase.expected)
    }

    @Test("access reasons use the API's snake_case spelling", arguments: [
        (AccessReason.active, "active"), (.frozen, "frozen"), (.cancelled, "cancelled"), (.ended, "ended"),
        (.notStarted, "not_started"), (.pastDue, "past_due"), (.noSubscription, "no_subscription"), (.blocked, "blocked"),
    ])
    func rawValues(reason: AccessReason, spelling: String) throws {
        #expect(reason.rawValue == spelling)
        #expect(String(decoding: try JSONEncoder().encode([reason]), as: UTF8.self) == "[\"\(spelling)\"]")
        #expect(try JSONDecoder().decode([AccessReason].self, from: Data("[\"\(spelling)\"]".utf8)) == [reason])
    }

    @Test("only an active reason grants access, and every reason has its own explanation", arguments: AccessReason.allCases)
    func grantsAndExplains(reason: AccessReason) {
        #expect(reason.grantsAccess == (reason == .active))
        #expect(!reason.explanation.isEmpty)
        let others = AccessReason.allCases.filter { $0 != reason }.map(\.explanation)
        #expect(!others.contains(reason.explanation))
    }

    @Test("a plan opens its clubs' entrances, its studios' doors and those studios' club entrances", arguments: [
        (TestGym.gold, [1, 2, 3]),
        (TestGym.yoga, [1, 2, 10]),
        (TestGym.spin, [1, 2, 11]),
        (Plan(name: "Unirii all rooms", clubIDs: [TestGym.unirii.id], studioIDs: [TestGym.yogaRoom.id, TestGym.spinRoom.id]), [1, 2, 10, 11]),
        (Plan(name: "Unknown studio", studioIDs: [fixedID(999)]), []),
        (Plan(name: "Nothing"), []),
    ])
    func lockIDs(plan: Plan, locks: [Int]) {
        #expect(TestGym.layout.lockIDs(of: plan) == locks)
    }

    @Test("a plan's calendar follows its first club, else its first studio's club, else UTC", arguments: [
        (Plan(name: "NY first", clubIDs: [fixedID(120), TestGym.unirii.id]), "America/New_York"),
        (Plan(name: "Bucharest first", clubIDs: [TestGym.unirii.id, fixedID(120)]), "Europe/Bucharest"),
        (Plan(name: "Studio only", studioIDs: [fixedID(220)]), "America/New_York"),
        (Plan(name: "No clubs", studioIDs: []), "UTC"),
    ])
    func planTimeZone(plan: Plan, zoneID: String) {
        let newYork = Club(id: fixedID(120), name: "Manhattan", timeZone: zone("America/New_York"))
        let studio = Studio(id: fixedID(220), clubID: newYork.id, name: "Boxing")
        let layout = GymLayout(clubs: [TestGym.unirii, newYork], studios: [studio], plans: [])
        // Compared as zones: Foundation spells UTC as "GMT".
        #expect(layout.timeZone(of: plan) == zone(zoneID))
    }

    @Test("the gym lists every door once, sorted by lock ID, with its club and studio")
    func allDoors() {
        let doors = TestGym.layout.allDoors
        #expect(doors.map(\.lockID) == TestGym.allLocks)
        #expect(doors.map(\.clubID) == [TestGym.unirii.id, TestGym.unirii.id, TestGym.pipera.id, TestGym.cluj.id, TestGym.unirii.id, TestGym.unirii.id])
        #expect(doors.map(\.studioID) == [nil, nil, nil, nil, TestGym.yogaRoom.id, TestGym.spinRoom.id])
    }

    @Test("an access window includes its start and excludes its end", arguments: [
        ("2026-01-31T21:59:59Z", false), ("2026-01-31T22:00:00Z", true), ("2026-02-14T21:59:59Z", true), ("2026-02-14T22:00:00Z", false),
    ])
    func windowIsHalfOpen(at text: String, inside: Bool) {
        let window = AccessWindow(from: instant("2026-01-31T22:00:00Z"), until: instant("2026-02-14T22:00:00Z"))
        #expect(window.contains(instant(text)) == inside)
    }
}
