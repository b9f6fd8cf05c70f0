import Foundation
import HTTPTypes
import Testing

@testable import KisiAPI

@Suite("Kisi client: headers, decoding, request bodies")
struct KisiClientRequestTests {
    @Test("Every request carries KISI-LOGIN authorization, JSON Accept/Content-Type and the integration headers")
    func headersAndAuth() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.json(200, userJSON(id: 1))])
        let key = uniqueKey()
        let client = makeClient(key: key, clock: clock, transport: transport)

        let user = try await client.user(id: 1)

        #expect(user.id == 1)
        let request = try #require(transport.requests.first)
        #expect(request.request.method == .get)
        #expect(request.pathWithoutQuery == "/users/1")
        #expect(request.header("Authorization") == "KISI-LOGIN \(key)")
        #expect(request.header("Accept") == "application/json")
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("X-Kisi-Integration-Identifier") == "BooGYMan")
        #expect(request.header("X-Kisi-Integration-Contact") == "ops@boogyman.example")
        #expect(request.baseURL.absoluteString == "https://kisi.test")
    }

    @Test("A client without an injected transport uses AsyncHTTPClient and the documented defaults")
    func defaultConfiguration() {
        let configuration = KisiClient.Configuration(apiKey: "k")
        let client = KisiClient(configuration: configuration)

        #expect(client.configuration.baseURL.absoluteString == "https://api.kisi.io")
        #expect(client.configuration.requestDeadline == .seconds(10))
        #expect(client.configuration.requestsPerSecond == 5)
        #expect(client.configuration.retryPolicy == .default)
    }

    @Test("Integration headers are omitted when not configured")
    func noIntegrationHeaders() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.json(200, #"{"id":7,"name":"Gym","domain":"gym"}"#)])
        let client = makeClient(clock: clock, transport: transport, identifier: nil, contact: nil)

        let organization = try await client.organization()

        #expect(organization == KisiOrganization(id: 7, name: "Gym", domain: "gym"))
        let request = try #require(transport.requests.first)
        #expect(request.header("X-Kisi-Integration-Identifier") == nil)
        #expect(request.header("X-Kisi-Integration-Contact") == nil)
    }

    @Test("A user decodes with metadata, dates with and without fractional seconds, and unknown extra fields")
    func userDecoding() async throws {
        let clock = VirtualClock()
        let body = userJSON(id: 5, email: "Ann@Example.com", name: "Ann")
            .replacingOccurrences(of: #""organization_id":7"#, with: #""organization_id":7,"brand_new_field":{"x":1}"#)
        let transport = FakeTransport(clock: clock, script: [.json(200, "[\(body)]", headers: ["X-Collection-Range": "0-99/1"])])
        let client = makeClient(clock: clock, transport: transport)

        let user = try #require(try await client.user(email: "ann@example.com"))

        #expect(user.name == "Ann")
        #expect(user.metadata["member_id"] == .string("m-5"))
        #expect(user.metadata["visits"] == .int(3))
        #expect(user.createdAt == Date(timeIntervalSince1970: 1_704_164_645))
        #expect(user.updatedAt.map { abs($0.timeIntervalSince1970 - 1_704_164_645.123) < 0.001 } == true)
        let query = try #require(transport.requests.first).queryItems
        #expect(query["email"] == "ann@example.com")
        #expect(query["limit"] == "100")
        #expect(query["offset"] == "0")
    }

    @Test("createUser sends the user wrapper with managed-user flags and metadata")
    func createUserBody() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.json(200, userJSON(id: 9, email: "new@example.com"))])
        let client = makeClient(clock: clock, transport: transport)

        let user = try await client.createUser(
            .init(
                email: "new@example.com", name: "New", sendEmails: false, confirm: true, notes: "[boogyman]",
                metadata: ["member_id": .string("m-9")]
            )
        )

        #expect(user.id == 9)
        let request = try #require(transport.requests.first)
        #expect(request.request.method == .post)
        #expect(request.pathWithoutQuery == "/users")
        let wrapper = try #require(request.jsonBody?["user"] as? [String: Any])
        #expect(wrapper["email"] as? String == "new@example.com")
        #expect(wrapper["send_emails"] as? Bool == false)
        #expect(wrapper["confirm"] as? Bool == true)
        #expect(wrapper["notes"] as? String == "[boogyman]")
        #expect((wrapper["metadata"] as? [String: Any])?["member_id"] as? String == "m-9")
    }

    @Test("Role assignments are created in the current body shape and in the legacy shape")
    func roleAssignmentShapes() async throws {
        let clock = VirtualClock()
        let response = """
            {"id":55,"role_id":"group_basic","applies_to_type":"Group","applies_to_id":3,"applies_to":{"id":3,"name":"Members"},
             "assignee_type":"User","assignee_id":9,"assignee":{"id":9,"email":"a@b.c","name":"A"},"notify":false,
             "valid_until":"2030-01-01T00:00:00Z","type":"group","group_id":3,"user_id":9}
            """
        let transport = FakeTransport(clock: clock, script: [.json(200, response)])
        let client = makeClient(clock: clock, transport: transport)
        let until = Date(timeIntervalSince1970: 1_893_456_000)

        let created = try await client.createRoleAssignment(.groupAccess(userID: 9, groupID: 3, validUntil: until))
        _ = try await client.createRoleAssignment(.legacy(userID: 9, groupID: 3, roleID: "group_basic", validUntil: until))

        #expect(created.appliesTo == .group(id: 3))
        #expect(created.assignee == .user(id: 9))
        #expect(created.assigneeEmail == "a@b.c")
        #expect(created.validUntil == until)
        let current = try #require(transport.requests[0].jsonBody?["role_assignment"] as? [String: Any])
        #expect(current["applies_to_type"] as? String == "Group")
        #expect(current["applies_to_id"] as? Int == 3)
        #expect(current["assignee_type"] as? String == "User")
        #expect(current["assignee_id"] as? Int == 9)
        #expect(current["role_id"] as? String == "group_basic")
        #expect(current["valid_until"] as? String == "2030-01-01T00:00:00Z")
        #expect(current["user_id"] == nil)
        let legacy = try #require(transport.requests[1].jsonBody?["role_assignment"] as? [String: Any])
        #expect(legacy["user_id"] as? Int == 9)
        #expect(legacy["group_id"] as? Int == 3)
        #expect(legacy["applies_to_type"] == nil)
    }

    @Test("A legacy role assignment payload without applies_to fields maps through the deprecated mirrors")
    func legacyRoleAssignmentPayload() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(
            clock: clock,
            script: [.json(200, #"{"id":8,"role_id":"group_basic","type":"group","group_id":4,"user_id":2,"user":{"id":2,"email":"x@y.z","name":"X"}}"#)]
        )
        let client = makeClient(clock: clock, transport: transport)

        let assignment = try await client.roleAssignment(id: 8)

        #expect(assignment.appliesTo == .group(id: 4))
        #expect(assignment.assignee == .user(id: 2))
        #expect(assignment.assigneeEmail == "x@y.z")
    }

    @Test("Role assignment filters map to assignee/applies_to and to the deprecated user_id/group_id parameters")
    func roleAssignmentFilters() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.json(200, "[]", headers: ["X-Collection-Range": "*/0"])])
        let client = makeClient(clock: clock, transport: transport)

        _ = try await client.roleAssignments(filter: .init(roleID: "group_basic", assignee: .user(id: 9), appliesTo: .group(id: 3)))
        _ = try await client.roleAssignments(filter: .init(legacyUserID: 9, legacyGroupID: 3), limit: 1)

        let first = transport.requests[0].queryItems
        #expect(first["assignee_type"] == "User")
        #expect(first["assignee_id"] == "9")
        #expect(first["applies_to_type"] == "Group")
        #expect(first["applies_to_id"] == "3")
        #expect(first["role_id"] == "group_basic")
        #expect(first["limit"] == "250")
        let second = transport.requests[1].queryItems
        #expect(second["user_id"] == "9")
        #expect(second["group_id"] == "3")
        #expect(second["limit"] == "1")
    }

    @Test("PATCH sends the wrapper and accepts 204 No Content")
    func patchRoleAssignment() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.empty(204)])
        let client = makeClient(clock: clock, transport: transport)

        try await client.updateRoleAssignment(id: 55, .init(validUntil: Date(timeIntervalSince1970: 1_893_456_000)))

        let request = try #require(transport.requests.first)
        #expect(request.request.method == .patch)
        #expect(request.pathWithoutQuery == "/role_assignments/55")
        let body = try #require(request.jsonBody?["role_assignment"] as? [String: Any])
        #expect(body["valid_until"] as? String == "2030-01-01T00:00:00Z")
    }

    @Test("Groups are created organization-scoped without place_id and place-scoped with it")
    func createGroups() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock) { request, _ in
            let placeID = (request.jsonBody?["group"] as? [String: Any])?["place_id"] as? Int
            return .json(200, #"{"id":1,"name":"G","place_id":\#(placeID.map(String.init) ?? "null")}"#)
        }
        let client = makeClient(clock: clock, transport: transport)

        let organizationGroup = try await client.createGroup(.init(name: "24/7 members"))
        let placeGroup = try await client.createGroup(.init(name: "Downtown", placeID: 12))

        #expect(organizationGroup.isOrganizationScoped)
        #expect(placeGroup.placeID == 12)
        #expect((transport.requests[0].jsonBody?["group"] as? [String: Any])?.keys.contains("place_id") == false)
    }

    @Test("Group invites send invitee, role assignment and validity")
    func groupInvite() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(
            clock: clock,
            script: [
                .json(
                    200,
                    #"{"id":3,"invites_to_type":"Group","invites_to_id":4,"invitee_type":"User","invitee_id":9,"role_assignment_id":77,"role_assignment":{"id":77,"role_id":"group_basic"}}"#
                )
            ]
        )
        let client = makeClient(clock: clock, transport: transport)

        let invite = try await client.createInvite(.group(id: 4, invitee: .user(email: "m@example.com", name: "M"), notify: false))

        #expect(invite.target == .group(id: 4))
        #expect(invite.roleAssignmentID == 77)
        let body = try #require(transport.requests.first?.jsonBody?["invite"] as? [String: Any])
        #expect(body["invites_to_type"] as? String == "Group")
        #expect(body["invites_to_id"] as? Int == 4)
        #expect(body["notify"] as? Bool == false)
        #expect((body["invitee"] as? [String: Any])?["resource_type"] as? String == "User")
        #expect((body["role_assignment"] as? [String: Any])?["role_id"] as? String == "group_basic")
    }

    @Test("Event sets are created with a comma-separated type filter and paged by cursor")
    func eventSets() async throws {
        let clock = VirtualClock()
        let event = #"{"uuid":"e1","type":"lock.unlock","success":true,"object_type":"Lock","object_id":5,"created_at":"2024-05-01T10:00:00.5Z"}"#
        let transport = FakeTransport(
            clock: clock,
            script: [
                .json(200, #"{"id":11,"status":"finished","events":[\#(event)],"cursor":"abc"}"#),
                .json(200, #"{"id":11,"status":"finished","events":[],"cursor":null}"#),
            ]
        )
        let client = makeClient(clock: clock, transport: transport)

        let first = try await client.createEventSet(.init(interval: "2024-05-01T00:00:00Z/P1D", eventTypes: ["lock.unlock", "lock.opened"]))
        let next = try await client.eventSet(id: first.eventSetID, cursor: first.cursor, limit: 50)

        #expect(first.status == .finished)
        #expect(first.events.map(\.uuid) == ["e1"])
        #expect(first.events.first?.objectID == 5)
        #expect(next.cursor == nil)
        let body = try #require(transport.requests[0].jsonBody?["event_set"] as? [String: Any])
        #expect(body["event_type"] as? String == "lock.unlock,lock.opened")
        #expect(transport.requests[1].queryItems["cursor"] == "abc")
    }

    @Test("Event webhooks are created with type event_webhook and the signature key is not in the description")
    func eventWebhook() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(
            clock: clock,
            script: [
                .json(
                    200,
                    #"{"id":4,"name":"BooGYMan","type":"event_webhook","enabled":true,"url":"https://gym.example/kisi","enabled_events":["lock.unlock"]}"#
                )
            ]
        )
        let client = makeClient(clock: clock, transport: transport)
        let input = KisiEventWebhookCreate(
            name: "BooGYMan", url: "https://gym.example/kisi", enabledEvents: ["lock.unlock"], signatureKey: "hmac-secret-123"
        )

        let integration = try await client.createEventWebhook(input)

        #expect(integration.type == "event_webhook")
        #expect(integration.enabledEvents == ["lock.unlock"])
        let body = try #require(transport.requests.first?.jsonBody?["integration"] as? [String: Any])
        #expect(body["type"] as? String == "event_webhook")
        #expect(body["signature_key"] as? String == "hmac-secret-123")
        #expect(!String(describing: input).contains("hmac-secret-123"))
        var dumped = ""
        dump(input, to: &dumped)
        #expect(!dumped.contains("hmac-secret-123"))
    }

    @Test("Unlock returns Kisi's message")
    func unlock() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.json(200, #"{"message":"Unlocked!"}"#)])
        let client = makeClient(clock: clock, transport: transport)

        let message = try await client.unlock(lockID: 12)

        #expect(message == "Unlocked!")
        #expect(transport.requests.first?.pathWithoutQuery == "/locks/12/unlock")
        #expect(transport.requests.first?.request.method == .post)
    }

    @Test("Roles, places, locks, groups and the current user and login decode into domain types")
    func readEndpoints() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock) { request, _ in
            switch request.pathWithoutQuery {
            case "/roles":
                return .json(200, #"[{"id":"group_basic","name":"Door access","applies_to":"Group","custom":false,"permissions":{"locks_unlock":true,"users_write":false}}]"#)
            case "/places/2":
                return .json(200, #"{"id":2,"name":"Downtown","address":"1 Main St","latitude":52.520008,"longitude":13.404954,"time_zone":"Europe/Berlin"}"#)
            case "/locks/12":
                return .json(200, #"{"id":12,"name":"Front door","place_id":2,"place":{"id":2,"name":"Downtown"},"online":true,"unlocked":false}"#)
            case "/groups/3":
                return .json(200, #"{"id":3,"name":"Members","place_id":null,"users_count":10,"login_enabled":true}"#)
            case "/user":
                return .json(200, #"{"id":1,"name":"Owner","email":"owner@gym.example","organization":{"id":7,"name":"Gym","domain":"gym"}}"#)
            default:
                return .json(200, #"{"id":99,"type":"api","name":"BooGYMan","user_id":1,"user":{"id":1,"email":"owner@gym.example"}}"#)
            }
        }
        let client = makeClient(clock: clock, transport: transport)

        let roles = try await client.roles()
        let place = try await client.place(id: 2)
        let lock = try await client.lock(id: 12)
        let group = try await client.group(id: 3)
        let me = try await client.currentUser()
        let login = try await client.currentLogin()

        #expect(roles == [KisiRole(id: "group_basic", name: "Door access", appliesTo: "Group", permissions: ["locks_unlock": true, "users_write": false])])
        #expect(place.latitude == 52.520008)
        #expect(place.timeZone == "Europe/Berlin")
        #expect(lock.placeName == "Downtown")
        #expect(lock.online == true)
        #expect(group.isOrganizationScoped)
        #expect(group.usersCount == 10)
        #expect(me.organizationID == 7)
        #expect(login.type == "api")
        #expect(login.userEmail == "owner@gym.example")
    }
}
