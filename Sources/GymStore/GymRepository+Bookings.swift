import FluentKit
import Foundation
import GymCore
import SQLKit

// Booking classes: booking (capacity enforced under concurrency), the waitlist and its promotion,
// cancellations of bookings and of whole occurrences, and the door windows bookings open.
// Every change that can move a studio door writes the access change log (so the sync re-plans the
// member within a poll) and an audit entry, in the same transaction.

/// The store refused a booking for a reason of the gym's rules, not of the request's shape.
public struct BookingRefused: Error, Sendable, Equatable, CustomStringConvertible {
    public var refusal: BookingRefusal
    public var description: String { refusal.description }
}

/// A booking with its class occurrence and the studio door window it opens, for a member's list.
public struct MemberBooking: Sendable, Hashable {
    public var booking: ClassBooking
    public var occurrence: ClassOccurrence
    public var studioName: String
    /// The window the booking opens the studio's door in; nil when it opens none (waitlisted,
    /// cancelled, an all-day plan, a lapsed subscription …) or is not among the studio's next two.
    public var doorWindow: ClassDoorWindow?
    /// "Spinning studio: booked class Tue 18:00–19:00, door open 17:45–19:15", with the window.
    public var doorExplanation: String?
}

/// A cancelled booking and the waitlisted one its place went to, if any.
public struct BookingCancellation: Sendable, Hashable {
    public var cancelled: ClassBooking
    public var promoted: ClassBooking?
}

extension GymRepository {
    public static let bookClassAction = "book_class"
    public static let cancelBookingAction = "cancel_booking"
    public static let promoteBookingAction = "promote_booking"
    public static let cancelOccurrenceAction = "cancel_class_occurrence"

    /// Books `memberID` on the class's occurrence on `date`, or puts them on its waitlist when it is
    /// full (unless `waitlist` is false: then a full class is a conflict).
    ///
    /// One transaction: the occurrence row is created if needed and locked, then the rules are checked
    /// (not blocked, not started or cancelled, not booked already, a plan active on that date that
    /// includes the studio's classes with room in its allowance) and the places counted. Two
    /// concurrent bookings of the last place queue on the lock: exactly one gets it.
    public func book(
        classID: UUID, date: LocalDate, memberID: UUID, waitlist: Bool = true, by actor: String, at now: Date = Date()
    ) async throws -> ClassBooking {
        try date.checkSupported(field: "date")
        return try await write { db in
            let studioClass = try await Self.classRow(classID, on: db).toDomain()
            let layout = try await Self.layout(on: db)
            guard let occurrence = studioClass.occurrence(on: date, in: Self.zone(ofStudio: studioClass.studioID, layout)) else {
                throw FieldErrors(field: "date", "the class does not happen on \(date)")
            }
            guard let member = try await MemberRow.find(memberID, on: db) else {
                throw FieldErrors(field: "member_id", "no member with ID \(memberID)")
            }
            if try member.block() != nil { throw BookingRefused(refusal: .blocked) }
            if now >= occurrence.startsAt { throw BookingRefused(refusal: .started) }
            guard let occurrenceRow = try await Self.lockedOccurrence(classID: classID, date: date, create: true, on: db),
                  let occurrenceID = occurrenceRow.id
            else { throw StoreError.corrupt("the occurrence row vanished") }
            if occurrenceRow.cancelledAt != nil { throw BookingRefused(refusal: .cancelledOccurrence) }
            let bookings = try await ClassBookingRow.query(on: db).filter(\.$occurrenceID == occurrenceID).all()
            if bookings.contains(where: { $0.memberID == memberID && Self.openStatuses.contains($0.status) }) {
                throw BookingRefused(refusal: .alreadyBooked)
            }
            let rule: PlanClassRule
            switch try await Self.chooseRule(memberID: memberID, occurrence: occurrence, layout: layout, on: db) {
            case .success(let chosen): rule = chosen
            case .failure(let refusal): throw BookingRefused(refusal: refusal)
            }
            let taken = bookings.filter { Self.placeStatuses.contains($0.status) }.count
            let status: BookingStatus
            if taken < occurrence.capacity {
                status = .booked
            } else if waitlist {
                status = .waitlisted
            } else {
                throw StoreError.conflict("the class is full (\(occurrence.capacity) places); book with the waitlist to wait for a place")
            }
            let row = ClassBookingRow()
            row.id = UUID()
            row.occurrenceID = occurrenceID
            row.classID = classID
            row.occurrenceDate = date.description
            row.memberID = memberID
            row.planID = rule.planID
            row.status = status.rawValue
            // Whole milliseconds: both databases keep them exactly, so the waitlist order read back is the one written.
            row.bookedAt = Date(timeIntervalSince1970: (now.timeIntervalSince1970 * 1000).rounded(.down) / 1000)
            row.bookedBy = actor
            try await row.create(on: db)
            let what = status == .booked ? "Booked" : "Waitlisted for"
            try await Self.recordBookingChange(
                memberID: memberID, action: Self.bookClassAction, planID: rule.planID, actor: actor,
                reason: "\(what) \(Self.describe(occurrence, layout))", at: now, on: db)
            return try row.toDomain()
        }
    }

