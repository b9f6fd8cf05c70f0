import Foundation
import GymCore
import GymStore
import Hummingbird

// `/api/v1/classes`, `/api/v1/class-occurrences`, `/api/v1/bookings` and `/api/v1/plans/{id}/class-rules`:
// studio class schedules, their occurrences with fill levels and rosters, bookings with the waitlist,
// and the plans' class rules. An occurrence is named by its class and its club-local date.

extension GymRoutes {
    func addClassRoutes(to api: RouterGroup<APIContext>) {
        let classes = api.group("classes")
        classes.get { request, _ in
            let page = try await repository.classes(studioID: try request.uuidParameter("studio_id"), try request.pageRequest())
            return ListResponse(page, ClassBody.init)
        }
        classes.post { request, context in
            let body = try await request.decodeJSON(ClassCreate.self, context: context)
            return EditedResponse(status: .created, response: ClassBody(try await repository.createClass(try body.draft())))
        }
        classes.get(":id") { _, context in
            ClassBody(try await repository.studioClass(try context.id("class")))
        }
        classes.patch(":id") { request, context in
            let id = try context.id("class")
            let patch = try await request.decodeJSON(ClassPatch.self, context: context)
            let edit = try patch.edit()
            return ClassBody(try await repository.updateClass(id, by: context.actor, at: now(), edit))
        }
        classes.delete(":id") { _, context in
            try await repository.deleteClass(try context.id("class"))
            return HTTPResponse.Status.noContent
        }
        classes.get(":id/roster") { request, context in
            let id = try context.id("class")
            let date = if let date = try request.dateParameter("date") { date } else { try await repository.defaultOccurrenceDate(classID: id, at: now()) }
            return RosterBody(try await repository.occurrence(classID: id, date: date))
        }
        classes.post(":id/cancel-occurrence") { request, context in
            let id = try context.id("class")
            let body = try await request.decodeJSON(OccurrenceCancelRequest.self, context: context)
            return RosterBody(try await repository.cancelOccurrence(classID: id, date: body.date, reason: body.reason, by: context.actor, at: now()))
        }
        classes.post(":id/bookings") { request, context in
            let id = try context.id("class")
            let body = try await request.decodeJSON(BookingCreate.self, context: context)
            let booking = try await refusalsAsConflicts {
                try await repository.book(
                    classID: id, date: body.date, memberID: body.memberID, waitlist: body.waitlist ?? true, by: context.actor, at: now())
            }
            return EditedResponse(status: .created, response: BookingBody(booking))
        }

        api.get("class-occurrences") { request, _ in
            let from = try request.dateParameter("from") ?? LocalDate(containing: now(), in: TimeZone(identifier: "UTC")!)
            let until = try request.dateParameter("until") ?? from.adding(days: 6)
            let studioID = try request.uuidParameter("studio_id")
            let occurrences: [OccurrenceSummary]
            do {
                occurrences = try await repository.occurrences(studioID: studioID, span: DateSpan(first: from, last: until))
            } catch let errors as FieldErrors {
                // The span is a query's, so its problems are bad parameters, not a body's fields.
                throw APIError.badParameter("until", errors.fields["until"]?.first ?? "is out of range")
            }
            return OccurrenceListBody(from: from, until: until, items: occurrences.map(OccurrenceBody.init))
        }

        let bookings = api.group("bookings")
        bookings.get { request, _ in
            let page = try await repository.bookings(
                memberID: try request.uuidParameter("member_id"), classID: try request.uuidParameter("class_id"),
                date: try request.dateParameter("date"), from: try request.dateParameter("from"), try request.pageRequest(), at: now())
            return ListResponse(page, BookingBody.init)
        }
        bookings.get(":id") { _, context in
            BookingBody(try await repository.booking(try context.id("booking")))
        }
        bookings.post(":id/cancel") { _, context in
            let outcome = try await repository.cancelBooking(try context.id("booking"), by: context.actor, at: now())
            return BookingCancellationBody(cancelled: BookingBody(outcome.cancelled), promoted: outcome.promoted.map(BookingBody.init))
        }

        let plans = api.group("plans")
        plans.get(":id/class-rules") { _, context in
            ClassRulesBody(items: try await repository.planClassRules(planID: try context.id("plan")).map(ClassRuleBody.init))
        }
        plans.put(":id/class-rules") { request, context in
            let id = try context.id("plan")
            let body = try await request.decodeJSON(ClassRulesRequest.self, context: context)
            let rules = try body.rules(planID: id)
            return ClassRulesBody(items: try await repository.setPlanClassRules(planID: id, rules, by: context.actor, at: now()).map(ClassRuleBody.init))
        }
    }

