import Foundation

// Hand-written public domain types. Generated types (Components.Schemas.*) never appear in the public API.

// MARK: - Common

/// A scalar `metadata` value (Kisi allows string, number, boolean and null only).
public enum KisiMetadataValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null

    public var description: String {
        switch self {
        case .string(let value): return value
        case .int(let value): return String(value)
        case .double(let value): return String(value)
        case .bool(let value): return String(value)
        case .null: return "null"
        }
    }

    /// The string value, if this is `.string`.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

/// Result of a delete: Kisi answered 204, or 404 ("already gone", which is also success).
public enum KisiDeletion: Sendable, Hashable {
    case deleted
    case alreadyGone
}

/// What a role applies to, or what an invite is for.
public enum KisiScopeReference: Sendable, Hashable {
    case organization(id: Int)
    case place(id: Int)
    case group(id: Int)
    case other(type: String, id: Int)

    public var id: Int {
        switch self {
        case .organization(let id), .place(let id), .group(let id), .other(_, let id): return id
        }
    }

    public var typeName: String {
        switch self {
        case .organization: return "Organization"
        case .place: return "Place"
        case .group: return "Group"
        case .other(let type, _): return type
        }
    }

    init(type: String, id: Int) {
        switch type {
        case "Organization": self = .organization(id: id)
        case "Place": self = .place(id: id)
        case "Group": self = .group(id: id)
        default: self = .other(type: type, id: id)
        }
    }
}

/// Who holds a role assignment.
public enum KisiAssigneeReference: Sendable, Hashable {
    case user(id: Int)
    case team(id: Int)
    case guest(id: Int)
    case other(type: String, id: Int)

    public var id: Int {
        switch self {
        case .user(let id), .team(let id), .guest(let id), .other(_, let id): return id
        }
    }

    public var typeName: String {
        switch self {
        case .user: return "User"
        case .team: return "Team"
        case .guest: return "Guest"
        case .other(let type, _): return type
        }
    }

    init(type: String, id: Int) {
        switch type {
        case "User": self = .user(id: id)
        case "Team": self = .team(id: id)
        case "Guest": self = .guest(id: id)
        default: self = .other(type: type, id: id)
        }
    }
}

// MARK: - Organization, current user, login

public struct KisiOrganization: Sendable, Hashable, Identifiable {
    public var id: Int
    public var name: String
    public var domain: String?
    public var timeZone: String?
    public var placesCount: Int?
    public var scimEnabled: Bool?
    /// The owner's user id.
    public var ownerUserID: Int?
    public var createdAt: Date?

    public init(
        id: Int, name: String, domain: String? = nil, timeZone: String? = nil, placesCount: Int? = nil,
        scimEnabled: Bool? = nil, ownerUserID: Int? = nil, createdAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.domain = domain
        self.timeZone = timeZone
        self.placesCount = placesCount
        self.scimEnabled = scimEnabled
        self.ownerUserID = ownerUserID
        self.createdAt = createdAt
    }
}

/// The user that owns the API key (`GET /user`).
public struct KisiCurrentUser: Sendable, Hashable, Identifiable {
    public var id: Int
    public var name: String
    public var email: String
    public var organizationID: Int?
    public var organizationName: String?
    public var organizationDomain: String?

    public init(
        id: Int, name: String, email: String, organizationID: Int? = nil, organizationName: String? = nil,
        organizationDomain: String? = nil
    ) {
        self.id = id
        self.name = name
        self.email = email
        self.organizationID = organizationID
        self.organizationName = organizationName
        self.organizationDomain = organizationDomain
    }
}

/// The login (API key) in use (`GET /login`). Never contains the secret.
public struct KisiLogin: Sendable, Hashable, Identifiable {
    public var id: Int
    /// `api` or `device`.
    public var type: String?
    public var name: String?
    public var userID: Int?
    public var userEmail: String?
    public var expires: Bool?
    public var lastUsedAt: Date?

