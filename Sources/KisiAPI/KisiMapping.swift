import Foundation
import OpenAPIRuntime

// Generated (internal) types -> hand-written public domain types, and back for request bodies.

/// Kisi sends RFC 3339 timestamps with and without fractional seconds (`2022-10-06T13:49:35Z`,
/// `2022-10-23T16:22:03.746Z`); the runtime's default transcoder accepts only the first form.
struct KisiDateTranscoder: DateTranscoder {
    // FoundationEssentials' ISO 8601 styles are values that parse without ICU. An ISO8601DateFormatter
    // built per date (Linux builds an ICU formatter for each) took most of the CPU of reading Kisi's
    // lists: about 1.7 ms per member in a full sweep, 17 s for 10,000 members.
    private static let internetDateTime = Date.ISO8601FormatStyle()

    func encode(_ date: Date) throws -> String {
        date.formatted(Self.internetDateTime)
    }

    /// RFC 3339 date-times, with or without fractional seconds, in UTC or with an offset.
    func decode(_ string: String) throws -> Date {
        if let date = try? Self.internetDateTime.parse(string) { return date }
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "Expected an RFC 3339 date-time, got '\(string)'"))
    }
}

// MARK: - Metadata

extension KisiMetadataValue {
    init(any value: (any Sendable)?) {
        switch value {
        case nil: self = .null
        case let value as Bool: self = .bool(value)
        case let value as Int: self = .int(value)
        case let value as Double: self = .double(value)
        case let value as String: self = .string(value)
        case let value?: self = .string(String(describing: value))
        }
    }

    var anyValue: (any Sendable)? {
        switch self {
        case .string(let value): return value
        case .int(let value): return value
        case .double(let value): return value
        case .bool(let value): return value
        case .null: return nil
        }
    }
}

func metadataDictionary(_ container: OpenAPIObjectContainer?) -> [String: KisiMetadataValue] {
    guard let container else { return [:] }
    return container.value.mapValues { KisiMetadataValue(any: $0) }
}

func metadataContainer(_ metadata: [String: KisiMetadataValue]?) throws -> OpenAPIObjectContainer? {
    guard let metadata else { return nil }
    return try OpenAPIObjectContainer(unvalidatedValue: metadata.mapValues { $0.anyValue })
}

func idList(_ ids: [Int]) -> String? {
    ids.isEmpty ? nil : ids.map(String.init).joined(separator: ",")
}

// MARK: - Responses

extension KisiOrganization {
    init(_ s: Components.Schemas.Organization) {
        self.init(
            id: s.id, name: s.name ?? "", domain: s.domain, timeZone: s.timeZone, placesCount: s.placesCount,
            scimEnabled: s.scimEnabled, ownerUserID: s.userId, createdAt: s.createdAt
        )
    }
}

extension KisiCurrentUser {
    init(_ s: Components.Schemas.CurrentUser) {
        self.init(
            id: s.id, name: s.name ?? "", email: s.email ?? "", organizationID: s.organizationId ?? s.organization?.id,
            organizationName: s.organization?.name, organizationDomain: s.organization?.domain
        )
    }
}

extension KisiLogin {
    init(_ s: Components.Schemas.Login) {
        self.init(
            id: s.id, type: s._type, name: s.name, userID: s.userId ?? s.user?.id, userEmail: s.user?.email,
            expires: s.expire, lastUsedAt: s.lastUsedAt
        )
    }
}

extension KisiUser {
    init(_ s: Components.Schemas.User) {
        self.init(
            id: s.id, name: s.name ?? "", email: s.email ?? "", accessEnabled: s.accessEnabled ?? true,
            passwordFlowEnabled: s.passwordFlowEnabled, scimAccessEnabled: s.scimAccessEnabled, notes: s.notes,
            metadata: metadataDictionary(s.metadata), imageURL: s.image, organizationID: s.organizationId,
            confirmed: s.confirmed, lastAccessedAt: s.lastAccessedAt, createdAt: s.createdAt, updatedAt: s.updatedAt
        )
    }
}

