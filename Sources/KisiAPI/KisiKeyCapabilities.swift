import Foundation

/// Where a key holds one right: everywhere in the organization, only in some places, or nowhere.
public enum KisiRightScope: Sendable, Hashable {
    case organization
    /// Place IDs, sorted.
    case places([Int])
    case none

    public var isGranted: Bool { self != .none }

    /// Whether the right reaches `placeID` (an organization-wide right reaches every place).
    public func covers(placeID: Int) -> Bool {
        switch self {
        case .organization: return true
        case .places(let ids): return ids.contains(placeID)
        case .none: return false
        }
    }
}

/// One role the key's user holds, as `GET /role_assignments` and `GET /roles` describe it.
public struct KisiKeyRole: Sendable, Hashable {
    public var roleID: String
    /// Kisi's name for the role ("Place administrator"), or the ID when `GET /roles` does not list it.
    public var roleName: String
    public var scope: KisiScopeReference
    /// The place's, group's or organization's name, when Kisi gave it.
    public var scopeName: String?
    /// The role's permission booleans from `GET /roles` (empty for a role `GET /roles` does not list).
    public var permissions: [String: Bool]

    public init(roleID: String, roleName: String, scope: KisiScopeReference, scopeName: String? = nil, permissions: [String: Bool] = [:]) {
        self.roleID = roleID
        self.roleName = roleName
        self.scope = scope
        self.scopeName = scopeName
        self.permissions = permissions
    }

    public func allows(_ permission: String) -> Bool { permissions[permission] == true }
}

/// What an API key may do in Kisi, found out from Kisi itself: the key's user (`GET /user`), that user's
/// role assignments, and what each role permits (`GET /roles`). Build it with
/// ``KisiClient/discoverKeyCapabilities()``; ``plainWords(eventPollingInterval:)`` says it for staff.
///
/// Only organization and place roles count towards the rights below: a group role (group manager, door
/// access) lets its holder manage one group's people, not run a gym's door access.
public struct KisiKeyCapabilities: Sendable, Hashable {
    public var userID: Int
    public var userName: String
    public var userEmail: String
    public var organizationID: Int?
    public var organizationName: String?
    /// Every organization, place and group role of the key's user.
    public var roles: [KisiKeyRole]
    /// False when Kisi refused to list the key's role assignments: the rights below are then unknown
    /// (all `.none`), not known to be missing.
    public var rolesKnown: Bool

    public var manageUsers: KisiRightScope
    public var manageGroups: KisiRightScope
    public var manageGroupLocks: KisiRightScope
    public var manageRoleAssignments: KisiRightScope
    /// `integrations_write` organization-wide: BooGYMan may register its event webhook.
    public var registerWebhook: Bool
    public var readEvents: KisiRightScope
    public var unlock: KisiRightScope

    public init(
        userID: Int, userName: String, userEmail: String, organizationID: Int? = nil, organizationName: String? = nil,
        roles: [KisiKeyRole], rolesKnown: Bool = true
    ) {
        self.userID = userID
        self.userName = userName
        self.userEmail = userEmail
        self.organizationID = organizationID
        self.organizationName = organizationName
        self.roles = roles
        self.rolesKnown = rolesKnown
        func scope(_ permission: String) -> KisiRightScope {
            if roles.contains(where: { if case .organization = $0.scope { return $0.allows(permission) } else { return false } }) {
                return .organization
            }
            let places = roles.compactMap { role -> Int? in
                if case .place(let id) = role.scope, role.allows(permission) { return id }
                return nil
            }
            return places.isEmpty ? .none : .places(Array(Set(places)).sorted())
        }
        manageUsers = scope("users_write")
        manageGroups = scope("groups_write")
        manageGroupLocks = scope("group_locks_write")
        manageRoleAssignments = scope("role_assignments_write")
        registerWebhook = scope("integrations_write") == .organization
        readEvents = scope("events_read")
        unlock = scope("locks_unlock")
    }

