import Foundation
import GymApp
import GymCore
import GymStore
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// Runs `body` against a real BooGYMan HTTP server on a loopback port, over a fresh in-memory database.
func withServer(_ body: @Sendable (APIClient) async throws -> Void) async throws {
    var logger = Logger(label: "boogyman.web-tests")
    logger.logLevel = .warning
    let configuration = AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteInMemory)
    let database = try await GymServer.openDatabase(configuration, logger: logger)
    let (_, secret) = try await database.repository.createAPIToken(name: "tests")
    let app = GymServer.application(configuration, database: database, logger: logger)
    try await app.test(.live) { client in
        try await body(APIClient(client: client, token: secret, repository: database.repository))
    }
}

struct APIClient: Sendable {
    let client: any TestClientProtocol
    let token: String
    let repository: GymRepository

    struct Reply: Sendable {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: Data

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        var errorFields: [String: [String]] { (json["error"] as? [String: Any])?["fields"] as? [String: [String]] ?? [:] }
        func string(_ key: String) -> String? { json[key] as? String }
    }

    func request(_ method: HTTPRequest.Method, _ path: String, json: String? = nil, token: String?? = nil) async throws -> Reply {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let bearer = token ?? self.token { headers[.authorization] = "Bearer \(bearer)" }
        return try await client.execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { response in
            Reply(status: response.status, headers: response.headers, body: Data(buffer: response.body))
        }
    }

    func get(_ path: String) async throws -> Reply { try await request(.get, path) }
    func post(_ path: String, _ json: String) async throws -> Reply { try await request(.post, path, json: json) }
    func patch(_ path: String, _ json: String) async throws -> Reply { try await request(.patch, path, json: json) }
    func delete(_ path: String) async throws -> Reply { try await request(.delete, path) }

