import Foundation
import GymStore

/// Propagation latencies of the last hour, from an access change's commit to the end of the run that
/// carried it to Kisi. The sync service records one sample per change it reconciled and publishes the
/// percentiles (``PropagationSummary``) for the status page and `/metrics`.
public actor PropagationTracker {
    public let window: TimeInterval
    private var samples: [(at: Date, milliseconds: Int)] = []

    public init(window: TimeInterval = 3_600) {
        self.window = window
    }

    /// Records the changes a successful run carried to Kisi, finished at `finishedAt`.
    public func record(changesCommittedAt commits: [Date], finishedAt: Date) {
        for committed in commits {
            samples.append((finishedAt, max(0, Int((finishedAt.timeIntervalSince(committed) * 1000).rounded()))))
        }
        prune(now: finishedAt)
    }

    public func summary(now: Date) -> PropagationSummary {
        prune(now: now)
        let sorted = samples.map(\.milliseconds).sorted()
        func percentile(_ p: Double) -> Int? {
            guard !sorted.isEmpty else { return nil }
            // Nearest rank: the smallest sample with at least p of the samples at or below it.
            let rank = Int((p * Double(sorted.count)).rounded(.up))
            return sorted[min(sorted.count, max(1, rank)) - 1]
        }
        return PropagationSummary(
            windowSeconds: Int(window), samples: sorted.count, p50Milliseconds: percentile(0.5), p95Milliseconds: percentile(0.95),
            maxMilliseconds: sorted.last, updatedAt: now)
    }

    private func prune(now: Date) {
        let cutoff = now.addingTimeInterval(-window)
        if let first = samples.first, first.at < cutoff { samples.removeAll { $0.at < cutoff } }
    }
}
