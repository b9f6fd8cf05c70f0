import Foundation
import GymCore
import GymStore
import Hummingbird

/// Studio classes: the week calendar per studio, one class's page (roster, waitlist, booking, cancelling),
/// the schedule (weekly slots and one-off classes), booking from the member page and the plans' class
/// rules. The front desk books and cancels bookings; managers change schedules, cancel classes and set
/// plans' class rules.
extension AdminRoutes {
    func addClassRoutes(to admin: RouterGroup<AdminContext>) {
        admin.get("classes") { request, context in
            let session = try require(request, context)
            return try page("classes", request, context, session: session, active: "classes", try await calendarData(request, session: session))
        }
        admin.get("classes/new") { request, context in
            let session = try require(request, context, role: .manager)
            let layout = try await repository.layout()
            let studioID = request.uri.queryParameters.get("studio").flatMap(UUID.init(uuidString:))
            guard let studioID, let studio = layout.studios[studioID] else { throw AdminError.badRequest("Choose the studio from the calendar.") }
            let today = LocalDate(containing: now(), in: Self.zone(of: studio, layout))
            let once = request.uri.queryParameters.get("kind") == "once"
            let values: [String: String] = [
                "kind": once ? "once" : "weekly", "capacity": "12", "duration_minutes": "60", "start_time": "18:00",
                "valid_from": today.description, "date": today.description, "weekday": today.weekday.name,
            ]
            return try page("class_form", request, context, session: session, active: "classes", classFormData(studio: studio, layout: layout, values: values, classID: nil))
        }
        admin.post("classes") { request, context in
            let (session, form) = try await postedForm(request, context, role: .manager)
            let layout = try await repository.layout()
            guard let studioID = form.text("studio_id").flatMap(UUID.init(uuidString:)), let studio = layout.studios[studioID] else {
                throw AdminError.badRequest("Choose the studio from the calendar.")
            }
            do {
                let created = try await repository.createClass(try Self.classDraft(form, studioID: studioID))
                return Self.redirect("/admin/classes?studio=\(studioID)&week=\(Self.firstDate(of: created))&done=class_created")
            } catch let errors as FieldErrors {
                var data = classFormData(studio: studio, layout: layout, values: form.values, classID: nil)
                Self.addProblems(Self.problemList(errors), fields: Self.errorData(errors), to: &data)
                return try page("class_form", request, context, session: session, active: "classes", data, status: .unprocessableContent)
            }
        }
        admin.get("classes/:classID/edit") { request, context in
            let session = try require(request, context, role: .manager)
            let studioClass = try await repository.studioClass(try Self.id(context, "classID"))
            let layout = try await repository.layout()
            guard let studio = layout.studios[studioClass.studioID] else { throw AdminError.notFound }
            return try page("class_form", request, context, session: session, active: "classes",
                            classFormData(studio: studio, layout: layout, values: Self.formValues(studioClass), classID: studioClass.id))
        }
        admin.post("classes/:classID") { request, context in
            let (session, form) = try await postedForm(request, context, role: .manager)
            let classID = try Self.id(context, "classID")
            let current = try await repository.studioClass(classID)
            let layout = try await repository.layout()
            guard let studio = layout.studios[current.studioID] else { throw AdminError.notFound }
            do {
                let draft = try Self.classDraft(form, studioID: current.studioID)
                let updated = try await repository.updateClass(classID, by: Self.actor(session), at: now()) { $0 = draft }
                return Self.redirect("/admin/classes?studio=\(updated.studioID)&week=\(Self.firstDate(of: updated))&done=class_saved")
            } catch let errors as FieldErrors {
                var data = classFormData(studio: studio, layout: layout, values: form.values, classID: classID)
                Self.addProblems(Self.problemList(errors), fields: Self.errorData(errors), to: &data)
                return try page("class_form", request, context, session: session, active: "classes", data, status: .unprocessableContent)
            } catch StoreError.conflict(let message) {
                var data = classFormData(studio: studio, layout: layout, values: form.values, classID: classID)
                Self.addProblems([message], to: &data)
                return try page("class_form", request, context, session: session, active: "classes", data, status: .conflict)
            }
        }
        admin.get("classes/:classID/on/:date") { request, context in
            let session = try require(request, context)
            let (classID, date) = try Self.occurrenceKey(context)
            let search = request.uri.queryParameters.get("q")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            var data = try await occurrenceData(classID: classID, date: date, session: session, search: search)
            if let done = request.uri.queryParameters.get("done"), let notice = Self.classNotices[done] { data["notice"] = notice }
            return try page("class_occurrence", request, context, session: session, active: "classes", data)
        }
        admin.post("classes/:classID/on/:date/book") { request, context in
            let (session, form) = try await postedForm(request, context)
            let (classID, date) = try Self.occurrenceKey(context)
            guard let memberID = form.text("member_id").flatMap(UUID.init(uuidString:)) else { throw AdminError.badRequest("Choose the member from the list.") }
            let returnToMember = form["return"] == "member"
            do {
                let booking = try await repository.book(classID: classID, date: date, memberID: memberID, by: Self.actor(session), at: now())
                let done = booking.status == .waitlisted ? "waitlisted" : "booked"
                return Self.redirect(returnToMember
                    ? "/admin/members/\(memberID)/classes?studio=\(try await repository.studioClass(classID).studioID)&done=\(done)"
                    : "/admin/classes/\(classID)/on/\(date)?done=\(done)")
            } catch let refused as BookingRefused {
                return try await bookingProblem(request, context, session: session, classID: classID, date: date, memberID: memberID,
                                                toMember: returnToMember, message: Self.refusalWords(refused.refusal), status: .conflict)
            } catch StoreError.conflict(let message) {
                return try await bookingProblem(request, context, session: session, classID: classID, date: date, memberID: memberID,
                                                toMember: returnToMember, message: message, status: .conflict)
            } catch let errors as FieldErrors {
                return try await bookingProblem(request, context, session: session, classID: classID, date: date, memberID: memberID,
                                                toMember: returnToMember, message: Self.problemList(errors).joined(separator: "; "), status: .unprocessableContent)
            }
        }
        admin.post("classes/:classID/on/:date/cancel") { request, context in
            let (session, form) = try await postedForm(request, context, role: .manager)
            let (classID, date) = try Self.occurrenceKey(context)
            do {
                _ = try await repository.cancelOccurrence(classID: classID, date: date, reason: form.text("reason"), by: Self.actor(session), at: now())
            } catch let errors as FieldErrors {
                var data = try await occurrenceData(classID: classID, date: date, session: session, search: "")
                data["cancelProblem"] = Self.problemList(errors).joined(separator: "; ")
                data["cancelReason"] = form["reason"] ?? ""
                return try page("class_occurrence", request, context, session: session, active: "classes", data, status: .unprocessableContent)
            }
            return Self.redirect("/admin/classes/\(classID)/on/\(date)?done=class_cancelled")
        }
        admin.post("bookings/:id/cancel") { request, context in
            let (session, form) = try await postedForm(request, context)
            let booking = try await repository.booking(try Self.id(context))
            let back = form["return"] == "member"
                ? "/admin/members/\(booking.memberID)" : "/admin/classes/\(booking.classID)/on/\(booking.occurrenceDate)"
            do {
                _ = try await repository.cancelBooking(booking.id, by: Self.actor(session), at: now())
            } catch StoreError.conflict(let message) {
                if back.hasPrefix("/admin/members") { throw StoreError.conflict(message) }
                var data = try await occurrenceData(classID: booking.classID, date: booking.occurrenceDate, session: session, search: "")
                data["problem"] = message
                return try page("class_occurrence", request, context, session: session, active: "classes", data, status: .conflict)
            }
            return Self.redirect(back + (back.contains("?") ? "&" : "?") + "done=" + (back.hasPrefix("/admin/members") ? "booking_cancelled_member" : "booking_cancelled"))
        }
        admin.get("members/:id/classes") { request, context in
            let session = try require(request, context)
            let memberID = try Self.id(context)
            let studioID = request.uri.queryParameters.get("studio").flatMap(UUID.init(uuidString:))
            var data = try await bookForMemberData(memberID: memberID, studioID: studioID)
            if let done = request.uri.queryParameters.get("done"), let notice = Self.classNotices[done] { data["notice"] = notice }
            return try page("member_book_class", request, context, session: session, active: "members", data)
        }
        admin.post("plans/:id/class-rules") { request, context in
            let (session, form) = try await postedForm(request, context, role: .manager)
            let plan = try await repository.plan(try Self.id(context))
            let layout = try await repository.layout()
            var rules: [PlanClassRule] = []
            var errors = FieldErrors()
            for studio in Self.studiosInOrder(layout) {
                let key = studio.id.uuidString
                let allowanceText = form.text("allowance_\(key)") ?? "none"
                let count = Int(form.text("count_\(key)") ?? "")
                let allowance: ClassAllowance
                switch allowanceText {
                case "none": continue
                case "unlimited": allowance = .unlimited
                case "per_week", "per_month":
                    guard let count, count >= 1 else {
                        errors.add("count_\(key)", "\(studio.name): a number of classes, 1 or more")
                        continue
                    }
                    allowance = allowanceText == "per_week" ? .perWeek(count) : .perMonth(count)
                default:
                    errors.add("allowance_\(key)", "\(studio.name): choose from the list")
                    continue
                }
                guard let mode = StudioDoorMode(rawValue: form.text("door_\(key)") ?? "") else {
                    errors.add("door_\(key)", "\(studio.name): choose how the studio door opens")
                    continue
                }
                rules.append(PlanClassRule(planID: plan.id, studioID: studio.id, allowance: allowance, doorMode: mode))
            }
            do {
                try errors.throwIfAny()
                _ = try await repository.setPlanClassRules(planID: plan.id, rules, by: Self.actor(session), at: now())
                return Self.redirect("/admin/plans/\(plan.id)/edit?done=saved#class-rules")
            } catch let failed as FieldErrors {
                // Errors name the posted studios; the rules shown are the ones typed, not the stored ones.
                let problems = Self.problemList(failed).map { line -> String in
                    var text = line
                    for (index, rule) in rules.enumerated() {
                        text = text.replacingOccurrences(of: "rules[\(index)].", with: (layout.studios[rule.studioID]?.name ?? "studio") + " ")
                    }
                    return text
                }
                return try page("plan_form", request, context, session: session, active: "plans", [
                    "plan": ["id": plan.id.uuidString, "name": plan.name, "past_due_grace_days": String(plan.pastDueGraceDays), "archived": plan.isArchived],
                    "pending": try await pendingKisiChanges(planID: plan.id),
                    "classRules": Self.classRulesData(plan: plan, layout: layout, rules: rules, problems: problems),
                ], status: .unprocessableContent)
            }
        }
    }

