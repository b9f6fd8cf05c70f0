import FluentKit
import Foundation
import SQLKit

/// Door events counted per door and UTC hour, for the dashboard's charts and the attendance page.
///
/// The database groups and counts; only the counts come back (doors × hours × outcome, a few thousand
/// rows for four weeks), never the events themselves. Hours are UTC hours since 1970 because SQLite
/// knows no time zones: the caller files each hour under its club's local day and hour, which is exact
/// for every zone whose offset is a whole number of hours (all of Europe and the Americas; a zone like
/// India's +05:30 files each hour's events under the local hour in which that UTC hour starts).
public struct DoorEventHourCount: Sendable, Equatable {
    /// The UTC hour: `occurred_at` rounded down to the hour, as hours since 1970-01-01T00:00Z.
    public var hour: Int
    public var lockID: Int?
    public var placeID: Int?
    /// Kisi opened the door (true) or refused it.
    public var success: Bool
    public var count: Int

    public init(hour: Int, lockID: Int?, placeID: Int?, success: Bool, count: Int) {
        self.hour = hour
        self.lockID = lockID
        self.placeID = placeID
        self.success = success
        self.count = count
    }

    /// The first instant of the hour.
    public var start: Date { Date(timeIntervalSince1970: TimeInterval(hour) * 3600) }
}

extension GymRepository {
    /// Door events from `from` (inclusive) to `to` (exclusive) counted per UTC hour, door (lock and
    /// place) and outcome: one GROUP BY over the `occurred_at` index.
    public func doorEventHourCounts(from: Date, to: Date) async throws -> [DoorEventHourCount] {
        let sql = try sqlDatabase
        // SQLite keeps a Date as seconds since 1970 (a REAL), PostgreSQL as a timestamptz.
        let hour: SQLQueryString = sql.dialect.name == "postgresql"
            ? "CAST(FLOOR(EXTRACT(EPOCH FROM occurred_at) / 3600) AS BIGINT)"
            : "CAST(occurred_at / 3600 AS INTEGER)"
        let rows = try await sql.raw("""
            SELECT \(hour) AS hour, lock_id, place_id, success, COUNT(*) AS events
            FROM door_events
            WHERE occurred_at >= \(bind: from) AND occurred_at < \(bind: to)
            GROUP BY 1, lock_id, place_id, success
            """).all()
        return try rows.map { row in
            DoorEventHourCount(
                hour: try row.decode(column: "hour", as: Int.self), lockID: try row.decode(column: "lock_id", as: Int?.self),
                placeID: try row.decode(column: "place_id", as: Int?.self), success: try row.decode(column: "success", as: Bool.self),
                count: try row.decode(column: "events", as: Int.self))
        }
    }
}
