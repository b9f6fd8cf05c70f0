import FluentKit
import FluentSQL
import Foundation
import GymCore
import SQLKit

// Studio classes: the schedule, its occurrences with fill levels, and the plans' class rules.
// Bookings are in GymRepository+Bookings.swift.

/// An occurrence with its fill level, as a week's timetable lists it.
public struct OccurrenceSummary: Sendable, Hashable {
    public var occurrence: ClassOccurrence
    /// Bookings holding a place (booked, promoted, checked in, no-show).
    public var booked: Int
    public var waitlisted: Int

    public var placesLeft: Int { max(0, occurrence.capacity - booked) }
    public var isFull: Bool { booked >= occurrence.capacity }
}

/// One booking on a roster, with the member's name for staff screens.
public struct RosterEntry: Sendable, Hashable {
    public var booking: ClassBooking
    public var memberName: String
}

/// An occurrence with everyone on it: who holds a place (in booking order), the waitlist (in the order
/// it is promoted) and the cancelled bookings.
public struct OccurrenceRoster: Sendable, Hashable {
    public var summary: OccurrenceSummary
    public var places: [RosterEntry]
    public var waitlist: [RosterEntry]
    public var cancelled: [RosterEntry]
}

/// How much of a plan's class allowance a member has used in the period around a date.
public struct ClassAllowanceUsage: Sendable, Hashable {
    public var rule: PlanClassRule
    /// The days counted together (a week or a month in the club's zone); nil when unlimited.
    public var period: DateSpan?
    public var used: Int
    /// Nil when unlimited.
    public var remaining: Int? { rule.allowance.limit.map { max(0, $0 - used) } }
}

extension GymRepository {
    /// The longest span one occurrences query covers: a month and a bit, what a calendar page shows.
    public static let maximumOccurrenceSpanDays = 42

    // MARK: Schedule

    /// Schedules a class in a studio.
    public func createClass(_ draft: StudioClassDraft) async throws -> StudioClass {
        try await write { db in
            var errors = FieldErrors()
            if try await StudioRow.find(draft.studioID, on: db) == nil { errors.add("studio_id", "no studio with ID \(draft.studioID)") }
            let studioClass: StudioClass
            do throws(FieldErrors) {
                studioClass = try draft.validated(id: UUID())
            } catch {
                errors.merge(error)
                throw errors
            }
            try errors.throwIfAny()
            let row = StudioClassRow()
            row.apply(studioClass)
            try await row.create(on: db)
            return studioClass
        }
    }

    /// Classes by name, of one studio or of all.
    public func classes(studioID: UUID? = nil, _ page: PageRequest = PageRequest(limit: PageRequest.maximumLimit)) async throws -> Page<StudioClass> {
        let query = StudioClassRow.query(on: database)
        if let studioID { query.filter(\.$studio.$id == studioID) }
        return try await Self.page(query.sort(\.$name).sort(\.$id), page) { try $0.toDomain() }
    }

    public func studioClass(_ id: UUID) async throws -> StudioClass {
        try await Self.classRow(id, on: database).toDomain()
    }

    /// Changes a class. Name, instructor and capacity may always change (a larger capacity promotes
    /// waitlisted members of coming occurrences); `valid_until` may end a weekly class as long as no
    /// open booking lies after it. What moves the class in time or space (studio, start time,
    /// duration, weekday, dates) may change only while nobody holds an open booking of a coming
    /// occurrence: their door windows and allowances were given for the class as it was.
    public func updateClass(
        _ id: UUID, by actor: String, at now: Date = Date(), _ edit: @escaping @Sendable (inout StudioClassDraft) -> Void
    ) async throws -> StudioClass {
        try await write { db in
            let row = try await Self.classRow(id, on: db)
            let current = try row.toDomain()
            var draft = StudioClassDraft(current)
            edit(&draft)
            var errors = FieldErrors()
            if draft.studioID != current.studioID, try await StudioRow.find(draft.studioID, on: db) == nil {
                errors.add("studio_id", "no studio with ID \(draft.studioID)")
            }
            let updated: StudioClass
            do throws(FieldErrors) {
                updated = try draft.validated(id: id)
            } catch {
                errors.merge(error)
                throw errors
            }
            try errors.throwIfAny()
            let openBookings = try await ClassBookingRow.query(on: db).filter(\.$classID == id)
                .filter(\.$status ~~ Self.openStatuses).all()
            if !openBookings.isEmpty {
                var timing = updated
                timing.name = current.name
                timing.instructor = current.instructor
                timing.capacity = current.capacity
                var unchanged = current
                if case .weekly(let weekday, let from, _) = current.recurrence, case .weekly(_, _, let until) = updated.recurrence {
                    unchanged.recurrence = .weekly(weekday: weekday, validFrom: from, validUntil: until)
                }
                if timing != unchanged {
                    throw StoreError.conflict(
                        "members hold bookings of this class; change only its name, instructor, capacity or valid_until, or cancel those occurrences first")
                }
                let stranded = try openBookings.filter { !updated.recurrence.happens(on: try localDate($0.occurrenceDate, "booking date")) }
                if let first = stranded.map(\.occurrenceDate).min() {
                    throw StoreError.conflict("\(stranded.count) open booking(s) fall after the new valid_until (the first on \(first)); cancel those occurrences first")
                }
            }
            row.apply(updated)
            try await row.save(on: db)
            if updated.capacity > current.capacity {
                let layout = try await Self.layout(on: db)
                let zone = Self.zone(ofStudio: updated.studioID, layout)
                let dates = Set(openBookings.filter { $0.status == BookingStatus.waitlisted.rawValue }.map(\.occurrenceDate))
                for date in dates.sorted() {
                    guard let occurrence = updated.occurrence(on: try localDate(date, "booking date"), in: zone), occurrence.startsAt > now,
                          let occurrenceRow = try await Self.lockedOccurrence(classID: id, date: occurrence.date, create: false, on: db)
                    else { continue }
                    try await Self.promoteWaitlist(
                        occurrenceRow: occurrenceRow, occurrence: occurrence, layout: layout, actor: actor, now: now, on: db)
                }
            }
            return updated
        }
    }