    /// Confirmations after a class action's redirect, by code, as ``notices`` for the other pages.
    static let classNotices: [String: String] = [
        "booked": "Booked. The studio door follows within seconds when the plan opens it only for booked classes.",
        "waitlisted": "The class is full: the member is on the waitlist and gets the first place that frees.",
        "booking_cancelled": "Booking cancelled. A waitlisted member got the place if one qualified.",
        "booking_cancelled_member": "Booking cancelled.",
        "class_cancelled": "Class cancelled. Every booking of it was cancelled; studio doors close for those members within seconds.",
        "class_created": "Class added to the schedule.",
        "class_saved": "Class saved.",
    ]

    // MARK: Calendar

    /// A studio's Monday-to-Sunday week in its club's zone: each day a column, each class a block placed
    /// at its local time on a quarter-hour grid, with its fill level.
    func calendarData(_ request: Request, session: StaffSession) async throws -> [String: Any] {
        let layout = try await repository.layout()
        let studios = Self.studiosInOrder(layout)
        let query = request.uri.queryParameters
        var studio: Studio?
        if let text = query.get("studio"), !text.isEmpty {
            guard let id = UUID(uuidString: text), let found = layout.studios[id] else { throw AdminError.badRequest("Choose the studio from the list.") }
            studio = found
        } else {
            // The first studio that has classes; a gym that schedules none yet starts at its first studio.
            let scheduled = Set(try await repository.classes().items.map(\.studioID))
            studio = studios.first { scheduled.contains($0.id) } ?? studios.first
        }
        var data: [String: Any] = [
            "studios": studios.map { candidate -> [String: Any] in
                ["id": candidate.id.uuidString, "name": candidate.name, "club": layout.clubs[candidate.clubID]?.name ?? "",
                 "selected": candidate.id == studio?.id]
            },
            "canManage": session.staff.role >= .manager,
        ]
        if let done = query.get("done"), let notice = Self.classNotices[done] { data["notice"] = notice }
        guard let studio else { return data }
        let zone = Self.zone(of: studio, layout)
        let instant = now()
        let today = LocalDate(containing: instant, in: zone)
        var week = today.startOfWeek
        if let text = query.get("week"), !text.isEmpty {
            guard let date = LocalDate(text) else { throw AdminError.badRequest("The week must be a date like 2026-12-07.") }
            do { try date.checkSupported(field: "week") } catch { throw AdminError.badRequest("That week is outside the dates BooGYMan keeps.") }
            week = date.startOfWeek
        }
        let summaries = try await repository.classWeek(studioID: studio.id, containing: week)
        let time = ClubTime(zone)
        // The grid spans whole hours from the earliest start to the latest end, at least 07:00 to 21:00.
        let starts = summaries.map(\.occurrence.startTime.minutesSinceMidnight)
        let ends = summaries.map { min(24 * 60, $0.occurrence.startTime.minutesSinceMidnight + Self.minutes($0.occurrence)) }
        let firstHour = min(7, (starts.min() ?? 7 * 60) / 60)
        let lastHour = max(21, ((ends.max() ?? 21 * 60) + 59) / 60)
        let rows = (lastHour - firstHour) * 4
        let byDay = Dictionary(grouping: summaries, by: \.occurrence.date)
        let days: [[String: Any]] = (0..<7).map { offset in
            let date = week.adding(days: offset)
            let daySummaries = byDay[date] ?? []
            let lanes = Self.lanes(daySummaries.map { ($0.occurrence.startTime.minutesSinceMidnight, Self.minutes($0.occurrence)) })
            let blocks: [[String: Any]] = daySummaries.enumerated().map { index, summary in
                var block = Self.occurrenceBlock(summary, time: time, now: instant)
                let start = summary.occurrence.startTime.minutesSinceMidnight - firstHour * 60
                let row = max(0, start / 15) + 1
                block["row"] = row
                block["span"] = max(2, min(rows - row + 1, (Self.minutes(summary.occurrence) + 14) / 15))
                block["column"] = offset + 2
                block["lane"] = lanes[index].lane
                block["lanes"] = lanes[index].of
                return block
            }
            return [
                "date": date.description, "label": ClubTime.day(date, now: today), "short": date.weekday.shortName,
                "dayOfMonth": date.day, "isToday": date == today, "isPast": date < today, "column": offset + 2,
                "classes": blocks, "hasClasses": !blocks.isEmpty,
            ]
        }
        data["studio"] = ["id": studio.id.uuidString, "name": studio.name, "club": layout.clubs[studio.clubID]?.name ?? "", "zone": zone.identifier]
        data["days"] = days
        data["rows"] = rows
        data["hours"] = (firstHour..<lastHour).map { hour -> [String: Any] in
            ["label": (hour < 10 ? "0" : "") + "\(hour):00", "row": (hour - firstHour) * 4 + 1]
        }
        data["weekLabel"] = "\(ClubTime.day(week, now: today)) – \(ClubTime.day(week.adding(days: 6), now: today))"
        data["previousWeek"] = week.adding(days: -7).description
        data["nextWeek"] = week.adding(days: 7).description
        data["isThisWeek"] = week == today.startOfWeek
        data["hasClasses"] = !summaries.isEmpty
        let schedule = try await scheduleRows(studioID: studio.id, today: today)
        data["schedule"] = schedule
        data["hasSchedule"] = !schedule.isEmpty
        return data
    }