    public init(
        id: Int, type: String? = nil, name: String? = nil, userID: Int? = nil, userEmail: String? = nil,
        expires: Bool? = nil, lastUsedAt: Date? = nil
    ) {
        self.id = id
        self.type = type
        self.name = name
        self.userID = userID
        self.userEmail = userEmail
        self.expires = expires
        self.lastUsedAt = lastUsedAt
    }
}

// MARK: - Users

public struct KisiUser: Sendable, Hashable, Identifiable {
    public var id: Int
    public var name: String
    public var email: String
    /// False = access suspended: the user cannot unlock anything but keeps role assignments.
    public var accessEnabled: Bool
    public var passwordFlowEnabled: Bool?
    /// False when a SCIM directory disabled the user.
    public var scimAccessEnabled: Bool?
    public var notes: String?
    public var metadata: [String: KisiMetadataValue]
    public var imageURL: String?
    public var organizationID: Int?
    public var confirmed: Bool?
    public var lastAccessedAt: Date?
    public var createdAt: Date?
    public var updatedAt: Date?

    public init(
        id: Int, name: String, email: String, accessEnabled: Bool = true, passwordFlowEnabled: Bool? = nil,
        scimAccessEnabled: Bool? = nil, notes: String? = nil, metadata: [String: KisiMetadataValue] = [:],
        imageURL: String? = nil, organizationID: Int? = nil, confirmed: Bool? = nil, lastAccessedAt: Date? = nil,
        createdAt: Date? = nil, updatedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.email = email
        self.accessEnabled = accessEnabled
        self.passwordFlowEnabled = passwordFlowEnabled
        self.scimAccessEnabled = scimAccessEnabled
        self.notes = notes
        self.metadata = metadata
        self.imageURL = imageURL
        self.organizationID = organizationID
        self.confirmed = confirmed
        self.lastAccessedAt = lastAccessedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Filters of `GET /users`. `email` is an exact filter; `query` is a free-text search over email, name
/// and notes (never treat a `query` hit as an exact match).
public struct KisiUserFilter: Sendable, Hashable {
    public var ids: [Int]
    public var email: String?
    public var query: String?
    public var placeID: Int?
    public var groupID: Int?

    public init(ids: [Int] = [], email: String? = nil, query: String? = nil, placeID: Int? = nil, groupID: Int? = nil) {
        self.ids = ids
        self.email = email
        self.query = query
        self.placeID = placeID
        self.groupID = groupID
    }
}

/// `POST /users`. For managed (white-label) users set `sendEmails: false, confirm: true`.
public struct KisiUserCreate: Sendable, Hashable {
    public var email: String
    public var name: String?
    public var sendEmails: Bool?
    public var confirm: Bool?
    public var accessEnabled: Bool?
    public var passwordFlowEnabled: Bool?
    public var notes: String?
    /// Scalar values only; at most 50 keys.
    public var metadata: [String: KisiMetadataValue]?
    public var imageURL: String?

    public init(
        email: String, name: String? = nil, sendEmails: Bool? = nil, confirm: Bool? = nil,
        accessEnabled: Bool? = nil, passwordFlowEnabled: Bool? = nil, notes: String? = nil,
        metadata: [String: KisiMetadataValue]? = nil, imageURL: String? = nil
    ) {
        self.email = email
        self.name = name
        self.sendEmails = sendEmails
        self.confirm = confirm
        self.accessEnabled = accessEnabled
        self.passwordFlowEnabled = passwordFlowEnabled
        self.notes = notes
        self.metadata = metadata
        self.imageURL = imageURL
    }
}

/// `PATCH /users/{id}`: nil fields are left unchanged. (Kisi does not allow changing the email.)
public struct KisiUserPatch: Sendable, Hashable {
    public var name: String?
    public var accessEnabled: Bool?
    public var passwordFlowEnabled: Bool?
    public var notes: String?
    public var metadata: [String: KisiMetadataValue]?
    public var imageURL: String?

    public init(
        name: String? = nil, accessEnabled: Bool? = nil, passwordFlowEnabled: Bool? = nil, notes: String? = nil,
        metadata: [String: KisiMetadataValue]? = nil, imageURL: String? = nil
    ) {
        self.name = name
        self.accessEnabled = accessEnabled
        self.passwordFlowEnabled = passwordFlowEnabled
        self.notes = notes
        self.metadata = metadata
        self.imageURL = imageURL
    }
}

// MARK: - Groups

public struct KisiGroup: Sendable, Hashable, Identifiable {
    public var id: Int
    public var name: String
    public var description: String?
    /// Nil for an organization-scoped group.
    public var placeID: Int?
    public var placeName: String?
    /// Whether members may unlock with the app.
    public var loginEnabled: Bool?
    public var usersCount: Int?
    public var locksCount: Int?
    public var timeRestrictionEnabled: Bool?
    public var geofenceRestrictionEnabled: Bool?
    public var createdAt: Date?
    public var updatedAt: Date?

    public var isOrganizationScoped: Bool { placeID == nil }

    public init(
        id: Int, name: String, description: String? = nil, placeID: Int? = nil, placeName: String? = nil,
        loginEnabled: Bool? = nil, usersCount: Int? = nil, locksCount: Int? = nil,
        timeRestrictionEnabled: Bool? = nil, geofenceRestrictionEnabled: Bool? = nil, createdAt: Date? = nil,
        updatedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.placeID = placeID
        self.placeName = placeName
        self.loginEnabled = loginEnabled
        self.usersCount = usersCount
        self.locksCount = locksCount
        self.timeRestrictionEnabled = timeRestrictionEnabled
        self.geofenceRestrictionEnabled = geofenceRestrictionEnabled
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public enum KisiGroupScope: String, Sendable, Hashable {
    case organization
    case place
}

public struct KisiGroupFilter: Sendable, Hashable {
    public var ids: [Int]
    /// Free-text search over the name.
    public var query: String?
    public var scope: KisiGroupScope?
    public var placeID: Int?
    public var lockID: Int?

    public init(ids: [Int] = [], query: String? = nil, scope: KisiGroupScope? = nil, placeID: Int? = nil, lockID: Int? = nil) {
        self.ids = ids
        self.query = query
        self.scope = scope
        self.placeID = placeID
        self.lockID = lockID
    }
}

/// `POST /groups`. `placeID == nil` creates an organization-scoped group (doors of several places);
/// with a place it is place-scoped. The scope cannot be changed later.
public struct KisiGroupCreate: Sendable, Hashable {
    public var name: String
    public var description: String?
    public var placeID: Int?
    public var loginEnabled: Bool?
    public var geofenceRestrictionEnabled: Bool?
    public var primaryDeviceRestrictionEnabled: Bool?
    public var managedDeviceRestrictionEnabled: Bool?
    public var readerRestrictionEnabled: Bool?
    public var timeRestrictionEnabled: Bool?
    public var tapToAccessRestrictionEnabled: Bool?

    public init(
        name: String, description: String? = nil, placeID: Int? = nil, loginEnabled: Bool? = nil,
        geofenceRestrictionEnabled: Bool? = nil, primaryDeviceRestrictionEnabled: Bool? = nil,
        managedDeviceRestrictionEnabled: Bool? = nil, readerRestrictionEnabled: Bool? = nil,
        timeRestrictionEnabled: Bool? = nil, tapToAccessRestrictionEnabled: Bool? = nil
    ) {
        self.name = name
        self.description = description
        self.placeID = placeID
        self.loginEnabled = loginEnabled
        self.geofenceRestrictionEnabled = geofenceRestrictionEnabled
        self.primaryDeviceRestrictionEnabled = primaryDeviceRestrictionEnabled
        self.managedDeviceRestrictionEnabled = managedDeviceRestrictionEnabled
        self.readerRestrictionEnabled = readerRestrictionEnabled
        self.timeRestrictionEnabled = timeRestrictionEnabled
        self.tapToAccessRestrictionEnabled = tapToAccessRestrictionEnabled
    }
}

/// `PATCH /groups/{id}`: nil fields are left unchanged; the place cannot be changed.
public struct KisiGroupPatch: Sendable, Hashable {
    public var name: String?
    public var description: String?
    public var loginEnabled: Bool?
    public var geofenceRestrictionEnabled: Bool?
    public var primaryDeviceRestrictionEnabled: Bool?
    public var managedDeviceRestrictionEnabled: Bool?
    public var readerRestrictionEnabled: Bool?
    public var timeRestrictionEnabled: Bool?
    public var tapToAccessRestrictionEnabled: Bool?

    public init(
        name: String? = nil, description: String? = nil, loginEnabled: Bool? = nil,
        geofenceRestrictionEnabled: Bool? = nil, primaryDeviceRestrictionEnabled: Bool? = nil,
        managedDeviceRestrictionEnabled: Bool? = nil, readerRestrictionEnabled: Bool? = nil,
        timeRestrictionEnabled: Bool? = nil, tapToAccessRestrictionEnabled: Bool? = nil
    ) {
        self.name = name
        self.description = description
        self.loginEnabled = loginEnabled
        self.geofenceRestrictionEnabled = geofenceRestrictionEnabled
        self.primaryDeviceRestrictionEnabled = primaryDeviceRestrictionEnabled
        self.managedDeviceRestrictionEnabled = managedDeviceRestrictionEnabled
        self.readerRestrictionEnabled = readerRestrictionEnabled
        self.timeRestrictionEnabled = timeRestrictionEnabled
        self.tapToAccessRestrictionEnabled = tapToAccessRestrictionEnabled
    }
}

// MARK: - Group locks

/// A door in a group.
public struct KisiGroupLock: Sendable, Hashable, Identifiable {
    public var id: Int
    public var groupID: Int
    public var lockID: Int
    public var placeID: Int?
    public var groupName: String?
    public var lockName: String?
    public var createdAt: Date?

    public init(
        id: Int, groupID: Int, lockID: Int, placeID: Int? = nil, groupName: String? = nil, lockName: String? = nil,
        createdAt: Date? = nil
    ) {
        self.id = id
        self.groupID = groupID
        self.lockID = lockID
        self.placeID = placeID
        self.groupName = groupName
        self.lockName = lockName
        self.createdAt = createdAt
    }
}

// MARK: - Role assignments

/// An access right: `assignee` holds role `roleID` in `appliesTo` (for members: `group_basic` in a group).
public struct KisiRoleAssignment: Sendable, Hashable, Identifiable {
    public var id: Int
    public var roleID: String
    public var appliesTo: KisiScopeReference
    public var appliesToName: String?
    public var assignee: KisiAssigneeReference
    public var assigneeEmail: String?
    public var assigneeName: String?
    public var notify: Bool?
    /// Group role assignments only.
    public var validFrom: Date?
    /// Group role assignments only.
    public var validUntil: Date?
    public var createdByType: String?
    public var createdByID: Int?
    public var createdAt: Date?
    public var updatedAt: Date?

    public init(
        id: Int, roleID: String, appliesTo: KisiScopeReference, appliesToName: String? = nil,
        assignee: KisiAssigneeReference, assigneeEmail: String? = nil, assigneeName: String? = nil,
        notify: Bool? = nil, validFrom: Date? = nil, validUntil: Date? = nil, createdByType: String? = nil,
        createdByID: Int? = nil, createdAt: Date? = nil, updatedAt: Date? = nil
    ) {
        self.id = id
        self.roleID = roleID
        self.appliesTo = appliesTo
        self.appliesToName = appliesToName
        self.assignee = assignee
        self.assigneeEmail = assigneeEmail
        self.assigneeName = assigneeName
        self.notify = notify
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.createdByType = createdByType
        self.createdByID = createdByID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Filters of `GET /role_assignments`. Prefer `assignee` + `appliesTo`; `legacyUserID` / `legacyGroupID`
/// / `legacyPlaceID` are Kisi's deprecated `user_id` / `group_id` / `place_id` filters (still used by
/// Kisi's guides).
public struct KisiRoleAssignmentFilter: Sendable, Hashable {
    public var ids: [Int]
    /// Free-text search over the user's email and name.
    public var query: String?
    public var roleID: String?
    public var assignee: KisiAssigneeReference?
    public var appliesTo: KisiScopeReference?
    public var legacyUserID: Int?
    public var legacyGroupID: Int?
    public var legacyPlaceID: Int?
    /// Kisi's only orders: by the user's name, either way. Reading a list from both ends reaches twice as
    /// far as the offset ceiling lets one order reach.
    public var sortByUserName: SortOrder?

    public enum SortOrder: Sendable, Hashable { case ascending, descending }

    public init(
        ids: [Int] = [], query: String? = nil, roleID: String? = nil, assignee: KisiAssigneeReference? = nil,
        appliesTo: KisiScopeReference? = nil, legacyUserID: Int? = nil, legacyGroupID: Int? = nil,
        legacyPlaceID: Int? = nil, sortByUserName: SortOrder? = nil
    ) {
        self.sortByUserName = sortByUserName
        self.ids = ids
        self.query = query
        self.roleID = roleID
        self.assignee = assignee
        self.appliesTo = appliesTo
        self.legacyUserID = legacyUserID
        self.legacyGroupID = legacyGroupID
        self.legacyPlaceID = legacyPlaceID
    }
}

/// `POST /role_assignments` in either body shape Kisi accepts.
public enum KisiRoleAssignmentCreate: Sendable, Hashable {
    /// Current shape: `applies_to_type/id`, `assignee_type/id`, `role_id`, ...
    /// `validFrom`/`validUntil` are only meaningful for groups.
    case current(
        assignee: KisiAssigneeReference,
        appliesTo: KisiScopeReference,
        roleID: String,
        notify: Bool? = nil,
        validFrom: Date? = nil,
        validUntil: Date? = nil
    )
    /// Deprecated shape from Kisi's guides: `user_id`, `group_id`, `role_id`, ...
    case legacy(
        userID: Int,
        groupID: Int,
        roleID: String,
        notify: Bool? = nil,
        validFrom: Date? = nil,
        validUntil: Date? = nil
    )

    /// Door access for a user in a group (`group_basic`), in the current shape.
    public static func groupAccess(
        userID: Int, groupID: Int, roleID: String = "group_basic", notify: Bool? = false, validFrom: Date? = nil,
        validUntil: Date? = nil
    ) -> KisiRoleAssignmentCreate {
        .current(
            assignee: .user(id: userID), appliesTo: .group(id: groupID), roleID: roleID, notify: notify,
            validFrom: validFrom, validUntil: validUntil
        )
    }
}

/// `PATCH /role_assignments/{id}`: nil fields are left unchanged (a nil date cannot clear a date).
public struct KisiRoleAssignmentPatch: Sendable, Hashable {
    public var roleID: String?
    public var notify: Bool?
    public var validFrom: Date?
    public var validUntil: Date?

    public init(roleID: String? = nil, notify: Bool? = nil, validFrom: Date? = nil, validUntil: Date? = nil) {
        self.roleID = roleID
        self.notify = notify
        self.validFrom = validFrom
        self.validUntil = validUntil
    }
}

// MARK: - Roles

public struct KisiRole: Sendable, Hashable, Identifiable {
    /// E.g. `group_basic`, `group_manager`.
    public var id: String
    public var name: String
    /// `Organization`, `Place` or `Group`.
    public var appliesTo: String?
    public var description: String?
    public var custom: Bool
    public var permissions: [String: Bool]

    public init(
        id: String, name: String, appliesTo: String? = nil, description: String? = nil, custom: Bool = false,
        permissions: [String: Bool] = [:]
    ) {
        self.id = id
        self.name = name
        self.appliesTo = appliesTo
        self.description = description
        self.custom = custom
        self.permissions = permissions
    }
}

// MARK: - Places and locks

public struct KisiPlace: Sendable, Hashable, Identifiable {
    public var id: Int
    public var name: String
    public var address: String?
    public var description: String?
    public var timeZone: String?
    public var latitude: Double?
    public var longitude: Double?
    public var locksCount: Int?
    public var lockedDown: Bool?
    public var organizationID: Int?

    public init(
        id: Int, name: String, address: String? = nil, description: String? = nil, timeZone: String? = nil,
        latitude: Double? = nil, longitude: Double? = nil, locksCount: Int? = nil, lockedDown: Bool? = nil,
        organizationID: Int? = nil
    ) {
        self.id = id
        self.name = name
        self.address = address
        self.description = description
        self.timeZone = timeZone
        self.latitude = latitude
        self.longitude = longitude
        self.locksCount = locksCount
        self.lockedDown = lockedDown
        self.organizationID = organizationID
    }
}

public struct KisiPlaceFilter: Sendable, Hashable {
    public var ids: [Int]
    public var query: String?

    public init(ids: [Int] = [], query: String? = nil) {
        self.ids = ids
        self.query = query
    }
}

/// A door.
public struct KisiLock: Sendable, Hashable, Identifiable {
    public var id: Int
    public var name: String
    public var description: String?
    public var placeID: Int?
    public var placeName: String?
    public var floorID: Int?
    public var configured: Bool?
    public var online: Bool?
    public var unlocked: Bool?
    public var lockedDown: Bool?

    public init(
        id: Int, name: String, description: String? = nil, placeID: Int? = nil, placeName: String? = nil,
        floorID: Int? = nil, configured: Bool? = nil, online: Bool? = nil, unlocked: Bool? = nil,
        lockedDown: Bool? = nil
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.placeID = placeID
        self.placeName = placeName
        self.floorID = floorID
        self.configured = configured
        self.online = online
        self.unlocked = unlocked
        self.lockedDown = lockedDown
    }
}

public struct KisiLockFilter: Sendable, Hashable {
    public var ids: [Int]
    public var query: String?
    public var placeID: Int?
    public var floorID: Int?

    public init(ids: [Int] = [], query: String? = nil, placeID: Int? = nil, floorID: Int? = nil) {
        self.ids = ids
        self.query = query
        self.placeID = placeID
        self.floorID = floorID
    }
}

// MARK: - Invites

/// Who is invited.
public enum KisiInvitee: Sendable, Hashable {
    /// A Kisi user (created if the email is unknown).
    case user(email: String, name: String)
    /// A guest (access link / QR code); phone numbers in E.164, US/CA/PR only.
    case guest(name: String, email: String? = nil, phoneNumber: String? = nil)
}

/// `POST /invites`: create (or reuse) a user and grant a role in one call.
public struct KisiInviteCreate: Sendable, Hashable {
    /// A group, place or team (`.other(type: "Team", id:)`).
    public var target: KisiScopeReference
    public var invitee: KisiInvitee
    /// Required for group and place invites; ignored for teams.
    public var roleID: String?
    /// Group invites only.
    public var validFrom: Date?
    /// Group invites only.
    public var validUntil: Date?
    /// Email the invitee (Kisi's default: true).
    public var notify: Bool?
    /// Guests: generate an access link / a QR code.
    public var linkEnabled: Bool?
    public var qrCodeEnabled: Bool?

    public init(
        target: KisiScopeReference, invitee: KisiInvitee, roleID: String? = nil, validFrom: Date? = nil,
        validUntil: Date? = nil, notify: Bool? = nil, linkEnabled: Bool? = nil, qrCodeEnabled: Bool? = nil
    ) {
        self.target = target
        self.invitee = invitee
        self.roleID = roleID
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.notify = notify
        self.linkEnabled = linkEnabled
        self.qrCodeEnabled = qrCodeEnabled
    }

    /// A group invite with door access (`group_basic`).
    public static func group(
        id groupID: Int, invitee: KisiInvitee, roleID: String = "group_basic", validFrom: Date? = nil,
        validUntil: Date? = nil, notify: Bool? = nil
    ) -> KisiInviteCreate {
        KisiInviteCreate(
            target: .group(id: groupID), invitee: invitee, roleID: roleID, validFrom: validFrom,
            validUntil: validUntil, notify: notify
        )
    }
}

public struct KisiInvite: Sendable, Hashable, Identifiable {
    public var id: Int
    public var target: KisiScopeReference?
    /// `User` or `Guest`.
    public var inviteeType: String?
    public var inviteeID: Int?
    public var inviteeEmail: String?
    public var inviteeName: String?
    public var roleAssignmentID: Int?
    public var roleID: String?
    public var validFrom: Date?
    public var validUntil: Date?
    public var notify: Bool?
    public var createdAt: Date?

    public init(
        id: Int, target: KisiScopeReference? = nil, inviteeType: String? = nil, inviteeID: Int? = nil,
        inviteeEmail: String? = nil, inviteeName: String? = nil, roleAssignmentID: Int? = nil,
        roleID: String? = nil, validFrom: Date? = nil, validUntil: Date? = nil, notify: Bool? = nil,
        createdAt: Date? = nil
    ) {
        self.id = id
        self.target = target
        self.inviteeType = inviteeType
        self.inviteeID = inviteeID
        self.inviteeEmail = inviteeEmail
        self.inviteeName = inviteeName
        self.roleAssignmentID = roleAssignmentID
        self.roleID = roleID
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.notify = notify
        self.createdAt = createdAt
    }
}

// MARK: - Events

public struct KisiEvent: Sendable, Hashable, Identifiable {
    public var uuid: String
    /// E.g. `lock.unlock`, `user.create`.
    public var type: String
    public var action: String?
    public var success: Bool?
    public var message: String?
    public var actorType: String?
    public var actorID: Int?
    public var actorName: String?
    public var actorEmail: String?
    public var objectType: String?
    public var objectID: Int?
    public var objectName: String?
    public var placeID: Int?
    public var errorCode: String?
    public var errorMessage: String?
    public var createdAt: Date?

    public var id: String { uuid }

    public init(
        uuid: String, type: String, action: String? = nil, success: Bool? = nil, message: String? = nil,
        actorType: String? = nil, actorID: Int? = nil, actorName: String? = nil, actorEmail: String? = nil,
        objectType: String? = nil, objectID: Int? = nil, objectName: String? = nil, placeID: Int? = nil,
        errorCode: String? = nil, errorMessage: String? = nil, createdAt: Date? = nil
    ) {
        self.uuid = uuid
        self.type = type
        self.action = action
        self.success = success
        self.message = message
        self.actorType = actorType
        self.actorID = actorID
        self.actorName = actorName
        self.actorEmail = actorEmail
        self.objectType = objectType
        self.objectID = objectID
        self.objectName = objectName
        self.placeID = placeID
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.createdAt = createdAt
    }
}

public enum KisiEventSetStatus: Sendable, Hashable {
    case inProgress
    case finished
    case failed
    case other(String)

    init(_ raw: String?) {
        switch raw {
        case "in_progress": self = .inProgress
        case "finished": self = .finished
        case "failed": self = .failed
        default: self = .other(raw ?? "unknown")
        }
    }
}

/// One page of an event set (cursor pagination). `cursor == nil` means no more events (or the set is
/// still `inProgress`: poll ``KisiClient/eventSet(id:cursor:limit:)`` until it is finished).
public struct KisiEventPage: Sendable, Hashable {
    public var eventSetID: Int
    public var status: KisiEventSetStatus
    public var events: [KisiEvent]
    public var cursor: String?

    public init(eventSetID: Int, status: KisiEventSetStatus, events: [KisiEvent], cursor: String?) {
        self.eventSetID = eventSetID
        self.status = status
        self.events = events
        self.cursor = cursor
    }
}

/// `POST /event_sets`: which events to collect. The interval is at most 90 days.
public struct KisiEventQuery: Sendable, Hashable {
    /// ISO-8601 interval: `start/end`, `start/duration` or `duration/end`.
    public var interval: String
    /// Event types, e.g. `["lock.unlock"]`.
    public var eventTypes: [String]
    public var placeID: Int?
    public var actorType: String?
    public var actorID: Int?
    public var objectType: String?
    public var objectID: Int?
    public var success: Bool?

    public init(
        interval: String, eventTypes: [String] = [], placeID: Int? = nil, actorType: String? = nil,
        actorID: Int? = nil, objectType: String? = nil, objectID: Int? = nil, success: Bool? = nil
    ) {
        self.interval = interval
        self.eventTypes = eventTypes
        self.placeID = placeID
        self.actorType = actorType
        self.actorID = actorID
        self.objectType = objectType
        self.objectID = objectID
        self.success = success
    }

    /// Events between two dates.
    public init(from start: Date, to end: Date, eventTypes: [String] = [], placeID: Int? = nil) {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        self.init(
            interval: "\(formatter.string(from: start))/\(formatter.string(from: end))",
            eventTypes: eventTypes,
            placeID: placeID
        )
    }
}

// MARK: - Integrations (event webhooks)

public struct KisiIntegration: Sendable, Hashable, Identifiable {
    public var id: Int
    public var name: String
    /// E.g. `event_webhook`.
    public var type: String
    public var enabled: Bool?
    /// Event webhooks: the receiving URL.
    public var url: String?
    public var enabledEvents: [String]?
    public var disabledDueToError: Bool?
    public var placeID: Int?
    public var createdAt: Date?

    public init(
        id: Int, name: String, type: String, enabled: Bool? = nil, url: String? = nil, enabledEvents: [String]? = nil,
        disabledDueToError: Bool? = nil, placeID: Int? = nil, createdAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.type = type
        self.enabled = enabled
        self.url = url
        self.enabledEvents = enabledEvents
        self.disabledDueToError = disabledDueToError
        self.placeID = placeID
        self.createdAt = createdAt
    }
}

/// `POST /integrations` with `type: event_webhook`. The signature key is redacted from descriptions.
public struct KisiEventWebhookCreate: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    public var name: String
    public var url: String
    public var enabled: Bool?
    /// Event types to deliver, e.g. `["lock.unlock"]`; nil or empty = all.
    public var enabledEvents: [String]?
    /// HMAC-SHA256 key: Kisi then signs deliveries with `X-Signature: sha256=<MAC>`.
    public var signatureKey: String?

    public init(name: String, url: String, enabled: Bool? = true, enabledEvents: [String]? = nil, signatureKey: String? = nil) {
        self.name = name
        self.url = url
        self.enabled = enabled
        self.enabledEvents = enabledEvents
        self.signatureKey = signatureKey
    }

    public var description: String {
        "KisiEventWebhookCreate(name: \(name), url: \(url), enabled: \(enabled.map(String.init) ?? "nil"), "
            + "enabledEvents: \(enabledEvents ?? []), signatureKey: \(signatureKey == nil ? "nil" : "<redacted>"))"
    }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "name": name, "url": url, "enabled": enabled as Any, "enabledEvents": enabledEvents as Any,
                "signatureKey": signatureKey == nil ? "nil" : "<redacted>",
            ],
            displayStyle: .struct
        )
    }
}