extension KisiGroup {
    init(_ s: Components.Schemas.Group) {
        self.init(
            id: s.id, name: s.name ?? "", description: s.description, placeID: s.placeId ?? s.place?.id,
            placeName: s.place?.name, loginEnabled: s.loginEnabled, usersCount: s.usersCount,
            locksCount: s.locksCount, timeRestrictionEnabled: s.timeRestrictionEnabled,
            geofenceRestrictionEnabled: s.geofenceRestrictionEnabled, createdAt: s.createdAt, updatedAt: s.updatedAt
        )
    }
}

extension KisiGroupLock {
    init(_ s: Components.Schemas.GroupLock) {
        self.init(
            id: s.id, groupID: s.groupId ?? s.group?.id ?? 0, lockID: s.lockId ?? s.lock?.id ?? 0,
            placeID: s.placeId ?? s.place?.id, groupName: s.group?.name, lockName: s.lock?.name, createdAt: s.createdAt
        )
    }
}

extension KisiRoleAssignment {
    init(_ s: Components.Schemas.RoleAssignment) {
        // Current fields first; the deprecated mirrors (group_id, place_id, organization_id, user_id, ...)
        // as a fallback for older payloads.
        let appliesTo: KisiScopeReference
        if let type = s.appliesToType, let id = s.appliesToId ?? s.appliesTo?.id {
            appliesTo = KisiScopeReference(type: type, id: id)
        } else if let id = s.groupId ?? s.group?.id {
            appliesTo = .group(id: id)
        } else if let id = s.placeId ?? s.place?.id {
            appliesTo = .place(id: id)
        } else if let id = s.organizationId ?? s.organization?.id {
            appliesTo = .organization(id: id)
        } else {
            appliesTo = .other(type: s.scope ?? s._type ?? "unknown", id: 0)
        }
        let assignee: KisiAssigneeReference
        if let type = s.assigneeType, let id = s.assigneeId ?? s.assignee?.id {
            assignee = KisiAssigneeReference(type: type, id: id)
        } else if let id = s.userId ?? s.user?.id {
            assignee = .user(id: id)
        } else if let id = s.assigneeTeamId ?? s.assigneeTeam?.id {
            assignee = .team(id: id)
        } else if let id = s.guestId ?? s.guest?.id {
            assignee = .guest(id: id)
        } else {
            assignee = .other(type: "unknown", id: 0)
        }
        self.init(
            id: s.id,
            roleID: s.roleId ?? "",
            appliesTo: appliesTo,
            appliesToName: s.appliesTo?.name ?? s.group?.name ?? s.place?.name ?? s.organization?.name,
            assignee: assignee,
            assigneeEmail: s.assignee?.email ?? s.user?.email ?? s.guest?.email,
            assigneeName: s.assignee?.name ?? s.user?.name ?? s.guest?.name ?? s.assigneeTeam?.name,
            notify: s.notify,
            validFrom: s.validFrom,
            validUntil: s.validUntil,
            createdByType: s.createdByType,
            createdByID: s.createdById,
            createdAt: s.createdAt,
            updatedAt: s.updatedAt
        )
    }
}

extension KisiRole {
    init(_ s: Components.Schemas.Role) {
        self.init(
            id: s.id, name: s.name ?? s.id, appliesTo: s.appliesTo, description: s.description,
            custom: s.custom ?? false, permissions: s.permissions?.additionalProperties ?? [:]
        )
    }
}

extension KisiPlace {
    init(_ s: Components.Schemas.Place) {
        self.init(
            id: s.id, name: s.name ?? "", address: s.address, description: s.description,
            timeZone: s.timeZone ?? s.tzTimeZone, latitude: s.latitude, longitude: s.longitude,
            locksCount: s.locksCount, lockedDown: s.lockedDown, organizationID: s.organizationId ?? s.organization?.id
        )
    }
}

extension KisiLock {
    init(_ s: Components.Schemas.Lock) {
        self.init(
            id: s.id, name: s.name ?? "", description: s.description, placeID: s.placeId ?? s.place?.id,
            placeName: s.place?.name, floorID: s.floorId, configured: s.configured, online: s.online,
            unlocked: s.unlocked, lockedDown: s.lockedDown
        )
    }
}

