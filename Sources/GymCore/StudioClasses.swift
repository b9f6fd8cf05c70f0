import Foundation

// Studio classes: what the gym schedules in a studio (recurring weekly slots and one-off classes) and
// the occurrences a schedule expands to. Times are club-local wall-clock times: a class at 18:00
// starts at 18:00 in the club's zone on every date, whatever daylight saving does.

/// A wall-clock time of day without a date or zone ("18:00"), to the minute.
public struct LocalTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let hour: Int
    public let minute: Int

    public init?(hour: Int, minute: Int) {
        guard (0...23).contains(hour), (0...59).contains(minute) else { return nil }
        self.hour = hour
        self.minute = minute
    }

    /// Parses `HH:MM` (24-hour clock) and nothing else: `24:00`, `7:30` and `18:00:00` are refused.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let hour = Int(parts[0]), let minute = Int(parts[1])
        else { return nil }
        self.init(hour: hour, minute: minute)
    }

    public var minutesSinceMidnight: Int { hour * 60 + minute }

    public var description: String {
        (hour < 10 ? "0" : "") + String(hour) + ":" + (minute < 10 ? "0" : "") + String(minute)
    }

    public static func < (lhs: LocalTime, rhs: LocalTime) -> Bool { lhs.minutesSinceMidnight < rhs.minutesSinceMidnight }
}

extension LocalTime: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let time = LocalTime(text) else {
            let got = text.unicodeScalars.count <= 32 ? ", got \"\(text)\"" : ""
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a time of day as HH:MM" + got)
        }
        self = time
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A day of the week, numbered as ISO 8601 does: Monday is 1, Sunday 7.
public enum Weekday: Int, Hashable, Sendable, CaseIterable, Comparable {
    case monday = 1, tuesday, wednesday, thursday, friday, saturday, sunday

    /// The API's spelling: `monday` … `sunday`.
    public var name: String {
        switch self {
        case .monday: "monday"
        case .tuesday: "tuesday"
        case .wednesday: "wednesday"
        case .thursday: "thursday"
        case .friday: "friday"
        case .saturday: "saturday"
        case .sunday: "sunday"
        }
    }

    /// What staff screens print: "Tue".
    public var shortName: String { String(name.prefix(1).uppercased() + name.dropFirst().prefix(2)) }

    public init?(name: String) {
        guard let day = Weekday.allCases.first(where: { $0.name == name }) else { return nil }
        self = day
    }

    public static func < (lhs: Weekday, rhs: Weekday) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension LocalDate {
    /// The date's day of the week; pure arithmetic (1970-01-01 was a Thursday).
    public var weekday: Weekday {
        let index = ((daysSinceEpoch + 3) % 7 + 7) % 7
        return Weekday(rawValue: index + 1)!
    }

    /// The Monday that starts this date's ISO week: classes are listed and weekly allowances counted
    /// Monday to Sunday, as European gyms print their timetables.
    public var startOfWeek: LocalDate { adding(days: 1 - weekday.rawValue) }

    /// The first day of this date's month.
    public var startOfMonth: LocalDate { LocalDate(year: year, month: month, day: 1)! }

    /// The instant the wall clock in `zone` shows `time` on this date.
    ///
    /// Daylight saving decides two odd cases, the same way every time:
    /// - a time the clocks skip (03:30 on the spring-forward night in Europe) is read with the offset
    ///   before the change, so it lands as many minutes after the jump as it was after the skipped
    ///   hour's start: 03:30 becomes 04:30 summer time. The class still happens that night, one
    ///   wall-clock hour later, rather than vanishing or moving to another day;
    /// - a time that happens twice (03:30 on the fall-back night) is the first of the two.
    public func instant(at time: LocalTime, in zone: TimeZone) -> Date {
        let wall = TimeInterval(daysSinceEpoch * 86_400 + time.minutesSinceMidnight * 60)
        // At most one offset change within a day either side, so the offsets a day before and a day
        // after are the only candidates.
        let before = TimeInterval(zone.secondsFromGMT(for: Date(timeIntervalSince1970: wall - 86_400)))
        let after = TimeInterval(zone.secondsFromGMT(for: Date(timeIntervalSince1970: wall + 86_400)))
        let candidates = [wall - before, wall - after].sorted()
        for candidate in candidates {
            let instant = Date(timeIntervalSince1970: candidate)
            if candidate + TimeInterval(zone.secondsFromGMT(for: instant)) == wall { return instant }
        }
        return Date(timeIntervalSince1970: wall - before)
    }
}

/// When a class happens: every week on one day between two dates, or once.
public enum ClassRecurrence: Hashable, Sendable {
    /// Every `weekday` from `validFrom` through `validUntil` (inclusive; `nil`: until staff end it).
    case weekly(weekday: Weekday, validFrom: LocalDate, validUntil: LocalDate?)
    /// A one-off class on one date.
    case once(date: LocalDate)

