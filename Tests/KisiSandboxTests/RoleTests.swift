import Foundation
import Hummingbird
import Testing
@testable import KisiSandbox

/// An API key made through `POST /_sandbox/api_keys`.
struct RoleKey: Sendable {
    var secret: String
    var userId: Int
}

extension Kisi {
    func makeKey(_ body: String) async throws -> RoleKey {
        let r = try await control(.post, "api_keys", body)
        guard r.status == .ok, let secret = r.json?["secret"]?.string, let user = r.json?["user_id"]?.int else {
            throw TestFailure("api key failed: \(r.status) \(r.rawBody)")
        }
        return RoleKey(secret: secret, userId: user)
    }

    func status(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil, as key: RoleKey) async throws -> HTTPResponse.Status {
        try await call(method, uri, body, key: key.secret).status
    }

    func ids(_ uri: String, as key: RoleKey) async throws -> [Int] {
        try await call(.get, uri, key: key.secret).json?.array?.compactMap { $0["id"]?.int } ?? []
    }

    func grantBody(user: Int, group: Int, role: String = "group_basic") -> String {
        #"{"role_assignment":{"applies_to_type":"Group","applies_to_id":\#(group),"assignee_type":"User","assignee_id":\#(user),"role_id":"\#(role)"}}"#
    }

    func scopeGrantBody(_ type: String, _ id: Int, user: Int, role: String) -> String {
        #"{"role_assignment":{"applies_to_type":"\#(type)","applies_to_id":\#(id),"assignee_type":"User","assignee_id":\#(user),"role_id":"\#(role)"}}"#
    }
}

private let forbidden = HTTPResponse.Status.forbidden

@Suite("Roles and permissions")
struct RoleTests {
    @Test("GET /roles gives every role all of the document's permission keys as booleans, the access manager among them")
    func roleCatalogue() async throws {
        try await withSandbox { _, kisi in
            let roles = try await kisi.call(.get, "/roles").json?.array ?? []
            let byId = Dictionary(uniqueKeysWithValues: roles.compactMap { r in r["id"]?.string.map { ($0, r) } })
            #expect(Set(byId.keys) == ["owner", "administrator", "access_manager", "observer", "place_administrator", "group_basic", "group_manager"])
            for role in roles {
                let permissions = role["permissions"]?.object ?? [:]
                #expect(Set(permissions.keys) == Set(Roles.allPermissions))
                #expect(permissions.values.allSatisfy { $0.bool != nil })
            }
            #expect(Roles.allPermissions.count == 119)
            func allows(_ role: String, _ permission: String) -> Bool? { byId[role]?["permissions"]?[permission]?.bool }
            #expect(byId["access_manager"]?["applies_to"]?.string == "Organization")
            #expect(byId["access_manager"]?["name"]?.string == "Organization access manager")
            for permission in ["users_write", "groups_write", "group_locks_write", "role_assignments_write", "events_read", "locks_unlock"] {
                #expect(allows("access_manager", permission) == true, "access manager \(permission)")
                #expect(allows("place_administrator", permission) == true, "place administrator \(permission)")
            }
            for permission in ["integrations_read", "integrations_write", "places_write", "custom_roles_write"] {
                #expect(allows("access_manager", permission) == false, "access manager \(permission)")
                #expect(allows("place_administrator", permission) == false, "place administrator \(permission)")
            }
            #expect(allows("administrator", "integrations_write") == true)
            #expect(allows("observer", "users_read") == true)
            #expect(allows("observer", "users_write") == false)
            #expect(allows("group_manager", "locks_unlock") == false)
            #expect(allows("group_basic", "locks_unlock") == true)
        }
    }