    /// Deletes a class nobody ever booked; a class with bookings keeps its history: end it with `valid_until`.
    public func deleteClass(_ id: UUID) async throws {
        try await write { db in
            let row = try await Self.classRow(id, on: db)
            if try await ClassBookingRow.query(on: db).filter(\.$classID == id).count() > 0 {
                throw StoreError.conflict("the class has bookings; end it with valid_until (or cancel occurrences) instead, so its history stays")
            }
            try await ClassOccurrenceRow.query(on: db).filter(\.$classID == id).delete()
            try await row.delete(on: db)
        }
    }

    // MARK: Occurrences

    /// Every occurrence of the classes of one studio (or of all studios) on the club-local dates of
    /// `span`, by start, with fill levels: two queries besides the classes, whatever the week holds.
    public func occurrences(studioID: UUID? = nil, span: DateSpan) async throws -> [OccurrenceSummary] {
        guard span.first <= span.last else { throw FieldErrors(field: "until", "must be on or after from \(span.first)") }
        if span.last.daysSinceEpoch - span.first.daysSinceEpoch >= Self.maximumOccurrenceSpanDays {
            throw FieldErrors(field: "until", "must be within \(Self.maximumOccurrenceSpanDays) days of from")
        }
        if let studioID { _ = try await Self.studioRow(studioID, on: database) }
        let classQuery = StudioClassRow.query(on: database)
        if let studioID { classQuery.filter(\.$studio.$id == studioID) }
        let classes = try await classQuery.all().map { try $0.toDomain() }
        guard !classes.isEmpty else { return [] }
        let layout = try await layout()
        let first = span.first.description
        let last = span.last.description
        let classIDs = classes.map(\.id)
        let rows = try await ClassOccurrenceRow.query(on: database).filter(\.$classID ~~ classIDs)
            .filter(\.$date >= first).filter(\.$date <= last).all()
        var occurrenceRows: [OccurrenceKey: ClassOccurrenceRow] = [:]
        for row in rows { occurrenceRows[OccurrenceKey(classID: row.classID, date: row.date)] = row }
        let counts = try await bookingCounts(occurrenceIDs: rows.compactMap(\.id), on: database)
        var summaries: [OccurrenceSummary] = []
        for studioClass in classes {
            let zone = Self.zone(ofStudio: studioClass.studioID, layout)
            for date in studioClass.recurrence.dates(in: span) {
                let row = occurrenceRows[OccurrenceKey(classID: studioClass.id, date: date.description)]
                guard let occurrence = studioClass.occurrence(on: date, in: zone, cancellation: row?.cancellation) else { continue }
                let count = row?.id.flatMap { counts[$0] } ?? (0, 0)
                summaries.append(OccurrenceSummary(occurrence: occurrence, booked: count.booked, waitlisted: count.waitlisted))
            }
        }
        return summaries.sorted { ($0.occurrence.startsAt, $0.occurrence.classID) < ($1.occurrence.startsAt, $1.occurrence.classID) }
    }

    /// A studio's ISO week (Monday to Sunday) around `date`, the calendar's page.
    public func classWeek(studioID: UUID, containing date: LocalDate) async throws -> [OccurrenceSummary] {
        try await occurrences(studioID: studioID, span: DateSpan(first: date.startOfWeek, last: date.startOfWeek.adding(days: 6)))
    }

