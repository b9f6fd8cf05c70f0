import FluentKit
import Foundation

extension GymRepository {
    /// Stores many door events in one transaction, a few hundred rows per INSERT: what seeding weeks of
    /// history needs, where ``recordDoorEvent(_:)`` would ask twice per event. No redelivery check: the
    /// caller makes the Kisi UUIDs unique, and a clash fails the whole batch rather than half of it.
    public func recordDoorEvents(_ events: [DoorEvent]) async throws {
        guard !events.isEmpty else { return }
        // 10 columns a row: 400 rows stay far below SQLite's and PostgreSQL's bound-parameter limits.
        let rowsPerInsert = 400
        try await database.transaction { database in
            var start = 0
            while start < events.count {
                let end = min(start + rowsPerInsert, events.count)
                try await events[start..<end].map(DoorEventRow.init).create(on: database)
                start = end
            }
        }
    }
}
