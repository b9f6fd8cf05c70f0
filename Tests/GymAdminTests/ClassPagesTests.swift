import Foundation
import GymCore
import GymStore
import Testing

/// A Bucharest club with a spinning studio (its own lock) whose door opens only for booked classes, a
/// class pass of two classes a week, a one-off class of `capacity` places two days from now at 18:00,
/// and members with the pass.
private struct ClassGym {
    let studio: Studio
    let pass: Plan
    let entranceOnly: Plan
    let spinning: StudioClass
    let date: LocalDate

    static let zone = TimeZone(identifier: "Europe/Bucharest")!

    static func make(_ repository: GymRepository, capacity: Int = 1) async throws -> ClassGym {
        let club = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiLockIDs: [11]))
        let studio = try await repository.createStudio(StudioDraft(clubID: club.id, name: "Spinning studio", kisiLockIDs: [21]))
        let pass = try await repository.createPlan(PlanDraft(name: "Spinning pass", clubIDs: [club.id], studioIDs: [studio.id]))
        _ = try await repository.setPlanClassRules(
            planID: pass.id, [PlanClassRule(planID: pass.id, studioID: studio.id, allowance: .perWeek(2), doorMode: .bookedClasses)], by: "api:test")
        let entranceOnly = try await repository.createPlan(PlanDraft(name: "Gym floor", clubIDs: [club.id]))
        let date = today.adding(days: 2)
        let spinning = try await repository.createClass(StudioClassDraft(
            studioID: studio.id, name: "Spinning", instructor: "Ioana", capacity: capacity, startTime: LocalTime("18:00")!, durationMinutes: 60,
            date: date))
        return ClassGym(studio: studio, pass: pass, entranceOnly: entranceOnly, spinning: spinning, date: date)
    }

    static var today: LocalDate { LocalDate(containing: Date(), in: zone) }

    func member(_ repository: GymRepository, _ first: String, plan: Plan? = nil) async throws -> Member {
        let member = try await repository.createMember(MemberDraft(firstName: first, lastName: "Rider", email: "\(first.lowercased())@example.com"))
        _ = try await repository.createSubscription(SubscriptionDraft(
            memberID: member.id, planID: (plan ?? pass).id, startDate: Self.today.adding(days: -10), paidThrough: Self.today.adding(days: 30)))
        return member
    }

    var classPath: String { "/admin/classes/\(spinning.id)/on/\(date)" }
    var calendarPath: String { "/admin/classes?studio=\(studio.id)&week=\(date)" }
}

extension AdminBrowser.Page {
    /// The body with the apostrophes templates escape written plainly, to compare with sentences.
    var text: String { body.replacingOccurrences(of: "&#39;", with: "'") }
}

