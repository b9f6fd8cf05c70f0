import Foundation

/// The role catalogue served by `GET /roles`, and what each role may do. Kisi's document lists the
/// permission booleans of a role but no role ids or permission values; only `group_basic` and
/// `group_manager` are named in Kisi's documentation. The other ids and every permission value are the
/// sandbox's choice (see README, Decisions 8, 18 and 28–33).
enum Roles {
    struct Role: Sendable {
        var id: String
        var appliesTo: AppliesToType
        var name: String
        var description: String
        var permissions: Set<String>
        /// Organization roles only: a caller may grant or remove an organization role only up to its own rank
        /// (Kisi: "a user may not … assign a permission that's higher than their own permission level").
        var rank: Int = 0

        func allows(_ permission: String) -> Bool { permissions.contains(permission) }
    }

    static let owner = "owner"
    static let administrator = "administrator"
    static let accessManager = "access_manager"
    static let observer = "observer"
    static let placeAdministrator = "place_administrator"
    static let groupBasic = "group_basic"
    static let groupManager = "group_manager"

    /// Every permission key of the `Role` schema in Kisi's document, in the document's order.
    static let allPermissions: [String] = [
        "access_keys_read", "access_keys_write", "amenities_read", "amenities_write", "analytics_read",
        "apple_passes_read", "apple_passes_write", "bookings_read", "bookings_write", "camera_snapshot_sets_read",
        "camera_snapshots_read", "camera_snapshots_write", "cameras_read", "cameras_write", "capacities_read",
        "capacities_write", "card_assignments_read", "card_assignments_write", "cards_activate", "cards_read",
        "cards_write", "communication_policies_read", "communication_policies_write", "csv_card_import_read",
        "csv_card_import_write", "csv_user_import_read", "csv_user_import_write", "custom_roles_read",
        "custom_roles_write", "dashboards_read", "elevator_stops_permit", "elevator_stops_read",
        "elevator_stops_write", "elevators_read", "elevators_write", "event_retention_policies_read",
        "event_retention_policies_write", "events_read", "floors_read", "floors_write", "group_elevator_stops_read",
        "group_elevator_stops_write", "group_links_read", "group_links_write", "group_locks_read",
        "group_locks_write", "group_terminals_read", "group_terminals_write", "group_zones_read",
        "group_zones_write", "groups_read", "groups_write", "guests_read", "guests_write", "hardware_read",
        "hardware_write", "third_party_hf_uid_read_configurations_read",
        "third_party_hf_uid_read_configurations_write", "incident_occurrences_read", "incident_policies_read",
        "incident_policies_write", "incidents_read", "incidents_write", "integrations_read", "integrations_write",
        "intercom_assignment_read", "intercom_assignment_write", "intercom_completed_call_stream_read",
        "invites_write", "kiosk_shortcuts_read", "kiosk_shortcuts_write", "locks_read", "locks_unlock",
        "locks_write", "logins_read", "logins_write", "managed_devices_read", "managed_devices_write",
        "marketplace_app_shares_read", "marketplace_app_shares_write", "marketplace_installations_read",
        "marketplace_installations_write", "marketplace_shortcuts_read", "marketplace_shortcuts_write",
        "mobile_cache_policies_read", "mobile_cache_policies_write", "place_dashboard_read", "places_read",
        "places_write", "reports_read", "reports_write", "role_assignments_read", "role_assignments_write",
        "scanned_card_read", "scanned_card_write", "scheduled_report_read", "scheduled_report_write",
        "schedules_read", "schedules_write", "shares_read", "shares_write", "subscriptions_read",
        "team_memberships_read", "team_memberships_write", "teams_read", "teams_write", "terminals_read",
        "terminals_trigger", "terminals_write", "users_read", "users_write", "visualization_page_reporters_read",
        "visualization_page_reporters_write", "visualization_page_shares_read", "visualization_page_shares_write",
        "zones_override", "zones_read", "zones_reset", "zones_write",

    ]

    /// What it takes to keep a Kisi organization's door access: people, groups, their doors, access rights,
    /// invitations, events and unlocking, plus reading places and doors. Shared by the access manager and,
    /// within their places, the place administrator.
    private static let accessManagement: Set<String> = [
        "users_read", "users_write", "groups_read", "groups_write", "group_locks_read", "group_locks_write",
        "group_links_read", "group_links_write", "role_assignments_read", "role_assignments_write", "invites_write",
        "events_read", "locks_read", "locks_unlock", "places_read", "schedules_read", "schedules_write",
        "cards_read", "cards_write", "card_assignments_read", "card_assignments_write", "shares_read", "shares_write",
        "access_keys_read", "access_keys_write", "guests_read", "guests_write", "analytics_read", "reports_read",
    ]

    static let all: [Role] = [
        Role(id: owner, appliesTo: .organization, name: "Organization owner",
             description: "Full control over the organization. Not assignable.",
             permissions: Set(allPermissions), rank: 4),
        Role(id: administrator, appliesTo: .organization, name: "Organization administrator",
             description: "Manages everything in the organization: people, access, doors, places, integrations and settings.",
             permissions: Set(allPermissions), rank: 3),
        Role(id: accessManager, appliesTo: .organization, name: "Organization access manager",
             description: "Manages users, groups, their doors and access rights, and unlocks every door; no integrations or organization settings.",
             permissions: accessManagement, rank: 2),
        Role(id: observer, appliesTo: .organization, name: "Observer",
             description: "Read-only access to the organization.",
             permissions: Set(allPermissions.filter { $0.hasSuffix("_read") }), rank: 1),
        Role(id: placeAdministrator, appliesTo: .place, name: "Place administrator",
             description: "Manages the place: its place groups, their doors and access rights, its events, and unlocks its doors.",
             permissions: accessManagement.union(["locks_write", "place_dashboard_read"])),
        Role(id: groupBasic, appliesTo: .group, name: "Door access",
             description: "Can unlock the doors of the group.", permissions: ["locks_read", "locks_unlock"]),
        Role(id: groupManager, appliesTo: .group, name: "Group manager",
             description: "Can manage the users of the group.",
             permissions: ["locks_read", "role_assignments_read", "role_assignments_write", "users_read"]),
    ]

    static func find(_ id: String) -> Role? { all.first { $0.id == id } }

    static func json(_ r: Role) -> JSONValue {
        .object([
            "id": .string(r.id), "resource_type": "Role", "applies_to": .string(r.appliesTo.rawValue),
            "name": .string(r.name), "description": .string(r.description), "custom": false,
            "permissions": .object(Dictionary(uniqueKeysWithValues: allPermissions.map { ($0, .bool(r.allows($0))) })),
            "custom_role_id": .null,
        ])
    }
}
