import Foundation

/// A friendly description of sandbox data, used for the built-in demo, seed files and `POST /_sandbox/seed`.
/// Keys are snake_case in JSON. Omitted ids are assigned; omitted flags take Kisi's defaults.
public struct SandboxSeed: Codable, Sendable {
    public var organizations: [Organization]

    public init(organizations: [Organization]) { self.organizations = organizations }

    public struct Organization: Codable, Sendable {
        public var id: Int
        public var name: String
        public var domain: String?
        public var timeZone: String?
        public var users: [User]
        public var places: [Place]?
        public var groups: [Group]?
        public var roleAssignments: [RoleAssignment]?
        public var integrations: [Integration]?

        public init(id: Int, name: String, domain: String? = nil, timeZone: String? = nil, users: [User],
                    places: [Place]? = nil, groups: [Group]? = nil, roleAssignments: [RoleAssignment]? = nil,
                    integrations: [Integration]? = nil) {
            self.id = id; self.name = name; self.domain = domain; self.timeZone = timeZone; self.users = users
            self.places = places; self.groups = groups; self.roleAssignments = roleAssignments; self.integrations = integrations
        }
    }

    public struct User: Codable, Sendable {
        public var id: Int?
        public var name: String
        public var email: String
        /// `owner` (at most one per organization), `administrator`, `access_manager`, `observer`, or nil for a
        /// user without an organization role.
        public var organizationRole: String?
        /// API keys (login secrets) belonging to this user.
        public var apiKeys: [String]?
        public var accessEnabled: Bool?
        public var notes: String?
        public var metadata: [String: JSONValue]?

        public init(id: Int? = nil, name: String, email: String, organizationRole: String? = nil, apiKeys: [String]? = nil,
                    accessEnabled: Bool? = nil, notes: String? = nil, metadata: [String: JSONValue]? = nil) {
            self.id = id; self.name = name; self.email = email; self.organizationRole = organizationRole
            self.apiKeys = apiKeys; self.accessEnabled = accessEnabled; self.notes = notes; self.metadata = metadata
        }
    }

    public struct Place: Codable, Sendable {
        public var id: Int
        public var name: String
        public var address: String?
        public var timeZone: String?
        public var locks: [Lock]

        public init(id: Int, name: String, address: String? = nil, timeZone: String? = nil, locks: [Lock]) {
            self.id = id; self.name = name; self.address = address; self.timeZone = timeZone; self.locks = locks
        }
    }

    public struct Lock: Codable, Sendable {
        public var id: Int
        public var name: String
        public var description: String?

        public init(id: Int, name: String, description: String? = nil) {
            self.id = id; self.name = name; self.description = description
        }
    }

    public struct Group: Codable, Sendable {
        public var id: Int?
        public var name: String
        public var description: String?
        /// nil = organization-scoped group.
        public var placeId: Int?
        public var lockIds: [Int]?

        public init(id: Int? = nil, name: String, description: String? = nil, placeId: Int? = nil, lockIds: [Int]? = nil) {
            self.id = id; self.name = name; self.description = description; self.placeId = placeId; self.lockIds = lockIds
        }
    }

    /// A group role (`group_id` or `group_name`; role `group_basic` unless given) or a place role (`place_id`;
    /// role `place_administrator` unless given).
    public struct RoleAssignment: Codable, Sendable {
        public var id: Int?
        /// The user, by id or by e-mail.
        public var userId: Int?
        public var userEmail: String?
        public var groupId: Int?
        /// Group name, when the group's id was not given in the seed.
        public var groupName: String?
        public var placeId: Int?
        public var roleId: String?
        public var validFrom: Date?
        public var validUntil: Date?

        public init(id: Int? = nil, userId: Int? = nil, userEmail: String? = nil, groupId: Int? = nil, groupName: String? = nil,
                    placeId: Int? = nil, roleId: String? = nil, validFrom: Date? = nil, validUntil: Date? = nil) {
            self.id = id; self.userId = userId; self.userEmail = userEmail; self.groupId = groupId; self.groupName = groupName
            self.placeId = placeId; self.roleId = roleId; self.validFrom = validFrom; self.validUntil = validUntil
        }
    }

