import Foundation
import Testing
@testable import GymCore

// Expected instants worked out by hand: Europe/Bucharest is +02 (EET) until 2026-03-29 03:00, when
// clocks jump to 04:00 +03 (EEST); on 2026-10-25 at 04:00 +03 they go back to 03:00 +02.

private let bucharest = zone("Europe/Bucharest")
private let studioID = UUID()

private func weekly(_ weekday: Weekday, _ time: String, minutes: Int = 60, from: String = "2026-01-01", until: String? = nil) -> StudioClass {
    StudioClass(
        studioID: studioID, name: "Spinning", instructor: "Ioana", capacity: 12, startTime: LocalTime(time)!, durationMinutes: minutes,
        recurrence: .weekly(weekday: weekday, validFrom: day(from), validUntil: until.map(day)))
}

@Suite("Studio classes")
struct StudioClassTests {
    @Test("times of day parse as HH:MM only", arguments: [
        ("18:00", "18:00"), ("00:00", "00:00"), ("23:59", "23:59"), ("07:05", "07:05"),
        ("24:00", nil), ("7:30", nil), ("18:00:00", nil), ("18:60", nil), ("", nil), ("１８:００", nil), ("-1:00", nil),
    ] as [(String, String?)])
    func localTimeParsing(text: String, expected: String?) {
        #expect(LocalTime(text)?.description == expected)
    }

    @Test("weekdays are counted from a known Thursday")
    func weekdays() {
        #expect(day("1970-01-01").weekday == .thursday)
        #expect(day("2026-03-29").weekday == .sunday)
        #expect(day("2026-12-22").weekday == .tuesday)
        #expect(day("1969-12-29").weekday == .monday)
        #expect(day("2026-12-22").startOfWeek == day("2026-12-21"))
        #expect(day("2026-12-27").startOfWeek == day("2026-12-21"))
        #expect(day("2026-12-21").startOfWeek == day("2026-12-21"))
    }

    @Test("an 18:00 class stays at 18:00 local across both daylight-saving changes")
    func sameLocalTimeAcrossDST() {
        let sunday = weekly(.sunday, "18:00")
        let starts = sunday.occurrences(in: DateSpan(first: day("2026-03-20"), last: day("2026-04-06")), zone: bucharest).map { iso($0.startsAt)! }
        #expect(starts == ["2026-03-22T16:00:00Z", "2026-03-29T15:00:00Z", "2026-04-05T15:00:00Z"])
        let autumn = sunday.occurrences(in: DateSpan(first: day("2026-10-18"), last: day("2026-10-25")), zone: bucharest)
        #expect(autumn.map { iso($0.startsAt)! } == ["2026-10-18T15:00:00Z", "2026-10-25T16:00:00Z"])
        #expect(autumn.map { iso($0.endsAt)! } == ["2026-10-18T16:00:00Z", "2026-10-25T17:00:00Z"])
    }

    @Test("a class in the skipped hour starts one wall-clock hour later that night; in the repeated hour, the first time")
    func skippedAndRepeatedHours() {
        let spring = weekly(.sunday, "03:30").occurrence(on: day("2026-03-29"), in: bucharest)!
        // 03:30 does not exist: read at +02 it is 01:30Z, which the clocks show as 04:30 EEST.
        #expect(iso(spring.startsAt) == "2026-03-29T01:30:00Z")
        #expect(iso(spring.endsAt) == "2026-03-29T02:30:00Z")
        let autumn = weekly(.sunday, "03:30").occurrence(on: day("2026-10-25"), in: bucharest)!
        // 03:30 happens at 00:30Z (+03) and again at 01:30Z (+02): the first one.
        #expect(iso(autumn.startsAt) == "2026-10-25T00:30:00Z")
        // The hours either side of the change are plain.
        #expect(iso(weekly(.sunday, "02:59").occurrence(on: day("2026-03-29"), in: bucharest)!.startsAt) == "2026-03-29T00:59:00Z")
        #expect(iso(weekly(.sunday, "04:00").occurrence(on: day("2026-03-29"), in: bucharest)!.startsAt) == "2026-03-29T01:00:00Z")
        #expect(iso(weekly(.sunday, "04:00").occurrence(on: day("2026-10-25"), in: bucharest)!.startsAt) == "2026-10-25T02:00:00Z")
    }

