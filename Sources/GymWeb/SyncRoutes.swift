import AccessSync
import Foundation
import GymStore
import Hummingbird

/// `/api/v1/sync`: what the Kisi sync would do and how it is doing.
extension GymRoutes {
    func addSyncRoutes(to group: RouterGroup<APIContext>) {
        group.post("plan") { _, _ in
            let engine = try requireSync()
            let actions = try await engine.dryRun()
            return SyncPlanBody(actions: actions.map(SyncActionBody.init))
        }
        group.get("status") { _, _ in
            try await syncStatus()
        }
        group.post("held-revocations/approve") { _, _ in
            let engine = try requireSync()
            return ApprovalBody(approved: try await engine.approveHeldRevocations())
        }
    }

    func requireSync() throws -> any SyncControl {
        guard let sync else {
            throw APIError(.conflict, code: "kisi_not_connected", message: "Kisi is not connected; run `boogyman kisi connect` first.")
        }
        return sync
    }

    func syncStatus() async throws -> SyncStatusBody {
        let repository = self.repository
        let lastFull = try await repository.syncState.get(.lastFullReconcileAt)
        let counts = try await repository.kisiWriteCounts(since: now().addingTimeInterval(-3600))
        let held = try await sync?.heldRevocations() ?? []
        let propagation = try await repository.syncState.get(.propagation)
        let hourAgo = now().addingTimeInterval(-3600)
        let failed = try await repository.kisiWrites(KisiWriteFilter(status: .failed, from: hourAgo), PageRequest(limit: 200, offset: 0))
        var errorsByMember: [UUID: MemberErrorsBody] = [:]
        for write in failed.items {  // newest first
            guard let memberID = write.memberID else { continue }
            if var known = errorsByMember[memberID] {
                known.failures += 1
                errorsByMember[memberID] = known
            } else {
                errorsByMember[memberID] = MemberErrorsBody(
                    memberID: memberID, failures: 1, lastAction: write.action, lastError: write.error ?? "failed",
                    lastAt: write.createdAt.formatted(.iso8601))
            }
        }
        let leader = try await repository.leaseStatus(name: leaseName).map { status in
            SyncLeaderBody(
                replicaID: status.lease.holder, fencingToken: status.lease.token, live: status.live, heartbeatAt: status.lease.heartbeatAt,
                expiresAt: status.lease.expiresAt)
        }
        let retry = try await repository.syncState.get(.retry) ?? SyncRetryState()
        let pausedReason = try await repository.syncState.get(.pausedReason)
        let queueDepth = try await repository.unprocessedAccessChangeCount()
        let deferredActions = try await repository.syncState.get(.deferredActions) ?? 0
        let progress = try await repository.syncState.get(.runProgress)
        let state: String =
            if sync == nil { "not_connected" }
            else if pausedReason != nil { "paused" }
            else if !retry.isEmpty { "retrying" }
            else if queueDepth > 0 || deferredActions > 0 { "syncing" }
            else { "in_step" }
        return SyncStatusBody(
            state: state,
            retrying: SyncRetryingBody(retry),
            replicaID: replicaID,
            leader: leader,
            connected: sync != nil,
            pausedReason: pausedReason,
            queueDepth: queueDepth,
            lastFullReconcileAt: lastFull?.formatted(.iso8601),
            allMembersVerifiedAt: try await repository.syncState.get(.allMembersVerifiedAt)?.formatted(.iso8601),
            sweep: try await repository.syncState.get(.sweep).map(SyncSweepBody.init),
            heldRevocations: held.map { HeldRevocationBody(action: $0.action, memberID: $0.memberID, planID: $0.planID, reason: $0.reason) },
            openReviews: try await repository.openHeldReviews().count,
            writesLastHour: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
            deferredActions: deferredActions,
            propagation: propagation.map(PropagationBody.init),
            progress: progress.map(SyncProgressBody.init),
            errorsByMember: errorsByMember.values.sorted { ($0.lastAt, $0.memberID) > ($1.lastAt, $1.memberID) })
    }
}

struct SyncActionBody: Encodable, Sendable {
    let kind: String
    let priority: String
    let reason: String
    let memberID: UUID?
    let planID: UUID?
    let detail: String

    enum CodingKeys: String, CodingKey {
        case kind, priority, reason, memberID = "member_id", planID = "plan_id", detail
    }

    init(_ action: SyncAction) {
        kind = action.kind.actionName
        priority = action.priority.description
        reason = action.reason
        memberID = action.memberID
        planID = action.planID
        detail = String(describing: action.kind)
    }
}

struct SyncPlanBody: ResponseEncodable, Sendable {
    let actions: [SyncActionBody]
}

struct HeldRevocationBody: Encodable, Sendable {
    let action: String
    let memberID: UUID?
    let planID: UUID?
    let reason: String
    enum CodingKeys: String, CodingKey { case action, memberID = "member_id", planID = "plan_id", reason }
}

/// The replica holding (or last holding, when `live` is false) the sync lease.
struct SyncLeaderBody: Encodable, Sendable {
    let replicaID: String
    let fencingToken: Int64
    let live: Bool
    let heartbeatAt: Date
    let expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case replicaID = "replica_id", fencingToken = "fencing_token", live, heartbeatAt = "heartbeat_at", expiresAt = "expires_at"
    }
}

/// Owed work, while there is any (see ``SyncRetryState``).
struct SyncRetryingBody: Encodable, Sendable {
    let members: Int
    let plans: Int
    let fullReconcile: Bool
    let changes: Bool
    let attempts: Int
    let nextAttemptAt: String
    let since: String
    let lastError: String