    /// A booking the gym's rules refuse is a `409` with code `booking_refused` and the reason in words.
    func refusalsAsConflicts<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let refused as BookingRefused {
            let message = refused.description.prefix(1).uppercased() + refused.description.dropFirst() + "."
            throw APIError(.conflict, code: "booking_refused", message: message)
        }
    }
}

extension Request {
    /// A calendar-date query parameter (`YYYY-MM-DD`, years 1900 to 2200); anything else is a `400`.
    func dateParameter(_ name: String) throws -> LocalDate? {
        guard let raw = uri.queryParameters.get(name) else { return nil }
        guard let date = LocalDate(String(raw)), date.isSupported else {
            throw APIError.badParameter(name, "must be a calendar date YYYY-MM-DD in the years \(LocalDate.supportedYears.lowerBound) to \(LocalDate.supportedYears.upperBound)")
        }
        return date
    }
}

// MARK: - JSON

struct ClassBody: ResponseEncodable, Sendable {
    let id: UUID
    let studioID: UUID
    let name: String
    let instructor: String?
    let capacity: Int
    let startTime: LocalTime
    let durationMinutes: Int
    let recurrence: String
    let weekday: String?
    let validFrom: LocalDate?
    let validUntil: LocalDate?
    let date: LocalDate?

    enum CodingKeys: String, CodingKey {
        case id, studioID = "studio_id", name, instructor, capacity, startTime = "start_time", durationMinutes = "duration_minutes"
        case recurrence, weekday, validFrom = "valid_from", validUntil = "valid_until", date
    }

    init(_ studioClass: StudioClass) {
        id = studioClass.id
        studioID = studioClass.studioID
        name = studioClass.name
        instructor = studioClass.instructor
        capacity = studioClass.capacity
        startTime = studioClass.startTime
        durationMinutes = studioClass.durationMinutes
        switch studioClass.recurrence {
        case .weekly(let day, let from, let until):
            recurrence = "weekly"
            weekday = day.name
            validFrom = from
            validUntil = until
            date = nil
        case .once(let day):
            recurrence = "once"
            weekday = nil
            validFrom = nil
            validUntil = nil
            date = day
        }
    }
}

/// Turns the text fields of a class body into their types, naming each field that does not parse.
private func parseClassFields(
    startTime: String?, weekday: String?, into errors: inout FieldErrors
) -> (LocalTime?, Weekday?) {
    var time: LocalTime?
    if let startTime {
        time = LocalTime(startTime)
        if time == nil { errors.add("start_time", "must be a time of day HH:MM, such as 18:00") }
    }
    var day: Weekday?
    if let weekday {
        day = Weekday(name: weekday)
        if day == nil { errors.add("weekday", "must be one of monday, tuesday, wednesday, thursday, friday, saturday, sunday") }
    }
    return (time, day)
}

