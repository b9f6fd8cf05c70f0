import Foundation
import GymCore
import GymStore
import KisiAPI
import Logging

/// Test and instrumentation seams around every Kisi write (called right before and right after the call).
public struct SyncHooks: Sendable {
    public var willWrite: (@Sendable (SyncAction) async -> Void)?
    public var didWrite: (@Sendable (SyncAction) async -> Void)?

    public init(willWrite: (@Sendable (SyncAction) async -> Void)? = nil, didWrite: (@Sendable (SyncAction) async -> Void)? = nil) {
        self.willWrite = willWrite
        self.didWrite = didWrite
    }
}

/// One action that did not go through.
public struct SyncFailure: Sendable, Hashable, CustomStringConvertible {
    public var action: String
    public var memberID: UUID?
    public var planID: UUID?
    /// The planner's reason for the action.
    public var reason: String
    public var error: String
    public var kisiStatus: Int?
    public var kisiCode: String?
    /// Kisi did not answer properly (5xx, 429, a dropped connection, a lost response, a timeout): the
    /// same call may well go through later. A 4xx answer or a failure of BooGYMan's own is not.
    public var transient: Bool = false

    public var description: String { "\(action) failed: \(error) — \(reason)" }
}

extension KisiError {
    /// True when Kisi's trouble, not the request, made the call fail.
    var isTransient: Bool {
        switch self {
        case .rateLimited, .server, .transport, .outcomeUnknown: true
        case .unexpected(let status, _, _): status.map { $0 >= 500 } ?? true
        case .unauthorized, .forbidden, .notFound, .conflict, .validation, .paginationCeiling: false
        }
    }
}

/// Why a run stopped before its end.
struct SyncPaused: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// Kisi refused one write for lack of rights (403). Unlike a revoked key (401), this says nothing about
/// the other writes of the run: a place administrator's key may create users but not organization
/// groups. So the action fails alone, naming the right the key lacks, and is owed like any failure.
struct SyncRefused: Error, CustomStringConvertible {
    var kisiError: KisiError
    /// Kisi's permission name (`GET /roles`), e.g. `groups_write`.
    var permission: String

    /// The Kisi permission a write of this object type needs.
    static func permission(forObjectType type: String) -> String {
        switch type {
        case "user": "users_write"
        case "group": "groups_write"
        case "group_lock": "group_locks_write"
        case "role_assignment": "role_assignments_write"
        case "invite": "invites_write"
        default: "\(type)_write"
        }
    }

    var description: String {
        "Kisi refused the write (403): the API key lacks the \(permission) right for it; the rest of the sync goes on and this write is retried later"
    }
}

enum SyncExecutionError: Error, CustomStringConvertible {
    case unresolved(String)
    case notApplied(String)

    var description: String {
        switch self {
        case .unresolved(let what): "\(what) is not known (an earlier action of this run failed); retried next run"
        case .notApplied(let what): what
        }
    }
}

/// What executing a plan did.
struct ExecutionResult: Sendable {
    var executed: [String: Int] = [:]
    /// Writes whose lost response or duplicate error was resolved by looking Kisi up.
    var recovered = 0
    var failures: [SyncFailure] = []
    var pausedReason: String?
    /// Actions not attempted because the run stopped.
    var notRun = 0
    /// Kisi writes attempted per member (actions about one member).
    var writesByMember: [UUID: Int] = [:]
    /// True when groups or group locks changed (the cached group snapshot is stale).
    var groupsChanged = false
    /// Actions left unexecuted because the run yielded to newer work, or (in a run that may yield) was
    /// paused by Kisi refusing the key; see ``SyncYield``.
    var deferred: [SyncAction] = []
}

/// Lets a long run step aside for newer work: asked between actions once every revocation of the run is
/// done, at most once per `interval`. When `check` answers true, the run stops and hands back what it
/// has not done yet, so a freeze committed during a 1,000-member import reaches Kisi in seconds instead
/// of waiting behind the import's grants.
public struct SyncYield: Sendable {
    public var interval: Duration
    public var check: @Sendable () async -> Bool

    public init(interval: Duration = .milliseconds(250), check: @escaping @Sendable () async -> Bool) {
        self.interval = interval
        self.check = check
    }
}

