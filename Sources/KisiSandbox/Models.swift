import Foundation

// Stored records. They are the persistence format too (see `StoreState`), so they are plain Codable
// structs; the wire shapes live in Serializers.swift.

struct OrganizationRecord: Codable, Sendable {
    var id: Int
    var name: String
    var domain: String
    var timeZone: String
    var ownerUserId: Int?
    var createdAt: Date
    var updatedAt: Date
}

struct UserRecord: Codable, Sendable {
    var id: Int
    var organizationId: Int
    var name: String
    var email: String
    var image: String?
    var notes: String?
    var metadata: [String: JSONValue]
    var accessEnabled: Bool
    var passwordFlowEnabled: Bool
    var confirmed: Bool
    var lastAccessedAt: Date?
    var createdAt: Date
    var updatedAt: Date
}

/// An API login ("API key"). Kisi calls the secret a login secret.
struct LoginRecord: Codable, Sendable {
    var id: Int
    var userId: Int
    var organizationId: Int
    var secret: String
    var name: String?
    var createdAt: Date
    var updatedAt: Date
    var lastUsedAt: Date?
}

struct PlaceRecord: Codable, Sendable {
    var id: Int
    var organizationId: Int
    var name: String
    var address: String
    var description: String?
    var timeZone: String?
    var latitude: Double?
    var longitude: Double?
    var createdAt: Date
    var updatedAt: Date
}

struct LockRecord: Codable, Sendable {
    var id: Int
    var placeId: Int
    var name: String
    var description: String?
    var createdAt: Date
    var updatedAt: Date
    /// Kisi's `locked_down_since`; nil = not locked down. Set through `/_sandbox/locks/{id}`.
    var lockedDownSince: Date? = nil
    /// Optional so that state saved before the field existed still loads: nil = online.
    var offline: Bool? = nil

    var isLockedDown: Bool { lockedDownSince != nil }
    var isOnline: Bool { offline != true }
}

struct GroupRecord: Codable, Sendable {
    var id: Int
    var organizationId: Int
    var name: String
    var description: String?
    var placeId: Int?
    var loginEnabled: Bool
    var geofenceRestrictionEnabled: Bool
    var primaryDeviceRestrictionEnabled: Bool
    var managedDeviceRestrictionEnabled: Bool
    var readerRestrictionEnabled: Bool
    var timeRestrictionEnabled: Bool
    var tapToAccessRestrictionEnabled: Bool
    var timeRestrictionTimeZone: String?
    var createdAt: Date
    var updatedAt: Date
}

struct GroupLockRecord: Codable, Sendable {
    var id: Int
    var groupId: Int
    var lockId: Int
    var createdAt: Date
    var updatedAt: Date
}

enum AppliesToType: String, Codable, Sendable {
    case organization = "Organization"
    case place = "Place"
    case group = "Group"

    var scope: String { rawValue.lowercased() }
}

struct RoleAssignmentRecord: Codable, Sendable {
    var id: Int
    var organizationId: Int
    var userId: Int
    var appliesToType: AppliesToType
    var appliesToId: Int
    var roleId: String
    var notify: Bool
    var validFrom: Date?
    var validUntil: Date?
    var createdById: Int?
    var createdAt: Date
    var updatedAt: Date
}

struct IntegrationRecord: Codable, Sendable {
    var id: Int
    var organizationId: Int
    var name: String
    var url: String
    var enabled: Bool
    var enabledEvents: [String]
    var signatureKey: String?
    var createdAt: Date
    var updatedAt: Date
}

struct InviteRecord: Codable, Sendable {
    var id: Int
    var organizationId: Int
    var groupId: Int
    var userId: Int
    var roleAssignmentId: Int
    var notify: Bool
    var createdAt: Date
    var updatedAt: Date
}

/// One entry of the event stream, with exactly the document's Event fields.
struct EventRecord: Codable, Sendable {
    var uuid: String
    var type: String
    var actorType: String?
    var actorId: Int?
    var actorName: String?
    var actorEmail: String?
    var authenticatedByType: String?
    var authenticatedById: Int?
    var objectType: String
    var objectId: Int
    var objectName: String
    var action: String
    var createdAt: Date
    var message: String?
    var success: Bool
    var code: String?
    var sequence: Int
    var organizationId: Int
    var placeId: Int?
    var errorCode: String?
    var errorMessage: String?
}

struct EventSetRecord: Codable, Sendable {
    var id: Int
    var organizationId: Int
    var createdAt: Date
    var interval: String
    var filters: [String: JSONValue]
    /// uuids of the matching events, newest first, frozen when the set was created (Kisi computes a set once).
    var eventUUIDs: [String]
    /// Who made the set; optional so state saved before the field existed still loads.
    var creatorUserId: Int? = nil
}

/// Everything the sandbox knows. Also the JSON persistence format.
struct StoreState: Codable, Sendable {
    var organizations: [Int: OrganizationRecord] = [:]
    var users: [Int: UserRecord] = [:]
    var logins: [Int: LoginRecord] = [:]
    var places: [Int: PlaceRecord] = [:]
    var locks: [Int: LockRecord] = [:]
    var groups: [Int: GroupRecord] = [:]
    var groupLocks: [Int: GroupLockRecord] = [:]
    var roleAssignments: [Int: RoleAssignmentRecord] = [:]
    var integrations: [Int: IntegrationRecord] = [:]
    var invites: [Int: InviteRecord] = [:]
    var events: [EventRecord] = []
    var eventSets: [Int: EventSetRecord] = [:]
    var nextId: Int = 100_000
    var nextSequence: Int = 1
    /// Sandbox clock: `frozenAt` wins; otherwise real time shifted by `offsetSeconds`.
    var clockOffsetSeconds: Double = 0
    var clockFrozenAt: Date?
}
