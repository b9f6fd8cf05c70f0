import Foundation
import GymStore

/// Exponential backoff with jitter for owed work: 1 s, 2 s, 4 s … capped at 60 s, each wait drawn
/// from its upper half ("equal jitter") so that replicas and members do not retry in lock-step.
/// Failed revocations start at half the first wait: access that must end is retried first.
public struct SyncRetryPolicy: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration
    /// How long work Kisi refused for lack of rights (403) waits: the same write is refused until the key's
    /// rights change, which the periodic look at all of Kisi (every 10 minutes) and a new key's start-up
    /// reconcile find out; asking every minute would only repeat a call outside the key's rights.
    public var refusedWait: Duration

    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(60), refusedWait: Duration = .seconds(600)) {
        self.initial = initial
        self.maximum = maximum
        self.refusedWait = refusedWait
    }

    /// The wait before attempt `attempts + 1`, given `unit` in 0..<1 (the random draw).
    public func delay(afterAttempts attempts: Int, revocation: Bool, unit: Double) -> Duration {
        let base = Self.seconds(initial) * (revocation ? 0.5 : 1)
        let exponent = Double(min(max(attempts - 1, 0), 30))
        let ceiling = min(base * pow(2, exponent), Self.seconds(maximum))
        let jittered = ceiling / 2 + ceiling / 2 * min(max(unit, 0), 1)
        return .milliseconds(Int64((jittered * 1000).rounded()))
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// What a finished run means for the owed work: pure, so it is tested with tables.
public enum SyncRetryBookkeeping {
    /// The runs whose outcome settles owed work.
    public enum Scope: Sendable, Hashable {
        /// A full reconcile observed everything: what did not fail in it is no longer owed.
        case full
        /// A change-driven run: the members and plans it re-planned from fresh reads are settled unless they failed again.
        case scoped(members: Set<UUID>, plans: Set<UUID>)
        /// Set-aside work resumed: it adds failures and settles nothing (it did not re-plan).
        case resumed
    }

    /// The owed work after a run with `failures` over `scope`, at `now`.
    public static func record(
        _ state: SyncRetryState, failures: [SyncFailure], scope: Scope, now: Date, policy: SyncRetryPolicy,
        random: () -> Double
    ) -> SyncRetryState {
        var state = state
        // Subjects that failed again keep their entry (and attempt count); the others in scope are settled.
        let failedMembers = Set(failures.compactMap(\.memberID).map(\.uuidString))
        let failedPlans = Set(failures.filter { $0.memberID == nil }.compactMap(\.planID).map(\.uuidString))
        let failedWhole = failures.contains { $0.memberID == nil && $0.planID == nil }
        switch scope {
        case .full:
            state.members = state.members.filter { failedMembers.contains($0.key) }
            state.plans = state.plans.filter { failedPlans.contains($0.key) }
            if !failedWhole { state.full = nil }
        case let .scoped(members, plans):
            for member in members where !failedMembers.contains(member.uuidString) { state.members[member.uuidString] = nil }
            for plan in plans where !failedPlans.contains(plan.uuidString) { state.plans[plan.uuidString] = nil }
        case .resumed:
            break
        }
        func bump(_ entry: SyncRetryState.Entry?, _ failure: SyncFailure) -> SyncRetryState.Entry {
            // Several failures of one subject in one run count as one attempt.
            let revocation = failure.isRevocation || (entry?.revocation ?? false)
            var next = entry ?? SyncRetryState.Entry(attempts: 0, firstFailedAt: now, nextAttemptAt: now, lastError: "", revocation: revocation)
            next.attempts += 1
            next.revocation = revocation
            next.lastError = "\(failure.action): \(failure.error)"
            let wait = policy.delay(afterAttempts: next.attempts, revocation: revocation, unit: random())
            next.nextAttemptAt = now.addingTimeInterval(SyncRetryPolicy.seconds(wait))
            return next
        }
        // Subjects that wait on the key's rights wait ``SyncRetryPolicy/refusedWait``: those with a refusal (403)
        // or something that could not be done because of one (a plan's doors and grants, a member's invitation,
        // after Kisi refused to create the plan's group), and no failure of Kisi's own (transient), which is
        // retried soon. Their other failures follow from these (a user update after the invitation failed).
        let refusedPlans = Set(failures.filter(\.isRefusal).compactMap(\.planID))
        var waitsOnRights: [String: Bool] = [:]
        var hasTransient = Set<String>()
        for failure in failures {
            let key = failure.memberID.map { "m:" + $0.uuidString } ?? failure.planID.map { "p:" + $0.uuidString } ?? "full"
            if failure.transient { hasTransient.insert(key) }
            let onRights = failure.isRefusal || (!failure.transient && failure.planID.map(refusedPlans.contains) == true)
            waitsOnRights[key] = (waitsOnRights[key] ?? false) || onRights
        }
        let onlyRefused = waitsOnRights.filter { !hasTransient.contains($0.key) }
        var bumpedThisRun = Set<String>()
        for failure in failures {
            let key: String
            if let memberID = failure.memberID {
                key = "m:" + memberID.uuidString
                let current = state.members[memberID.uuidString]
                state.members[memberID.uuidString] = bumpedThisRun.contains(key) ? merge(current!, failure) : bump(current, failure)
            } else if let planID = failure.planID {
                key = "p:" + planID.uuidString
                let current = state.plans[planID.uuidString]
                state.plans[planID.uuidString] = bumpedThisRun.contains(key) ? merge(current!, failure) : bump(current, failure)
            } else {
                key = "full"
                state.full = bumpedThisRun.contains(key) ? merge(state.full!, failure) : bump(state.full, failure)
            }
            bumpedThisRun.insert(key)
        }
        let refusedUntil = now.addingTimeInterval(SyncRetryPolicy.seconds(policy.refusedWait))
        for (key, refused) in onlyRefused where refused {
            let id = String(key.dropFirst(2))
            if key.hasPrefix("m:"), let entry = state.members[id] { state.members[id]?.nextAttemptAt = max(entry.nextAttemptAt, refusedUntil) }
            if key.hasPrefix("p:"), let entry = state.plans[id] { state.plans[id]?.nextAttemptAt = max(entry.nextAttemptAt, refusedUntil) }
            if key == "full", let entry = state.full { state.full?.nextAttemptAt = max(entry.nextAttemptAt, refusedUntil) }
        }
        return state
    }

    /// A run (a full reconcile or the change queue's) failed as a whole with `error`.
    public static func recordRunFailure(
        _ entry: SyncRetryState.Entry?, error: String, now: Date, policy: SyncRetryPolicy, random: () -> Double
    ) -> SyncRetryState.Entry {
        var next = entry ?? SyncRetryState.Entry(attempts: 0, firstFailedAt: now, nextAttemptAt: now, lastError: "", revocation: false)
        next.attempts += 1
        next.lastError = error
        let wait = policy.delay(afterAttempts: next.attempts, revocation: false, unit: random())
        next.nextAttemptAt = now.addingTimeInterval(SyncRetryPolicy.seconds(wait))
        return next
    }

    private static func merge(_ entry: SyncRetryState.Entry, _ failure: SyncFailure) -> SyncRetryState.Entry {
        var entry = entry
        entry.revocation = entry.revocation || failure.isRevocation
        return entry
    }

    /// Every owed entry becomes due at `now` (Kisi answered again: waiting out long backoffs would only
    /// keep doors shut). Attempt counts are kept, so renewed failures back off from where they were.
    /// Entries waiting longer than any backoff (`sparing`, the default policy's longest wait) wait on the
    /// key's rights (``SyncRetryPolicy/refusedWait``), which Kisi answering again does not change: they keep their time.
    public static func expedite(_ state: SyncRetryState, now: Date, sparing limit: Duration = SyncRetryPolicy().maximum) -> SyncRetryState {
        var state = state
        let horizon = now.addingTimeInterval(SyncRetryPolicy.seconds(limit))
        func expedited(_ entry: SyncRetryState.Entry) -> SyncRetryState.Entry {
            var entry = entry
            if entry.nextAttemptAt <= horizon { entry.nextAttemptAt = min(entry.nextAttemptAt, now) }
            return entry
        }
        state.members = state.members.mapValues(expedited)
        state.plans = state.plans.mapValues(expedited)
        state.full = state.full.map(expedited)
        if let changes = state.changes { state.changes?.nextAttemptAt = min(changes.nextAttemptAt, now) }
        return state
    }

    /// The owed work to retry at `now`: members and plans whose time has come, revocations first, and
    /// whether a full reconcile is due.
    public static func due(_ state: SyncRetryState, now: Date) -> (members: [UUID], plans: [UUID], full: Bool) {
        func order(_ entries: [String: SyncRetryState.Entry]) -> [UUID] {
            entries.filter { $0.value.nextAttemptAt <= now }
                .sorted { ($0.value.revocation ? 0 : 1, $0.value.nextAttemptAt, $0.key) < ($1.value.revocation ? 0 : 1, $1.value.nextAttemptAt, $1.key) }
                .compactMap { UUID(uuidString: $0.key) }
        }
        return (order(state.members), order(state.plans), state.full.map { $0.nextAttemptAt <= now } ?? false)
    }
}

extension SyncFailure {
    var isRevocation: Bool { action == "removeGrant" || action == "removeGroupLock" || action == "deleteGroup" }
    /// Kisi refused it for lack of rights: it goes through only once the key's rights change.
    var isRefusal: Bool { kisiStatus == 403 }
}

/// The owed work of this replica's sync, read from and written through to the ledger's sync state.
actor SyncRetryBook {
    let ledger: any SyncLedger
    let policy: SyncRetryPolicy
    private var loaded: SyncRetryState?
    private var generator = SystemRandomNumberGenerator()
    /// When Kisi was last asked whether it answers again (see ``SyncService/recoveryProbeInterval``).
    private var lastProbeAt: Date?
    /// Kisi's own trouble (5xx, drops, lost responses) made work fail since it last answered a probe.
    /// Only then does a probe's answer mean a recovery worth retrying everything for: work that failed
    /// on a 4xx keeps its backoff. Unknown after a start, so the first answer counts.
    private(set) var kisiInTrouble = true

    func noteKisiTrouble() { kisiInTrouble = true }

    /// True (and the probe counted as made) when Kisi was in trouble and the last probe is at least
    /// `interval` old.
    func claimProbe(now: Date, interval: Duration) -> Bool {
        guard kisiInTrouble else { return false }
        if let last = lastProbeAt, now.timeIntervalSince(last) < SyncRetryPolicy.seconds(interval) { return false }
        lastProbeAt = now
        return true
    }

    /// Kisi answered a probe: its trouble is over until the next transient failure.
    func noteKisiAnswered() { kisiInTrouble = false }

    init(ledger: any SyncLedger, policy: SyncRetryPolicy) {
        self.ledger = ledger
        self.policy = policy
    }

    var state: SyncRetryState {
        get async throws {
            if let loaded { return loaded }
            let state = try await ledger.syncState.get(.retry) ?? SyncRetryState()
            loaded = state
            return state
        }
    }

    func update(_ change: (SyncRetryState, SyncRetryPolicy, () -> Double) -> SyncRetryState) async throws {
        let before = try await state
        var generator = self.generator
        let after = change(before, policy) { Double.random(in: 0..<1, using: &generator) }
        self.generator = generator
        guard after != before else { return }
        loaded = after
        try await ledger.syncState.set(.retry, after)
    }
}
