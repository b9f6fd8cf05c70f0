import Foundation

/// The last hour of change → Kisi latency, one point a minute (the p95 of the hour's window as the sync
/// published it that minute), for the dashboard's sparkline. Bounded: a point per minute in which the
/// sync published, none older than `window` before the newest, so the stored JSON stays a few KB.
public struct PropagationHistory: Codable, Sendable, Equatable {
    public struct Point: Codable, Sendable, Equatable {
        /// The minute (UTC, whole) the figure was published in.
        public var minute: Date
        public var p95Milliseconds: Int

        public init(minute: Date, p95Milliseconds: Int) {
            self.minute = minute
            self.p95Milliseconds = p95Milliseconds
        }

        enum CodingKeys: String, CodingKey {
            case minute, p95Milliseconds = "p95_ms"
        }
    }

    /// How far back the history reaches.
    public static let window: TimeInterval = 3600

    /// Oldest first, at most one a minute.
    public var points: [Point]

    public init(points: [Point] = []) { self.points = points }

    /// The history with `summary`'s p95 as the point of the minute it was published in (a later figure
    /// of the same minute replaces the earlier), and without points older than the window. A summary
    /// without samples adds nothing: no change was synced in its hour.
    public func adding(_ summary: PropagationSummary) -> PropagationHistory {
        guard let p95 = summary.p95Milliseconds, summary.samples > 0 else { return pruned(before: summary.updatedAt) }
        let minute = Date(timeIntervalSince1970: (summary.updatedAt.timeIntervalSince1970 / 60).rounded(.down) * 60)
        var points = self.points.filter { $0.minute != minute }
        points.append(Point(minute: minute, p95Milliseconds: p95))
        points.sort { $0.minute < $1.minute }
        return PropagationHistory(points: points).pruned(before: summary.updatedAt)
    }

    /// The points within the window that ends at `now`.
    public func pruned(before now: Date) -> PropagationHistory {
        let earliest = now.addingTimeInterval(-Self.window)
        return PropagationHistory(points: points.filter { $0.minute > earliest && $0.minute <= now })
    }
}
