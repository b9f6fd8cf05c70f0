import Foundation
import GymCore
import GymStore
import Testing

@Suite("Door events counted by member")
struct DoorEventMemberTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func event(_ uuid: String, hoursAgo: Double, user: Int? = nil, actor: String?, success: Bool = true) -> DoorEvent {
        DoorEvent(
            kisiUUID: uuid, occurredAt: now.addingTimeInterval(-hoursAgo * 3600), lockID: 5001, lockName: "Entrance", placeID: 1001,
            kisiUserID: user, actorName: actor, success: success, message: success ? nil : "Denied")
    }

    @Test("A member's last door event is found through their Kisi user, and without one through the e-mail or a name no other member has", arguments: DatabaseKind.available)
    func lastEventPerMember(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            func member(_ first: String, _ last: String, _ email: String) async throws -> Member {
                try await repository.createMember(MemberDraft(firstName: first, lastName: last, email: email))
            }
            let ana = try await member("Ana", "Popescu", "ana@example.com")
            let radu = try await member("Radu", "Stan", "radu@example.com")
            let ioana1 = try await member("Ioana", "Marin", "ioana.1@example.com")
            let ioana2 = try await member("Ioana", "Marin", "ioana.2@example.com")
            let dana = try await member("Dana", "Lazar", "dana@example.com")
            let mihai = try await member("Mihai", "Dinu", "mihai@example.com")
            let jean = try await member("Jean", "Van Damme", "jean@example.com")
            let absent = try await member("Paul", "Tudor", "paul@example.com")
            try await repository.setKisiUserLink(memberID: ana.id, userID: 7)

            try await repository.recordDoorEvents([
                // Ana's Kisi user, whatever name Kisi gives it (here Radu's, later than Radu's own visit).
                Self.event("a1", hoursAgo: 5, user: 7, actor: "A. Popescu"),
                Self.event("a2", hoursAgo: 1, user: 7, actor: "Radu Stan"),
                // No Kisi user: by name, letter case and spacing aside; the latest counts.
                Self.event("r1", hoursAgo: 30, actor: "Radu Stan"),
                Self.event("r2", hoursAgo: 20, actor: "  radu   STAN "),
                // Two members share the name: the event cannot say which of them came.
                Self.event("i1", hoursAgo: 2, actor: "Ioana Marin"),
                // Kisi names a user without a name by e-mail.
                Self.event("d1", hoursAgo: 3, actor: "Dana@Example.com", success: false),
                // A Kisi user linked to no member yet: it may be the one the sync will link to Mihai.
                Self.event("m1", hoursAgo: 4, user: 99, actor: "Mihai Dinu"),
                // A last name of two words.
                Self.event("j1", hoursAgo: 6, actor: "Jean Van Damme"),
                // Nobody of that name.
                Self.event("x1", hoursAgo: 1, actor: "Cleaning Crew"),
            ])

            var last = try await repository.lastDoorEventPerMember()
            #expect(last[ana.id] == Self.now.addingTimeInterval(-1 * 3600))
            #expect(last[radu.id] == Self.now.addingTimeInterval(-20 * 3600), "Ana's Kisi user's event is Ana's, whatever its name")
            #expect(last[ioana1.id] == nil && last[ioana2.id] == nil)
            #expect(last[dana.id] == Self.now.addingTimeInterval(-3 * 3600), "a refusal is a visit too")
            #expect(last[mihai.id] == Self.now.addingTimeInterval(-4 * 3600))
            #expect(last[jean.id] == Self.now.addingTimeInterval(-6 * 3600))
            #expect(last[absent.id] == nil)
            #expect(last.count == 5)

            // Mihai linked to another Kisi user: user 99 is someone else of his name, and no longer counts for him.
            try await repository.setKisiUserLink(memberID: mihai.id, userID: 50)
            last = try await repository.lastDoorEventPerMember()
            #expect(last[mihai.id] == nil)
            // Linked to user 99 after all: its events count through the link.
            try await repository.setKisiUserLink(memberID: mihai.id, userID: 99)
            last = try await repository.lastDoorEventPerMember()
            #expect(last[mihai.id] == Self.now.addingTimeInterval(-4 * 3600))

            // The member page's list: the same events, newest first.
            let raduEvents = try await repository.doorEvents(since: Self.now.addingTimeInterval(-86_400 * 3), member: radu, kisiUserID: nil)
            #expect(raduEvents.map(\.kisiUUID) == ["r2", "r1"])
            let anaEvents = try await repository.doorEvents(since: Self.now.addingTimeInterval(-86_400 * 3), member: ana, kisiUserID: 7)
            #expect(anaEvents.map(\.kisiUUID) == ["a2", "a1"])
            #expect(try await repository.doorEvents(since: Self.now.addingTimeInterval(-86_400), member: ioana1, kisiUserID: nil).isEmpty)
            #expect(try await repository.doorEvents(since: Self.now.addingTimeInterval(-86_400), member: dana, kisiUserID: nil).map(\.kisiUUID) == ["d1"])
        }
    }

    @Test("Events read from Kisi are stored once: those already stored are skipped", arguments: DatabaseKind.available)
    func newEventsStoredOnce(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            #expect(try await repository.latestDoorEventAt() == nil)
            #expect(try await repository.recordNewDoorEvents([Self.event("k1", hoursAgo: 2, user: 3, actor: "Someone")]) == 1)
            let read = [
                Self.event("k1", hoursAgo: 2, user: 3, actor: "Someone"), Self.event("k2", hoursAgo: 1, user: 3, actor: "Someone"),
                Self.event("k2", hoursAgo: 1, user: 3, actor: "Someone"),
            ]
            #expect(try await repository.recordNewDoorEvents(read) == 1)
            #expect(try await repository.recordNewDoorEvents(read) == 0)
            let stored = try await repository.doorEvents(since: Self.now.addingTimeInterval(-86_400))
            #expect(stored.map(\.kisiUUID) == ["k2", "k1"])
            #expect(try await repository.latestDoorEventAt() == Self.now.addingTimeInterval(-3600))
        }
    }
}
