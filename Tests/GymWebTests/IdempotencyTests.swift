import Foundation
import GymStore
import Hummingbird
import HummingbirdTesting
import Testing

/// POSTs of the JSON API with an `Idempotency-Key`, over a real server.
@Suite("Idempotency keys")
struct IdempotencyTests {
    struct Answer: Sendable {
        let status: HTTPResponse.Status
        let replayed: Bool
        let body: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    }

    static func post(_ api: APIClient, _ path: String, _ json: String, key: String?, token: String? = nil) async throws -> Answer {
        var headers: HTTPFields = [.contentType: "application/json", .authorization: "Bearer \(token ?? api.token)"]
        if let key { headers[HTTPFields.Element.Name("Idempotency-Key")!] = key }
        return try await api.client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: json)) { response in
            Answer(
                status: response.status, replayed: response.headers[HTTPFields.Element.Name("Idempotent-Replayed")!] == "true",
                body: String(buffer: response.body))
        }
    }

    static func sale(_ gym: (club: String, studio: String, plan: String, member: String)) -> String {
        #"{"member_id":"\#(gym.member)","plan_id":"\#(gym.plan)","start_date":"2026-01-01","paid_through":"2026-12-31"}"#
    }

    @Test("A sale retried with the same key returns the first answer and sells once; without a key it would sell twice")
    func retriedSaleSellsOnce() async throws {
        try await withServer { api in
            let gym = try await api.makeGym()
            let first = try await Self.post(api, "/api/v1/subscriptions", Self.sale(gym), key: "sale-7f3a")
            #expect(first.status == .created)
            #expect(!first.replayed)
            let retry = try await Self.post(api, "/api/v1/subscriptions", Self.sale(gym), key: "sale-7f3a")
            #expect(retry.status == .created)
            #expect(retry.replayed)
            #expect(retry.body == first.body)
            #expect(try await api.repository.subscriptions(memberID: nil, planID: nil, PageRequest()).total == 1)
            // The control: the same request with a new key is a new sale.
            #expect(try await Self.post(api, "/api/v1/subscriptions", Self.sale(gym), key: "sale-other").status == .created)
            #expect(try await api.repository.subscriptions(memberID: nil, planID: nil, PageRequest()).total == 2)
        }
    }

    @Test("A key reused with a different body answers 422 and does nothing")
    func reusedKeyWithAnotherBody() async throws {
        try await withServer { api in
            let created = try await Self.post(api, "/api/v1/members", #"{"first_name":"Ana","last_name":"Pop","email":"ana@example.com"}"#, key: "member-1")
            #expect(created.status == .created)
            let reused = try await Self.post(api, "/api/v1/members", #"{"first_name":"Ion","last_name":"Pop","email":"ion@example.com"}"#, key: "member-1")
            #expect(reused.status == .unprocessableContent)
            #expect(reused.errorCode == "idempotency_key_reused")
            #expect(try await api.repository.members().total == 1)
        }
    }

    @Test("Concurrent duplicates run once: the others wait their turn with 409 or get the first answer")
    func concurrentDuplicatesRunOnce() async throws {
        try await withServer { api in
            let gym = try await api.makeGym()
            let answers = try await withThrowingTaskGroup(of: Answer.self) { group in
                for _ in 0..<12 {
                    group.addTask { try await Self.post(api, "/api/v1/subscriptions", Self.sale(gym), key: "sale-race") }
                }
                return try await group.reduce(into: [Answer]()) { $0.append($1) }
            }
            #expect(answers.filter { $0.status == .created && !$0.replayed }.count == 1)
            #expect(answers.allSatisfy { ($0.status == .created) || ($0.status == .conflict && $0.errorCode == "idempotency_key_in_progress") })
            #expect(try await api.repository.subscriptions(memberID: nil, planID: nil, PageRequest()).total == 1)
        }
    }

    @Test("A failed request frees its key, and keys belong to their token")
    func failuresFreeTheKey() async throws {
        try await withServer { api in
            let bad = try await Self.post(api, "/api/v1/members", #"{"first_name":"","last_name":"Pop","email":"not an address"}"#, key: "member-2")
            #expect(bad.status == .unprocessableContent)
            let corrected = try await Self.post(api, "/api/v1/members", #"{"first_name":"Ana","last_name":"Pop","email":"ana@example.com"}"#, key: "member-2")
            #expect(corrected.status == .created)
            #expect(!corrected.replayed)
            let (_, other) = try await api.repository.createAPIToken(name: "second client")
            let elsewhere = try await Self.post(
                api, "/api/v1/members", #"{"first_name":"Ion","last_name":"Pop","email":"ion@example.com"}"#, key: "member-2", token: other)
            #expect(elsewhere.status == .created)
            #expect(!elsewhere.replayed)
            #expect(try await api.repository.members().total == 2)
        }
    }

    @Test("A key that is empty, too long or not visible ASCII is refused with 400 before anything runs", arguments: ["", String(repeating: "k", count: 256), "two words", "clé"])
    func badKeys(key: String) async throws {
        try await withServer { api in
            let answer = try await Self.post(api, "/api/v1/members", #"{"first_name":"Ana","last_name":"Pop","email":"ana@example.com"}"#, key: key)
            #expect(answer.status == .badRequest)
            #expect(answer.errorCode == "bad_idempotency_key")
            #expect(try await api.repository.members().total == 0)
        }
    }
}