    /// Cancels a booking (or leaves the waitlist). A place it held goes to the first waitlisted member
    /// whose plans still allow the class (active on its date, allowance not used up, not blocked);
    /// those who no longer qualify keep waiting behind. A class that has started keeps its bookings:
    /// they end as checked in or no-show.
    public func cancelBooking(_ id: UUID, by actor: String, at now: Date = Date()) async throws -> BookingCancellation {
        try await write { db in
            guard let found = try await ClassBookingRow.find(id, on: db) else { throw StoreError.notFound(entity: "booking", id: id) }
            let studioClass = try await Self.classRow(found.classID, on: db).toDomain()
            let layout = try await Self.layout(on: db)
            let date = try localDate(found.occurrenceDate, "booking date")
            guard let occurrence = studioClass.occurrence(on: date, in: Self.zone(ofStudio: studioClass.studioID, layout)) else {
                throw StoreError.corrupt("booking \(id) is for a date its class does not happen on")
            }
            guard let occurrenceRow = try await Self.lockedOccurrence(classID: found.classID, date: date, create: false, on: db) else {
                throw StoreError.corrupt("booking \(id) has no occurrence")
            }
            // Read again under the lock: a concurrent cancellation may have got there first.
            guard let row = try await ClassBookingRow.find(id, on: db) else { throw StoreError.notFound(entity: "booking", id: id) }
            let booking = try row.toDomain()
            guard booking.status.isOpen else { throw StoreError.conflict("the booking is \(booking.status.rawValue.replacingOccurrences(of: "_", with: " ")) already") }
            if now >= occurrence.startsAt { throw StoreError.conflict("the class has started; its bookings stay for the attendance record") }
            row.status = BookingStatus.cancelled.rawValue
            row.cancelledAt = now
            try await row.save(on: db)
            try await Self.recordBookingChange(
                memberID: booking.memberID, action: Self.cancelBookingAction, planID: booking.planID, actor: actor,
                reason: "Cancelled the \(booking.status == .waitlisted ? "waitlist place" : "booking") for \(Self.describe(occurrence, layout))",
                at: now, on: db)
            var promoted: ClassBooking?
            if booking.status.holdsPlace {
                promoted = try await Self.promoteWaitlist(
                    occurrenceRow: occurrenceRow, occurrence: occurrence, layout: layout, actor: actor, now: now, on: db).first
            }
            return BookingCancellation(cancelled: try row.toDomain(), promoted: promoted)
        }
    }

