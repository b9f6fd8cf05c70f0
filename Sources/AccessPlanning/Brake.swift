import Foundation

/// The mass-revocation brake: a guard against a bug or a data accident (an emptied member table, a
/// wrong time zone) silently locking many people out.
///
/// Semantics, precisely:
/// - A *braked revocation* is a `removeGrant` whose cause loses the holder door access
///   (`RemovalCause.losesAccess`: access ended, member deleted, not linked, plan removed). Collapsing
///   duplicates and replacing a wrong role are not braked; neither are group-lock removals or
///   validity updates.
/// - The revocation *count* is the number of braked revocations; the *people* are the distinct members
///   they concern (the Kisi user for an assignment not linked to a member).
/// - The *limit* is `maxShare × managedGrantCount`, raised to at least `minimumCount` (so a small gym
///   is not held for two cancellations: 10 % of 25 grants would be 2) and capped at `maxCount` (so a
///   big gym is not allowed to lose hundreds at once). The brake trips when the braked revocations
///   concern more than one person **and** their count exceeds the limit (strictly: exactly 25 of 250
///   grants passes with the defaults, 26 does not).
/// - Removing a grant whose `valid_until` has already passed opens nothing that was open: it is
///   cleanup (`RemovalCause.expired`), not a revocation, and not counted.
/// - *Single revocations always flow*: revocations that concern at most one person never trip the
///   brake, whatever the share (one member of a three-member gym can still be cancelled).
/// - When tripped, every braked revocation is held for staff approval, and so is the `deleteGroup`
///   of any group one of them is in, whatever its cause (it would revoke the same access). Everything else proceeds,
///   in its original order.
public struct RevocationBrake: Hashable, Sendable {
    /// Largest share of managed grants that may be revoked in one run without approval (default 10 %).
    public var maxShare: Double
    /// Largest number of grants that may be revoked in one run without approval, whatever the share (default 25).
    public var maxCount: Int
    /// Revocations that may always flow without approval, whatever the share (default 5).
    public var minimumCount: Int

    public init(maxShare: Double = 0.10, maxCount: Int = 25, minimumCount: Int = 5) {
        self.maxShare = maxShare
        self.maxCount = maxCount
        self.minimumCount = minimumCount
    }

    /// How many braked revocations may flow in one run against `managedGrantCount` managed grants.
    public func limit(managedGrantCount: Int) -> Double {
        let share = maxShare * Double(max(managedGrantCount, 0))
        return min(Double(maxCount), max(Double(minimumCount), share))
    }

    public struct Outcome: Hashable, Sendable {
        /// Actions to execute now, in the planner's order.
        public var proceed: [SyncAction]
        /// Actions awaiting staff approval, in the planner's order; empty unless `tripped`.
        public var held: [SyncAction]
        public var tripped: Bool
        /// Braked revocations in the plan, and the distinct people they concern.
        public var revocationCount: Int
        public var peopleAffected: Int
        /// The threshold that tripped, for the staff screen; nil when not tripped.
        public var explanation: String?
    }

    /// Splits `actions` into what runs now and what waits for approval.
    ///
    /// - Parameter managedGrantCount: role assignments currently in managed groups
    ///   (`ObservedState.managedGrantCount`).
    public func apply(to actions: [SyncAction], managedGrantCount: Int) -> Outcome {
        let braked = actions.filter(Self.isBraked)
        let people = Set(braked.map(Self.person))
        let count = braked.count
        let allowed = limit(managedGrantCount: managedGrantCount)
        // A small epsilon keeps 0.1 × 250 (= 25.000000000000004) from counting 25 as "over".
        guard people.count > 1, Double(count) > allowed + 1e-9 else {
            return Outcome(proceed: actions, held: [], tripped: false, revocationCount: count, peopleAffected: people.count, explanation: nil)
        }
        let overCount = count > maxCount
        var heldGroups = Set<Int>()
        for action in braked {
            if case let .removeGrant(_, _, groupID, _) = action.kind { heldGroups.insert(groupID) }
        }
        func isHeld(_ action: SyncAction) -> Bool {
            if Self.isBraked(action) { return true }
            if case let .deleteGroup(groupID, _) = action.kind { return heldGroups.contains(groupID) }
            return false
        }
        let percent = managedGrantCount > 0 ? Double(count) * 100 / Double(managedGrantCount) : 100
        let limits = overCount
            ? "more than \(maxCount)"
            : "more than \(String(format: "%.0f", maxShare * 100)) % of \(managedGrantCount) managed grants (at least \(minimumCount) may always flow)"
        let explanation = "\(count) door-access revocations for \(people.count) people (\(String(format: "%.1f", percent)) %) is \(limits); held for staff approval"
        return Outcome(
            proceed: actions.filter { !isHeld($0) }, held: actions.filter(isHeld), tripped: true,
            revocationCount: count, peopleAffected: people.count, explanation: explanation)
    }

    static func isBraked(_ action: SyncAction) -> Bool {
        if case let .removeGrant(_, _, _, cause) = action.kind { return cause.losesAccess }
        return false
    }

    static func person(_ action: SyncAction) -> String {
        if let memberID = action.memberID { return "member:" + memberID.uuidString }
        if case let .removeGrant(_, userID, _, _) = action.kind { return "kisi:\(userID)" }
        return "unknown"
    }
}
