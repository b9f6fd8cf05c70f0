import Foundation
import GymStore
import Testing

@Suite("Propagation history")
struct PropagationHistoryTests {
    static let start = Date(timeIntervalSince1970: 1_796_000_040)  // on a whole minute

    static func summary(at seconds: TimeInterval, p95: Int?, samples: Int = 3) -> PropagationSummary {
        PropagationSummary(
            windowSeconds: 3600, samples: samples, p50Milliseconds: p95.map { $0 / 2 }, p95Milliseconds: p95, maxMilliseconds: p95,
            updatedAt: start.addingTimeInterval(seconds))
    }

    @Test("One point a minute: a later figure of the same minute replaces the earlier, the next minute adds one")
    func onePointAMinute() {
        let history = PropagationHistory()
            .adding(Self.summary(at: 5, p95: 800))
            .adding(Self.summary(at: 50, p95: 1_200))
            .adding(Self.summary(at: 61, p95: 900))
        #expect(history.points == [
            PropagationHistory.Point(minute: Self.start, p95Milliseconds: 1_200),
            PropagationHistory.Point(minute: Self.start.addingTimeInterval(60), p95Milliseconds: 900),
        ])
    }

    @Test("Points older than an hour go, so a sync running for days keeps at most 60")
    func boundedToTheLastHour() {
        var history = PropagationHistory()
        for minute in 0..<(3 * 60) { history = history.adding(Self.summary(at: TimeInterval(minute * 60 + 30), p95: 1_000 + minute)) }
        #expect(history.points.count == 60)
        #expect(history.points.first?.p95Milliseconds == 1_000 + 120)
        #expect(history.points.last?.p95Milliseconds == 1_000 + 179)
        // Half an hour later the window starts after minute 150: minutes 151–179 remain.
        #expect(history.pruned(before: Self.start.addingTimeInterval(3 * 3600 + 30 * 60)).points.count == 29)
    }

    @Test("A summary without synced changes adds no point, and old points still go")
    func emptySummaryAddsNothing() {
        let history = PropagationHistory().adding(Self.summary(at: 0, p95: 700))
        #expect(history.adding(Self.summary(at: 120, p95: nil, samples: 0)).points.count == 1)
        #expect(history.adding(Self.summary(at: 3_700, p95: nil, samples: 0)).points.isEmpty)
    }

    @Test("The history survives the trip through sync_state as JSON", arguments: DatabaseKind.available)
    func storedAndReadBack(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let history = PropagationHistory().adding(Self.summary(at: 0, p95: 700)).adding(Self.summary(at: 90, p95: 1_500))
            try await database.repository.syncState.set(.propagationHistory, history)
            #expect(try await database.repository.syncState.get(.propagationHistory) == history)
        }
    }

    @Test("Door events stored in one batch read back whole, over several INSERTs", arguments: DatabaseKind.available)
    func doorEventsInOneBatch(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            var events: [DoorEvent] = []
            for index in 0..<1_000 {
                let refused = index % 50 == 0
                let at = Self.start.addingTimeInterval(TimeInterval(index))
                events.append(DoorEvent(
                    kisiUUID: "batch-\(index)", occurredAt: at, lockID: 5001, lockName: "Old Town entrance", placeID: 1001,
                    kisiUserID: nil, actorName: "Ana Popescu", success: !refused, message: refused ? "Your access is no longer valid." : nil))
            }
            try await database.repository.recordDoorEvents(events)
            let stored = try await database.repository.doorEvents(since: Self.start, limit: 5_000)
            #expect(stored.count == 1_000)
            #expect(stored.filter { !$0.success }.count == 20)
            #expect(Set(stored.map(\.kisiUUID)) == Set(events.map(\.kisiUUID)))
            // A redelivery of one of them is still recognised by the one-at-a-time path.
            #expect(try await database.repository.recordDoorEvent(events[7]) == false)
        }
    }
}
