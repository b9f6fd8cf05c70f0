import Foundation
import GymCore
import GymStore
import GymWeb
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOEmbedded
import NIOHTTPTypes
import Testing

@Suite("HTTP API: hostile input")
struct InputHardeningTests {
    /// Paths whose numbers once reached `offset + limit` unchecked; `{member}` is a real member.
    static let outOfRangePaging = [
        "/api/v1/members?offset=9223372036854775807",
        "/api/v1/members?offset=9223372036854775807&limit=500",
        "/api/v1/members?offset=2147483648",
        "/api/v1/members?offset=-1",
        "/api/v1/members?offset=99999999999999999999",
        "/api/v1/members?limit=9223372036854775807",
        "/api/v1/members?limit=-9223372036854775808",
        "/api/v1/members?limit=1.5",
        "/api/v1/clubs?offset=9223372036854775807",
        "/api/v1/studios?offset=9223372036854775807",
        "/api/v1/plans?offset=9223372036854775807",
        "/api/v1/subscriptions?offset=9223372036854775807",
        "/api/v1/members/{member}/subscriptions?offset=9223372036854775807",
        "/api/v1/audit?offset=9223372036854775807",
    ]

    @Test("An offset or limit outside the documented range is a 400 naming it, and the server keeps serving", arguments: outOfRangePaging)
    func pagingOutOfRange(path: String) async throws {
        try await withServer { api in
            let gym = try await api.makeGym()
            let reply = try await api.get(path.replacingOccurrences(of: "{member}", with: gym.member))
            #expect(reply.status == .badRequest, "body: \(String(decoding: reply.body, as: UTF8.self))")
            #expect(reply.errorCode == "bad_parameter")
            let message = try #require((reply.json["error"] as? [String: Any])?["message"] as? String)
            #expect(message.contains("limit") || message.contains("offset"))
            #expect(try await api.get("/healthz").status == .ok)
            #expect(try await api.get("/api/v1/members").status == .ok)
        }
    }

    @Test("The largest documented offset answers an empty page")
    func largestOffset() async throws {
        try await withServer { api in
            _ = try await api.makeGym()
            let reply = try await api.get("/api/v1/members?offset=2147483647&limit=500")
            #expect(reply.status == .ok)
            #expect((reply.json["items"] as? [Any])?.isEmpty == true)
            #expect(reply.json["total"] as? Int == 1)
            #expect(reply.json["offset"] as? Int == 2_147_483_647)
        }
    }

    static let badInstants = [
        "/api/v1/members/{member}/access?at=2026-02-30T00:00:00Z",
        "/api/v1/members/{member}/access?at=2026-01-01T24:00:00Z",
        "/api/v1/members/{member}/access?at=2026-01-01T23:59:60Z",
        "/api/v1/members/{member}/access?at=10000-12-31T22:00:00Z",
        "/api/v1/members/{member}/access?at=1899-12-31T23:59:59Z",
        "/api/v1/members/{member}/access?at=2201-01-01T00:00:00Z",
        "/api/v1/members/{member}/access?at=2026-01-01T00:00:00%2B25:00",
        "/api/v1/members/{member}/access?at=2026-01-01",
        "/api/v1/audit?from=2026-02-30T00:00:00Z",
        "/api/v1/audit?until=2026-04-31T00:00:00Z",
        "/api/v1/audit.csv?from=0001-01-01T00:00:00Z",
    ]

    @Test("An instant on a date that does not exist, off the clock or outside 1900–2200 is a 400", arguments: badInstants)
    func strictInstants(path: String) async throws {
        try await withServer { api in
            let gym = try await api.makeGym()
            let reply = try await api.get(path.replacingOccurrences(of: "{member}", with: gym.member))
            #expect(reply.status == .badRequest, "body: \(String(decoding: reply.body, as: UTF8.self))")
            #expect(reply.errorCode == "bad_parameter")
        }
    }

    @Test("An instant with an offset or fractional seconds still means the same moment")
    func instantsWithOffsets() async throws {
        try await withServer { api in
            let gym = try await api.makeGym()
            let offset = try await api.get("/api/v1/members/\(gym.member)/access?at=2027-01-01T00:00:00%2B02:00")
            #expect(offset.status == .ok)
            #expect(offset.string("evaluated_at") == "2026-12-31T22:00:00Z")
            let fraction = try await api.get("/api/v1/members/\(gym.member)/access?at=2026-12-31T22:00:00.250Z")
            #expect(fraction.status == .ok)
            #expect(fraction.string("evaluated_at") == "2026-12-31T22:00:00Z")
        }
    }