struct ClassCreate: Decodable {
    let studioID: UUID
    let name: String
    let instructor: String?
    let capacity: Int
    let startTime: String
    let durationMinutes: Int
    let weekday: String?
    let validFrom: LocalDate?
    let validUntil: LocalDate?
    let date: LocalDate?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: ClassBody.CodingKeys.self)
        studioID = try container.decode(UUID.self, forKey: .studioID)
        name = try container.decode(String.self, forKey: .name)
        instructor = try container.decodeIfPresent(String.self, forKey: .instructor)
        guard let capacity = try container.decodeInteger(forKey: .capacity) else {
            throw DecodingError.keyNotFound(ClassBody.CodingKeys.capacity, .init(codingPath: [], debugDescription: "is required"))
        }
        self.capacity = capacity
        startTime = try container.decode(String.self, forKey: .startTime)
        guard let duration = try container.decodeInteger(forKey: .durationMinutes) else {
            throw DecodingError.keyNotFound(ClassBody.CodingKeys.durationMinutes, .init(codingPath: [], debugDescription: "is required"))
        }
        durationMinutes = duration
        weekday = try container.decodeIfPresent(String.self, forKey: .weekday)
        validFrom = try container.decodeIfPresent(LocalDate.self, forKey: .validFrom)
        validUntil = try container.decodeIfPresent(LocalDate.self, forKey: .validUntil)
        date = try container.decodeIfPresent(LocalDate.self, forKey: .date)
    }

    func draft() throws -> StudioClassDraft {
        var errors = FieldErrors()
        let (time, day) = parseClassFields(startTime: startTime, weekday: weekday, into: &errors)
        try errors.throwIfAny()
        return StudioClassDraft(
            studioID: studioID, name: name, instructor: instructor, capacity: capacity, startTime: time!, durationMinutes: durationMinutes,
            weekday: day, validFrom: validFrom, validUntil: validUntil, date: date)
    }
}

struct ClassPatch: Decodable, Sendable {
    var studioID: UUID?
    var name: String?
    var instructor: String??
    var capacity: Int?
    var startTime: String?
    var durationMinutes: Int?
    var weekday: String?
    var validFrom: LocalDate?
    var validUntil: LocalDate??
    var date: LocalDate?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: ClassBody.CodingKeys.self)
        studioID = try container.decodeIfPresent(UUID.self, forKey: .studioID)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        instructor = try container.patch(String.self, forKey: .instructor)
        capacity = try container.decodeInteger(forKey: .capacity)
        startTime = try container.decodeIfPresent(String.self, forKey: .startTime)
        durationMinutes = try container.decodeInteger(forKey: .durationMinutes)
        weekday = try container.decodeIfPresent(String.self, forKey: .weekday)
        validFrom = try container.decodeIfPresent(LocalDate.self, forKey: .validFrom)
        validUntil = try container.patch(LocalDate.self, forKey: .validUntil)
        date = try container.decodeIfPresent(LocalDate.self, forKey: .date)
    }

    /// The change as an edit of the stored draft; text that does not parse is a `422` before anything is read.
    func edit() throws -> @Sendable (inout StudioClassDraft) -> Void {
        var errors = FieldErrors()
        let (time, day) = parseClassFields(startTime: startTime, weekday: weekday, into: &errors)
        try errors.throwIfAny()
        let patch = self
        return { draft in
            if let studioID = patch.studioID { draft.studioID = studioID }
            if let name = patch.name { draft.name = name }
            if let instructor = patch.instructor { draft.instructor = instructor }
            if let capacity = patch.capacity { draft.capacity = capacity }
            if let time { draft.startTime = time }
            if let duration = patch.durationMinutes { draft.durationMinutes = duration }
            if let day { draft.weekday = day }
            if let validFrom = patch.validFrom { draft.validFrom = validFrom }
            if let validUntil = patch.validUntil { draft.validUntil = validUntil }
            if let date = patch.date { draft.date = date }
        }
    }
}

struct OccurrenceBody: Encodable, Sendable {
    struct CancellationBody: Encodable, Sendable {
        let reason: String?
        let cancelledAt: Date
        let cancelledBy: String
        enum CodingKeys: String, CodingKey { case reason, cancelledAt = "cancelled_at", cancelledBy = "cancelled_by" }
    }