    @Test("a class that runs through the fall-back night lasts its real duration")
    func durationIsElapsedTime() {
        let night = weekly(.sunday, "02:30", minutes: 120).occurrence(on: day("2026-10-25"), in: bucharest)!
        #expect(iso(night.startsAt) == "2026-10-24T23:30:00Z")
        #expect(iso(night.endsAt) == "2026-10-25T01:30:00Z")
        let window = ClassDoorWindow(
            bookingID: UUID(), memberID: UUID(), studioID: studioID, classID: night.classID, occurrenceDate: night.date, lockIDs: [5],
            classStartsAt: night.startsAt, classEndsAt: night.endsAt)
        // Two hours pass, but the clock reads 03:30 at the end: it went back an hour on the way.
        #expect(window.explanation(studioName: "Spinning studio", zone: bucharest)
            == "Spinning studio: booked class Sun 02:30–03:30, door open 02:15–03:45")
    }

    @Test("weekly classes happen only on their weekday within their dates; one-offs once")
    func recurrenceBounds() {
        let tuesday = weekly(.tuesday, "18:00", from: "2026-12-08", until: "2026-12-22")
        let dates = tuesday.recurrence.dates(in: DateSpan(first: day("2026-12-01"), last: day("2026-12-31")))
        #expect(dates == [day("2026-12-08"), day("2026-12-15"), day("2026-12-22")])
        #expect(tuesday.occurrence(on: day("2026-12-09"), in: bucharest) == nil)
        #expect(tuesday.occurrence(on: day("2026-12-29"), in: bucharest) == nil)
        let once = ClassRecurrence.once(date: day("2026-12-24"))
        #expect(once.dates(in: DateSpan(first: day("2026-12-21"), last: day("2026-12-27"))) == [day("2026-12-24")])
        #expect(once.dates(in: DateSpan(first: day("2026-12-25"), last: day("2026-12-31"))) == [])
    }

    @Test("a draft is weekly with a weekday and valid_from, or one-off with a date, never both")
    func draftValidation() throws {
        let time = LocalTime("18:00")!
        let good = try StudioClassDraft(
            studioID: studioID, name: " Spinning ", capacity: 12, startTime: time, durationMinutes: 60, weekday: .tuesday,
            validFrom: day("2026-12-01")
        ).validated(id: UUID())
        #expect(good.name == "Spinning")
        #expect(good.recurrence == .weekly(weekday: .tuesday, validFrom: day("2026-12-01"), validUntil: nil))

        func fields(_ draft: StudioClassDraft) -> Set<String> {
            do {
                _ = try draft.validated(id: UUID())
                return []
            } catch {
                return Set(error.fields.keys)
            }
        }
        let base = StudioClassDraft(studioID: studioID, name: "Yoga", capacity: 10, startTime: time, durationMinutes: 60)
        #expect(fields(base) == ["weekday"])
        var both = base
        both.weekday = .monday
        both.date = day("2026-12-24")
        #expect(fields(both) == ["weekday"])
        var noStart = base
        noStart.weekday = .monday
        #expect(fields(noStart) == ["valid_from"])
        var backwards = noStart
        backwards.validFrom = day("2026-12-10")
        backwards.validUntil = day("2026-12-01")
        #expect(fields(backwards) == ["valid_until"])
        var bad = base
        bad.date = day("2300-01-01")
        bad.capacity = 0
        bad.durationMinutes = 24 * 60 + 1
        bad.name = "  "
        #expect(fields(bad) == ["date", "capacity", "duration_minutes", "name"])
    }
}

