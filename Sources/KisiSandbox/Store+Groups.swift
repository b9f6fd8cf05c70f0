import Foundation

extension SandboxStore {
    static var groupFlags: [(String, WritableKeyPath<GroupRecord, Bool>)] { [
        ("login_enabled", \.loginEnabled),
        ("geofence_restriction_enabled", \.geofenceRestrictionEnabled),
        ("primary_device_restriction_enabled", \.primaryDeviceRestrictionEnabled),
        ("managed_device_restriction_enabled", \.managedDeviceRestrictionEnabled),
        ("reader_restriction_enabled", \.readerRestrictionEnabled),
        ("time_restriction_enabled", \.timeRestrictionEnabled),
        ("tap_to_access_restriction_enabled", \.tapToAccessRestrictionEnabled),
    ] }

    func listGroups(_ r: APIRequest) throws(APIError) -> Reply {
        let authority = r.caller.authority
        try require(authority.allowsSomewhere("groups_read"))
        let q = r.query
        let ids = Listing.ids(q)
        let placeId = try Listing.intParam(q, "place_id")
        let lockId = try Listing.intParam(q, "lock_id")
        let scope = q["scope"]
        if let scope, scope != "organization", scope != "place" {
            throw APIError.badRequest("scope must be one of: organization, place")
        }
        let groups = state.groups.values.filter { g in
            guard g.organizationId == r.caller.organizationId, canRead(group: g, authority) else { return false }
            if let ids, !ids.contains(g.id) { return false }
            if scope == "organization", g.placeId != nil { return false }
            if scope == "place", g.placeId == nil { return false }
            if let placeId, g.placeId != placeId { return false }
            if let lockId, !state.groupLocks.values.contains(where: { $0.groupId == g.id && $0.lockId == lockId }) { return false }
            return Listing.matches(q, [g.name])
        }
        let sorted = Listing.sorted(Array(groups), query: q, keys: ["name": { $0.name }], id: { $0.id })
        return try Listing.page(sorted.map { Serializers.group($0, in: state) }, query: q, spec: .standard)
    }