/// Executes planned actions through ``KisiClient``, in `SyncAction.executionOrder` (revocations first).
///
/// - Every Kisi write is journalled before the call and finished after it.
/// - `.managed` / `.member` references resolve through the links stored right after `createGroup`,
///   `createUser` and `inviteUser`.
/// - A create whose response was lost (``KisiError/outcomeUnknown(operation:cause:)``), a 422
///   "already taken" on a create, or a create matching an unfinished journal entry of an earlier run
///   first *looks* Kisi up (marker group, user by e-mail, the user's assignment in the group, the
///   group's lock) and links what it finds instead of writing again.
/// - 404 on a delete is success. 401/403 stop the run (nothing is lost: the journal says what was
///   done, the next run re-plans the rest). Any other error fails that action only.
struct SyncExecutor {
    let client: KisiClient
    let ledger: any SyncLedger
    let meter: KisiCallMeter
    let trigger: String
    let actor: String
    let hooks: SyncHooks
    let logger: Logger
    var links: KisiLinks
    /// Members whose e-mails the observation did not look up (``ObservedState/membersNotLookedUp``): their
    /// user is looked up by e-mail right before it would be created, and adopted when it exists.
    var lookUpBeforeCreating: Set<UUID> = []
    var suspects: [String: [KisiWrite]] = [:]
    var result = ExecutionResult()

    init(
        client: KisiClient, ledger: any SyncLedger, meter: KisiCallMeter, trigger: String, actor: String,
        hooks: SyncHooks, logger: Logger, links: KisiLinks
    ) {
        self.client = client
        self.ledger = ledger
        self.meter = meter
        self.trigger = trigger
        self.actor = actor
        self.hooks = hooks
        self.logger = logger
        self.links = links
    }

    /// - Parameter closeUnmatched: finish the unfinished entries of earlier runs that no action of this
    ///   plan matched (as `skipped`). Only for full runs: they observed all of Kisi, so the plan already
    ///   accounts for whatever those writes did; a change-driven run leaves them for a later check.
    /// - Parameters:
    ///   - order: the members' order inside the grant priority (see ``ArrivalOrder``); nil for the plain order.
    ///   - onFinished: told after each action carried out (true) or failed (false), for a long run's progress.
    mutating func run(
        _ actions: [SyncAction], closeUnmatched: Bool, yield: SyncYield? = nil, order: ArrivalOrder? = nil,
        onFinished: (@Sendable (SyncAction, Bool) async -> Void)? = nil
    ) async throws -> ExecutionResult {
        for entry in try await ledger.unfinishedWrites() {
            suspects[Self.suspectKey(entry.action, entry.memberID, entry.planID, Self.suspectTarget(entry.action, entry.requestJSON)), default: []]
                .append(entry)
        }
        let ordered = order?.sorted(actions) ?? actions.sorted(by: SyncAction.executionOrder)
        let clock = ContinuousClock()
        var lastYieldCheck = clock.now
        for (index, action) in ordered.enumerated() {
            if result.pausedReason != nil {
                result.notRun += 1
                if yield != nil { result.deferred.append(action) }
                continue
            }
            // Revocations never yield: access that must end ends in this run, whatever else is waiting.
            if let yield, action.priority > .revocation, clock.now - lastYieldCheck >= yield.interval {
                lastYieldCheck = clock.now
                if await yield.check() {
                    result.deferred = keepingReplacedGroups(Array(ordered[index...]))
                    logger.info("Kisi sync: yielding to newer changes", metadata: ["deferred": "\(result.deferred.count)"])
                    return result
                }
            }
            let writesBefore = meter.writes
            defer {
                if let memberID = action.memberID, meter.writes > writesBefore {
                    result.writesByMember[memberID, default: 0] += meter.writes - writesBefore
                }
            }
            do {
                if case let .deleteGroup(_, cause) = action.kind, cause != .planRemoved, let planID = action.planID,
                   result.failures.contains(where: { $0.planID == planID }) {
                    // The replacement group's grants did not all go through: the old group keeps its
                    // doors open until they have (the failure makes the plan owed; it is retried).
                    throw SyncExecutionError.notApplied("left for now: some grants of the plan's new group failed in this run")
                }
                try await execute(action)
                result.executed[action.kind.actionName, default: 0] += 1
                await onFinished?(action, true)
            } catch let paused as SyncPaused {
                result.pausedReason = paused.reason
                result.failures.append(failure(action, paused))
                result.notRun += 1
                // Kisi refused it (401/403), so it did not happen: it waits with the rest for the key.
                if yield != nil { result.deferred.append(action) }
            } catch is CancellationError {
                throw CancellationError()
            } catch let fenced as FencingError {
                // This replica lost the sync lease: stop the whole run, not just this action.
                throw fenced
            } catch {
                logger.warning("Kisi sync action failed", metadata: [
                    "action": "\(action.kind.actionName)", "error": "\(error)", "member": "\(action.memberID?.uuidString ?? "-")",
                ])
                result.failures.append(failure(action, error))
                await onFinished?(action, false)
            }
        }
        result.deferred = keepingReplacedGroups(result.deferred)
        if result.pausedReason == nil, closeUnmatched {
            // Entries of earlier runs nothing in this plan matched: this run observed Kisi afresh and
            // planned from what is really there, so they need no further check.
            for entry in suspects.values.joined() {
                try await ledger.finishWrite(id: entry.id, SyncWriteOutcome(
                    status: .skipped, error: "superseded: a later run re-observed Kisi and planned from it"))
            }
            suspects = [:]
        }
        return result
    }