@Suite("Admin UI: classes and bookings")
struct ClassPagesTests {
    @Test("The front desk books the last place from the class page; the next booking waits; the calendar shows the class full")
    func bookLastPlaceThenWaitlist() async throws {
        try await withAdminServer { browser in
            let gym = try await ClassGym.make(browser.repository, capacity: 1)
            let ana = try await gym.member(browser.repository, "Ana")
            let bob = try await gym.member(browser.repository, "Bob")
            try await browser.signIn(AdminBrowser.deskEmail)

            let before = try await browser.get(gym.calendarPath)
            #expect(before.status == .ok)
            #expect(before.body.contains("data-booked=\"0\" data-capacity=\"1\" data-state=\"open\""))
            #expect(before.body.contains("0/1"))
            #expect(before.body.contains("aria-current=\"page\">Classes<"))

            let search = try await browser.get(gym.classPath + "?q=ana")
            #expect(search.status == .ok)
            #expect(search.body.contains("data-member-id=\"\(ana.id)\""))
            #expect(!search.body.contains("data-member-id=\"\(bob.id)\""))
            #expect(!search.body.contains("id=\"cancel-class\""), "the front desk does not cancel classes")
            let csrf = try #require(search.csrf)

            let booked = try await browser.post(gym.classPath + "/book", ["csrf": csrf, "member_id": ana.id.uuidString])
            #expect(booked.status == .seeOther)
            #expect(booked.location == gym.classPath + "?done=booked")
            let waiting = try await browser.post(gym.classPath + "/book", ["csrf": csrf, "member_id": bob.id.uuidString])
            #expect(waiting.location == gym.classPath + "?done=waitlisted")
            let again = try await browser.post(gym.classPath + "/book", ["csrf": csrf, "member_id": ana.id.uuidString])
            #expect(again.status == .conflict)
            #expect(again.body.contains("Ana Rider: The member is booked on this class already"))

            let page = try await browser.get(gym.classPath + "?done=waitlisted")
            #expect(page.body.contains("the member is on the waitlist"))
            #expect(page.body.contains("1/1 booked · 1 waiting"))
            #expect(page.body.contains("id=\"class-state\">Full<"))
            let roster = try #require(page.body.range(of: "id=\"roster\"")).upperBound
            let waitlist = try #require(page.body.range(of: "id=\"waitlist\"")).lowerBound
            let rosterHTML = String(page.body[roster..<waitlist])
            #expect(rosterHTML.contains("Ana Rider") && rosterHTML.contains(">Booked<") && !rosterHTML.contains("Bob Rider"))
            #expect(page.body[waitlist...].contains("Bob Rider"))

            let after = try await browser.get(gym.calendarPath)
            #expect(after.body.contains("data-booked=\"1\" data-capacity=\"1\" data-state=\"full\""))
            #expect(after.body.contains("1/1 · Full · 1 waiting"))

            // Cancelling Ana's booking gives Bob the place.
            let anaBooking = try #require(try await browser.repository.bookings(memberID: ana.id).first)
            let cancelled = try await browser.post("/admin/bookings/\(anaBooking.booking.id)/cancel", ["csrf": csrf])
            #expect(cancelled.location == gym.classPath + "?done=booking_cancelled")
            let roster2 = try await browser.repository.occurrence(classID: gym.spinning.id, date: gym.date)
            #expect(roster2.places.map(\.booking.memberID) == [bob.id])
            #expect(roster2.places.map(\.booking.status) == [.promoted])
        }
    }

