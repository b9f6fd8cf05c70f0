import Foundation

// Bookings of class occurrences, the plans' class rules (who may book, how often, and whether the
// studio door opens all day or only around booked classes) and the door windows booked classes open.

/// Where a booking stands.
public enum BookingStatus: String, Hashable, Sendable, CaseIterable, Codable {
    /// Holds a place.
    case booked
    /// Waits for a place; promoted in the order members joined the waitlist.
    case waitlisted
    /// Came off the waitlist when a place freed; holds a place like `booked`.
    case promoted
    /// Cancelled by the member, by staff, or with the whole occurrence.
    case cancelled
    /// The member opened the studio's door for the class (from Kisi's door events).
    case checkedIn = "checked_in"
    /// The class ended and the member never opened the studio's door.
    case noShow = "no_show"

    /// Whether the booking takes one of the class's places and counts against the plan's allowance.
    public var holdsPlace: Bool {
        switch self {
        case .booked, .promoted, .checkedIn, .noShow: true
        case .waitlisted, .cancelled: false
        }
    }

    /// Whether the booking may still change: be cancelled, promoted or checked in.
    public var isOpen: Bool {
        switch self {
        case .booked, .promoted, .waitlisted: true
        case .cancelled, .checkedIn, .noShow: false
        }
    }
}

/// A member's booking of one occurrence of a class.
public struct ClassBooking: Identifiable, Hashable, Sendable {
    public var id: UUID
    public var classID: UUID
    public var occurrenceDate: LocalDate
    public var memberID: UUID
    /// The plan whose class allowance the booking uses (and whose rule decides the studio door).
    public var planID: UUID
    public var status: BookingStatus
    /// When the member booked or joined the waitlist; the waitlist's order.
    public var bookedAt: Date
    public var promotedAt: Date?
    public var cancelledAt: Date?
    /// Who booked, as the audit log names actors (`staff:<e-mail>`, `api:<token name>`).
    public var bookedBy: String

    public init(
        id: UUID = UUID(), classID: UUID, occurrenceDate: LocalDate, memberID: UUID, planID: UUID, status: BookingStatus,
        bookedAt: Date, promotedAt: Date? = nil, cancelledAt: Date? = nil, bookedBy: String
    ) {
        self.id = id
        self.classID = classID
        self.occurrenceDate = occurrenceDate
        self.memberID = memberID
        self.planID = planID
        self.status = status
        self.bookedAt = bookedAt
        self.promotedAt = promotedAt
        self.cancelledAt = cancelledAt
        self.bookedBy = bookedBy
    }
}

/// How many classes of a studio a plan includes.
public enum ClassAllowance: Hashable, Sendable {
    case unlimited
    /// At most this many booked classes per ISO week (Monday to Sunday in the club's zone).
    case perWeek(Int)
    /// At most this many booked classes per calendar month in the club's zone.
    case perMonth(Int)

    public static let maximumCount = 1_000

    /// The club-local days counted together with `date`: its week or its month; nil when unlimited.
    public func period(containing date: LocalDate) -> DateSpan? {
        switch self {
        case .unlimited:
            return nil
        case .perWeek:
            return DateSpan(first: date.startOfWeek, last: date.startOfWeek.adding(days: 6))
        case .perMonth:
            let first = date.startOfMonth
            return DateSpan(first: first, last: first.adding(days: LocalDate.daysIn(month: date.month, year: date.year) - 1))
        }
    }

    public var limit: Int? {
        switch self {
        case .unlimited: nil
        case .perWeek(let count), .perMonth(let count): count
        }
    }
}

/// How a plan opens a studio's door for members who may book its classes.
public enum StudioDoorMode: String, Hashable, Sendable, CaseIterable {
    /// The studio's doors open whenever the subscription is active, as for any studio the plan lists.
    case allDay = "all_day"
    /// The studio's doors open only around the member's booked classes (``ClassDoorWindow``).
    case bookedClasses = "booked_classes"
}

/// A plan's rule for one studio's classes: members of the plan may book them (within the allowance),
/// and the door mode says how the studio's door opens for them.
public struct PlanClassRule: Hashable, Sendable {
    public var planID: UUID
    public var studioID: UUID
    public var allowance: ClassAllowance
    public var doorMode: StudioDoorMode

    public init(planID: UUID, studioID: UUID, allowance: ClassAllowance, doorMode: StudioDoorMode) {
        self.planID = planID
        self.studioID = studioID
        self.allowance = allowance
        self.doorMode = doorMode
    }