    /// Work set aside without the deletion of a group being replaced (scope change, regrouping) whose plan
    /// had an action fail before the run stopped: resumed later, that deletion would no longer see the
    /// failure and take away doors whose new grant is missing. The plan is owed; its retry plans it again.
    func keepingReplacedGroups(_ deferred: [SyncAction]) -> [SyncAction] {
        let failedPlans = Set(result.failures.compactMap(\.planID))
        guard !failedPlans.isEmpty else { return deferred }
        return deferred.filter { action in
            guard case let .deleteGroup(_, cause) = action.kind, cause != .planRemoved, let planID = action.planID else { return true }
            return !failedPlans.contains(planID)
        }
    }

    func failure(_ action: SyncAction, _ error: any Error) -> SyncFailure {
        let kisi = error as? KisiError ?? (error as? SyncRefused)?.kisiError
        return SyncFailure(
            action: action.kind.actionName, memberID: action.memberID, planID: action.planID, reason: action.reason,
            error: "\(error)", kisiStatus: kisi?.httpStatus, kisiCode: kisi?.code, transient: kisi?.isTransient ?? false)
    }

    /// - Parameter target: what tells apart writes of one action about one member and plan: the group a
    ///   grant goes to and the key a group is created for (a plan has one group per place with a place
    ///   administrator's key, and a member one grant in each).
    static func suspectKey(_ action: String, _ memberID: UUID?, _ planID: UUID?, _ target: String?) -> String {
        "\(action)|\(memberID?.uuidString ?? "-")|\(planID?.uuidString ?? "-")|\(target ?? "-")"
    }

    /// The `target` of ``suspectKey(_:_:_:_:)`` read back from a journalled request body.
    static func suspectTarget(_ action: String, _ requestJSON: String?) -> String? {
        guard action == "createGroup" || action == "createGrant", let data = requestJSON?.data(using: .utf8),
              let body = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        if action == "createGroup" {
            return ManagedGroupMarker.key(in: body["description"] as? String)?.storageKey
        }
        return (body["applies_to_id"] as? NSNumber).map { "group \($0.intValue)" }
    }

    // MARK: Resolution

    func groupID(_ ref: GroupRef) throws -> Int {
        switch ref {
        case .kisi(let id): return id
        case .managed(let key):
            guard let id = links.groups[key] else { throw SyncExecutionError.unresolved("the Kisi group \(key)") }
            return id
        }
    }

    func userID(_ ref: UserRef) throws -> Int {
        switch ref {
        case .kisi(let id): return id
        case .member(let memberID):
            guard let id = links.users[memberID] else { throw SyncExecutionError.unresolved("the Kisi user of member \(memberID)") }
            return id
        }
    }

    // MARK: Actions