    /// One occurrence with its roster, waitlist and cancelled bookings.
    public func occurrence(classID: UUID, date: LocalDate) async throws -> OccurrenceRoster {
        let studioClass = try await studioClass(classID)
        let layout = try await layout()
        let row = try await ClassOccurrenceRow.query(on: database).filter(\.$classID == classID).filter(\.$date == date.description).first()
        guard let occurrence = studioClass.occurrence(
            on: date, in: Self.zone(ofStudio: studioClass.studioID, layout), cancellation: row?.cancellation)
        else { throw StoreError.notFound(entity: "occurrence on \(date) of the class", id: classID) }
        var bookings: [ClassBookingRow] = []
        if let id = row?.id {
            bookings = try await ClassBookingRow.query(on: database).filter(\.$occurrenceID == id).sort(\.$bookedAt).sort(\.$id).all()
        }
        let names = try await memberNames(Set(bookings.map(\.memberID)))
        let entries = try bookings.map { RosterEntry(booking: try $0.toDomain(), memberName: names[$0.memberID] ?? "(deleted member)") }
        let places = entries.filter { $0.booking.status.holdsPlace }
        let waitlist = entries.filter { $0.booking.status == .waitlisted }
        return OccurrenceRoster(
            summary: OccurrenceSummary(occurrence: occurrence, booked: places.count, waitlisted: waitlist.count),
            places: places, waitlist: waitlist, cancelled: entries.filter { $0.booking.status == .cancelled })
    }

    // MARK: Plan class rules

    /// A plan's class rules, in the order staff listed them.
    public func planClassRules(planID: UUID) async throws -> [PlanClassRule] {
        _ = try await Self.planRow(planID, on: database)
        return try await PlanClassRuleRow.query(on: database).filter(\.$planID == planID).sort(\.$position).all().map { try $0.toDomain() }
    }

    /// Every plan's class rules: what the access rule and the sync read beside the layout.
    public func allPlanClassRules() async throws -> [PlanClassRule] {
        try await Self.allPlanClassRules(on: database)
    }

    static func allPlanClassRules(on db: any Database) async throws -> [PlanClassRule] {
        try await PlanClassRuleRow.query(on: db).sort(\.$planID).sort(\.$position).all().map { try $0.toDomain() }
    }

    /// Replaces a plan's class rules. The plan's Kisi group may lose or regain studio doors (a studio
    /// switched to `booked_classes` leaves it), so the change is logged for the plan and for every
    /// member with an open booking under it.
    public func setPlanClassRules(planID: UUID, _ rules: [PlanClassRule], by actor: String, at now: Date = Date()) async throws -> [PlanClassRule] {
        try await write { db in
            let plan = try await Self.planRow(planID, on: db).toDomain()
            let layout = try await Self.layout(on: db)
            let validated = try PlanClassRule.validated(rules, plan: plan, layout: layout)
            try await PlanClassRuleRow.query(on: db).filter(\.$planID == planID).delete()
            for (position, rule) in validated.enumerated() {
                let row = PlanClassRuleRow()
                row.id = UUID()
                row.apply(rule, position: position)
                try await row.create(on: db)
            }
            try await Self.record(.plan, planID, .updated, plan: planID, on: db)
            let members = Set(try await ClassBookingRow.query(on: db).filter(\.$planID == planID).filter(\.$status ~~ Self.openStatuses).all().map(\.memberID))
            for memberID in members.sorted() { try await Self.record(.member, memberID, .updated, member: memberID, on: db) }
            let summary = validated.map { rule in
                "\(layout.studios[rule.studioID]?.name ?? "studio"): \(Self.describe(rule.allowance)), door \(rule.doorMode.rawValue)"
            }
            try await Self.kisiWriteRow(
                action: Self.setPlanClassRulesAction, planID: planID, actor: actor,
                reason: "Class rules of \(plan.name): " + (summary.isEmpty ? "none" : summary.joined(separator: "; ")), status: .succeeded, at: now
            ).create(on: db)
            return validated
        }
    }

    /// How much of a plan's allowance for a studio's classes `memberID` has used around `date`.
    public func classAllowanceUsage(memberID: UUID, planID: UUID, studioID: UUID, on date: LocalDate) async throws -> ClassAllowanceUsage {
        guard let row = try await PlanClassRuleRow.query(on: database).filter(\.$planID == planID).filter(\.$studioID == studioID).first() else {
            throw StoreError.notFound(entity: "class rule for the studio in plan", id: planID)
        }
        let rule = try row.toDomain()
        let period = rule.allowance.period(containing: date)
        let used = try await Self.usedAllowance(memberID: memberID, planID: planID, studioID: studioID, period: period, on: database)
        return ClassAllowanceUsage(rule: rule, period: period, used: used)
    }

    public static let setPlanClassRulesAction = "set_plan_class_rules"

    // MARK: Helpers

