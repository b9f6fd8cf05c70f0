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

/// Where the sync service's loop stands when it chooses what to do next: plain values the service
/// gathers on every tick, so the choice itself can be tested as a table.
public struct SyncLoopInputs: Sendable, Equatable {
    /// Wall-clock time: club-local midnights and the change queue's backoff are wall-clock instants.
    public var now: Date
    /// How long ago the last run found Kisi rejecting the key (401/403); nil while the sync is not paused.
    public var sincePaused: Duration?
    /// While paused, how long to wait between attempts.
    public var pausedRetryInterval: Duration
    /// The next club-local midnight, if any club exists.
    public var dayBoundary: DayBoundary?
    /// How long ago the last full reconcile started (whatever triggered it).
    public var sinceLastFullReconcile: Duration
    /// How often a full reconcile runs anyway.
    public var fullReconcileInterval: Duration
    /// How long ago a reported Kisi event last caused a full reconcile; nil if none has yet.
    public var sinceLastKisiEventRun: Duration?
    /// Full reconciles caused by Kisi events start at most this often.
    public var kisiEventMinimumInterval: Duration
    /// A Kisi event that could not be pinned on one member or plan, waiting for a full look.
    public var kisiChangeReport: String?
    /// Staff's latest approval of held revocations: the role assignments they approved for removal.
    public var revocationApproval: [Int]?
    /// The approval already acted on: each is tried once, so one that no longer matches what the brake
    /// holds cannot loop.
    public var approvalTried: [Int]?
    /// When the change queue, backing off after whole runs failed, may be tried again; nil if it is not backing off.
    public var changeQueueRetryAt: Date?

    public init(
        now: Date, sincePaused: Duration? = nil, pausedRetryInterval: Duration = .seconds(30), dayBoundary: DayBoundary? = nil,
        sinceLastFullReconcile: Duration = .zero, fullReconcileInterval: Duration = .seconds(600),
        sinceLastKisiEventRun: Duration? = nil, kisiEventMinimumInterval: Duration = .seconds(5), kisiChangeReport: String? = nil,
        revocationApproval: [Int]? = nil, approvalTried: [Int]? = nil, changeQueueRetryAt: Date? = nil
    ) {
        self.now = now
        self.sincePaused = sincePaused
        self.pausedRetryInterval = pausedRetryInterval
        self.dayBoundary = dayBoundary
        self.sinceLastFullReconcile = sinceLastFullReconcile
        self.fullReconcileInterval = fullReconcileInterval
        self.sinceLastKisiEventRun = sinceLastKisiEventRun
        self.kisiEventMinimumInterval = kisiEventMinimumInterval
        self.kisiChangeReport = kisiChangeReport
        self.revocationApproval = revocationApproval
        self.approvalTried = approvalTried
        self.changeQueueRetryAt = changeQueueRetryAt
    }
}

/// Why the loop runs a full reconcile; its text is the run's trigger in the journal and logs.
public enum FullReconcileReason: Sendable, Equatable {
    case dayBoundary(zone: String)
    case periodic
    case kisiEvent(report: String)
    case revocationsApproved(approval: [Int])

    public var trigger: String {
        switch self {
        case .dayBoundary(let zone): "midnight in \(zone)"
        case .periodic: "periodic full reconcile"
        case .kisiEvent(let report): "Kisi event: \(report)"
        case .revocationsApproved: "revocations approved by staff"
        }
    }
}

/// What the loop does on this tick.
public enum SyncStep: Sendable, Equatable {
    /// Kisi rejected the key a moment ago: nothing until the paused retry interval has passed.
    case waitWhilePaused
    case fullReconcile(FullReconcileReason)
    /// The change queue is backing off; meanwhile owed work may be retried early if Kisi answers again.
    case retryOwedWorkDuringBackoff
    /// Reconcile the access changes not processed yet (then see ``SyncTriggerChoice/followUp(after:hasDeferredWork:)``).
    case processChanges
}

/// What one run (or the change queue's turn) came to, as far as the loop's choices go.
public enum SyncRunOutcome: Sendable, Equatable {
    /// Nothing was there to do (no new changes, or nothing owed was due).
    case none
    /// A scoped run carried changes or owed work through.
    case changes
    /// A full reconcile ran.
    case fullReconcileNeeded
    /// Kisi rejected the key: the sync is paused.
    case paused
}

/// What follows the change queue's turn on the same tick.
public enum SyncFollowUp: Sendable, Equatable {
    case nothing
    /// Resume the long run that stepped aside for newer changes.
    case resumeDeferredWork
    /// Retry work that failed earlier, once its backoff has passed.
    case retryOwedWork
}

/// What the sync service does next, decided from plain values.
public enum SyncTriggerChoice {
    /// The choice of one tick, in order of precedence: a paused wait; the club-local midnight (every access
    /// window begins and ends at one, so re-planning right after it opens and closes those doors at the
    /// minute); the periodic full reconcile; a reported Kisi event (throttled, reports coalesce); a new
    /// staff approval of held revocations; the change queue's backoff; otherwise the changes.
    public static func next(_ inputs: SyncLoopInputs) -> SyncStep {
        if let sincePaused = inputs.sincePaused, sincePaused < inputs.pausedRetryInterval { return .waitWhilePaused }
        if let boundary = inputs.dayBoundary, inputs.now >= boundary.instant { return .fullReconcile(.dayBoundary(zone: boundary.zone)) }
        if inputs.sinceLastFullReconcile >= inputs.fullReconcileInterval { return .fullReconcile(.periodic) }
        if inputs.sinceLastKisiEventRun.map({ $0 >= inputs.kisiEventMinimumInterval }) ?? true, let report = inputs.kisiChangeReport {
            return .fullReconcile(.kisiEvent(report: report))
        }
        if let approval = inputs.revocationApproval, approval != inputs.approvalTried {
            return .fullReconcile(.revocationsApproved(approval: approval))
        }
        if let retryAt = inputs.changeQueueRetryAt, retryAt > inputs.now { return .retryOwedWorkDuringBackoff }
        return .processChanges
    }

    /// After the change queue's turn: newer changes are handled, so the long run that stepped aside for
    /// them resumes; with nothing newer and nothing set aside, owed work gets its turn. A full reconcile
    /// or a pause is the tick's work already.
    public static func followUp(after outcome: SyncRunOutcome, hasDeferredWork: Bool) -> SyncFollowUp {
        switch outcome {
        case .fullReconcileNeeded, .paused: .nothing
        case .none, .changes:
            if hasDeferredWork { .resumeDeferredWork } else if outcome == .none { .retryOwedWork } else { .nothing }
        }
    }

    /// The next club-local midnight after `instant` over `zones`, a few seconds past it so the new day's
    /// date is certain; nil without clubs.
    public static func nextDayBoundary(after instant: Date, zones: [TimeZone]) -> DayBoundary? {
        zones.map { zone in
            let midnight = LocalDate(containing: instant, in: zone).adding(days: 1).startOfDay(in: zone)
            return DayBoundary(instant: midnight.addingTimeInterval(5), zone: zone.identifier)
        }.min { $0.instant < $1.instant }
    }
}
