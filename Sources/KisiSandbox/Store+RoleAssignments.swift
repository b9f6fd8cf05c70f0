import Foundation

extension SandboxStore {
    /// Open to every key, but each caller sees only the assignments its roles let it read, its own included
    /// (so a key can find out what it may do: Kisi's `user_id=me`).
    func listRoleAssignments(_ r: APIRequest) throws(APIError) -> Reply {
        let authority = r.caller.authority
        let q = r.query
        let ids = Listing.ids(q)
        if let t = q["assignee_type"], !["User", "Team", "Guest"].contains(t) {
            throw APIError.badRequest("assignee_type must be one of: User, Team, Guest")
        }
        if let t = q["applies_to_type"], AppliesToType(rawValue: t) == nil {
            throw APIError.badRequest("applies_to_type must be one of: Organization, Place, Group")
        }
        let assigneeId = try Listing.intParam(q, "assignee_id")
        let appliesToId = try Listing.intParam(q, "applies_to_id")
        // The document says the *_id filters require their *_type companions.
        if assigneeId != nil, q["assignee_type"] == nil { throw APIError.badRequest("assignee_id requires assignee_type") }
        if appliesToId != nil, q["applies_to_type"] == nil { throw APIError.badRequest("applies_to_id requires applies_to_type") }
        let appliesToType = q["applies_to_type"].flatMap(AppliesToType.init(rawValue:))
        var userId: Int?
        if let raw = q["user_id"], !raw.isEmpty {
            if raw == "me" { userId = r.caller.userId } else if let v = Int(raw) { userId = v } else {
                throw APIError.badRequest("user_id must be an integer or 'me'")
            }
        }
        let groupId = try Listing.intParam(q, "group_id")
        let placeId = try Listing.intParam(q, "place_id")
        let scope = q["scope"]
        let items = state.roleAssignments.values.filter { ra in
            guard ra.organizationId == r.caller.organizationId else { return false }
            if let ids, !ids.contains(ra.id) { return false }
            if let role = q["role_id"], !role.isEmpty, ra.roleId != role { return false }
            // Only users can be assignees in the sandbox, so Team/Guest filters match nothing.
            if let t = q["assignee_type"], t != "User" { return false }
            if let assigneeId, ra.userId != assigneeId { return false }
            if let appliesToType, ra.appliesToType != appliesToType { return false }
            if let appliesToId, ra.appliesToId != appliesToId { return false }
            if let userId, ra.userId != userId { return false }
            if let groupId, !(ra.appliesToType == .group && ra.appliesToId == groupId) { return false }
            if let placeId, !(ra.appliesToType == .place && ra.appliesToId == placeId) { return false }
            if let scope, ra.appliesToType.scope != scope { return false }
            // The caller's rights last: the equality filters above are cheap and, in a 150,000-user
            // organization, leave one member's assignments out of hundreds of thousands.
            guard canRead(roleAssignment: ra, authority) else { return false }
            let u = state.users[ra.userId]
            return Listing.matches(q, [u?.email, u?.name])
        }
        let sorted = Listing.sorted(Array(items), query: q, keys: ["user.name": { [state] in state.users[$0.userId]?.name ?? "" }], id: { $0.id })
        return try Listing.page(sorted, query: q, spec: .standard) { [state] page in page.map { Serializers.roleAssignment($0, in: state) } }
    }

    func roleAssignment(_ r: APIRequest) throws(APIError) -> RoleAssignmentRecord {
        guard let ra = state.roleAssignments[try r.id()], ra.organizationId == r.caller.organizationId else {
            throw APIError.notFound("RoleAssignment")
        }
        return ra
    }

    func getRoleAssignment(_ r: APIRequest) throws(APIError) -> Reply {
        let ra = try roleAssignment(r)
        try require(canRead(roleAssignment: ra, r.caller.authority))
        return .ok(Serializers.roleAssignment(ra, in: state))
    }

    /// Accepts the current shape (`applies_to_*`/`assignee_*`) and the legacy one (`user_id` + `group_id`/`place_id`/`organization_id`).
    func createRoleAssignment(_ r: APIRequest) throws(APIError) -> Reply {
        try require(mayWriteSomeRoleAssignment(r.caller.authority))
        let body = try r.wrapped("role_assignment")
        var v = ValidationErrors()
        var appliesToType: AppliesToType?
        var appliesToId: Int?
        if let raw = body["applies_to_type"]?.string {
            appliesToType = AppliesToType(rawValue: raw)
            if appliesToType == nil { v.add("applies_to_type", "is not included in the list") }
            appliesToId = body["applies_to_id"]?.int
        } else if let gid = body["group_id"]?.int {
            (appliesToType, appliesToId) = (.group, gid)
        } else if let pid = body["place_id"]?.int {
            (appliesToType, appliesToId) = (.place, pid)
        } else if let oid = body["organization_id"]?.int {
            (appliesToType, appliesToId) = (.organization, oid)
        } else {
            v.add("applies_to_type", "can't be blank")
        }
        if appliesToType != nil, appliesToId == nil { v.add("applies_to_id", "can't be blank") }
        if let t = body["assignee_type"]?.string, t != "User" {
            v.add("assignee_type", t == "Team" || t == "Guest" ? "is not supported by the sandbox" : "is not included in the list")
        }
        let assigneeId = body["assignee_id"]?.int ?? body["user_id"]?.int
        if assigneeId == nil { v.add("assignee_id", "can't be blank") }
        let roleId = body["role_id"]?.string ?? ""
        if roleId.isEmpty { v.add("role_id", "can't be blank") }
        let (validFrom, validUntil) = parseValidity(body, into: &v)
        try v.throwIfAny()
        guard let appliesToType, let appliesToId, let assigneeId else { throw APIError.validation(v.errors) }

        let ra = try insertRoleAssignment(
            caller: r.caller, userId: assigneeId, appliesToType: appliesToType, appliesToId: appliesToId,
            roleId: roleId, notify: body["notify"]?.bool ?? false, validFrom: validFrom, validUntil: validUntil
        )
        return .ok(Serializers.roleAssignment(ra, in: state))
    }