    /// The dates within `span` the class happens on, in order.
    public func dates(in span: DateSpan) -> [LocalDate] {
        switch self {
        case .once(let date):
            return span.contains(date) ? [date] : []
        case .weekly(let weekday, let validFrom, let validUntil):
            let first = max(span.first, validFrom)
            let last = validUntil.map { min(span.last, $0) } ?? span.last
            guard first <= last else { return [] }
            let offset = (weekday.rawValue - first.weekday.rawValue + 7) % 7
            return stride(from: first.daysSinceEpoch + offset, through: last.daysSinceEpoch, by: 7).map(LocalDate.init(daysSinceEpoch:))
        }
    }

    /// Whether the class happens on `date`.
    public func happens(on date: LocalDate) -> Bool { !dates(in: DateSpan(first: date, last: date)).isEmpty }
}

/// A class on a studio's schedule: "Spinning with Ioana, Tuesdays 18:00 for 60 minutes, 12 places".
public struct StudioClass: Identifiable, Hashable, Sendable {
    public static let maximumDurationMinutes = 24 * 60
    public static let maximumCapacity = 10_000

    public var id: UUID
    public var studioID: UUID
    public var name: String
    public var instructor: String?
    /// Places a class offers; bookings past it go on the waitlist.
    public var capacity: Int
    /// Club-local start time.
    public var startTime: LocalTime
    /// Elapsed minutes: a 60-minute class on a DST night still lasts 60 minutes.
    public var durationMinutes: Int
    public var recurrence: ClassRecurrence

    public init(
        id: UUID = UUID(), studioID: UUID, name: String, instructor: String? = nil, capacity: Int, startTime: LocalTime,
        durationMinutes: Int, recurrence: ClassRecurrence
    ) {
        self.id = id
        self.studioID = studioID
        self.name = name
        self.instructor = instructor
        self.capacity = capacity
        self.startTime = startTime
        self.durationMinutes = durationMinutes
        self.recurrence = recurrence
    }

    /// The class's occurrence on `date` in `zone`, or nil when it does not happen that day.
    public func occurrence(on date: LocalDate, in zone: TimeZone, cancellation: OccurrenceCancellation? = nil) -> ClassOccurrence? {
        guard recurrence.happens(on: date) else { return nil }
        let start = date.instant(at: startTime, in: zone)
        return ClassOccurrence(
            classID: id, studioID: studioID, date: date, name: name, instructor: instructor, capacity: capacity,
            startTime: startTime, startsAt: start, endsAt: start.addingTimeInterval(TimeInterval(durationMinutes * 60)),
            cancellation: cancellation)
    }

    /// Every occurrence within `span`, in date order.
    public func occurrences(in span: DateSpan, zone: TimeZone, cancellations: [LocalDate: OccurrenceCancellation] = [:]) -> [ClassOccurrence] {
        recurrence.dates(in: span).compactMap { occurrence(on: $0, in: zone, cancellation: cancellations[$0]) }
    }
}

/// Staff cancelled one occurrence of a class (the instructor is ill); its bookings are cancelled with it.
public struct OccurrenceCancellation: Hashable, Sendable {
    public var reason: String?
    public var cancelledAt: Date
    public var cancelledBy: String

    public init(reason: String?, cancelledAt: Date, cancelledBy: String) {
        self.reason = reason
        self.cancelledAt = cancelledAt
        self.cancelledBy = cancelledBy
    }
}

/// One class on one date: what members book. Identified by its class and its club-local date.
public struct ClassOccurrence: Hashable, Sendable {
    public var classID: UUID
    public var studioID: UUID
    public var date: LocalDate
    public var name: String
    public var instructor: String?
    public var capacity: Int
    public var startTime: LocalTime
    public var startsAt: Date
    public var endsAt: Date
    public var cancellation: OccurrenceCancellation?

    public init(
        classID: UUID, studioID: UUID, date: LocalDate, name: String, instructor: String?, capacity: Int, startTime: LocalTime,
        startsAt: Date, endsAt: Date, cancellation: OccurrenceCancellation?
    ) {
        self.classID = classID
        self.studioID = studioID
        self.date = date
        self.name = name
        self.instructor = instructor
        self.capacity = capacity
        self.startTime = startTime
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.cancellation = cancellation
    }