    /// (method, path, body, the field the 422 must name)
    static let badFields: [(String, String, String, String)] = [
        ("POST", "/api/v1/plans", #"{"name":"P","past_due_grace_days":1.5}"#, "past_due_grace_days"),
        ("POST", "/api/v1/plans", #"{"name":"P","past_due_grace_days":9223372036854775808}"#, "past_due_grace_days"),
        ("POST", "/api/v1/plans", #"{"name":"P","past_due_grace_days":1e400}"#, "past_due_grace_days"),
        ("PATCH", "/api/v1/plans/{plan}", #"{"past_due_grace_days":-9223372036854775809}"#, "past_due_grace_days"),
        ("POST", "/api/v1/clubs", #"{"name":"C","time_zone":"UTC","kisi_place_id":1.5}"#, "kisi_place_id"),
        ("POST", "/api/v1/clubs", #"{"name":"C","time_zone":"UTC","kisi_lock_ids":[5,9223372036854775808]}"#, "kisi_lock_ids[1]"),
        ("PATCH", "/api/v1/clubs/{club}", #"{"kisi_place_id":2.5}"#, "kisi_place_id"),
        ("PATCH", "/api/v1/studios/{studio}", #"{"kisi_lock_ids":[0.5]}"#, "kisi_lock_ids[0]"),
        ("POST", "/api/v1/members", #"{"first_name":"Ana\u0000Evil","last_name":"B","email":"x@example.com"}"#, "first_name"),
        ("POST", "/api/v1/members", #"{"first_name":"Ana","last_name":"B\u001b[31m","email":"x@example.com"}"#, "last_name"),
        ("POST", "/api/v1/members", #"{"first_name":"Ana","last_name":"B","email":"x\u0000@example.com"}"#, "email"),
        ("POST", "/api/v1/members", #"{"first_name":"Ana","last_name":"B","email":"x@example.com","notes":"\u0007"}"#, "notes"),
        ("PATCH", "/api/v1/members/{member}", #"{"notes":"\u0085"}"#, "notes"),
        ("PATCH", "/api/v1/members/{member}", #"{"phone":"0721{spaces}234 567"}"#, "phone"),
        ("PATCH", "/api/v1/members/{member}", #"{"notes":"{2001}"}"#, "notes"),
        ("POST", "/api/v1/clubs", #"{"name":"C","time_zone":"Europe/Bucharest\u0000evil"}"#, "time_zone"),
        ("PATCH", "/api/v1/clubs/{club}", #"{"name":"{201}"}"#, "name"),
        ("POST", "/api/v1/members/{member}/block", #"{"reason":"Fight\u0000"}"#, "reason"),
        ("POST", "/api/v1/subscriptions", #"{"member_id":"{member}","plan_id":"{plan}","start_date":"1899-12-31","paid_through":"2026-01-31"}"#, "start_date"),
        ("POST", "/api/v1/subscriptions", #"{"member_id":"{member}","plan_id":"{plan}","start_date":"2026-01-01","paid_through":"2201-01-01"}"#, "paid_through"),
        ("POST", "/api/v1/subscriptions", #"{"member_id":"{member}","plan_id":"{plan}","start_date":"2026-02-30","paid_through":"2026-03-31"}"#, "start_date"),
        ("PATCH", "/api/v1/subscriptions/{subscription}", #"{"end_date":"9999-12-31"}"#, "end_date"),
        ("POST", "/api/v1/subscriptions/{subscription}/freeze", #"{"start_date":"2026-03-01","end_date":"2026-03-02","reason":"\u0001"}"#, "reason"),
        ("POST", "/api/v1/subscriptions/{subscription}/cancel", #"{"effective_date":"2201-01-01"}"#, "effective_date"),
        ("POST", "/api/v1/subscriptions/{subscription}/cancel", #"{"effective_date":"2026-06-01","reason":"{501}"}"#, "reason"),
        ("POST", "/api/v1/subscriptions/{subscription}/unfreeze", #"{"resume_on":"1800-01-01"}"#, "resume_on"),
    ]

    @Test("A bad value in a JSON field is a 422 naming the field, and nothing is written", arguments: badFields)
    func badFieldValues(method: String, path: String, body: String, field: String) async throws {
        try await withServer { api in
            let gym = try await api.makeGym()
            let sold = try await api.post("/api/v1/subscriptions", #"{"member_id":"\#(gym.member)","plan_id":"\#(gym.plan)","start_date":"2026-01-01","paid_through":"2026-12-31"}"#)
            let subscription = try #require(sold.string("id"))
            let fill = { (text: String) in
                text.replacingOccurrences(of: "{club}", with: gym.club).replacingOccurrences(of: "{studio}", with: gym.studio)
                    .replacingOccurrences(of: "{plan}", with: gym.plan).replacingOccurrences(of: "{member}", with: gym.member)
                    .replacingOccurrences(of: "{subscription}", with: subscription)
                    .replacingOccurrences(of: "{spaces}", with: String(repeating: " ", count: 40))
                    .replacingOccurrences(of: "{201}", with: String(repeating: "x", count: 201))
                    .replacingOccurrences(of: "{501}", with: String(repeating: "x", count: 501))
                    .replacingOccurrences(of: "{2001}", with: String(repeating: "x", count: 2001))
            }
            let before = try await api.snapshot()
            let reply = try await api.request(HTTPRequest.Method(method)!, fill(path), json: fill(body))
            #expect(reply.status == .unprocessableContent, "body: \(String(decoding: reply.body, as: UTF8.self))")
            #expect(reply.errorCode == "validation_failed")
            #expect(reply.errorFields[field]?.isEmpty == false, "fields: \(reply.errorFields)")
            #expect(try await api.snapshot() == before)
        }
    }

    @Test("A huge bad value is refused without being echoed back in full")
    func noEcho() async throws {
        try await withServer { api in
            let gym = try await api.makeGym()
            let huge = String(repeating: "9", count: 1_000_000)
            let replies = [
                try await api.post("/api/v1/subscriptions", #"{"member_id":"\#(gym.member)","plan_id":"\#(gym.plan)","start_date":"\#(huge)","paid_through":"2026-01-31"}"#),
                try await api.post("/api/v1/clubs", #"{"name":"C","time_zone":"\#(huge)"}"#),
                try await api.post("/api/v1/members", #"{"first_name":"A","last_name":"B","email":"\#(huge)@example.com"}"#),
                try await api.get("/api/v1/members/" + String(repeating: "x", count: 10_000)),
            ]
            for reply in replies {
                #expect(reply.status == .unprocessableContent || reply.status == .notFound)
                #expect(reply.body.count < 2_000, "\(reply.status): \(reply.body.count) bytes")
            }
        }
    }

    @Test("Search takes % and _ literally and refuses over-long or control-character queries")
    func searchEscapesWildcards() async throws {
        try await withServer { api in
            _ = try await api.makeGym()  // Ana Popescu
            #expect(try await api.post("/api/v1/members", #"{"first_name":"Bo","last_name":"Fit_100%","email":"bo@example.com"}"#).status == .created)
            for (query, total) in [("%25", 1), ("_", 1), ("fit_1", 1), ("t%251", 0), ("%25%25", 0), ("a_a", 0), ("%5C", 0), ("ana", 1), ("", 2)] {
                let reply = try await api.get("/api/v1/members?q=\(query)")
                #expect(reply.status == .ok)
                #expect(reply.json["total"] as? Int == total, "q=\(query)")
            }
            #expect(try await api.get("/api/v1/members?q=" + String(repeating: "a", count: 201)).status == .badRequest)
            #expect(try await api.get("/api/v1/members?q=ana%00").status == .badRequest)
            #expect(try await api.get("/api/v1/audit?action=" + String(repeating: "a", count: 201)).status == .badRequest)
        }
    }

    @Test("Every response carries the security headers: JSON, CSV, YAML, HTML, errors and unknown paths alike")
    func securityHeaders() async throws {
        try await withServer { api in
            let replies = [
                try await api.get("/healthz"),
                try await api.get("/api/v1/openapi.yaml"),
                try await api.get("/api/v1/members"),
                try await api.get("/api/v1/audit.csv"),
                try await api.get("/api/v1/members?limit=0"),
                try await api.get("/api/v1/members/\(UUID())"),
                try await api.request(.get, "/api/v1/members", token: .some(nil)),
                try await api.get("/api/v1/no-such-route"),
                try await api.get("/no/such/page"),
                try await api.request(.get, "/admin/login", token: .some(nil)),
                try await api.post("/api/v1/members", "{"),
            ]
            for reply in replies {
                #expect(reply.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(reply.status)")
                #expect(reply.headers[HTTPField.Name("Referrer-Policy")!] == "same-origin", "\(reply.status)")
                #expect(reply.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "\(reply.status)")
                #expect(reply.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true, "\(reply.status)")
            }
        }
    }
}

@Suite("HTTP server: security headers below the router")
struct SecurityHeadersChannelTests {
    @Test("A response the server writes by itself gets the headers; ones a response chose are kept")
    func channelHandlerAddsHeaders() throws {
        let channel = EmbeddedChannel(handler: SecurityHeadersChannelHandler())
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])))
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok, headerFields: [HTTPField.Name("X-Frame-Options")!: "SAMEORIGIN"])))
        guard case .head(let refused) = try channel.readOutbound(as: HTTPResponsePart.self),
              case .head(let chosen) = try channel.readOutbound(as: HTTPResponsePart.self)
        else {
            Issue.record("expected two response heads")
            return
        }
        #expect(refused.headerFields[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
        #expect(refused.headerFields[HTTPField.Name("Referrer-Policy")!] == "same-origin")
        #expect(refused.headerFields[HTTPField.Name("X-Frame-Options")!] == "DENY")
        #expect(refused.headerFields[.connection] == "close")
        #expect(chosen.headerFields[HTTPField.Name("X-Frame-Options")!] == "SAMEORIGIN")
        #expect(chosen.headerFields[.contentSecurityPolicy] == "frame-ancestors 'none'")
        _ = try channel.finish()
    }
}