    /// Side-by-side places for classes of one day that overlap (a studio may hold two small groups at
    /// once): each class's lane and how many lanes its group of overlapping classes needs, at most
    /// three (a fourth at once shares the third lane). `classes` are (start minute, minutes) by start.
    static func lanes(_ classes: [(start: Int, minutes: Int)]) -> [(lane: Int, of: Int)] {
        var result = [(lane: Int, of: Int)](repeating: (0, 1), count: classes.count)
        var group: [Int] = []
        var laneEnds: [Int] = []
        var groupEnd = Int.min
        func close() {
            for index in group { result[index].of = min(3, laneEnds.count) }
            group = []
            laneEnds = []
        }
        for (index, item) in classes.enumerated() {
            // Blocks are at least half an hour tall, so a shorter class still takes that much room.
            let end = item.start + max(item.minutes, 30)
            if item.start >= groupEnd { close() }
            let lane = laneEnds.firstIndex { $0 <= item.start } ?? laneEnds.count
            if lane == laneEnds.count { laneEnds.append(end) } else { laneEnds[lane] = end }
            result[index].lane = min(2, lane)
            group.append(index)
            groupEnd = max(groupEnd, end)
        }
        close()
        return result
    }

    /// One class in the calendar or a list: its time, fill level ("12/15" and a bar in tenths) and state.
    static func occurrenceBlock(_ summary: OccurrenceSummary, time: ClubTime, now: Date) -> [String: Any] {
        let occurrence = summary.occurrence
        let tenths = occurrence.capacity > 0 ? min(10, (summary.booked * 10 + occurrence.capacity / 2) / occurrence.capacity) : 10
        var block: [String: Any] = [
            "name": occurrence.name, "time": "\(time.clock(occurrence.startsAt))–\(time.clock(occurrence.endsAt))",
            "start": time.clock(occurrence.startsAt),
            "booked": summary.booked, "capacity": occurrence.capacity, "waitlisted": summary.waitlisted, "hasWaitlist": summary.waitlisted > 0,
            "tenths": tenths, "full": summary.isFull && !occurrence.isCancelled, "cancelled": occurrence.isCancelled,
            "placesLeft": summary.placesLeft, "past": occurrence.endsAt <= now,
            "href": "/admin/classes/\(occurrence.classID)/on/\(occurrence.date)",
            "state": occurrence.isCancelled ? "cancelled" : summary.isFull ? "full" : occurrence.endsAt <= now ? "past" : "open",
        ]
        if let instructor = occurrence.instructor { block["instructor"] = instructor }
        return block
    }

