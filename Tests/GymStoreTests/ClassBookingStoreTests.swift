import Foundation
import GymCore
import GymStore
import Testing

/// A club in Bucharest with a spinning studio whose door opens only for booked classes, a class pass
/// (2 classes a week) and a Tuesday 18:00 class.
private struct ClassFixture {
    let club: Club
    let studio: Studio
    let pass: Plan
    let tuesday: StudioClass
    let repository: GymRepository

    static let actor = "api:test"
    /// Monday 2026-11-30, 10:00 in Bucharest: before every class the tests book.
    static let now = ISO8601DateFormatter().date(from: "2026-11-30T08:00:00Z")!

    static func make(_ repository: GymRepository, capacity: Int = 12, allowance: ClassAllowance = .perWeek(2)) async throws -> ClassFixture {
        let club = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 7, kisiLockIDs: [11]))
        let studio = try await repository.createStudio(StudioDraft(clubID: club.id, name: "Spinning studio", kisiLockIDs: [21]))
        let pass = try await repository.createPlan(PlanDraft(name: "Spinning pass", clubIDs: [club.id], studioIDs: [studio.id]))
        _ = try await repository.setPlanClassRules(
            planID: pass.id, [PlanClassRule(planID: pass.id, studioID: studio.id, allowance: allowance, doorMode: .bookedClasses)], by: actor)
        let tuesday = try await repository.createClass(StudioClassDraft(
            studioID: studio.id, name: "Spinning", instructor: "Ioana", capacity: capacity, startTime: LocalTime("18:00")!, durationMinutes: 60,
            weekday: .tuesday, validFrom: date("2026-01-01")))
        return ClassFixture(club: club, studio: studio, pass: pass, tuesday: tuesday, repository: repository)
    }

    /// A member with an active subscription of the pass (or of `plan`).
    func member(_ name: String, plan: Plan? = nil, from: String = "2026-01-01") async throws -> Member {
        let member = try await repository.createMember(MemberDraft(firstName: name, lastName: "Test", email: "\(name.lowercased())@example.com"))
        _ = try await repository.createSubscription(SubscriptionDraft(
            memberID: member.id, planID: (plan ?? pass).id, startDate: date(from), paidThrough: date("2027-12-31")))
        return member
    }

    /// Books at `now` plus `seconds`: later seconds stand later in the waitlist.
    func book(_ member: Member, _ day: String, waitlist: Bool = true, classID: UUID? = nil, seconds: Double = 0) async throws -> ClassBooking {
        try await repository.book(
            classID: classID ?? tuesday.id, date: date(day), memberID: member.id, waitlist: waitlist, by: Self.actor,
            at: Self.now.addingTimeInterval(seconds))
    }
}