    @Test("An organization access manager manages users, groups, group locks, access rights and events, but no integrations or administrators")
    func accessManager() async throws {
        try await withSandbox { _, kisi in
            let key = try await kisi.makeKey(#"{"role_id":"access_manager","email":"am@example.com"}"#)
            // Users.
            #expect(try await kisi.status(.get, "/users", as: key) == .ok)
            let created = try await kisi.call(.post, "/users", #"{"user":{"email":"m1@example.com"}}"#, key: key.secret)
            #expect(created.status == .ok)
            let member = created.json?["id"]?.int ?? 0
            #expect(try await kisi.status(.patch, "/users/\(member)", #"{"user":{"access_enabled":false}}"#, as: key) == .noContent)
            #expect(try await kisi.status(.patch, "/users/2", #"{"user":{"name":"Ana P."}}"#, as: key) == .noContent)
            // The owner outranks an access manager.
            #expect(try await kisi.status(.patch, "/users/1", #"{"user":{"name":"Boss"}}"#, as: key) == forbidden)
            #expect(try await kisi.status(.delete, "/users/1", as: key) == forbidden)
            // Organization and place groups, their doors.
            let group = try await kisi.call(.post, "/groups", #"{"group":{"name":"Members"}}"#, key: key.secret).json?["id"]?.int ?? 0
            #expect(group > 0)
            #expect(try await kisi.status(.post, "/group_locks", #"{"group_lock":{"group_id":\#(group),"lock_id":5011}}"#, as: key) == .ok)
            #expect(try await kisi.status(.patch, "/groups/2001", #"{"group":{"description":"x"}}"#, as: key) == .noContent)
            #expect(try await kisi.ids("/groups", as: key).contains(2003))
            // Access rights: group and place roles, organization roles up to its own rank.
            #expect(try await kisi.status(.post, "/role_assignments", kisi.grantBody(user: member, group: group), as: key) == .ok)
            #expect(try await kisi.status(.post, "/role_assignments", kisi.scopeGrantBody("Place", 1001, user: 3, role: "place_administrator"), as: key) == .ok)
            #expect(try await kisi.status(.post, "/role_assignments", kisi.scopeGrantBody("Organization", 1, user: 2, role: "observer"), as: key) == .ok)
            #expect(try await kisi.status(.post, "/role_assignments", kisi.scopeGrantBody("Organization", 1, user: 5, role: "administrator"), as: key) == forbidden)
            #expect(try await kisi.status(.delete, "/role_assignments/3001", as: key) == .noContent)
            // Events, doors.
            #expect(try await kisi.status(.post, "/event_sets", #"{"event_set":{}}"#, as: key) == .ok)
            #expect(try await kisi.status(.post, "/locks/5021/unlock", as: key) == .ok)
            #expect(try await kisi.control(.get, "oracle?user_id=\(key.userId)&lock_id=5013").json?["reason"]?.string == "organization_access_manager")
            // No integrations.
            #expect(try await kisi.status(.get, "/integrations", as: key) == forbidden)
            #expect(try await kisi.status(.post, "/integrations", #"{"integration":{"name":"h","type":"event_webhook","url":"http://127.0.0.1:9/h"}}"#, as: key) == forbidden)
        }
    }

    @Test("A place administrator manages only its places' place groups, their doors, access rights and events, and unlocks only there")
    func placeAdministrator() async throws {
        try await withSandbox { _, kisi in
            let key = try await kisi.makeKey(#"{"role_id":"place_administrator","place_ids":[1001,1002],"email":"pa@example.com"}"#)
            // Groups: place-scoped ones of its places only.
            let oldTown = try await kisi.call(.post, "/groups", #"{"group":{"name":"Old Town members","place_id":1001}}"#, key: key.secret)
            #expect(oldTown.status == .ok)
            let group = oldTown.json?["id"]?.int ?? 0
            #expect(try await kisi.status(.post, "/groups", #"{"group":{"name":"Cluj members","place_id":1003}}"#, as: key) == forbidden)
            #expect(try await kisi.status(.post, "/groups", #"{"group":{"name":"Everyone"}}"#, as: key) == forbidden)
            #expect(try await kisi.ids("/groups", as: key) == [group])
            #expect(try await kisi.status(.get, "/groups/\(group)", as: key) == .ok)
            #expect(try await kisi.status(.get, "/groups/2001", as: key) == forbidden)
            #expect(try await kisi.status(.get, "/groups/2003", as: key) == forbidden)
            #expect(try await kisi.status(.patch, "/groups/2001", #"{"group":{"name":"x"}}"#, as: key) == forbidden)
            #expect(try await kisi.status(.delete, "/groups/2003", as: key) == forbidden)
            #expect(try await kisi.status(.patch, "/groups/\(group)", #"{"group":{"description":"BooGYMan"}}"#, as: key) == .noContent)
            #expect(try await kisi.status(.get, "/groups/424242", as: key) == .notFound)
            // Group locks: its doors in its groups.
            let groupLock = try await kisi.call(.post, "/group_locks", #"{"group_lock":{"group_id":\#(group),"lock_id":5001}}"#, key: key.secret)
            #expect(groupLock.status == .ok)
            #expect(try await kisi.status(.post, "/group_locks", #"{"group_lock":{"group_id":\#(group),"lock_id":5011}}"#, as: key) == .unprocessableContent)
            #expect(try await kisi.status(.post, "/group_locks", #"{"group_lock":{"group_id":\#(group),"lock_id":5021}}"#, as: key) == forbidden)
            #expect(try await kisi.status(.post, "/group_locks", #"{"group_lock":{"group_id":2001,"lock_id":5001}}"#, as: key) == forbidden)
            #expect(try await kisi.status(.get, "/group_locks?group_id=\(group)", as: key) == .ok)
            #expect(try await kisi.status(.get, "/group_locks?group_id=2001", as: key) == forbidden)
            // Users: may find and create them; change only those whose roles lie in its places.
            #expect(try await kisi.status(.get, "/users?email=ana.popescu@boogyman.example", as: key) == .ok)
            let member = try await kisi.call(.post, "/users", #"{"user":{"email":"pm@example.com"}}"#, key: key.secret).json?["id"]?.int ?? 0
            #expect(member > 0)
            // Access rights: in its place groups and on its places.
            let grant = try await kisi.call(.post, "/role_assignments", kisi.grantBody(user: member, group: group), key: key.secret)
            #expect(grant.status == .ok)
            #expect(try await kisi.status(.patch, "/users/\(member)", #"{"user":{"name":"Member"}}"#, as: key) == .noContent)
            #expect(try await kisi.status(.patch, "/users/2", #"{"user":{"access_enabled":false}}"#, as: key) == forbidden)
            #expect(try await kisi.status(.post, "/role_assignments", kisi.grantBody(user: member, group: 2001), as: key) == forbidden)
            #expect(try await kisi.status(.post, "/role_assignments", kisi.grantBody(user: member, group: 2003), as: key) == forbidden)
            #expect(try await kisi.status(.post, "/role_assignments", kisi.scopeGrantBody("Place", 1002, user: 3, role: "place_administrator"), as: key) == .ok)
            #expect(try await kisi.status(.post, "/role_assignments", kisi.scopeGrantBody("Place", 1003, user: 3, role: "place_administrator"), as: key) == forbidden)
            #expect(try await kisi.status(.post, "/role_assignments", kisi.scopeGrantBody("Organization", 1, user: 3, role: "observer"), as: key) == forbidden)
            #expect(try await kisi.status(.get, "/role_assignments/3001", as: key) == forbidden)
            #expect(try await kisi.status(.delete, "/role_assignments/3001", as: key) == forbidden)
            let visible = Set(try await kisi.ids("/role_assignments", as: key))
            #expect(visible.contains(grant.json?["id"]?.int ?? 0))
            #expect(!visible.contains(3001) && !visible.contains(3003))
            #expect(try await kisi.status(.delete, "/role_assignments/\(grant.json?["id"]?.int ?? 0)", as: key) == .noContent)
            #expect(try await kisi.status(.post, "/invites", #"{"invite":{"invites_to_type":"Group","invites_to_id":\#(group),"invitee":{"resource_type":"User","email":"inv@example.com","name":"Inv"},"role_assignment":{"role_id":"group_basic"}}}"#, as: key) == .ok)
            #expect(try await kisi.status(.post, "/invites", #"{"invite":{"invites_to_type":"Group","invites_to_id":2001,"invitee":{"resource_type":"User","email":"inv2@example.com","name":"Inv"},"role_assignment":{"role_id":"group_basic"}}}"#, as: key) == forbidden)
            #expect(try await kisi.status(.delete, "/group_locks/\(groupLock.json?["id"]?.int ?? 0)", as: key) == .noContent)
            // Events: its places' only.
            try await kisi.call(.post, "/locks/5021/unlock")
            let events = try await kisi.call(.post, "/event_sets", #"{"event_set":{}}"#, key: key.secret)
            #expect(events.status == .ok)
            let places = Set((events.json?["events"]?.array ?? []).map { $0["place_id"]?.int ?? -1 })
            #expect(!places.isEmpty && places.isSubset(of: [1001, 1002]))
            #expect(try await kisi.status(.post, "/event_sets", #"{"event_set":{"place_id":1003}}"#, as: key) == forbidden)
            #expect(try await kisi.status(.post, "/event_sets", #"{"event_set":{"event_place_id":1002}}"#, as: key) == .ok)
            let ownerSet = try await kisi.call(.post, "/event_sets", #"{"event_set":{}}"#).json?["id"]?.int ?? 0
            #expect(try await kisi.status(.get, "/event_sets/\(ownerSet)", as: key) == forbidden)
            #expect(try await kisi.status(.get, "/event_sets/\(events.json?["id"]?.int ?? 0)", as: key) == .ok)
            // No webhooks; doors of its places only.
            #expect(try await kisi.status(.get, "/integrations", as: key) == forbidden)
            #expect(try await kisi.status(.post, "/locks/5001/unlock", as: key) == .ok)
            #expect(try await kisi.status(.post, "/locks/5014/unlock", as: key) == .ok)
            let cluj = try await kisi.call(.post, "/locks/5021/unlock", key: key.secret)
            #expect(cluj.status == forbidden)
            #expect(cluj.json?["code"]?.string == "fcd8ef")
            #expect(try await kisi.control(.get, "oracle?user_id=\(key.userId)&lock_id=5012").json?["reason"]?.string == "place_administrator")
        }
    }

    @Test("An observer reads but changes nothing and opens no door by its role")
    func observer() async throws {
        try await withSandbox { _, kisi in
            let key = try await kisi.makeKey(#"{"role_id":"observer"}"#)
            for uri in ["/users", "/groups", "/role_assignments", "/integrations", "/group_locks?group_id=2001"] {
                #expect(try await kisi.status(.get, uri, as: key) == .ok, "\(uri)")
            }
            #expect(try await kisi.ids("/role_assignments?limit=250", as: key).contains(3001))
            #expect(try await kisi.status(.post, "/users", #"{"user":{"email":"o1@example.com"}}"#, as: key) == forbidden)
            #expect(try await kisi.status(.post, "/groups", #"{"group":{"name":"x"}}"#, as: key) == forbidden)
            #expect(try await kisi.status(.post, "/role_assignments", kisi.grantBody(user: 2, group: 2003), as: key) == forbidden)
            #expect(try await kisi.status(.post, "/event_sets", #"{"event_set":{}}"#, as: key) == .ok)
            #expect(try await kisi.status(.post, "/locks/5001/unlock", as: key) == forbidden)
        }
    }

    @Test("A group manager grants access in its group only, and a key without roles sees only its own role assignments")
    func groupManagerAndPlainKey() async throws {
        try await withSandbox { _, kisi in
            // Demo: Elena (4) is group_manager of "Cluj staff" (2003).
            let manager = try await kisi.makeKey(#"{"user_id":4}"#)
            #expect(try await kisi.status(.post, "/role_assignments", kisi.grantBody(user: 3, group: 2003), as: manager) == .ok)
            #expect(try await kisi.status(.post, "/role_assignments", kisi.grantBody(user: 3, group: 2002), as: manager) == forbidden)
            #expect(try await kisi.status(.get, "/users", as: manager) == forbidden)
            #expect(try await kisi.status(.post, "/groups", #"{"group":{"name":"x","place_id":1003}}"#, as: manager) == forbidden)
            let seen = Set(try await kisi.ids("/role_assignments", as: manager))
            #expect(seen.contains(3003) && !seen.contains(3001))

            let plain = try await kisi.makeKey(#"{"user_id":2}"#)
            #expect(try await kisi.ids("/role_assignments", as: plain) == [3001])
            #expect(try await kisi.status(.get, "/role_assignments/3001", as: plain) == .ok)
            #expect(try await kisi.status(.get, "/role_assignments/3002", as: plain) == forbidden)
            #expect(try await kisi.status(.post, "/role_assignments", kisi.grantBody(user: 3, group: 2001), as: plain) == forbidden)
            #expect(try await kisi.status(.post, "/event_sets", #"{"event_set":{}}"#, as: plain) == forbidden)
            #expect(try await kisi.status(.get, "/groups", as: plain) == forbidden)
        }
    }

    @Test("POST /_sandbox/api_keys refuses what it cannot do and keeps a role already held")
    func keyControlRoute() async throws {
        try await withSandbox { sandbox, kisi in
            #expect(try await kisi.control(.post, "api_keys", #"{"role_id":"owner"}"#).status == .badRequest)
            #expect(try await kisi.control(.post, "api_keys", #"{"role_id":"nobody"}"#).status == .badRequest)
            #expect(try await kisi.control(.post, "api_keys", #"{"role_id":"place_administrator"}"#).status == .badRequest)
            #expect(try await kisi.control(.post, "api_keys", #"{"role_id":"access_manager","place_ids":[1001]}"#).status == .badRequest)
            #expect(try await kisi.control(.post, "api_keys", #"{"role_id":"place_administrator","place_ids":[9]}"#).status == .notFound)
            #expect(try await kisi.control(.post, "api_keys", #"{"place_ids":"1001"}"#).status == .badRequest)
            #expect(try await kisi.control(.post, "api_keys", #"{"secret":"kisi-sandbox-demo-owner-key"}"#).status == .badRequest)
            // Elena already manages group 2003: another role there is refused, the same role is kept.
            #expect(try await kisi.control(.post, "api_keys", #"{"user_id":4,"role_id":"group_basic","group_ids":[2003]}"#).status == .unprocessableContent)
            let same = try await kisi.control(.post, "api_keys", #"{"user_id":4,"role_id":"group_manager","group_ids":[2003]}"#)
            #expect(same.status == .ok)
            #expect(same.json?["role_assignment_ids"]?.array == [])

            let key = try await sandbox.createAPIKey(.placeAdministrator(of: [1001], secret: "place-key"))
            #expect(key.secret == "place-key")
            #expect(key.roleAssignmentIDs.count == 1)
            let me = try await kisi.call(.get, "/user", key: "place-key")
            #expect(me.json?["email"]?.string == "place.admin@sandbox.example")
            let again = try await sandbox.createAPIKey(.placeAdministrator(of: [1001, 1002]))
            #expect(again.userID == key.userID)
            #expect(again.roleAssignmentIDs.count == 1)
            await #expect(throws: SandboxControlError.self) { try await sandbox.createAPIKey(.init(userID: 424242)) }
        }
    }

    @Test("A seed gives users organization and place roles with API keys")
    func seededRoles() async throws {
        var seed = SandboxSeed.demoSeed()
        seed.organizations[0].users += [
            .init(id: 60, name: "Access Manager", email: "am@seed.example", organizationRole: "access_manager", apiKeys: ["am-key"]),
            .init(id: 61, name: "Place Admin", email: "pa@seed.example", apiKeys: ["pa-key"]),
        ]
        seed.organizations[0].roleAssignments? += [.init(userId: 61, placeId: 1003)]
        try await withSandbox(seed: seed) { _, kisi in
            #expect(try await kisi.call(.get, "/users", key: "am-key").status == .ok)
            #expect(try await kisi.call(.get, "/integrations", key: "am-key").status == forbidden)
            #expect(try await kisi.call(.get, "/groups", key: "pa-key").json?.array?.compactMap { $0["id"]?.int } == [2003])
            #expect(try await kisi.call(.patch, "/groups/2003", #"{"group":{"description":"x"}}"#, key: "pa-key").status == .noContent)
            let mine = try await kisi.call(.get, "/role_assignments?user_id=me", key: "pa-key").json?.array ?? []
            #expect(mine.map { $0["role_id"]?.string } == ["place_administrator"])
            #expect(mine.first?["applies_to"]?["name"]?.string == "Cluj Centru")
        }
        var bad = SandboxSeed.demoSeed()
        bad.organizations[0].roleAssignments? += [.init(userId: 2, placeId: 1003, roleId: "group_basic")]
        #expect(throws: SandboxSeed.SeedError.self) { try bad.buildState(now: Date()) }
    }
}
