import Foundation
import GymCore
import GymStore
import Testing

private func instant(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

@Suite("Class attendance from door events")
struct ClassAttendanceTests {
    /// Spinning on Tue 2026-12-01 at 18:00 in Bucharest (16:00 UTC) for 60 minutes: its door window
    /// runs from 15:45 to 17:15 UTC.
    @Test("A booked member who opened the studio door in the class's window is checked in; once the window closes the others are no-shows", arguments: DatabaseKind.available)
    func checkInsAndNoShows(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let club = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 7, kisiLockIDs: [11]))
            let studio = try await repository.createStudio(StudioDraft(clubID: club.id, name: "Spinning studio", kisiLockIDs: [21, 22]))
            let pass = try await repository.createPlan(PlanDraft(name: "Spinning pass", clubIDs: [club.id], studioIDs: [studio.id]))
            _ = try await repository.setPlanClassRules(
                planID: pass.id, [PlanClassRule(planID: pass.id, studioID: studio.id, allowance: .unlimited, doorMode: .bookedClasses)], by: "api:test")
            let spinning = try await repository.createClass(StudioClassDraft(
                studioID: studio.id, name: "Spinning", capacity: 12, startTime: LocalTime("18:00")!, durationMinutes: 60, date: date("2026-12-01")))
            var members: [String: Member] = [:]
            for name in ["Ana", "Bob", "Cai", "Dan", "Eva", "Fay", "Gus", "Ion"] {
                let member = try await repository.createMember(MemberDraft(firstName: name, lastName: "Rider", email: "\(name.lowercased())@example.com"))
                _ = try await repository.createSubscription(SubscriptionDraft(
                    memberID: member.id, planID: pass.id, startDate: date("2026-11-01"), paidThrough: date("2026-12-31")))
                _ = try await repository.book(classID: spinning.id, date: date("2026-12-01"), memberID: member.id, by: "api:test", at: instant("2026-11-30T08:00:00Z"))
                members[name] = member
            }
            try await repository.setKisiUserLink(memberID: members["Ana"]!.id, userID: 7)
            try await repository.setKisiUserLink(memberID: members["Gus"]!.id, userID: 8)
            // Ion cancels: a cancelled booking stays cancelled, whoever opens the door.
            let ionBooking = try #require(try await repository.bookings(memberID: members["Ion"]!.id).first)
            _ = try await repository.cancelBooking(ionBooking.booking.id, by: "api:test", at: instant("2026-11-30T09:00:00Z"))

            func event(_ uuid: String, _ at: String, lock: Int, user: Int? = nil, actor: String, success: Bool = true) -> DoorEvent {
                DoorEvent(kisiUUID: uuid, occurredAt: instant(at), lockID: lock, lockName: "Door \(lock)", placeID: 7, kisiUserID: user,
                          actorName: actor, success: success, message: nil)
            }
            try await repository.recordDoorEvents([
                // Ana's linked Kisi user, at the studio's second door, 10 minutes before the class.
                event("a", "2026-12-01T15:50:00Z", lock: 22, user: 7, actor: "A. Rider"),
                // Bob has no Kisi user: his name says it is him.
                event("b", "2026-12-01T16:05:00Z", lock: 21, actor: "Bob Rider"),
                // Dan came to the club's entrance, not the studio.
                event("d", "2026-12-01T15:55:00Z", lock: 11, actor: "Dan Rider"),
                // Eva was refused at the studio door.
                event("e", "2026-12-01T15:58:00Z", lock: 21, actor: "Eva Rider", success: false),
                // Fay opened the studio door an hour before its window.
                event("f", "2026-12-01T14:30:00Z", lock: 21, actor: "Fay Rider"),
                // Gus has a Kisi user of his own; another, linked to nobody, bearing his name is not him.
                event("g", "2026-12-01T16:00:00Z", lock: 21, user: 99, actor: "Gus Rider"),
                event("i", "2026-12-01T16:00:00Z", lock: 21, actor: "Ion Rider"),
            ])

            func states(at now: String) async throws -> [String: BookingStatus] {
                let roster = try await repository.occurrenceWithAttendance(classID: spinning.id, date: date("2026-12-01"), at: instant(now))
                var byName: [String: BookingStatus] = [:]
                for entry in roster.places + roster.cancelled { byName[String(entry.memberName.prefix(3))] = entry.booking.status }
                return byName
            }
            // Before the window opens nothing is decided.
            #expect(Set(try await states(at: "2026-12-01T15:00:00Z").values) == [.booked, .cancelled])
            // During the class: who came is checked in, the others are still booked (they may yet come).
            #expect(try await states(at: "2026-12-01T16:30:00Z") == [
                "Ana": .checkedIn, "Bob": .checkedIn, "Cai": .booked, "Dan": .booked, "Eva": .booked, "Fay": .booked, "Gus": .booked,
                "Ion": .cancelled,
            ])
            // The window has closed.
            #expect(try await states(at: "2026-12-01T17:15:00Z") == [
                "Ana": .checkedIn, "Bob": .checkedIn, "Cai": .noShow, "Dan": .noShow, "Eva": .noShow, "Fay": .noShow, "Gus": .noShow,
                "Ion": .cancelled,
            ])
            // An event that arrives late (polled from Kisi's event sets afterwards) still checks the member in.
            try await repository.recordDoorEvents([event("c", "2026-12-01T17:10:00Z", lock: 21, actor: "cai@example.com")])
            #expect(try await states(at: "2026-12-01T18:00:00Z")["Cai"] == .checkedIn)

            // The member's own bookings read the same answer.
            let anaBookings = try await repository.bookings(memberID: members["Ana"]!.id)
            let attendance = try await repository.classAttendance(
                of: anaBookings.map { BookedOccurrence(booking: $0.booking, occurrence: $0.occurrence) }, at: instant("2026-12-02T08:00:00Z"))
            #expect(attendance[anaBookings[0].booking.id] == .checkedIn)
            // Stored states are not rewritten: attendance is read from the events.
            #expect(try await repository.booking(anaBookings[0].booking.id).status == .booked)
        }
    }

    @Test("A cancelled class and a studio without Kisi locks decide nobody's attendance", arguments: DatabaseKind.available)
    func nothingToTellBy(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let club = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiLockIDs: [11]))
            let open = try await repository.createStudio(StudioDraft(clubID: club.id, name: "Yoga corner"))
            let pass = try await repository.createPlan(PlanDraft(name: "Yoga", clubIDs: [club.id], studioIDs: [open.id]))
            _ = try await repository.setPlanClassRules(
                planID: pass.id, [PlanClassRule(planID: pass.id, studioID: open.id, allowance: .unlimited, doorMode: .allDay)], by: "api:test")
            let yoga = try await repository.createClass(StudioClassDraft(
                studioID: open.id, name: "Yoga", capacity: 5, startTime: LocalTime("09:00")!, durationMinutes: 60, weekday: .tuesday,
                validFrom: date("2026-11-01")))
            let member = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Rider", email: "ana@example.com"))
            _ = try await repository.createSubscription(SubscriptionDraft(
                memberID: member.id, planID: pass.id, startDate: date("2026-11-01"), paidThrough: date("2026-12-31")))
            for day in ["2026-12-01", "2026-12-08"] {
                _ = try await repository.book(classID: yoga.id, date: date(day), memberID: member.id, by: "api:test", at: instant("2026-11-30T08:00:00Z"))
            }
            _ = try await repository.cancelOccurrence(classID: yoga.id, date: date("2026-12-08"), reason: nil, by: "api:test", at: instant("2026-11-30T09:00:00Z"))
            let after = instant("2026-12-20T08:00:00Z")
            let roster = try await repository.occurrenceWithAttendance(classID: yoga.id, date: date("2026-12-01"), at: after)
            #expect(roster.places.map(\.booking.status) == [.booked], "no studio door to tell a visit by")
            let bookings = try await repository.bookings(memberID: member.id)
            let states = try await repository.classAttendance(of: bookings.map { BookedOccurrence(booking: $0.booking, occurrence: $0.occurrence) }, at: after)
            #expect(bookings.map { states[$0.booking.id] } == [.booked, .cancelled])
        }
    }
}