extension KisiInvite {
    init(_ s: Components.Schemas.Invite) {
        self.init(
            id: s.id,
            target: s.invitesToType.flatMap { type in s.invitesToId.map { KisiScopeReference(type: type, id: $0) } },
            inviteeType: s.inviteeType ?? s.invitee?.resourceType,
            inviteeID: s.inviteeId ?? s.invitee?.id,
            inviteeEmail: s.invitee?.email,
            inviteeName: s.invitee?.name,
            roleAssignmentID: s.roleAssignmentId ?? s.roleAssignment?.id,
            roleID: s.roleAssignment?.roleId,
            validFrom: s.roleAssignment?.validFrom,
            validUntil: s.roleAssignment?.validUntil,
            notify: s.notify,
            createdAt: s.createdAt
        )
    }
}

extension KisiEvent {
    init(_ s: Components.Schemas.Event) {
        self.init(
            uuid: s.uuid, type: s._type ?? "", action: s.action, success: s.success, message: s.message,
            actorType: s.actorType, actorID: s.actorId, actorName: s.actorName, actorEmail: s.actorEmail,
            objectType: s.objectType, objectID: s.objectId, objectName: s.objectName, placeID: s.placeId,
            errorCode: s.errorCode, errorMessage: s.errorMessage, createdAt: s.createdAt
        )
    }
}

extension KisiEventPage {
    init(_ s: Components.Schemas.EventSet) {
        self.init(
            eventSetID: s.id, status: KisiEventSetStatus(s.status), events: (s.events ?? []).map(KisiEvent.init),
            cursor: s.cursor
        )
    }
}

extension KisiIntegration {
    init(_ s: Components.Schemas.Integration) {
        self.init(
            id: s.id, name: s.name ?? "", type: s._type ?? "", enabled: s.enabled, url: s.url,
            enabledEvents: s.enabledEvents, disabledDueToError: s.disabledDueToError,
            placeID: s.placeId ?? s.place?.id, createdAt: s.createdAt
        )
    }
}

// MARK: - Requests

extension KisiUserCreate {
    func request() throws -> Components.Schemas.CreateUserRequest {
        .init(
            user: .init(
                name: name, image: imageURL, sendEmails: sendEmails, confirm: confirm, accessEnabled: accessEnabled,
                passwordFlowEnabled: passwordFlowEnabled, metadata: try metadataContainer(metadata), notes: notes,
                email: email
            )
        )
    }
}

extension KisiUserPatch {
    func request() throws -> Components.Schemas.UpdateUserRequest {
        .init(
            user: .init(
                name: name, image: imageURL, accessEnabled: accessEnabled, passwordFlowEnabled: passwordFlowEnabled,
                metadata: try metadataContainer(metadata), notes: notes
            )
        )
    }
}

extension KisiGroupCreate {
    func request() -> Components.Schemas.CreateGroupRequest {
        .init(
            group: .init(
                name: name, description: description, placeId: placeID, loginEnabled: loginEnabled,
                geofenceRestrictionEnabled: geofenceRestrictionEnabled,
                primaryDeviceRestrictionEnabled: primaryDeviceRestrictionEnabled,
                managedDeviceRestrictionEnabled: managedDeviceRestrictionEnabled,
                readerRestrictionEnabled: readerRestrictionEnabled, timeRestrictionEnabled: timeRestrictionEnabled,
                tapToAccessRestrictionEnabled: tapToAccessRestrictionEnabled
            )
        )
    }
}

extension KisiGroupPatch {
    func request() -> Components.Schemas.UpdateGroupRequest {
        .init(
            group: .init(
                name: name, description: description, loginEnabled: loginEnabled,
                geofenceRestrictionEnabled: geofenceRestrictionEnabled,
                primaryDeviceRestrictionEnabled: primaryDeviceRestrictionEnabled,
                managedDeviceRestrictionEnabled: managedDeviceRestrictionEnabled,
                readerRestrictionEnabled: readerRestrictionEnabled, timeRestrictionEnabled: timeRestrictionEnabled,
                tapToAccessRestrictionEnabled: tapToAccessRestrictionEnabled
            )
        )
    }
}