    /// The studio's classes as scheduled, current and coming ones first: weekly slots of one name, time,
    /// instructor, places and dates share a row ("Mon, Tue, Wed"), each day with its own edit link.
    func scheduleRows(studioID: UUID, today: LocalDate) async throws -> [[String: Any]] {
        struct Key: Hashable {
            let name: String, instructor: String?, capacity: Int, start: LocalTime, minutes: Int, from: LocalDate?, until: LocalDate?, once: LocalDate?
        }
        let classes = try await repository.classes(studioID: studioID).items
        var groups: [Key: [StudioClass]] = [:]
        for studioClass in classes {
            var key = Key(name: studioClass.name, instructor: studioClass.instructor, capacity: studioClass.capacity, start: studioClass.startTime,
                          minutes: studioClass.durationMinutes, from: nil, until: nil, once: nil)
            switch studioClass.recurrence {
            case .weekly(_, let from, let until): key = Key(name: key.name, instructor: key.instructor, capacity: key.capacity, start: key.start, minutes: key.minutes, from: from, until: until, once: nil)
            case .once(let date): key = Key(name: key.name, instructor: key.instructor, capacity: key.capacity, start: key.start, minutes: key.minutes, from: nil, until: nil, once: date)
            }
            groups[key, default: []].append(studioClass)
        }
        let rows = groups.map { key, members -> (Bool, LocalTime, String, [String: Any]) in
            let slots = members.compactMap { studioClass -> (Weekday?, StudioClass) in
                if case .weekly(let weekday, _, _) = studioClass.recurrence { return (weekday, studioClass) }
                return (nil, studioClass)
            }.sorted { ($0.0?.rawValue ?? 0) < ($1.0?.rawValue ?? 0) }
            var row: [String: Any] = [
                "name": key.name, "instructor": key.instructor ?? "—", "capacity": key.capacity,
                "time": "\(key.start), \(key.minutes) min",
                "slots": slots.map { ["id": $0.1.id.uuidString, "day": $0.0?.shortName ?? "Edit"] },
            ]
            let over: Bool
            if let date = key.once {
                row["when"] = "Once"
                row["span"] = ClubTime.day(date, now: today)
                over = date < today
            } else {
                row["when"] = "Every " + slots.compactMap { $0.0?.shortName }.joined(separator: ", ")
                row["span"] = "from \(ClubTime.day(key.from ?? today, now: today))" + (key.until.map { " until \(ClubTime.day($0, now: today))" } ?? "")
                over = key.until.map { $0 < today } ?? false
            }
            row["over"] = over
            return (over, key.start, key.name, row)
        }
        return rows.sorted { ($0.0 ? 1 : 0, $0.1.minutesSinceMidnight, $0.2) < ($1.0 ? 1 : 0, $1.1.minutesSinceMidnight, $1.2) }.map(\.3)
    }

    // MARK: One class