    @Test("Cancelling a class is a manager's: the confirmation counts the members affected and every booking is cancelled")
    func cancelOccurrence() async throws {
        try await withAdminServer { browser in
            let gym = try await ClassGym.make(browser.repository, capacity: 1)
            let ana = try await gym.member(browser.repository, "Ana")
            let bob = try await gym.member(browser.repository, "Bob")
            for member in [ana, bob] {
                _ = try await browser.repository.book(classID: gym.spinning.id, date: gym.date, memberID: member.id, by: "api:test")
            }
            try await browser.signIn(AdminBrowser.deskEmail)
            let csrf = try #require(try await browser.get(gym.classPath).csrf)
            #expect(try await browser.post(gym.classPath + "/cancel", ["csrf": csrf]).status == .forbidden)
            #expect(try await browser.get("/admin/classes/new?studio=\(gym.studio.id)").status == .forbidden)

            let owner = AdminBrowser(client: browser.client, repository: browser.repository)
            try await owner.signIn(AdminBrowser.ownerEmail)
            let page = try await owner.get(gym.classPath)
            #expect(page.body.contains("data-confirm=\"Cancel this class? 1 booked member and 1 on the waitlist are affected."))
            let done = try await owner.post(gym.classPath + "/cancel", ["csrf": try #require(page.csrf), "reason": "Instructor ill"])
            #expect(done.location == gym.classPath + "?done=class_cancelled")
            let roster = try await browser.repository.occurrence(classID: gym.spinning.id, date: gym.date)
            #expect(roster.summary.occurrence.isCancelled)
            #expect(roster.places.isEmpty && roster.waitlist.isEmpty)
            #expect(roster.cancelled.count == 2)
            let after = try await owner.get(gym.classPath)
            #expect(after.body.contains("id=\"cancellation\""))
            #expect(after.body.contains("Instructor ill"))
            #expect(!after.body.contains("id=\"book-member\""), "a cancelled class takes no bookings")
            let calendar = try await owner.get(gym.calendarPath)
            #expect(calendar.body.contains("data-state=\"cancelled\""))
        }
    }

    @Test("The member page lists upcoming bookings with Cancel and books through Book a class; a plan without classes says why")
    func memberPageBooking() async throws {
        try await withAdminServer { browser in
            let gym = try await ClassGym.make(browser.repository, capacity: 5)
            let ana = try await gym.member(browser.repository, "Ana")
            let dan = try await gym.member(browser.repository, "Dan", plan: gym.entranceOnly)
            try await browser.signIn(AdminBrowser.deskEmail)

            let member = try await browser.get("/admin/members/\(ana.id)")
            #expect(member.body.contains("id=\"book-class\""))
            #expect(member.body.contains("id=\"no-bookings\""))
            let choose = try await browser.get("/admin/members/\(ana.id)/classes")
            #expect(choose.status == .ok)
            #expect(choose.body.contains("data-class-id=\"\(gym.spinning.id)\" data-date=\"\(gym.date)\""))
            #expect(choose.body.contains("2 classes a week · studio door open only for booked classes"))
            let booked = try await browser.post(gym.classPath + "/book", [
                "csrf": try #require(choose.csrf), "member_id": ana.id.uuidString, "return": "member",
            ])
            #expect(booked.location == "/admin/members/\(ana.id)/classes?studio=\(gym.studio.id)&done=booked")

            let withBooking = try await browser.get("/admin/members/\(ana.id)")
            let upcoming = try #require(withBooking.body.range(of: "id=\"upcoming-bookings\"")).upperBound
            #expect(withBooking.body[upcoming...].contains("Spinning"))
            #expect(withBooking.body.contains("booked class"), "the booking's door window is explained")
            let booking = try #require(try await browser.repository.bookings(memberID: ana.id).first)
            let cancel = try await browser.post("/admin/bookings/\(booking.booking.id)/cancel", ["csrf": try #require(withBooking.csrf), "return": "member"])
            #expect(cancel.location == "/admin/members/\(ana.id)?done=booking_cancelled_member")
            #expect(try await browser.repository.booking(booking.booking.id).status == .cancelled)

            let floor = try await browser.get("/admin/members/\(dan.id)")
            #expect(!floor.body.contains("id=\"book-class\""))
            #expect(floor.text.contains("Dan's plan (Gym floor) includes no classes."))
            // Asked anyway (an old tab), the store refuses and the page says why in words.
            let refused = try await browser.post(gym.classPath + "/book", ["csrf": try #require(floor.csrf), "member_id": dan.id.uuidString])
            #expect(refused.status == .conflict)
            #expect(refused.text.contains("Dan Rider: None of the member's subscriptions active on the class's day includes this studio's classes."))
        }
    }

    @Test("Managers add a weekly class and end it; bad input is shown with what was typed")
    func scheduleManagement() async throws {
        try await withAdminServer { browser in
            let gym = try await ClassGym.make(browser.repository)
            try await browser.signIn(AdminBrowser.ownerEmail)
            let form = try await browser.get("/admin/classes/new?studio=\(gym.studio.id)")
            #expect(form.status == .ok)
            let csrf = try #require(form.csrf)
            let monday = ClassGym.today.startOfWeek.adding(days: 7)
            var values = [
                "csrf": csrf, "studio_id": gym.studio.id.uuidString, "kind": "weekly", "name": "Morning ride", "instructor": "Radu",
                "start_time": "7:5", "duration_minutes": "45", "capacity": "0", "weekday": "wednesday", "valid_from": monday.description,
            ]
            let bad = try await browser.post("/admin/classes", values)
            #expect(bad.status == .unprocessableContent)
            #expect(bad.body.contains("must be a time like 18:00"))
            #expect(bad.body.contains("value=\"Morning ride\""))
            values["start_time"] = "07:05"
            values["capacity"] = "10"
            let created = try await browser.post("/admin/classes", values)
            #expect(created.status == .seeOther)
            let ride = try #require(try await browser.repository.classes(studioID: gym.studio.id).items.first { $0.name == "Morning ride" })
            #expect(ride.recurrence == .weekly(weekday: .wednesday, validFrom: monday, validUntil: nil))
            #expect(created.location == "/admin/classes?studio=\(gym.studio.id)&week=\(monday.adding(days: 2))&done=class_created")
            let week = try await browser.get(created.location!)
            #expect(week.body.contains("Class added to the schedule."))
            #expect(week.body.contains("07:05–07:50"))
            #expect(week.body.contains("cal-c4 cal-r"), "Wednesday is the week's third day, the grid's fourth column")

            let edit = try await browser.get("/admin/classes/\(ride.id)/edit")
            #expect(edit.body.contains("value=\"07:05\""))
            values["valid_until"] = monday.adding(days: 20).description
            let ended = try await browser.post("/admin/classes/\(ride.id)", values)
            #expect(ended.status == .seeOther)
            #expect(try await browser.repository.studioClass(ride.id).recurrence == .weekly(weekday: .wednesday, validFrom: monday, validUntil: monday.adding(days: 20)))
        }
    }

    @Test("Classes at the same time in one studio stand side by side in the calendar; one after the other they take the whole column")
    func overlappingClasses() async throws {
        try await withAdminServer { browser in
            let gym = try await ClassGym.make(browser.repository)
            for (name, start) in [("Duo ride", "18:30"), ("Late ride", "19:00"), ("Night ride", "20:00")] {
                _ = try await browser.repository.createClass(StudioClassDraft(
                    studioID: gym.studio.id, name: name, capacity: 4, startTime: LocalTime(start)!, durationMinutes: 60, date: gym.date))
            }
            try await browser.signIn(AdminBrowser.deskEmail)
            let week = try await browser.get(gym.calendarPath)
            func lanes(_ name: String) throws -> String {
                let title = try #require(week.body.range(of: "<strong class=\"cal-name\">\(name)</strong>"))
                let open = try #require(week.body.range(of: "<a class=\"cal-class", options: .backwards, range: week.body.startIndex..<title.lowerBound))
                let tag = week.body[open.lowerBound..<title.lowerBound]
                return String(try #require(tag.range(of: "lanes-[0-9] lane-[0-9]", options: .regularExpression).map { tag[$0] }))
            }
            // Spinning 18:00–19:00 and Duo ride 18:30–19:30 overlap, and Late ride 19:00 overlaps Duo ride:
            // Late ride takes Spinning's lane, freed at 19:00. Night ride at 20:00 stands alone.
            #expect(try lanes("Spinning") == "lanes-2 lane-0")
            #expect(try lanes("Duo ride") == "lanes-2 lane-1")
            #expect(try lanes("Late ride") == "lanes-2 lane-0")
            #expect(try lanes("Night ride") == "lanes-1 lane-0")
        }
    }

    @Test("A plan's class rules are shown and saved from the plan page")
    func planClassRules() async throws {
        try await withAdminServer { browser in
            let gym = try await ClassGym.make(browser.repository)
            try await browser.signIn(AdminBrowser.ownerEmail)
            let page = try await browser.get("/admin/plans/\(gym.entranceOnly.id)/edit")
            #expect(page.body.contains("id=\"class-rules-form\""))
            let key = gym.studio.id.uuidString
            let missingCount = try await browser.post("/admin/plans/\(gym.entranceOnly.id)/class-rules", [
                "csrf": try #require(page.csrf), "allowance_\(key)": "per_month", "count_\(key)": "", "door_\(key)": "booked_classes",
            ])
            #expect(missingCount.status == .unprocessableContent)
            #expect(missingCount.body.contains("Spinning studio: a number of classes, 1 or more"))
            let saved = try await browser.post("/admin/plans/\(gym.entranceOnly.id)/class-rules", [
                "csrf": try #require(page.csrf), "allowance_\(key)": "per_month", "count_\(key)": "8", "door_\(key)": "booked_classes",
            ])
            #expect(saved.status == .seeOther)
            #expect(try await browser.repository.planClassRules(planID: gym.entranceOnly.id) == [
                PlanClassRule(planID: gym.entranceOnly.id, studioID: gym.studio.id, allowance: .perMonth(8), doorMode: .bookedClasses),
            ])
            let shown = try await browser.get("/admin/plans/\(gym.entranceOnly.id)/edit")
            #expect(shown.body.contains("8 classes a month · studio door open only for booked classes"))
            // The studio is not among the plan's doors, so "all day" has no door to keep open: the store says so.
            let allDay = try await browser.post("/admin/plans/\(gym.entranceOnly.id)/class-rules", [
                "csrf": try #require(page.csrf), "allowance_\(key)": "unlimited", "door_\(key)": "all_day",
            ])
            #expect(allDay.status == .unprocessableContent)
            #expect(allDay.text.contains("Spinning studio door mode: all_day needs the studio among the plan's studio_ids"))
        }
    }
}
