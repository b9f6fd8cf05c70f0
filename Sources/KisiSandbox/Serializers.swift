import Foundation

/// Wire shapes, one function per document schema. Each emits exactly the schema's properties:
/// every `required` key (nullable ones as `null`), optional keys only where noted, nothing else.
enum Serializers {
    typealias J = JSONValue

    static func organizationRef(_ o: OrganizationRecord) -> J {
        .object(["id": .int(o.id), "resource_type": "Organization", "name": .string(o.name), "domain": .string(o.domain)])
    }

    static func placeRef(_ p: PlaceRecord) -> J {
        .object(["id": .int(p.id), "resource_type": "Place", "name": .string(p.name)])
    }

    static func groupRef(_ g: GroupRecord) -> J {
        .object(["id": .int(g.id), "resource_type": "Group", "name": .string(g.name)])
    }

    static func userRef(_ u: UserRecord) -> J {
        .object(["id": .int(u.id), "resource_type": "User", "email": .string(u.email), "name": .string(u.name)])
    }

    /// `GET /organization` (the full variant of the oneOf).
    static func organization(_ o: OrganizationRecord, in s: StoreState) -> J {
        .object([
            "id": .int(o.id), "resource_type": "Organization", "name": .string(o.name), "domain": .string(o.domain),
            "logo": .null, "address": .null, "description": .null,
            "device_logins_expire_after": .int(1_209_600),
            "places_count": .int(s.places.values.filter { $0.organizationId == o.id }.count),
            "scim_enabled": false, "sso_flow_enabled": false, "sso_expiration_override_enabled": false,
            "sso_expiration_override": .null, "metadata": .null, "time_zone": .string(o.timeZone),
            "web_authentication_api_enabled": false, "apple_pass_enabled": false,
            "created_at": .from(o.createdAt), "updated_at": .from(o.updatedAt),
            "user_id": .from(o.ownerUserId), "transfer_to_id": .null,
            "image": .null, "color": .null,
        ])
    }

    /// User schema (additionalProperties: false).
    static func user(_ u: UserRecord, in s: StoreState, groupsCount: Int? = nil) -> J {
        let count = groupsCount
            ?? Set(s.roleAssignments.values.filter { $0.userId == u.id && $0.appliesToType == .group }.map(\.appliesToId)).count
        return .object([
            "id": .int(u.id), "resource_type": "User", "name": .string(u.name), "email": .string(u.email),
            "created_at": .from(u.createdAt), "updated_at": .from(u.updatedAt),
            "metadata": .object(u.metadata), "image": .from(u.image),
            "otp_required_for_login": false, "password_flow_enabled": .bool(u.passwordFlowEnabled),
            "access_enabled": .bool(u.accessEnabled), "last_accessed_at": .from(u.lastAccessedAt),
            "scim_access_enabled": true, "notes": .from(u.notes), "organization_id": .int(u.organizationId),
            "confirmed": .bool(u.confirmed), "groups_count": .int(count),
        ])
    }

    /// `GET /user`: the current user's own shape.
    static func currentUser(_ u: UserRecord, in s: StoreState) -> J {
        var org: J = .null
        if let o = s.organizations[u.organizationId] { org = organizationRef(o) }
        return .object([
            "id": .int(u.id), "resource_type": "User", "name": .string(u.name), "email": .string(u.email),
            "image": .from(u.image), "locale": "en", "notifications_unread_count": 0,
            "otp_required_for_login": false, "otp_enabled_at": .null, "primary_login_exists": false,
            "created_at": .from(u.createdAt), "updated_at": .from(u.updatedAt),
            "announcements_last_seen_at": .null, "last_read_at": .null, "notes": .from(u.notes),
            "organization_id": .int(u.organizationId), "organization": org,
        ])
    }

    /// `GET /login` (Login has no resource_type in the document).
    static func login(_ l: LoginRecord, in s: StoreState) -> J {
        let user = s.users[l.userId].map(userRef) ?? .null
        return .object([
            "id": .int(l.id), "created_at": .from(l.createdAt), "updated_at": .from(l.updatedAt),
            "type": "api", "name": .from(l.name), "primary": false, "expire": false,
            "last_used_at": .from(l.lastUsedAt), "device_brand": .null, "device_model": .null, "os_name": .null,
            "user_id": .int(l.userId), "user": user,
            "app": .object(["name": .null, "version": .null]),
            "user_agent": .object(["name": .null, "version": .null]),
            "device": .object(["brand": .null, "model": .null]),
            "os": .object(["name": .null, "version": .null]),
            "scram_credentials": .null,
        ])
    }