    /// One occurrence: when, who teaches, its places, the roster with each booking's state at the door,
    /// the waitlist in order, the cancelled bookings, and the member search for booking.
    func occurrenceData(classID: UUID, date: LocalDate, session: StaffSession, search: String) async throws -> [String: Any] {
        let instant = now()
        let roster = try await repository.occurrenceWithAttendance(classID: classID, date: date, at: instant)
        let layout = try await repository.layout()
        let occurrence = roster.summary.occurrence
        guard let studio = layout.studios[occurrence.studioID] else { throw AdminError.notFound }
        let zone = Self.zone(of: studio, layout)
        let time = ClubTime(zone)
        let today = LocalDate(containing: instant, in: zone)
        let started = instant >= occurrence.startsAt
        let open = !occurrence.isCancelled && !started
        let canCancelBookings = open
        let members = try await repository.members(ids: (roster.places + roster.waitlist + roster.cancelled).map(\.booking.memberID))
        func entry(_ item: RosterEntry, position: Int? = nil) -> [String: Any] {
            var row: [String: Any] = [
                "bookingID": item.booking.id.uuidString, "memberID": item.booking.memberID.uuidString, "member": item.memberName,
                "state": item.booking.status.rawValue, "stateLabel": Self.bookingStateLabel(item.booking.status),
                "bookedAt": time.value(item.booking.bookedAt, now: instant),
                "by": item.booking.bookedBy.hasPrefix("staff:") ? String(item.booking.bookedBy.dropFirst("staff:".count)) : item.booking.bookedBy,
                "canCancel": canCancelBookings && item.booking.status.isOpen,
            ]
            if let member = members[item.booking.memberID] {
                row["avatar"] = ["initials": Self.initials(member), "hue": Self.avatarHue(member.id)]
            }
            if let position { row["position"] = position }
            return row
        }
        let places = roster.places.map { entry($0) }
        let checkedIn = roster.places.filter { $0.booking.status == .checkedIn }.count
        let noShows = roster.places.filter { $0.booking.status == .noShow }.count
        let affected = roster.places.filter { $0.booking.status.isOpen }.count
        let waiting = roster.waitlist.count
        var data: [String: Any] = [
            "class": [
                "id": classID.uuidString, "date": date.description, "name": occurrence.name, "instructor": occurrence.instructor ?? "",
                "hasInstructor": occurrence.instructor != nil,
                "day": ClubTime.day(date, now: today), "time": "\(time.clock(occurrence.startsAt))–\(time.clock(occurrence.endsAt))",
                "door": "\(time.clock(occurrence.startsAt.addingTimeInterval(-ClassDoorWindow.margin)))–\(time.clock(occurrence.endsAt.addingTimeInterval(ClassDoorWindow.margin)))",
                "studio": studio.name, "studioID": studio.id.uuidString, "club": layout.clubs[studio.clubID]?.name ?? "",
                "capacity": occurrence.capacity, "booked": roster.summary.booked, "placesLeft": roster.summary.placesLeft,
                "full": roster.summary.isFull, "waitlisted": waiting, "week": date.startOfWeek.description,
                "startsAt": time.value(occurrence.startsAt, now: instant),
                "tenths": occurrence.capacity > 0 ? min(10, (roster.summary.booked * 10 + occurrence.capacity / 2) / occurrence.capacity) : 10,
            ] as [String: Any],
            "cancelled": occurrence.isCancelled,
            "started": started && !occurrence.isCancelled, "ended": instant >= occurrence.endsAt,
            "open": open,
            "places": places, "hasPlaces": !places.isEmpty,
            "waitlist": roster.waitlist.enumerated().map { entry($0.element, position: $0.offset + 1) }, "hasWaitlist": waiting > 0,
            "cancelledBookings": roster.cancelled.map { entry($0) }, "hasCancelledBookings": !roster.cancelled.isEmpty, "cancelledCount": roster.cancelled.count,
            "checkedIn": checkedIn, "noShows": noShows, "showAttendance": instant >= occurrence.startsAt.addingTimeInterval(-ClassDoorWindow.margin),
            "canCancelClass": open && session.staff.role >= .manager,
            "canEditSchedule": session.staff.role >= .manager,
            "hasStudioDoor": !studio.kisiLockIDs.isEmpty,
            "cancelConfirm": Self.cancelConfirmation(booked: affected, waiting: waiting),
            "affectedText": Self.affectedText(booked: affected, waiting: waiting),
            "q": search,
        ]
        if let cancellation = occurrence.cancellation {
            var cancelled: [String: Any] = [
                "at": time.value(cancellation.cancelledAt, now: instant),
                "by": cancellation.cancelledBy.hasPrefix("staff:") ? String(cancellation.cancelledBy.dropFirst("staff:".count)) : cancellation.cancelledBy,
            ]
            if let reason = cancellation.reason { cancelled["reason"] = reason }
            data["cancellation"] = cancelled
        }
        if open, !search.isEmpty {
            let found = try await repository.members(search: search, PageRequest(limit: 10)).items
            let onRoster = Set((roster.places + roster.waitlist).map(\.booking.memberID))
            data["results"] = found.map { member -> [String: Any] in
                [
                    "id": member.id.uuidString, "name": member.fullName, "email": member.email.value,
                    "avatar": ["initials": Self.initials(member), "hue": Self.avatarHue(member.id)],
                    "onRoster": onRoster.contains(member.id),
                ]
            }
            data["searched"] = true
            data["noResults"] = found.isEmpty
            data["bookLabel"] = roster.summary.isFull ? "Add to waitlist" : "Book"
        }
        return data
    }

    /// A refused booking, shown where it was asked for: the class page or the member's booking page.
    func bookingProblem(
        _ request: Request, _ context: AdminContext, session: StaffSession, classID: UUID, date: LocalDate, memberID: UUID, toMember: Bool,
        message: String, status: HTTPResponse.Status
    ) async throws -> Response {
        if toMember {
            let studioID = try await repository.studioClass(classID).studioID
            var data = try await bookForMemberData(memberID: memberID, studioID: studioID)
            data["problem"] = message
            return try page("member_book_class", request, context, session: session, active: "members", data, status: status)
        }
        var data = try await occurrenceData(classID: classID, date: date, session: session, search: "")
        let name = try? await repository.member(memberID).fullName
        data["problem"] = (name.map { "\($0): " } ?? "") + message
        return try page("class_occurrence", request, context, session: session, active: "classes", data, status: status)
    }