    /// Checks a plan's whole set of rules against the plan and the layout: one rule per known studio,
    /// counts from 1 to ``ClassAllowance/maximumCount``, and `all_day` only for studios the plan opens
    /// (it keeps today's behaviour; a studio the plan does not list has no all-day door to keep).
    /// Errors are keyed `rules[i].field`.
    public static func validated(_ rules: [PlanClassRule], plan: Plan, layout: GymLayout) throws(FieldErrors) -> [PlanClassRule] {
        var errors = FieldErrors()
        var seen = Set<UUID>()
        for (index, rule) in rules.enumerated() {
            let field = "rules[\(index)]"
            if layout.studios[rule.studioID] == nil {
                errors.add("\(field).studio_id", "no studio with ID \(rule.studioID)")
            }
            if !seen.insert(rule.studioID).inserted { errors.add("\(field).studio_id", "has a rule already") }
            if let limit = rule.allowance.limit, !(1...ClassAllowance.maximumCount).contains(limit) {
                errors.add("\(field).count", "must be from 1 to \(ClassAllowance.maximumCount) classes")
            }
            if rule.doorMode == .allDay, !plan.studioIDs.contains(rule.studioID) {
                errors.add("\(field).door_mode", "all_day needs the studio among the plan's studio_ids; use booked_classes for a class-only studio")
            }
        }
        try errors.throwIfAnyTyped()
        return rules.map { var rule = $0; rule.planID = plan.id; return rule }
    }

    /// The locks a plan's own group opens once its class rules are applied: the plan's locks without
    /// those of studios it opens only for booked classes (their doors open in booked windows instead).
    /// Club entrances stay: the club's front door follows the subscription as always.
    public static func groupLockIDs(of plan: Plan, layout: GymLayout, rules: [PlanClassRule]) -> [Int] {
        let entrances = Set(layout.clubs.values.flatMap(\.kisiLockIDs))
        let windowed = Set(rules.filter { $0.planID == plan.id && $0.doorMode == .bookedClasses }
            .flatMap { layout.studios[$0.studioID]?.kisiLockIDs ?? [] })
            .subtracting(entrances)
        return layout.lockIDs(of: plan).filter { !windowed.contains($0) }
    }
}

/// Why a member may not book an occurrence.
public enum BookingRefusal: Error, Hashable, Sendable, CustomStringConvertible {
    /// No active subscription on the class's date includes the studio's classes.
    case notIncluded
    /// Every plan that includes the classes has used its allowance for the period.
    case allowanceUsed(limit: Int, period: DateSpan)
    case blocked
    case cancelledOccurrence
    /// The class has started (or is over).
    case started
    case alreadyBooked

    public var description: String {
        switch self {
        case .notIncluded: "no active subscription on the class's date includes this studio's classes"
        case .allowanceUsed(let limit, let period): "the plan's \(limit) class(es) from \(period.first) to \(period.last) are booked already"
        case .blocked: "the member is blocked by staff"
        case .cancelledOccurrence: "this class was cancelled"
        case .started: "this class has already started"
        case .alreadyBooked: "the member has booked this class already"
        }
    }
}

/// Decides which plan a booking uses.
public enum ClassBookingRules {
    /// The rule under which `memberID` may book `occurrence`: among the plans the member holds an
    /// active subscription of on the class's date and whose rules include the studio's classes, the
    /// first with room in its allowance (unlimited plans first, then the most remaining, so a class
    /// pass is spent only when nothing else covers the class).
    ///
    /// - Parameter used: the member's bookings holding a place, counted per plan for a period:
    ///   `used(planID, period)`.
    public static func choose(
        memberID: UUID, occurrence: ClassOccurrence, subscriptions: [Subscription], layout: GymLayout, rules: [PlanClassRule],
        used: (UUID, DateSpan) -> Int
    ) -> Result<PlanClassRule, BookingRefusal> {
        let activePlans = Set(subscriptions.filter { subscription in
            guard subscription.memberID == memberID, let plan = layout.plans[subscription.planID] else { return false }
            return AccessRule.reason(for: subscription, on: occurrence.date, graceDays: plan.pastDueGraceDays) == .active
        }.map(\.planID))
        let covering = rules.filter { activePlans.contains($0.planID) && $0.studioID == occurrence.studioID }
        guard !covering.isEmpty else { return .failure(.notIncluded) }
        var best: (rule: PlanClassRule, remaining: Int)?
        var refusal: BookingRefusal = .notIncluded
        for rule in covering.sorted(by: { $0.planID < $1.planID }) {
            guard let limit = rule.allowance.limit, let period = rule.allowance.period(containing: occurrence.date) else {
                return .success(rule)
            }
            let remaining = limit - used(rule.planID, period)
            if remaining <= 0 {
                refusal = .allowanceUsed(limit: limit, period: period)
            } else if best == nil || remaining > best!.remaining {
                best = (rule, remaining)
            }
        }
        if let best { return .success(best.rule) }
        return .failure(refusal)
    }
}

/// When a booked class opens its studio's doors for the member: from ``margin`` before the class to
/// ``margin`` after it.
public struct ClassDoorWindow: Hashable, Sendable {
    /// 15 minutes either side: time to change before the class and to leave after it. A constant for
    /// now; it becomes a gym setting if a gym asks for another.
    public static let margin: TimeInterval = 15 * 60