    public var organizationRoles: [KisiKeyRole] {
        roles.filter { if case .organization = $0.scope { return true } else { return false } }
    }

    public var placeRoles: [KisiKeyRole] {
        roles.filter { if case .place = $0.scope { return true } else { return false } }
    }

    /// Places where the key can keep door access by itself: place-scoped groups, their doors and the
    /// members' access rights there. Empty when the key is organization-wide or has no place role.
    public var administeredPlaceIDs: [Int] {
        guard case .places(let groups) = manageGroups, case .places(let grants) = manageRoleAssignments else { return [] }
        return groups.filter { grants.contains($0) && manageGroupLocks.covers(placeID: $0) }
    }

    /// The place's name as the role assignment gave it.
    public func placeName(_ id: Int) -> String? {
        placeRoles.first { $0.scope.id == id }?.scopeName
    }

    /// Everything door sync needs, organization-wide: users, groups, their doors and access rights.
    public var managesWholeOrganization: Bool {
        [manageUsers, manageGroups, manageGroupLocks, manageRoleAssignments].allSatisfy { $0 == .organization }
    }

    /// The rights BooGYMan's door sync needs and this key lacks everywhere, as Kisi's permission names.
    public var missingSyncPermissions: [String] {
        var missing: [String] = []
        if !manageUsers.isGranted { missing.append("users_write") }
        if !manageGroups.isGranted { missing.append("groups_write") }
        if !manageGroupLocks.isGranted { missing.append("group_locks_write") }
        if !manageRoleAssignments.isGranted { missing.append("role_assignments_write") }
        return missing
    }
}

// MARK: - Discovery