    /// Cancels one occurrence of a class and every open booking of it (the waitlist included): the
    /// studio's door closes for all of them within a poll of the sync. Cancelling it again changes
    /// nothing and returns the roster as it is.
    public func cancelOccurrence(
        classID: UUID, date: LocalDate, reason: String?, by actor: String, at now: Date = Date()
    ) async throws -> OccurrenceRoster {
        try date.checkSupported(field: "date")
        let cancellation = try OccurrenceCancellation.validated(reason: reason, cancelledAt: now, cancelledBy: actor)
        try await write { db in
            let studioClass = try await Self.classRow(classID, on: db).toDomain()
            let layout = try await Self.layout(on: db)
            guard let occurrence = studioClass.occurrence(on: date, in: Self.zone(ofStudio: studioClass.studioID, layout)) else {
                throw FieldErrors(field: "date", "the class does not happen on \(date)")
            }
            guard let row = try await Self.lockedOccurrence(classID: classID, date: date, create: true, on: db), let occurrenceID = row.id else {
                throw StoreError.corrupt("the occurrence row vanished")
            }
            guard row.cancelledAt == nil else { return }
            row.cancelledAt = now
            row.cancelReason = cancellation.reason
            row.cancelledBy = actor
            try await row.save(on: db)
            let open = try await ClassBookingRow.query(on: db).filter(\.$occurrenceID == occurrenceID).filter(\.$status ~~ Self.openStatuses).all()
            let why = "Class cancelled by the gym: \(Self.describe(occurrence, layout))" + (cancellation.reason.map { " (\($0))" } ?? "")
            for booking in open {
                booking.status = BookingStatus.cancelled.rawValue
                booking.cancelledAt = now
                try await booking.save(on: db)
                try await Self.recordBookingChange(
                    memberID: booking.memberID, action: Self.cancelBookingAction, planID: booking.planID, actor: actor, reason: why, at: now, on: db)
            }
            try await Self.kisiWriteRow(
                action: Self.cancelOccurrenceAction, actor: actor, reason: why + "; \(open.count) booking(s) cancelled", status: .succeeded, at: now
            ).create(on: db)
        }
        return try await occurrence(classID: classID, date: date)
    }

    /// One booking.
    public func booking(_ id: UUID) async throws -> ClassBooking {
        guard let row = try await ClassBookingRow.find(id, on: database) else { throw StoreError.notFound(entity: "booking", id: id) }
        return try row.toDomain()
    }

    /// A member's bookings of occurrences on or after `from` (all when nil), by class start, each with
    /// the door window it opens now.
    public func bookings(memberID: UUID, from: LocalDate? = nil, at now: Date = Date()) async throws -> [MemberBooking] {
        let member = try await Self.memberRow(memberID, on: database).toDomain()
        let query = ClassBookingRow.query(on: database).filter(\.$memberID == memberID)
        if let from { query.filter(\.$occurrenceDate >= from.description) }
        let rows = try await query.sort(\.$occurrenceDate).sort(\.$bookedAt).limit(PageRequest.maximumLimit).all()
        let layout = try await layout()
        let booked = try await bookedOccurrences(rows, layout: layout, on: database)
        let windows = ClassAccessRule.doorWindows(
            memberID: memberID, block: member.block, subscriptions: try await subscriptions(memberID: memberID), bookings: booked,
            layout: layout, rules: try await allPlanClassRules(), at: now)
        let byBooking = Dictionary(uniqueKeysWithValues: windows.map { ($0.bookingID, $0) })
        return booked.map { entry in
            let studio = layout.studios[entry.occurrence.studioID]
            let window = byBooking[entry.booking.id]
            return MemberBooking(
                booking: entry.booking, occurrence: entry.occurrence, studioName: studio?.name ?? "studio", doorWindow: window,
                doorExplanation: window?.explanation(studioName: studio?.name ?? "studio", zone: Self.zone(ofStudio: entry.occurrence.studioID, layout)))
        }.sorted { ($0.occurrence.startsAt, $0.booking.bookedAt) < ($1.occurrence.startsAt, $1.booking.bookedAt) }
    }

    /// The studio door windows of these members at `now`: per member and studio the next two, from
    /// their open bookings of occurrences from two days before today (UTC) on (a window may run past
    /// midnight). ``classWindowInput(memberIDs:at:withOrdinals:)`` without the ordinals.
    public func classDoorWindows(memberIDs: some Collection<UUID>, at now: Date = Date()) async throws -> [UUID: [ClassDoorWindow]] {
        let ids = Set(memberIDs)
        guard !ids.isEmpty else { return [:] }
        return try await classWindowInput(memberIDs: ids, at: now, withOrdinals: false).windows
    }

    // MARK: Helpers