    func parseValidity(_ body: [String: JSONValue], into v: inout ValidationErrors) -> (Date?, Date?) {
        var from: Date?, until: Date?
        for (key, target) in [("valid_from", 0), ("valid_until", 1)] {
            guard let raw = body[key], !raw.isNull else { continue }
            guard let s = raw.string, let d = KisiTime.parse(s) else { v.add(key, "is not a valid date-time"); continue }
            if target == 0 { from = d } else { until = d }
        }
        if let from, let until, until <= from { v.add("valid_until", "must be after valid_from") }
        return (from, until)
    }

    /// Shared by `POST /role_assignments` and `POST /invites`.
    func insertRoleAssignment(
        caller: Caller, userId: Int, appliesToType: AppliesToType, appliesToId: Int,
        roleId: String, notify: Bool, validFrom: Date?, validUntil: Date?
    ) throws(APIError) -> RoleAssignmentRecord {
        let org = caller.organizationId
        let u = try user(userId, in: org)
        var placeId: Int?
        switch appliesToType {
        case .group:
            let g = try group(appliesToId, in: org)
            placeId = g.placeId
        case .place: _ = try place(appliesToId, in: org); placeId = appliesToId
        case .organization: if appliesToId != org { throw APIError.notFound("Organization") }
        }
        var v = ValidationErrors()
        if let role = Roles.find(roleId) {
            if role.appliesTo != appliesToType { v.add("role_id", "is not valid for \(appliesToType.rawValue)") }
            if role.id == "owner" { v.add("role_id", "can't be assigned") }
        } else {
            v.add("role_id", "is not included in the list")
        }
        if appliesToType != .group, validFrom != nil || validUntil != nil {
            v.add("valid_until", "is only supported for group role assignments")
        }
        try v.throwIfAny()
        try require(canWriteRoleAssignment(appliesToType, appliesToId, roleId: roleId, caller.authority))
        // "A user can't have more than one role in the same place or group" (Kisi docs).
        if state.roleAssignments.values.contains(where: {
            $0.userId == userId && $0.appliesToType == appliesToType && $0.appliesToId == appliesToId
        }) {
            v.add("assignee_id", "has already been taken")
        }
        try v.throwIfAny()
        let now = now()
        let ra = RoleAssignmentRecord(
            id: nextId(), organizationId: org, userId: userId, appliesToType: appliesToType, appliesToId: appliesToId,
            roleId: roleId, notify: notify, validFrom: validFrom, validUntil: validUntil,
            createdById: caller.userId, createdAt: now, updatedAt: now
        )
        state.roleAssignments[ra.id] = ra
        recordChange("role_assignment.create", caller, objectType: "RoleAssignment", objectId: ra.id,
                     objectName: u.name.isEmpty ? u.email : u.name, placeId: placeId)
        return ra
    }

    /// The document's PATCH body is garbled (`notify` typed as a date-time); the sandbox accepts
    /// `role_id`, `notify` (boolean) and, for group assignments, `valid_from`/`valid_until`.
    func updateRoleAssignment(_ r: APIRequest) throws(APIError) -> Reply {
        try require(mayWriteSomeRoleAssignment(r.caller.authority))
        var ra = try roleAssignment(r)
        try require(canWriteRoleAssignment(ra.appliesToType, ra.appliesToId, roleId: ra.roleId, r.caller.authority))
        let body = try r.wrapped("role_assignment")
        var v = ValidationErrors()
        if let roleId = body["role_id"]?.string {
            if let role = Roles.find(roleId), role.appliesTo == ra.appliesToType, role.id != "owner" {
                try require(canWriteRoleAssignment(ra.appliesToType, ra.appliesToId, roleId: roleId, r.caller.authority))
                ra.roleId = roleId
            } else {
                v.add("role_id", "is not included in the list")
            }
        }
        if let n = body["notify"], !n.isNull {
            if let b = n.bool { ra.notify = b } else { v.add("notify", "is not a boolean") }
        }
        let touchesValidity = body.keys.contains("valid_from") || body.keys.contains("valid_until")
        if touchesValidity {
            if ra.appliesToType != .group {
                v.add("valid_until", "is only supported for group role assignments")
            } else {
                var merged: [String: JSONValue] = [
                    "valid_from": .from(ra.validFrom), "valid_until": .from(ra.validUntil),
                ]
                for key in ["valid_from", "valid_until"] { if let val = body[key] { merged[key] = val } }
                let (from, until) = parseValidity(merged, into: &v)
                ra.validFrom = from
                ra.validUntil = until
            }
        }
        try v.throwIfAny()
        ra.updatedAt = now()
        state.roleAssignments[ra.id] = ra
        let u = state.users[ra.userId]
        recordChange("role_assignment.update", r.caller, objectType: "RoleAssignment", objectId: ra.id,
                     objectName: u.map { $0.name.isEmpty ? $0.email : $0.name } ?? "")
        return .noContent
    }

