import Foundation

extension SandboxStore {
    func currentOrganization(_ r: APIRequest) throws(APIError) -> Reply {
        guard let o = state.organizations[r.caller.organizationId] else { throw APIError.notFound("Organization") }
        return .ok(Serializers.organization(o, in: state))
    }

    func currentUser(_ r: APIRequest) throws(APIError) -> Reply {
        .ok(Serializers.currentUser(try user(r.caller.userId, in: r.caller.organizationId), in: state))
    }

    func currentLogin(_ r: APIRequest) throws(APIError) -> Reply {
        guard let l = state.logins[r.caller.loginId] else { throw APIError.unauthorized }
        return .ok(Serializers.login(l, in: state))
    }

    func listUsers(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.allowsSomewhere("users_read"))
        let q = r.query
        let ids = Listing.ids(q)
        let email = q["email"]?.lowercased()
        let groupId = try Listing.intParam(q, "group_id")
        let placeId = try Listing.intParam(q, "place_id")
        var userId: Int?
        if let raw = q["user_id"], !raw.isEmpty {
            if raw == "me" { userId = r.caller.userId } else if let v = Int(raw) { userId = v } else {
                throw APIError.badRequest("user_id must be an integer or 'me'")
            }
        }
        let users = state.users.values.filter { u in
            guard u.organizationId == r.caller.organizationId else { return false }
            if let ids, !ids.contains(u.id) { return false }
            if let email, u.email.lowercased() != email { return false }
            if let userId, u.id != userId { return false }
            if let groupId, !userHasGroupRole(u.id, groupId: groupId) { return false }
            if let placeId, !userHasPlaceAccess(u.id, placeId: placeId) { return false }
            return Listing.matches(q, [u.email, u.name, u.notes])
        }
        let sorted = Listing.sorted(Array(users), query: q, keys: [
            "name": { $0.name },
            "unlock": { $0.lastAccessedAt.map(KisiTime.format) ?? "" },
            "access_enabled": { $0.accessEnabled ? "1" : "0" },
        ], id: { $0.id })
        return try Listing.page(sorted, query: q, spec: .users) { [state] page in
            // The page's group counts in one pass over the assignments, not one pass per user.
            let onPage = Set(page.map(\.id))
            var groups: [Int: Set<Int>] = [:]
            for ra in state.roleAssignments.values where ra.appliesToType == .group && onPage.contains(ra.userId) {
                groups[ra.userId, default: []].insert(ra.appliesToId)
            }
            return page.map { Serializers.user($0, in: state, groupsCount: groups[$0.id]?.count ?? 0) }
        }
    }

    func userHasGroupRole(_ userId: Int, groupId: Int) -> Bool {
        state.roleAssignments.values.contains { $0.userId == userId && $0.appliesToType == .group && $0.appliesToId == groupId }
    }

    /// "Users with access to the place": a role on the place, or on a group that is scoped to it or holds one of its doors.
    func userHasPlaceAccess(_ userId: Int, placeId: Int) -> Bool {
        state.roleAssignments.values.contains { ra in
            guard ra.userId == userId else { return false }
            switch ra.appliesToType {
            case .organization: return false
            case .place: return ra.appliesToId == placeId
            case .group:
                if state.groups[ra.appliesToId]?.placeId == placeId { return true }
                return state.groupLocks.values.contains { gl in
                    gl.groupId == ra.appliesToId && state.locks[gl.lockId]?.placeId == placeId
                }
            }
        }
    }

    func getUser(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.allowsSomewhere("users_read"))
        return .ok(Serializers.user(try user(r.id(), in: r.caller.organizationId), in: state))
    }

    func createUser(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.allowsSomewhere("users_write"))
        let body = try r.wrapped("user")
        let u = try insertUser(body: body, org: r.caller.organizationId)
        recordChange("user.create", r.caller, objectType: "User", objectId: u.id, objectName: u.name.isEmpty ? u.email : u.name)
        return .ok(Serializers.user(u, in: state))
    }

    /// Shared by `POST /users` and `POST /invites`.
    func insertUser(body: [String: JSONValue], org: Int) throws(APIError) -> UserRecord {
        var v = ValidationErrors()
        let email = body["email"]?.string?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        if email.isEmpty {
            v.add("email", "can't be blank")
        } else if !Self.looksLikeEmail(email) {
            v.add("email", "is invalid")
        } else if findUser(email: email, org: org) != nil {
            v.add("email", "has already been taken")
        }
        let metadata = validateMetadata(body["metadata"], into: &v)
        try validateUserScalars(body, into: &v)
        try v.throwIfAny()
        let now = now()
        let u = UserRecord(
            id: nextId(), organizationId: org,
            name: body["name"]?.string ?? "",
            email: email,
            image: body["image"]?.string,
            notes: body["notes"]?.string,
            metadata: metadata ?? [:],
            accessEnabled: body["access_enabled"]?.bool ?? true,
            passwordFlowEnabled: body["password_flow_enabled"]?.bool ?? false,
            confirmed: body["confirm"]?.bool ?? false,
            lastAccessedAt: nil, createdAt: now, updatedAt: now
        )
        state.users[u.id] = u
        dirty = true
        return u
    }

    func findUser(email: String, org: Int) -> UserRecord? {
        let e = email.lowercased()
        return state.users.values.first { $0.organizationId == org && $0.email.lowercased() == e }
    }

    static func looksLikeEmail(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !s.contains(" ")
    }

    private func validateUserScalars(_ body: [String: JSONValue], into v: inout ValidationErrors) throws(APIError) {
        for key in ["access_enabled", "password_flow_enabled", "send_emails", "confirm"] {
            if let val = body[key], !val.isNull, val.bool == nil { v.add(key, "is not a boolean") }
        }
        for key in ["name", "notes", "image"] {
            if let val = body[key], !val.isNull, val.string == nil { v.add(key, "is not a string") }
        }
    }

    /// The document's metadata rules: scalar values only, keys ≤ 50 chars, values ≤ 500 chars, ≤ 50 keys.
    private func validateMetadata(_ value: JSONValue?, into v: inout ValidationErrors) -> [String: JSONValue]? {
        guard let value, !value.isNull else { return nil }
        guard let obj = value.object else { v.add("metadata", "must be an object"); return nil }
        if obj.count > 50 { v.add("metadata", "can't have more than 50 keys") }
        for (k, val) in obj {
            if k.count > 50 { v.add("metadata", "key \(k.prefix(20))… is longer than 50 characters") }
            switch val {
            case .array, .object: v.add("metadata", "value of \(k) must be a scalar")
            case .string(let s) where s.count > 500: v.add("metadata", "value of \(k) is longer than 500 characters")
            default: break
            }
        }
        return obj
    }

    func updateUser(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.allowsSomewhere("users_write"))
        var u = try user(r.id(), in: r.caller.organizationId)
        try require(canChange(user: u, r.caller.authority))
        let body = try r.wrapped("user")
        var v = ValidationErrors()
        let metadata = validateMetadata(body["metadata"], into: &v)
        try validateUserScalars(body, into: &v)
        try v.throwIfAny()
        // Email is not in the PATCH schema; like any unpermitted Rails parameter it is ignored.
        if let s = body["name"]?.string { u.name = s }
        if let val = body["image"] { u.image = val.string }
        if let val = body["notes"] { u.notes = val.string }
        if let b = body["access_enabled"]?.bool { u.accessEnabled = b }
        if let b = body["password_flow_enabled"]?.bool { u.passwordFlowEnabled = b }
        if let metadata { u.metadata = metadata }
        u.updatedAt = now()
        state.users[u.id] = u
        recordChange("user.update", r.caller, objectType: "User", objectId: u.id, objectName: u.name.isEmpty ? u.email : u.name)
        return .noContent
    }

    func deleteUser(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.allowsSomewhere("users_write"))
        let u = try user(r.id(), in: r.caller.organizationId)
        try require(canChange(user: u, r.caller.authority))
        if state.organizations[u.organizationId]?.ownerUserId == u.id {
            throw APIError.validation("user", "can't delete the organization owner")
        }
        if u.id == r.caller.userId { throw APIError.validation("user", "can't delete yourself") }
        state.users[u.id] = nil
        // Kisi removes a deleted user's access rights and logins with it.
        state.roleAssignments = state.roleAssignments.filter { $0.value.userId != u.id }
        state.logins = state.logins.filter { $0.value.userId != u.id }
        recordChange("user.destroy", r.caller, objectType: "User", objectId: u.id, objectName: u.name.isEmpty ? u.email : u.name)
        return .noContent
    }

    func listRoles(_ r: APIRequest) -> Reply {
        .ok(.array(Roles.all.map(Roles.json)))
    }
}