    init?(_ state: SyncRetryState) {
        guard let next = state.nextAttemptAt, let since = state.oldestFailureAt else { return nil }
        members = state.members.count
        plans = state.plans.count
        fullReconcile = state.full != nil
        changes = state.changes != nil
        attempts = max(state.maxAttempts, 1)
        nextAttemptAt = next.formatted(.iso8601)
        self.since = since.formatted(.iso8601)
        lastError = state.lastError ?? "failed"
    }

    enum CodingKeys: String, CodingKey {
        case members, plans, fullReconcile = "full_reconcile", changes, attempts, nextAttemptAt = "next_attempt_at", since
        case lastError = "last_error"
    }
}

struct SyncStatusBody: ResponseEncodable, Sendable {
    let state: String
    let retrying: SyncRetryingBody?
    let replicaID: String
    let leader: SyncLeaderBody?
    let connected: Bool
    let pausedReason: String?
    let queueDepth: Int
    let lastFullReconcileAt: String?
    let allMembersVerifiedAt: String?
    let sweep: SyncSweepBody?
    let heldRevocations: [HeldRevocationBody]
    let openReviews: Int
    let writesLastHour: [String: Int]
    let deferredActions: Int
    let propagation: PropagationBody?
    let progress: SyncProgressBody?
    let errorsByMember: [MemberErrorsBody]

    enum CodingKeys: String, CodingKey {
        case state, retrying, replicaID = "replica_id", leader
        case connected, pausedReason = "paused_reason", queueDepth = "queue_depth"
        case lastFullReconcileAt = "last_full_reconcile_at", allMembersVerifiedAt = "all_members_verified_at", sweep
        case heldRevocations = "held_revocations"
        case openReviews = "open_reviews", writesLastHour = "writes_last_hour", deferredActions = "deferred_actions"
        case propagation, progress, errorsByMember = "errors_by_member"
    }
}

/// The rolling sweep: the pass under way and the last finished one (see ``SyncSweepStatus``).
struct SyncSweepBody: Encodable, Sendable {
    struct Pass: Encodable, Sendable {
        let startedAt: String
        let updatedAt: String
        let phase: String
        let reads: Int
        let readsEstimated: Int?

        enum CodingKeys: String, CodingKey {
            case startedAt = "started_at", updatedAt = "updated_at", phase, reads, readsEstimated = "reads_estimated"
        }
    }

    let current: Pass?
    let lastStartedAt: String?
    let lastFinishedAt: String?
    let lastReads: Int?

    init(_ status: SyncSweepStatus) {
        current = status.current.map {
            Pass(
                startedAt: $0.startedAt.formatted(.iso8601), updatedAt: $0.updatedAt.formatted(.iso8601), phase: $0.phase, reads: $0.reads,
                readsEstimated: $0.readsEstimated)
        }
        lastStartedAt = status.lastStartedAt?.formatted(.iso8601)
        lastFinishedAt = status.lastFinishedAt?.formatted(.iso8601)
        lastReads = status.lastReads
    }

    enum CodingKeys: String, CodingKey {
        case current, lastStartedAt = "last_started_at", lastFinishedAt = "last_finished_at", lastReads = "last_reads"
    }
}

/// The long run under way, while there is one (see ``SyncRunProgress``).
struct SyncProgressBody: Encodable, Sendable {
    let trigger: String
    let startedAt: String
    let updatedAt: String
    let planned: Int
    let done: Int
    let failed: Int
    let writesPerSecond: Double
    let estimatedFinishAt: String

    init(_ progress: SyncRunProgress) {
        trigger = progress.trigger
        startedAt = progress.startedAt.formatted(.iso8601)
        updatedAt = progress.updatedAt.formatted(.iso8601)
        planned = progress.planned
        done = progress.done
        failed = progress.failed
        writesPerSecond = progress.writesPerSecond
        estimatedFinishAt = progress.estimatedFinishAt.formatted(.iso8601)
    }

    enum CodingKeys: String, CodingKey {
        case trigger, startedAt = "started_at", updatedAt = "updated_at", planned, done, failed
        case writesPerSecond = "writes_per_second", estimatedFinishAt = "estimated_finish_at"
    }
}

struct PropagationBody: Encodable, Sendable {
    let windowSeconds: Int
    let samples: Int
    let p50Milliseconds: Int?
    let p95Milliseconds: Int?
    let maxMilliseconds: Int?
    let updatedAt: String

    init(_ summary: PropagationSummary) {
        windowSeconds = summary.windowSeconds
        samples = summary.samples
        p50Milliseconds = summary.p50Milliseconds
        p95Milliseconds = summary.p95Milliseconds
        maxMilliseconds = summary.maxMilliseconds
        updatedAt = summary.updatedAt.formatted(.iso8601)
    }

    enum CodingKeys: String, CodingKey {
        case windowSeconds = "window_seconds", samples, p50Milliseconds = "p50_ms", p95Milliseconds = "p95_ms"
        case maxMilliseconds = "max_ms", updatedAt = "updated_at"
    }
}

struct MemberErrorsBody: Encodable, Sendable {
    let memberID: UUID
    var failures: Int
    let lastAction: String
    let lastError: String
    let lastAt: String

    enum CodingKeys: String, CodingKey {
        case memberID = "member_id", failures, lastAction = "last_action", lastError = "last_error", lastAt = "last_at"
    }
}

struct ApprovalBody: ResponseEncodable, Sendable {
    let approved: Int
}
