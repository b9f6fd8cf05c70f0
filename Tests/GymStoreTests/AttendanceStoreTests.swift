import Foundation
import GymStore
import Testing

@Suite("Door events counted per hour")
struct AttendanceStoreTests {
    static func event(_ uuid: String, at instant: Date, lock: Int?, place: Int?, success: Bool) -> DoorEvent {
        DoorEvent(
            kisiUUID: uuid, occurredAt: instant, lockID: lock, lockName: nil, placeID: place, kisiUserID: 7, actorName: nil,
            success: success, message: nil)
    }

    @Test("the store counts events per UTC hour, door and outcome, from the first instant up to but not including the last", arguments: DatabaseKind.available)
    func hourCounts(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            // 2027-01-15T10:00:00Z, an hour boundary.
            let hour = Date(timeIntervalSince1970: 1_799_964_000)
            #expect(Int(hour.timeIntervalSince1970) % 3600 == 0)
            let events = [
                Self.event("a", at: hour, lock: 1, place: 100, success: true),
                Self.event("b", at: hour.addingTimeInterval(59 * 60 + 59), lock: 1, place: 100, success: true),
                Self.event("c", at: hour.addingTimeInterval(30), lock: 1, place: 100, success: false),
                Self.event("d", at: hour.addingTimeInterval(3600), lock: 1, place: 100, success: true),
                Self.event("e", at: hour.addingTimeInterval(120), lock: 2, place: 100, success: true),
                Self.event("f", at: hour.addingTimeInterval(240), lock: nil, place: 200, success: true),
                // Outside the range asked for: one just before it, one at its exclusive end.
                Self.event("g", at: hour.addingTimeInterval(-1), lock: 1, place: 100, success: true),
                Self.event("h", at: hour.addingTimeInterval(7200), lock: 1, place: 100, success: true),
            ]
            for event in events { try await repository.recordDoorEvent(event) }

            let counts = try await repository.doorEventHourCounts(from: hour, to: hour.addingTimeInterval(7200))
            let first = Int(hour.timeIntervalSince1970 / 3600)
            func count(_ hour: Int, lock: Int?, place: Int?, success: Bool) -> Int? {
                counts.first { $0.hour == hour && $0.lockID == lock && $0.placeID == place && $0.success == success }?.count
            }
            #expect(counts.count == 5)
            #expect(count(first, lock: 1, place: 100, success: true) == 2)
            #expect(count(first, lock: 1, place: 100, success: false) == 1)
            #expect(count(first + 1, lock: 1, place: 100, success: true) == 1)
            #expect(count(first, lock: 2, place: 100, success: true) == 1)
            #expect(count(first, lock: nil, place: 200, success: true) == 1)
            #expect(counts.map(\.count).reduce(0, +) == 6)
            #expect(counts.first { $0.hour == first }?.start == hour)
        }
    }

    @Test("the audit log's actions are listed once each, sorted, for its filter", arguments: DatabaseKind.available)
    func auditActions(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            #expect(try await repository.kisiWriteActions().isEmpty)
            for action in ["removeGrant", "createGrant", "unlock_lock", "createGrant", "block_member", "removeGrant"] {
                _ = try await repository.beginKisiWrite(action: action, reason: "test")
            }
            #expect(try await repository.kisiWriteActions() == ["block_member", "createGrant", "removeGrant", "unlock_lock"])
        }
    }
}