    func deleteRoleAssignment(_ r: APIRequest) throws(APIError) -> Reply {
        try require(mayWriteSomeRoleAssignment(r.caller.authority))
        let ra = try roleAssignment(r)
        if ra.roleId == "owner" { throw APIError.validation("role_id", "the owner role can't be removed") }
        try require(canWriteRoleAssignment(ra.appliesToType, ra.appliesToId, roleId: ra.roleId, r.caller.authority))
        state.roleAssignments[ra.id] = nil
        let u = state.users[ra.userId]
        recordChange("role_assignment.destroy", r.caller, objectType: "RoleAssignment", objectId: ra.id,
                     objectName: u.map { $0.name.isEmpty ? $0.email : $0.name } ?? "")
        return .noContent
    }

    // MARK: Invites

    /// Group invites: find the user by e-mail (case-insensitive) or create them, then grant the group role.
    func createInvite(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.allowsSomewhere("invites_write"))
        let body = try r.wrapped("invite")
        var v = ValidationErrors()
        let type = body["invites_to_type"]?.string ?? ""
        if type.isEmpty { v.add("invites_to_type", "can't be blank") } else if type != "Group" {
            v.add("invites_to_type", type == "Place" || type == "Team" ? "is not supported by the sandbox" : "is not included in the list")
        }
        let groupId = body["invites_to_id"]?.int
        if groupId == nil { v.add("invites_to_id", "can't be blank") }
        let invitee = body["invitee"]?.object
        if invitee == nil { v.add("invitee", "can't be blank") }
        if let t = invitee?["resource_type"]?.string, t != "User" {
            v.add("invitee", t == "Guest" ? "guests are not supported by the sandbox" : "resource_type is not included in the list")
        }
        let email = invitee?["email"]?.string?.trimmingCharacters(in: .whitespaces) ?? ""
        if invitee != nil, email.isEmpty { v.add("invitee.email", "can't be blank") }
        let raBody = body["role_assignment"]?.object
        if raBody == nil { v.add("role_assignment", "can't be blank") }
        let roleId = raBody?["role_id"]?.string ?? "group_basic"
        let (validFrom, validUntil) = parseValidity(raBody ?? [:], into: &v)
        try v.throwIfAny()
        guard let groupId else { throw APIError.validation(v.errors) }
        let g = try group(groupId, in: r.caller.organizationId)
        try require(canWriteRoleAssignment(.group, g.id, roleId: roleId, r.caller.authority))

        // Validate the role assignment before creating anybody, so a failed invite changes nothing.
        if let existing = findUser(email: email, org: r.caller.organizationId),
           userHasGroupRole(existing.id, groupId: g.id) {
            throw APIError.validation("assignee_id", "has already been taken")
        }
        if let role = Roles.find(roleId), role.appliesTo == .group {} else {
            throw APIError.validation("role_assignment.role_id", "is not included in the list")
        }
        let u: UserRecord
        if let existing = findUser(email: email, org: r.caller.organizationId) {
            u = existing
        } else {
            var userBody: [String: JSONValue] = ["email": .string(email)]
            if let name = invitee?["name"] { userBody["name"] = name }
            u = try insertUser(body: userBody, org: r.caller.organizationId)
            recordChange("user.create", r.caller, objectType: "User", objectId: u.id, objectName: u.name.isEmpty ? u.email : u.name)
        }
        let notify = body["notify"]?.bool ?? true
        let ra = try insertRoleAssignment(
            caller: r.caller, userId: u.id, appliesToType: .group, appliesToId: g.id, roleId: roleId,
            notify: notify, validFrom: validFrom, validUntil: validUntil
        )
        let now = now()
        let invite = InviteRecord(
            id: nextId(), organizationId: r.caller.organizationId, groupId: g.id, userId: u.id,
            roleAssignmentId: ra.id, notify: notify, createdAt: now, updatedAt: now
        )
        state.invites[invite.id] = invite
        recordChange("invite.create", r.caller, objectType: "Invite", objectId: invite.id, objectName: u.email, placeId: g.placeId)
        return .ok(Serializers.invite(invite, in: state))
    }
}