@Suite("Class bookings and door windows")
struct ClassBookingRuleTests {
    let club = Club(name: "Old Town", timeZone: bucharest, kisiLockIDs: [1])
    var spinning: Studio { Studio(id: studioID, clubID: club.id, name: "Spinning studio", kisiLockIDs: [7]) }
    var classPass: Plan { Plan(id: Self.passID, name: "Spinning 4/week", clubIDs: [club.id]) }
    var unlimited: Plan { Plan(id: Self.unlimitedID, name: "All in", clubIDs: [club.id], studioIDs: [studioID]) }
    static let passID = UUID()
    static let unlimitedID = UUID()
    let memberID = UUID()
    var layout: GymLayout { GymLayout(clubs: [club], studios: [spinning], plans: [classPass, unlimited]) }

    func subscription(_ plan: Plan, from: String = "2026-01-01") -> Subscription {
        Subscription(memberID: memberID, planID: plan.id, startDate: day(from), paidThrough: day("2027-12-31"))
    }

    func booked(_ studioClass: StudioClass, on date: String, plan: UUID = passID, status: BookingStatus = .booked) -> BookedOccurrence {
        let occurrence = studioClass.occurrence(on: day(date), in: bucharest)!
        let booking = ClassBooking(
            classID: studioClass.id, occurrenceDate: occurrence.date, memberID: memberID, planID: plan, status: status,
            bookedAt: instant("2026-01-01T00:00:00Z"), bookedBy: "api:test")
        return BookedOccurrence(booking: booking, occurrence: occurrence)
    }

    @Test("allowance periods are the club's ISO week and calendar month")
    func periods() {
        #expect(ClassAllowance.perWeek(2).period(containing: day("2026-03-29")) == DateSpan(first: day("2026-03-23"), last: day("2026-03-29")))
        #expect(ClassAllowance.perMonth(8).period(containing: day("2028-02-10")) == DateSpan(first: day("2028-02-01"), last: day("2028-02-29")))
        #expect(ClassAllowance.unlimited.period(containing: day("2026-03-29")) == nil)
    }

    @Test("a booking uses an unlimited plan before a counted pass, and is refused when every pass is used")
    func choosingThePlan() throws {
        let rules = [
            PlanClassRule(planID: Self.passID, studioID: studioID, allowance: .perWeek(2), doorMode: .bookedClasses),
            PlanClassRule(planID: Self.unlimitedID, studioID: studioID, allowance: .unlimited, doorMode: .allDay),
        ]
        let occurrence = weekly(.tuesday, "18:00").occurrence(on: day("2026-12-22"), in: bucharest)!
        let both = [subscription(classPass), subscription(unlimited)]
        let chosen = ClassBookingRules.choose(
            memberID: memberID, occurrence: occurrence, subscriptions: both, layout: layout, rules: rules, used: { _, _ in 5 })
        #expect(try chosen.get().planID == Self.unlimitedID)

        var periods: [DateSpan] = []
        let used = ClassBookingRules.choose(
            memberID: memberID, occurrence: occurrence, subscriptions: [subscription(classPass)], layout: layout, rules: rules,
            used: { _, period in periods.append(period); return 2 })
        #expect(used == .failure(.allowanceUsed(limit: 2, period: DateSpan(first: day("2026-12-21"), last: day("2026-12-27")))))
        #expect(periods == [DateSpan(first: day("2026-12-21"), last: day("2026-12-27"))])

        let room = ClassBookingRules.choose(
            memberID: memberID, occurrence: occurrence, subscriptions: [subscription(classPass)], layout: layout, rules: rules, used: { _, _ in 1 })
        #expect(try room.get().planID == Self.passID)

        // A subscription that starts after the class does not cover it.
        let later = ClassBookingRules.choose(
            memberID: memberID, occurrence: occurrence, subscriptions: [subscription(classPass, from: "2026-12-23")], layout: layout,
            rules: rules, used: { _, _ in 0 })
        #expect(later == .failure(.notIncluded))
    }

