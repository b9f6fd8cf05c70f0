import Foundation

/// What the caller's roles allow, worked out once per request from their role assignments: organization
/// roles everywhere, place roles within their places, group roles within their groups (while valid).
/// The rules per call are in README, Decisions 8 and 28–33.
struct Authority: Sendable {
    var userId: Int
    var organizationRoles: [Roles.Role] = []
    var placeRoles: [Int: Roles.Role] = [:]
    var groupRoles: [Int: Roles.Role] = [:]

    /// Owner or administrator: everything in the organization.
    var isOrganizationAdministrator: Bool {
        organizationRoles.contains { $0.id == Roles.owner || $0.id == Roles.administrator }
    }

    /// The highest organization role held (0 = none), for "no granting above your own level".
    var organizationRank: Int { organizationRoles.map(\.rank).max() ?? 0 }

    func organizationAllows(_ permission: String) -> Bool {
        organizationRoles.contains { $0.allows(permission) }
    }

    /// Organization-wide, or through a place role on `place`.
    func allows(_ permission: String, inPlace place: Int?) -> Bool {
        if organizationAllows(permission) { return true }
        guard let place else { return false }
        return placeRoles[place]?.allows(permission) ?? false
    }

    /// Organization-wide, or through a place role on at least one place.
    func allowsSomewhere(_ permission: String) -> Bool {
        organizationAllows(permission) || placeRoles.values.contains { $0.allows(permission) }
    }

    /// The places where a place role grants `permission` (organization roles not counted).
    func places(allowing permission: String) -> Set<Int> {
        Set(placeRoles.filter { $0.value.allows(permission) }.keys)
    }
}

extension SandboxStore {
    func authority(userId: Int, at: Date) -> Authority {
        var authority = Authority(userId: userId)
        guard let user = state.users[userId] else { return authority }
        if state.organizations[user.organizationId]?.ownerUserId == userId, let owner = Roles.find(Roles.owner) {
            authority.organizationRoles.append(owner)
        }
        for ra in state.roleAssignments.values where ra.userId == userId {
            guard let role = Roles.find(ra.roleId) else { continue }
            switch ra.appliesToType {
            case .organization:
                authority.organizationRoles.append(role)
            case .place:
                authority.placeRoles[ra.appliesToId] = role
            case .group:
                // A group role outside its validity window grants nothing, as for door access.
                guard ra.validFrom.map({ $0 <= at }) ?? true, ra.validUntil.map({ at < $0 }) ?? true else { continue }
                authority.groupRoles[ra.appliesToId] = role
            }
        }
        return authority
    }

    func require(_ allowed: Bool) throws(APIError) {
        if !allowed { throw APIError.forbidden }
    }

    // MARK: Users (Decision 29)

    /// Whether the caller may change or delete `target`. Organization roles reach every user up to their
    /// own rank (an access manager cannot touch an administrator). Place roles reach only users whose every
    /// role lies within the caller's places: place roles there and roles in groups scoped to them.
    func canChange(user target: UserRecord, _ a: Authority) -> Bool {
        let targetRoles = state.roleAssignments.values.filter { $0.userId == target.id }
        let targetRank = max(
            state.organizations[target.organizationId]?.ownerUserId == target.id ? Roles.find(Roles.owner)?.rank ?? 0 : 0,
            targetRoles.filter { $0.appliesToType == .organization }.compactMap { Roles.find($0.roleId)?.rank }.max() ?? 0
        )
        if a.organizationAllows("users_write") { return targetRank <= a.organizationRank }
        let places = a.places(allowing: "users_write")
        guard !places.isEmpty, targetRank == 0 else { return false }
        return targetRoles.allSatisfy { ra in
            switch ra.appliesToType {
            case .organization: return false
            case .place: return places.contains(ra.appliesToId)
            case .group: return state.groups[ra.appliesToId]?.placeId.map(places.contains) ?? false
            }
        }
    }

    // MARK: Groups and group locks (Decision 30)

    func canRead(group g: GroupRecord, _ a: Authority) -> Bool {
        a.allows("groups_read", inPlace: g.placeId)
    }

    func canRead(groupLocksOf g: GroupRecord, _ a: Authority) -> Bool {
        a.allows("group_locks_read", inPlace: g.placeId)
    }

    /// A place role reaches a group lock only when the group is scoped to one of its places and the door is
    /// in one of them (a door of another place than the group's is then Decision 15's 422).
    func canWrite(groupLockOf g: GroupRecord, lockPlace: Int?, _ a: Authority) -> Bool {
        if a.organizationAllows("group_locks_write") { return true }
        guard let place = g.placeId, a.allows("group_locks_write", inPlace: place) else { return false }
        return lockPlace.map { a.allows("group_locks_write", inPlace: $0) } ?? true
    }

    // MARK: Role assignments (Decision 31)

    func canRead(roleAssignment ra: RoleAssignmentRecord, _ a: Authority) -> Bool {
        if ra.userId == a.userId || a.organizationAllows("role_assignments_read") { return true }
        switch ra.appliesToType {
        case .organization: return false
        case .place: return a.allows("role_assignments_read", inPlace: ra.appliesToId)
        case .group:
            if a.groupRoles[ra.appliesToId]?.allows("role_assignments_read") == true { return true }
            return a.allows("role_assignments_read", inPlace: state.groups[ra.appliesToId]?.placeId)
        }
    }

    /// Granting, changing or removing `roleId` on the given scope.
    func canWriteRoleAssignment(_ type: AppliesToType, _ id: Int, roleId: String, _ a: Authority) -> Bool {
        switch type {
        case .organization:
            guard a.organizationAllows("role_assignments_write") else { return false }
            return (Roles.find(roleId)?.rank ?? 0) <= a.organizationRank
        case .place:
            return a.allows("role_assignments_write", inPlace: id)
        case .group:
            if a.groupRoles[id]?.allows("role_assignments_write") == true { return true }
            return a.allows("role_assignments_write", inPlace: state.groups[id]?.placeId)
        }
    }

    /// Anything that may write some role assignment: organization, place or group roles.
    func mayWriteSomeRoleAssignment(_ a: Authority) -> Bool {
        a.allowsSomewhere("role_assignments_write") || a.groupRoles.values.contains { $0.allows("role_assignments_write") }
    }

    // MARK: Events (Decision 32)

    /// nil = every event of the organization; otherwise only events of these places.
    func readableEventPlaces(_ a: Authority) throws(APIError) -> Set<Int>? {
        if a.organizationAllows("events_read") { return nil }
        let places = a.places(allowing: "events_read")
        try require(!places.isEmpty)
        return places
    }

    // MARK: Doors (Decision 33)

    /// The role that lets `userId` open `lock` whatever their groups say, as the door rule's reason:
    /// an organization role with `locks_unlock` everywhere, a place role with it in its place.
    func roleOpening(userId: Int, lock: LockRecord, at: Date) -> String? {
        let a = authority(userId: userId, at: at)
        if a.isOrganizationAdministrator { return "organization_administrator" }
        if let role = a.organizationRoles.first(where: { $0.allows("locks_unlock") }) { return "organization_\(role.id)" }
        if let role = a.placeRoles[lock.placeId], role.allows("locks_unlock") { return role.id }
        return nil
    }
}
