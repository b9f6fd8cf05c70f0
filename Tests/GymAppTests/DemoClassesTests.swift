import Foundation
import GymApp
import GymCore
import GymStore
import Logging
import Testing

@Suite("Demo classes")
struct DemoClassesTests {
    static let zone = TimeZone(identifier: "Europe/Bucharest")!

    @Test("The demo's studios have a weekly timetable with bookings: some classes full with a waitlist, one cancelled, held ones with check-ins and no-shows")
    func demoTimetable() async throws {
        var logger = Logger(label: "boogyman.demo-tests")
        logger.logLevel = .warning
        let database = try GymDatabase(location: .sqliteInMemory, logger: logger)
        try await database.migrate()
        let repository = database.repository
        let today = LocalDate(2026, 12, 2)  // a Wednesday
        let now = today.startOfDay(in: Self.zone).addingTimeInterval(15 * 3600)  // 15:00 local
        _ = try await DemoGym.seed(repository, today: today, now: now, memberCount: 300)
        let layout = try await repository.layout()
        let studio = { (name: String) in try #require(layout.studios.values.first { $0.name == name }) }

        let spinning = try studio("Spinning")
        let thisWeek = try await repository.classWeek(studioID: spinning.id, containing: today)
        let nextWeek = try await repository.classWeek(studioID: spinning.id, containing: today.adding(days: 7))
        #expect(thisWeek.count == 13, "Morning spin and Spinning on weekdays, HIIT ride on Monday and Wednesday, a Saturday ride")
        #expect(Set(thisWeek.map(\.occurrence.date)).count == 6, "no classes on Sunday")
        let coming = (thisWeek + nextWeek).filter { $0.occurrence.startsAt > now && $0.occurrence.date <= today.adding(days: 6) }
        #expect(coming.contains { $0.isFull && $0.waitlisted > 0 }, "evening classes fill up and members wait")
        #expect(coming.contains { $0.booked > 0 && !$0.isFull })
        for name in ["Yoga", "Pool", "Climbing wall"] {
            #expect(!(try await repository.classWeek(studioID: try studio(name).id, containing: today)).isEmpty, "\(name) has classes")
        }
        var cancelled = 0
        for name in ["Spinning", "Yoga", "Pool", "Climbing wall"] {
            for week in [today, today.adding(days: 7)] {
                cancelled += try await repository.classWeek(studioID: try studio(name).id, containing: week).filter(\.occurrence.isCancelled).count
            }
        }
        #expect(cancelled == 1)

        // Old Town basic opens the Spinning studio only for booked classes.
        let basic = try #require(layout.plans.values.first { $0.name == "Old Town basic" })
        #expect(try await repository.planClassRules(planID: basic.id) == [
            PlanClassRule(planID: basic.id, studioID: spinning.id, allowance: .perMonth(8), doorMode: .bookedClasses),
        ])

        // Monday's evening class is over: most came through the studio door, some did not.
        let monday = try #require(thisWeek.first { $0.occurrence.name == "Spinning" && $0.occurrence.date == today.adding(days: -2) })
        let roster = try await repository.occurrenceWithAttendance(classID: monday.occurrence.classID, date: monday.occurrence.date, at: now)
        let states = roster.places.map(\.booking.status)
        #expect(states.contains(.checkedIn))
        #expect(states.contains(.noShow))
        #expect(states.allSatisfy { $0 == .checkedIn || $0 == .noShow })
        await database.shutdown()
    }
}