    static func cancelConfirmation(booked: Int, waiting: Int) -> String {
        "Cancel this class? " + affectedText(booked: booked, waiting: waiting)
            + (booked + waiting > 0 ? " Their bookings are cancelled and the studio door closes for them." : "")
    }

    static func affectedText(booked: Int, waiting: Int) -> String {
        switch (booked, waiting) {
        case (0, 0): "Nobody has booked it."
        case (_, 0): "\(booked) booked member\(booked == 1 ? " is" : "s are") affected."
        case (0, _): "\(waiting) member\(waiting == 1 ? "" : "s") on the waitlist \(waiting == 1 ? "is" : "are") affected."
        default: "\(booked) booked member\(booked == 1 ? "" : "s") and \(waiting) on the waitlist are affected."
        }
    }

    static func bookingStateLabel(_ status: BookingStatus) -> String {
        switch status {
        case .booked: "Booked"
        case .promoted: "Booked from the waitlist"
        case .waitlisted: "Waitlisted"
        case .cancelled: "Cancelled"
        case .checkedIn: "Checked in"
        case .noShow: "No-show"
        }
    }

    /// Why a booking was refused, as the front desk tells the member.
    static func refusalWords(_ refusal: BookingRefusal) -> String {
        switch refusal {
        case .notIncluded:
            return "None of the member's subscriptions active on the class's day includes this studio's classes."
        case .allowanceUsed(let limit, let period):
            let span = period.last.daysSinceEpoch - period.first.daysSinceEpoch < 7
                ? "the week of \(ClubTime.day(period.first))" : ClubTime.utc.format(period.first.startOfDay(in: ClubTime.utc.zone), "MMMM yyyy")
            return "The plan includes \(limit) class\(limit == 1 ? "" : "es") for \(span), and \(limit == 1 ? "it is" : "they are all") booked already."
        case .blocked:
            return "The member is blocked by staff; blocked members cannot book."
        case .cancelledOccurrence:
            return "The gym cancelled this class."
        case .started:
            return "This class has already started."
        case .alreadyBooked:
            return "The member is booked on this class already (or waiting for a place)."
        }
    }

    // MARK: Member page

    /// The member page's classes: upcoming bookings (each cancellable while its class has not started),
    /// recent ones with their state at the door, and whether the member may book at all.
    func memberClassesData(member: Member, subscriptions: [Subscription], layout: GymLayout) async throws -> [String: Any] {
        let instant = now()
        let since = LocalDate(containing: instant, in: TimeZone(identifier: "UTC")!).adding(days: -14)
        let bookings = try await repository.bookings(memberID: member.id, from: since, at: instant)
        let states = try await repository.classAttendance(of: bookings.map { BookedOccurrence(booking: $0.booking, occurrence: $0.occurrence) }, at: instant)
        var upcoming: [[String: Any]] = []
        var recent: [[String: Any]] = []
        for item in bookings {
            let status = states[item.booking.id] ?? item.booking.status
            let zone = layout.studios[item.occurrence.studioID].map { Self.zone(of: $0, layout) } ?? ClubTime.gym(layout).zone
            let time = ClubTime(zone)
            var row: [String: Any] = [
                "bookingID": item.booking.id.uuidString, "name": item.occurrence.name, "studio": item.studioName,
                "href": "/admin/classes/\(item.occurrence.classID)/on/\(item.occurrence.date)",
                "day": ClubTime.day(item.occurrence.date, now: LocalDate(containing: instant, in: zone)),
                "time": "\(time.clock(item.occurrence.startsAt))–\(time.clock(item.occurrence.endsAt))",
                "state": item.occurrence.isCancelled ? "cancelled" : status.rawValue,
                "stateLabel": item.occurrence.isCancelled ? "Class cancelled" : Self.bookingStateLabel(status),
                "canCancel": status.isOpen && !item.occurrence.isCancelled && instant < item.occurrence.startsAt,
            ]
            if let explanation = item.doorExplanation { row["door"] = explanation }
            if item.occurrence.endsAt > instant && (status.isOpen || status == .checkedIn) {
                upcoming.append(row)
            } else if status != .cancelled && status != .waitlisted {
                recent.append(row)
            }
        }
        let eligibility = Self.classEligibility(member: member, subscriptions: subscriptions, layout: layout, rules: try await repository.allPlanClassRules(), at: instant)
        var data: [String: Any] = [
            "upcoming": upcoming, "hasUpcoming": !upcoming.isEmpty, "recent": Array(recent.suffix(5).reversed()), "hasRecent": !recent.isEmpty,
            "bookHref": "/admin/members/\(member.id)/classes",
        ]
        if let refusal = eligibility.refusal { data["cannotBook"] = refusal } else { data["canBook"] = true }
        return data
    }