    /// Rows with their occurrences (cancellations included), from the classes and occurrence rows they name.
    func bookedOccurrences(_ rows: [ClassBookingRow], layout: GymLayout, on db: any Database) async throws -> [BookedOccurrence] {
        guard !rows.isEmpty else { return [] }
        let classes = try await StudioClassRow.query(on: db).filter(\.$id ~~ Array(Set(rows.map(\.classID)))).all()
        let byID = Dictionary(uniqueKeysWithValues: try classes.map { (try $0.requireID(), try $0.toDomain()) })
        let occurrenceRows = try await ClassOccurrenceRow.query(on: db).filter(\.$id ~~ Array(Set(rows.map(\.occurrenceID)))).all()
        let cancellations = Dictionary(uniqueKeysWithValues: occurrenceRows.compactMap { row in row.id.map { ($0, row.cancellation) } })
        return try rows.compactMap { row in
            guard let studioClass = byID[row.classID] else { return nil }
            let zone = Self.zone(ofStudio: studioClass.studioID, layout)
            guard let occurrence = studioClass.occurrence(
                on: try localDate(row.occurrenceDate, "booking date"), in: zone, cancellation: cancellations[row.occurrenceID] ?? nil)
            else { return nil }
            return BookedOccurrence(booking: try row.toDomain(), occurrence: occurrence)
        }
    }

    /// The plan rule a booking by `memberID` of `occurrence` would use, with allowances counted in the database.
    static func chooseRule(
        memberID: UUID, occurrence: ClassOccurrence, layout: GymLayout, on db: any Database
    ) async throws -> Result<PlanClassRule, BookingRefusal> {
        let rules = try await PlanClassRuleRow.query(on: db).filter(\.$studioID == occurrence.studioID).all().map { try $0.toDomain() }
        let subscriptions = try await SubscriptionRow.query(on: db).with(\.$freezes).filter(\.$member.$id == memberID).all().map { try $0.toDomain() }
        var used: [PeriodKey: Int] = [:]
        for rule in rules {
            guard subscriptions.contains(where: { $0.planID == rule.planID }) else { continue }
            let period = rule.allowance.period(containing: occurrence.date)
            guard let period else { continue }
            used[PeriodKey(planID: rule.planID, period: period)] = try await usedAllowance(
                memberID: memberID, planID: rule.planID, studioID: occurrence.studioID, period: period, on: db)
        }
        return ClassBookingRules.choose(
            memberID: memberID, occurrence: occurrence, subscriptions: subscriptions, layout: layout, rules: rules,
            used: { used[PeriodKey(planID: $0, period: $1)] ?? 0 })
    }

    private struct PeriodKey: Hashable {
        let planID: UUID
        let period: DateSpan
    }

    /// Gives the occurrence's free places to waitlisted members in the order they joined, skipping
    /// those whose plans no longer allow the class; returns the promoted bookings. The caller holds
    /// the occurrence's lock.
    @discardableResult
    static func promoteWaitlist(
        occurrenceRow: ClassOccurrenceRow, occurrence: ClassOccurrence, layout: GymLayout, actor: String, now: Date, on db: any Database
    ) async throws -> [ClassBooking] {
        guard occurrenceRow.cancelledAt == nil, now < occurrence.startsAt, let occurrenceID = occurrenceRow.id else { return [] }
        let bookings = try await ClassBookingRow.query(on: db).filter(\.$occurrenceID == occurrenceID).sort(\.$bookedAt).sort(\.$id).all()
        var free = occurrence.capacity - bookings.filter { placeStatuses.contains($0.status) }.count
        var promoted: [ClassBooking] = []
        for candidate in bookings where candidate.status == BookingStatus.waitlisted.rawValue {
            guard free > 0 else { break }
            guard let member = try await MemberRow.find(candidate.memberID, on: db), try member.block() == nil,
                  case .success(let rule) = try await chooseRule(memberID: candidate.memberID, occurrence: occurrence, layout: layout, on: db)
            else { continue }
            candidate.status = BookingStatus.promoted.rawValue
            candidate.promotedAt = now
            candidate.planID = rule.planID
            try await candidate.save(on: db)
            try await recordBookingChange(
                memberID: candidate.memberID, action: promoteBookingAction, planID: rule.planID, actor: actor,
                reason: "Promoted from the waitlist: \(describe(occurrence, layout))", at: now, on: db)
            promoted.append(try candidate.toDomain())
            free -= 1
        }
        return promoted
    }

