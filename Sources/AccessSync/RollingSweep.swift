import Foundation
import GymStore
import Logging
import ServiceLifecycle

/// Spaces the rolling sweep's Kisi reads so that, while changes wait, it takes no more than `share` of
/// the key's rate and leaves the rest to them; with nothing waiting it reads at the key's full pace
/// (the client's own limiter, shared by every caller of the key, keeps that within Kisi's limit).
actor SweepPacer {
    nonisolated let minimumGap: Duration
    let changesWaiting: @Sendable () async -> Bool
    private var lastRead: ContinuousClock.Instant?

    init(share: Double, requestsPerSecond: Double, changesWaiting: @escaping @Sendable () async -> Bool) {
        let perSecond = max(share, 0.01) * max(requestsPerSecond, 0.1)
        minimumGap = .milliseconds(Int64((1_000 / perSecond).rounded()))
        self.changesWaiting = changesWaiting
    }

    func beforeRead() async throws {
        let clock = ContinuousClock()
        if let lastRead, await changesWaiting() {
            let wait = lastRead.advanced(by: minimumGap) - clock.now
            if wait > .zero { try await Task.sleep(for: wait) }
        }
        lastRead = clock.now
    }
}

/// Publishes the sweep under way to the durable sync state every few seconds, for the status API.
actor SweepProgressPublisher {
    let ledger: any SyncLedger
    let startedAt: Date
    private var estimate: Int?
    private var lastPublished: ContinuousClock.Instant?

    init(ledger: any SyncLedger, startedAt: Date) {
        self.ledger = ledger
        self.startedAt = startedAt
    }

    func estimated(_ reads: Int) { estimate = reads }

    func reading(reads: Int) async {
        let clock = ContinuousClock()
        if let lastPublished, clock.now - lastPublished < .seconds(2) { return }
        lastPublished = clock.now
        await publish(phase: "reading", reads: reads)
    }

    func publish(phase: String, reads: Int) async {
        var status = (try? await ledger.syncState.get(.sweep)) ?? SyncSweepStatus()
        status.current = SyncSweepStatus.Pass(
            startedAt: startedAt, updatedAt: Date(), phase: phase, reads: reads, readsEstimated: estimate.map { max($0, reads) })
        try? await ledger.syncState.set(.sweep, status)
    }
}

extension SyncService {
    /// The rolling sweep, beside the change loop: every `fullReconcileInterval` after the last full
    /// observation was acted on, it reads everything BooGYMan manages in Kisi (``SyncEngine/observeForSweep(pace:onEstimate:meter:)``),
    /// at most `share` of the key's rate while changes wait, then plans and repairs the drift it found
    /// like a full reconcile. Changes keep reaching Kisi in seconds meanwhile: the reads hold no lock,
    /// and the repairs yield to newer changes.
    func sweepLoop(share: Double) async {
        let repository = self.repository
        let engine = self.engine
        let pacer = SweepPacer(share: share, requestsPerSecond: kisiRequestsPerSecond) {
            if await engine.isRunning { return true }
            return ((try? await repository.unprocessedAccessChangeCount()) ?? 0) > 0
        }
        let interval = Double(fullReconcileInterval.components.seconds)
        // The change loop starts with a full reconcile; the first sweep is one interval after that.
        var notBefore = Date().addingTimeInterval(interval)
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let lastFull = try? await ledger.syncState.get(.lastFullReconcileAt)
            let due = max(notBefore, (lastFull ?? .distantPast).addingTimeInterval(interval))
            let paused = (try? await ledger.syncState.get(.pausedReason)) != nil
            if paused || due > Date() {
                let wait = paused ? 5 : min(max(due.timeIntervalSinceNow, 0.05), 5)
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int64(wait * 1_000))) }
                } catch {
                    return
                }
                continue
            }
            let applied = await sweepOnce(pacer: pacer)
            // A sweep overtaken by another run (or failed) reads again in a minute, not a whole interval later.
            notBefore = Date().addingTimeInterval(applied ? interval : min(interval, 60))
        }
    }

    /// One sweep; whether its findings were acted on.
    func sweepOnce(pacer: SweepPacer) async -> Bool {
        let startedAt = Date()
        let meter = KisiCallMeter()
        let publisher = SweepProgressPublisher(ledger: ledger, startedAt: startedAt)
        await publisher.publish(phase: "reading", reads: 0)
        defer { logger.debug("Kisi sync: rolling sweep ended", metadata: ["reads": "\(meter.reads)"]) }
        do {
            let sweep = try await engine.observeForSweep(
                pace: {
                    try await pacer.beforeRead()
                    await publisher.reading(reads: meter.reads)
                },
                onEstimate: { reads in await publisher.estimated(reads) },
                meter: meter)
            await publisher.publish(phase: "applying", reads: meter.reads)
            let latest = try await latestChangeID()
            let newest = if let latest { latest } else { try await lastProcessedChangeID() }
            let report = try await engine.applySweep(sweep, trigger: "rolling sweep", yield: yieldToChanges(after: newest))
            var status = (try? await ledger.syncState.get(.sweep)) ?? SyncSweepStatus()
            status.current = nil
            if let report, !report.isPaused {
                status.lastStartedAt = startedAt
                status.lastFinishedAt = Date()
                status.lastReads = sweep.reads
                try await noteOutcome(report, scope: .resumed)
            } else if report == nil {
                logger.info("Kisi sync: the rolling sweep's reads were overtaken by another run; it reads again shortly")
            }
            try? await ledger.syncState.set(.sweep, status)
            return report.map { !$0.isPaused } ?? false
        } catch {
            if !(error is CancellationError) {
                logger.warning("Kisi sync: rolling sweep failed; it reads again shortly", metadata: ["error": "\(error)"])
            }
            var status = (try? await ledger.syncState.get(.sweep)) ?? SyncSweepStatus()
            status.current = nil
            try? await ledger.syncState.set(.sweep, status)
            return false
        }
    }
}