    /// The studios whose classes the member's subscriptions active today include, or why none.
    static func classEligibility(
        member: Member, subscriptions: [Subscription], layout: GymLayout, rules: [PlanClassRule], at instant: Date
    ) -> (studios: [UUID: [PlanClassRule]], refusal: String?) {
        if member.block != nil { return ([:], "\(member.firstName) is blocked by staff; blocked members cannot book classes.") }
        let active = Set(subscriptions.filter { subscription in
            guard let plan = layout.plans[subscription.planID] else { return false }
            let today = LocalDate(containing: instant, in: layout.timeZone(of: plan))
            // Active today or starting later: a member may book a class for after the start date.
            let reason = AccessRule.reason(for: subscription, on: today, graceDays: plan.pastDueGraceDays)
            return reason == .active || reason == .notStarted
        }.map(\.planID))
        guard !active.isEmpty else { return ([:], "\(member.firstName) has no active subscription, so no class can be booked.") }
        let covering = rules.filter { active.contains($0.planID) && layout.studios[$0.studioID] != nil }
        guard !covering.isEmpty else {
            let names = active.compactMap { layout.plans[$0]?.name }.sorted().joined(separator: ", ")
            return ([:], "\(member.firstName)'s plan (\(names)) includes no classes. A plan includes classes through its class rules (Plans page).")
        }
        return (Dictionary(grouping: covering, by: \.studioID), nil)
    }

    /// "Book a class" for one member: the studios their plans include, and the chosen studio's classes of
    /// the next two weeks that have not started and have free places.
    func bookForMemberData(memberID: UUID, studioID: UUID?) async throws -> [String: Any] {
        let member = try await repository.member(memberID)
        let layout = try await repository.layout()
        let subscriptions = try await repository.subscriptions(memberID: memberID)
        let instant = now()
        let eligibility = Self.classEligibility(
            member: member, subscriptions: subscriptions, layout: layout, rules: try await repository.allPlanClassRules(), at: instant)
        var data: [String: Any] = [
            "member": ["id": member.id.uuidString, "name": member.fullName, "firstName": member.firstName],
            "avatar": ["initials": Self.initials(member), "hue": Self.avatarHue(member.id)],
        ]
        if let refusal = eligibility.refusal {
            data["cannotBook"] = refusal
            return data
        }
        let studios = Self.studiosInOrder(layout).filter { eligibility.studios[$0.id] != nil }
        let chosen = studios.first { $0.id == studioID } ?? studios.first
        data["studios"] = studios.map { studio -> [String: Any] in
            let rule = eligibility.studios[studio.id]?.first
            return [
                "id": studio.id.uuidString, "name": studio.name, "club": layout.clubs[studio.clubID]?.name ?? "", "selected": studio.id == chosen?.id,
                "rule": rule.map { Self.ruleWords($0) } ?? "",
            ]
        }
        guard let chosen else { return data }
        let zone = Self.zone(of: chosen, layout)
        let time = ClubTime(zone)
        let today = LocalDate(containing: instant, in: zone)
        let summaries = try await repository.occurrences(studioID: chosen.id, span: DateSpan(first: today, last: today.adding(days: 13)))
        let booked = Set(try await repository.bookings(memberID: memberID, from: today, at: instant)
            .filter { $0.booking.status.isOpen }.map { "\($0.booking.classID) \($0.booking.occurrenceDate)" })
        let choices = summaries.filter { !$0.occurrence.isCancelled && $0.occurrence.startsAt > instant && !$0.isFull }
        data["studio"] = ["id": chosen.id.uuidString, "name": chosen.name]
        data["rule"] = eligibility.studios[chosen.id]?.map { (layout.plans[$0.planID]?.name ?? "plan") + ": " + Self.ruleWords($0) }.joined(separator: "; ") ?? ""
        data["occurrences"] = choices.map { summary -> [String: Any] in
            var row = Self.occurrenceBlock(summary, time: time, now: instant)
            row["classID"] = summary.occurrence.classID.uuidString
            row["date"] = summary.occurrence.date.description
            row["day"] = ClubTime.day(summary.occurrence.date, now: today)
            row["alreadyBooked"] = booked.contains("\(summary.occurrence.classID) \(summary.occurrence.date)")
            return row
        }
        data["hasOccurrences"] = !choices.isEmpty
        data["fullCount"] = summaries.filter { !$0.occurrence.isCancelled && $0.occurrence.startsAt > instant && $0.isFull }.count
        return data
    }

    // MARK: Plans

    /// "3 classes a week · door only for booked classes".
    static func ruleWords(_ rule: PlanClassRule) -> String {
        let allowance = switch rule.allowance {
        case .unlimited: "unlimited classes"
        case .perWeek(let count): "\(count) class\(count == 1 ? "" : "es") a week"
        case .perMonth(let count): "\(count) class\(count == 1 ? "" : "es") a month"
        }
        let door = rule.doorMode == .allDay ? "studio door open all day" : "studio door open only for booked classes"
        return "\(allowance) · \(door)"
    }

    /// The plan page's class rules: one line per studio, with what is stored (or was just typed).
    static func classRulesData(plan: Plan, layout: GymLayout, rules: [PlanClassRule], problems: [String] = []) -> [String: Any] {
        let byStudio = Dictionary(rules.map { ($0.studioID, $0) }, uniquingKeysWith: { first, _ in first })
        let studios = studiosInOrder(layout).map { studio -> [String: Any] in
            let rule = byStudio[studio.id]
            let allowance: String
            var count = ""
            switch rule?.allowance {
            case nil: allowance = "none"
            case .unlimited: allowance = "unlimited"
            case .perWeek(let n): allowance = "per_week"; count = String(n)
            case .perMonth(let n): allowance = "per_month"; count = String(n)
            }
            let mode = rule?.doorMode ?? (plan.studioIDs.contains(studio.id) ? .allDay : .bookedClasses)
            return [
                "id": studio.id.uuidString, "name": studio.name, "club": layout.clubs[studio.clubID]?.name ?? "",
                "inPlan": plan.studioIDs.contains(studio.id), "count": count,
                "allowances": [("none", "No classes"), ("unlimited", "Unlimited"), ("per_week", "N a week"), ("per_month", "N a month")].map {
                    ["code": $0.0, "label": $0.1, "selected": $0.0 == allowance] as [String: Any]
                },
                "modes": [(StudioDoorMode.allDay, "Door open all day"), (.bookedClasses, "Door only for booked classes")].map {
                    ["code": $0.0.rawValue, "label": $0.1, "selected": $0.0 == mode] as [String: Any]
                },
                "summary": rule.map(ruleWords) ?? "no classes",
                "included": rule != nil,
            ]
        }
        return ["studios": studios, "hasStudios": !studios.isEmpty, "problems": problems, "hasProblems": !problems.isEmpty]
    }

