import Foundation
import Hummingbird
import Testing
@testable import KisiSandbox

@Suite("Door access")
struct AccessTests {
    @Test("The oracle and unlock follow group_basic, access_enabled and the validity window on the sandbox clock")
    func validityWindow() async throws {
        try await withSandbox { _, kisi in
            try await kisi.control(.post, "clock", #"{"now":"2026-03-01T12:00:00Z","frozen":true}"#)
            let member = try await kisi.createUser("member@example.com")
            let group = try await kisi.call(.post, "/groups", #"{"group":{"name":"Members","place_id":1001}}"#).json?["id"]?.int ?? 0
            try await kisi.call(.post, "/group_locks", #"{"group_lock":{"group_id":\#(group),"lock_id":5001}}"#)

            func oracle(_ at: String? = nil) async throws -> JSONValue? {
                try await kisi.control(.get, "oracle?user_id=\(member)&lock_id=5001" + (at.map { "&at=\($0)" } ?? "")).json
            }
            #expect(try await oracle()?["code"]?.string == "fcd8ef")

            _ = try await kisi.grant(user: member, group: group, from: "2026-03-02T00:00:00Z", until: "2026-04-01T00:00:00Z")
            #expect(try await oracle()?["code"]?.string == "f358de")
            #expect(try await oracle("2026-03-15T00:00:00Z")?["allowed"] == true)
            #expect(try await oracle("2026-04-01T00:00:00Z")?["code"]?.string == "f35ade")

            try await kisi.control(.post, "clock", #"{"advance_seconds":86400}"#)
            #expect(try await oracle()?["allowed"] == true)
            let tap = try await kisi.control(.post, "tap", #"{"user_id":\#(member),"lock_id":5001}"#)
            #expect(tap.json?["allowed"] == true)
            // The other place's door is not in the group.
            #expect(try await kisi.control(.post, "tap", #"{"user_id":\#(member),"lock_id":5011}"#).json?["code"]?.string == "fcd8ef")

            try await kisi.call(.patch, "/users/\(member)", #"{"user":{"access_enabled":false}}"#)
            #expect(try await oracle()?["code"]?.string == "fcd8ff")
            try await kisi.call(.patch, "/users/\(member)", #"{"user":{"access_enabled":true}}"#)

            try await kisi.control(.post, "clock", #"{"now":"2026-05-01T00:00:00Z"}"#)
            #expect(try await oracle()?["code"]?.string == "f35ade")
        }
    }

    @Test("A group_manager role alone does not open doors")
    func managerIsNotDoorAccess() async throws {
        try await withSandbox { _, kisi in
            // Demo: Elena (4) manages "Cluj staff" but has no door access.
            let manager = try await kisi.control(.get, "oracle?user_id=4&lock_id=5021")
            #expect(manager.json?["allowed"] == false)
            let cleaner = try await kisi.control(.get, "oracle?user_id=5&lock_id=5024")
            #expect(cleaner.json?["allowed"] == true)
        }
    }

    @Test("The admin API key unlocks any door; a member's own key is refused with Kisi's code")
    func unlockEndpoint() async throws {
        let seed = SandboxSeed(organizations: SandboxSeed.demoSeed().organizations.map { org in
            var org = org
            org.users.append(.init(id: 77, name: "Key Member", email: "keymember@example.com", apiKeys: ["member-key"]))
            return org
        })
        try await withSandbox(seed: seed) { _, kisi in
            let ok = try await kisi.call(.post, "/locks/5013/unlock")
            #expect(ok.status == .ok)
            #expect(ok.json == .object(["message": "Unlocked!"]))
            let denied = try await kisi.call(.post, "/locks/5013/unlock", key: "member-key")
            #expect(denied.status == .forbidden)
            #expect(denied.json?["code"]?.string == "fcd8ef")
            // Non-admin keys can't manage users either.
            #expect(try await kisi.call(.get, "/users", key: "member-key").status == .forbidden)
            _ = try await kisi.grant(user: 77, group: 2001)
            #expect(try await kisi.call(.post, "/locks/5013/unlock", key: "member-key").status == .ok)
            #expect(try await kisi.call(.post, "/locks/424242/unlock").json?["code"]?.string == "fad10e")
        }
    }

    @Test("A locked-down door refuses everyone with 409 fad001, an offline one with 503 fac001, and both denials are events")
    func doorStates() async throws {
        try await withSandbox { _, kisi in
            let plain = try await kisi.call(.get, "/locks/5001").json
            #expect(plain?["locked_down"] == false)
            #expect(plain?["locked_down_since"] == .null)
            #expect(plain?["online"] == true)

            let lockedDown = try await kisi.control(.post, "locks/5001", #"{"locked_down":true}"#)
            #expect(lockedDown.json?["locked_down"] == true)
            #expect(lockedDown.json?["locked_down_since"]?.string != nil)
            #expect(try await kisi.call(.get, "/locks?locked_down=true").json?.array?.compactMap { $0["id"]?.int } == [5001])
            // The administrator's key opens every door, but not a locked-down one.
            let refused = try await kisi.call(.post, "/locks/5001/unlock")
            #expect(refused.status == .conflict)
            #expect(refused.json?["code"]?.string == "fad001")
            #expect(try await kisi.control(.post, "tap", #"{"user_id":2,"lock_id":5001}"#).json?["code"]?.string == "fad001")

            try await kisi.control(.post, "locks/5001", #"{"locked_down":false}"#)
            #expect(try await kisi.call(.post, "/locks/5001/unlock").status == .ok)

            try await kisi.control(.post, "locks/5002", #"{"online":false}"#)
            #expect(try await kisi.call(.get, "/locks/5002").json?["online"] == false)
            let offline = try await kisi.call(.post, "/locks/5002/unlock")
            #expect(offline.status == .serviceUnavailable)
            #expect(offline.json?["code"]?.string == "fac001")
            #expect(try await kisi.control(.post, "locks/5002", #"{"online":"no"}"#).status == .badRequest)

            let events = try await kisi.call(.post, "/event_sets", #"{"event_set":{"event_type":"lock.unlock,lock.lock_down,lock.cancel_lockdown"}}"#)
            let summary = (events.json?["events"]?.array ?? []).reversed().map { event in
                "\(event["type"]?.string ?? "?") \(event["object_id"]?.int ?? 0) \(event["error_code"]?.string ?? "ok")"
            }
            #expect(summary == [
                "lock.lock_down 5001 ok", "lock.unlock 5001 fad001", "lock.unlock 5001 fad001", "lock.cancel_lockdown 5001 ok",
                "lock.unlock 5001 ok", "lock.unlock 5002 fac001",
            ])
        }
    }
}

@Suite("Events and webhooks")
struct EventTests {
    @Test("Changes and unlocks become events readable through an event set with a cursor")
    func eventSets() async throws {
        try await withSandbox { _, kisi in
            for i in 0..<4 { _ = try await kisi.createUser("e\(i)@example.com") }
            try await kisi.control(.post, "tap", #"{"user_id":2,"lock_id":5001}"#)
            try await kisi.control(.post, "tap", #"{"user_id":5,"lock_id":5003}"#) // cleaners: not the spinning studio

            let created = try await kisi.call(.post, "/event_sets", #"{"event_set":{"event_type":"user.create,lock.unlock"}}"#)
            #expect(created.status == .ok)
            #expect(created.json?["status"]?.string == "finished")
            #expect(created.json?["events"]?.array?.count == 6)
            #expect(created.json?["cursor"] == .null)
            let id = try #require(created.json?["id"]?.int)

            var seen: [JSONValue] = []
            var cursor: String?
            repeat {
                let page = try await kisi.call(.get, "/event_sets/\(id)?limit=4" + (cursor.map { "&cursor=\($0)" } ?? ""))
                seen += page.json?["events"]?.array ?? []
                cursor = page.json?["cursor"]?.string
            } while cursor != nil
            #expect(seen.count == 6)
            let denied = seen.first { $0["type"]?.string == "lock.unlock" && $0["success"] == false }
            #expect(denied?["error_code"]?.string == "fcd8ef")
            let eventKeys: Set<String> = ["uuid", "type", "actor_type", "actor_id", "actor_name", "actor_email",
                                          "authenticated_by_type", "authenticated_by_id", "authorized_by_type", "authorized_by_id",
                                          "authorized_by_role_id", "object_type", "object_id", "object_name", "action", "created_at",
                                          "message", "success", "code", "sequence", "organization_id", "place_id", "error_code",
                                          "error_message", "details", "via"]
            #expect(keys(seen.first) == eventKeys)
            #expect(try await kisi.call(.post, "/event_sets", #"{"event_set":{"interval":"garbage"}}"#).status == .unprocessableContent)
        }
    }

    @Test("Enabled event webhooks receive signed JSON posts for their enabled events")
    func webhookDelivery() async throws {
        let (received, continuation) = AsyncStream.makeStream(of: (String, String).self)
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 20)
            continuation.yield((String(buffer: body), request.headers[HTTPFields.Element.Name("X-Signature")!] ?? ""))
            return .ok
        }
        let receiver = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await receiver.test(.live) { receiverClient in
            let port = try #require(receiverClient.port)
            try await withSandbox { _, kisi in
                let hook = try await kisi.call(.post, "/integrations", #"{"integration":{"name":"Hook","type":"event_webhook","url":"http://127.0.0.1:\#(port)/hook","enabled":true,"enabled_events":["lock.unlock"],"signature_key":"s3cret"}}"#)
                #expect(hook.status == .ok)
                #expect(hook.json?["signature_key"] == nil)
                #expect(hook.json?["enabled_events"]?.array == ["lock.unlock"])
                _ = try await kisi.createUser("nohook@example.com") // user.create is filtered out
                try await kisi.control(.post, "tap", #"{"user_id":2,"lock_id":5001}"#)

                var iterator = received.makeAsyncIterator()
                let (body, signature) = try #require(await iterator.next())
                #expect(signature == Webhooks.signature(body: Data(body.utf8), key: "s3cret"))
                #expect(signature.hasPrefix("sha256="))
                let event = JSONValue.decode(Data(body.utf8))
                #expect(event?["type"]?.string == "lock.unlock")
                #expect(event?["object_id"]?.int == 5001)
                #expect(event?["success"] == true)
                #expect(try await kisi.call(.get, "/integrations").json?.array?.first?["url"] == nil)
            }
        }
    }
}