    let classID: UUID
    let studioID: UUID
    let date: LocalDate
    let name: String
    let instructor: String?
    let startTime: LocalTime
    let startsAt: Date
    let endsAt: Date
    let capacity: Int
    let booked: Int
    let waitlisted: Int
    let placesLeft: Int
    let cancellation: CancellationBody?

    enum CodingKeys: String, CodingKey {
        case classID = "class_id", studioID = "studio_id", date, name, instructor, startTime = "start_time", startsAt = "starts_at"
        case endsAt = "ends_at", capacity, booked, waitlisted, placesLeft = "places_left", cancellation
    }

    init(_ summary: OccurrenceSummary) {
        let occurrence = summary.occurrence
        classID = occurrence.classID
        studioID = occurrence.studioID
        date = occurrence.date
        name = occurrence.name
        instructor = occurrence.instructor
        startTime = occurrence.startTime
        startsAt = occurrence.startsAt
        endsAt = occurrence.endsAt
        capacity = occurrence.capacity
        booked = summary.booked
        waitlisted = summary.waitlisted
        placesLeft = summary.placesLeft
        cancellation = occurrence.cancellation.map {
            CancellationBody(reason: $0.reason, cancelledAt: $0.cancelledAt, cancelledBy: $0.cancelledBy)
        }
    }
}

struct OccurrenceListBody: ResponseEncodable, Sendable {
    let from: LocalDate
    let until: LocalDate
    let items: [OccurrenceBody]
}

struct BookingBody: ResponseEncodable, Sendable {
    struct OccurrenceBrief: Encodable, Sendable {
        let name: String
        let studioID: UUID
        let studioName: String
        let startsAt: Date
        let endsAt: Date
        let cancelled: Bool
        enum CodingKeys: String, CodingKey {
            case name, studioID = "studio_id", studioName = "studio_name", startsAt = "starts_at", endsAt = "ends_at", cancelled
        }
    }

    struct DoorWindowBody: Encodable, Sendable {
        let opensAt: Date
        let closesAt: Date
        let lockIDs: [Int]
        let explanation: String
        enum CodingKeys: String, CodingKey { case opensAt = "opens_at", closesAt = "closes_at", lockIDs = "kisi_lock_ids", explanation }
    }

    let id: UUID
    let classID: UUID
    let date: LocalDate
    let memberID: UUID
    let planID: UUID
    let status: BookingStatus
    let bookedAt: Date
    let bookedBy: String
    let promotedAt: Date?
    let cancelledAt: Date?
    var memberName: String?
    var occurrence: OccurrenceBrief?
    var doorWindow: DoorWindowBody?

    enum CodingKeys: String, CodingKey {
        case id, classID = "class_id", date, memberID = "member_id", planID = "plan_id", status, bookedAt = "booked_at"
        case bookedBy = "booked_by", promotedAt = "promoted_at", cancelledAt = "cancelled_at", memberName = "member_name"
        case occurrence, doorWindow = "door_window"
    }

    init(_ booking: ClassBooking) {
        id = booking.id
        classID = booking.classID
        date = booking.occurrenceDate
        memberID = booking.memberID
        planID = booking.planID
        status = booking.status
        bookedAt = booking.bookedAt
        bookedBy = booking.bookedBy
        promotedAt = booking.promotedAt
        cancelledAt = booking.cancelledAt
    }

    init(_ entry: RosterEntry) {
        self.init(entry.booking)
        memberName = entry.memberName
    }

