import Foundation
import Hummingbird
import Testing
@testable import KisiSandbox

@Suite("Kisi API surface")
struct APITests {
    @Test("A request without or with an unknown API key is rejected with 401 and an Error body")
    func unauthorized() async throws {
        try await withSandbox { _, kisi in
            for key in [nil, "nope"] as [String?] {
                let r = try await kisi.call(.get, "/users", key: key)
                #expect(r.status == .unauthorized)
                #expect(keys(r.json) == ["error", "code"])
                #expect(r.json?["code"]?.string == "000401")
            }
            #expect(try await kisi.call(.get, "/organization").status == .ok)
        }
    }

    @Test("An unknown endpoint answers Kisi's 000404 body")
    func unknownEndpoint() async throws {
        try await withSandbox { _, kisi in
            let r = try await kisi.call(.get, "/user_export_reporters")
            #expect(r.status == .notFound)
            #expect(r.json == .object(["code": "000404", "error": "The endpoint does not exist, please check your request."]))
        }
    }

    @Test("An unknown id is a 404 with an Error body, and locks use fad10e")
    func unknownIds() async throws {
        try await withSandbox { _, kisi in
            let u = try await kisi.call(.get, "/users/999999")
            #expect(u.status == .notFound)
            #expect(keys(u.json) == ["error", "code"])
            let l = try await kisi.call(.get, "/locks/999999")
            #expect(l.json?["code"]?.string == "fad10e")
        }
    }