    mutating func execute(_ action: SyncAction) async throws {
        let look = KisiLookup(client: client, meter: meter, links: links)
        switch action.kind {
        case let .createGroup(key, name, description, placeID):
            let intent = intent(action, "group", nil, ["name": name, "description": description, "place_id": placeID ?? NSNull()])
            let client = self.client
            // Creating a managed group is idempotent by its marker: a create planned before another run
            // made the group (work set aside, then resumed) links that group instead of making a second.
            let lookup: @Sendable () async throws -> Int? = { try await look.findMarkedGroup(key, placeID: placeID) }
            if let existing = try await lookup() {
                try await ledger.setGroupLink(key: key, groupID: existing)
                links.groups[key] = existing
                result.recovered += 1
                result.groupsChanged = true
                logger.info("Kisi group of the key already exists; linked", metadata: ["group": "\(key)", "kisi.id": "\(existing)"])
                return
            }
            let id = try await create(action, intent, duplicateLookup: false, lookup: lookup) {
                try await client.createGroup(KisiGroupCreate(name: name, description: description, placeID: placeID)).id
            }
            try await ledger.setGroupLink(key: key, groupID: id)
            links.groups[key] = id
            result.groupsChanged = true

        case let .updateGroup(groupID, name, description):
            let intent = intent(action, "group", groupID, ["name": name, "description": description])
            let client = self.client
            try await write(action, intent) {
                try await client.updateGroup(id: groupID, KisiGroupPatch(name: name, description: description))
            }
            result.groupsChanged = true

        case let .deleteGroup(groupID, cause):
            let intent = intent(action, "group", groupID, [:])
            let client = self.client
            try await delete(action, intent) { try await client.deleteGroup(id: groupID) }
            if cause == .planRemoved || cause == .regrouped, let key = links.groups.first(where: { $0.value == groupID })?.key {
                try await ledger.setGroupLink(key: key, groupID: nil)
                links.groups[key] = nil
            }
            result.groupsChanged = true

        case let .linkGroup(key, groupID):
            try await ledger.setGroupLink(key: key, groupID: groupID)
            links.groups[key] = groupID

        case let .addGroupLock(ref, lockID):
            let groupID = try groupID(ref)
            let intent = intent(action, "group_lock", nil, ["group_id": groupID, "lock_id": lockID])
            let client = self.client
            _ = try await create(action, intent, duplicateLookup: true, lookup: { try await look.findGroupLock(groupID: groupID, lockID: lockID) }) {
                try await client.createGroupLock(groupID: groupID, lockID: lockID).id
            }
            result.groupsChanged = true

        case let .removeGroupLock(groupLockID, _, _):
            let intent = intent(action, "group_lock", groupLockID, [:])
            let client = self.client
            try await delete(action, intent) { try await client.deleteGroupLock(id: groupLockID) }
            result.groupsChanged = true

        case let .createUser(memberID, email, name, metadata):
            if let adopted = try await adoptedUser(memberID: memberID, email: email, look: look) {
                // What an adoption planned from a look-up writes too: the member's name and ID on the user.
                var update = action
                update.kind = .updateUser(user: .kisi(adopted), name: name, metadata: metadata)
                return try await execute(update)
            }
            let intent = intent(action, "user", nil, [
                "email": email, "name": name, "metadata": metadata, "send_emails": false, "confirm": true,
            ])
            let client = self.client
            let id = try await create(action, intent, duplicateLookup: true, lookup: { try await look.findUser(email: email, memberID: memberID) }) {
                try await client.createUser(KisiUserCreate(
                    email: email, name: name, sendEmails: false, confirm: true, metadata: metadata.mapValues { .string($0) })).id
            }
            try await ledger.setUserLink(memberID: memberID, userID: id)
            links.users[memberID] = id

        case let .inviteUser(memberID, email, name, ref, roleID, validFrom, validUntil):
            if let adopted = try await adoptedUser(memberID: memberID, email: email, look: look) {
                // The invite would have brought the member's first grant: the adopted user gets it directly.
                var grant = action
                grant.kind = .createGrant(user: .kisi(adopted), group: ref, roleID: roleID, validFrom: validFrom, validUntil: validUntil)
                return try await execute(grant)
            }
            let groupID = try groupID(ref)
            let intent = intent(action, "invite", nil, [
                "group_id": groupID, "email": email, "name": name, "role_id": roleID,
                "valid_from": Self.iso(validFrom), "valid_until": Self.iso(validUntil),
            ])
            let client = self.client
            let lookup: @Sendable () async throws -> Int? = { try await look.findUser(email: email, memberID: memberID) }
            let id = try await create(action, intent, duplicateLookup: false, lookup: lookup) {
                let invite = try await client.createInvite(.group(
                    id: groupID, invitee: .user(email: email, name: name), roleID: roleID, validFrom: validFrom, validUntil: validUntil))
                if let userID = invite.inviteeID { return userID }
                guard let userID = try await lookup() else {
                    throw SyncExecutionError.notApplied("Kisi accepted the invite of \(email) but no such user is listed")
                }
                return userID
            }
            try await ledger.setUserLink(memberID: memberID, userID: id)
            links.users[memberID] = id

        case let .linkUser(memberID, userID):
            try await ledger.setUserLink(memberID: memberID, userID: userID)
            links.users[memberID] = userID

        case let .updateUser(ref, name, metadata):
            let userID = try userID(ref)
            // Kisi replaces `metadata` as a whole: merge BooGYMan's keys into the user's current ones.
            meter.read()
            let current = try await client.user(id: userID)
            var merged = current.metadata
            for (key, value) in metadata { merged[key] = .string(value) }
            let intent = intent(action, "user", userID, ["name": name, "metadata": metadata])
            let client = self.client
            let patch = KisiUserPatch(name: name, metadata: merged)
            try await write(action, intent) { try await client.updateUser(id: userID, patch) }

        case let .createGrant(userRef, groupRef, roleID, validFrom, validUntil):
            let userID = try userID(userRef)
            let groupID = try groupID(groupRef)
            let intent = intent(action, "role_assignment", nil, [
                "assignee_type": "User", "assignee_id": userID, "applies_to_type": "Group", "applies_to_id": groupID,
                "role_id": roleID, "valid_from": Self.iso(validFrom), "valid_until": Self.iso(validUntil), "notify": false,
            ])
            let client = self.client
            _ = try await create(action, intent, duplicateLookup: true, lookup: { try await look.findGrant(userID: userID, groupID: groupID) }) {
                try await client.createRoleAssignment(.groupAccess(
                    userID: userID, groupID: groupID, roleID: roleID, notify: false, validFrom: validFrom, validUntil: validUntil)).id
            }

        case let .updateGrantValidity(assignmentID, validFrom, validUntil):
            let intent = intent(action, "role_assignment", assignmentID, [
                "valid_from": Self.iso(validFrom), "valid_until": Self.iso(validUntil),
            ])
            let client = self.client
            try await write(action, intent) {
                try await client.updateRoleAssignment(id: assignmentID, KisiRoleAssignmentPatch(validFrom: validFrom, validUntil: validUntil))
            }

        case let .removeGrant(assignmentID, userID, groupID, cause):
            let intent = intent(action, "role_assignment", assignmentID, [
                "user_id": userID, "group_id": groupID, "cause": cause.rawValue,
            ])
            let client = self.client
            try await delete(action, intent) { try await client.deleteRoleAssignment(id: assignmentID) }

        case .holdForReview(let review):
            var kisiUserID: Int?
            if let memberID = review.memberID { kisiUserID = links.users[memberID] }
            try await ledger.holdForReview(review, kisiUserID: kisiUserID)

        case .resolveReview(let key):
            try await ledger.resolveReview(key, resolution: action.reason)
        }
    }

