import Foundation
import GymCore
import GymStore
import Logging
import Metrics
import ServiceLifecycle

/// The sync worker, for a `ServiceGroup`.
///
/// `run()`: a full reconcile at start; then, until graceful shutdown, every `pollInterval` it reads
/// `accessChanges(after:)` and reconciles what changed — a member or subscription change → that
/// member; a plan change → that plan's group and its members; a club or studio change (which can
/// touch any plan's doors, and after a deletion can no longer be traced to plans) → a full
/// reconcile — and marks the changes processed. Every `fullReconcileInterval` (default 10 minutes)
/// a full reconcile runs anyway: it repairs drift made by hand in Kisi and re-plans grants whose
/// windows begin or end with time (a future subscription's grant ahead, past-due transitions; a grant
/// that simply expired by Kisi's own `valid_until` needs no action).
///
/// A long run yields: once its revocations are done, it checks every `yieldCheckInterval` for changes
/// committed after it started; if there are any, it sets the rest aside, the change loop reconciles the
/// new changes (a freeze reaches Kisi in seconds, not after a 1,000-member import's grants), and then
/// the set-aside work resumes, minus what the newer runs re-planned.
///
/// Failed work is owed, not forgotten: every action that fails (a 5xx, a timeout, a lost response
/// whose look-up failed) puts its member or plan in the durable ``SyncRetryState``, and a run that
/// fails as a whole (a read Kisi did not answer) owes itself; owed work is looked up and retried by
/// itself with backoff and jitter (1 s → 60 s, revocations first) until it goes through, and shows as
/// "retrying" in the status. Changes are marked processed only when the run was not paused
/// (401/403), so nothing is lost while Kisi rejects the key. A graceful shutdown interrupts the waits,
/// and a long run between two of its actions (its revocations first). Every Kisi call carries the client's request deadline.
public struct SyncService: Service {
    public let engine: SyncEngine
    public let repository: GymRepository
    public let ledger: any SyncLedger
    public var pollInterval: Duration
    public var fullReconcileInterval: Duration
    /// While Kisi rejects the key (401/403), change-driven runs wait this long between attempts.
    public var pausedRetryInterval: Duration
    /// More changed members than this in one poll are handled by a full reconcile instead: a full
    /// observation costs a fixed ~36 reads for 2,000 members, a change-driven run about 2 per member.
    public var maxMembersPerChangeRun: Int
    /// How often a long run (a full reconcile, a bulk import's grants) looks for newer changes to step
    /// aside for; see ``SyncYield``.
    public var yieldCheckInterval: Duration
    /// Latency samples of the last hour; published to the ledger after every run that carried changes.
    public let propagation: PropagationTracker
    /// Backoff of owed work (see ``SyncRetryPolicy``).
    public let retryPolicy: SyncRetryPolicy
    /// While owed work waits out a long backoff, Kisi is asked one cheap question (`GET /organization`)
    /// this often; once it answers, every owed item is retried at once, so doors open within seconds of
    /// Kisi's recovery rather than at the end of a backoff of up to a minute.
    public var recoveryProbeInterval: Duration
    /// Kisi's webhook may report changes many times a second (a burst of hand edits, or a replayed
    /// delivery): full reconciles it causes start at most this often; reports in between coalesce.
    public var kisiEventMinimumInterval: Duration
    /// The periodic drift repair is a rolling sweep (see ``sweepLoop(share:)``) that takes at most this
    /// share of the key's Kisi requests while changes wait; nil makes it a plain full reconcile, which
    /// holds the sync for its whole observation (minutes for 100,000 members).
    public var sweepShare: Double?
    /// The key's Kisi request rate the sweep's share is taken of (Kisi's documented 5 a second).
    public var kisiRequestsPerSecond: Double
    let retries: SyncRetryBook
    public let logger: Logger