private func instant(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

private func expectRefusal(_ refusal: BookingRefusal, sourceLocation: SourceLocation = #_sourceLocation, _ operation: () async throws -> Void) async {
    do {
        try await operation()
        Issue.record("expected the booking to be refused: \(refusal)", sourceLocation: sourceLocation)
    } catch let error as BookingRefused {
        #expect(error.refusal == refusal, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected BookingRefused(\(refusal)), got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("Classes and bookings in the store")
struct ClassBookingStoreTests {
    @Test("A studio's week lists its occurrences in club time with fill levels, across the autumn DST change", arguments: DatabaseKind.available)
    func weekWithFillLevels(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let fixture = try await ClassFixture.make(database.repository, capacity: 2)
            let repository = fixture.repository
            let sunday = try await repository.createClass(StudioClassDraft(
                studioID: fixture.studio.id, name: "Early ride", capacity: 5, startTime: LocalTime("08:00")!, durationMinutes: 45,
                weekday: .sunday, validFrom: date("2026-10-01")))
            let oneOff = try await repository.createClass(StudioClassDraft(
                studioID: fixture.studio.id, name: "Charity ride", capacity: 30, startTime: LocalTime("23:30")!, durationMinutes: 90,
                date: date("2026-10-24")))
            let ana = try await fixture.member("Ana")
            let bob = try await fixture.member("Bob")
            let cai = try await fixture.member("Cai")
            for (index, member) in [ana, bob, cai].enumerated() {
                _ = try await fixture.book(member, "2026-12-01", seconds: Double(index))
            }

            let autumn = try await repository.classWeek(studioID: fixture.studio.id, containing: date("2026-10-22"))
            #expect(autumn.map { "\($0.occurrence.name) \(ISO8601DateFormatter().string(from: $0.occurrence.startsAt))" } == [
                "Spinning 2026-10-20T15:00:00Z",
                "Charity ride 2026-10-24T20:30:00Z",
                // After the change: 08:00 is +02 again.
                "Early ride 2026-10-25T06:00:00Z",
            ])
            #expect(autumn.first { $0.occurrence.classID == oneOff.id }?.occurrence.endsAt == instant("2026-10-24T22:00:00Z"))
            #expect(autumn.first { $0.occurrence.classID == sunday.id }?.occurrence.date == date("2026-10-25"))

            let december = try await repository.classWeek(studioID: fixture.studio.id, containing: date("2026-12-06"))
            let tuesday = try #require(december.first { $0.occurrence.classID == fixture.tuesday.id })
            #expect(tuesday.booked == 2)
            #expect(tuesday.waitlisted == 1)
            #expect(tuesday.isFull)
            #expect(tuesday.occurrence.startsAt == instant("2026-12-01T16:00:00Z"))

            let roster = try await repository.occurrence(classID: fixture.tuesday.id, date: date("2026-12-01"))
            #expect(roster.places.map(\.memberName) == ["Ana Test", "Bob Test"])
            #expect(roster.waitlist.map(\.memberName) == ["Cai Test"])
            #expect(roster.waitlist.map(\.booking.status) == [.waitlisted])
        }
    }

    @Test("Concurrent bookings of the last places: exactly as many win as there are places", arguments: DatabaseKind.available)
    func capacityUnderConcurrency(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let fixture = try await ClassFixture.make(database.repository, capacity: 3)
            var members: [Member] = []
            for index in 0..<10 { members.append(try await fixture.member("Rider\(index)")) }
            let repository = fixture.repository
            let classID = fixture.tuesday.id
            // Every member at once, each through its own task: on PostgreSQL over separate connections.
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for member in members {
                    group.addTask {
                        do {
                            _ = try await repository.book(
                                classID: classID, date: date("2026-12-08"), memberID: member.id, waitlist: false, by: ClassFixture.actor,
                                at: ClassFixture.now)
                            return true
                        } catch StoreError.conflict {
                            return false
                        } catch {
                            Issue.record("unexpected error \(error)")
                            return false
                        }
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 3)
            let roster = try await repository.occurrence(classID: classID, date: date("2026-12-08"))
            #expect(roster.places.count == 3)
            #expect(roster.waitlist.isEmpty)

            // Two front desks booking the one last place of another date at the same moment.
            let small = try await repository.createClass(StudioClassDraft(
                studioID: fixture.studio.id, name: "Duo", capacity: 1, startTime: LocalTime("07:00")!, durationMinutes: 30, date: date("2026-12-03")))
            let (firstID, secondID) = (members[0].id, members[1].id)
            async let first = try? repository.book(classID: small.id, date: date("2026-12-03"), memberID: firstID, waitlist: false, by: "staff:a", at: ClassFixture.now)
            async let second = try? repository.book(classID: small.id, date: date("2026-12-03"), memberID: secondID, waitlist: false, by: "staff:b", at: ClassFixture.now)
            let winners = [await first, await second].compactMap { $0 }
            #expect(winners.count == 1)
            #expect(try await repository.occurrence(classID: small.id, date: date("2026-12-03")).places.map(\.booking.id) == winners.map(\.id))
        }
    }

    @Test("Cancelling gives the place to the first waitlisted member whose plan still allows the class", arguments: DatabaseKind.available)
    func cancellationPromotesWaitlist(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let fixture = try await ClassFixture.make(database.repository, capacity: 1, allowance: .perWeek(1))
            let repository = fixture.repository
            let ana = try await fixture.member("Ana")
            let bob = try await fixture.member("Bob")
            let cai = try await fixture.member("Cai")
            let thursday = try await repository.createClass(StudioClassDraft(
                studioID: fixture.studio.id, name: "Thursday ride", capacity: 5, startTime: LocalTime("19:00")!, durationMinutes: 60,
                weekday: .thursday, validFrom: date("2026-01-01")))

            let anaBooking = try await fixture.book(ana, "2026-12-08")
            #expect(anaBooking.status == .booked)
            let bobWaiting = try await fixture.book(bob, "2026-12-08", seconds: 1)
            let caiWaiting = try await fixture.book(cai, "2026-12-08", seconds: 2)
            let dan = try await fixture.member("Dan")
            let danWaiting = try await fixture.book(dan, "2026-12-08", seconds: 3)
            #expect([bobWaiting.status, caiWaiting.status, danWaiting.status] == [.waitlisted, .waitlisted, .waitlisted])
            // Bob then uses his one class of that week on Thursday: his plan no longer allows Tuesday.
            _ = try await fixture.book(bob, "2026-12-10", classID: thursday.id)

            let changesBefore = try await repository.accessChanges().count
            let outcome = try await repository.cancelBooking(anaBooking.id, by: ClassFixture.actor, at: ClassFixture.now)
            #expect(outcome.cancelled.status == .cancelled)
            #expect(outcome.promoted?.memberID == cai.id)
            #expect(outcome.promoted?.status == .promoted)
            let roster = try await repository.occurrence(classID: fixture.tuesday.id, date: date("2026-12-08"))
            #expect(roster.places.map(\.memberName) == ["Cai Test"])
            #expect(roster.waitlist.map(\.memberName) == ["Bob Test", "Dan Test"])
            #expect(roster.cancelled.map(\.memberName) == ["Ana Test"])
            // Both doors change: Ana's window goes, Cai's comes; the sync hears of both members.
            let changes = try await repository.accessChanges().dropFirst(changesBefore)
            #expect(Set(changes.compactMap(\.memberID)) == [ana.id, cai.id])
            let audit = try await repository.auditEntries(KisiWriteFilter(memberID: cai.id))
            #expect(audit.items.map(\.action).contains(GymRepository.promoteBookingAction))

            // Cancelling twice is a conflict and changes nothing.
            await #expect(throws: StoreError.self) { try await repository.cancelBooking(anaBooking.id, by: ClassFixture.actor, at: ClassFixture.now) }
        }
    }

    @Test("Cancelling an occurrence cancels every booking and the waitlist, and logs each member's change", arguments: DatabaseKind.available)
    func cancellingAnOccurrence(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let fixture = try await ClassFixture.make(database.repository, capacity: 1)
            let repository = fixture.repository
            let ana = try await fixture.member("Ana")
            let bob = try await fixture.member("Bob")
            _ = try await fixture.book(ana, "2026-12-15")
            _ = try await fixture.book(bob, "2026-12-15")
            let before = try await repository.accessChanges().count
            let roster = try await repository.cancelOccurrence(
                classID: fixture.tuesday.id, date: date("2026-12-15"), reason: "Instructor ill", by: "staff:desk@gym.example", at: ClassFixture.now)
            #expect(roster.summary.occurrence.cancellation?.reason == "Instructor ill")
            #expect(roster.places.isEmpty && roster.waitlist.isEmpty)
            #expect(Set(roster.cancelled.map(\.booking.memberID)) == [ana.id, bob.id])
            let changes = try await repository.accessChanges().dropFirst(before)
            #expect(Set(changes.compactMap(\.memberID)) == [ana.id, bob.id])
            let audit = try await repository.auditEntries(KisiWriteFilter(action: GymRepository.cancelOccurrenceAction))
            #expect(audit.items.count == 1)
            #expect(audit.items.first?.reason.contains("Instructor ill") == true)

            // Again: nothing more happens; booking it is refused.
            _ = try await repository.cancelOccurrence(classID: fixture.tuesday.id, date: date("2026-12-15"), reason: nil, by: "staff:x", at: ClassFixture.now)
            #expect(try await repository.accessChanges().count == before + changes.count)
            await expectRefusal(.cancelledOccurrence) { _ = try await fixture.book(ana, "2026-12-15") }
            // The week shows it cancelled; the next Tuesday is untouched.
            let week = try await repository.classWeek(studioID: fixture.studio.id, containing: date("2026-12-15"))
            #expect(week.map(\.occurrence.isCancelled) == [true])
            let next = try await repository.occurrence(classID: fixture.tuesday.id, date: date("2026-12-22"))
            #expect(!next.summary.occurrence.isCancelled)
        }
    }

    @Test("A weekly allowance is counted Monday to Sunday in the club's zone, not UTC's", arguments: DatabaseKind.available)
    func allowanceInClubTime(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let fixture = try await ClassFixture.make(database.repository, allowance: .perWeek(1))
            let repository = fixture.repository
            // Sunday 23:30 in Bucharest is 21:30Z Sunday; Monday 00:30 is 22:30Z, still Sunday in UTC.
            let late = try await repository.createClass(StudioClassDraft(
                studioID: fixture.studio.id, name: "Late ride", capacity: 10, startTime: LocalTime("23:30")!, durationMinutes: 30,
                weekday: .sunday, validFrom: date("2026-01-01")))
            let midnight = try await repository.createClass(StudioClassDraft(
                studioID: fixture.studio.id, name: "Midnight ride", capacity: 10, startTime: LocalTime("00:30")!, durationMinutes: 30,
                weekday: .monday, validFrom: date("2026-01-01")))
            let ana = try await fixture.member("Ana")
            _ = try await fixture.book(ana, "2026-12-13", classID: late.id)
            // Monday 00:30 local is a new week in the club: allowed.
            let monday = try await fixture.book(ana, "2026-12-14", classID: midnight.id)
            #expect(monday.status == .booked)
            // Tuesday the 15th is in that same week: refused.
            await expectRefusal(.allowanceUsed(limit: 1, period: DateSpan(first: date("2026-12-14"), last: date("2026-12-20")))) {
                _ = try await fixture.book(ana, "2026-12-15")
            }
            let usage = try await repository.classAllowanceUsage(memberID: ana.id, planID: fixture.pass.id, studioID: fixture.studio.id, on: date("2026-12-16"))
            #expect(usage.used == 1)
            #expect(usage.remaining == 0)
            // Cancelling gives the class back.
            _ = try await repository.cancelBooking(monday.id, by: ClassFixture.actor, at: ClassFixture.now)
            #expect(try await fixture.book(ana, "2026-12-15").status == .booked)
        }
    }

    @Test("Who may book: a plan active on the class's date with the studio's classes; not blocked, not twice, not after the start", arguments: DatabaseKind.available)
    func bookingRules(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let fixture = try await ClassFixture.make(database.repository)
            let repository = fixture.repository
            let gymOnly = try await repository.createPlan(PlanDraft(name: "Gym only", clubIDs: [fixture.club.id]))
            let noClasses = try await fixture.member("Nora", plan: gymOnly)
            await expectRefusal(.notIncluded) { _ = try await fixture.book(noClasses, "2026-12-08") }
            let starting = try await fixture.member("Sam", from: "2026-12-09")
            await expectRefusal(.notIncluded) { _ = try await fixture.book(starting, "2026-12-08") }
            #expect(try await fixture.book(starting, "2026-12-15").status == .booked)
            await expectRefusal(.alreadyBooked) { _ = try await fixture.book(starting, "2026-12-15") }
            let late = try await fixture.member("Lia")
            await expectRefusal(.started) {
                _ = try await repository.book(
                    classID: fixture.tuesday.id, date: date("2026-12-08"), memberID: late.id, by: ClassFixture.actor, at: instant("2026-12-08T16:00:00Z"))
            }
            _ = try await repository.blockMember(id: late.id, reason: "Card reported stolen", by: "staff:x")
            await expectRefusal(.blocked) { _ = try await fixture.book(late, "2026-12-15") }
            // A date the class does not happen on, an unknown member: field errors; nothing written.
            let counts = try await tableCounts(database)
            await expectFieldError("date") { _ = try await fixture.book(starting, "2026-12-09") }
            await expectFieldError("member_id") {
                _ = try await repository.book(classID: fixture.tuesday.id, date: date("2026-12-08"), memberID: UUID(), by: ClassFixture.actor, at: ClassFixture.now)
            }
            #expect(try await tableCounts(database) == counts)
        }
    }

    @Test("Door windows: the next two per studio, gone when the booking or the class is cancelled", arguments: DatabaseKind.available)
    func doorWindows(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let fixture = try await ClassFixture.make(database.repository, allowance: .unlimited)
            let repository = fixture.repository
            let ana = try await fixture.member("Ana")
            let first = try await fixture.book(ana, "2026-12-01")
            _ = try await fixture.book(ana, "2026-12-08")
            _ = try await fixture.book(ana, "2026-12-15")
            var windows = try await repository.classDoorWindows(memberIDs: [ana.id], at: ClassFixture.now)[ana.id] ?? []
            #expect(windows.map(\.occurrenceDate) == [date("2026-12-01"), date("2026-12-08")])
            #expect(windows.first?.lockIDs == [21])
            #expect(windows.first?.opensAt == instant("2026-12-01T15:45:00Z"))
            #expect(windows.first?.closesAt == instant("2026-12-01T17:15:00Z"))

            let listed = try await repository.bookings(memberID: ana.id, at: ClassFixture.now)
            #expect(listed.first?.doorExplanation == "Spinning studio: booked class Tue 18:00–19:00, door open 17:45–19:15")
            #expect(listed.map { $0.doorWindow != nil } == [true, true, false])

            _ = try await repository.cancelBooking(first.id, by: ClassFixture.actor, at: ClassFixture.now)
            _ = try await repository.cancelOccurrence(classID: fixture.tuesday.id, date: date("2026-12-08"), reason: nil, by: "staff:x", at: ClassFixture.now)
            windows = try await repository.classDoorWindows(memberIDs: [ana.id], at: ClassFixture.now)[ana.id] ?? []
            #expect(windows.map(\.occurrenceDate) == [date("2026-12-15")])
            // After the class closes its window, nothing is left.
            #expect(try await repository.classDoorWindows(memberIDs: [ana.id], at: instant("2026-12-15T17:15:00Z")).isEmpty)
        }
    }

    @Test("The member's access decision opens the studio door in the booked window only, and closes it when the booking is cancelled", arguments: DatabaseKind.available)
    func accessDecisionFollowsBookings(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let fixture = try await ClassFixture.make(database.repository, allowance: .unlimited)
            let repository = fixture.repository
            let ana = try await fixture.member("Ana")
            let booking = try await fixture.book(ana, "2026-12-01")
            func studioDoor(at text: String) async throws -> DoorAccess? {
                try await repository.accessDecision(memberID: ana.id, at: instant(text)).doors.first { $0.door.lockID == 21 }
            }
            let entrance = try await repository.accessDecision(memberID: ana.id, at: instant("2026-12-01T12:00:00Z")).doors.first { $0.door.lockID == 11 }
            #expect(entrance?.allowed == true)
            let noon = try await studioDoor(at: "2026-12-01T12:00:00Z")
            #expect(noon?.reason == .notBooked)
            #expect(noon?.classWindow?.bookingID == booking.id)
            let during = try await studioDoor(at: "2026-12-01T16:30:00Z")
            #expect(during?.allowed == true)
            #expect(during?.explanation == "Spinning studio: booked class Tue 18:00–19:00, door open 17:45–19:15.")
            #expect(during?.window == AccessWindow(from: instant("2026-12-01T15:45:00Z"), until: instant("2026-12-01T17:15:00Z")))

            _ = try await repository.cancelBooking(booking.id, by: ClassFixture.actor, at: ClassFixture.now)
            let cancelled = try await studioDoor(at: "2026-12-01T16:30:00Z")
            #expect(cancelled?.reason == .notBooked)
            #expect(cancelled?.classWindow == nil)
        }
    }

    @Test("Windows that closed in a span name their members for the sync, with the next closing time", arguments: DatabaseKind.available)
    func closedWindows(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let fixture = try await ClassFixture.make(database.repository, allowance: .unlimited)
            let repository = fixture.repository
            let ana = try await fixture.member("Ana")
            let bob = try await fixture.member("Bob")
            _ = try await fixture.book(ana, "2026-12-01")
            _ = try await fixture.book(ana, "2026-12-08")
            let bobs = try await fixture.book(bob, "2026-12-01")
            // Tuesday 1 December's class closes its window at 19:15 Bucharest, 17:15Z.
            let span = try await repository.closedClassWindows(after: instant("2026-12-01T17:00:00Z"), through: instant("2026-12-01T17:15:00Z"))
            #expect(span.memberIDs == [ana.id, bob.id])
            #expect(span.nextClosing == nil)  // the next class is more than two days on
            let before = try await repository.closedClassWindows(after: instant("2026-12-01T08:00:00Z"), through: instant("2026-12-01T17:14:59Z"))
            #expect(before.memberIDs.isEmpty)
            #expect(before.nextClosing == instant("2026-12-01T17:15:00Z"))

            // A cancelled booking closes nothing later; what closed is logged as a change of the member.
            _ = try await repository.cancelBooking(bobs.id, by: ClassFixture.actor, at: ClassFixture.now)
            let again = try await repository.closedClassWindows(after: instant("2026-12-01T17:00:00Z"), through: instant("2026-12-01T17:20:00Z"))
            #expect(again.memberIDs == [ana.id])
            let mark = try await repository.latestAccessChangeID()
            #expect(try await repository.recordClassWindowsClosed(memberIDs: again.memberIDs) == 1)
            let logged = try await repository.accessChanges(after: mark)
            #expect(logged.map(\.action) == [.classWindowClosed])
            #expect(logged.map(\.memberID) == [ana.id])
        }
    }

    @Test("A plan's class rules are validated, replaced whole, and logged for the plan's group", arguments: DatabaseKind.available)
    func planClassRules(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let fixture = try await ClassFixture.make(database.repository)
            let repository = fixture.repository
            let other = try await repository.createStudio(StudioDraft(clubID: fixture.club.id, name: "Yoga", kisiLockIDs: [22]))
            let before = try await repository.accessChanges().count
            let rules = try await repository.setPlanClassRules(planID: fixture.pass.id, [
                PlanClassRule(planID: fixture.pass.id, studioID: fixture.studio.id, allowance: .perMonth(8), doorMode: .allDay),
                PlanClassRule(planID: UUID(), studioID: other.id, allowance: .unlimited, doorMode: .bookedClasses),
            ], by: ClassFixture.actor)
            #expect(rules.map(\.planID) == [fixture.pass.id, fixture.pass.id])
            #expect(try await repository.planClassRules(planID: fixture.pass.id) == rules)
            let changes = try await repository.accessChanges().dropFirst(before)
            #expect(changes.map(\.planID) == [fixture.pass.id])
            await expectFieldError("rules[0].door_mode") {
                _ = try await repository.setPlanClassRules(planID: fixture.pass.id, [
                    PlanClassRule(planID: fixture.pass.id, studioID: other.id, allowance: .unlimited, doorMode: .allDay),
                ], by: ClassFixture.actor)
            }
            #expect(try await repository.planClassRules(planID: fixture.pass.id) == rules)
        }
    }

    @Test("A class with open bookings keeps its time; a larger capacity promotes the waitlist", arguments: DatabaseKind.available)
    func editingAClass(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let fixture = try await ClassFixture.make(database.repository, capacity: 1)
            let repository = fixture.repository
            let ana = try await fixture.member("Ana")
            let bob = try await fixture.member("Bob")
            _ = try await fixture.book(ana, "2026-12-08")
            _ = try await fixture.book(bob, "2026-12-08", seconds: 1)
            await #expect(throws: StoreError.self) {
                _ = try await repository.updateClass(fixture.tuesday.id, by: ClassFixture.actor, at: ClassFixture.now) { $0.startTime = LocalTime("19:00")! }
            }
            await #expect(throws: StoreError.self) {
                _ = try await repository.updateClass(fixture.tuesday.id, by: ClassFixture.actor, at: ClassFixture.now) { $0.validUntil = date("2026-12-07") }
            }
            await #expect(throws: StoreError.self) { try await repository.deleteClass(fixture.tuesday.id) }
            let updated = try await repository.updateClass(fixture.tuesday.id, by: ClassFixture.actor, at: ClassFixture.now) {
                $0.capacity = 2
                $0.instructor = "Mihai"
                $0.validUntil = date("2026-12-31")
            }
            #expect(updated.capacity == 2)
            let roster = try await repository.occurrence(classID: fixture.tuesday.id, date: date("2026-12-08"))
            #expect(roster.places.map(\.memberName) == ["Ana Test", "Bob Test"])
            #expect(roster.places.last?.booking.status == .promoted)
            #expect(roster.summary.occurrence.instructor == "Mihai")
        }
    }

    @Test("The sync's class windows come with ordinals counting every earlier booking, the old ones by one GROUP BY", arguments: DatabaseKind.available)
    func windowInputOrdinals(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let fixture = try await ClassFixture.make(database.repository, allowance: .unlimited)
            let repository = fixture.repository
            let ana = try await fixture.member("Ana")
            let bob = try await fixture.member("Bob")
            // Booked weeks ahead, so that by "later" the first three are history (before the store's two-day horizon).
            var anaBookings: [ClassBooking] = []
            for day in ["2026-12-01", "2026-12-08", "2026-12-15", "2026-12-22", "2026-12-29", "2027-01-05"] {
                anaBookings.append(try await fixture.book(ana, day))
            }
            _ = try await repository.cancelBooking(anaBookings[1].id, by: ClassFixture.actor, at: ClassFixture.now)
            _ = try await fixture.book(bob, "2026-12-22")
            let later = instant("2026-12-20T12:00:00Z")
            let input = try await repository.classWindowInput(memberIDs: nil, at: later)
            #expect(input.windows[ana.id]?.map(\.occurrenceDate) == [date("2026-12-22"), date("2026-12-29")])
            // Before the 22nd: the 1st and the 15th (the 8th was cancelled).
            #expect(input.ordinals[anaBookings[3].id] == 2)
            #expect(input.ordinals[anaBookings[4].id] == 3)
            #expect(input.windows[bob.id]?.count == 1)
            let scoped = try await repository.classWindowInput(memberIDs: [bob.id], at: later)
            #expect(Set(scoped.windows.keys) == [bob.id])
            // Without a booked-classes rule there is nothing to read.
            _ = try await repository.setPlanClassRules(planID: fixture.pass.id, [], by: ClassFixture.actor)
            #expect(try await repository.classWindowInput(memberIDs: nil, at: later).windows.isEmpty)
        }
    }
}