    // MARK: Journalled writes

    func intent(_ action: SyncAction, _ type: String, _ objectID: Int?, _ request: [String: Any]) -> SyncWriteIntent {
        SyncWriteIntent(
            action: action.kind.actionName, kisiObjectType: type, kisiObjectID: objectID, memberID: action.memberID,
            planID: action.planID, trigger: trigger, actor: actor, reason: action.reason, requestJSON: Self.json(request))
    }

    /// A create: looks before writing when an earlier run left this write unfinished; on a lost
    /// response (or a duplicate error, when `duplicateLookup`) looks again instead of failing.
    mutating func create(
        _ action: SyncAction, _ intent: SyncWriteIntent, duplicateLookup: Bool,
        lookup: () async throws -> Int?, _ call: () async throws -> Int
    ) async throws -> Int {
        if let entries = suspects.removeValue(forKey: Self.suspectKey(intent.action, intent.memberID, intent.planID, Self.suspectTarget(intent.action, intent.requestJSON))) {
            let found = try await lookup()
            for entry in entries {
                try await ledger.finishWrite(id: entry.id, found.map {
                    SyncWriteOutcome(status: .succeeded, kisiObjectType: intent.kisiObjectType, kisiObjectID: $0,
                                     error: "outcome checked by a later run: the object exists in Kisi")
                } ?? SyncWriteOutcome(status: .failed, error: "outcome checked by a later run: not applied in Kisi"))
            }
            if let found {
                result.recovered += 1
                return found
            }
        }
        let id = try await ledger.beginWrite(intent)
        await hooks.willWrite?(action)
        do {
            meter.write()
            let objectID = try await call()
            await hooks.didWrite?(action)
            try await ledger.finishWrite(id: id, SyncWriteOutcome(status: .succeeded, kisiObjectType: intent.kisiObjectType, kisiObjectID: objectID))
            return objectID
        } catch let error as KisiError {
            await hooks.didWrite?(action)
            let lostResponse: Bool = if case .outcomeUnknown = error { true } else { false }
            let duplicate: Bool = if case .validation = error { duplicateLookup } else { false }
            guard lostResponse || duplicate else { try await fail(id, intent, error) }
            let found: Int?
            do {
                found = try await lookup()
            } catch is CancellationError {
                throw CancellationError()
            } catch let lookupError {
                try await ledger.finishWrite(id: id, SyncWriteOutcome(
                    status: lostResponse ? .unknown : .failed, kisiStatus: error.httpStatus, kisiCode: error.code,
                    error: "\(error); look-up failed: \(lookupError)"))
                throw error
            }
            if let found {
                result.recovered += 1
                try await ledger.finishWrite(id: id, SyncWriteOutcome(
                    status: .succeeded, kisiObjectType: intent.kisiObjectType, kisiObjectID: found, kisiStatus: error.httpStatus,
                    kisiCode: error.code, error: lostResponse ? "response lost; the object was found in Kisi" : "already in Kisi; linked"))
                logger.info("Kisi write recovered by look-up", metadata: ["action": "\(intent.action)", "kisi.id": "\(found)"])
                return found
            }
            try await ledger.finishWrite(id: id, SyncWriteOutcome(
                status: .failed, kisiStatus: error.httpStatus, kisiCode: error.code,
                error: lostResponse ? "\(error); Kisi checked: not applied, retried next run" : "\(error)"))
            throw error
        } catch is CancellationError {
            throw CancellationError()  // the entry stays pending: the next run looks before writing
        } catch {
            await hooks.didWrite?(action)
            try await ledger.finishWrite(id: id, SyncWriteOutcome(status: .failed, error: "\(error)"))
            throw error
        }
    }

