import Foundation

/// Kisi's documented limits: 5 requests per second per *user* (all logins of a user share the quota), and
/// `POST /event_sets` 1 per second. Implemented as a sliding one-second window over accepted requests, which
/// is the strictest reading: no interval of one second ever contains more than `limit` accepted requests.
actor RateLimiter {
    struct Stats: Sendable {
        var accepted: Int = 0
        var rejected: Int = 0
        /// Wall-clock times of accepted requests (capped), for benchmarks asserting the limit.
        var acceptedAt: [Date] = []
        var maxPerSecond: Int = 0
    }

    let perSecond: Int
    let eventSetsPerSecond: Int
    private var windows: [String: [ContinuousClock.Instant]] = [:]
    /// Per API key.
    private(set) var stats: [String: Stats] = [:]
    private var perKeyWindow: [String: [ContinuousClock.Instant]] = [:]
    private static let maxRecorded = 100_000

    init(perSecond: Int, eventSetsPerSecond: Int) {
        self.perSecond = perSecond
        self.eventSetsPerSecond = eventSetsPerSecond
    }

    /// Returns nil when accepted, or the seconds to wait (for `Retry-After`) when rejected.
    func admit(userId: Int, key: String, isEventSetCreate: Bool) -> Int? {
        let now = ContinuousClock.now
        let buckets: [(String, Int)] = [("u\(userId)", perSecond)] + (isEventSetCreate ? [("e\(userId)", eventSetsPerSecond)] : [])
        var wait: Duration?
        for (bucket, limit) in buckets where limit > 0 {
            let w = windows[bucket, default: []].filter { now - $0 < .seconds(1) }
            windows[bucket] = w
            if w.count >= limit, let oldest = w.first {
                let d = .seconds(1) - (now - oldest)
                wait = max(wait ?? .zero, d)
            }
        }
        if let wait {
            stats[key, default: Stats()].rejected += 1
            // Whole seconds, rounded up, at least 1 (HTTP's Retry-After has no fractions).
            let secs = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
            return max(1, Int(secs.rounded(.up)))
        }
        for (bucket, limit) in buckets where limit > 0 { windows[bucket, default: []].append(now) }
        var s = stats[key, default: Stats()]
        s.accepted += 1
        if s.acceptedAt.count < Self.maxRecorded { s.acceptedAt.append(Date()) }
        var kw = perKeyWindow[key, default: []].filter { now - $0 < .seconds(1) }
        kw.append(now)
        perKeyWindow[key] = kw
        s.maxPerSecond = max(s.maxPerSecond, kw.count)
        stats[key] = s
        return nil
    }

    func reset() {
        windows = [:]
        stats = [:]
        perKeyWindow = [:]
    }

    func statsJSON() -> JSONValue {
        .object(stats.mapValues { s in
            .object([
                "accepted": .int(s.accepted), "rejected": .int(s.rejected),
                "max_per_second": .int(s.maxPerSecond),
                "accepted_at": .array(s.acceptedAt.map { .double($0.timeIntervalSince1970) }),
            ])
        })
    }
}
