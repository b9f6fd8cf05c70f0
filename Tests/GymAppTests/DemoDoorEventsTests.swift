import Foundation
import GymApp
import GymCore
import GymStore
import Logging
import Testing

@Suite("Demo door history")
struct DemoDoorEventsTests {
    static let zone = TimeZone(identifier: "Europe/Bucharest")!

    @Test("The demo starts with weeks of check-ins at the clubs' doors, busiest on weekday evenings, a few refusals, none after its start")
    func demoSeedsDoorHistory() async throws {
        var logger = Logger(label: "boogyman.demo-tests")
        logger.logLevel = .warning
        let database = try GymDatabase(location: .sqliteInMemory, logger: logger)
        try await database.migrate()
        let today = LocalDate(2026, 12, 2)  // a Wednesday
        let now = today.startOfDay(in: Self.zone).addingTimeInterval(15 * 3600)  // 15:00 local
        let summary = try await DemoGym.seed(database.repository, today: today, now: now, memberCount: 300)
        let events = try await database.repository.doorEvents(since: now.addingTimeInterval(-40 * 86_400), limit: 100_000)
        await database.shutdown()

        #expect(events.count == summary.doorEvents)
        #expect(events.count > 2_000, "about 165 members with access, 2–5 visits a week, 5 weeks")
        #expect(events.allSatisfy { $0.occurredAt <= now })
        #expect(events.allSatisfy { $0.placeID.map { [1001, 1002, 1003].contains($0) } ?? false })
        // The clubs' entrances, the yoga pass's studio, and the studios of the classes members booked.
        #expect(Set(events.compactMap(\.lockID)).isSubset(of: [5001, 5002, 5003, 5004, 5011, 5012, 5021, 5022, 5023]))
        #expect(Set(events.map(\.kisiUUID)).count == events.count)
        let refused = events.filter { !$0.success }
        #expect(!refused.isEmpty && refused.count < events.count / 10)
        #expect(refused.allSatisfy { $0.message != nil })

        var byHour = [Int](repeating: 0, count: 24)
        var weekdays = 0, weekends = 0
        for event in events where event.success {
            let components = Calendar.gregorian(in: Self.zone).dateComponents([.hour, .weekday], from: event.occurredAt)
            byHour[components.hour!] += 1
            if components.weekday == 1 || components.weekday == 7 { weekends += 1 } else { weekdays += 1 }
        }
        #expect(byHour[18] > byHour[14] && byHour[7] > byHour[14], "mornings and evenings are busiest")
        #expect(byHour[2] == 0, "nobody trains at 2 in the morning")
        #expect(Double(weekends) / 2 < Double(weekdays) / 5, "a weekend day is lighter than a weekday")

        // Some came regularly and stopped 20–40 days ago: nothing from them in the last 20 days.
        var lastSeen: [String: Date] = [:]
        for event in events where event.success { lastSeen[event.actorName!] = max(lastSeen[event.actorName!] ?? .distantPast, event.occurredAt) }
        let stopped = lastSeen.values.filter { now.timeIntervalSince($0) > 20 * 86_400 }
        #expect(!stopped.isEmpty)
    }

    @Test("The demo's door history is the same for the same start")
    func doorHistoryIsReproducible() async throws {
        var counts: [Int] = []
        for _ in 0..<2 {
            let database = try GymDatabase(location: .sqliteInMemory, logger: Logger(label: "boogyman.demo-tests"))
            try await database.migrate()
            let today = LocalDate(2026, 12, 2)
            counts.append(try await DemoGym.seed(
                database.repository, today: today, now: today.startOfDay(in: Self.zone).addingTimeInterval(20 * 3600), memberCount: 40).doorEvents)
            await database.shutdown()
        }
        #expect(counts[0] == counts[1] && counts[0] > 0)
    }
}

extension Calendar {
    static func gregorian(in zone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }
}
