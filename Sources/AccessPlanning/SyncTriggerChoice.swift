import Foundation
import GymCore

/// A club-local midnight the sync re-plans at, and the zone it belongs to (for the run's trigger).
public struct DayBoundary: Sendable, Equatable {
    public var instant: Date
    public var zone: String

    public init(instant: Date, zone: String) {
        self.instant = instant
        self.zone = zone
    }
}

/// What the sync service does next, decided from plain values.
public enum SyncTriggerChoice {
    /// The next club-local midnight after `instant` over `zones`, a few seconds past it so the new day's
    /// date is certain; nil without clubs.
    public static func nextDayBoundary(after instant: Date, zones: [TimeZone]) -> DayBoundary? {
        zones.map { zone in
            let midnight = LocalDate(containing: instant, in: zone).adding(days: 1).startOfDay(in: zone)
            return DayBoundary(instant: midnight.addingTimeInterval(5), zone: zone.identifier)
        }.min { $0.instant < $1.instant }
    }
}
