import Foundation
import GymStore
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
@testable import GymWeb

/// Signed Kisi deliveries replayed, late or undated, against the webhook route over a real database.
@Suite("Kisi webhook replays")
struct WebhookReplayTests {
    static let secret = "webhook-s3cret"
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    func withWebhook(_ body: @Sendable (any TestClientProtocol, GymRepository) async throws -> Void) async throws {
        var logger = Logger(label: "boogyman.webhook-replay-tests")
        logger.logLevel = .warning
        let database = try GymDatabase(location: .sqliteInMemory, logger: logger)
        try await database.migrate()
        let routes = GymRoutes(database: database, now: { Self.now }, kisiWebhookSecret: { Self.secret })
        do {
            try await Application(router: routes.router(), logger: logger).test(.router) { client in
                try await body(client, database.repository)
            }
        } catch {
            await database.shutdown()
            throw error
        }
        await database.shutdown()
    }

    static func event(uuid: String?, type: String = "group_lock.destroy", createdAt: Date?) -> String {
        var fields = [#""type":"\#(type)""#, #""actor_type":"User""#, #""actor_id":60"#, #""object_type":"GroupLock""#, #""object_id":77"#]
        if let uuid { fields.append(#""uuid":"\#(uuid)""#) }
        if let createdAt { fields.append(#""created_at":"\#(createdAt.formatted(.iso8601))""#) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func deliver(_ client: any TestClientProtocol, _ body: String) async throws -> (status: HTTPResponse.Status, code: String?) {
        let headers: HTTPFields = [
            .contentType: "application/json",
            HTTPFields.Element.Name("X-Signature")!: KisiWebhookSignature.sign(body: Data(body.utf8), secret: secret),
        ]
        return try await client.execute(uri: "/webhooks/kisi", method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
            let json = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]
            return (response.status, (json?["error"] as? [String: Any])?["code"] as? String)
        }
    }

    @Test("A captured group lock deletion replayed every poll for 30 s causes one full reconcile, not one per replay")
    func replaysCauseOneReconcile() async throws {
        try await withWebhook { client, repository in
            let captured = Self.event(uuid: "2f1c9a1e-0000-4000-8000-000000000001", createdAt: Self.now.addingTimeInterval(-20))
            var reconciles = 0
            // Kisi's delivery, then an attacker replaying it every 0.5 s while the sync polls.
            for _ in 0..<60 {
                #expect(try await Self.deliver(client, captured).status == .noContent)
                if try await repository.syncState.get(.kisiChangeReported) != nil {
                    reconciles += 1
                    try await repository.syncState.set(.kisiChangeReported, nil)
                }
            }
            #expect(reconciles == 1)
        }
    }

    @Test("Distinct reports arriving before the sync looks leave the first report waiting, and ask for one reconcile")
    func reportsCoalesce() async throws {
        try await withWebhook { client, repository in
            for index in 1...5 {
                let event = Self.event(uuid: "evt-\(index)", createdAt: Self.now.addingTimeInterval(-Double(index)))
                #expect(try await Self.deliver(client, event).status == .noContent)
            }
            let report = try #require(try await repository.syncState.get(.kisiChangeReported))
            #expect(report.contains("group_lock.destroy #77"))
            #expect(try await repository.setSyncStateIfAbsent(.kisiChangeReported, "another") == false)
        }
    }

    @Test("Stale, future, undated and unidentified deliveries are refused and change nothing", arguments: [
        ("stale", "stale_event"), ("future", "stale_event"), ("undated", "missing_event_time"), ("no uuid", "missing_event_id"),
    ])
    func unacceptableDeliveriesAreRefused(variant: String, code: String) async throws {
        try await withWebhook { client, repository in
            let event = switch variant {
            case "stale": Self.event(uuid: "evt-old", createdAt: Self.now.addingTimeInterval(-301))
            case "future": Self.event(uuid: "evt-future", createdAt: Self.now.addingTimeInterval(120))
            case "undated": Self.event(uuid: "evt-undated", createdAt: nil)
            default: Self.event(uuid: nil, createdAt: Self.now)
            }
            let answer = try await Self.deliver(client, event)
            #expect(answer.status == .badRequest)
            #expect(answer.code == code)
            #expect(try await repository.syncState.get(.kisiChangeReported) == nil)
            // Refusing it did not mark its ID as seen: a fresh delivery of that event still counts.
            if variant != "no uuid" {
                let uuid = "evt-" + (variant == "stale" ? "old" : variant)
                #expect(try await repository.recordKisiWebhookDelivery(eventUUID: uuid, type: "x", keep: 3600, now: Self.now))
            }
        }
    }

    @Test("A door event delivered twice is stored once")
    func doorEventsAreDeduplicated() async throws {
        try await withWebhook { client, repository in
            let created = Self.now.addingTimeInterval(-5).formatted(.iso8601)
            let tap = "{\"uuid\":\"door-1\",\"type\":\"lock.unlock\",\"actor_type\":\"User\",\"actor_id\":9,\"object_type\":\"Lock\","
                + "\"object_id\":5001,\"success\":true,\"created_at\":\"\(created)\"}"
            for _ in 0..<2 {
                let answer = try await Self.deliver(client, tap)
                #expect(answer.status == .noContent)
            }
            #expect(try await repository.doorEvents(since: Self.now.addingTimeInterval(-60), kisiUserID: 9).count == 1)
        }
    }
}
