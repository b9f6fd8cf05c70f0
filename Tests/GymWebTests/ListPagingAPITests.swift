import Foundation
import Testing

@Suite("HTTP API: cursor paging")
struct ListPagingAPITests {
    @Test("Following next_cursor walks the members, subscriptions and audit lists to their end; a foreign or garbled cursor is a 400")
    func cursorPaging() async throws {
        try await withServer { api in
            let gym = try await api.makeGym()
            var emails: [String] = []
            for n in 0..<4 {
                let created = try await api.post("/api/v1/members", #"{"first_name":"Ana","last_name":"Pop\#(n)","email":"ana\#(n)@gym.example"}"#)
                #expect(created.status == .created)
                emails.append("ana\(n)@gym.example")
                let sold = try await api.post(
                    "/api/v1/subscriptions",
                    #"{"member_id":"\#(try #require(created.string("id")))","plan_id":"\#(gym.plan)","start_date":"2026-0\#(n + 1)-01","paid_through":"2026-12-31"}"#)
                #expect(sold.status == .created)
            }
            _ = try await api.repository.beginKisiWrite(action: "createGrant", reason: "first")
            _ = try await api.repository.beginKisiWrite(action: "createGrant", reason: "second")
            _ = try await api.repository.beginKisiWrite(action: "createGrant", reason: "third")

            func walk(_ path: String) async throws -> (items: [[String: Any]], cursors: [String]) {
                var items: [[String: Any]] = []
                var cursors: [String] = []
                var next: String? = nil
                repeat {
                    let reply = try await api.get(path + (next.map { "&cursor=\($0)" } ?? ""))
                    #expect(reply.status == .ok)
                    items += reply.json["items"] as? [[String: Any]] ?? []
                    next = reply.json["next_cursor"] as? String
                    if let next { cursors.append(next) }
                } while next != nil && cursors.count < 20
                return (items, cursors)
            }
            let members = try await walk("/api/v1/members?limit=2")
            let everyone = try await api.get("/api/v1/members?limit=50")
            #expect(members.items.compactMap { $0["id"] as? String } == (everyone.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String })
            #expect(members.items.count == 5 && members.cursors.count == 2)
            #expect(Set(emails).isSubset(of: Set(members.items.compactMap { $0["email"] as? String })))
            #expect(everyone.json["next_cursor"] == nil, "the last page has no next_cursor")

            let subscriptions = try await walk("/api/v1/subscriptions?limit=3&plan_id=\(gym.plan)")
            let starts = subscriptions.items.compactMap { $0["start_date"] as? String }
            #expect(starts.count == 4 && starts == starts.sorted())

            let audit = try await walk("/api/v1/audit?limit=1&action=createGrant")
            #expect(audit.items.compactMap { $0["reason"] as? String } == ["third", "second", "first"])

            for bad in ["garbled!", "W10", String(repeating: "Q", count: 1_500), try #require(members.cursors.first)] {
                let reply = try await api.get("/api/v1/audit?cursor=\(bad)")
                #expect(reply.status == .badRequest && reply.errorCode == "bad_parameter", "\(bad.prefix(20))")
            }
            let foreign = try await api.get("/api/v1/subscriptions?cursor=\(try #require(audit.cursors.first))")
            #expect(foreign.status == .badRequest)
        }
    }
}