    static func place(_ p: PlaceRecord, in s: StoreState) -> J {
        let org = s.organizations[p.organizationId].map(organizationRef) ?? .null
        return .object([
            "id": .int(p.id), "resource_type": "Place", "name": .string(p.name), "description": .from(p.description),
            "created_at": .from(p.createdAt), "updated_at": .from(p.updatedAt),
            "latitude": .from(p.latitude), "longitude": .from(p.longitude), "address": .string(p.address),
            "image": .null, "time_zone": .from(p.timeZone), "tz_time_zone": .from(p.timeZone),
            "locks_count": .int(s.locks.values.filter { $0.placeId == p.id }.count),
            "integrations_count": 0,
            "locked_down": false, "locked_down_since": .null, "occupancy_rate": .null,
            "organization_id": .int(p.organizationId), "organization": org,
            "color": .null, "logo": .null, "user_id": .null,
            "members_count": .int(0),
        ])
    }

    /// Lock, full variant (login-authenticated callers).
    static func lock(_ l: LockRecord, in s: StoreState) -> J {
        let p = s.places[l.placeId]
        let place: J = p.map { .object(["id": .int($0.id), "name": .string($0.name), "latitude": .from($0.latitude), "longitude": .from($0.longitude)]) } ?? .null
        return .object([
            "id": .int(l.id), "resource_type": "Lock", "created_at": .from(l.createdAt), "updated_at": .from(l.updatedAt),
            "configured": true, "description": .from(l.description),
            "first_to_arrive_required_until": .null, "first_to_arrive_satisfied": false,
            "latitude": .null, "locked_down": .bool(l.isLockedDown), "locked_down_since": .from(l.lockedDownSince), "longitude": .null,
            "name": .string(l.name), "on_scheduled_unlock": false, "online": .bool(l.isOnline), "open": false, "order_id": .null,
            "unlocked": false, "geofence_restriction_enabled": false, "geofence_restriction_radius": .int(300),
            "reader_restriction_enabled": false, "time_restriction_enabled": false, "time_restriction_time_zone": .null,
            "place_id": .int(l.placeId), "place": place, "floor_id": .null,
            "groups_count": .int(s.groupLocks.values.filter { $0.lockId == l.id }.count),
            "unlocked_until": .null,
        ])
    }

    static func group(_ g: GroupRecord, in s: StoreState) -> J {
        let users = Set(s.roleAssignments.values.filter { $0.appliesToType == .group && $0.appliesToId == g.id }.map(\.userId))
        var o: [String: J] = [
            "id": .int(g.id), "resource_type": "Group", "name": .string(g.name), "description": .from(g.description),
            "created_at": .from(g.createdAt), "updated_at": .from(g.updatedAt),
            "geofence_restriction_enabled": .bool(g.geofenceRestrictionEnabled), "geofence_restriction_radius": .int(300),
            "primary_device_restriction_enabled": .bool(g.primaryDeviceRestrictionEnabled),
            "managed_device_restriction_enabled": .bool(g.managedDeviceRestrictionEnabled),
            "reader_restriction_enabled": .bool(g.readerRestrictionEnabled),
            "time_restriction_enabled": .bool(g.timeRestrictionEnabled),
            "tap_to_access_restriction_enabled": .bool(g.tapToAccessRestrictionEnabled),
            "login_enabled": .bool(g.loginEnabled),
            "users_count": .int(users.count),
            "locks_count": .int(s.groupLocks.values.filter { $0.groupId == g.id }.count),
            "elevator_stops_count": 0,
            "place_id": .from(g.placeId),
            "time_restriction_time_zone": .from(g.timeRestrictionTimeZone),
            "members_count": .int(users.count),
        ]
        // `place` is optional in the schema; present only for place-scoped groups.
        if let pid = g.placeId, let p = s.places[pid] { o["place"] = placeRef(p) }
        return .object(o)
    }

    static func groupLock(_ gl: GroupLockRecord, in s: StoreState) -> J {
        let g = s.groups[gl.groupId]
        let l = s.locks[gl.lockId]
        let p = l.flatMap { s.places[$0.placeId] }
        return .object([
            "id": .int(gl.id), "resource_type": "GroupLock", "created_at": .from(gl.createdAt), "updated_at": .from(gl.updatedAt),
            "group_id": .int(gl.groupId), "group": g.map(groupRef) ?? .null,
            "lock_id": .int(gl.lockId),
            "lock": l.map { .object(["id": .int($0.id), "description": .from($0.description), "name": .string($0.name)]) } ?? .null,
            "place_id": .from(p?.id), "place": p.map(placeRef) ?? .null,
        ])
    }