    /// An update.
    func write(_ action: SyncAction, _ intent: SyncWriteIntent, _ call: () async throws -> Void) async throws {
        let id = try await ledger.beginWrite(intent)
        await hooks.willWrite?(action)
        do {
            meter.write()
            try await call()
            await hooks.didWrite?(action)
            try await ledger.finishWrite(id: id, SyncWriteOutcome(status: .succeeded))
        } catch let error as KisiError {
            await hooks.didWrite?(action)
            try await fail(id, intent, error)
        }
    }

    /// A delete: 404 means already gone, which is success.
    func delete(_ action: SyncAction, _ intent: SyncWriteIntent, _ call: () async throws -> KisiDeletion) async throws {
        let id = try await ledger.beginWrite(intent)
        await hooks.willWrite?(action)
        do {
            meter.write()
            let deletion = try await call()
            await hooks.didWrite?(action)
            try await ledger.finishWrite(id: id, SyncWriteOutcome(
                status: .succeeded, kisiStatus: deletion == .alreadyGone ? 404 : nil,
                error: deletion == .alreadyGone ? "already gone" : nil))
        } catch let error as KisiError {
            await hooks.didWrite?(action)
            try await fail(id, intent, error)
        }
    }

    /// Finishes the entry as failed and throws: ``SyncPaused`` for 401 (the key is gone: nothing else can
    /// be written either), ``SyncRefused`` for 403 (this write needs a right the key lacks), else the error.
    func fail(_ id: Int, _ intent: SyncWriteIntent, _ error: KisiError) async throws -> Never {
        let refused: SyncRefused? = if case .forbidden = error {
            SyncRefused(kisiError: error, permission: SyncRefused.permission(forObjectType: intent.kisiObjectType))
        } else { nil }
        try await ledger.finishWrite(id: id, SyncWriteOutcome(
            status: .failed, kisiStatus: error.httpStatus, kisiCode: error.code, error: refused.map { "\($0)" } ?? "\(error)"))
        if case .unauthorized = error {
            throw SyncPaused(reason: "Kisi rejected the API key (401); sync paused until it is fixed")
        }
        throw refused ?? error
    }

}

