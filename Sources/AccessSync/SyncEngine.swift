import Foundation
import GymCore
import GymStore
import KisiAPI
import Logging

/// A revocation (or the group deletion that would revoke the same access) held by the brake.
public struct HeldRevocation: Codable, Sendable, Hashable {
    public var action: String
    public var assignmentID: Int?
    public var userID: Int?
    public var groupID: Int?
    public var memberID: UUID?
    public var planID: UUID?
    public var reason: String

    init(_ action: SyncAction) {
        self.action = action.kind.actionName
        self.memberID = action.memberID
        self.planID = action.planID
        self.reason = action.reason
        switch action.kind {
        case let .removeGrant(assignmentID, userID, groupID, _):
            self.assignmentID = assignmentID
            self.userID = userID
            self.groupID = groupID
        case let .deleteGroup(groupID, _):
            self.groupID = groupID
        default:
            break
        }
    }
}

/// What one sync run did.
public struct SyncReport: Sendable, CustomStringConvertible {
    public var trigger: String
    public var startedAt: Date
    public var duration: Duration
    /// Actions planned (after scoping, before the brake).
    public var planned: Int
    /// Actions executed successfully, per action name (`createGrant`, `removeGrant`, ...).
    public var executed: [String: Int]
    /// Writes resolved by looking Kisi up (lost response, duplicate, unfinished journal entry).
    public var recovered: Int
    public var failures: [SyncFailure]
    /// Revocations held by the mass-revocation brake (not executed).
    public var heldRevocations: [HeldRevocation]
    public var brakeExplanation: String?
    /// Set when the run stopped because Kisi rejected the key; nothing was lost, the next run retries.
    public var pausedReason: String?
    /// Actions not attempted because the run was paused.
    public var notRun: Int
    /// Actions set aside because the run yielded to newer changes; the engine carries them out later
    /// (``SyncEngine/resumeDeferred(trigger:yield:)``) unless a newer run supersedes them.
    public var deferred: Int = 0
    /// Kisi requests: list pages and single reads, and writes (creates, updates, deletes).
    public var kisiReads: Int
    public var kisiWrites: Int
    /// Rows the run loaded from the gym's database to plan: layout, members, subscriptions, links and
    /// reviews (the write journal it appends to is not counted).
    public var storeRowsRead: Int = 0
    /// Kisi writes per member, for the actions that concern one member (group writes are not attributed).
    public var kisiWritesByMember: [UUID: Int] = [:]
    /// Members the run was restricted to; nil for a full reconcile.
    public var memberScope: Set<UUID>?
    public var planScope: Set<UUID>?

    public var executedTotal: Int { executed.values.reduce(0, +) }

    public var failuresByMember: [UUID: [SyncFailure]] {
        Dictionary(grouping: failures.filter { $0.memberID != nil }, by: { $0.memberID! })
    }

    public var isPaused: Bool { pausedReason != nil }

    public var description: String {
        let counts = executed.keys.sorted().map { "\($0)=\(executed[$0]!)" }.joined(separator: " ")
        return "sync [\(trigger)] planned \(planned), executed {\(counts)}, recovered \(recovered), failed \(failures.count), "
            + "held \(heldRevocations.count), deferred \(deferred), reads \(kisiReads), writes \(kisiWrites), \(duration)"
            + (pausedReason.map { ", PAUSED: \($0)" } ?? "")
    }
}

