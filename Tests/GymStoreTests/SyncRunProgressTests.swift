import Foundation
import GymCore
import GymStore
import Testing

@Suite("Progress and finish estimate of a long sync run")
struct SyncRunProgressTests {
    let start = Date(timeIntervalSince1970: 1_780_000_000)

    @Test("the finish is the remaining actions at the rate observed over the run's working time")
    func observedRate() {
        let progress = SyncRunProgress.estimate(
            trigger: "full reconcile", startedAt: start, now: start.addingTimeInterval(600), planned: 10_000, done: 1_150, failed: 50,
            workingSeconds: 400)
        #expect(progress.writesPerSecond == 3)  // 1,200 finished in 400 s of work (the other 200 s set aside)
        #expect(progress.estimatedFinishAt == start.addingTimeInterval(600 + 8_800.0 / 3))
        #expect(progress.timeLeft(at: start.addingTimeInterval(600)) == "about 49 min left")  // 2,933 s
        #expect(progress.timeLeft(at: start.addingTimeInterval(3_500)) == "less than a minute left")
    }

    @Test("the rate is the recent one when an earlier sample is given, so the estimate follows a change of pace")
    func recentRate() {
        // 1,000 grants in the first 200 s (5 a second), then user updates at 2 a second for 60 s.
        let progress = SyncRunProgress.estimate(
            trigger: "startup", startedAt: start, now: start.addingTimeInterval(260), planned: 2_000, done: 1_120, failed: 0,
            workingSeconds: 260, since: (finished: 1_000, workingSeconds: 200))
        #expect(progress.writesPerSecond == 2)
        #expect(progress.estimatedFinishAt == start.addingTimeInterval(260 + 880 / 2))
        // Too few since that sample: the whole run's rate.
        let early = SyncRunProgress.estimate(
            trigger: "startup", startedAt: start, now: start.addingTimeInterval(201), planned: 2_000, done: 1_005, failed: 0,
            workingSeconds: 201, since: (finished: 1_000, workingSeconds: 200))
        #expect(early.writesPerSecond == 5)
    }

    @Test("the finish counts the Kisi requests left, not the actions: user updates take two each, links none")
    func requestsLeft() {
        // 300 actions done of 500; they took 300 requests; the 200 left are user updates, 400 requests.
        let progress = SyncRunProgress.estimate(
            trigger: "startup", startedAt: start, now: start.addingTimeInterval(75), planned: 500, done: 300, failed: 0,
            workingSeconds: 75, requests: (planned: 700, finished: 300))
        #expect(progress.writesPerSecond == 4)
        #expect(progress.estimatedFinishAt == start.addingTimeInterval(75 + 100))  // 400 requests at 4 a second
    }

    @Test("too small a sample falls back to Kisi's 5 a second", arguments: [(9, 100.0), (500, 4.0)])
    func fallback(finished: Int, seconds: Double) {
        let progress = SyncRunProgress.estimate(
            trigger: "startup", startedAt: start, now: start, planned: 1_000, done: finished, failed: 0, workingSeconds: seconds)
        #expect(progress.writesPerSecond == 5)
        #expect(progress.estimatedFinishAt == start.addingTimeInterval(Double(1_000 - finished) / 5))
    }

    @Test("a run with everything finished is due now, and the time left never goes below zero")
    func finished() {
        let progress = SyncRunProgress.estimate(
            trigger: "startup", startedAt: start, now: start.addingTimeInterval(60), planned: 300, done: 299, failed: 1, workingSeconds: 60)
        #expect(progress.estimatedFinishAt == start.addingTimeInterval(60))
        #expect(progress.timeLeft(at: start.addingTimeInterval(120)) == "less than a minute left")
    }

    @Test("an 11-hour first sync says hours, not hundreds of minutes")
    func hours() {
        // 100,000 members, about 200,000 writes, at Kisi's 5 a second.
        let progress = SyncRunProgress.estimate(
            trigger: "startup", startedAt: start, now: start, planned: 200_000, done: 0, failed: 0, workingSeconds: 0)
        #expect(progress.timeLeft(at: start) == "about 11.1 h left")
        #expect(progress.timeLeft(at: start.addingTimeInterval(40_000 - 90)) == "about 2 min left")
    }

    @Test("it is stored in the sync state and read back unchanged", arguments: DatabaseKind.available)
    func stored(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let progress = SyncRunProgress.estimate(
                trigger: "startup", startedAt: start, now: start.addingTimeInterval(30), planned: 400, done: 150, failed: 0, workingSeconds: 30)
            try await repository.syncState.set(.runProgress, progress)
            #expect(try await repository.syncState.get(.runProgress) == progress)
        }
    }

    @Test("each linked member's last door event is read in one query; unlinked users are left out", arguments: DatabaseKind.available)
    func lastDoorEvents(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let ana = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Door", email: "ana.door@example.com"))
            let dan = try await repository.createMember(MemberDraft(firstName: "Dan", lastName: "Door", email: "dan.door@example.com"))
            try await repository.setKisiUserLink(memberID: ana.id, userID: 7)
            try await repository.setKisiUserLink(memberID: dan.id, userID: 8)
            for (uuid, offset, user, success) in [("a", -7_200.0, 7, true), ("b", -60.0, 7, false), ("c", -86_400.0, 8, true), ("d", 0.0, 9, true)] {
                _ = try await repository.recordDoorEvent(DoorEvent(
                    kisiUUID: uuid, occurredAt: start.addingTimeInterval(offset), lockID: 5001, lockName: nil, placeID: nil, kisiUserID: user,
                    actorName: nil, success: success, message: nil))
            }
            let last = try await repository.lastDoorEventPerMember()
            #expect(last.count == 2)
            #expect(last[ana.id].map { $0.timeIntervalSince1970.rounded() } == start.addingTimeInterval(-60).timeIntervalSince1970)
            #expect(last[dan.id].map { $0.timeIntervalSince1970.rounded() } == start.addingTimeInterval(-86_400).timeIntervalSince1970)
        }
    }
}
