import Foundation
import GymStore
import Testing

@Suite("Sync status: a long run's progress")
struct SyncProgressAPITests {
    @Test("GET /api/v1/sync/status has `progress` while a long run publishes it, and none once it is cleared")
    func progressWhileSet() async throws {
        try await withServer { api in
            #expect(try await api.get("/api/v1/sync/status").json["progress"] == nil)

            let started = Date(timeIntervalSince1970: 1_780_000_000)
            let progress = SyncRunProgress.estimate(
                trigger: "startup", startedAt: started, now: started.addingTimeInterval(100), planned: 2_000, done: 380, failed: 20,
                workingSeconds: 100)
            try await api.repository.syncState.set(.runProgress, progress)
            let reply = try await api.get("/api/v1/sync/status")
            #expect(reply.status == .ok)
            let body = try #require(reply.json["progress"] as? [String: Any])
            #expect(body["trigger"] as? String == "startup")
            #expect(body["planned"] as? Int == 2_000)
            #expect(body["done"] as? Int == 380)
            #expect(body["failed"] as? Int == 20)
            #expect(body["writes_per_second"] as? Double == 4)
            #expect(body["started_at"] as? String == "2026-05-28T20:26:40Z")
            // 1,600 left at 4 a second: 400 s after the figures were taken.
            #expect(body["estimated_finish_at"] as? String == started.addingTimeInterval(500).formatted(.iso8601))

            try await api.repository.syncState.set(SyncStateEntry<SyncRunProgress>.runProgress, nil)
            #expect(try await api.get("/api/v1/sync/status").json["progress"] == nil)
        }
    }

    @Test("GET /api/v1/sync/status says how far the rolling sweep has come and when every member was last verified")
    func sweepAndVerification() async throws {
        try await withServer { api in
            let before = try await api.get("/api/v1/sync/status").json
            #expect(before["sweep"] == nil)
            #expect(before["all_members_verified_at"] == nil)

            let started = Date(timeIntervalSince1970: 1_780_000_000)
            try await api.repository.syncState.set(.allMembersVerifiedAt, started.addingTimeInterval(-600))
            try await api.repository.syncState.set(.sweep, SyncSweepStatus(
                current: SyncSweepStatus.Pass(
                    startedAt: started, updatedAt: started.addingTimeInterval(30), phase: "reading", reads: 120, readsEstimated: 1_820),
                lastStartedAt: started.addingTimeInterval(-600), lastFinishedAt: started.addingTimeInterval(-300), lastReads: 1_815))
            let reply = try await api.get("/api/v1/sync/status")
            #expect(reply.status == .ok)
            #expect(reply.json["all_members_verified_at"] as? String == "2026-05-28T20:16:40Z")
            let sweep = try #require(reply.json["sweep"] as? [String: Any])
            #expect(sweep["last_reads"] as? Int == 1_815)
            #expect(sweep["last_finished_at"] as? String == "2026-05-28T20:21:40Z")
            let current = try #require(sweep["current"] as? [String: Any])
            #expect(current["phase"] as? String == "reading")
            #expect(current["reads"] as? Int == 120)
            #expect(current["reads_estimated"] as? Int == 1_820)
        }
    }
}
