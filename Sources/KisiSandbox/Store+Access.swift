import Foundation
import Hummingbird

/// The outcome of Kisi's door rule for one user, one door, one instant.
struct AccessDecision: Sendable {
    var allowed: Bool
    var reason: String
    var code: (String, String)?
    var groupIds: [Int] = []

    var json: JSONValue {
        .object([
            "allowed": .bool(allowed), "reason": .string(reason),
            "code": .from(code?.0), "message": .from(code?.1),
            "group_ids": .array(groupIds.map { .int($0) }),
        ])
    }
}

extension SandboxStore {
    /// A user may open a door at `at` iff access is enabled and a `group_basic` role assignment in a group holding
    /// the door is valid at `at` (valid_from ≤ at < valid_until, nulls open-ended). Organization roles with
    /// `locks_unlock` open every door of their organization, place roles with it every door of their place.
    func evaluateAccess(userId: Int, lockId: Int, at: Date) -> AccessDecision {
        guard let user = state.users[userId] else {
            return AccessDecision(allowed: false, reason: "user_not_found", code: AccessCode.accessDenied)
        }
        guard let lock = state.locks[lockId], lockOrganization(lock) == user.organizationId else {
            return AccessDecision(allowed: false, reason: "lock_not_found", code: ("fad10e", "The door could not be found."))
        }
        if !user.accessEnabled {
            return AccessDecision(allowed: false, reason: "access_disabled", code: AccessCode.accessDisabled)
        }
        if let role = roleOpening(userId: userId, lock: lock, at: at) {
            return AccessDecision(allowed: true, reason: role, code: nil)
        }
        let groupsWithLock = Set(state.groupLocks.values.filter { $0.lockId == lockId }.map(\.groupId))
        let candidates = state.roleAssignments.values.filter {
            $0.userId == userId && $0.appliesToType == .group && $0.roleId == "group_basic"
                && groupsWithLock.contains($0.appliesToId)
        }
        let valid = candidates.filter { ra in
            (ra.validFrom.map { $0 <= at } ?? true) && (ra.validUntil.map { at < $0 } ?? true)
        }
        if !valid.isEmpty {
            return AccessDecision(allowed: true, reason: "group_access", code: nil, groupIds: valid.map(\.appliesToId).sorted())
        }
        if candidates.isEmpty {
            return AccessDecision(allowed: false, reason: "no_access_right", code: AccessCode.accessDenied)
        }
        // Only windowed rights exist. One that starts later is the more useful answer ("try again later").
        if candidates.contains(where: { ra in ra.validFrom.map { $0 > at } ?? false }) {
            return AccessDecision(allowed: false, reason: "not_yet_valid", code: AccessCode.notYetValid,
                                  groupIds: candidates.map(\.appliesToId).sorted())
        }
        return AccessDecision(allowed: false, reason: "no_longer_valid", code: AccessCode.noLongerValid,
                              groupIds: candidates.map(\.appliesToId).sorted())
    }

    /// `POST /locks/{id}/unlock` with the caller's login.
    func unlock(_ r: APIRequest) throws(APIError) -> Reply {
        guard let id = Int(r.pathId ?? "") else { throw APIError.lockNotFound }
        let l = try lock(id, in: r.caller.organizationId)
        let decision = attemptUnlock(userId: r.caller.userId, lock: l, authenticatedBy: (type: "Login", id: r.caller.loginId))
        if decision.allowed { return .ok(.object(["message": "Unlocked!"])) }
        let code = decision.code ?? AccessCode.accessDenied
        // The document declares 409 and 503 for unlock besides 403; the door's state is what they describe.
        let status: HTTPResponse.Status = switch decision.reason {
        case "locked_down": .conflict
        case "offline": .serviceUnavailable
        default: .forbidden
        }
        throw APIError.error(status, code.1, code: code.0)
    }

    /// Applies the door's state and the door rule now and records the `lock.unlock` event, as a reader or
    /// the app would. A locked-down door is "locked for everyone" (the document's `locked_down`), so its
    /// state is checked before anyone's rights, administrators' included.
    @discardableResult
    func attemptUnlock(userId: Int, lock l: LockRecord, authenticatedBy: (type: String, id: Int?)) -> AccessDecision {
        let at = now()
        let decision: AccessDecision
        if l.isLockedDown {
            decision = AccessDecision(allowed: false, reason: "locked_down", code: AccessCode.doorLockedDown)
        } else if !l.isOnline {
            decision = AccessDecision(allowed: false, reason: "offline", code: AccessCode.controllerUnavailable)
        } else {
            decision = evaluateAccess(userId: userId, lockId: l.id, at: at)
        }
        let user = state.users[userId]
        if decision.allowed { state.users[userId]?.lastAccessedAt = at }
        let who = user.map { $0.name.isEmpty ? $0.email : $0.name } ?? "Unknown user"
        record(
            "lock.unlock", org: lockOrganization(l) ?? 0, actorUserId: userId, authenticatedBy: authenticatedBy,
            objectType: "Lock", objectId: l.id, objectName: l.name, placeId: l.placeId,
            success: decision.allowed, code: decision.allowed ? nil : decision.code,
            message: decision.allowed ? "\(who) unlocked \(l.name)" : "\(who) was denied access to \(l.name)"
        )
        return decision
    }

    /// `POST /_sandbox/tap`: a member taps a card at a reader.
    func tap(userId: Int, lockId: Int) throws(APIError) -> AccessDecision {
        guard let user = state.users[userId] else { throw APIError.notFound("User") }
        let l = try lock(lockId, in: user.organizationId)
        return attemptUnlock(userId: userId, lock: l, authenticatedBy: (type: "Card", id: nil))
    }
}

extension SandboxStore {
    /// `POST /_sandbox/locks/{id}`: what happens at the door itself, outside the API: someone locks it
    /// down (or lifts the lockdown) in Kisi's dashboard, or its controller goes offline. A change of
    /// lockdown is recorded as Kisi's `lock.lock_down` / `lock.cancel_lockdown` event, without an actor.
    func setLockState(lockId: Int, lockedDown: Bool?, online: Bool?) throws(APIError) -> JSONValue {
        guard var l = state.locks[lockId], let org = lockOrganization(l) else { throw APIError.lockNotFound }
        let at = now()
        if let lockedDown, lockedDown != l.isLockedDown {
            l.lockedDownSince = lockedDown ? at : nil
            record(
                lockedDown ? "lock.lock_down" : "lock.cancel_lockdown", org: org, actorUserId: nil, authenticatedBy: nil,
                objectType: "Lock", objectId: l.id, objectName: l.name, placeId: l.placeId,
                message: lockedDown ? "\(l.name) was locked down" : "The lockdown of \(l.name) was cancelled"
            )
        }
        if let online { l.offline = online ? nil : true }
        l.updatedAt = at
        state.locks[lockId] = l
        dirty = true
        return Serializers.lock(l, in: state)
    }
}