    public struct Integration: Codable, Sendable {
        public var id: Int?
        public var name: String
        public var url: String
        public var enabledEvents: [String]?
        public var signatureKey: String?
        public var enabled: Bool?
    }

    public enum SeedError: Error, CustomStringConvertible {
        case invalid(String)
        public var description: String {
            switch self { case .invalid(let m): return "invalid seed: \(m)" }
        }
    }

    // MARK: JSON

    public static func decode(_ data: Data) throws -> SandboxSeed {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .custom { d in
            let s = try d.singleValueContainer().decode(String.self)
            guard let date = KisiTime.parse(s) else {
                throw DecodingError.dataCorrupted(.init(codingPath: d.codingPath, debugDescription: "bad date \(s)"))
            }
            return date
        }
        return try decoder.decode(SandboxSeed.self, from: data)
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, e in
            var c = e.singleValueContainer()
            try c.encode(KisiTime.format(date))
        }
        return try encoder.encode(self)
    }

    // MARK: Building state

    func buildState(now: Date) throws -> StoreState {
        var s = StoreState()
        var maxId = 100_000
        func track(_ id: Int) { maxId = max(maxId, id) }
        // Explicit ids first, so generated ids never collide with them.
        for o in organizations {
            track(o.id)
            for u in o.users { if let id = u.id { track(id) } }
            for p in o.places ?? [] { track(p.id); for l in p.locks { track(l.id) } }
            for g in o.groups ?? [] { if let id = g.id { track(id) } }
            for r in o.roleAssignments ?? [] { if let id = r.id { track(id) } }
            for i in o.integrations ?? [] { if let id = i.id { track(id) } }
        }
        s.nextId = maxId
        func next() -> Int { s.nextId += 1; return s.nextId }

        for o in organizations {
            guard s.organizations[o.id] == nil else { throw SeedError.invalid("duplicate organization id \(o.id)") }
            var org = OrganizationRecord(
                id: o.id, name: o.name, domain: o.domain ?? Self.slug(o.name), timeZone: o.timeZone ?? "Etc/UTC",
                ownerUserId: nil, createdAt: now, updatedAt: now
            )
            var emails: [String: Int] = [:]
            for u in o.users {
                let id = u.id ?? next()
                guard s.users[id] == nil else { throw SeedError.invalid("duplicate user id \(id)") }
                let email = u.email.lowercased()
                guard emails[email] == nil else { throw SeedError.invalid("duplicate e-mail \(email)") }
                emails[email] = id
                s.users[id] = UserRecord(
                    id: id, organizationId: o.id, name: u.name, email: email, image: nil, notes: u.notes,
                    metadata: u.metadata ?? [:], accessEnabled: u.accessEnabled ?? true, passwordFlowEnabled: false,
                    confirmed: true, lastAccessedAt: nil, createdAt: now, updatedAt: now
                )
                switch u.organizationRole {
                case nil: break
                case "owner":
                    guard org.ownerUserId == nil else { throw SeedError.invalid("two owners in organization \(o.id)") }
                    org.ownerUserId = id
                    fallthrough
                case Roles.administrator, Roles.accessManager, Roles.observer:
                    let raId = next()
                    s.roleAssignments[raId] = RoleAssignmentRecord(
                        id: raId, organizationId: o.id, userId: id, appliesToType: .organization, appliesToId: o.id,
                        roleId: u.organizationRole ?? "administrator", notify: false, validFrom: nil, validUntil: nil,
                        createdById: nil, createdAt: now, updatedAt: now
                    )
                case let other?: throw SeedError.invalid("unknown organization role \(other)")
                }
                for key in u.apiKeys ?? [] {
                    guard !s.logins.values.contains(where: { $0.secret == key }) else {
                        throw SeedError.invalid("duplicate API key")
                    }
                    let lid = next()
                    s.logins[lid] = LoginRecord(id: lid, userId: id, organizationId: o.id, secret: key, name: "Sandbox API key",
                                                createdAt: now, updatedAt: now, lastUsedAt: nil)
                }
            }
            s.organizations[o.id] = org
            for p in o.places ?? [] {
                guard s.places[p.id] == nil else { throw SeedError.invalid("duplicate place id \(p.id)") }
                s.places[p.id] = PlaceRecord(
                    id: p.id, organizationId: o.id, name: p.name, address: p.address ?? p.name, description: nil,
                    timeZone: p.timeZone ?? org.timeZone, latitude: nil, longitude: nil, createdAt: now, updatedAt: now
                )
                for l in p.locks {
                    guard s.locks[l.id] == nil else { throw SeedError.invalid("duplicate lock id \(l.id)") }
                    s.locks[l.id] = LockRecord(id: l.id, placeId: p.id, name: l.name, description: l.description,
                                               createdAt: now, updatedAt: now)
                }
            }
            var groupsByName: [String: Int] = [:]
            for g in o.groups ?? [] {
                let id = g.id ?? next()
                guard s.groups[id] == nil else { throw SeedError.invalid("duplicate group id \(id)") }
                if let pid = g.placeId, s.places[pid]?.organizationId != o.id {
                    throw SeedError.invalid("group \(g.name) refers to unknown place \(pid)")
                }
                s.groups[id] = GroupRecord(
                    id: id, organizationId: o.id, name: g.name, description: g.description, placeId: g.placeId,
                    loginEnabled: true, geofenceRestrictionEnabled: false, primaryDeviceRestrictionEnabled: false,
                    managedDeviceRestrictionEnabled: false, readerRestrictionEnabled: false, timeRestrictionEnabled: false,
                    tapToAccessRestrictionEnabled: false, timeRestrictionTimeZone: nil, createdAt: now, updatedAt: now
                )
                groupsByName[g.name] = id
                for lid in g.lockIds ?? [] {
                    guard let l = s.locks[lid], s.places[l.placeId]?.organizationId == o.id else {
                        throw SeedError.invalid("group \(g.name) refers to unknown lock \(lid)")
                    }
                    if let pid = g.placeId, l.placeId != pid {
                        throw SeedError.invalid("lock \(lid) is not in the place of group \(g.name)")
                    }
                    let glid = next()
                    s.groupLocks[glid] = GroupLockRecord(id: glid, groupId: id, lockId: lid, createdAt: now, updatedAt: now)
                }
            }
            for r in o.roleAssignments ?? [] {
                guard let userId = r.userId ?? r.userEmail.flatMap({ emails[$0.lowercased()] }), s.users[userId]?.organizationId == o.id else {
                    throw SeedError.invalid("role assignment refers to an unknown user")
                }
                let appliesTo: (AppliesToType, Int)
                if r.groupId == nil, r.groupName == nil, let placeId = r.placeId {
                    guard s.places[placeId]?.organizationId == o.id else {
                        throw SeedError.invalid("role assignment refers to an unknown place")
                    }
                    appliesTo = (.place, placeId)
                } else {
                    guard let groupId = r.groupId ?? r.groupName.flatMap({ groupsByName[$0] }), s.groups[groupId]?.organizationId == o.id else {
                        throw SeedError.invalid("role assignment refers to an unknown group")
                    }
                    appliesTo = (.group, groupId)
                }
                let roleId = r.roleId ?? (appliesTo.0 == .place ? Roles.placeAdministrator : Roles.groupBasic)
                guard Roles.find(roleId)?.appliesTo == appliesTo.0 else {
                    throw SeedError.invalid("role \(roleId) does not apply to a \(appliesTo.0.rawValue)")
                }
                guard !s.roleAssignments.values.contains(where: {
                    $0.userId == userId && $0.appliesToType == appliesTo.0 && $0.appliesToId == appliesTo.1
                }) else {
                    throw SeedError.invalid("user \(userId) has two roles in one \(appliesTo.0.rawValue)")
                }
                let id = r.id ?? next()
                s.roleAssignments[id] = RoleAssignmentRecord(
                    id: id, organizationId: o.id, userId: userId, appliesToType: appliesTo.0, appliesToId: appliesTo.1,
                    roleId: roleId, notify: false,
                    validFrom: appliesTo.0 == .group ? r.validFrom : nil, validUntil: appliesTo.0 == .group ? r.validUntil : nil,
                    createdById: org.ownerUserId, createdAt: now, updatedAt: now
                )
            }
            for i in o.integrations ?? [] {
                let id = i.id ?? next()
                s.integrations[id] = IntegrationRecord(
                    id: id, organizationId: o.id, name: i.name, url: i.url, enabled: i.enabled ?? true,
                    enabledEvents: i.enabledEvents ?? [], signatureKey: i.signatureKey, createdAt: now, updatedAt: now
                )
            }
        }
        return s
    }

    static func slug(_ name: String) -> String {
        let lowered = name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return String(lowered).split(separator: "-").joined(separator: "-")
    }

    // MARK: Demo

    /// The API key of the demo organization's owner.
    public static let demoAPIKey = "kisi-sandbox-demo-owner-key"

    /// "BooGYMan Demo Gym": three places with BooGYMan's demo door ids, an owner with an API key, staff, and a
    /// foreign "Cleaning staff" group as a real gym's Kisi organization would have.
    public static func demoSeed(apiKey: String = demoAPIKey) -> SandboxSeed {
        SandboxSeed(organizations: [
            Organization(
                id: 1, name: "BooGYMan Demo Gym", domain: "boogyman-demo", timeZone: "Europe/Bucharest",
                users: [
                    User(id: 1, name: "Gym Owner", email: "owner@boogyman.example", organizationRole: "owner", apiKeys: [apiKey]),
                    User(id: 2, name: "Ana Popescu", email: "ana.popescu@boogyman.example", notes: "Front desk"),
                    User(id: 3, name: "Mihai Ionescu", email: "mihai.ionescu@boogyman.example", notes: "Trainer"),
                    User(id: 4, name: "Elena Dumitrescu", email: "elena.dumitrescu@boogyman.example", notes: "Manager, Cluj"),
                    User(id: 5, name: "CleanCo Crew", email: "crew@cleanco.example", notes: "External cleaning company"),
                ],
                places: [
                    Place(id: 1001, name: "Old Town", address: "Strada Lipscani 10, București", locks: [
                        Lock(id: 5001, name: "Old Town entrance"), Lock(id: 5002, name: "Old Town side door"),
                        Lock(id: 5003, name: "Spinning studio"), Lock(id: 5004, name: "Yoga studio"),
                    ]),
                    Place(id: 1002, name: "Floreasca", address: "Calea Floreasca 100, București", locks: [
                        Lock(id: 5011, name: "Floreasca entrance"), Lock(id: 5012, name: "Pool"),
                        Lock(id: 5013, name: "Sauna"), Lock(id: 5014, name: "Staff room"),
                    ]),
                    Place(id: 1003, name: "Cluj Centru", address: "Piața Unirii 1, Cluj-Napoca", locks: [
                        Lock(id: 5021, name: "Cluj entrance"), Lock(id: 5022, name: "Cluj back door"),
                        Lock(id: 5023, name: "Climbing wall"), Lock(id: 5024, name: "Storage"),
                    ]),
                ],
                groups: [
                    Group(id: 2001, name: "Staff", description: "All doors, for gym staff",
                          lockIds: [5001, 5002, 5003, 5004, 5011, 5012, 5013, 5014, 5021, 5022, 5023, 5024]),
                    Group(id: 2002, name: "Cleaning staff", description: "Managed by the facilities team, not by BooGYMan",
                          lockIds: [5001, 5002, 5011, 5014, 5021, 5024]),
                    Group(id: 2003, name: "Cluj staff", description: "Cluj Centru doors", placeId: 1003,
                          lockIds: [5021, 5022, 5023, 5024]),
                ],
                roleAssignments: [
                    RoleAssignment(id: 3001, userId: 2, groupId: 2001),
                    RoleAssignment(id: 3002, userId: 3, groupId: 2001),
                    RoleAssignment(id: 3003, userId: 4, groupId: 2003, roleId: "group_manager"),
                    RoleAssignment(id: 3004, userId: 5, groupId: 2002),
                ]
            ),
        ])
    }
}