    /// The access change (so the sync re-plans the member's studio windows within a poll) and the audit
    /// entry of a booking change. `updated` on the member rather than a new subject, as for blocks:
    /// the sync needs only the member ID, and replicas on the previous release read the same log.
    static func recordBookingChange(
        memberID: UUID, action: String, planID: UUID, actor: String, reason: String, at now: Date, on db: any Database
    ) async throws {
        try await record(.member, memberID, .updated, member: memberID, on: db)
        try await kisiWriteRow(action: action, memberID: memberID, planID: planID, actor: actor, reason: reason, status: .succeeded, at: now)
            .create(on: db)
    }

    /// "Spinning (Spinning studio) Tue 2026-12-22 18:00".
    static func describe(_ occurrence: ClassOccurrence, _ layout: GymLayout) -> String {
        let studio = layout.studios[occurrence.studioID]?.name ?? "studio"
        return "\(occurrence.name) (\(studio)) \(occurrence.date.weekday.shortName) \(occurrence.date) \(occurrence.startTime)"
    }
}

// MARK: - Lists

extension GymRepository {
    /// Bookings by occurrence date, then booking time, filtered by member, class, occurrence date or
    /// from a date; each with its occurrence and the door window it opens at `now`.
    public func bookings(
        memberID: UUID? = nil, classID: UUID? = nil, date: LocalDate? = nil, from: LocalDate? = nil, _ page: PageRequest = PageRequest(),
        at now: Date = Date()
    ) async throws -> Page<MemberBooking> {
        let query = ClassBookingRow.query(on: database)
        if let memberID { query.filter(\.$memberID == memberID) }
        if let classID { query.filter(\.$classID == classID) }
        if let date { query.filter(\.$occurrenceDate == date.description) }
        if let from { query.filter(\.$occurrenceDate >= from.description) }
        let rows = try await Self.page(query.sort(\.$occurrenceDate).sort(\.$bookedAt).sort(\.$id), page) { $0 }
        let layout = try await layout()
        let booked = try await bookedOccurrences(rows.items, layout: layout, on: database)
        let windows = try await classDoorWindows(memberIDs: booked.map(\.booking.memberID), at: now)
        let byBooking = Dictionary(windows.values.flatMap { $0 }.map { ($0.bookingID, $0) }, uniquingKeysWith: { first, _ in first })
        let items = booked.map { entry in
            let studioName = layout.studios[entry.occurrence.studioID]?.name ?? "studio"
            let window = byBooking[entry.booking.id]
            return MemberBooking(
                booking: entry.booking, occurrence: entry.occurrence, studioName: studioName, doorWindow: window,
                doorExplanation: window?.explanation(studioName: studioName, zone: Self.zone(ofStudio: entry.occurrence.studioID, layout)))
        }
        return Page(items: items, total: rows.total, limit: rows.limit, offset: rows.offset)
    }

    /// The date whose roster a class's page opens on: its next occurrence that has not ended at `now`,
    /// else (a class that is over) its last one, else (not begun) its first.
    public func defaultOccurrenceDate(classID: UUID, at now: Date = Date()) async throws -> LocalDate {
        let studioClass = try await studioClass(classID)
        let zone = Self.zone(ofStudio: studioClass.studioID, try await layout())
        let today = LocalDate(containing: now, in: zone)
        switch studioClass.recurrence {
        case .once(let date):
            return date
        case .weekly(_, let validFrom, let validUntil):
            let near = studioClass.occurrences(in: DateSpan(first: today.adding(days: -1), last: today.adding(days: 7)), zone: zone)
            if let next = near.first(where: { $0.endsAt > now }) { return next.date }
            if let validUntil, validUntil < today {
                return studioClass.recurrence.dates(in: DateSpan(first: validUntil.adding(days: -6), last: validUntil)).last ?? validUntil
            }
            return studioClass.recurrence.dates(in: DateSpan(first: validFrom, last: validFrom.adding(days: 6))).first ?? validFrom
        }
    }
}

// MARK: - What the sync needs