    // MARK: Helpers

    static func studiosInOrder(_ layout: GymLayout) -> [Studio] {
        layout.studios.values.sorted { (layout.clubs[$0.clubID]?.name ?? "", $0.name) < (layout.clubs[$1.clubID]?.name ?? "", $1.name) }
    }

    static func zone(of studio: Studio, _ layout: GymLayout) -> TimeZone {
        layout.clubs[studio.clubID]?.timeZone ?? TimeZone(identifier: "UTC")!
    }

    /// Elapsed minutes of an occurrence (its duration, whatever daylight saving does that night).
    static func minutes(_ occurrence: ClassOccurrence) -> Int {
        Int(occurrence.endsAt.timeIntervalSince(occurrence.startsAt) / 60)
    }

    static func occurrenceKey(_ context: AdminContext) throws -> (UUID, LocalDate) {
        let classID = try id(context, "classID")
        guard let text = context.parameters.get("date"), let date = LocalDate(text), (try? date.checkSupported(field: "date")) != nil else {
            throw AdminError.notFound
        }
        return (classID, date)
    }

    /// The week a new or changed class shows first in the calendar.
    static func firstDate(of studioClass: StudioClass) -> LocalDate {
        switch studioClass.recurrence {
        case .once(let date): date
        case .weekly(let weekday, let from, _): from.adding(days: (weekday.rawValue - from.weekday.rawValue + 7) % 7)
        }
    }

    static func formValues(_ studioClass: StudioClass) -> [String: String] {
        var values: [String: String] = [
            "name": studioClass.name, "instructor": studioClass.instructor ?? "", "capacity": String(studioClass.capacity),
            "start_time": studioClass.startTime.description, "duration_minutes": String(studioClass.durationMinutes),
        ]
        switch studioClass.recurrence {
        case .weekly(let weekday, let from, let until):
            values["kind"] = "weekly"
            values["weekday"] = weekday.name
            values["valid_from"] = from.description
            values["valid_until"] = until?.description ?? ""
        case .once(let date):
            values["kind"] = "once"
            values["date"] = date.description
        }
        return values
    }

    /// The schedule form as a draft; what does not parse is a field error, as the store reports the rest.
    static func classDraft(_ form: FormData, studioID: UUID) throws -> StudioClassDraft {
        var errors = FieldErrors()
        let capacity = Int(form.text("capacity") ?? "")
        if capacity == nil { errors.add("capacity", "must be a whole number of places") }
        let duration = Int(form.text("duration_minutes") ?? "")
        if duration == nil { errors.add("duration_minutes", "must be a whole number of minutes") }
        let start = form.text("start_time").flatMap(LocalTime.init)
        if start == nil { errors.add("start_time", "must be a time like 18:00") }
        var draft = StudioClassDraft(
            studioID: studioID, name: form.text("name") ?? "", instructor: form.text("instructor"), capacity: capacity ?? 0,
            startTime: start ?? LocalTime(hour: 0, minute: 0)!, durationMinutes: duration ?? 0)
        if form["kind"] == "once" {
            draft.date = date(form, "date", required: true, into: &errors)
        } else {
            draft.weekday = form.text("weekday").flatMap { Weekday(name: $0) }
            if draft.weekday == nil { errors.add("weekday", "choose a day of the week") }
            draft.validFrom = date(form, "valid_from", required: true, into: &errors)
            draft.validUntil = date(form, "valid_until", required: false, into: &errors)
        }
        try errors.throwIfAny()
        // The store's own checks (name, ranges, dates) come back as field errors of the same names.
        _ = try draft.validated(id: UUID())
        return draft
    }

    /// The class form's list of what was wrong, and the fields' own messages when there are any.
    static func addProblems(_ problems: [String], fields: [String: String]? = nil, to data: inout [String: Any]) {
        if let fields { data["errors"] = fields }
        data["problems"] = problems
        data["hasProblems"] = true
    }

    func classFormData(studio: Studio, layout: GymLayout, values: [String: String], classID: UUID?) -> [String: Any] {
        let once = values["kind"] == "once"
        var data: [String: Any] = [
            "studio": ["id": studio.id.uuidString, "name": studio.name, "club": layout.clubs[studio.clubID]?.name ?? ""],
            "values": values, "once": once, "weekly": !once,
            "weekdays": Weekday.allCases.map { ["code": $0.name, "label": $0.name.capitalized, "selected": $0.name == values["weekday"]] as [String: Any] },
            "action": classID.map { "/admin/classes/\($0)" } ?? "/admin/classes",
            "isNew": classID == nil,
            "zone": Self.zone(of: studio, layout).identifier,
        ]
        if let classID { data["classID"] = classID.uuidString }
        return data
    }
}