    @Test("Users are created with a wrapper key and 200, patched and deleted with 204 and no body")
    func userLifecycle() async throws {
        try await withSandbox { _, kisi in
            let created = try await kisi.call(.post, "/users", #"{"user":{"email":"Jane@Example.com","name":"Jane","notes":"[BG]","metadata":{"member_id":"m-1"}}}"#)
            #expect(created.status == .ok)
            let expected: Set<String> = ["id", "resource_type", "name", "email", "created_at", "updated_at", "metadata", "image",
                                         "otp_required_for_login", "password_flow_enabled", "access_enabled", "last_accessed_at",
                                         "scim_access_enabled", "notes", "organization_id", "confirmed", "groups_count"]
            #expect(keys(created.json) == expected)
            #expect(created.json?["resource_type"]?.string == "User")
            #expect(created.json?["image"] == .null)
            let id = try #require(created.json?["id"]?.int)

            let patch = try await kisi.call(.patch, "/users/\(id)", #"{"user":{"access_enabled":false}}"#)
            #expect(patch.status == .noContent)
            #expect(patch.rawBody.isEmpty)
            #expect(try await kisi.call(.get, "/users/\(id)").json?["access_enabled"] == false)

            // Unwrapped bodies are rejected: the wrapper is required.
            #expect(try await kisi.call(.post, "/users", #"{"email":"x@example.com"}"#).status == .badRequest)

            let del = try await kisi.call(.delete, "/users/\(id)")
            #expect(del.status == .noContent)
            #expect(del.rawBody.isEmpty)
            #expect(try await kisi.call(.get, "/users/\(id)").status == .notFound)
        }
    }

    @Test("Blank, invalid and duplicate e-mails are 422 with an errors map, duplicates case-insensitively")
    func userValidation() async throws {
        try await withSandbox { _, kisi in
            let blank = try await kisi.call(.post, "/users", #"{"user":{"name":"No mail"}}"#)
            #expect(blank.status == .unprocessableContent)
            #expect(blank.json?["errors"]?["email"]?.array == ["can't be blank"])
            let dup = try await kisi.call(.post, "/users", #"{"user":{"email":"ANA.POPESCU@boogyman.example"}}"#)
            #expect(dup.status == .unprocessableContent)
            #expect(dup.json?["errors"]?["email"]?.array == ["has already been taken"])
            let meta = try await kisi.call(.post, "/users", #"{"user":{"email":"m@example.com","metadata":{"a":{"b":1}}}}"#)
            #expect(meta.json?["errors"]?["metadata"] != nil)
        }
    }

    @Test("The email filter matches exactly and case-insensitively, query searches by substring")
    func userFilters() async throws {
        try await withSandbox { _, kisi in
            let byEmail = try await kisi.call(.get, "/users?email=Ana.Popescu%40boogyman.example")
            #expect(byEmail.count == 1)
            #expect(try await kisi.call(.get, "/users?email=popescu").count == 0)
            #expect(try await kisi.call(.get, "/users?query=popescu").count == 1)
            #expect(try await kisi.call(.get, "/users?ids=1,2,999").count == 2)
        }
    }

    @Test("Pagination pages with X-Collection-Range, clamps limit to the maximum and rejects offset above 20000")
    func pagination() async throws {
        try await withSandbox { _, kisi in
            for i in 0..<120 { _ = try await kisi.createUser("p\(i)@example.com") }
            // 5 demo users + 120 = 125. Users default to 50 per page.
            let first = try await kisi.call(.get, "/users")
            #expect(first.count == 50)
            #expect(first.range == "0-49/125")
            let last = try await kisi.call(.get, "/users?limit=50&offset=100")
            #expect(last.count == 25)
            #expect(last.range == "100-149/125")
            let clamped = try await kisi.call(.get, "/users?limit=1000")
            #expect(clamped.count == 100)
            #expect(clamped.range == "0-99/125")
            let beyond = try await kisi.call(.get, "/users?offset=500")
            #expect(beyond.count == 0)
            #expect(beyond.range == "*/125")
            let tooFar = try await kisi.call(.get, "/users?offset=20001")
            #expect(tooFar.status == .badRequest)
            #expect(try await kisi.call(.get, "/users?offset=20000").status == .ok)
            let empty = try await kisi.call(.get, "/users?email=none%40example.com")
            #expect(empty.range == "*/0")
            // Groups default to 10 and cap at 250; locks/places default to 50.
            #expect(try await kisi.call(.get, "/locks").range == "0-49/12")
            #expect(try await kisi.call(.get, "/groups?limit=1").range == "0-0/3")
        }
    }

    @Test("Groups are place- or organization-scoped and their scope can't change")
    func groups() async throws {
        try await withSandbox { _, kisi in
            let org = try await kisi.call(.post, "/groups", #"{"group":{"name":"Members"}}"#)
            #expect(org.status == .ok)
            #expect(org.json?["place_id"] == .null)
            #expect(org.json?["place"] == nil)
            let placed = try await kisi.call(.post, "/groups", #"{"group":{"name":"Old Town members","place_id":1001}}"#)
            #expect(placed.json?["place"]?["name"]?.string == "Old Town")
            let gid = try #require(placed.json?["id"]?.int)
            #expect(try await kisi.call(.patch, "/groups/\(gid)", #"{"group":{"place_id":1002}}"#).status == .unprocessableContent)
            #expect(try await kisi.call(.patch, "/groups/\(gid)", #"{"group":{"name":"Renamed"}}"#).status == .noContent)
            #expect(try await kisi.call(.post, "/groups", #"{"group":{"name":""}}"#).json?["errors"]?["name"] != nil)

            let wrongPlace = try await kisi.call(.post, "/group_locks", #"{"group_lock":{"group_id":\#(gid),"lock_id":5011}}"#)
            #expect(wrongPlace.status == .unprocessableContent)
            let gl = try await kisi.call(.post, "/group_locks", #"{"group_lock":{"group_id":\#(gid),"lock_id":5001}}"#)
            #expect(gl.status == .ok)
            #expect(keys(gl.json) == ["id", "resource_type", "created_at", "updated_at", "group_id", "group", "lock_id", "lock", "place_id", "place"])
            #expect(try await kisi.call(.post, "/group_locks", #"{"group_lock":{"group_id":\#(gid),"lock_id":5001}}"#).status == .unprocessableContent)
            #expect(try await kisi.call(.get, "/group_locks").status == .badRequest)
            #expect(try await kisi.call(.get, "/group_locks?group_id=\(gid)").range == "0-9/1")
            let glid = try #require(gl.json?["id"]?.int)
            #expect(try await kisi.call(.delete, "/group_locks/\(glid)").status == .noContent)
            #expect(try await kisi.call(.delete, "/groups/\(gid)").status == .noContent)
        }
    }

    @Test("Role assignments accept the current and the legacy body and carry the deprecated mirrors")
    func roleAssignments() async throws {
        try await withSandbox { _, kisi in
            let a = try await kisi.createUser("a@example.com")
            let b = try await kisi.createUser("b@example.com")
            let current = try await kisi.call(.post, "/role_assignments", #"{"role_assignment":{"applies_to_type":"Group","applies_to_id":2001,"assignee_type":"User","assignee_id":\#(a),"role_id":"group_basic","valid_until":"2030-01-01T00:00:00Z"}}"#)
            #expect(current.status == .ok)
            let legacy = try await kisi.call(.post, "/role_assignments", #"{"role_assignment":{"user_id":\#(b),"group_id":2001,"role_id":"group_basic"}}"#)
            #expect(legacy.status == .ok)
            for r in [current, legacy] {
                #expect(r.json?["type"]?.string == "group")
                #expect(r.json?["scope"]?.string == "group")
                #expect(r.json?["group_id"]?.int == 2001)
                #expect(r.json?["group"]?["name"]?.string == "Staff")
                #expect(r.json?["user"]?["id"] != nil)
                #expect(r.json?["applies_to"]?["resource_type"]?.string == "Group")
            }
            #expect(current.json?["valid_until"]?.string == "2030-01-01T00:00:00.000Z")
            #expect(legacy.json?["valid_from"] == .null)

            let dup = try await kisi.call(.post, "/role_assignments", #"{"role_assignment":{"user_id":\#(a),"group_id":2001,"role_id":"group_basic"}}"#)
            #expect(dup.status == .unprocessableContent)
            #expect(dup.json?["errors"]?["assignee_id"]?.array == ["has already been taken"])
            let missing = try await kisi.call(.post, "/role_assignments", #"{"role_assignment":{"applies_to_type":"Group","applies_to_id":2001}}"#)
            #expect(missing.json?["errors"]?["assignee_id"] != nil)
            #expect(missing.json?["errors"]?["role_id"] != nil)

            let filtered = try await kisi.call(.get, "/role_assignments?assignee_type=User&assignee_id=\(a)&applies_to_type=Group&applies_to_id=2001")
            #expect(filtered.count == 1)
            #expect(try await kisi.call(.get, "/role_assignments?user_id=\(b)&group_id=2001").count == 1)
            let id = try #require(current.json?["id"]?.int)
            #expect(try await kisi.call(.patch, "/role_assignments/\(id)", #"{"role_assignment":{"valid_until":"2031-01-01T00:00:00Z"}}"#).status == .noContent)
            #expect(try await kisi.call(.get, "/role_assignments/\(id)").json?["valid_until"]?.string == "2031-01-01T00:00:00.000Z")
            #expect(try await kisi.call(.delete, "/role_assignments/\(id)").status == .noContent)
            #expect(try await kisi.call(.delete, "/role_assignments/\(id)").status == .notFound)
        }
    }

    @Test("Current organization, user, login, roles and places answer with their schemas")
    func currentAndCatalogue() async throws {
        try await withSandbox { _, kisi in
            let org = try await kisi.call(.get, "/organization")
            #expect(org.json?["name"]?.string == "BooGYMan Demo Gym")
            #expect(org.json?["resource_type"]?.string == "Organization")
            let me = try await kisi.call(.get, "/user")
            #expect(me.json?["organization"]?["domain"]?.string == "boogyman-demo")
            let login = try await kisi.call(.get, "/login")
            #expect(login.json?["type"]?.string == "api")
            let roles = try await kisi.call(.get, "/roles")
            #expect(roles.json?.array?.contains { $0["id"]?.string == "group_basic" } == true)
            let places = try await kisi.call(.get, "/places")
            #expect(places.json?.array?.compactMap { $0["id"]?.int } == [1001, 1002, 1003])
            #expect(try await kisi.call(.get, "/locks?place_id=1002").json?.array?.compactMap { $0["id"]?.int } == [5011, 5012, 5013, 5014])
        }
    }

    @Test("An invite creates or reuses the user by e-mail and grants the group role in one call")
    func invites() async throws {
        try await withSandbox { _, kisi in
            let body = #"{"invite":{"invites_to_type":"Group","invites_to_id":2001,"invitee":{"resource_type":"User","email":"New.Member@example.com","name":"New"},"role_assignment":{"role_id":"group_basic","valid_until":"2030-01-01T00:00:00Z"},"notify":false}}"#
            let r = try await kisi.call(.post, "/invites", body)
            #expect(r.status == .ok)
            #expect(r.json?["resource_type"]?.string == "Invite")
            #expect(r.json?["invitee"]?["email"]?.string == "new.member@example.com")
            #expect(r.json?["role_assignment"]?["valid_until"]?.string == "2030-01-01T00:00:00.000Z")
            // Same e-mail again: the user is reused and the duplicate role is a 422.
            #expect(try await kisi.call(.post, "/invites", body).status == .unprocessableContent)
            let other = body.replacingOccurrences(of: "\"invites_to_id\":2001", with: "\"invites_to_id\":2002")
            let r2 = try await kisi.call(.post, "/invites", other)
            #expect(r2.json?["invitee_id"] == r.json?["invitee_id"])
            #expect(try await kisi.call(.get, "/users?email=new.member%40example.com").count == 1)
        }
    }
}