/// Looks Kisi up before (or instead of) writing again.
struct KisiLookup: Sendable {
    let client: KisiClient
    let meter: KisiCallMeter
    let links: KisiLinks

    /// The key's marked group of the wanted scope (`placeID` nil: organization-wide), if Kisi has one.
    /// A marked group of another scope is the group being replaced, never a match.
    func findMarkedGroup(_ key: ManagedGroupKey, placeID: Int?) async throws -> Int? {
        var candidates: [Int] = []
        for try await page in client.allGroups().pages {
            meter.read()
            candidates += page.items.filter { ManagedGroupMarker.key(in: $0.description) == key && $0.placeID == placeID }.map(\.id)
        }
        return candidates.min()
    }

    func findUser(email: String, memberID: UUID) async throws -> Int? {
        meter.read()
        guard let user = try await client.user(email: email) else { return nil }
        // Never adopt a user that belongs to another member (link or metadata).
        if let owner = links.users.first(where: { $0.value == user.id })?.key, owner != memberID { return nil }
        if let tagged = user.metadata[memberIDMetadataKey]?.stringValue.flatMap(UUID.init(uuidString:)), tagged != memberID { return nil }
        return user.id
    }

    func findGrant(userID: Int, groupID: Int) async throws -> Int? {
        meter.read()
        let page = try await client.roleAssignments(filter: KisiRoleAssignmentFilter(assignee: .user(id: userID), appliesTo: .group(id: groupID)))
        return page.items.map(\.id).min()
    }

    func findGroupLock(groupID: Int, lockID: Int) async throws -> Int? {
        meter.read()
        let page = try await client.groupLocks(groupID: groupID, lockID: lockID)
        return page.items.filter { $0.lockID == lockID }.map(\.id).min()
    }

}

extension SyncExecutor {
    /// For a member the observation did not look up: the Kisi user with their e-mail (not another
    /// member's), linked instead of created. One read; nil when there is none (create as planned).
    mutating func adoptedUser(memberID: UUID, email: String, look: KisiLookup) async throws -> Int? {
        guard lookUpBeforeCreating.remove(memberID) != nil, let existing = try await look.findUser(email: email, memberID: memberID)
        else { return nil }
        try await ledger.setUserLink(memberID: memberID, userID: existing)
        links.users[memberID] = existing
        result.recovered += 1
        logger.info("Kisi user with the member's e-mail already exists; adopted", metadata: ["member": "\(memberID)", "kisi.id": "\(existing)"])
        return existing
    }

    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// The request as JSON with sorted keys (no secret is ever part of a request body here).
    static func json(_ object: [String: Any]) -> String {
        guard JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

extension SyncActionKind {
    /// The Kisi requests carrying this action out usually takes: what a long run's finish is estimated
    /// from, since actions differ (a user update reads the user first; a link is a local write).
    var usualKisiRequests: Int {
        switch self {
        case .linkGroup, .linkUser, .holdForReview, .resolveReview: 0
        case .updateUser: 2
        default: 1
        }
    }
}