    static let openStatuses = [BookingStatus.booked, .promoted, .waitlisted].map(\.rawValue)
    static let placeStatuses = BookingStatus.allCases.filter(\.holdsPlace).map(\.rawValue)

    struct OccurrenceKey: Hashable {
        let classID: UUID
        let date: String
    }

    static func classRow(_ id: UUID, on db: any Database) async throws -> StudioClassRow {
        guard let row = try await StudioClassRow.find(id, on: db) else { throw StoreError.notFound(entity: "class", id: id) }
        return row
    }

    /// The zone a studio's classes are timed in: its club's.
    static func zone(ofStudio studioID: UUID, _ layout: GymLayout) -> TimeZone {
        layout.studios[studioID].flatMap { layout.clubs[$0.clubID]?.timeZone } ?? TimeZone(identifier: "UTC")!
    }

    static func describe(_ allowance: ClassAllowance) -> String {
        switch allowance {
        case .unlimited: "unlimited classes"
        case .perWeek(let count): "\(count) a week"
        case .perMonth(let count): "\(count) a month"
        }
    }

    /// Bookings holding a place and waitlisted, per occurrence row: one `GROUP BY`.
    func bookingCounts(occurrenceIDs: [UUID], on db: any Database) async throws -> [UUID: (booked: Int, waitlisted: Int)] {
        guard !occurrenceIDs.isEmpty, let sql = db as? any SQLDatabase else { return [:] }
        struct Row: Decodable { let occurrence_id: UUID; let status: String; let n: Int }
        let rows = try await sql.select().column("occurrence_id").column("status").column(SQLAlias(SQLFunction("COUNT", args: SQLLiteral.all), as: SQLIdentifier("n")))
            .from("class_bookings")
            .where("occurrence_id", .in, occurrenceIDs)
            .groupBy("occurrence_id").groupBy("status")
            .all(decoding: Row.self)
        var counts: [UUID: (booked: Int, waitlisted: Int)] = [:]
        for row in rows {
            guard let status = BookingStatus(rawValue: row.status) else { continue }
            var count = counts[row.occurrence_id] ?? (0, 0)
            if status.holdsPlace { count.booked += row.n } else if status == .waitlisted { count.waitlisted += row.n }
            counts[row.occurrence_id] = count
        }
        return counts
    }

    func memberNames(_ ids: Set<UUID>) async throws -> [UUID: String] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await MemberRow.query(on: database).filter(\.$id ~~ Array(ids)).all()
        return Dictionary(uniqueKeysWithValues: try rows.map { (try $0.requireID(), "\($0.firstName) \($0.lastName)") })
    }

    /// Bookings holding a place that `memberID` made under `planID` for classes of `studioID` within
    /// `period` (all of them when nil).
    static func usedAllowance(memberID: UUID, planID: UUID, studioID: UUID, period: DateSpan?, on db: any Database) async throws -> Int {
        let classIDs = try await StudioClassRow.query(on: db).filter(\.$studio.$id == studioID).all().compactMap(\.id)
        guard !classIDs.isEmpty else { return 0 }
        let query = ClassBookingRow.query(on: db).filter(\.$memberID == memberID).filter(\.$planID == planID)
            .filter(\.$classID ~~ classIDs).filter(\.$status ~~ placeStatuses)
        if let period {
            query.filter(\.$occurrenceDate >= period.first.description).filter(\.$occurrenceDate <= period.last.description)
        }
        return try await query.count()
    }

    /// The occurrence's row, locked for the rest of the transaction: concurrent bookings, cancellations
    /// and promotions of one occurrence queue here, so counting its places and taking one is atomic.
    /// With `create`, a missing row is inserted first (`ON CONFLICT DO NOTHING`, so two transactions
    /// creating it at once both end up with the one row). On PostgreSQL the lock is `FOR UPDATE`; SQLite
    /// runs one transaction at a time on BooGYMan's single connection, which serializes them already.
    static func lockedOccurrence(classID: UUID, date: LocalDate, create: Bool, on db: any Database) async throws -> ClassOccurrenceRow? {
        guard let sql = db as? any SQLDatabase else { throw StoreError.corrupt("the database does not speak SQL") }
        if create {
            try await sql.insert(into: "class_occurrences")
                .columns("id", "class_id", "date")
                .values(SQLBind(UUID()), SQLBind(classID), SQLBind(date.description))
                .ignoringConflicts(with: ["class_id", "date"])
                .run()
        }
        if sql.dialect.name == "postgresql" {
            _ = try await sql.raw("SELECT id FROM class_occurrences WHERE class_id = \(bind: classID) AND date = \(bind: date.description) FOR UPDATE").all()
        }
        return try await ClassOccurrenceRow.query(on: db).filter(\.$classID == classID).filter(\.$date == date.description).first()
    }
}