/// Booked class windows as the sync's desired state takes them (see `ClassWindowGrants` in AccessPlanning).
public struct ClassWindowInput: Sendable {
    /// Every plan's class rules.
    public var rules: [PlanClassRule]
    /// Per member, the next two windows per studio.
    public var windows: [UUID: [ClassDoorWindow]]
    /// Per booking that opens a window: how many bookings holding a place the member has in the studio
    /// before it (past ones included), which decides its Kisi slot.
    public var ordinals: [UUID: Int]

    public init(rules: [PlanClassRule] = [], windows: [UUID: [ClassDoorWindow]] = [:], ordinals: [UUID: Int] = [:]) {
        self.rules = rules
        self.windows = windows
        self.ordinals = ordinals
    }
}

extension GymRepository {
    /// The class windows of `memberIDs` (of every member with coming bookings when nil) at `now`, with
    /// their bookings' ordinals unless `withOrdinals` is false (the access rule needs the windows only).
    /// Reads the rules, the bookings holding a place from two days before today (UTC) on, and for the
    /// ordinals one `GROUP BY` counting the older ones; nothing at all while no plan opens a studio only
    /// for booked classes.
    public func classWindowInput(memberIDs: Set<UUID>?, at now: Date = Date(), withOrdinals: Bool = true) async throws -> ClassWindowInput {
        let rules = try await allPlanClassRules()
        guard rules.contains(where: { $0.doorMode == .bookedClasses }) else { return ClassWindowInput(rules: rules) }
        if let memberIDs, memberIDs.isEmpty { return ClassWindowInput(rules: rules) }
        let layout = try await layout()
        // The earliest club date anywhere in the world is at most a day behind UTC's.
        let since = LocalDate(containing: now, in: TimeZone(identifier: "UTC")!).adding(days: -2).description
        var rows: [ClassBookingRow] = []
        // In chunks of 500 members: a big gym's bookers would pass the databases' limits on bound parameters.
        for chunk in Self.chunks(memberIDs.map { Array($0) }) {
            let query = ClassBookingRow.query(on: database).filter(\.$status ~~ Self.placeStatuses).filter(\.$occurrenceDate >= since)
            if let chunk { query.filter(\.$memberID ~~ chunk) }
            rows += try await query.all()
        }
        guard !rows.isEmpty else { return ClassWindowInput(rules: rules) }
        let booked = try await bookedOccurrences(rows, layout: layout, on: database)
        let byMember = Dictionary(grouping: booked, by: \.booking.memberID)

        // Older bookings holding a place, per member and class; a class's studio never changes while booked.
        let classStudios = withOrdinals
            ? Dictionary(uniqueKeysWithValues: try await StudioClassRow.query(on: database).all().map { (try $0.requireID(), $0.$studio.id) })
            : [:]
        var input = ClassWindowInput(rules: rules)
        for chunk in Self.chunks(byMember.keys.sorted()).compactMap({ $0 }) {
            var earlier: [StudioOfMember: Int] = [:]
            if withOrdinals, let sql = database as? any SQLDatabase {
                struct Row: Decodable { let member_id: UUID; let class_id: UUID; let n: Int }
                let counted = try await sql.select().column("member_id").column("class_id")
                    .column(SQLAlias(SQLFunction("COUNT", args: SQLLiteral.all), as: SQLIdentifier("n")))
                    .from("class_bookings")
                    .where("member_id", .in, chunk)
                    .where("occurrence_date", .lessThan, since)
                    .where("status", .in, Self.placeStatuses)
                    .groupBy("member_id").groupBy("class_id")
                    .all(decoding: Row.self)
                for row in counted {
                    guard let studioID = classStudios[row.class_id] else { continue }
                    earlier[StudioOfMember(memberID: row.member_id, studioID: studioID), default: 0] += row.n
                }
            }
            let members = try await MemberRow.query(on: database).filter(\.$id ~~ chunk).all()
            let subscriptions = try await subscriptions(memberIDs: chunk)
            for member in members {
                let memberID = try member.requireID()
                let own = byMember[memberID] ?? []
                let windows = ClassAccessRule.doorWindows(
                    memberID: memberID, block: try member.block(), subscriptions: subscriptions[memberID] ?? [], bookings: own, layout: layout,
                    rules: rules, at: now)
                guard !windows.isEmpty else { continue }
                input.windows[memberID] = windows
                guard withOrdinals else { continue }
                let open = Set(windows.map(\.bookingID))
                for (studioID, inStudio) in Dictionary(grouping: own, by: \.occurrence.studioID) {
                    let ordered = inStudio.sorted {
                        ($0.occurrence.startsAt, $0.booking.id.uuidString) < ($1.occurrence.startsAt, $1.booking.id.uuidString)
                    }
                    let before = earlier[StudioOfMember(memberID: memberID, studioID: studioID)] ?? 0
                    for (index, entry) in ordered.enumerated() where open.contains(entry.booking.id) {
                        input.ordinals[entry.booking.id] = before + index
                    }
                }
            }
        }
        return input
    }