    @Test("the access rule explains a booked window: 15 minutes before to 15 minutes after, in club time")
    func explanation() {
        let rules = [PlanClassRule(planID: Self.passID, studioID: studioID, allowance: .perWeek(4), doorMode: .bookedClasses)]
        let tuesday = weekly(.tuesday, "18:00")
        let windows = ClassAccessRule.doorWindows(
            memberID: memberID, block: nil, subscriptions: [subscription(classPass)], bookings: [booked(tuesday, on: "2026-12-22")],
            layout: layout, rules: rules, at: instant("2026-12-22T10:00:00Z"))
        #expect(windows.count == 1)
        #expect(windows.first?.lockIDs == [7])
        #expect(iso(windows.first?.opensAt) == "2026-12-22T15:45:00Z")
        #expect(iso(windows.first?.closesAt) == "2026-12-22T17:15:00Z")
        #expect(windows.first?.explanation(studioName: spinning.name, zone: bucharest)
            == "Spinning studio: booked class Tue 18:00–19:00, door open 17:45–19:15")
    }

    @Test("windows across midnight and both DST changes keep club-local times")
    func windowsAcrossMidnightAndDST() {
        let rules = [PlanClassRule(planID: Self.passID, studioID: studioID, allowance: .unlimited, doorMode: .bookedClasses)]
        let late = weekly(.saturday, "23:30")
        let early = weekly(.sunday, "08:00")
        let bookings = [booked(late, on: "2026-03-28"), booked(early, on: "2026-03-29"), booked(late, on: "2026-10-24"), booked(early, on: "2026-10-25")]
        let windows = ClassAccessRule.doorWindows(
            memberID: memberID, block: nil, subscriptions: [subscription(classPass)], bookings: bookings, layout: layout, rules: rules,
            at: instant("2026-03-01T00:00:00Z"), perStudio: 10)
        #expect(windows.map { ExpectedWindow(iso($0.opensAt)!, iso($0.closesAt)!) } == [
            // Saturday 23:30 +02 → 21:30Z; the window closes after midnight, 00:45 local.
            ExpectedWindow("2026-03-28T21:15:00Z", "2026-03-28T22:45:00Z"),
            // Sunday 08:00 is already summer time, +03.
            ExpectedWindow("2026-03-29T04:45:00Z", "2026-03-29T06:15:00Z"),
            ExpectedWindow("2026-10-24T20:15:00Z", "2026-10-24T21:45:00Z"),
            // Back to +02.
            ExpectedWindow("2026-10-25T05:45:00Z", "2026-10-25T07:15:00Z"),
        ])
        #expect(windows.map { $0.explanation(studioName: "Spinning studio", zone: bucharest) } == [
            "Spinning studio: booked class Sat 23:30–00:30, door open 23:15–00:45",
            "Spinning studio: booked class Sun 08:00–09:00, door open 07:45–09:15",
            "Spinning studio: booked class Sat 23:30–00:30, door open 23:15–00:45",
            "Spinning studio: booked class Sun 08:00–09:00, door open 07:45–09:15",
        ])
    }

    @Test("only the next two open windows per studio; cancelled, waitlisted, blocked, all-day and lapsed ones open nothing")
    func whichBookingsOpenWindows() {
        let rules = [
            PlanClassRule(planID: Self.passID, studioID: studioID, allowance: .unlimited, doorMode: .bookedClasses),
            PlanClassRule(planID: Self.unlimitedID, studioID: studioID, allowance: .unlimited, doorMode: .allDay),
        ]
        let tuesday = weekly(.tuesday, "18:00")
        var cancelledOccurrence = booked(tuesday, on: "2026-12-08")
        cancelledOccurrence.occurrence.cancellation = OccurrenceCancellation(reason: "ill", cancelledAt: Date(), cancelledBy: "staff:x")
        let bookings = [
            booked(tuesday, on: "2026-12-01"),  // over by the instant below
            cancelledOccurrence,
            booked(tuesday, on: "2026-12-15", status: .waitlisted),
            booked(tuesday, on: "2026-12-15", plan: Self.unlimitedID),  // all-day plan: the group opens the door
            booked(tuesday, on: "2026-12-22", status: .cancelled),
            booked(tuesday, on: "2026-12-29", status: .promoted),
            booked(tuesday, on: "2027-01-05", status: .checkedIn),
            booked(tuesday, on: "2027-01-12"),
        ]
        let subscriptions = [subscription(classPass), subscription(unlimited)]
        let now = instant("2026-12-02T00:00:00Z")
        let windows = ClassAccessRule.doorWindows(
            memberID: memberID, block: nil, subscriptions: subscriptions, bookings: bookings, layout: layout, rules: rules, at: now)
        #expect(windows.map(\.occurrenceDate) == [day("2026-12-29"), day("2027-01-05")])

        let blocked = ClassAccessRule.doorWindows(
            memberID: memberID, block: MemberBlock(reason: "card", blockedAt: now, blockedBy: "staff:x"), subscriptions: subscriptions,
            bookings: bookings, layout: layout, rules: rules, at: now)
        #expect(blocked.isEmpty)
        // The pass ends before 2027: its bookings then open nothing.
        var ending = subscription(classPass)
        ending.endDate = day("2026-12-31")
        let lapsed = ClassAccessRule.doorWindows(
            memberID: memberID, block: nil, subscriptions: [ending], bookings: bookings, layout: layout, rules: rules, at: now)
        #expect(lapsed.map(\.occurrenceDate) == [day("2026-12-29")])
    }

    @Test("the door verdict opens a booked-only studio in the member's windows alone, across midnight and DST, and says why")
    func doorVerdictFollowsBookings() {
        var pass = classPass
        pass.studioIDs = [studioID]  // listed, so without its class rule the studio would open all day
        let layout = GymLayout(clubs: [club], studios: [spinning], plans: [pass, unlimited])
        let rules = [PlanClassRule(planID: pass.id, studioID: studioID, allowance: .unlimited, doorMode: .bookedClasses)]
        let bookings = [booked(weekly(.saturday, "23:30"), on: "2026-03-28"), booked(weekly(.sunday, "08:00"), on: "2026-03-29")]
        let subscriptions = [subscription(pass)]
        func decide(_ at: String, subscriptions: [Subscription] = subscriptions, block: MemberBlock? = nil) -> AccessDecision {
            let now = instant(at)
            let windows = ClassAccessRule.doorWindows(
                memberID: memberID, block: block, subscriptions: subscriptions, bookings: bookings, layout: layout, rules: rules, at: now)
            return AccessRule.decide(
                memberID: memberID, block: block, subscriptions: subscriptions, layout: layout,
                classes: ClassAccess(rules: rules, windows: windows), at: now)
        }
        func studioDoor(_ decision: AccessDecision) -> DoorAccess { decision.doors.first { $0.door.lockID == 7 }! }
        func entrance(_ decision: AccessDecision) -> DoorAccess { decision.doors.first { $0.door.lockID == 1 }! }

        // 23:00 local on Saturday: the entrance follows the subscription, the studio waits for the class.
        let before = decide("2026-03-28T21:00:00Z")
        #expect(before.reason == .active && entrance(before).allowed)
        #expect(before.plans.first?.lockIDs == [1])
        #expect(studioDoor(before).reason == .notBooked)
        #expect(studioDoor(before).classWindow?.occurrenceDate == day("2026-03-28"))
        #expect(studioDoor(before).explanation == AccessReason.notBooked.explanation
            + " Next, on 28 Mar: Spinning studio: booked class Sat 23:30–00:30, door open 23:15–00:45.")

        // 00:30 on Sunday, local: the Saturday class's window runs past midnight.
        let during = decide("2026-03-28T22:30:00Z")
        #expect(studioDoor(during).allowed)
        #expect(studioDoor(during).grantingPlanIDs == [pass.id])
        #expect(iso(studioDoor(during).window?.from) == "2026-03-28T21:15:00Z")
        #expect(iso(studioDoor(during).window?.until) == "2026-03-28T22:45:00Z")
        #expect(studioDoor(during).explanation == "Spinning studio: booked class Sat 23:30–00:30, door open 23:15–00:45.")

        // The window is half-open: at 00:45 the door is shut again, and the next class is the Sunday one.
        let closed = decide("2026-03-28T22:45:00Z")
        #expect(studioDoor(closed).reason == .notBooked)
        #expect(studioDoor(closed).classWindow?.occurrenceDate == day("2026-03-29"))

        // 07:50 on Sunday is summer time (+03): 04:50Z is inside 07:45–09:15.
        #expect(studioDoor(decide("2026-03-29T04:50:00Z")).allowed)
        #expect(!studioDoor(decide("2026-03-29T04:40:00Z")).allowed)

        // No bookings left: not booked, with nothing next.
        let after = decide("2026-03-29T07:00:00Z")
        #expect(studioDoor(after).reason == .notBooked && studioDoor(after).classWindow == nil)
        #expect(studioDoor(after).explanation == AccessReason.notBooked.explanation)

        // A frozen pass says frozen (the desk can fix that), a block says blocked; neither opens the window.
        var frozen = subscription(pass)
        frozen.freezes = [Freeze(span: DateSpan(first: day("2026-03-28"), last: day("2026-03-29")))]
        #expect(studioDoor(decide("2026-03-28T22:30:00Z", subscriptions: [frozen])).reason == .frozen)
        let block = MemberBlock(reason: "card", blockedAt: instant("2026-03-01T00:00:00Z"), blockedBy: "staff:x")
        #expect(studioDoor(decide("2026-03-28T22:30:00Z", block: block)).reason == .blocked)

        // Another active plan that opens the studio all day keeps it open outside the windows.
        let both = decide("2026-03-28T21:00:00Z", subscriptions: [subscription(pass), subscription(unlimited)])
        #expect(studioDoor(both).allowed && studioDoor(both).grantingPlanIDs == [unlimited.id] && studioDoor(both).classWindow == nil)

        // Without class rules the rule is today's: the listed studio opens all day.
        let plain = AccessRule.decide(memberID: memberID, subscriptions: subscriptions, layout: layout, at: instant("2026-03-28T21:00:00Z"))
        #expect(studioDoor(plain).allowed && plain.plans.first?.lockIDs == [1, 7])
    }

    @Test("a plan's group keeps club entrances but not the doors of studios it opens only for booked classes")
    func groupLocks() throws {
        var withStudio = classPass
        withStudio.studioIDs = [studioID]
        let layout = GymLayout(clubs: [club], studios: [spinning], plans: [withStudio])
        let windowed = [PlanClassRule(planID: withStudio.id, studioID: studioID, allowance: .perWeek(2), doorMode: .bookedClasses)]
        #expect(PlanClassRule.groupLockIDs(of: withStudio, layout: layout, rules: windowed) == [1])
        let allDay = [PlanClassRule(planID: withStudio.id, studioID: studioID, allowance: .perWeek(2), doorMode: .allDay)]
        #expect(PlanClassRule.groupLockIDs(of: withStudio, layout: layout, rules: allDay) == [1, 7])
        #expect(PlanClassRule.groupLockIDs(of: withStudio, layout: layout, rules: []) == [1, 7])
    }

    @Test("class rules are validated against the plan and the studios")
    func ruleValidation() {
        let rules = [
            PlanClassRule(planID: Self.passID, studioID: studioID, allowance: .perWeek(0), doorMode: .allDay),
            PlanClassRule(planID: Self.passID, studioID: studioID, allowance: .unlimited, doorMode: .bookedClasses),
            PlanClassRule(planID: Self.passID, studioID: UUID(), allowance: .perMonth(4), doorMode: .bookedClasses),
        ]
        do {
            _ = try PlanClassRule.validated(rules, plan: classPass, layout: layout)
            Issue.record("expected validation errors")
        } catch {
            #expect(Set(error.fields.keys) == ["rules[0].count", "rules[0].door_mode", "rules[1].studio_id", "rules[2].studio_id"])
        }
    }
}