extension KisiClient {
    /// Finds out what this client's API key may do: `GET /user`, the user's role assignments
    /// (`GET /role_assignments?assignee_type=User&assignee_id=…`), `GET /roles`, and `GET /places` only when
    /// an assignment did not name its place. When Kisi refuses to list the assignments (403), the result says
    /// so (`rolesKnown == false`) instead of failing; other errors are thrown.
    public func discoverKeyCapabilities() async throws -> KisiKeyCapabilities {
        let user = try await currentUser()
        var assignments: [KisiRoleAssignment] = []
        do {
            for try await assignment in allRoleAssignments(filter: KisiRoleAssignmentFilter(assignee: .user(id: user.id))) {
                assignments.append(assignment)
            }
        } catch KisiError.forbidden {
            return KisiKeyCapabilities(
                userID: user.id, userName: user.name, userEmail: user.email, organizationID: user.organizationID,
                organizationName: user.organizationName, roles: [], rolesKnown: false
            )
        }
        // Kisi may ignore an unknown filter; keep only the key user's own assignments.
        assignments = assignments.filter { $0.assignee == .user(id: user.id) }
        let catalogue = Dictionary(try await roles().map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var placeNames: [Int: String] = [:]
        let unnamedPlaces = assignments.contains { if case .place = $0.appliesTo { return $0.appliesToName == nil } else { return false } }
        if unnamedPlaces {
            for try await place in allPlaces() { placeNames[place.id] = place.name }
        }
        let roles = assignments.sorted { $0.id < $1.id }.map { assignment in
            let role = catalogue[assignment.roleID]
            var scopeName = assignment.appliesToName
            if scopeName == nil, case .place(let id) = assignment.appliesTo { scopeName = placeNames[id] }
            return KisiKeyRole(
                roleID: assignment.roleID, roleName: role?.name ?? assignment.roleID, scope: assignment.appliesTo,
                scopeName: scopeName, permissions: role?.permissions ?? [:]
            )
        }
        return KisiKeyCapabilities(
            userID: user.id, userName: user.name, userEmail: user.email, organizationID: user.organizationID,
            organizationName: user.organizationName, roles: roles
        )
    }
}

// MARK: - Plain words

extension KisiKeyCapabilities {
    /// What the key lets BooGYMan do, sentence by sentence, for the Kisi wizard and `kisi connect`.
    /// `eventPollingInterval` is how often door activity is read from event sets when there is no webhook.
    public func plainWords(eventPollingInterval: Duration) -> [String] {
        let who = userName.isEmpty ? userEmail : "\(userName) (\(userEmail))"
        guard rolesKnown else {
            return ["This key belongs to \(who), but Kisi did not let BooGYMan read its roles, so what it may do is unknown."]
        }
        var lines: [String] = []
        let organization = organizationName.map { " of \($0)" } ?? ""
        let organizationRoleNames = organizationRoles.map { $0.roleName.lowercased() }
        let places = placeRoles.map(\.scope.id).sorted().map { placeName($0) ?? "place \($0)" }
        let polling = "door activity will be read from event sets every \(Self.seconds(eventPollingInterval))"

        if !organizationRoleNames.isEmpty {
            lines.append("This key belongs to \(who), \(Self.list(organizationRoleNames))\(organization).")
        } else if !places.isEmpty {
            let roleNames = Set(placeRoles.map { $0.roleName.lowercased() }).sorted()
            lines.append("This key belongs to \(who), \(Self.list(roleNames)) of \(Self.list(places)).")
        } else {
            lines.append("This key belongs to \(who), who holds no organization or place role\(organizationName.map { " in \($0)" } ?? "").")
        }

        if managesWholeOrganization {
            lines.append("BooGYMan will manage Kisi users, organization groups, their doors and members' access rights anywhere in the organization.")
        } else if !administeredPlaceIDs.isEmpty {
            let names = Self.list(administeredPlaceIDs.map { placeName($0) ?? "place \($0)" })
            lines.append("This key administers \(administeredPlaceIDs.count == 1 ? "place" : "places") \(names); BooGYMan will manage place-scoped groups there, one per plan and place, and cannot give access to doors elsewhere.")
            if !manageUsers.isGranted {
                lines.append("It cannot create Kisi users, so members without a Kisi user cannot be given access.")
            }
        } else {
            let missing = missingSyncPermissions.map(Self.permissionWords)
            lines.append("BooGYMan cannot manage door access with this key: it cannot \(Self.list(missing)).")
        }

        if registerWebhook {
            lines.append("It can register a webhook, so door activity arrives as it happens.")
        } else {
            switch readEvents {
            case .organization:
                lines.append("It cannot register a webhook; \(polling).")
            case .places(let ids):
                let names = Self.list(ids.map { placeName($0) ?? "place \($0)" })
                lines.append("It cannot register a webhook; \(polling), for \(names) only.")
            case .none:
                lines.append("It can neither register a webhook nor read events, so BooGYMan will show no door activity.")
            }
        }

        switch unlock {
        case .organization:
            lines.append("Staff can unlock every door from BooGYMan.")
        case .places(let ids):
            let names = Self.list(ids.map { placeName($0) ?? "place \($0)" })
            lines.append("Staff can unlock the doors of \(names) from BooGYMan, no others.")
        case .none:
            lines.append("It has no right to unlock doors, so BooGYMan shows no Unlock button.")
        }
        return lines
    }

    /// ``plainWords(eventPollingInterval:)`` as one paragraph.
    public func summary(eventPollingInterval: Duration) -> String {
        plainWords(eventPollingInterval: eventPollingInterval).joined(separator: " ")
    }

    static func permissionWords(_ permission: String) -> String {
        switch permission {
        case "users_write": return "create or change users"
        case "groups_write": return "create groups"
        case "group_locks_write": return "add doors to groups"
        case "role_assignments_write": return "grant access rights"
        default: return permission
        }
    }

    static func seconds(_ interval: Duration) -> String {
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        if seconds == 1 { return "second" }
        if seconds == seconds.rounded() { return "\(Int(seconds)) seconds" }
        return String(format: "%.1f seconds", seconds)
    }

    /// "a", "a and b", "a, b and c".
    static func list(_ items: [String]) -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        default: return items.dropLast().joined(separator: ", ") + " and " + items[items.count - 1]
        }
    }
}
