import Foundation

/// The role catalogue served by `GET /roles`. Only `group_basic` and `group_manager` are named in Kisi's
/// documentation; the organization/place ids are the sandbox's choice (see README, Decisions).
enum Roles {
    struct Role: Sendable {
        var id: String
        var appliesTo: AppliesToType
        var name: String
        var description: String
        var permissions: [String]
    }

    static let adminRoleIds: Set<String> = ["owner", "administrator"]

    private static let allPermissions = [
        "events_read", "group_links_read", "group_links_write", "group_locks_read", "group_locks_write",
        "groups_read", "groups_write", "integrations_read", "integrations_write", "invites_write", "locks_read",
        "locks_unlock", "locks_write", "logins_read", "logins_write", "places_read", "places_write",
        "role_assignments_read", "role_assignments_write", "users_read", "users_write",
    ]

    static let all: [Role] = [
        Role(id: "owner", appliesTo: .organization, name: "Organization owner",
             description: "Full control over the organization. Not assignable.", permissions: allPermissions),
        Role(id: "administrator", appliesTo: .organization, name: "Organization administrator",
             description: "Manages everything in the organization.", permissions: allPermissions),
        Role(id: "observer", appliesTo: .organization, name: "Observer",
             description: "Read-only access to the organization.",
             permissions: allPermissions.filter { $0.hasSuffix("_read") }),
        Role(id: "place_administrator", appliesTo: .place, name: "Place administrator",
             description: "Manages the place.", permissions: allPermissions),
        Role(id: "group_basic", appliesTo: .group, name: "Door access",
             description: "Can unlock the doors of the group.", permissions: ["locks_read", "locks_unlock"]),
        Role(id: "group_manager", appliesTo: .group, name: "Group manager",
             description: "Can manage the users of the group.",
             permissions: ["locks_read", "locks_unlock", "role_assignments_read", "role_assignments_write", "users_read"]),
    ]

    static func find(_ id: String) -> Role? { all.first { $0.id == id } }

    static func json(_ r: Role) -> JSONValue {
        .object([
            "id": .string(r.id), "resource_type": "Role", "applies_to": .string(r.appliesTo.rawValue),
            "name": .string(r.name), "description": .string(r.description), "custom": false,
            "permissions": .object(Dictionary(uniqueKeysWithValues: allPermissions.map { ($0, .bool(r.permissions.contains($0))) })),
            "custom_role_id": .null,
        ])
    }
}