    public init(
        engine: SyncEngine, repository: GymRepository, ledger: any SyncLedger, pollInterval: Duration = .milliseconds(200),
        fullReconcileInterval: Duration = .seconds(600), pausedRetryInterval: Duration = .seconds(30),
        maxMembersPerChangeRun: Int = 25, yieldCheckInterval: Duration = .milliseconds(250),
        propagation: PropagationTracker = PropagationTracker(), retryPolicy: SyncRetryPolicy = SyncRetryPolicy(),
        kisiEventMinimumInterval: Duration = .seconds(5), recoveryProbeInterval: Duration = .seconds(5),
        sweepShare: Double? = 0.2, kisiRequestsPerSecond: Double = 5,
        logger: Logger = Logger(label: "boogyman.access-sync")
    ) {
        self.sweepShare = sweepShare.map { min(max($0, 0.01), 1) }
        self.kisiRequestsPerSecond = kisiRequestsPerSecond
        self.recoveryProbeInterval = recoveryProbeInterval
        self.propagation = propagation
        self.retryPolicy = retryPolicy
        self.kisiEventMinimumInterval = kisiEventMinimumInterval
        self.retries = SyncRetryBook(ledger: ledger, policy: retryPolicy)
        self.yieldCheckInterval = yieldCheckInterval
        self.engine = engine
        self.repository = repository
        self.ledger = ledger
        self.pollInterval = pollInterval
        self.fullReconcileInterval = fullReconcileInterval
        self.pausedRetryInterval = pausedRetryInterval
        self.maxMembersPerChangeRun = maxMembersPerChangeRun
        self.logger = logger
    }

