import Foundation
import GymCore
import GymStore
import Testing
@testable import GymAdmin

@Suite("Club time and attendance")
struct ClubTimeTests {
    static let bucharest = TimeZone(identifier: "Europe/Bucharest")!
    static func instant(_ iso: String) -> Date { try! Date(iso, strategy: .iso8601) }

    @Test("times read in the club's zone, the way staff say them, with UTC kept for the tooltip")
    func humanText() {
        let time = ClubTime(Self.bucharest)
        let winter = Self.instant("2026-12-22T16:00:00Z")
        #expect(time.text(winter, now: winter) == "Tue 22 Dec, 18:00")
        #expect(time.text(winter, now: Self.instant("2027-01-02T10:00:00Z")) == "Tue 22 Dec 2026, 18:00")
        #expect(ClubTime.utcText(winter) == "2026-12-22 16:00:00 UTC")
        let value = time.value(winter, now: winter)
        #expect(value["text"] as? String == "Tue 22 Dec, 18:00")
        #expect(value["utc"] as? String == "2026-12-22 16:00:00 UTC")
        #expect(ClubTime.day(LocalDate("2026-12-19")!) == "Sat 19 Dec")
        // Access paid through 22 December ends at the club's midnight: staff say "the end of Tue 22 Dec".
        let midnight = LocalDate("2026-12-23")!.startOfDay(in: Self.bucharest)
        #expect(time.until(midnight, now: winter) == "the end of Tue 22 Dec")
        #expect(time.until(midnight.addingTimeInterval(60), now: winter) == "Wed 23 Dec, 00:01")
        // Midnight in summer time is 21:00 UTC the day before; it still ends the local day.
        #expect(time.until(Self.instant("2026-07-01T21:00:00Z"), now: winter) == "the end of Wed 1 Jul")
        #expect(time.from(midnight, now: winter) == "Wed 23 Dec")
        #expect(time.from(midnight.addingTimeInterval(3600), now: winter) == "Wed 23 Dec, 01:00")
    }

    @Test("the clocks changing: the same UTC hour is 2 hours ahead in winter and 3 in summer, and the missing and repeated hours fall right")
    func daylightSaving() {
        let time = ClubTime(Self.bucharest)
        // Spring forward on 29 March 2026 at 03:00 local (01:00Z): 00:59Z is 02:59 EET, 01:00Z is 04:00 EEST.
        #expect(time.clock(Self.instant("2026-03-29T00:59:00Z")) == "02:59")
        #expect(time.clock(Self.instant("2026-03-29T01:00:00Z")) == "04:00")
        // Fall back on 25 October 2026 at 04:00 local (01:00Z): 03:30 happens twice.
        #expect(time.clock(Self.instant("2026-10-25T00:30:00Z")) == "03:30")
        #expect(time.clock(Self.instant("2026-10-25T01:30:00Z")) == "03:30")
        #expect(time.text(Self.instant("2026-07-01T15:00:00Z"), now: Self.instant("2026-07-01T15:00:00Z")) == "Wed 1 Jul, 18:00")
        #expect(time.hourAndWeekday(Self.instant("2026-07-01T21:30:00Z")) == (0, 3), "00:30 on Thursday in Bucharest")
    }