    init(_ listed: MemberBooking) {
        self.init(listed.booking)
        occurrence = OccurrenceBrief(
            name: listed.occurrence.name, studioID: listed.occurrence.studioID, studioName: listed.studioName,
            startsAt: listed.occurrence.startsAt, endsAt: listed.occurrence.endsAt, cancelled: listed.occurrence.isCancelled)
        if let window = listed.doorWindow, let explanation = listed.doorExplanation {
            doorWindow = DoorWindowBody(opensAt: window.opensAt, closesAt: window.closesAt, lockIDs: window.lockIDs, explanation: explanation)
        }
    }
}

struct RosterBody: ResponseEncodable, Sendable {
    let occurrence: OccurrenceBody
    let places: [BookingBody]
    let waitlist: [BookingBody]
    let cancelled: [BookingBody]

    init(_ roster: OccurrenceRoster) {
        occurrence = OccurrenceBody(roster.summary)
        places = roster.places.map(BookingBody.init)
        waitlist = roster.waitlist.map(BookingBody.init)
        cancelled = roster.cancelled.map(BookingBody.init)
    }
}

struct BookingCancellationBody: ResponseEncodable, Sendable {
    let cancelled: BookingBody
    let promoted: BookingBody?
}

struct BookingCreate: Decodable {
    let memberID: UUID
    let date: LocalDate
    let waitlist: Bool?
    enum CodingKeys: String, CodingKey { case memberID = "member_id", date, waitlist }
}

struct OccurrenceCancelRequest: Decodable {
    let date: LocalDate
    let reason: String?
}

struct ClassRuleBody: Encodable, Sendable {
    let studioID: UUID
    let allowance: String
    let count: Int?
    let doorMode: String
    enum CodingKeys: String, CodingKey { case studioID = "studio_id", allowance, count, doorMode = "door_mode" }

    init(_ rule: PlanClassRule) {
        studioID = rule.studioID
        switch rule.allowance {
        case .unlimited: allowance = "unlimited"; count = nil
        case .perWeek(let n): allowance = "per_week"; count = n
        case .perMonth(let n): allowance = "per_month"; count = n
        }
        doorMode = rule.doorMode.rawValue
    }
}

struct ClassRulesBody: ResponseEncodable, Sendable {
    let items: [ClassRuleBody]
}

struct ClassRulesRequest: Decodable {
    struct Rule: Decodable {
        let studioID: UUID
        let allowance: String
        let count: Int?
        let doorMode: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: ClassRuleBody.CodingKeys.self)
            studioID = try container.decode(UUID.self, forKey: .studioID)
            allowance = try container.decode(String.self, forKey: .allowance)
            count = try container.decodeInteger(forKey: .count)
            doorMode = try container.decode(String.self, forKey: .doorMode)
        }
    }

    let rules: [Rule]

    /// The rules as the domain has them; an unknown allowance or door mode, or a count missing or
    /// given where it does not belong, is a `422` on `rules[i].…`.
    func rules(planID: UUID) throws -> [PlanClassRule] {
        var errors = FieldErrors()
        var result: [PlanClassRule] = []
        for (index, rule) in rules.enumerated() {
            let field = "rules[\(index)]"
            var allowance: ClassAllowance?
            switch (rule.allowance, rule.count) {
            case ("unlimited", nil): allowance = .unlimited
            case ("unlimited", _?): errors.add("\(field).count", "must be left out for unlimited classes")
            case ("per_week", let count?): allowance = .perWeek(count)
            case ("per_month", let count?): allowance = .perMonth(count)
            case ("per_week", nil), ("per_month", nil): errors.add("\(field).count", "is required for \(rule.allowance)")
            default: errors.add("\(field).allowance", "must be unlimited, per_week or per_month")
            }
            let mode = StudioDoorMode(rawValue: rule.doorMode)
            if mode == nil { errors.add("\(field).door_mode", "must be all_day or booked_classes") }
            if let allowance, let mode {
                result.append(PlanClassRule(planID: planID, studioID: rule.studioID, allowance: allowance, doorMode: mode))
            }
        }
        try errors.throwIfAny()
        return result
    }
}
