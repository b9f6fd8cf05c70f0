import Foundation
import GymCore

/// How the admin UI shows a moment: in the club's (or the gym's) own time zone, the way staff say it
/// ("Tue 22 Dec, 18:00"), with the UTC instant kept for the tooltip and the `datetime` attribute.
/// CSV exports and the JSON API keep UTC; pages never show it as the main text.
struct ClubTime: Sendable {
    let zone: TimeZone

    init(_ zone: TimeZone) {
        self.zone = zone
    }

    /// The gym's zone where no single club applies (the audit log, the sync): its first club's by name,
    /// UTC for a gym without clubs.
    static func gym(_ layout: GymLayout) -> ClubTime {
        ClubTime(layout.clubs.values.min { $0.name < $1.name }?.timeZone ?? TimeZone(identifier: "UTC")!)
    }

    static let utc = ClubTime(TimeZone(identifier: "UTC")!)

    /// "Tue 22 Dec, 18:00"; the year is added when it is not the current one ("Tue 22 Dec 2025, 18:00").
    func text(_ date: Date, now: Date = Date()) -> String {
        let sameYear = calendar.component(.year, from: date) == calendar.component(.year, from: now)
        return format(date, sameYear ? "EEE d MMM, HH:mm" : "EEE d MMM yyyy, HH:mm")
    }

    /// The end of an access window: a window ending at local midnight ends with the day before, as staff
    /// say it ("the end of Tue 22 Dec"); any other end reads as `text`.
    func until(_ date: Date, now: Date = Date()) -> String {
        let parts = calendar.dateComponents([.hour, .minute, .second], from: date)
        guard parts.hour == 0, parts.minute == 0, parts.second == 0 else { return text(date, now: now) }
        let day = LocalDate(containing: date, in: zone).adding(days: -1)
        return "the end of " + Self.day(day, now: LocalDate(containing: now, in: zone))
    }

    /// The start of an access window: one starting at local midnight starts with that day ("Sat 12 Dec").
    func from(_ date: Date, now: Date = Date()) -> String {
        let parts = calendar.dateComponents([.hour, .minute, .second], from: date)
        guard parts.hour == 0, parts.minute == 0, parts.second == 0 else { return text(date, now: now) }
        return Self.day(LocalDate(containing: date, in: zone), now: LocalDate(containing: now, in: zone))
    }

    /// `value` for the end of an access window (see `until`).
    func untilValue(_ date: Date, now: Date = Date()) -> [String: Any] {
        var value = value(date, now: now)
        value["text"] = until(date, now: now)
        return value
    }

    /// "Tue 22 Dec" for a club-local calendar date (no zone arithmetic: the date is the club's already).
    static func day(_ date: LocalDate, now: LocalDate? = nil) -> String {
        let utc = ClubTime.utc
        let instant = date.startOfDay(in: utc.zone)
        let sameYear = now.map { $0.year == date.year } ?? true
        return utc.format(instant, sameYear ? "EEE d MMM" : "EEE d MMM yyyy")
    }

    /// "18:00", for lists already grouped by day.
    func clock(_ date: Date) -> String { format(date, "HH:mm") }

    /// The UTC instant as the tooltip shows it: "2026-12-22 16:00:05 UTC".
    static func utcText(_ date: Date) -> String {
        ClubTime.utc.format(date, "yyyy-MM-dd HH:mm:ss") + " UTC"
    }

    /// What the `time` partial renders: the local text, the UTC tooltip and the machine-readable instant.
    func value(_ date: Date, now: Date = Date()) -> [String: Any] {
        ["text": text(date, now: now), "utc": Self.utcText(date), "iso": date.formatted(.iso8601), "zone": zone.identifier]
    }

    var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }

    /// The local hour (0–23) and weekday (0 = Monday … 6 = Sunday) of an instant.
    func hourAndWeekday(_ date: Date) -> (hour: Int, weekday: Int) {
        let parts = calendar.dateComponents([.hour, .weekday], from: date)
        // Calendar weekdays run 1 = Sunday … 7 = Saturday; gyms plan their week from Monday.
        return (parts.hour ?? 0, ((parts.weekday ?? 2) + 5) % 7)
    }

    func format(_ date: Date, _ pattern: String) -> String {
        // DateFormatter is not Sendable; one per call keeps this value type shareable.
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.calendar = calendar
        formatter.timeZone = zone
        formatter.dateFormat = pattern
        return formatter.string(from: date)
    }
}