/// Ties observation, desired state, planning, the brake and execution together.
///
/// - ``reconcileAll(trigger:)``: reads everything (see ``KisiObserver`` for the cost), plans, brakes, executes.
/// - ``reconcile(memberIDs:planIDs:trigger:)``: a change-driven run; reuses the last groups/locks snapshot
///   and reads only what the changed members and plans need.
/// - ``dryRun()``: observes and plans; writes nothing (neither Kisi nor the ledger).
public actor SyncEngine {
    public struct Configuration: Sendable {
        public var options: SyncOptions
        public var brake: RevocationBrake
        /// Journal `actor` of the engine's writes.
        public var actor: String
        public var hooks: SyncHooks
        /// "Now" for the access rule.
        public var now: @Sendable () -> Date
        /// See ``KisiObserver/emailLookUpLimit`` (lower in tests).
        public var emailLookUpLimit = KisiObserver.defaultEmailLookUpLimit
        public var logger: Logger
        /// The fingerprint of the API key (``KisiSettings/keyFingerprint``): a run takes the places of a
        /// place administrator's key from the rights kept for this key, unless `options` names them.
        public var keyFingerprint: String?

        public init(
            options: SyncOptions = SyncOptions(), brake: RevocationBrake = RevocationBrake(), actor: String = "sync",
            hooks: SyncHooks = SyncHooks(), now: @escaping @Sendable () -> Date = { Date() },
            logger: Logger = Logger(label: "boogyman.access-sync"), keyFingerprint: String? = nil
        ) {
            self.keyFingerprint = keyFingerprint
            self.options = options
            self.brake = brake
            self.actor = actor
            self.hooks = hooks
            self.now = now
            self.logger = logger
        }
    }

    /// Groups and their doors as last read, and the brake's denominator.
    struct GroupSnapshot: Sendable {
        var groups: [ObservedGroup]
        var groupLocks: [ObservedGroupLock]
        var managedGrantCount: Int?
        /// Linked groups the key may not read (see ``KisiObserver/readUnreachableGroupIDs(links:listed:)``).
        var unreachableGroupIDs: Set<Int> = []
    }

    public nonisolated let client: KisiClient
    public let repository: GymRepository
    public let ledger: any SyncLedger
    public let configuration: Configuration
    var snapshot: GroupSnapshot?
    /// What the last long run set aside: when it yielded (grants and cosmetic updates only, since
    /// revocations never yield), or what it could not do while Kisi refused the key (already past the
    /// brake). Kept in memory only: after a restart the start-up full reconcile re-plans it all.
    private(set) var deferred: [SyncAction] = []
    /// When the full observation behind the work set aside started (a full reconcile's start, a sweep's
    /// first read); the run counts as done, and every member as verified from then, once that work is.
    private var deferredFullReconcileStartedAt: Date?
    /// The members' order of the run whose work is set aside, kept for its resumption.
    private var deferredOrder: ArrivalOrder?
    /// Unlinked members the last whole-gym observation did not look up by e-mail: each `createUser` of
    /// theirs looks first (see ``KisiObserver/emailLookUpLimit``).
    private var membersToLookUpBeforeCreating: Set<UUID> = []
    /// The long run under way (a full reconcile and the work it set aside), published as ``SyncRunProgress``.
    private var progress: ProgressTracker?
    public var hasDeferredWork: Bool { !deferred.isEmpty }
    public var deferredCount: Int { deferred.count }
    /// Runs are serialized: the actor is reentrant at every `await`, and two runs interleaving could
    /// plan the same write twice.
    private var running = false
    private var waiting: [CheckedContinuation<Void, Never>] = []
    /// The scope of the run holding the lock (nil members: the whole gym), for a sweep starting meanwhile.
    private var activeRunScope: RunScope?
    /// Runs since the rolling sweep began reading; nil while no sweep reads.
    private var sweepWatch: SweepWatch?

    /// Whom a run may write for: some members, or anyone (full runs, plan runs, staff commands).
    enum RunScope { case members(Set<UUID>), anyone }

    /// What ran while the rolling sweep was reading: the Kisi state of these members may have moved past
    /// what the sweep read, so it must not act on them; after a run that may have written for anyone, the
    /// sweep's reads are stale as a whole.
    struct SweepWatch {
        var touchedMembers: Set<UUID> = []
        var superseded = false

        mutating func note(_ scope: RunScope) {
            switch scope {
            case .members(let members): touchedMembers.formUnion(members)
            case .anyone: superseded = true
            }
        }
    }

    /// The assignment IDs last seen in each group past Kisi's offset ceiling (20,250 grants), which no
    /// listing reaches through: the next full observation reads the middle of such a group by them.
    /// Kept in the sync state too, so that a restart or a new leader does not read the middle of such a
    /// group one member at a time (20,324 reads instead of 1,405 for two groups of 50,000).
    private var bigGroupAssignmentIDs: [Int: Set<Int>] = [:]
    /// Linked groups Kisi refused to show this key, with when that was found: asked about again only after
    /// ``unreachableRecheckInterval`` (staff may have deleted one), not at every run.
    private var unreachableGroups: [Int: Date] = [:]
    static let unreachableRecheckInterval: TimeInterval = 3_600
    private var loadedBigGroups = false

    /// Whether a run holds the lock now (the sweep gives way to such runs).
    public var isRunning: Bool { running }

    private func acquire() async {
        guard running else {
            running = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }  // ownership is handed over by `release()`
    }

    private func release() {
        if waiting.isEmpty { running = false } else { waiting.removeFirst().resume() }
    }

    /// Runs `work` between the engine's runs, never during one (staff commands that write what the sync manages).
    func serialized<T: Sendable>(_ work: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        sweepWatch?.note(.anyone)
        return try await work()
    }

    public init(client: KisiClient, repository: GymRepository, ledger: any SyncLedger, configuration: Configuration = Configuration()) {
        self.client = client
        self.repository = repository
        self.ledger = ledger
        self.configuration = configuration
    }

    var logger: Logger { configuration.logger }

    // MARK: Desired state

    /// The options runs plan with: the configured ones, plus the places of a place administrator's key as
    /// found out when the key was connected or the sync started (kept with the key's fingerprint, so a
    /// replaced key's rights never apply to the new one). Read at each run: a role changed in Kisi, or
    /// another key, reshapes the groups at the next run.
    func runOptions() async -> SyncOptions {
        var options = configuration.options
        guard options.keyPlaceIDs == nil, let fingerprint = configuration.keyFingerprint,
              let stored = try? await repository.syncState.get(SyncStateEntry<StoredKisiKeyRights>.kisiKeyRights),
              stored.keyFingerprint == fingerprint, case .places(let places) = stored.rights.reach
        else { return options }
        options.keyPlaceIDs = Set(places.map(\.id))
        return options
    }

    /// The desired Kisi state from the gym's data at `instant`.
    public func desiredState(at instant: Date) async throws -> DesiredState {
        let layout = try await repository.layout()
        let built = DesiredState.build(
            layout: layout, members: try await repository.allMembers(), subscriptions: try await repository.allSubscriptions(),
            at: instant, options: await runOptions())
        return try await applyingClassWindows(to: built, layout: layout, memberIDs: nil, at: instant)
    }

    /// The whole gym's desired state, counting what it loads.
    private func desiredState(at instant: Date, _ run: inout SyncRun) async throws -> DesiredState {
        let layout = try await loadLayout(&run)
        let members = try await repository.allMembers()
        let subscriptions = try await repository.allSubscriptions()
        run.storeRows += members.count + subscriptions.count
        let built = DesiredState.build(layout: layout, members: members, subscriptions: subscriptions, at: instant, options: await runOptions())
        return try await applyingClassWindows(to: built, layout: layout, memberIDs: nil, at: instant)
    }

    private func loadLayout(_ run: inout SyncRun) async throws -> GymLayout {
        let layout = try await repository.layout()
        run.storeRows += layout.clubs.count + layout.studios.count + layout.plans.count
        return layout
    }

    /// Every stored link, or (with `memberIDs`) only those a run about these members needs.
    private func loadLinks(_ run: inout SyncRun, memberIDs: Set<UUID>? = nil, userIDs: Set<Int> = []) async throws -> KisiLinks {
        let links = if let memberIDs {
            try await ledger.links(memberIDs: memberIDs, userIDs: userIDs)
        } else {
            try await ledger.links()
        }
        run.storeRows += links.groups.count + links.users.count
        return links
    }

    private func loadReviews(_ run: inout SyncRun) async throws -> [HeldReview] {
        let reviews = try await ledger.openReviews()
        run.storeRows += reviews.count
        return reviews
    }

    /// What the observer needs to read groups too big to list (see ``KisiObserver/GroupHints``): who
    /// should hold a grant in each, and what the last full observation saw in the big ones.
    private func groupHints(desired: DesiredState, links: KisiLinks) async -> KisiObserver.GroupHints {
        if !loadedBigGroups, let stored = try? await ledger.syncState.get(.bigGroupAssignmentIDs) {
            bigGroupAssignmentIDs = stored.mapValues(Set.init)
        }
        loadedBigGroups = true
        var holders: [Int: Set<Int>] = [:]
        for grant in desired.grants {
            guard let groupID = links.groups[grant.groupKey], let userID = links.users[grant.memberID] else { continue }
            holders[groupID, default: []].insert(userID)
        }
        return KisiObserver.GroupHints(holders: holders, knownAssignmentIDs: bigGroupAssignmentIDs, knownUnreachable: recentlyUnreachable())
    }

    /// The linked groups found unreachable within the last ``unreachableRecheckInterval``.
    private func recentlyUnreachable() -> Set<Int> {
        let now = Date()
        return Set(unreachableGroups.filter { now.timeIntervalSince($0.value) < Self.unreachableRecheckInterval }.keys)
    }

    private func rememberUnreachable(_ found: Set<Int>) {
        let now = Date()
        unreachableGroups = unreachableGroups.filter { found.contains($0.key) }
        for id in found where unreachableGroups[id] == nil { unreachableGroups[id] = now }
    }

    /// Keeps the assignment IDs of the groups no listing reaches through, for the next full observation.
    private func rememberBigGroups(_ observed: ObservedState) async {
        rememberUnreachable(observed.unreachableGroupIDs)
        var byGroup: [Int: Set<Int>] = [:]
        for assignment in observed.roleAssignments { byGroup[assignment.groupID, default: []].insert(assignment.id) }
        let big = byGroup.filter { $0.value.count > kisiMaximumOffset + 250 }
        guard big != bigGroupAssignmentIDs else { return }
        bigGroupAssignmentIDs = big
        // Kept for a restart or the next leader (about 1 MB for 100,000 grants); a gym without such a
        // group never writes it.
        try? await ledger.syncState.set(.bigGroupAssignmentIDs, big.isEmpty ? nil : big.mapValues { $0.sorted() })
    }

    /// Members who need a Kisi user (they hold or will hold a grant): the observer looks up by e-mail
    /// those not linked yet, instead of listing the whole organization.
    static func userCandidates(_ desired: DesiredState) -> [KisiObserver.UserCandidate] {
        desired.users.filter(\.needsKisiUser).map { KisiObserver.UserCandidate(memberID: $0.memberID, email: $0.email.value) }
    }

    // MARK: One run

    /// What a run body works with: its meter (shared by observer and executor) and the report it fills.
    struct SyncRun {
        let meter = KisiCallMeter()
        var report: SyncReport
        var observer: KisiObserver
        /// Rows loaded from the gym's database (layout, members, subscriptions, links, reviews).
        var storeRows = 0
    }

    /// The scaffolding every run shares: runs one at a time, meters Kisi, pauses (rather than fails)
    /// when Kisi rejects the key, stamps reads, writes and duration on the report, and logs it.
    ///
    /// - Parameters:
    ///   - logLevel: nil for runs that only look (a dry run logs nothing).
    ///   - pausesOnRejectedKey: when false, Kisi's 401/403 are thrown to the caller like any error.
    ///   - watchedBySweep: false for runs that write nothing and for the sweep's own; the others are noted
    ///     by a sweep reading meanwhile (see ``SweepWatch``).
    private func withRun(
        trigger: String, memberScope: Set<UUID>? = nil, planScope: Set<UUID>? = nil, logLevel: Logger.Level? = .info,
        pausesOnRejectedKey: Bool = true, watchedBySweep: Bool = true, _ body: (inout SyncRun) async throws -> Void
    ) async throws -> SyncReport {
        await acquire()
        defer {
            activeRunScope = nil
            release()
        }
        if watchedBySweep {  // runs that may write, other than the sweep's own
            let scope: RunScope = if let memberScope, planScope?.isEmpty ?? true { .members(memberScope) } else { .anyone }
            activeRunScope = scope
            sweepWatch?.note(scope)
        }
        let clock = ContinuousClock()
        let start = clock.now
        var run = SyncRun(
            report: SyncReport(
                trigger: trigger, startedAt: Date(), duration: .zero, planned: 0, executed: [:], recovered: 0, failures: [],
                heldRevocations: [], brakeExplanation: nil, pausedReason: nil, notRun: 0, kisiReads: 0, kisiWrites: 0,
                memberScope: memberScope, planScope: planScope),
            observer: KisiObserver(client: client))
        run.observer = KisiObserver(client: client, meter: run.meter)
        run.observer.emailLookUpLimit = configuration.emailLookUpLimit
        defer {
            if let logLevel { logger.log(level: logLevel, "\(run.report)") }
        }
        do {
            try await body(&run)
        } catch let error as KisiError where pausesOnRejectedKey {
            guard let reason = Self.pauseReason(error) else { throw error }
            run.report.pausedReason = reason
            try await ledger.syncState.set(.pausedReason, reason)
        }
        run.report.kisiReads = run.meter.reads
        run.report.kisiWrites = run.meter.writes
        run.report.storeRowsRead = run.storeRows
        run.report.duration = clock.now - start
        return run.report
    }

    /// Observes everything BooGYMan manages and plans the whole gym (full reconcile, dry run, revoking all).
    /// - Parameter writes: false for a look that must leave no trace (the dry run): what it saw of the big
    ///   groups is then not kept.
    private func observeAndPlanAll(
        _ run: inout SyncRun, grants keepGrants: Bool = true, writes: Bool = true
    ) async throws -> (actions: [SyncAction], links: KisiLinks, observed: ObservedState) {
        let links = try await loadLinks(&run)
        var desired = try await desiredState(at: configuration.now(), &run)
        let observed = try await run.observer.observeAll(
            links: links, reviews: try await loadReviews(&run), candidates: keepGrants ? Self.userCandidates(desired) : [],
            hints: await groupHints(desired: desired, links: links))
        if writes { await rememberBigGroups(observed) }
        if !keepGrants { desired.grants = [] }
        return (plan(desired: desired, observed: observed), links, observed)
    }

    // MARK: Dry run

    /// The actions a full reconcile would take now, with reasons. Reads Kisi and the gym; writes nothing.
    public func dryRun() async throws -> [SyncAction] {
        var actions: [SyncAction] = []
        _ = try await withRun(trigger: "dry run", logLevel: nil, pausesOnRejectedKey: false, watchedBySweep: false) { run in
            actions = try await observeAndPlanAll(&run, writes: false).actions
        }
        return actions
    }

    // MARK: Revoking everything (disconnecting)

    /// The removals that take away every door grant BooGYMan holds in its managed groups: what
    /// "disconnect and revoke all managed access" does. Reads Kisi; writes nothing.
    public func managedAccessRevocations() async throws -> [SyncAction] {
        var actions: [SyncAction] = []
        _ = try await withRun(trigger: "revocation preview", logLevel: nil, pausesOnRejectedKey: false, watchedBySweep: false) { run in
            actions = try await planRevokingAll(&run).actions
        }
        return actions
    }

    /// Removes every door grant in BooGYMan's managed groups, on the owner's explicit word, so the
    /// mass-revocation brake does not hold it. Kisi users stay (BooGYMan never deletes them), and so
    /// do the groups — empty — so that reconnecting later finds them; groups the gym made are not
    /// touched, as in every run. Journalled like every other write.
    public func revokeAllManagedAccess(trigger: String) async throws -> SyncReport {
        try await withRun(trigger: trigger, logLevel: .notice, pausesOnRejectedKey: false) { run in
            let (actions, links) = try await planRevokingAll(&run)
            run.report.planned = actions.count
            try await runExecutor(actions, links: links, full: false, meter: run.meter, report: &run.report, yield: nil)
        }
    }

    /// The planner's own answer for a gym where nobody has a grant, cut to the grant removals.
    private func planRevokingAll(_ run: inout SyncRun) async throws -> (actions: [SyncAction], links: KisiLinks) {
        let (actions, links, _) = try await observeAndPlanAll(&run, grants: false)
        let removals = actions.filter { action in
            if case .removeGrant = action.kind { return true }
            return false
        }
        return (removals, links)
    }

    // MARK: Full reconcile

    /// Observes and plans the whole gym and carries the plan out: revocations first, then each member's
    /// user and grants, members most likely at the door soon first (see ``arrivalOrder(for:)``). Its
    /// progress is published while it runs (``SyncStateEntry/runProgress``), until the work it sets
    /// aside is done too. A restart needs no record of what was done: the next run observes Kisi and
    /// the links written after each create, and plans only what is still missing.
    public func reconcileAll(trigger: String = "full reconcile", yield: SyncYield? = nil) async throws -> SyncReport {
        try await withRun(trigger: trigger) { run in
            deferred = []  // this run re-plans everything from a fresh observation
            deferredFullReconcileStartedAt = nil
            deferredOrder = nil
            let (actions, links, observed) = try await observeAndPlanAll(&run)
            try await executeWholePlan(actions, links: links, observed: observed, observedFrom: run.report.startedAt, yield: yield, &run)
        }
    }

    /// Carries out a plan made from a full observation (a full reconcile's, or a rolling sweep's), as a
    /// long run: members most likely at the door first, progress published, yielding to newer changes.
    /// Once all of it is done, the full reconcile is recorded and every member counts as verified from
    /// `observedFrom`, when the observation began.
    private func executeWholePlan(
        _ actions: [SyncAction], links: KisiLinks, observed: ObservedState, observedFrom: Date, yield: SyncYield?, _ run: inout SyncRun
    ) async throws {
        FreedMemory.returnToSystem()  // the planning's peak, now garbage, is not kept for the hours the plan takes
        membersToLookUpBeforeCreating = observed.membersNotLookedUp
        do {
            snapshot = GroupSnapshot(
                groups: observed.groups, groupLocks: observed.groupLocks, managedGrantCount: observed.managedGrantCount,
                unreachableGroupIDs: observed.unreachableGroupIDs)
            let order = try await arrivalOrder(for: actions)
            progress = ProgressTracker(trigger: run.report.trigger, startedAt: run.report.startedAt)
            try await execute(
                actions, links: links, managedGrantCount: observed.managedGrantCount, full: true, meter: run.meter, report: &run.report,
                yield: yield, order: order)
        } catch {
            try? await endProgress()
            throw error
        }
        guard run.report.pausedReason == nil else {
            if deferred.isEmpty { try await endProgress() }
            return
        }
        if run.report.deferred > 0 {
            deferredFullReconcileStartedAt = observedFrom
            deferredOrder = currentOrder
        } else {
            try await endProgress()
            try await recordFullObservationActedOn(from: observedFrom)
        }
    }

    /// A full observation that started at `start` has been acted on in full.
    private func recordFullObservationActedOn(from start: Date) async throws {
        try await ledger.syncState.set(.lastFullReconcileAt, Date())
        let verified = try await ledger.syncState.get(.allMembersVerifiedAt)
        try await ledger.syncState.set(.allMembersVerifiedAt, max(verified ?? start, start))
    }

    // MARK: Rolling sweep

    /// What a rolling sweep read from Kisi, waiting to be acted on (``applySweep(_:trigger:yield:)``).
    public struct SweepObservation: Sendable {
        let observed: ObservedState
        let links: KisiLinks
        /// When the sweep began reading: every member it acts on is verified from then.
        public let startedAt: Date
        public let reads: Int
    }

    /// The rolling sweep's reads: everything a full reconcile observes (see ``KisiObserver`` for the
    /// cost), but outside the run lock, so change-driven runs go on meanwhile, and with `pace` awaited
    /// before each Kisi request, so the sweep takes only its share of the key's rate while they do.
    /// Writes nothing.
    public func observeForSweep(
        pace: @escaping @Sendable () async throws -> Void, onEstimate: @escaping @Sendable (Int) async -> Void, meter: KisiCallMeter
    ) async throws -> SweepObservation {
        var watch = SweepWatch()
        if let activeRunScope { watch.note(activeRunScope) }  // that run may write after these reads
        sweepWatch = watch
        do {
            let startedAt = Date()
            let links = try await ledger.links()
            let reviews = try await ledger.openReviews()
            let desired = try await desiredState(at: configuration.now())
            var observer = KisiObserver(client: client, meter: meter, pace: pace, onEstimate: onEstimate)
            observer.emailLookUpLimit = configuration.emailLookUpLimit
            let observed = try await observer.observeAll(
                links: links, reviews: reviews, candidates: Self.userCandidates(desired),
                hints: await groupHints(desired: desired, links: links))
            await rememberBigGroups(observed)
            return SweepObservation(observed: observed, links: links, startedAt: startedAt, reads: meter.reads)
        } catch {
            sweepWatch = nil
            throw error
        }
    }

    /// Plans the whole gym against what the sweep read and carries the plan out like a full reconcile,
    /// except for members some run wrote for since the sweep began reading (their Kisi state may have
    /// moved past the reads; those runs planned them from fresh reads anyway). Nil, doing nothing, when
    /// the reads are stale as a whole (a full, plan or staff run wrote meanwhile, or plans' groups were
    /// relinked) or a long run's work is still set aside: the next sweep reads again.
    public func applySweep(_ sweep: SweepObservation, trigger: String = "rolling sweep", yield: SyncYield? = nil) async throws -> SyncReport? {
        var applied = false
        let report = try await withRun(trigger: trigger, watchedBySweep: false) { run in
            let watch = sweepWatch
            sweepWatch = nil
            guard let watch, !watch.superseded, deferred.isEmpty else { return }
            let links = try await loadLinks(&run)
            guard links.groups == sweep.links.groups else { return }
            var stale = watch.touchedMembers
            for member in Set(links.users.keys).union(sweep.links.users.keys) where links.users[member] != sweep.links.users[member] {
                stale.insert(member)
            }
            applied = true
            let actions: [SyncAction]
            do {  // the desired state ends here: only the plan is kept for the hours it runs
                let desired = try await desiredState(at: configuration.now(), &run)
                actions = plan(desired: desired, observed: sweep.observed).filter { action in
                    action.memberID.map { !stale.contains($0) } ?? true
                }
            }
            try await executeWholePlan(actions, links: links, observed: sweep.observed, observedFrom: sweep.startedAt, yield: yield, &run)
        }
        guard applied else { return nil }
        var counted = report
        counted.kisiReads += sweep.reads
        return counted
    }

    // MARK: Order and progress of long runs

    /// The members' order for a long run's grants: recent check-ins at the door, then access starting
    /// about now, then older check-ins (``ArrivalOrder/rank(lastCheckIns:accessStarts:now:recentDays:startWindowDays:)``).
    /// Read from the door events of linked members and the planned grants' starts; one query.
    func arrivalOrder(for actions: [SyncAction]) async throws -> ArrivalOrder {
        var starts: [UUID: Date] = [:]
        for action in actions {
            guard let memberID = action.memberID else { continue }
            let start: Date? = switch action.kind {
            case let .createGrant(_, _, _, validFrom, _): validFrom
            case let .inviteUser(_, _, _, _, _, validFrom, _): validFrom
            case let .updateGrantValidity(_, validFrom, _): validFrom
            default: nil
            }
            if let start, starts[memberID].map({ start < $0 }) ?? true { starts[memberID] = start }
        }
        guard !starts.isEmpty else { return ArrivalOrder(rank: [:]) }
        let checkIns = try await repository.lastDoorEventPerMember()
        return ArrivalOrder(rank: ArrivalOrder.rank(lastCheckIns: checkIns, accessStarts: starts, now: configuration.now()))
    }

    /// The members' order of the executor run under way, kept for the resumption of what it sets aside.
    private var currentOrder: ArrivalOrder?

    /// Counts of a long run, across the segments it is split into when it yields to newer changes.
    struct ProgressTracker {
        let trigger: String
        let startedAt: Date
        var planned = 0
        var done = 0
        var failed = 0
        /// The Kisi requests the plan usually takes, and those its finished actions took (``SyncActionKind/usualKisiRequests``).
        var plannedRequests = 0
        var finishedRequests = 0
        /// Time spent executing in finished segments; time set aside is not counted.
        var workedBefore: Duration = .zero
        var segmentStart: ContinuousClock.Instant?
        var lastPublished: ContinuousClock.Instant?
        /// (finished requests, working seconds) at each publication within the last ``rateWindow`` of work, oldest
        /// first: the rate is taken over that window.
        var samples: [(finished: Int, workingSeconds: Double)] = []

        /// How much recent work the rate is taken over.
        static let rateWindow = 60.0

        mutating func figures(now: Date, clock: ContinuousClock.Instant) -> SyncRunProgress {
            var worked = workedBefore
            if let segmentStart { worked += clock - segmentStart }
            let seconds = Double(worked.components.seconds) + Double(worked.components.attoseconds) / 1e18
            while let second = samples.dropFirst().first, seconds - second.workingSeconds >= Self.rateWindow { samples.removeFirst() }
            let progress = SyncRunProgress.estimate(
                trigger: trigger, startedAt: startedAt, now: now, planned: planned, done: done, failed: failed, workingSeconds: seconds,
                requests: (plannedRequests, finishedRequests), since: samples.first)
            samples.append((finishedRequests, seconds))
            return progress
        }
    }

    /// How often the progress of a long run is written: often enough for a progress bar, rarely enough
    /// to cost nothing next to Kisi's 5 writes a second.
    static let progressInterval: Duration = .seconds(2)

    private func beginProgressSegment(planned: [SyncAction]?) async throws {
        guard var tracker = progress else { return }
        if let planned {
            tracker.planned = planned.count
            tracker.plannedRequests = planned.reduce(0) { $0 + $1.kind.usualKisiRequests }
        }
        tracker.segmentStart = ContinuousClock.now
        tracker.lastPublished = ContinuousClock.now
        let figures = tracker.figures(now: configuration.now(), clock: ContinuousClock.now)
        progress = tracker
        try await ledger.syncState.set(.runProgress, figures)
    }

    private func progressStep(_ action: SyncAction, succeeded: Bool) async throws {
        guard var tracker = progress else { return }
        if succeeded { tracker.done += 1 } else { tracker.failed += 1 }
        tracker.finishedRequests += action.kind.usualKisiRequests
        let now = ContinuousClock.now
        let due = tracker.lastPublished.map { now - $0 >= Self.progressInterval } ?? true
        guard due else {
            progress = tracker
            return
        }
        tracker.lastPublished = now
        let figures = tracker.figures(now: configuration.now(), clock: now)
        progress = tracker
        try await ledger.syncState.set(.runProgress, figures)
    }

    private func endProgressSegment() async throws {
        guard var tracker = progress else { return }
        let now = ContinuousClock.now
        if let start = tracker.segmentStart { tracker.workedBefore += now - start }
        tracker.segmentStart = nil
        let figures = tracker.figures(now: configuration.now(), clock: now)
        progress = tracker
        try await ledger.syncState.set(.runProgress, figures)
    }

    private func endProgress() async throws {
        guard progress != nil else { return }
        progress = nil
        try await ledger.syncState.set(.runProgress, nil)
    }

    // MARK: Change-driven reconcile

    /// Reconciles only what changed members and plans need.
    ///
    /// Reads: the groups and their doors come from the last snapshot (re-read when there is none, or
    /// when plans changed); role assignments are read per changed member (`assignee` filter) and per
    /// changed plan's group (`applies_to` filter); users are read by ID (plus by e-mail for unlinked
    /// members) for member changes, every managed user for plan changes.
    ///
    /// A run about members only costs what those members cost, whatever the size of the gym: it loads
    /// those members, their subscriptions and links and the gym's layout (clubs, studios, plans), reads
    /// their Kisi users and role assignments, and plans them alone. Members the run meets through
    /// them (another member linked to, or named in the metadata of, a Kisi user it read) are loaded too,
    /// without their subscriptions, so the planner knows who else owns a user. A run about plans
    /// builds the whole desired state: a plan's doors concern all its members.
    ///
    /// How the plan is restricted, so that assignments that were *not read* are never taken for drift:
    /// - the desired grants are cut to those of the changed members (all their plans) and of the
    ///   changed plans (all their members) — exactly the (member, group) pairs whose assignments were
    ///   read in full, so no grant is "missing" merely because it was not read;
    /// - members outside the scope have no grants in the desired state and their Kisi users were not
    ///   read, so the planner emits nothing for them;
    /// - the assignments observed are only the changed members' and the changed plans' groups', so
    ///   the planner can only remove assignments it has really seen, each judged against the member's
    ///   complete desired grants;
    /// - the resulting actions are filtered once more: group changes only for the changed plans (or
    ///   a group a kept grant needs), user changes only for members in scope, grant changes only for
    ///   changed members or plans, review resolutions only for reviews about them.
    public func reconcile(memberIDs: Set<UUID>, planIDs: Set<UUID> = [], trigger: String = "changes") async throws -> SyncReport {
        try await withRun(trigger: trigger, memberScope: memberIDs, planScope: planIDs) { run in
            guard !memberIDs.isEmpty || !planIDs.isEmpty else { return }
            if planIDs.isEmpty {
                try await reconcileMembersOnly(memberIDs, &run)
            } else {
                try await reconcileWithPlans(memberIDs: memberIDs, planIDs: planIDs, &run)
            }
            // This run re-planned these members and plans from fresh reads; what an earlier run set aside
            // for them is stale (e.g. a grant for a member frozen since).
            deferred.removeAll { action in
                action.memberID.map(memberIDs.contains) ?? false || action.planID.map(planIDs.contains) ?? false
            }
        }
    }

    /// A run about members only (see ``reconcile(memberIDs:planIDs:trigger:)``).
    private func reconcileMembersOnly(_ memberIDs: Set<UUID>, _ run: inout SyncRun) async throws {
        let observer = run.observer
        let reviews = try await loadReviews(&run)
        var links = try await loadLinks(&run, memberIDs: memberIDs, userIDs: [])
        // Archived plans count as live here: whether one still needs its group depends on every
        // member's subscriptions, which this run does not load. It changes nothing for these members
        // (a grant in an archived plan comes from their own live subscription) and group changes are
        // left to plan and full runs.
        let layout = Self.keepingArchivedPlans(try await loadLayout(&run))
        var members = try await repository.members(ids: memberIDs)
        let subscriptions = try await repository.subscriptions(memberIDs: memberIDs)
        run.storeRows += members.count + subscriptions.count
        let instant = configuration.now()
        let ownDesired = try await applyingClassWindows(
            to: DesiredState.build(layout: layout, members: members, subscriptions: subscriptions, at: instant, options: await runOptions()),
            layout: layout, memberIDs: memberIDs, at: instant)
        let snap = try await groupSnapshot(observer: observer, links: links, refresh: false)
        let relevant = KisiObserver.relevantGroupIDs(groups: snap.groups, links: links)

        var assignments: [Int: ObservedRoleAssignment] = [:]
        let memberUserIDs = memberIDs.compactMap { links.users[$0] }
        for userID in Set(memberUserIDs).sorted() {
            for assignment in try await observer.readAssignments(KisiRoleAssignmentFilter(assignee: .user(id: userID)))
            where relevant.contains(assignment.groupID) {
                assignments[assignment.id] = assignment
            }
        }
        var users: [Int: ObservedUser] = [:]
        for user in try await observer.readUsers(ids: memberUserIDs) { users[user.id] = user }
        let granted = Set(ownDesired.grants.map(\.memberID))
        for user in ownDesired.users where granted.contains(user.memberID) {
            guard links.users[user.memberID].flatMap({ users[$0] }) == nil else { continue }
            if let found = try await observer.readUser(email: user.email.value) { users[found.id] = found }
        }

        // Who else owns the users read: their links (whoever holds them) and the members named in their
        // metadata, so that a user belonging to another member is never adopted.
        let namedMembers = Set(users.values.compactMap { $0.metadata[memberIDMetadataKey].flatMap(UUID.init(uuidString:)) })
        let owners = try await loadLinks(&run, memberIDs: namedMembers.subtracting(memberIDs), userIDs: Set(users.keys))
        links.users.merge(owners.users) { current, _ in current }
        let others = Set(links.users.keys).union(namedMembers).subtracting(memberIDs)
        if !others.isEmpty {
            let otherMembers = try await repository.members(ids: others)
            run.storeRows += otherMembers.count
            members += otherMembers
        }
        let desired = others.isEmpty
            ? ownDesired
            : try await applyingClassWindows(
                to: DesiredState.build(layout: layout, members: members, subscriptions: subscriptions, at: instant, options: await runOptions()),
                layout: layout, memberIDs: memberIDs, at: instant)
        try await planAndExecuteScoped(
            desired: desired, users: users, assignments: assignments, links: links, reviews: reviews, snapshot: snap,
            memberIDs: memberIDs, planIDs: [], &run)
    }

    /// A run about plans (and perhaps members too) (see ``reconcile(memberIDs:planIDs:trigger:)``).
    private func reconcileWithPlans(memberIDs: Set<UUID>, planIDs: Set<UUID>, _ run: inout SyncRun) async throws {
        let observer = run.observer
        let links = try await loadLinks(&run)
        let reviews = try await loadReviews(&run)
        let desiredAll = try await desiredState(at: configuration.now(), &run)
        let snap = try await groupSnapshot(observer: observer, links: links, refresh: true)
        let groupIDs = Set(snap.groups.map(\.id))
        let relevant = KisiObserver.relevantGroupIDs(groups: snap.groups, links: links)

        // Role assignments: per changed plan's group, per changed member's user.
        var assignments: [Int: ObservedRoleAssignment] = [:]
        for (key, groupID) in links.groups.sorted(by: { $0.key < $1.key }) {
            guard key.planID.map(planIDs.contains) == true, groupIDs.contains(groupID) else { continue }
            for assignment in try await observer.readAssignments(KisiRoleAssignmentFilter(appliesTo: .group(id: groupID))) {
                assignments[assignment.id] = assignment
            }
        }
        for userID in Set(memberIDs.compactMap { links.users[$0] }).sorted() {
            for assignment in try await observer.readAssignments(KisiRoleAssignmentFilter(assignee: .user(id: userID)))
            where relevant.contains(assignment.groupID) {
                assignments[assignment.id] = assignment
            }
        }
        var users: [Int: ObservedUser] = [:]
        let (managedUsers, notLookedUp) = try await observer.readManagedUsers(links: links, candidates: Self.userCandidates(desiredAll))
        for user in managedUsers { users[user.id] = user }
        membersToLookUpBeforeCreating.formUnion(notLookedUp)
        try await planAndExecuteScoped(
            desired: desiredAll, users: users, assignments: assignments, links: links, reviews: reviews, snapshot: snap,
            memberIDs: memberIDs, planIDs: planIDs, &run)
    }

    /// The groups and their doors: the last snapshot, or read afresh when there is none or `refresh`.
    private func groupSnapshot(observer: KisiObserver, links: KisiLinks, refresh: Bool) async throws -> GroupSnapshot {
        if let cached = snapshot, !refresh { return cached }
        let groups = try await observer.readGroups()
        var locks: [ObservedGroupLock] = []
        for groupID in KisiObserver.relevantGroupIDs(groups: groups, links: links).sorted() {
            locks += try await observer.readGroupLocks(groupID: groupID)
        }
        let unreachable = try await observer.readUnreachableGroupIDs(links: links, listed: groups, known: recentlyUnreachable())
        rememberUnreachable(unreachable)
        let fresh = GroupSnapshot(
            groups: groups, groupLocks: locks, managedGrantCount: snapshot?.managedGrantCount, unreachableGroupIDs: unreachable)
        snapshot = fresh
        return fresh
    }

    /// Plans what was read, cuts the plan to the run's scope (see ``restrict(_:members:memberFilter:plans:reviews:)``)
    /// and executes it.
    private func planAndExecuteScoped(
        desired desiredIn: DesiredState, users: [Int: ObservedUser], assignments: [Int: ObservedRoleAssignment], links: KisiLinks,
        reviews: [HeldReview], snapshot snap: GroupSnapshot, memberIDs: Set<UUID>, planIDs: Set<UUID>, _ run: inout SyncRun
    ) async throws {
        var desired = desiredIn
        desired.grants = desiredIn.grants.filter { memberIDs.contains($0.memberID) || $0.planID.map(planIDs.contains) == true }
        let observed = ObservedState(
            groups: snap.groups, groupLocks: snap.groupLocks, users: Array(users.values),
            roleAssignments: Array(assignments.values), groupLinks: links.groups, userLinks: links.users, heldReviews: reviews,
            unreachableGroupIDs: snap.unreachableGroupIDs)

        var memberFilter = memberIDs
        memberFilter.formUnion(desired.grants.map(\.memberID))
        let userToMember = Dictionary(links.users.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
        for assignment in assignments.values { if let memberID = userToMember[assignment.userID] { memberFilter.insert(memberID) } }
        let reviewsByKey = Dictionary(reviews.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })

        // Belt and braces: an assignment of a user linked to a member is never removed as "not
        // linked" merely because that user was not among the users read.
        let linkedUserIDs = Set(links.users.values)
        let actions = Self.restrict(
            plan(desired: desired, observed: observed), members: memberIDs, memberFilter: memberFilter, plans: planIDs,
            reviews: reviewsByKey
        ).filter { action in
            if case let .removeGrant(_, userID, _, .notLinked) = action.kind {
                return !(linkedUserIDs.contains(userID) && users[userID] == nil)
            }
            return true
        }
        try await execute(
            actions, links: links, managedGrantCount: snap.managedGrantCount ?? observed.managedGrantCount, full: false,
            meter: run.meter, report: &run.report)
    }

    /// The layout with every archived plan taken as still sold (see ``reconcileMembersOnly(_:_:)``).
    static func keepingArchivedPlans(_ layout: GymLayout) -> GymLayout {
        GymLayout(
            clubs: Array(layout.clubs.values), studios: Array(layout.studios.values),
            plans: layout.plans.values.map { plan in
                var plan = plan
                plan.isArchived = false
                return plan
            })
    }

    /// The scoping filter of change-driven runs (see ``reconcile(memberIDs:planIDs:trigger:)``).
    static func restrict(
        _ actions: [SyncAction], members: Set<UUID>, memberFilter: Set<UUID>, plans: Set<UUID>, reviews: [ReviewKey: HeldReview]
    ) -> [SyncAction] {
        func member(_ action: SyncAction) -> Bool { action.memberID.map(members.contains) ?? false }
        func plan(_ action: SyncAction) -> Bool { action.planID.map(plans.contains) ?? false }
        var kept: [SyncAction] = []
        var neededGroups = Set<ManagedGroupKey>()
        for action in actions {
            switch action.kind {
            case .createGrant, .updateGrantValidity, .removeGrant:
                guard member(action) || plan(action) else { continue }
                if case let .createGrant(_, .managed(key), _, _, _) = action.kind { neededGroups.insert(key) }
            case .inviteUser(_, _, _, let group, _, _, _):
                guard action.memberID.map(memberFilter.contains) ?? false else { continue }
                if case .managed(let key) = group { neededGroups.insert(key) }
            case .createUser, .linkUser, .updateUser:
                guard action.memberID.map(memberFilter.contains) ?? false else { continue }
            case .resolveReview(let key):
                let review = reviews[key]
                guard (review?.memberID).map(memberFilter.contains) ?? false || (review?.planID).map(plans.contains) ?? false else { continue }
            case .holdForReview:
                break
            case .createGroup, .updateGroup, .deleteGroup, .linkGroup, .addGroupLock, .removeGroupLock:
                break  // decided below, once the needed groups are known
            }
            kept.append(action)
        }
        return kept.filter { action in
            switch action.kind {
            case .createGroup(let key, _, _, _), .addGroupLock(.managed(let key), _):
                return key.planID.map(plans.contains) == true || neededGroups.contains(key)
            case .updateGroup, .deleteGroup, .linkGroup, .addGroupLock, .removeGroupLock:
                return plan(action)
            default:
                return true
            }
        }
    }

    // MARK: Brake and execution

    /// Carries out what the last long run set aside (see ``SyncYield``), minus what later change-driven
    /// runs re-planned. May yield again. Nil when nothing is set aside.
    public func resumeDeferred(trigger: String = "deferred work", yield: SyncYield? = nil) async throws -> SyncReport? {
        // Checked before and after taking the run: a run that finished meanwhile may have emptied the list.
        guard !deferred.isEmpty else { return nil }
        var resumed = false
        let report = try await withRun(trigger: trigger) { run in
            guard !deferred.isEmpty else { return }
            resumed = true
            let actions = deferred
            deferred = []
            run.report.planned = actions.count
            // Links are read afresh: users and groups created before the yield resolve through them.
            let links = try await loadLinks(&run, memberIDs: Set(actions.compactMap(\.memberID)))
            // Work set aside while no long run's progress is kept: its progress counts from here.
            let startsProgress = progress == nil
            if startsProgress { progress = ProgressTracker(trigger: trigger, startedAt: run.report.startedAt) }
            do {
                try await runExecutor(
                    actions, links: links, full: false, meter: run.meter, report: &run.report, yield: yield, order: deferredOrder,
                    tracksProgress: true, planned: startsProgress ? actions : nil)
            } catch {
                if deferred.isEmpty { try? await endProgress() }
                throw error
            }
            if deferred.isEmpty {
                deferredOrder = nil
                try await endProgress()
            }
            if run.report.pausedReason == nil, deferred.isEmpty, let observedFrom = deferredFullReconcileStartedAt {
                deferredFullReconcileStartedAt = nil
                try await recordFullObservationActedOn(from: observedFrom)
            }
        }
        return resumed ? report : nil
    }

    func execute(
        _ actions: [SyncAction], links: KisiLinks, managedGrantCount: Int, full: Bool, meter: KisiCallMeter, report: inout SyncReport,
        yield: SyncYield? = nil, order: ArrivalOrder? = nil
    ) async throws {
        report.planned = actions.count
        let outcome = configuration.brake.apply(to: actions, managedGrantCount: managedGrantCount)
        var proceed = outcome.proceed
        if outcome.tripped {
            let approved = Set(try await ledger.syncState.get(.brakeApproved) ?? [])
            let heldIDs = Set(outcome.held.map(HeldRevocation.init).compactMap(\.assignmentID))
            if !heldIDs.isEmpty, heldIDs.isSubset(of: approved) {
                logger.notice("Kisi sync: executing \(heldIDs.count) revocations approved by staff")
                proceed = actions
                try await ledger.syncState.set(.brakeApproved, nil)
                try await ledger.syncState.set(SyncStateEntry<[HeldRevocation]>.brakeHeld, nil)
            } else {
                report.heldRevocations = outcome.held.map(HeldRevocation.init)
                report.brakeExplanation = outcome.explanation
                logger.warning("Kisi sync brake tripped", metadata: ["explanation": "\(outcome.explanation ?? "")"])
                try await ledger.syncState.set(.brakeHeld, report.heldRevocations)
            }
        } else if full {
            try await ledger.syncState.set(SyncStateEntry<[HeldRevocation]>.brakeHeld, nil)
        }

        try await runExecutor(
            proceed, links: links, full: full, meter: meter, report: &report, yield: yield, order: order, tracksProgress: order != nil,
            planned: proceed)
    }

    /// - Parameters:
    ///   - tracksProgress: count this run's actions in the long run's progress (see ``ProgressTracker``).
    ///   - planned: the long run's whole plan, when this run starts it; nil when it resumes it.
    private func runExecutor(
        _ actions: [SyncAction], links: KisiLinks, full: Bool, meter: KisiCallMeter, report: inout SyncReport, yield: SyncYield?,
        order: ArrivalOrder? = nil, tracksProgress: Bool = false, planned: [SyncAction]? = nil
    ) async throws {
        var executor = SyncExecutor(
            client: client, ledger: ledger, meter: meter, trigger: report.trigger, actor: configuration.actor,
            hooks: configuration.hooks, logger: logger, links: links)
        executor.lookUpBeforeCreating = membersToLookUpBeforeCreating
        defer { membersToLookUpBeforeCreating = executor.lookUpBeforeCreating }
        currentOrder = order
        var onFinished: (@Sendable (SyncAction, Bool) async -> Void)?
        if tracksProgress, progress != nil {
            onFinished = { @Sendable [weak self] action, succeeded in
                guard let self else { return }
                try? await self.progressStep(action, succeeded: succeeded)
            }
        }
        if tracksProgress { try await beginProgressSegment(planned: planned) }
        let result: ExecutionResult
        do {
            result = try await executor.run(actions, closeUnmatched: full, yield: yield, order: order, onFinished: onFinished)
        } catch {
            if tracksProgress { try? await endProgressSegment() }
            throw error
        }
        if tracksProgress { try await endProgressSegment() }
        // Only a run that may yield owns the set-aside list; a change-driven run in between leaves it be.
        if yield != nil { deferred = result.deferred }
        report.deferred = result.deferred.count
        report.executed = result.executed
        report.recovered = result.recovered
        report.failures = result.failures
        report.notRun = result.notRun
        report.kisiWritesByMember = result.writesByMember
        if result.groupsChanged { snapshot = nil }
        if let reason = result.pausedReason {
            report.pausedReason = reason
            try await ledger.syncState.set(.pausedReason, reason)
        } else {
            try await ledger.syncState.set(.pausedReason, nil)
        }
    }

    static func pauseReason(_ error: KisiError) -> String? {
        switch error {
        case .unauthorized: "Kisi rejected the API key (401); sync paused until it is fixed"
        // Writes refused with 403 fail alone (SyncRefused); this is a read, without which nothing can be planned.
        case .forbidden:
            "Kisi refused to let the API key read what BooGYMan keeps in step (403): its user lacks the right to see Kisi users, groups, their doors or access rights (users_read, groups_read, group_locks_read or role_assignments_read); sync paused until the key's user is given them"
        default: nil
        }
    }

    // MARK: Brake approval

    /// Revocations the brake holds, as saved by the last run that tripped it.
    public func heldRevocations() async throws -> [HeldRevocation] {
        try await ledger.syncState.get(SyncStateEntry<[HeldRevocation]>.brakeHeld) ?? []
    }

    /// Staff approve the held revocations: the next run that holds exactly these (or fewer) executes them.
    @discardableResult
    public func approveHeldRevocations() async throws -> Int {
        let ids = try await heldRevocations().compactMap(\.assignmentID)
        try await ledger.syncState.set(.brakeApproved, ids)
        return ids.count
    }

    /// Why the sync is paused, if it is.
    public func pausedReason() async throws -> String? {
        try await ledger.syncState.get(.pausedReason)
    }

}