    /// Creates a club, a studio, a plan and a member; returns their IDs.
    func makeGym() async throws -> (club: String, studio: String, plan: String, member: String) {
        let club = try await post("/api/v1/clubs", #"{"name":"Old Town","time_zone":"Europe/Bucharest","kisi_place_id":7,"kisi_lock_ids":[11,12]}"#)
        #expect(club.status == .created)
        let clubID = try #require(club.string("id"))
        let studio = try await post("/api/v1/studios", #"{"club_id":"\#(clubID)","name":"Yoga","kisi_lock_ids":[13]}"#)
        let studioID = try #require(studio.string("id"))
        let plan = try await post("/api/v1/plans", #"{"name":"Unlimited","club_ids":["\#(clubID)"],"studio_ids":["\#(studioID)"],"past_due_grace_days":3}"#)
        let planID = try #require(plan.string("id"))
        let member = try await post("/api/v1/members", #"{"first_name":"Ana","last_name":"Popescu","email":"ana@example.com","phone":"+40 721 000 111"}"#)
        let memberID = try #require(member.string("id"))
        return (clubID, studioID, planID, memberID)
    }

    /// Everything the database holds that an API call could change, to prove a failure changed nothing.
    func snapshot() async throws -> String {
        let page = PageRequest(limit: PageRequest.maximumLimit)
        return [
            "\(try await repository.clubs(page).items)",
            "\(try await repository.studios(clubID: nil, page).items)",
            "\(try await repository.plans(includeArchived: true, page).items)",
            "\(try await repository.members(search: nil, page).items)",
            "\(try await repository.subscriptions(memberID: nil, planID: nil, page).items)",
            "\(try await repository.accessChanges().count)",
            "\(try await repository.kisiWrites(KisiWriteFilter(), PageRequest(limit: 1)).total)",
        ].joined(separator: "\n")
    }
}

@Suite("HTTP API")
struct APITests {
    @Test("Health, readiness and the OpenAPI document need no token")
    func healthAndSpec() async throws {
        try await withServer { api in
            #expect(try await api.request(.get, "/healthz", token: .some(nil)).status == .ok)
            #expect(try await api.request(.get, "/readyz", token: .some(nil)).status == .ok)
            let spec = try await api.request(.get, "/api/v1/openapi.yaml", token: .some(nil))
            #expect(spec.status == .ok)
            #expect(String(decoding: spec.body, as: UTF8.self).hasPrefix("openapi: 3.1"))
        }
    }

    @Test("A missing, malformed or unknown token gets 401 with a Bearer challenge", arguments: [nil, "", "Basic abc", "bgm_unknown"])
    func unauthorized(token: String?) async throws {
        try await withServer { api in
            let reply = try await api.request(.get, "/api/v1/members", token: .some(token))
            #expect(reply.status == .unauthorized)
            #expect(reply.errorCode == "unauthorized")
            #expect(reply.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
        }
    }

    @Test("A member goes through selling, freezing, unfreezing and cancelling, and access follows")
    func subscriptionLifecycle() async throws {
        try await withServer { api in
            let gym = try await api.makeGym()
            let sold = try await api.post("/api/v1/subscriptions", #"{"member_id":"\#(gym.member)","plan_id":"\#(gym.plan)","start_date":"2026-01-01","paid_through":"2026-12-31"}"#)
            #expect(sold.status == .created)
            let subscription = try #require(sold.string("id"))

            let active = try await api.get("/api/v1/members/\(gym.member)/access?at=2026-06-15T10:00:00Z")
            #expect(active.status == .ok)
            #expect(active.json["may_enter"] as? Bool == true)
            #expect(active.string("reason") == "active")
            // Paid through 31 December plus 3 grace days, ending at Bucharest midnight (UTC+2).
            #expect(active.string("valid_until") == "2027-01-03T22:00:00Z")
            #expect((active.json["doors"] as? [[String: Any]])?.compactMap { $0["lock_id"] as? Int } == [11, 12, 13])

            let frozen = try await api.post("/api/v1/subscriptions/\(subscription)/freeze", #"{"start_date":"2026-06-10","end_date":"2026-06-20","reason":"Holiday"}"#)
            #expect(frozen.status == .ok)
            #expect((frozen.json["freezes"] as? [[String: Any]])?.count == 1)
            let whileFrozen = try await api.get("/api/v1/members/\(gym.member)/access?at=2026-06-15T10:00:00Z")
            #expect(whileFrozen.string("reason") == "frozen")
            #expect(whileFrozen.json["may_enter"] as? Bool == false)

            let unfrozen = try await api.post("/api/v1/subscriptions/\(subscription)/unfreeze", #"{"resume_on":"2026-06-15"}"#)
            #expect(unfrozen.status == .ok)
            #expect(try await api.get("/api/v1/members/\(gym.member)/access?at=2026-06-15T10:00:00Z").string("reason") == "active")

            let cancelled = try await api.post("/api/v1/subscriptions/\(subscription)/cancel", #"{"effective_date":"2026-07-01","reason":"Moving"}"#)
            #expect((cancelled.json["cancellation"] as? [String: Any])?["effective_date"] as? String == "2026-07-01")
            #expect(try await api.get("/api/v1/members/\(gym.member)/access?at=2026-07-01T10:00:00Z").string("reason") == "cancelled")
            #expect(try await api.get("/api/v1/members/\(gym.member)/access?at=2026-06-30T20:59:59Z").string("reason") == "active")

            let listed = try await api.get("/api/v1/members/\(gym.member)/subscriptions")
            #expect(listed.json["total"] as? Int == 1)
        }
    }

    @Test("Create, read, update, list and delete work for every resource")
    func crud() async throws {
        try await withServer { api in
            let gym = try await api.makeGym()
            #expect(try await api.get("/api/v1/clubs/\(gym.club)").string("time_zone") == "Europe/Bucharest")
            #expect(try await api.patch("/api/v1/clubs/\(gym.club)", #"{"kisi_place_id":null}"#).json["kisi_place_id"] == nil)
            #expect(try await api.patch("/api/v1/studios/\(gym.studio)", #"{"name":"Hot yoga"}"#).string("name") == "Hot yoga")
            let plan = try await api.patch("/api/v1/plans/\(gym.plan)", #"{"archived":true}"#)
            #expect(plan.json["archived"] as? Bool == true)
            #expect(plan.json["kisi_lock_ids"] as? [Int] == [11, 12, 13])
            #expect(try await api.get("/api/v1/plans?include_archived=false").json["total"] as? Int == 0)
            let member = try await api.patch("/api/v1/members/\(gym.member)", #"{"phone":null,"notes":"Prefers mornings"}"#)
            #expect(member.json["phone"] == nil)
            #expect(member.string("notes") == "Prefers mornings")
            for index in 0..<7 {
                _ = try await api.post("/api/v1/members", #"{"first_name":"Ion","last_name":"Pop\#(index)","email":"ion\#(index)@example.com"}"#)
            }
            let page = try await api.get("/api/v1/members?q=ION&limit=3&offset=3")
            #expect(page.json["total"] as? Int == 7)
            #expect((page.json["items"] as? [[String: Any]])?.count == 3)
            #expect(try await api.delete("/api/v1/members/\(gym.member)").status == .noContent)
            #expect(try await api.get("/api/v1/members/\(gym.member)").status == .notFound)
            #expect(try await api.delete("/api/v1/plans/\(gym.plan)").status == .noContent)
            #expect(try await api.delete("/api/v1/studios/\(gym.studio)").status == .noContent)
            #expect(try await api.delete("/api/v1/clubs/\(gym.club)").status == .noContent)
        }
    }

    @Test("Blocking closes every door at once whatever the subscriptions say, and unblocking gives them back")
    func blockAndUnblock() async throws {
        try await withServer { api in
            let gym = try await api.makeGym()
            let sold = try await api.post("/api/v1/subscriptions", #"{"member_id":"\#(gym.member)","plan_id":"\#(gym.plan)","start_date":"2026-01-01","paid_through":"2026-12-31"}"#)
            #expect(sold.status == .created)
            let access = "/api/v1/members/\(gym.member)/access?at=2026-06-15T10:00:00Z"
            #expect(try await api.get(access).string("reason") == "active")
            let changesBefore = try await api.repository.accessChanges().count

            let blocked = try await api.post("/api/v1/members/\(gym.member)/block", #"{"reason":" Damaged the sauna door "}"#)
            #expect(blocked.status == .ok)
            let block = try #require(blocked.json["blocked"] as? [String: Any])
            #expect(block["reason"] as? String == "Damaged the sauna door")
            #expect(block["blocked_by"] as? String == "api:tests")
            let since = try #require(block["blocked_at"] as? String)
            #expect(try Date(since, strategy: .iso8601).timeIntervalSinceNow < 5)
            #expect((try await api.get("/api/v1/members/\(gym.member)").json["blocked"] as? [String: Any])?["reason"] as? String == "Damaged the sauna door")
            #expect(try await api.repository.accessChanges().count == changesBefore + 1, "the sync learns of the block from the change log")

            let denied = try await api.get(access)
            #expect(denied.string("reason") == "blocked")
            #expect(denied.json["may_enter"] as? Bool == false)
            #expect(denied.string("explanation") == "Blocked by staff: Damaged the sauna door.")
            #expect(denied.json["valid_until"] == nil)
            let doors = try #require(denied.json["doors"] as? [[String: Any]])
            #expect(doors.map { $0["reason"] as? String } == ["blocked", "blocked", "blocked"])
            #expect((denied.json["plans"] as? [[String: Any]])?.map { $0["reason"] as? String } == ["blocked"])

            let audit = try await api.get("/api/v1/audit?member_id=\(gym.member)&action=block_member")
            let entries = try #require(audit.json["items"] as? [[String: Any]])
            #expect(entries.count == 1)
            #expect(entries.first?["actor"] as? String == "api:tests")
            #expect(entries.first?["status"] as? String == "succeeded")
            #expect((entries.first?["reason"] as? String)?.contains("Damaged the sauna door") == true)

            let unblocked = try await api.post("/api/v1/members/\(gym.member)/unblock", "")
            #expect(unblocked.status == .ok)
            #expect(unblocked.json["blocked"] == nil, "absent, never null")
            #expect(unblocked.string("email") == "ana@example.com")
            #expect(try await api.get(access).string("reason") == "active")
            #expect(try await api.repository.accessChanges().count == changesBefore + 2)

            let again = try await api.post("/api/v1/members/\(gym.member)/unblock", "{}")
            #expect(again.status == .ok)
            #expect(try await api.repository.accessChanges().count == changesBefore + 2, "unblocking a member who is not blocked writes nothing")
            let unblockEntries = try await api.get("/api/v1/audit?member_id=\(gym.member)&action=unblock_member")
            #expect(unblockEntries.json["total"] as? Int == 1)
        }
    }

    /// Each bad request, its expected status and error field, as (method, path template, body).
    /// `{club}`, `{plan}`, `{member}`, `{subscription}` are replaced with real IDs.
    static let badRequests: [(String, String, String, Int, String?)] = [
        ("POST", "/api/v1/members", #"{"first_name":"A","last_name":"B","email":"#, 400, nil),
        ("POST", "/api/v1/members", #"not json"#, 400, nil),
        ("POST", "/api/v1/members", #"[1,2]"#, 400, nil),
        ("POST", "/api/v1/members", #"{"first_name":"A","last_name":"B","email":"nope"}"#, 422, "email"),
        ("POST", "/api/v1/members", #"{"first_name":"A","last_name":"B","email":"ANA@example.com"}"#, 422, "email"),
        ("POST", "/api/v1/members", #"{"first_name":"A","last_name":"B"}"#, 422, "email"),
        ("POST", "/api/v1/members", #"{"first_name":7,"last_name":"B","email":"x@example.com"}"#, 422, "first_name"),
        ("PATCH", "/api/v1/members/{member}", #"{"email":"still@bad"}"#, 422, "email"),
        ("POST", "/api/v1/subscriptions", #"{"member_id":"{member}","plan_id":"{plan}","start_date":"2026-05-01","end_date":"2026-04-01","paid_through":"2026-05-01"}"#, 422, "end_date"),
        ("POST", "/api/v1/subscriptions", #"{"member_id":"{member}","plan_id":"{club}","start_date":"2026-05-01","paid_through":"2026-05-01"}"#, 422, "plan_id"),
        ("POST", "/api/v1/subscriptions", #"{"member_id":"{member}","plan_id":"{plan}","start_date":"2026-13-01","paid_through":"2026-05-01"}"#, 422, "start_date"),
        ("POST", "/api/v1/subscriptions/{subscription}/freeze", #"{"start_date":"2026-03-05","end_date":"2026-03-25"}"#, 422, "start_date"),
        ("POST", "/api/v1/subscriptions/{subscription}/freeze", #"{"start_date":"2026-03-25","end_date":"2026-03-21"}"#, 422, "end_date"),
        ("POST", "/api/v1/plans", #"{"name":"Ghost","club_ids":["{member}"]}"#, 422, "club_ids"),
        ("POST", "/api/v1/plans", #"{"name":"Negative","past_due_grace_days":-1}"#, 422, "past_due_grace_days"),
        ("POST", "/api/v1/plans", #"{"name":"Bad IDs","club_ids":["not-a-uuid"]}"#, 422, "club_ids[0]"),
        ("POST", "/api/v1/studios", #"{"club_id":"{plan}","name":"Nowhere"}"#, 422, "club_id"),
        ("POST", "/api/v1/clubs", #"{"name":"Mars","time_zone":"Mars/Olympus"}"#, 422, "time_zone"),
        ("PATCH", "/api/v1/clubs/{club}", #"{"kisi_lock_ids":[-3]}"#, 422, "kisi_lock_ids"),
        ("GET", "/api/v1/members/{club}", "", 404, nil),
        ("GET", "/api/v1/members/not-a-uuid", "", 404, nil),
        ("PATCH", "/api/v1/plans/{member}", #"{"name":"x"}"#, 404, nil),
        ("DELETE", "/api/v1/subscriptions/{member}", "", 404, nil),
        ("POST", "/api/v1/subscriptions/{member}/cancel", #"{}"#, 404, nil),
        ("GET", "/api/v1/members/{club}/access", "", 404, nil),
        ("DELETE", "/api/v1/plans/{plan}", "", 409, nil),
        ("DELETE", "/api/v1/clubs/{club}", "", 409, nil),
        ("GET", "/api/v1/members?limit=0", "", 400, nil),
        ("GET", "/api/v1/members?limit=ten", "", 400, nil),
        ("GET", "/api/v1/members/{member}/access?at=yesterday", "", 400, nil),
        ("POST", "/api/v1/members/{member}/block", #"{"reason":"#, 400, nil),
        ("POST", "/api/v1/members/{member}/block", "", 400, nil),
        ("POST", "/api/v1/members/{member}/block", #"{}"#, 422, "reason"),
        ("POST", "/api/v1/members/{member}/block", #"{"reason":null}"#, 422, "reason"),
        ("POST", "/api/v1/members/{member}/block", #"{"reason":"  \n "}"#, 422, "reason"),
        ("POST", "/api/v1/members/{member}/block", #"{"reason":7}"#, 422, "reason"),
        ("POST", "/api/v1/members/{club}/block", #"{"reason":"Fight in the changing room"}"#, 404, nil),
        ("POST", "/api/v1/members/not-a-uuid/block", #"{"reason":"Fight in the changing room"}"#, 404, nil),
        ("POST", "/api/v1/members/{club}/unblock", "", 404, nil),
    ]

    @Test("Bad input gets a precise error and leaves the database exactly as it was", arguments: badRequests)
    func badInputChangesNothing(method: String, path: String, body: String, status: Int, field: String?) async throws {
        try await withServer { api in
            let gym = try await api.makeGym()
            let sold = try await api.post("/api/v1/subscriptions", #"{"member_id":"\#(gym.member)","plan_id":"\#(gym.plan)","start_date":"2026-01-01","end_date":"2026-12-31","paid_through":"2026-12-31"}"#)
            let subscription = try #require(sold.string("id"))
            _ = try await api.post("/api/v1/subscriptions/\(subscription)/freeze", #"{"start_date":"2026-03-01","end_date":"2026-03-20"}"#)
            let fill = { (text: String) in
                text.replacingOccurrences(of: "{club}", with: gym.club).replacingOccurrences(of: "{plan}", with: gym.plan)
                    .replacingOccurrences(of: "{member}", with: gym.member).replacingOccurrences(of: "{subscription}", with: subscription)
            }
            let before = try await api.snapshot()
            let reply = try await api.request(HTTPRequest.Method(method)!, fill(path), json: body.isEmpty ? nil : fill(body))
            #expect(reply.status.code == status, "body: \(String(decoding: reply.body, as: UTF8.self))")
            #expect(reply.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(reply.errorCode != nil)
            if let field {
                #expect(reply.errorFields[field]?.isEmpty == false, "fields: \(reply.errorFields)")
            }
            #expect(try await api.snapshot() == before)
        }
    }
}