extension KisiRoleAssignmentCreate {
    func request() throws -> Components.Schemas.CreateRoleAssignmentRequest {
        switch self {
        case .current(let assignee, let appliesTo, let roleID, let notify, let validFrom, let validUntil):
            typealias Payload = Components.Schemas.RoleAssignmentCreate.RoleAssignmentPayload
            guard let appliesToType = Payload.AppliesToTypePayload(rawValue: appliesTo.typeName) else {
                throw KisiError.unexpected(status: nil, code: nil, description: "role assignments cannot apply to \(appliesTo.typeName)")
            }
            guard let assigneeType = Payload.AssigneeTypePayload(rawValue: assignee.typeName) else {
                throw KisiError.unexpected(status: nil, code: nil, description: "unsupported assignee type \(assignee.typeName)")
            }
            return .RoleAssignmentCreate(
                .init(
                    roleAssignment: .init(
                        appliesToType: appliesToType, appliesToId: appliesTo.id, assigneeType: assigneeType,
                        assigneeId: assignee.id, roleId: roleID, notify: notify, validFrom: validFrom,
                        validUntil: validUntil
                    )
                )
            )
        case .legacy(let userID, let groupID, let roleID, let notify, let validFrom, let validUntil):
            return .LegacyRoleAssignmentCreate(
                .init(
                    roleAssignment: .init(
                        userId: userID, groupId: groupID, roleId: roleID, notify: notify, validFrom: validFrom,
                        validUntil: validUntil
                    )
                )
            )
        }
    }
}

extension KisiRoleAssignmentPatch {
    func request() -> Components.Schemas.UpdateRoleAssignmentRequest {
        .init(roleAssignment: .init(roleId: roleID, notify: notify, validFrom: validFrom, validUntil: validUntil))
    }
}

extension KisiInviteCreate {
    func request() throws -> Components.Schemas.CreateInviteRequest {
        typealias Payload = Components.Schemas.CreateInviteRequest.InvitePayload
        guard let targetType = Payload.InvitesToTypePayload(rawValue: target.typeName) else {
            throw KisiError.unexpected(status: nil, code: nil, description: "invites cannot target \(target.typeName)")
        }
        let invitee: Payload.InviteePayload
        switch self.invitee {
        case .user(let email, let name):
            invitee = .init(resourceType: .user, email: email, name: name)
        case .guest(let name, let email, let phoneNumber):
            invitee = .init(resourceType: .guest, email: email, name: name, phoneNumber: phoneNumber)
        }
        let accessKey: Payload.AccessKeyPayload? =
            (linkEnabled == nil && qrCodeEnabled == nil) ? nil : .init(linkEnabled: linkEnabled, qrCodeEnabled: qrCodeEnabled)
        let roleAssignment: Payload.RoleAssignmentPayload? =
            roleID == nil && validFrom == nil && validUntil == nil
            ? nil : .init(roleId: roleID, validFrom: validFrom, validUntil: validUntil)
        return .init(
            invite: .init(
                notify: notify, invitesToType: targetType, invitesToId: target.id, invitee: invitee,
                accessKey: accessKey, roleAssignment: roleAssignment
            )
        )
    }
}

extension KisiEventQuery {
    func request() -> Components.Schemas.CreateEventSetRequest {
        .init(
            eventSet: .init(
                interval: interval, eventActorId: actorID, eventActorType: actorType, eventObjectId: objectID,
                eventObjectType: objectType, eventSuccess: success,
                eventType: eventTypes.isEmpty ? nil : eventTypes.joined(separator: ","), placeId: placeID
            )
        )
    }
}

extension KisiEventWebhookCreate {
    func request() -> Components.Schemas.CreateEventWebhookIntegrationRequest {
        .init(
            integration: .init(
                name: name, enabled: enabled, _type: .eventWebhook, url: url,
                enabledEvents: (enabledEvents?.isEmpty ?? true) ? nil : enabledEvents, signatureKey: signatureKey
            )
        )
    }
}
