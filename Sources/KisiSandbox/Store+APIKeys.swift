import Foundation

/// What `POST /_sandbox/api_keys` (or ``KisiSandbox/createAPIKey(_:)``) should make: an API key for a user
/// holding a given role, so tests and demos can act as an access manager, a place administrator, etc.
public struct SandboxKeyRequest: Sendable, Hashable {
    /// Default: the organization with the lowest id.
    public var organizationID: Int?
    /// An existing user; otherwise the user with `email`, created when absent.
    public var userID: Int?
    public var email: String?
    public var name: String?
    /// A role of `GET /roles` (not `owner`), or nil for a key whose user gets no new role.
    public var roleID: String?
    /// The places of a place role (one role assignment each).
    public var placeIDs: [Int]
    /// The groups of a group role (one role assignment each).
    public var groupIDs: [Int]
    /// The key's secret; default: a random one.
    public var secret: String?

    public init(
        organizationID: Int? = nil, userID: Int? = nil, email: String? = nil, name: String? = nil,
        roleID: String? = nil, placeIDs: [Int] = [], groupIDs: [Int] = [], secret: String? = nil
    ) {
        self.organizationID = organizationID; self.userID = userID; self.email = email; self.name = name
        self.roleID = roleID; self.placeIDs = placeIDs; self.groupIDs = groupIDs; self.secret = secret
    }

    /// An organization access manager's key.
    public static func accessManager(email: String = "access.manager@sandbox.example", secret: String? = nil) -> Self {
        Self(email: email, name: "Access Manager", roleID: Roles.accessManager, secret: secret)
    }

    /// A place administrator's key for `placeIDs`.
    public static func placeAdministrator(
        of placeIDs: [Int], email: String = "place.admin@sandbox.example", secret: String? = nil
    ) -> Self {
        Self(email: email, name: "Place Administrator", roleID: Roles.placeAdministrator, placeIDs: placeIDs, secret: secret)
    }
}

/// The key made by ``KisiSandbox/createAPIKey(_:)``.
public struct SandboxAPIKey: Sendable, Hashable {
    public var organizationID: Int
    public var userID: Int
    public var loginID: Int
    public var secret: String
    /// The role assignments created for the key's user (existing identical ones are not repeated).
    public var roleAssignmentIDs: [Int]

    var json: JSONValue {
        .object([
            "organization_id": .int(organizationID), "user_id": .int(userID), "login_id": .int(loginID),
            "secret": .string(secret), "role_assignment_ids": .array(roleAssignmentIDs.map { .int($0) }),
        ])
    }
}

/// A control request the sandbox cannot carry out, in words.
public struct SandboxControlError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

extension SandboxStore {
    /// Like seed data, this happens outside the API: no events, no webhooks.
    func createAPIKey(_ request: SandboxKeyRequest) throws(APIError) -> SandboxAPIKey {
        guard let orgId = request.organizationID ?? state.organizations.keys.min(), state.organizations[orgId] != nil else {
            throw APIError.notFound("Organization")
        }
        var role: Roles.Role?
        if let roleId = request.roleID {
            guard let found = Roles.find(roleId), found.id != Roles.owner else {
                throw APIError.badRequest("role_id must be one of the assignable roles of GET /roles")
            }
            role = found
        }
        let scopes: [(AppliesToType, Int)]
        switch role?.appliesTo {
        case nil:
            guard request.placeIDs.isEmpty, request.groupIDs.isEmpty else {
                throw APIError.badRequest("place_ids and group_ids need a role_id")
            }
            scopes = []
        case .organization?:
            guard request.placeIDs.isEmpty, request.groupIDs.isEmpty else {
                throw APIError.badRequest("an organization role takes no place_ids or group_ids")
            }
            scopes = [(.organization, orgId)]
        case .place?:
            guard !request.placeIDs.isEmpty, request.groupIDs.isEmpty else {
                throw APIError.badRequest("a place role needs place_ids (and no group_ids)")
            }
            for id in request.placeIDs { _ = try place(id, in: orgId) }
            scopes = request.placeIDs.map { (.place, $0) }
        case .group?:
            guard !request.groupIDs.isEmpty, request.placeIDs.isEmpty else {
                throw APIError.badRequest("a group role needs group_ids (and no place_ids)")
            }
            for id in request.groupIDs { _ = try group(id, in: orgId) }
            scopes = request.groupIDs.map { (.group, $0) }
        }
        if let secret = request.secret {
            guard !secret.isEmpty, !state.logins.values.contains(where: { $0.secret == secret }) else {
                throw APIError.badRequest("secret must be non-empty and not used by another key")
            }
        }
        // Refuse before changing anything: one role per user and scope (Decision 11).
        let existingUser: UserRecord?
        if let userId = request.userID {
            existingUser = try user(userId, in: orgId)
        } else if let email = request.email {
            existingUser = findUser(email: email, org: orgId)
        } else {
            existingUser = nil
        }
        if let existingUser, let role {
            for (type, id) in scopes {
                if let held = state.roleAssignments.values.first(where: {
                    $0.userId == existingUser.id && $0.appliesToType == type && $0.appliesToId == id
                }), held.roleId != role.id {
                    throw APIError.validation("assignee_id", "already holds \(held.roleId) in \(type.rawValue) \(id)")
                }
            }
        }

        let now = now()
        let user: UserRecord
        if let existingUser {
            user = existingUser
        } else {
            let id = nextId()
            let email = request.email ?? "api-key-\(id)@sandbox.example"
            var body: [String: JSONValue] = ["email": .string(email), "confirm": true]
            body["name"] = .string(request.name ?? role?.name ?? "API key user")
            user = try insertUser(body: body, org: orgId)
        }
        var created: [Int] = []
        if let role {
            for (type, id) in scopes where !state.roleAssignments.values.contains(where: {
                $0.userId == user.id && $0.appliesToType == type && $0.appliesToId == id
            }) {
                let ra = RoleAssignmentRecord(
                    id: nextId(), organizationId: orgId, userId: user.id, appliesToType: type, appliesToId: id,
                    roleId: role.id, notify: false, validFrom: nil, validUntil: nil,
                    createdById: state.organizations[orgId]?.ownerUserId, createdAt: now, updatedAt: now
                )
                state.roleAssignments[ra.id] = ra
                created.append(ra.id)
            }
        }
        let secret = request.secret ?? "kisi-sandbox-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let login = LoginRecord(
            id: nextId(), userId: user.id, organizationId: orgId, secret: secret, name: "Sandbox API key",
            createdAt: now, updatedAt: now, lastUsedAt: nil
        )
        state.logins[login.id] = login
        dirty = true
        return SandboxAPIKey(organizationID: orgId, userID: user.id, loginID: login.id, secret: secret, roleAssignmentIDs: created)
    }
}
