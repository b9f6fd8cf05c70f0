import Foundation
import GymStore
import Hummingbird
import HummingbirdTesting
import Testing

private func instant(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

/// Four journal entries over four days, recorded through the repository as the sync would.
private struct SeededLog {
    let ana = UUID()
    let ion = UUID()
    let plan = UUID()
    var ids: [Int] = []

    static func make(_ repository: GymRepository) async throws -> SeededLog {
        var log = SeededLog()
        let user = try await repository.beginKisiWrite(
            action: "createUser", kisiObjectType: "User", memberID: log.ana, trigger: "change #1", reason: "Ana joined",
            requestJSON: #"{"user":{"name":"Ana","email":"ana@example.com"}}"#, at: instant("2026-03-01T10:00:00Z"))
        try await repository.finishKisiWrite(id: user, status: .succeeded, kisiObjectID: 9001, kisiStatus: 200, at: instant("2026-03-01T10:00:01Z"))
        let grant = try await repository.beginKisiWrite(
            action: "createGrant", kisiObjectType: "RoleAssignment", memberID: log.ana, planID: log.plan, trigger: "change #2",
            reason: "Ana bought \"Unlimited\", paid through 2026-12-31\nrenewal", at: instant("2026-03-02T10:00:00Z"))
        try await repository.finishKisiWrite(
            id: grant, status: .failed, kisiStatus: 422, kisiCode: "invalid_role", error: "=HYPERLINK(\"x\")", at: instant("2026-03-02T10:00:02Z"))
        let removal = try await repository.beginKisiWrite(
            action: "removeGrant", memberID: log.ion, planID: log.plan, trigger: "staff:Maria", actor: "front desk",
            reason: "Refund, no access", at: instant("2026-03-03T10:00:00Z"))
        let group = try await repository.beginKisiWrite(
            action: "updateGroup", kisiObjectType: "Group", kisiObjectID: 55, planID: log.plan, trigger: "full reconcile",
            reason: "Doors changed", at: instant("2026-03-04T10:00:00Z"))
        try await repository.finishKisiWrite(id: group, status: .skipped, at: instant("2026-03-04T10:00:00Z"))
        log.ids = [user, grant, removal, group]
        return log
    }
}

private func reasons(_ reply: APIClient.Reply) -> [String] {
    (reply.json["items"] as? [[String: Any]])?.compactMap { $0["reason"] as? String } ?? []
}

@Suite("HTTP API: audit log")
struct AuditTests {
    @Test("The audit log lists Kisi writes newest first with snake_case keys, leaving out absent values")
    func listsEntries() async throws {
        try await withServer { api in
            let log = try await SeededLog.make(api.repository)
            let reply = try await api.get("/api/v1/audit")
            #expect(reply.status == .ok)
            #expect(reply.json["total"] as? Int == 4)
            #expect(reply.json["limit"] as? Int == 50)
            #expect(reply.json["offset"] as? Int == 0)
            let items = try #require(reply.json["items"] as? [[String: Any]])
            #expect(items.compactMap { $0["id"] as? Int } == log.ids.reversed())

            let user = try #require(items.last)
            #expect(user["action"] as? String == "createUser")
            #expect(user["created_at"] as? String == "2026-03-01T10:00:00Z")
            #expect(user["finished_at"] as? String == "2026-03-01T10:00:01Z")
            #expect(user["kisi_object_type"] as? String == "User")
            #expect(user["kisi_object_id"] as? Int == 9001)
            #expect(user["member_id"] as? String == log.ana.uuidString)
            #expect(user["trigger"] as? String == "change #1")
            #expect(user["actor"] as? String == "sync")
            #expect(user["request_json"] as? String == #"{"user":{"name":"Ana","email":"ana@example.com"}}"#)
            #expect(user["status"] as? String == "succeeded")
            #expect(user["kisi_status"] as? Int == 200)
            #expect(Set(user.keys) == [
                "id", "created_at", "finished_at", "action", "kisi_object_type", "kisi_object_id", "member_id", "trigger", "actor",
                "reason", "request_json", "status", "kisi_status",
            ])
            let pending = try #require(items.first { $0["status"] as? String == "pending" })
            #expect(pending["finished_at"] == nil && pending["kisi_status"] == nil && pending["error"] == nil)
            #expect(pending["actor"] as? String == "front desk")
        }
    }

    @Test("The audit log filters by member, plan, action, status and time, and pages")
    func filters() async throws {
        try await withServer { api in
            let log = try await SeededLog.make(api.repository)
            #expect(reasons(try await api.get("/api/v1/audit?member_id=\(log.ana.uuidString.lowercased())")).count == 2)
            #expect(reasons(try await api.get("/api/v1/audit?plan_id=\(log.plan)")) == ["Doors changed", "Refund, no access", "Ana bought \"Unlimited\", paid through 2026-12-31\nrenewal"])
            #expect(reasons(try await api.get("/api/v1/audit?action=removeGrant")) == ["Refund, no access"])
            #expect(reasons(try await api.get("/api/v1/audit?status=skipped")) == ["Doors changed"])
            #expect(reasons(try await api.get("/api/v1/audit?status=pending&member_id=\(log.ana)")) == [])
            #expect(reasons(try await api.get("/api/v1/audit?from=2026-03-02T10:00:00Z&until=2026-03-04T10:00:00Z")) == ["Refund, no access", "Ana bought \"Unlimited\", paid through 2026-12-31\nrenewal"])
            #expect(reasons(try await api.get("/api/v1/audit?from=2026-03-03T12:00:00%2B02:00")) == ["Doors changed", "Refund, no access"])
            let page = try await api.get("/api/v1/audit?limit=2&offset=1")
            #expect(page.json["total"] as? Int == 4)
            #expect(reasons(page) == ["Refund, no access", "Ana bought \"Unlimited\", paid through 2026-12-31\nrenewal"])
        }
    }

    @Test("Bad audit filters are a 400 naming the parameter, on both routes", arguments: [
        "from=yesterday", "until=2026-03-01", "status=done", "member_id=ana", "plan_id=1",
        "from=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z", "limit=0",
    ])
    func badFilters(query: String) async throws {
        try await withServer { api in
            let reply = try await api.get("/api/v1/audit?\(query)")
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "bad_parameter")
            if !query.hasPrefix("limit") {
                let csv = try await api.get("/api/v1/audit.csv?\(query)")
                #expect(csv.status == .badRequest)
                #expect(csv.errorCode == "bad_parameter")
                #expect(csv.headers[.contentType]?.hasPrefix("application/json") == true)
            }
        }
    }

    @Test("Both audit routes need a token")
    func needsToken() async throws {
        try await withServer { api in
            for path in ["/api/v1/audit", "/api/v1/audit.csv"] {
                let reply = try await api.request(.get, path, token: .some(nil))
                #expect(reply.status == .unauthorized)
                #expect(reply.errorCode == "unauthorized")
            }
        }
    }

    @Test("The CSV export has a header row, CRLF lines, RFC 4180 quoting and defused formulas")
    func csvExport() async throws {
        try await withServer { api in
            let log = try await SeededLog.make(api.repository)
            let reply = try await api.get("/api/v1/audit.csv")
            #expect(reply.status == .ok)
            #expect(reply.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(reply.headers[.contentDisposition] == "attachment; filename=\"boogyman-audit.csv\"")
            #expect(reply.headers[.init("X-Total-Count")!] == "4")
            let text = String(decoding: reply.body, as: UTF8.self)
            let ana = log.ana.uuidString, ion = log.ion.uuidString, plan = log.plan.uuidString
            let expected = [
                "id,created_at,finished_at,action,kisi_object_type,kisi_object_id,member_id,plan_id,trigger,actor,reason,request_json,status,kisi_status,kisi_code,error",
                "\(log.ids[3]),2026-03-04T10:00:00Z,2026-03-04T10:00:00Z,updateGroup,Group,55,,\(plan),full reconcile,sync,Doors changed,,skipped,,,",
                "\(log.ids[2]),2026-03-03T10:00:00Z,,removeGrant,,,\(ion),\(plan),staff:Maria,front desk,\"Refund, no access\",,pending,,,",
                "\(log.ids[1]),2026-03-02T10:00:00Z,2026-03-02T10:00:02Z,createGrant,RoleAssignment,,\(ana),\(plan),change #2,sync,"
                    + "\"Ana bought \"\"Unlimited\"\", paid through 2026-12-31\nrenewal\",,failed,422,invalid_role,\"'=HYPERLINK(\"\"x\"\")\"",
                "\(log.ids[0]),2026-03-01T10:00:00Z,2026-03-01T10:00:01Z,createUser,User,9001,\(ana),,change #1,sync,Ana joined,"
                    + "\"{\"\"user\"\":{\"\"name\"\":\"\"Ana\"\",\"\"email\"\":\"\"ana@example.com\"\"}}\",succeeded,200,,",
            ].map { $0 + "\r\n" }.joined()
            #expect(text == expected)

            let filtered = try await api.get("/api/v1/audit.csv?member_id=\(ana)&status=failed&limit=1&offset=3")
            #expect(filtered.headers[.init("X-Total-Count")!] == "1")
            let lines = String(decoding: filtered.body, as: UTF8.self).components(separatedBy: "\r\n")
            #expect(lines.count == 3) // header, one entry (with a quoted line break inside), and the empty tail
            #expect(lines[1].hasPrefix("\(log.ids[1]),"))
            #expect(lines[2].isEmpty)

            let none = try await api.get("/api/v1/audit.csv?action=nothing")
            #expect(String(decoding: none.body, as: UTF8.self) == expected.components(separatedBy: "\r\n")[0] + "\r\n")
            #expect(none.headers[.init("X-Total-Count")!] == "0")
        }
    }

    @Test("The CSV export streams every matching entry across batches, newest first")
    func csvExportAcrossBatches() async throws {
        try await withServer { api in
            for index in 0..<2_345 {
                _ = try await api.repository.beginKisiWrite(action: index.isMultiple(of: 5) ? "removeGrant" : "createGrant", reason: "entry \(index)")
            }
            let reply = try await api.get("/api/v1/audit.csv")
            #expect(reply.headers[.init("X-Total-Count")!] == "2345")
            let lines = String(decoding: reply.body, as: UTF8.self).components(separatedBy: "\r\n").dropFirst().dropLast()
            let ids = lines.compactMap { Int($0.prefix { $0 != "," }) }
            #expect(ids.count == 2_345)
            #expect(ids == ids.sorted(by: >))
            #expect(Set(ids).count == 2_345)
            #expect(lines.first?.contains("entry 2344") == true)
            let removals = try await api.get("/api/v1/audit.csv?action=removeGrant")
            #expect(String(decoding: removals.body, as: UTF8.self).components(separatedBy: "\r\n").count == 469 + 2)
        }
    }
}