    public func run() async throws {
        guard let sweepShare else { return try await changeLoop(periodicFullReconcile: true) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await sweepLoop(share: sweepShare) }
            try await changeLoop(periodicFullReconcile: false)
            group.cancelAll()
        }
    }

    /// Start-up full reconcile, then the access changes, owed work, set-aside work, midnights, Kisi's
    /// event reports and (without the sweep) the periodic full reconcile, until shutdown.
    func changeLoop(periodicFullReconcile: Bool) async throws {
        let clock = ContinuousClock()
        var lastFull = clock.now
        var lastKisiEventRun: ContinuousClock.Instant?
        var pausedSince: ContinuousClock.Instant?
        var approvalTried: [Int]?
        var lastGauges = clock.now
        if await fullReconcile(trigger: "start") == .paused { pausedSince = clock.now }
        var dayBoundary = await nextDayBoundary()
        // The start's full reconcile placed every window; classes that end from now on are watched.
        var classWindows = ClassWindowWatch(checkedThrough: Date(), due: Date())
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: pollInterval) }
            } catch {
                break  // shutdown (graceful or not) while waiting
            }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            if clock.now - lastGauges >= .seconds(2) {
                lastGauges = clock.now
                await publishGauges()
            }
            if Date() >= classWindows.due { await watchClassWindows(&classWindows) }
            let inputs = SyncLoopInputs(
                now: Date(), sincePaused: pausedSince.map { clock.now - $0 }, pausedRetryInterval: pausedRetryInterval,
                dayBoundary: dayBoundary, sinceLastFullReconcile: clock.now - lastFull,
                // With the sweep, the periodic repair is its job; a century never comes.
                fullReconcileInterval: periodicFullReconcile ? fullReconcileInterval : .seconds(3_153_600_000),
                sinceLastKisiEventRun: lastKisiEventRun.map { clock.now - $0 }, kisiEventMinimumInterval: kisiEventMinimumInterval,
                kisiChangeReport: try? await ledger.syncState.get(.kisiChangeReported),
                revocationApproval: try? await ledger.syncState.get(.brakeApproved), approvalTried: approvalTried,
                changeQueueRetryAt: (try? await retries.state.changes)?.nextAttemptAt)
            let next = SyncTriggerChoice.next(inputs)
            if next == .waitWhilePaused { continue }
            pausedSince = nil
            switch next {
            case .waitWhilePaused, .processChanges: break
            case .fullReconcile(let reason):
                switch reason {
                case .kisiEvent:
                    // Taken off first: reports arriving during the run ask for the next one.
                    try? await ledger.syncState.set(.kisiChangeReported, nil)
                    lastKisiEventRun = clock.now
                case .revocationsApproved(let approval): approvalTried = approval
                case .dayBoundary, .periodic: break
                }
                lastFull = clock.now
                if await fullReconcile(trigger: reason.trigger) == .paused { pausedSince = clock.now }
                if case .dayBoundary = reason { dayBoundary = await nextDayBoundary() }
                continue
            case .retryOwedWorkDuringBackoff:
                // Kisi may have recovered meanwhile: its probe makes everything owed due at once.
                _ = try? await retryOwedWork()
                continue
            }
            do {
                let step = try await processChanges()
                try await retries.update { state, _, _ in
                    var state = state
                    state.changes = nil
                    return state
                }
                switch step {
                case .fullReconcileNeeded:
                    lastFull = clock.now
                    dayBoundary = await nextDayBoundary()  // a club (and its time zone) may have changed
                case .paused: pausedSince = clock.now
                case .none, .changes: break
                }
                switch SyncTriggerChoice.followUp(after: step, hasDeferredWork: await engine.hasDeferredWork) {
                case .nothing: break
                case .resumeDeferredWork:
                    let report = try await engine.resumeDeferred(
                        trigger: "work set aside for newer changes", yield: yieldToChanges(after: try await lastProcessedChangeID()))
                    if let report { try await noteOutcome(report, scope: .resumed) }
                    if report?.isPaused == true { pausedSince = clock.now }
                case .retryOwedWork:
                    switch try await retryOwedWork() {
                    case .paused: pausedSince = clock.now
                    case .fullReconcileNeeded: lastFull = clock.now
                    case .none, .changes: break
                    }
                }
            } catch is CancellationError {
                break
            } catch {
                logger.error("Kisi sync: processing access changes failed; retrying with backoff", metadata: ["error": "\(error)"])
                await retries.noteKisiTrouble()
                try? await retries.update { state, policy, random in
                    var state = state
                    state.changes = SyncRetryBookkeeping.recordRunFailure(
                        state.changes, error: "\(error)", now: Date(), policy: policy, random: random)
                    return state
                }
            }
        }
    }

    /// How far the service has looked for booked class windows that closed, and when it looks next.
    struct ClassWindowWatch {
        var checkedThrough: Date
        var due: Date
    }

    /// Puts the members whose class windows closed since the last look in the access change log: the
    /// Kisi slot of a class that ended then takes the booking after next within seconds, not at the next
    /// sweep. Looks again when the next known window closes, and at least every five minutes for
    /// bookings made meanwhile.
    func watchClassWindows(_ watch: inout ClassWindowWatch) async {
        let now = Date()
        do {
            let closed = try await repository.closedClassWindows(after: watch.checkedThrough, through: now)
            try await repository.recordClassWindowsClosed(memberIDs: closed.memberIDs)
            watch.checkedThrough = now
            watch.due = min(closed.nextClosing ?? .distantFuture, now.addingTimeInterval(300))
        } catch {
            logger.warning("Kisi sync: looking for booked classes that ended failed; trying again shortly", metadata: ["error": "\(error)"])
            watch.due = now.addingTimeInterval(30)
        }
    }

    /// Retries the owed work whose backoff has passed: a full reconcile when one is owed (or when
    /// too many members are due for one change-driven run), else one run over the due members and plans.
    @discardableResult
    func retryOwedWork(now: Date = Date()) async throws -> Step {
        var owed = try await retries.state
        guard !owed.isEmpty else { return .none }
        var due = SyncRetryBookkeeping.due(owed, now: now)
        if due.members.isEmpty, due.plans.isEmpty, !due.full {
            guard await retries.claimProbe(now: now, interval: recoveryProbeInterval), await kisiAnswers() else { return .none }
            await retries.noteKisiAnswered()
            try await retries.update { state, _, _ in SyncRetryBookkeeping.expedite(state, now: now) }
            owed = try await retries.state
            due = SyncRetryBookkeeping.due(owed, now: now)
            logger.info("Kisi answers again: retrying owed work now")
        }
        if due.full || due.members.count > maxMembersPerChangeRun {
            let attempt = (owed.full?.attempts ?? owed.maxAttempts) + 1
            return await fullReconcile(trigger: "retrying failed work (attempt \(attempt))")
        }
        guard !due.members.isEmpty || !due.plans.isEmpty else { return .none }
        let attempt = (due.members.compactMap { owed.members[$0.uuidString]?.attempts } + due.plans.compactMap { owed.plans[$0.uuidString]?.attempts })
            .max().map { $0 + 1 } ?? 1
        let report: SyncReport
        do {
            report = try await engine.reconcile(
                memberIDs: Set(due.members), planIDs: Set(due.plans),
                trigger: "retrying failed work of \(due.members.count) members, \(due.plans.count) plans (attempt \(attempt))")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // The retry itself failed (say, its reads): every due subject waits its next, longer turn.
            let failures = due.members.map { SyncFailure(action: "retry", memberID: $0, planID: nil, reason: "owed work", error: "\(error)") }
                + due.plans.map { SyncFailure(action: "retry", memberID: nil, planID: $0, reason: "owed work", error: "\(error)") }
            logger.warning("Kisi sync: retrying owed work failed", metadata: ["error": "\(error)"])
            await retries.noteKisiTrouble()
            try await retries.update { state, policy, random in
                SyncRetryBookkeeping.record(state, failures: failures, scope: .resumed, now: Date(), policy: policy, random: random)
            }
            return .none
        }
        guard !report.isPaused else { return .paused }
        try await noteOutcome(report, scope: .scoped(members: Set(due.members), plans: Set(due.plans)))
        return .changes
    }

    /// One cheap read with the client's deadline: does Kisi answer?
    func kisiAnswers() async -> Bool {
        do {
            _ = try await engine.client.organization()
            return true
        } catch {
            return false
        }
    }

    /// Puts what failed in `report` on the owed list, and takes off what the run settled.
    func noteOutcome(_ report: SyncReport, scope: SyncRetryBookkeeping.Scope) async throws {
        guard !report.isPaused else { return }  // a pause owes everything already; it is retried as a whole
        if report.failures.contains(where: \.transient) { await retries.noteKisiTrouble() }
        let now = Date()
        try await retries.update { state, policy, random in
            SyncRetryBookkeeping.record(state, failures: report.failures, scope: scope, now: now, policy: policy, random: random)
        }
        if !report.failures.isEmpty {
            let owed = try await retries.state
            logger.notice("Kisi sync: failed work is owed and will be retried", metadata: [
                "failures": "\(report.failures.count)", "owed.members": "\(owed.members.count)", "owed.plans": "\(owed.plans.count)",
                "next": "\(owed.nextAttemptAt.map { $0.formatted(.iso8601) } ?? "-")",
            ])
        }
    }

    typealias Step = SyncRunOutcome

    /// Reconciles the access changes not processed yet; returns what it did.
    @discardableResult
    func processChanges() async throws -> Step {
        let last = try await lastProcessedChangeID()
        let changes = try await repository.accessChanges(after: last)
        guard let newest = changes.map(\.id).max() else { return .none }
        var members = Set<UUID>()
        var plans = Set<UUID>()
        var full = false
        for change in changes {
            switch change.subject {
            case .member, .subscription:
                if let memberID = change.memberID ?? (change.subject == .member ? change.subjectID : nil) { members.insert(memberID) }
            case .plan:
                plans.insert(change.planID ?? change.subjectID)
            case .club, .studio:
                full = true
            }
        }
        let first = changes.map(\.id).min() ?? newest
        if full || members.count > maxMembersPerChangeRun {
            let why = full ? "club/studio" : "\(members.count) members"
            let step = await fullReconcile(trigger: "changes #\(first)–#\(newest) (\(why))")
            // A run that set work aside has not carried these changes through yet: no sample.
            if step == .fullReconcileNeeded, await !engine.hasDeferredWork { await recordPropagation(of: changes) }
            return step == .paused ? .paused : .fullReconcileNeeded
        }
        let report = try await engine.reconcile(memberIDs: members, planIDs: plans, trigger: "changes #\(first)–#\(newest)")
        guard !report.isPaused else { return .paused }
        // What failed is owed (retried with backoff) before the changes count as processed.
        try await noteOutcome(report, scope: .scoped(members: members, plans: plans))
        try await markProcessed(through: newest)
        await recordPropagation(of: changes)
        return .changes
    }

    func recordPropagation(of changes: [AccessChange]) async {
        let now = Date()
        let latency = Metrics.Timer(label: "boogyman_sync_propagation_duration")
        for change in changes { latency.recordSeconds(max(0, now.timeIntervalSince(change.recordedAt))) }
        await propagation.record(changesCommittedAt: changes.map(\.recordedAt), finishedAt: now)
        let summary = await propagation.summary(now: now)
        do {
            try await ledger.syncState.set(.propagation, summary)
            let history = try await ledger.syncState.get(.propagationHistory) ?? PropagationHistory()
            try await ledger.syncState.set(.propagationHistory, history.adding(summary))
        } catch {
            logger.warning("Kisi sync: could not save propagation figures", metadata: ["error": "\(error)"])
        }
    }

    /// A full reconcile; on success, every change recorded before it started is marked processed
    /// (changes recorded meanwhile are left for the change loop: they may postdate the run's reads).
    @discardableResult
    func fullReconcile(trigger: String) async -> Step {
        do {
            let covered = try await latestChangeID()
            let newest: Int
            if let covered { newest = covered } else { newest = try await lastProcessedChangeID() }
            let report = try await engine.reconcileAll(trigger: trigger, yield: yieldToChanges(after: newest))
            if report.isPaused { return .paused }
            try await noteOutcome(report, scope: .full)
            if let covered { try await markProcessed(through: covered) }
            return .fullReconcileNeeded
        } catch is CancellationError {
            return .none
        } catch {
            logger.error("Kisi sync: full reconcile failed; retrying with backoff", metadata: ["error": "\(error)"])
            await retries.noteKisiTrouble()
            try? await retries.update { state, policy, random in
                var state = state
                state.full = SyncRetryBookkeeping.recordRunFailure(state.full, error: "\(error)", now: Date(), policy: policy, random: random)
                return state
            }
            return .none
        }
    }

    /// The next club-local midnight after now (a few seconds past it, so the new day's date is certain).
    func nextDayBoundary() async -> DayBoundary? {
        guard let layout = try? await repository.layout() else { return nil }
        return SyncTriggerChoice.nextDayBoundary(after: Date(), zones: layout.clubs.values.map(\.timeZone))
    }

    /// A long run steps aside as soon as a change newer than `changeID` is committed: that change is
    /// reconciled on its own (a revocation within seconds), then the long run resumes.
    func yieldToChanges(after changeID: Int) -> SyncYield {
        let repository = self.repository
        return SyncYield(interval: yieldCheckInterval) {
            // A graceful shutdown also sets the rest aside, between two actions: a first sync of 100,000
            // members would otherwise hold a SIGTERM for hours. The next leader's full reconcile re-plans it.
            if Task.isShuttingDownGracefully { return true }
            return (try? await repository.accessChanges(after: changeID, limit: 1).isEmpty == false) ?? false
        }
    }

    func lastProcessedChangeID() async throws -> Int {
        try await ledger.syncState.get(.lastProcessedChangeID) ?? 0
    }

    func latestChangeID() async throws -> Int? {
        var last = try await lastProcessedChangeID()
        var found: Int?
        while let newest = try await repository.accessChanges(after: last, limit: 500).map(\.id).max() {
            found = newest
            last = newest
        }
        return found
    }

    /// Gauges for `/metrics`, refreshed after every run.
    func publishGauges() async {
        if let depth = try? await repository.unprocessedAccessChangeCount() {
            Gauge(label: "boogyman_sync_queue_depth").record(depth)
        }
        let deferred = await engine.deferredCount
        Gauge(label: "boogyman_sync_deferred_actions").record(deferred)
        // For the status page of every replica, not only this one's metrics.
        if (try? await ledger.syncState.get(.deferredActions)) != deferred {
            try? await ledger.syncState.set(.deferredActions, deferred)
        }
        let paused = (try? await ledger.syncState.get(.pausedReason)) != nil
        Gauge(label: "boogyman_sync_paused").record(paused ? 1 : 0)
    }

    func markProcessed(through id: Int) async throws {
        guard id > (try await lastProcessedChangeID()) else { return }
        try await ledger.syncState.set(.lastProcessedChangeID, id)
        try await repository.markAccessChangesProcessed(through: id)
    }
}