    @Test("attendance files each hour's check-ins under the club's local hour and day, across a clock change, and refusals apart")
    func attendanceFiling() throws {
        let club = Club(name: "Old Town", timeZone: Self.bucharest, kisiPlaceID: 100, kisiLockIDs: [1])
        let other = Club(name: "Cluj", timeZone: TimeZone(identifier: "UTC")!, kisiPlaceID: 200, kisiLockIDs: [2])
        let layout = GymLayout(clubs: [club, other], studios: [], plans: [])
        // Monday 30 March 2026, 12:00 in Bucharest (EEST, UTC+3), the day after the clocks went forward.
        let now = Self.instant("2026-03-30T09:00:00Z")
        func hour(_ iso: String) -> Int { Int(Self.instant(iso).timeIntervalSince1970 / 3600) }
        let counts = [
            // Today 08:00 and 11:00 local.
            DoorEventHourCount(hour: hour("2026-03-30T05:00:00Z"), lockID: 1, placeID: 100, success: true, count: 3),
            DoorEventHourCount(hour: hour("2026-03-30T08:00:00Z"), lockID: 1, placeID: 100, success: true, count: 2),
            DoorEventHourCount(hour: hour("2026-03-30T08:00:00Z"), lockID: 1, placeID: 100, success: false, count: 4),
            // Yesterday (Sunday) 08:00 local, already summer time, and Saturday 08:00 local, still winter time.
            DoorEventHourCount(hour: hour("2026-03-29T05:00:00Z"), lockID: 1, placeID: 100, success: true, count: 28),
            DoorEventHourCount(hour: hour("2026-03-28T06:00:00Z"), lockID: nil, placeID: 100, success: true, count: 56),
            // The other club's door, and a door of no club.
            DoorEventHourCount(hour: hour("2026-03-30T08:00:00Z"), lockID: 2, placeID: 200, success: true, count: 5),
            DoorEventHourCount(hour: hour("2026-03-30T08:00:00Z"), lockID: 99, placeID: 999, success: true, count: 50),
        ]
        let attendance = Attendance.build(counts: counts, directory: DoorDirectory(layout: layout), now: now)
        let oldTown = try #require(attendance.clubs.first { $0.name == "Old Town" })
        #expect(oldTown.todayByHour[8] == 3)
        #expect(oldTown.todayByHour[11] == 2)
        #expect(oldTown.checkInsToday == 5)
        #expect(oldTown.deniedToday == 4)
        // Both earlier days' events were at 08:00 local, whatever the offset was.
        #expect(oldTown.typicalByHour[8] == Double(28 + 56) / Double(Attendance.typicalDays))
        #expect(oldTown.typicalByHour.enumerated().filter { $0.offset != 8 }.allSatisfy { $0.element == 0 })
        #expect(oldTown.week[6][8] == 28, "Sunday 08:00")
        #expect(oldTown.week[5][8] == 56, "Saturday 08:00")
        #expect(oldTown.week[0].reduce(0, +) == 0, "today is not part of the typical week")
        #expect(oldTown.byDay.count == Attendance.dailyDays)
        #expect(oldTown.byDay.last?.day == LocalDate("2026-03-30"))
        #expect(oldTown.byDay.last?.count == 5)
        #expect(oldTown.byDay.suffix(3).map(\.count) == [56, 28, 5])
        let cluj = try #require(attendance.clubs.first { $0.name == "Cluj" })
        #expect(cluj.todayByHour[8] == 5)
        #expect(cluj.checkInsToday == 5)
    }

    @Test("the charts' bars carry the counts they draw, and the tallest bar fills the plot")
    func chartsCarryTheirData() {
        var today = [Int](repeating: 0, count: 24)
        today[9] = 4
        today[18] = 8
        let chart = Charts.hourly(today: today, typical: [Double](repeating: 2, count: 24), now: 18)
        let bars = chart["bars"] as? [[String: Any]] ?? []
        #expect(bars.count == 24)
        #expect(bars.compactMap { $0["count"] as? Int } == today)
        let plot = Double(Charts.height - Charts.bottom - 8)
        #expect(bars[18]["height"] as? String == Charts.fmt(plot))
        #expect(bars[9]["height"] as? String == Charts.fmt(plot / 2))
        #expect(bars[0]["height"] as? String == "0")
        let heat = Charts.heatMap([[Int]](repeating: [Int](repeating: 0, count: 24), count: 6) + [[Int](repeating: 3, count: 24)])
        let cells = heat["cells"] as? [[String: Any]] ?? []
        #expect(cells.count == 7 * 24)
        #expect(cells.filter { ($0["level"] as? Int) == 5 }.count == 24)
        #expect(cells.filter { ($0["level"] as? Int) == 0 }.count == 6 * 24)
    }
}
