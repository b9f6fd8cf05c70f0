import Foundation
import Testing
@testable import GymCore

// Fixture helpers shared by the GymCore suites. Expected values in the tests are written by hand
// (calendar dates as strings, instants as ISO 8601 UTC strings) so that a wrong rule cannot also
// produce the "expected" value.

/// A calendar date from its `YYYY-MM-DD` spelling; traps on a typo in a fixture.
func day(_ text: String) -> LocalDate {
    guard let date = LocalDate(text) else { fatalError("bad fixture date \(text)") }
    return date
}

/// An instant from an ISO 8601 string with an explicit offset, e.g. "2026-12-31T22:00:00Z".
func instant(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    guard let date = formatter.date(from: text) else { fatalError("bad fixture instant \(text)") }
    return date
}

/// The instant printed in UTC, so failing expectations show readable values.
func iso(_ date: Date?) -> String? {
    guard let date else { return nil }
    let formatter = ISO8601DateFormatter()
    return formatter.string(from: date)
}

func zone(_ identifier: String) -> TimeZone {
    guard let zone = TimeZone(identifier: identifier) else { fatalError("unknown fixture zone \(identifier)") }
    return zone
}

/// A window spelled as two ISO instants, compared as strings so failures print both ends.
struct ExpectedWindow: Hashable, Sendable, CustomStringConvertible {
    var from: String
    var until: String

    init(_ from: String, _ until: String) {
        self.from = from
        self.until = until
    }

    var description: String { "[\(from), \(until))" }
}

extension Optional where Wrapped == AccessWindow {
    /// The window as ISO strings, comparable with `ExpectedWindow`.
    var spelled: ExpectedWindow? {
        map { ExpectedWindow(iso($0.from)!, iso($0.until)!) }
    }
}

/// Stable IDs so table cases and failure messages stay readable and deterministic.
func fixedID(_ n: Int) -> UUID {
    UUID(uuidString: String(format: "00000000-0000-0000-0000-%012d", n))!
}

/// The member all fixtures belong to, and a stranger whose subscriptions must be ignored.
let member = fixedID(1)
let stranger = fixedID(2)

/// A small two-club gym in Bucharest, plus a third club nobody's plan covers.
///
/// Locks: Unirii entrance 1 and 2, Pipera entrance 3, Cluj entrance 4, Unirii yoga studio 10,
/// Unirii spinning studio 11.
enum TestGym {
    static let unirii = Club(id: fixedID(100), name: "Unirii", timeZone: zone("Europe/Bucharest"), kisiLockIDs: [1, 2])
    static let pipera = Club(id: fixedID(101), name: "Pipera", timeZone: zone("Europe/Bucharest"), kisiLockIDs: [3])
    static let cluj = Club(id: fixedID(102), name: "Cluj", timeZone: zone("Europe/Bucharest"), kisiLockIDs: [4])
    static let yogaRoom = Studio(id: fixedID(200), clubID: unirii.id, name: "Yoga", kisiLockIDs: [10])
    static let spinRoom = Studio(id: fixedID(201), clubID: unirii.id, name: "Spinning", kisiLockIDs: [11])

    /// Both entrances in Bucharest, no grace.
    static let gold = Plan(id: fixedID(300), name: "Gold", clubIDs: [unirii.id, pipera.id])
    /// Only the yoga studio, which implies the Unirii entrance.
    static let yoga = Plan(id: fixedID(301), name: "Yoga", studioIDs: [yogaRoom.id])
    /// Only the spinning studio, three days of past-due grace.
    static let spin = Plan(id: fixedID(302), name: "Spin", studioIDs: [spinRoom.id], pastDueGraceDays: 3)

    static let layout = GymLayout(
        clubs: [unirii, pipera, cluj], studios: [yogaRoom, spinRoom], plans: [gold, yoga, spin])

    /// A layout with a single club in `zoneID` and one plan (`solo`) opening its lock 1.
    static func single(zoneID: String, graceDays: Int = 0) -> GymLayout {
        let club = Club(id: fixedID(110), name: "Solo club", timeZone: zone(zoneID), kisiLockIDs: [1])
        let plan = Plan(id: solo, name: "Solo", clubIDs: [club.id], pastDueGraceDays: graceDays)
        return GymLayout(clubs: [club], studios: [], plans: [plan])
    }

    static let solo = fixedID(310)

    /// The locks each plan opens, written out by hand from the layout above.
    static let expectedLocks: [UUID: [Int]] = [gold.id: [1, 2, 3], yoga.id: [1, 2, 10], spin.id: [1, 2, 11]]
    static let allLocks = [1, 2, 3, 4, 10, 11]
}

/// A subscription of `member` written the way staff type it. `paid` defaults to the end date, or
/// far in the future for an open-ended subscription, so past-due never interferes unless asked.
func sub(
    _ start: String, end: String? = nil, paid: String? = nil, cancel: String? = nil,
    freezes: [(String, String)] = [], plan planID: UUID = TestGym.gold.id, memberID: UUID = member
) -> Subscription {
    Subscription(
        memberID: memberID, planID: planID, startDate: day(start), endDate: end.map(day),
        paidThrough: day(paid ?? end ?? "2099-12-31"),
        cancellation: cancel.map { Cancellation(effectiveDate: day($0)) },
        freezes: freezes.map { Freeze(span: DateSpan(first: day($0.0), last: day($0.1))) })
}

/// The decision for `member` in the shared test gym.
func decide(_ subscriptions: [Subscription], at text: String, layout: GymLayout = TestGym.layout) -> AccessDecision {
    AccessRule.decide(memberID: member, subscriptions: subscriptions, layout: layout, at: instant(text))
}

extension AccessDecision {
    func plan(_ id: UUID) -> PlanAccess? { plans.first { $0.planID == id } }
    func door(_ lockID: Int) -> DoorAccess? { doors.first { $0.door.lockID == lockID } }
}