    /// RoleAssignment: oneOf by applies_to_type, with the deprecated mirrors the document still lists.
    static func roleAssignment(_ r: RoleAssignmentRecord, in s: StoreState) -> J {
        let u = s.users[r.userId]
        var o: [String: J] = [
            "id": .int(r.id), "resource_type": "RoleAssignment", "created_at": .from(r.createdAt), "updated_at": .from(r.updatedAt),
            "role_id": .string(r.roleId), "notify": .bool(r.notify),
            "applies_to_type": .string(r.appliesToType.rawValue), "applies_to_id": .int(r.appliesToId),
            "assignee_type": "User", "assignee_id": .int(r.userId), "assignee": u.map(userRef) ?? .null,
            "created_by_type": r.createdById == nil ? .null : "User", "created_by_id": .from(r.createdById),
            "user_id": .int(r.userId),
            "assignee_team_id": .null, "guest_id": .null, "issued_by_id": .from(r.createdById),
            "type": .string(r.appliesToType.scope), "scope": .string(r.appliesToType.scope),
        ]
        // `user` is optional in the schema; present because the assignee is a user.
        if let u { o["user"] = userRef(u) }
        switch r.appliesToType {
        case .organization:
            let org = s.organizations[r.appliesToId].map(organizationRef) ?? .null
            o["applies_to"] = org
            o["organization_id"] = .int(r.appliesToId)
            o["organization"] = org
        case .place:
            let p = s.places[r.appliesToId].map(placeRef) ?? .null
            o["applies_to"] = p
            o["place_id"] = .int(r.appliesToId)
            o["place"] = p
        case .group:
            let g = s.groups[r.appliesToId].map(groupRef) ?? .null
            o["applies_to"] = g
            o["group_id"] = .int(r.appliesToId)
            o["group"] = g
            o["valid_from"] = .from(r.validFrom)
            o["valid_until"] = .from(r.validUntil)
        }
        return .object(o)
    }

    /// Integration as listed by `GET /integrations` (the common schema, no type-specific fields).
    static func integrationSummary(_ i: IntegrationRecord, in s: StoreState) -> J {
        .object([
            "id": .int(i.id), "resource_type": "Integration", "name": .string(i.name), "type": "event_webhook",
            "enabled": .bool(i.enabled), "disabled_due_to_error": false, "disabled_due_to_error_at": .null,
            "created_at": .from(i.createdAt), "updated_at": .from(i.updatedAt),
            "organization_id": .int(i.organizationId),
            "organization": s.organizations[i.organizationId].map(organizationRef) ?? .null,
            "place_id": .null,
        ])
    }

    /// Integration, `event_webhook` variant (create/show). `signature_key` is write-only in the document.
    static func integration(_ i: IntegrationRecord, in s: StoreState) -> J {
        guard case .object(var o) = integrationSummary(i, in: s) else { return .null }
        o["url"] = .string(i.url)
        o["enabled_events"] = .array(i.enabledEvents.map { .string($0) })
        return .object(o)
    }

    static func invite(_ i: InviteRecord, in s: StoreState) -> J {
        let u = s.users[i.userId]
        let ra = s.roleAssignments[i.roleAssignmentId]
        return .object([
            "id": .int(i.id), "resource_type": "Invite", "notify": .bool(i.notify),
            "created_at": .from(i.createdAt), "updated_at": .from(i.updatedAt),
            "invites_to_type": "Group", "invites_to_id": .int(i.groupId),
            "invitee_type": "User", "invitee_id": .int(i.userId), "invitee": u.map(userRef) ?? .null,
            "role_assignment_id": .int(i.roleAssignmentId),
            "role_assignment": .object([
                "id": .int(i.roleAssignmentId), "resource_type": "RoleAssignment",
                "role_id": .string(ra?.roleId ?? "group_basic"),
                "valid_from": .from(ra?.validFrom), "valid_until": .from(ra?.validUntil),
            ]),
        ])
    }

    static func event(_ e: EventRecord) -> J {
        .object([
            "uuid": .string(e.uuid), "type": .string(e.type),
            "actor_type": .from(e.actorType), "actor_id": .from(e.actorId), "actor_name": .from(e.actorName),
            "actor_email": .from(e.actorEmail),
            "authenticated_by_type": .from(e.authenticatedByType), "authenticated_by_id": .from(e.authenticatedById),
            "authorized_by_type": .null, "authorized_by_id": .null, "authorized_by_role_id": .null,
            "object_type": .string(e.objectType), "object_id": .int(e.objectId), "object_name": .string(e.objectName),
            "action": .string(e.action), "created_at": .from(e.createdAt), "message": .from(e.message),
            "success": .bool(e.success), "code": .from(e.code), "sequence": .string(String(e.sequence)),
            "organization_id": .int(e.organizationId), "place_id": .from(e.placeId),
            "error_code": .from(e.errorCode), "error_message": .from(e.errorMessage),
            "details": .object([:]), "via": .object([:]),
        ])
    }

    /// EventSet (no resource_type in the document; additionalProperties: false).
    static func eventSet(_ es: EventSetRecord, events: [EventRecord], cursor: String?) -> J {
        var o: [String: J] = [
            "id": .int(es.id), "created_at": .from(es.createdAt), "status": "finished", "interval": .string(es.interval),
            "events": .array(events.map(event)), "cursor": .from(cursor),
        ]
        for key in EventSets.filterKeys { o[key] = es.filters[key] ?? .null }
        o["place_id"] = es.filters["place_id"] ?? .null
        return .object(o)
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
}
