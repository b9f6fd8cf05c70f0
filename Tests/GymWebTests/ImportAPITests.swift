import Foundation
import GymCore
import GymStore
import Testing

@Suite("POST /api/v1/imports")
struct ImportAPITests {
    static func body(_ csv: String, dryRun: Bool? = nil, skipInvalid: Bool? = nil) throws -> String {
        var object: [String: Any] = ["csv": csv]
        if let dryRun { object["dry_run"] = dryRun }
        if let skipInvalid { object["skip_invalid"] = skipInvalid }
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    @Test("A dry run answers the door-access outcome and changes nothing; the import then creates members and subscriptions")
    func dryRunThenImport() async throws {
        try await withServer { api in
            _ = try await api.makeGym()
            let csv = "First Name;Last Name;E-mail;Plan;Start Date;Paid Through\r\n"
                + "Ion;Ionescu;ion@example.com;unlimited;2020-01-01;2099-12-31\r\n"
                + "Eva;Ene;eva@example.com;Unlimited;2099-01-01;2099-12-31\r\n"
            let before = try await api.snapshot()
            let dry = try await api.post("/api/v1/imports", try Self.body(csv, dryRun: true))
            #expect(dry.status == .ok, "\(String(decoding: dry.body, as: UTF8.self))")
            #expect(try await api.snapshot() == before)
            #expect(dry.json["written"] as? Bool == false)
            #expect(dry.json["separator"] as? String == "semicolon")
            #expect(dry.json["members_created"] as? Int == 2)
            let columns = try #require(dry.json["columns"] as? [[String: String]])
            #expect(columns.first == ["header": "First Name", "column": "first_name"])
            let access = try #require(dry.json["access"] as? [String: Any])
            #expect(access["members_with_access"] as? Int == 1)
            #expect(access["members_with_upcoming_access"] as? Int == 1)
            #expect(access["kisi_users_needed"] as? Int == 2)
            #expect(access["kisi_lookup"] as? String == "at_sync", "no Kisi connected: the sync adopts or creates")

            let done = try await api.post("/api/v1/imports", try Self.body(csv))
            #expect(done.status == .created)
            let ids = try #require(done.json["member_ids"] as? [String])
            #expect(ids.count == 2)
            let ion = try await api.get("/api/v1/members/\(ids[0])")
            #expect(ion.string("email") == "ion@example.com")
            #expect(ion.json["kisi_user_id"] == nil, "no Kisi user linked yet")
            let subscriptions = try await api.get("/api/v1/members/\(ids[0])/subscriptions")
            #expect(subscriptions.json["total"] as? Int == 1)
        }
    }

    @Test("Bad input answers 4xx and changes nothing", arguments: [
        (#"{"dry_run": true}"#, 422, "csv"),
        (#"{"csv": 5}"#, 422, "csv"),
        (#"{"csv": "first_name,last_name,email\nAna,Pop,ana@example.com", "dry_run": "yes"}"#, 422, "dry_run"),
        (#"{"csv": "name,age\nAna,5\n"}"#, 422, "csv"),
        (#"{"csv": ""}"#, 422, "csv"),
        (#"{"csv": "first_name,last_name,email\nAna\u0000,Pop,ana@example.com\n"}"#, 422, "csv"),
        (#"{"csv": "first_name,last_name,email,plan,start_date,paid_through\nAna,Pop,ana@example.com,Gold,2026-01-01,2026-12-31\nIon,Pop,ion@example.com,,,\n"}"#, 422, "csv"),
        (#"{"csv": "#, 400, ""),
    ])
    func badInput(body: String, status: Int, field: String) async throws {
        try await withServer { api in
            _ = try await api.makeGym()
            let before = try await api.snapshot()
            let reply = try await api.post("/api/v1/imports", body)
            #expect(Int(reply.status.code) == status, "\(String(decoding: reply.body, as: UTF8.self))")
            if !field.isEmpty { #expect(reply.errorFields[field] != nil, "\(reply.json)") }
            #expect(try await api.snapshot() == before)
        }
    }

    @Test("A bad row is named by its line; skip_invalid imports the rest")
    func skipInvalid() async throws {
        try await withServer { api in
            _ = try await api.makeGym()
            let csv = "first_name,last_name,email,plan,start_date,paid_through\nAna,Pop,ana@example.com,Gold,2026-01-01,2026-12-31\nIon,Pop,ion@example.com,,,\n"
            let refused = try await api.post("/api/v1/imports", try Self.body(csv))
            #expect(refused.status.code == 422)
            #expect(refused.errorFields["csv"] == [#"line 2: plan: no plan named "Gold""#])
            let partial = try await api.post("/api/v1/imports", try Self.body(csv, skipInvalid: true))
            #expect(partial.status == .created)
            #expect(partial.json["members_created"] as? Int == 1)
            #expect((partial.json["problems"] as? [[String: Any]])?.first?["line"] as? Int == 2)
        }
    }

    @Test("A member's Kisi user shows as kisi_user_id in the member resource and the list")
    func kisiUserID() async throws {
        try await withServer { api in
            let gym = try await api.makeGym()
            try await api.repository.setKisiUserLink(memberID: try #require(UUID(uuidString: gym.member)), userID: 4242)
            #expect(try await api.get("/api/v1/members/\(gym.member)").json["kisi_user_id"] as? Int == 4242)
            let list = try await api.get("/api/v1/members?q=popescu")
            #expect((list.json["items"] as? [[String: Any]])?.first?["kisi_user_id"] as? Int == 4242)
        }
    }
}