    public var isCancelled: Bool { cancellation != nil }
}

/// What staff type to schedule or change a class.
public struct StudioClassDraft: Hashable, Sendable {
    public var studioID: UUID
    public var name: String
    public var instructor: String?
    public var capacity: Int
    public var startTime: LocalTime
    public var durationMinutes: Int
    /// For a weekly class; nil with `date` set for a one-off.
    public var weekday: Weekday?
    public var validFrom: LocalDate?
    public var validUntil: LocalDate?
    /// For a one-off class.
    public var date: LocalDate?

    public init(
        studioID: UUID, name: String, instructor: String? = nil, capacity: Int, startTime: LocalTime, durationMinutes: Int,
        weekday: Weekday? = nil, validFrom: LocalDate? = nil, validUntil: LocalDate? = nil, date: LocalDate? = nil
    ) {
        self.studioID = studioID
        self.name = name
        self.instructor = instructor
        self.capacity = capacity
        self.startTime = startTime
        self.durationMinutes = durationMinutes
        self.weekday = weekday
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.date = date
    }

    public init(_ studioClass: StudioClass) {
        self.init(
            studioID: studioClass.studioID, name: studioClass.name, instructor: studioClass.instructor, capacity: studioClass.capacity,
            startTime: studioClass.startTime, durationMinutes: studioClass.durationMinutes)
        switch studioClass.recurrence {
        case .weekly(let weekday, let validFrom, let validUntil):
            self.weekday = weekday
            self.validFrom = validFrom
            self.validUntil = validUntil
        case .once(let date):
            self.date = date
        }
    }

    /// A weekly class needs `weekday` and `valid_from` (and `valid_until`, when given, on or after it);
    /// a one-off needs `date` and neither of the others.
    public func validated(id: UUID) throws(FieldErrors) -> StudioClass {
        var errors = FieldErrors()
        let name = Validate.requiredText(self.name, field: "name", into: &errors)
        let instructor = Validate.optionalText(instructor, field: "instructor", maximumLength: TextLimits.name, into: &errors)
        if !(1...StudioClass.maximumCapacity).contains(capacity) {
            errors.add("capacity", "must be from 1 to \(StudioClass.maximumCapacity) places")
        }
        if !(1...StudioClass.maximumDurationMinutes).contains(durationMinutes) {
            errors.add("duration_minutes", "must be from 1 to \(StudioClass.maximumDurationMinutes) minutes")
        }
        var recurrence: ClassRecurrence?
        if let date {
            Validate.supportedDate(date, field: "date", into: &errors)
            if weekday != nil { errors.add("weekday", "must be left out for a one-off class (it has a date)") }
            if validFrom != nil { errors.add("valid_from", "must be left out for a one-off class (it has a date)") }
            if validUntil != nil { errors.add("valid_until", "must be left out for a one-off class (it has a date)") }
            recurrence = .once(date: date)
        } else if let weekday {
            if let validFrom {
                Validate.supportedDate(validFrom, field: "valid_from", into: &errors)
                if let validUntil {
                    Validate.supportedDate(validUntil, field: "valid_until", into: &errors)
                    if validUntil < validFrom { errors.add("valid_until", "must be on or after valid_from \(validFrom)") }
                }
                recurrence = .weekly(weekday: weekday, validFrom: validFrom, validUntil: validUntil)
            } else {
                errors.add("valid_from", "is required for a weekly class")
            }
        } else {
            errors.add("weekday", "is required for a weekly class; a one-off class needs a date instead")
        }
        guard errors.isEmpty, let recurrence else { throw errors }
        return StudioClass(
            id: id, studioID: studioID, name: name, instructor: instructor, capacity: capacity, startTime: startTime,
            durationMinutes: durationMinutes, recurrence: recurrence)
    }
}

extension OccurrenceCancellation {
    /// A cancellation as staff asked for it: the reason trimmed, at most ``TextLimits/reason`` characters.
    public static func validated(reason: String?, cancelledAt: Date, cancelledBy: String) throws(FieldErrors) -> OccurrenceCancellation {
        var errors = FieldErrors()
        let reason = Validate.optionalText(reason, field: "reason", maximumLength: TextLimits.reason, multiline: true, into: &errors)
        try errors.throwIfAnyTyped()
        return OccurrenceCancellation(reason: reason, cancelledAt: cancelledAt, cancelledBy: cancelledBy)
    }
}
