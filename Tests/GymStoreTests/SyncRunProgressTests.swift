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
        #expect(progress.minutesLeft(at: start.addingTimeInterval(600)) == 49)  // 2,933 s, rounded up
    }

    @Test("too small a sample falls back to Kisi's 5 a second", arguments: [(9, 100.0), (500, 4.0)])
    func fallback(finished: Int, seconds: Double) {
        let progress = SyncRunProgress.estimate(
            trigger: "startup", startedAt: start, now: start, planned: 1_000, done: finished, failed: 0, workingSeconds: seconds)
        #expect(progress.writesPerSecond == 5)
        #expect(progress.estimatedFinishAt == start.addingTimeInterval(Double(1_000 - finished) / 5))
    }

    @Test("a run with everything finished is due now, and minutes left never go below zero")
    func finished() {
        let progress = SyncRunProgress.estimate(
            trigger: "startup", startedAt: start, now: start.addingTimeInterval(60), planned: 300, done: 299, failed: 1, workingSeconds: 60)
        #expect(progress.estimatedFinishAt == start.addingTimeInterval(60))
        #expect(progress.minutesLeft(at: start.addingTimeInterval(120)) == 0)
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