    /// `ids` in chunks of 500, or one nil chunk (no filter) when `ids` is nil.
    private static func chunks(_ ids: [UUID]?) -> [[UUID]?] {
        guard let ids else { return [nil] }
        return stride(from: 0, to: ids.count, by: 500).map { Array(ids[$0..<min($0 + 500, ids.count)]) }
    }

    private struct StudioOfMember: Hashable {
        let memberID: UUID
        let studioID: UUID
    }
}

// MARK: - Windows that close

/// Which members' class windows closed in a span, and when the next one closes.
public struct ClosedClassWindows: Sendable, Equatable {
    /// Members with a window (of a studio some plan opens only for booked classes) that closed in the span.
    public var memberIDs: Set<UUID>
    /// The earliest such window closing after the span, among the bookings of the next two days; nil
    /// when none is booked yet.
    public var nextClosing: Date?

    public init(memberIDs: Set<UUID>, nextClosing: Date?) {
        self.memberIDs = memberIDs
        self.nextClosing = nextClosing
    }
}

extension GymRepository {
    /// The members whose booked class windows closed after `after` and by `through`, and the next
    /// window to close. When a class ends, its Kisi slot is free for the booking after next: the sync
    /// re-plans these members then instead of at its next sweep. Reads the bookings holding a place of
    /// a few days around the span (nothing while no plan opens a studio only for booked classes).
    public func closedClassWindows(after: Date, through: Date) async throws -> ClosedClassWindows {
        let rules = try await allPlanClassRules()
        let windowed = Set(rules.filter { $0.doorMode == .bookedClasses }.map(\.studioID))
        guard !windowed.isEmpty, after < through else { return ClosedClassWindows(memberIDs: [], nextClosing: nil) }
        let utc = TimeZone(identifier: "UTC")!
        // Club dates are at most a day off UTC's, and a window may run past midnight: two days either side.
        let since = LocalDate(containing: after, in: utc).adding(days: -2).description
        let until = LocalDate(containing: through, in: utc).adding(days: 2).description
        let rows = try await ClassBookingRow.query(on: database).filter(\.$status ~~ Self.placeStatuses)
            .filter(\.$occurrenceDate >= since).filter(\.$occurrenceDate <= until).all()
        let booked = try await bookedOccurrences(rows, layout: try await layout(), on: database)
        var closed = Set<UUID>()
        var next: Date?
        for entry in booked where windowed.contains(entry.occurrence.studioID) && !entry.occurrence.isCancelled {
            let closesAt = entry.occurrence.endsAt.addingTimeInterval(ClassDoorWindow.margin)
            if closesAt > after && closesAt <= through {
                closed.insert(entry.booking.memberID)
            } else if closesAt > through, next.map({ closesAt < $0 }) ?? true {
                next = closesAt
            }
        }
        return ClosedClassWindows(memberIDs: closed, nextClosing: next)
    }

    /// Puts the members whose class windows closed in the access change log (`class_window_closed`),
    /// so the sync moves their slots on like any other change. Returns how many were recorded.
    @discardableResult
    public func recordClassWindowsClosed(memberIDs: Set<UUID>) async throws -> Int {
        guard !memberIDs.isEmpty else { return 0 }
        return try await write { db in
            let existing = try await MemberRow.query(on: db).filter(\.$id ~~ Array(memberIDs)).all().map { try $0.requireID() }
            for memberID in existing.sorted() {
                try await Self.record(.member, memberID, .classWindowClosed, member: memberID, on: db)
            }
            return existing.count
        }
    }
}
