import Foundation
import GymStore
import Testing

@Suite("Door events")
struct DoorEventStoreTests {
    static func event(_ uuid: String, at instant: Date, user: Int?, lock: Int, success: Bool) -> DoorEvent {
        DoorEvent(
            kisiUUID: uuid, occurredAt: instant, lockID: lock, lockName: "Lock \(lock)", placeID: 1001, kisiUserID: user,
            actorName: user.map { "User \($0)" }, success: success, message: success ? nil : "Access denied")
    }

    @Test("A door event is kept once per Kisi UUID and read back by sequence, by time and by Kisi user", arguments: DatabaseKind.available)
    func doorEventsAreKeptOnceAndReadBack(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            #expect(try await repository.lastDoorEventID() == 0)
            #expect(try await repository.recordDoorEvent(Self.event("a", at: now.addingTimeInterval(-7200), user: 7, lock: 5001, success: true)))
            let startID = try await repository.lastDoorEventID()
            #expect(try await repository.recordDoorEvent(Self.event("b", at: now.addingTimeInterval(-60), user: 7, lock: 5002, success: false)))
            #expect(try await repository.recordDoorEvent(Self.event("c", at: now, user: 8, lock: 5001, success: true)))
            // A redelivery of the same event changes nothing.
            #expect(try await repository.recordDoorEvent(Self.event("b", at: now.addingTimeInterval(-60), user: 7, lock: 5002, success: false)) == false)

            let afterStart = try await repository.doorEvents(afterID: startID)
            #expect(afterStart.map(\.kisiUUID) == ["b", "c"])
            let lastHour = try await repository.doorEvents(since: now.addingTimeInterval(-3600))
            #expect(lastHour.map(\.kisiUUID) == ["c", "b"], "newest first")
            let user7 = try await repository.doorEvents(since: now.addingTimeInterval(-86_400), kisiUserID: 7)
            #expect(user7.map(\.kisiUUID) == ["b", "a"])
            #expect(user7.first?.success == false)
            #expect(user7.first?.message == "Access denied")
            #expect(user7.first?.lockID == 5002)
        }
    }
}