    public var bookingID: UUID
    public var memberID: UUID
    public var studioID: UUID
    public var classID: UUID
    public var occurrenceDate: LocalDate
    public var lockIDs: [Int]
    public var classStartsAt: Date
    public var classEndsAt: Date
    /// The plan the booking uses, when known: the plan that opens the door in this window.
    public var planID: UUID?

    public init(
        bookingID: UUID, memberID: UUID, studioID: UUID, classID: UUID, occurrenceDate: LocalDate, lockIDs: [Int], classStartsAt: Date,
        classEndsAt: Date, planID: UUID? = nil
    ) {
        self.planID = planID
        self.bookingID = bookingID
        self.memberID = memberID
        self.studioID = studioID
        self.classID = classID
        self.occurrenceDate = occurrenceDate
        self.lockIDs = lockIDs
        self.classStartsAt = classStartsAt
        self.classEndsAt = classEndsAt
    }

    public var opensAt: Date { classStartsAt.addingTimeInterval(-Self.margin) }
    public var closesAt: Date { classEndsAt.addingTimeInterval(Self.margin) }
    public var window: AccessWindow { AccessWindow(from: opensAt, until: closesAt) }

    /// What the front desk reads: "Spinning studio: booked class Tue 18:00–19:00, door open 17:45–19:15",
    /// in the club's zone.
    public func explanation(studioName: String, zone: TimeZone) -> String {
        let day = occurrenceDate.weekday.shortName
        return "\(studioName): booked class \(day) \(Self.clock(classStartsAt, zone))–\(Self.clock(classEndsAt, zone)), "
            + "door open \(Self.clock(opensAt, zone))–\(Self.clock(closesAt, zone))"
    }

    /// The wall-clock time `instant` shows in `zone`, as HH:MM.
    public static func clock(_ instant: Date, _ zone: TimeZone) -> String {
        let local = Int((instant.timeIntervalSince1970 + TimeInterval(zone.secondsFromGMT(for: instant))).rounded(.down))
        let minutes = ((local % 86_400 + 86_400) % 86_400) / 60
        return LocalTime(hour: minutes / 60, minute: minutes % 60)!.description
    }
}

/// A booking with the occurrence it is for, as the door-window rule reads it.
public struct BookedOccurrence: Hashable, Sendable {
    public var booking: ClassBooking
    public var occurrence: ClassOccurrence

    public init(booking: ClassBooking, occurrence: ClassOccurrence) {
        self.booking = booking
        self.occurrence = occurrence
    }
}

/// The access rule's part for booked classes: which studio door windows a member's bookings open.
public enum ClassAccessRule {
    /// The door windows of `memberID`'s bookings that have not closed by `instant`, per studio the
    /// first `perStudio` of them, sorted by opening.
    ///
    /// A booking opens a window when it holds a place (not waitlisted, cancelled or a no-show), its
    /// occurrence is not cancelled, the member is not blocked, the booking's plan has a
    /// `booked_classes` rule for the studio, and a subscription of that plan is active on the class's
    /// date. Under an `all_day` rule the studio is open all day through the plan's group anyway.
    public static func doorWindows(
        memberID: UUID, block: MemberBlock?, subscriptions: [Subscription], bookings: [BookedOccurrence], layout: GymLayout,
        rules: [PlanClassRule], at instant: Date, perStudio: Int = 2
    ) -> [ClassDoorWindow] {
        guard block == nil else { return [] }
        let windowed = Set(rules.filter { $0.doorMode == .bookedClasses }.map { RuleKey(planID: $0.planID, studioID: $0.studioID) })
        var windows: [ClassDoorWindow] = []
        for entry in bookings {
            let booking = entry.booking
            let occurrence = entry.occurrence
            guard booking.memberID == memberID, booking.status.holdsPlace, booking.status != .noShow, !occurrence.isCancelled,
                  windowed.contains(RuleKey(planID: booking.planID, studioID: occurrence.studioID)),
                  let plan = layout.plans[booking.planID], let studio = layout.studios[occurrence.studioID], !studio.kisiLockIDs.isEmpty
            else { continue }
            let active = subscriptions.contains {
                $0.memberID == memberID && $0.planID == plan.id
                    && AccessRule.reason(for: $0, on: occurrence.date, graceDays: plan.pastDueGraceDays) == .active
            }
            guard active else { continue }
            let window = ClassDoorWindow(
                bookingID: booking.id, memberID: memberID, studioID: studio.id, classID: occurrence.classID,
                occurrenceDate: occurrence.date, lockIDs: studio.kisiLockIDs.sorted(), classStartsAt: occurrence.startsAt,
                classEndsAt: occurrence.endsAt, planID: plan.id)
            if window.closesAt > instant { windows.append(window) }
        }
        windows.sort { ($0.opensAt, $0.bookingID.uuidString) < ($1.opensAt, $1.bookingID.uuidString) }
        var kept: [UUID: Int] = [:]
        return windows.filter { window in
            kept[window.studioID, default: 0] += 1
            return kept[window.studioID]! <= perStudio
        }
    }

    private struct RuleKey: Hashable {
        let planID: UUID
        let studioID: UUID
    }
}
