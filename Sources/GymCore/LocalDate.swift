import Foundation
import Synchronization

/// A calendar date with no time and no zone, as printed on a membership card ("2026-12-31").
///
/// Membership dates are club-local: a plan that ends on 2026-12-31 in Bucharest ends at the local
/// midnight that closes that day, whatever the UTC offset is then. `LocalDate` keeps the date
/// itself and converts to an instant only when a time zone is known.
public struct LocalDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Validates the triple against the Gregorian calendar (no 2026-02-30).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1,
              day <= LocalDate.daysIn(month: month, year: year)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses the ISO 8601 calendar form `YYYY-MM-DD` and nothing else.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    public var description: String {
        // By hand rather than `String(format:)`: the sync prints hundreds of thousands of dates per full
        // reconcile (in every grant's explanation), and printf dominated its profile.
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
        }
        return padded(year, 4) + "-" + padded(month, 2) + "-" + padded(day, 2)
    }

    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar; pure arithmetic, no Calendar.
    public var daysSinceEpoch: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public init(daysSinceEpoch days: Int) {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.year = yoe + era * 400 + (m <= 2 ? 1 : 0)
        self.month = m
        self.day = d
    }

    public func adding(days: Int) -> LocalDate {
        LocalDate(daysSinceEpoch: daysSinceEpoch + days)
    }

    /// The instant this date begins in `timeZone`: local midnight, or — in zones that skip midnight
    /// on a DST change — the first instant that exists on that date.
    public func startOfDay(in timeZone: TimeZone) -> Date {
        let key = DayInZone(daysSinceEpoch: daysSinceEpoch, zone: timeZone.identifier)
        if let known = startOfDayCache.withLock({ $0[key] }) { return known }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        // Noon exists on every date in every zone; its start of day is the date's first instant.
        let components = DateComponents(year: year, month: month, day: day, hour: 12)
        guard let noon = calendar.date(from: components) else {
            // Unreachable for valid dates; fall back to UTC midnight rather than trapping.
            return Date(timeIntervalSince1970: TimeInterval(daysSinceEpoch) * 86_400)
        }
        let start = calendar.startOfDay(for: noon)
        startOfDayCache.withLock { cache in
            if cache.count >= 4_096 { cache.removeAll(keepingCapacity: true) }
            cache[key] = start
        }
        return start
    }

    /// The calendar date that `instant` falls on in `timeZone`.
    ///
    /// The wall clock at `instant` is UTC plus the zone's offset at that very instant, so the date is
    /// plain arithmetic once the offset is known (what `Calendar.dateComponents` does, minus its cost).
    public init(containing instant: Date, in timeZone: TimeZone) {
        let local = instant.timeIntervalSince1970 + TimeInterval(timeZone.secondsFromGMT(for: instant))
        self.init(daysSinceEpoch: Int((local / 86_400).rounded(.down)))
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

extension LocalDate: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let date = LocalDate(text) else {
            // A short value is quoted back to help; a long one (a megabyte, say) is not.
            let got = text.unicodeScalars.count <= 32 ? ", got \"\(text)\"" : ""
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a calendar date as YYYY-MM-DD" + got)
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// An inclusive range of calendar dates, e.g. a freeze from 2026-03-01 through 2026-03-14.
public struct DateSpan: Hashable, Sendable, Codable {
    public var first: LocalDate
    public var last: LocalDate

    public init(first: LocalDate, last: LocalDate) {
        self.first = first
        self.last = last
    }

    public func contains(_ date: LocalDate) -> Bool { first <= date && date <= last }

    public func overlaps(_ other: DateSpan) -> Bool { first <= other.last && other.first <= last }
}

/// A date's first instant depends only on the date and the zone's rules, and a sync asks for the same few
/// dates (today, paid-through dates) hundreds of thousands of times; `Calendar` is slow, so answers are
/// remembered. Bounded: cleared when it reaches 4,096 entries.
private struct DayInZone: Hashable {
    let daysSinceEpoch: Int
    let zone: String
}

private let startOfDayCache = Mutex<[DayInZone: Date]>([:])