    func getGroup(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.allowsSomewhere("groups_read"))
        let g = try group(r.id(), in: r.caller.organizationId)
        try require(canRead(group: g, r.caller.authority))
        return .ok(Serializers.group(g, in: state))
    }

    func createGroup(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.allowsSomewhere("groups_write"))
        let body = try r.wrapped("group")
        var v = ValidationErrors()
        let name = body["name"]?.string?.trimmingCharacters(in: .whitespaces) ?? ""
        if name.isEmpty { v.add("name", "can't be blank") }
        var placeId: Int?
        if let raw = body["place_id"], !raw.isNull {
            if let pid = raw.int, let p = state.places[pid], p.organizationId == r.caller.organizationId {
                placeId = pid
            } else {
                v.add("place", "must exist")
            }
        }
        for (key, _) in Self.groupFlags {
            if let val = body[key], !val.isNull, val.bool == nil { v.add(key, "is not a boolean") }
        }
        try v.throwIfAny()
        // An organization group needs an organization role; a place group may also be made by the place's role.
        try require(r.caller.authority.allows("groups_write", inPlace: placeId))
        let now = now()
        var g = GroupRecord(
            id: nextId(), organizationId: r.caller.organizationId, name: name,
            description: body["description"]?.string, placeId: placeId,
            loginEnabled: true, geofenceRestrictionEnabled: false, primaryDeviceRestrictionEnabled: false,
            managedDeviceRestrictionEnabled: false, readerRestrictionEnabled: false, timeRestrictionEnabled: false,
            tapToAccessRestrictionEnabled: false, timeRestrictionTimeZone: body["time_restriction_time_zone"]?.string,
            createdAt: now, updatedAt: now
        )
        for (key, path) in Self.groupFlags { if let b = body[key]?.bool { g[keyPath: path] = b } }
        state.groups[g.id] = g
        recordChange("group.create", r.caller, objectType: "Group", objectId: g.id, objectName: g.name, placeId: g.placeId)
        return .ok(Serializers.group(g, in: state))
    }

    func updateGroup(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.allowsSomewhere("groups_write"))
        var g = try group(r.id(), in: r.caller.organizationId)
        try require(r.caller.authority.allows("groups_write", inPlace: g.placeId))
        let body = try r.wrapped("group")
        var v = ValidationErrors()
        // Scope is fixed at creation (Kisi docs). The PATCH schema has no place_id; rather than drop it silently,
        // the sandbox rejects an attempt to change it so client bugs surface.
        if let raw = body["place_id"], raw.int != g.placeId || (raw.isNull != (g.placeId == nil)) {
            v.add("place_id", "can't be changed")
        }
        if let val = body["name"] {
            let name = val.string?.trimmingCharacters(in: .whitespaces) ?? ""
            if name.isEmpty { v.add("name", "can't be blank") } else { g.name = name }
        }
        for (key, _) in Self.groupFlags {
            if let val = body[key], !val.isNull, val.bool == nil { v.add(key, "is not a boolean") }
        }
        try v.throwIfAny()
        if let val = body["description"] { g.description = val.string }
        if let val = body["time_restriction_time_zone"] { g.timeRestrictionTimeZone = val.string }
        for (key, path) in Self.groupFlags { if let b = body[key]?.bool { g[keyPath: path] = b } }
        g.updatedAt = now()
        state.groups[g.id] = g
        recordChange("group.update", r.caller, objectType: "Group", objectId: g.id, objectName: g.name, placeId: g.placeId)
        return .noContent
    }

    func deleteGroup(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.allowsSomewhere("groups_write"))
        let g = try group(r.id(), in: r.caller.organizationId)
        try require(r.caller.authority.allows("groups_write", inPlace: g.placeId))
        state.groups[g.id] = nil
        // The group's doors and access rights go with it (no separate events, as for a cascading Rails destroy).
        state.groupLocks = state.groupLocks.filter { $0.value.groupId != g.id }
        state.roleAssignments = state.roleAssignments.filter { !($0.value.appliesToType == .group && $0.value.appliesToId == g.id) }
        recordChange("group.destroy", r.caller, objectType: "Group", objectId: g.id, objectName: g.name, placeId: g.placeId)
        return .noContent
    }

    // MARK: Group locks

    func listGroupLocks(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.allowsSomewhere("group_locks_read"))
        let q = r.query
        guard let groupId = try Listing.intParam(q, "group_id") else {
            throw APIError.badRequest("param is missing or the value is empty: group_id")
        }
        try require(canRead(groupLocksOf: try group(groupId, in: r.caller.organizationId), r.caller.authority))
        let ids = Listing.ids(q)
        let lockId = try Listing.intParam(q, "lock_id")
        let items = state.groupLocks.values.filter { gl in
            guard gl.groupId == groupId else { return false }
            if let ids, !ids.contains(gl.id) { return false }
            if let lockId, gl.lockId != lockId { return false }
            return Listing.matches(q, [state.locks[gl.lockId]?.name])
        }.sorted { $0.id < $1.id }
        return try Listing.page(items.map { Serializers.groupLock($0, in: state) }, query: q, spec: .standard)
    }

    func getGroupLock(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.allowsSomewhere("group_locks_read"))
        guard let gl = state.groupLocks[try r.id()], let g = state.groups[gl.groupId], g.organizationId == r.caller.organizationId else {
            throw APIError.notFound("GroupLock")
        }
        try require(canRead(groupLocksOf: g, r.caller.authority))
        return .ok(Serializers.groupLock(gl, in: state))
    }

    func createGroupLock(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.allowsSomewhere("group_locks_write"))
        let body = try r.wrapped("group_lock")
        var v = ValidationErrors()
        let groupId = body["group_id"]?.int
        let lockId = body["lock_id"]?.int
        if groupId == nil { v.add("group_id", "can't be blank") }
        if lockId == nil { v.add("lock_id", "can't be blank") }
        try v.throwIfAny()
        guard let groupId, let lockId else { throw APIError.validation(v.errors) }
        let g = try group(groupId, in: r.caller.organizationId)
        let l = try lock(lockId, in: r.caller.organizationId)
        try require(canWrite(groupLockOf: g, lockPlace: l.placeId, r.caller.authority))
        if let pid = g.placeId, pid != l.placeId {
            v.add("lock", "must belong to the group's place")
        }
        if state.groupLocks.values.contains(where: { $0.groupId == groupId && $0.lockId == lockId }) {
            v.add("lock_id", "has already been taken")
        }
        try v.throwIfAny()
        let now = now()
        let gl = GroupLockRecord(id: nextId(), groupId: groupId, lockId: lockId, createdAt: now, updatedAt: now)
        state.groupLocks[gl.id] = gl
        recordChange("group_lock.create", r.caller, objectType: "GroupLock", objectId: gl.id, objectName: l.name, placeId: l.placeId)
        return .ok(Serializers.groupLock(gl, in: state))
    }

    func deleteGroupLock(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.allowsSomewhere("group_locks_write"))
        guard let gl = state.groupLocks[try r.id()], let g = state.groups[gl.groupId], g.organizationId == r.caller.organizationId else {
            throw APIError.notFound("GroupLock")
        }
        try require(canWrite(groupLockOf: g, lockPlace: state.locks[gl.lockId]?.placeId, r.caller.authority))
        state.groupLocks[gl.id] = nil
        let l = state.locks[gl.lockId]
        recordChange("group_lock.destroy", r.caller, objectType: "GroupLock", objectId: gl.id, objectName: l?.name ?? "", placeId: l?.placeId)
        return .noContent
    }

    // MARK: Places and locks (read-only in scope)

    func listPlaces(_ r: APIRequest) throws(APIError) -> Reply {
        let q = r.query
        let ids = Listing.ids(q)
        let places = state.places.values.filter { p in
            guard p.organizationId == r.caller.organizationId else { return false }
            if let ids, !ids.contains(p.id) { return false }
            return Listing.matches(q, [p.name])
        }
        let sorted = Listing.sorted(Array(places), query: q, keys: ["name": { $0.name }], id: { $0.id })
        return try Listing.page(sorted.map { Serializers.place($0, in: state) }, query: q, spec: .locksAndPlaces)
    }

    func getPlace(_ r: APIRequest) throws(APIError) -> Reply {
        .ok(Serializers.place(try place(r.id(), in: r.caller.organizationId), in: state))
    }

    func listLocks(_ r: APIRequest) throws(APIError) -> Reply {
        let q = r.query
        let ids = Listing.ids(q)
        let placeId = try Listing.intParam(q, "place_id")
        let locks = state.locks.values.filter { l in
            guard lockOrganization(l) == r.caller.organizationId else { return false }
            if let ids, !ids.contains(l.id) { return false }
            if let placeId, l.placeId != placeId { return false }
            // Sandbox doors are always configured and locked; online and lockdown are set by the control endpoint.
            if let b = Listing.boolParam(q, "configured"), !b { return false }
            if let b = Listing.boolParam(q, "online"), b != l.isOnline { return false }
            if let b = Listing.boolParam(q, "unlocked"), b { return false }
            if let b = Listing.boolParam(q, "locked_down"), b != l.isLockedDown { return false }
            return Listing.matches(q, [l.name])
        }
        let sorted = Listing.sorted(Array(locks), query: q, keys: ["name": { $0.name }], id: { $0.id })
        return try Listing.page(sorted.map { Serializers.lock($0, in: state) }, query: q, spec: .locksAndPlaces)
    }

    func getLock(_ r: APIRequest) throws(APIError) -> Reply {
        guard let id = Int(r.pathId ?? "") else { throw APIError.lockNotFound }
        return .ok(Serializers.lock(try lock(id, in: r.caller.organizationId), in: state))
    }
}
