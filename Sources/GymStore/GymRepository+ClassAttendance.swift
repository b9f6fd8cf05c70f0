import FluentKit
import Foundation
import GymCore

// Who came to a booked class, from the door events Kisi reported.
//
// Attendance is worked out when a roster or a member's bookings are read, not recorded when events
// arrive: without a webhook the events come from Kisi's event sets whenever a page polls them, minutes
// or hours late, and a check-in written once the window had closed as a no-show would have to be
// rewritten. Reading it from the stored events gives the same answer whichever arrived first, costs one
// query per class on the page, and leaves the bookings' stored states to the booking rules (a no-show
// stays a booking that held its place, as the allowance counts it).

extension GymRepository {
    /// What each booking holding a place became at the door by `now`: `checkedIn` when the member's
    /// Kisi user opened (or was let through) one of the studio's doors during the class's door window
    /// (``ClassDoorWindow/margin`` before the class to the same after it), `noShow` once that window has
    /// closed without such an event, otherwise the booking's own state (`booked`, `promoted`). A state
    /// stored as `checked_in` or `no_show` stands as stored. Events count for a member as the attendance
    /// page counts them: through the Kisi user linked to the member, or, for an event whose Kisi user is
    /// linked to nobody, through the e-mail or a full name no other member has.
    ///
    /// Bookings not holding a place, of cancelled occurrences, or of a studio without Kisi locks (nothing
    /// to tell a visit by) keep their own state. One query of door events per occurrence whose window
    /// has opened, plus the member look-ups those events need.
    public func classAttendance(of bookings: [BookedOccurrence], at now: Date = Date()) async throws -> [UUID: BookingStatus] {
        let layout = try await layout()
        var result: [UUID: BookingStatus] = [:]
        var waiting: [OccurrenceKey: [BookedOccurrence]] = [:]
        for entry in bookings {
            let booking = entry.booking
            result[booking.id] = booking.status
            guard booking.status == .booked || booking.status == .promoted, !entry.occurrence.isCancelled,
                  let studio = layout.studios[entry.occurrence.studioID], !studio.kisiLockIDs.isEmpty,
                  now >= Self.doorWindow(of: entry.occurrence).from
            else { continue }
            waiting[OccurrenceKey(classID: entry.occurrence.classID, date: entry.occurrence.date.description), default: []].append(entry)
        }
        for entries in waiting.values {
            let occurrence = entries[0].occurrence
            let window = Self.doorWindow(of: occurrence)
            let locks = layout.studios[occurrence.studioID]?.kisiLockIDs ?? []
            let events = try await DoorEventRow.query(on: database)
                .filter(\.$success == true).filter(\.$lockID ~~ locks)
                .filter(\.$occurredAt >= window.from).filter(\.$occurredAt <= window.until)
                .all().map(\.domain)
            let came = try await membersAtDoor(events)
            for entry in entries {
                if came.contains(entry.booking.memberID) {
                    result[entry.booking.id] = .checkedIn
                } else if now >= window.until {
                    result[entry.booking.id] = .noShow
                }
            }
        }
        return result
    }

    /// A roster with each booking's state at the door by `now` (see ``classAttendance(of:at:)``).
    public func occurrenceWithAttendance(classID: UUID, date: LocalDate, at now: Date = Date()) async throws -> OccurrenceRoster {
        var roster = try await occurrence(classID: classID, date: date)
        let states = try await classAttendance(
            of: roster.places.map { BookedOccurrence(booking: $0.booking, occurrence: roster.summary.occurrence) }, at: now)
        for index in roster.places.indices {
            if let state = states[roster.places[index].booking.id] { roster.places[index].booking.status = state }
        }
        return roster
    }

    /// The door window of an occurrence: from ``ClassDoorWindow/margin`` before it starts to as long after it ends.
    static func doorWindow(of occurrence: ClassOccurrence) -> AccessWindow {
        AccessWindow(from: occurrence.startsAt.addingTimeInterval(-ClassDoorWindow.margin), until: occurrence.endsAt.addingTimeInterval(ClassDoorWindow.margin))
    }

    /// The members these door events name: by the member linked to the event's Kisi user, else (a Kisi
    /// user linked to nobody, or none) by actor, counted only for a member without a Kisi user of their
    /// own when the event carries one, as ``doorEvents(since:member:kisiUserID:limit:)`` counts them.
    func membersAtDoor(_ events: [DoorEvent]) async throws -> Set<UUID> {
        guard !events.isEmpty else { return [] }
        let users = Array(Set(events.compactMap(\.kisiUserID)))
        var memberOfUser: [Int: UUID] = [:]
        for start in stride(from: 0, to: users.count, by: 400) {
            let part = Array(users[start..<min(start + 400, users.count)])
            for row in try await KisiLinkRow.query(on: database).filter(\.$kind == KisiLinkRow.memberKind).filter(\.$kisiID ~~ part).all() {
                memberOfUser[row.kisiID] = row.localID
            }
        }
        var came = Set<UUID>()
        var unlinked: [DoorEvent] = []
        for event in events {
            if let user = event.kisiUserID, let memberID = memberOfUser[user] {
                came.insert(memberID)
            } else if event.actorName != nil {
                unlinked.append(event)
            }
        }
        guard !unlinked.isEmpty else { return came }
        let named = try await membersNamed(by: Array(Set(unlinked.compactMap(\.actorName))))
        let withUser = try await membersWithKisiUser(Array(Set(named.values)))
        for event in unlinked {
            guard let actor = event.actorName, let memberID = named[DoorEventActor.key(actor)] else { continue }
            if event.kisiUserID == nil || !withUser.contains(memberID) { came.insert(memberID) }
        }
        return came
    }
}

extension GymRepository {
    /// Runs `work` with a repository whose writes all join one transaction, committed once at the end:
    /// for seeding hundreds of bookings (the demo), each through the ordinary operation and its checks,
    /// without paying a commit (an fsync on SQLite) for each. An error thrown out of `work` rolls back
    /// everything; one caught inside it (a refused booking, say) leaves the batch going, so operations
    /// caught that way must be ones that refuse before writing, as `book` does.
    public func inOneTransaction<T: Sendable>(_ work: @escaping @Sendable (GymRepository) async throws -> T) async throws -> T {
        try await database.transaction { db in try await work(GymRepository(database: db)) }
    }
}
