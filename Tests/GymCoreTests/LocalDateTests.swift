import Foundation
import Testing
@testable import GymCore

@Suite("LocalDate")
struct LocalDateTests {
    @Test("a well-formed ISO calendar date parses to its parts and prints back unchanged", arguments: [
        ("2026-12-31", 2026, 12, 31),
        ("2024-02-29", 2024, 2, 29),  // leap year
        ("2000-02-29", 2000, 2, 29),  // divisible by 400: leap
        ("2026-01-01", 2026, 1, 1),
        ("2026-04-30", 2026, 4, 30),
        ("1970-01-01", 1970, 1, 1),
        ("0001-01-01", 1, 1, 1),      // smallest supported year
        ("9999-12-31", 9999, 12, 31), // largest supported year
    ])
    func parsesValid(text: String, year: Int, month: Int, dayOfMonth: Int) throws {
        let date = try #require(LocalDate(text))
        #expect(date.year == year)
        #expect(date.month == month)
        #expect(date.day == dayOfMonth)
        #expect(date.description == text)
    }

    @Test("anything but a real YYYY-MM-DD date is rejected", arguments: [
        "2026-02-29",   // 2026 is not a leap year
        "1900-02-29",   // divisible by 100 but not 400: not leap
        "2026-02-30",
        "2026-04-31",   // April has 30 days
        "2026-13-01",
        "2026-00-10",
        "2026-01-00",
        "0000-01-01",   // year zero is outside 1...9999
        "2026-1-01",    // month must have two digits
        "2026-01-1",
        "26-01-01",
        "02026-01-01",
        " 2026-01-01",  // no surrounding whitespace
        "2026-01-01 ",
        "2026-01-01\n",
        "2026/01/01",
        "20260101",
        "2026-01-01T00:00:00Z",
        "2026-01",
        "-2026-01-01",
        "+202-01-01",
        "2026-+1-01",
        "2026--1-01",
        "２０２６-01-01", // full-width digits are numbers, but not ASCII
        "2026-01-٠١",   // Arabic-Indic digits
        "abcd-ef-gh",
        "",
    ])
    func rejectsInvalid(text: String) {
        #expect(LocalDate(text) == nil)
    }

    @Test("the year-month-day initializer validates against the Gregorian calendar", arguments: [
        (2024, 2, 29, true),
        (2026, 2, 29, false),
        (2100, 2, 29, false),
        (2000, 2, 29, true),
        (2026, 6, 31, false),
        (2026, 7, 31, true),
        (2026, 0, 1, false),
        (2026, 13, 1, false),
        (2026, 1, 0, false),
        (0, 1, 1, false),
        (10_000, 1, 1, false),
    ])
    func componentValidation(year: Int, month: Int, dayOfMonth: Int, valid: Bool) {
        #expect((LocalDate(year: year, month: month, day: dayOfMonth) != nil) == valid)
    }

    @Test("days since the epoch match known values", arguments: [
        ("1970-01-01", 0),
        ("1970-01-02", 1),
        ("1969-12-31", -1),
        ("2000-01-01", 10_957),
        ("2000-03-01", 11_017),
        ("2026-01-01", 20_454),
        ("2026-12-31", 20_818),
        ("0001-01-01", -719_162),
        ("9999-12-31", 2_932_896),
    ])
    func knownEpochDays(text: String, days: Int) {
        #expect(day(text).daysSinceEpoch == days)
        #expect(LocalDate(daysSinceEpoch: days) == day(text))
    }

    /// Walks every day from 0001-01-01 to 9999-12-31: each day number maps to the calendar
    /// successor of the previous one (checked by hand-rolled rollover, not by the code under test)
    /// and converts back to the same number.
    @Test("days since the epoch round-trip over the whole supported range")
    func epochRoundTripWholeRange() {
        var previous = LocalDate(daysSinceEpoch: -719_162)
        #expect(previous.description == "0001-01-01")
        var failures = 0
        for n in -719_161...2_932_896 {
            let date = LocalDate(daysSinceEpoch: n)
            let expected = LocalDate(year: previous.year, month: previous.month, day: previous.day + 1)
                ?? LocalDate(year: previous.year, month: previous.month + 1, day: 1)
                ?? LocalDate(year: previous.year + 1, month: 1, day: 1)
            if date != expected || date.daysSinceEpoch != n { failures += 1 }
            previous = date
        }
        #expect(failures == 0)
        #expect(previous.description == "9999-12-31")
    }

    /// Foundation's Gregorian calendar switches to Julian before 1582-10-15 while LocalDate is
    /// proleptic, so the independent oracle is only consulted from the cutover on.
    @Test("days since the epoch agree with Foundation's Gregorian calendar after the 1582 cutover", arguments: [
        -141_427, -25_567, -1, 0, 59, 10_956, 11_016, 20_454, 20_511, 36_524, 1_000_000, 2_932_896,
    ])
    func epochAgreesWithFoundation(days: Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone("UTC")
        let parts = calendar.dateComponents(
            [.year, .month, .day], from: Date(timeIntervalSince1970: TimeInterval(days) * 86_400))
        let date = LocalDate(daysSinceEpoch: days)
        #expect([date.year, date.month, date.day] == [parts.year, parts.month, parts.day])
    }

    @Test("adding days crosses month, year and leap-day boundaries", arguments: [
        ("2026-01-31", 1, "2026-02-01"),
        ("2026-02-28", 1, "2026-03-01"),
        ("2024-02-28", 1, "2024-02-29"),
        ("2024-02-29", 1, "2024-03-01"),
        ("2000-02-28", 1, "2000-02-29"),
        ("1900-02-28", 1, "1900-03-01"),
        ("2026-12-31", 1, "2027-01-01"),
        ("2026-03-01", -1, "2026-02-28"),
        ("2024-03-01", -1, "2024-02-29"),
        ("2027-01-01", -1, "2026-12-31"),
        ("2026-01-01", 365, "2027-01-01"),
        ("2024-01-01", 366, "2025-01-01"),
        ("2026-05-17", 0, "2026-05-17"),
        ("2026-01-01", -20_454, "1970-01-01"),
        ("2026-03-29", 30, "2026-04-28"),
    ])
    func addingDays(start: String, offset: Int, expected: String) {
        #expect(day(start).adding(days: offset).description == expected)
    }

    @Test("dates order by year, then month, then day", arguments: [
        ("2026-01-31", "2026-02-01"),
        ("2025-12-31", "2026-01-01"),
        ("2026-02-09", "2026-02-10"),
        ("0999-12-31", "1000-01-01"),
    ])
    func ordering(earlier: String, later: String) {
        #expect(day(earlier) < day(later))
        #expect(!(day(later) < day(earlier)))
        #expect(day(earlier) != day(later))
    }

    @Test("a date encodes as a bare YYYY-MM-DD JSON string and decodes back", arguments: [
        "2026-12-31", "2024-02-29", "0001-01-01", "9999-12-31",
    ])
    func codableRoundTrip(text: String) throws {
        let data = try JSONEncoder().encode([day(text)])
        #expect(String(decoding: data, as: UTF8.self) == "[\"\(text)\"]")
        #expect(try JSONDecoder().decode([LocalDate].self, from: data) == [day(text)])
    }

    @Test("a date span round-trips through JSON as first and last dates")
    func dateSpanCodable() throws {
        let span = DateSpan(first: day("2026-03-01"), last: day("2026-03-14"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = try encoder.encode(span)
        #expect(String(decoding: data, as: UTF8.self) == #"{"first":"2026-03-01","last":"2026-03-14"}"#)
        #expect(try JSONDecoder().decode(DateSpan.self, from: data) == span)
    }

    @Test("decoding a malformed date fails with a data-corrupted error naming the text", arguments: [
        #"["2026-02-30"]"#, #"["2026-1-1"]"#, #"["31.12.2026"]"#, #"[""]"#,
    ])
    func decodeRejectsMalformed(json: String) {
        do {
            _ = try JSONDecoder().decode([LocalDate].self, from: Data(json.utf8))
            Issue.record("decoded \(json)")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(context.debugDescription.contains("YYYY-MM-DD"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("decoding a date from a non-string JSON value fails", arguments: [
        "[20260101]", "[null]", "[{}]",
    ])
    func decodeRejectsNonString(json: String) {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([LocalDate].self, from: Data(json.utf8))
        }
    }

    @Test("a date span contains its first and last day and nothing outside", arguments: [
        ("2026-02-28", false), ("2026-03-01", true), ("2026-03-07", true), ("2026-03-14", true), ("2026-03-15", false),
    ])
    func spanContains(date: String, contained: Bool) {
        let span = DateSpan(first: day("2026-03-01"), last: day("2026-03-14"))
        #expect(span.contains(day(date)) == contained)
    }

    @Test("date spans overlap when they share at least one day", arguments: [
        ("2026-02-20", "2026-02-28", false),
        ("2026-02-20", "2026-03-01", true),
        ("2026-03-05", "2026-03-06", true),
        ("2026-03-14", "2026-03-20", true),
        ("2026-03-15", "2026-03-20", false),
        ("2026-02-01", "2026-04-01", true),
    ])
    func spanOverlaps(first: String, last: String, overlapping: Bool) {
        let span = DateSpan(first: day("2026-03-01"), last: day("2026-03-14"))
        let other = DateSpan(first: day(first), last: day(last))
        #expect(span.overlaps(other) == overlapping)
        #expect(other.overlaps(span) == overlapping)
    }

    /// `LocalDate(containing:in:)` works from the zone's UTC offset; Foundation's calendar is the oracle.
    @Test("the date containing an instant agrees with Foundation's calendar across DST and odd offsets", arguments: [
        "Europe/Bucharest", "America/New_York", "America/Santiago", "America/Havana", "Australia/Lord_Howe",
        "Asia/Kathmandu", "Pacific/Chatham", "Pacific/Apia", "UTC",
    ])
    func containingAgreesWithCalendar(zoneID: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone(zoneID)
        var generator = SystemRandomNumberGenerator()
        var instants: [TimeInterval] = (0..<2_000).map { _ in TimeInterval(Int.random(in: 631_152_000...2_208_988_800, using: &generator)) }
        // Around every DST change of 2026: the second before, at, and after each transition.
        var cursor = Date(timeIntervalSince1970: 1_767_225_600)
        while let next = zone(zoneID).nextDaylightSavingTimeTransition(after: cursor), next.timeIntervalSince1970 < 1_798_761_600 {
            instants += [-1, 0, 1].map { next.timeIntervalSince1970 + $0 }
            cursor = next
        }
        var mismatches: [String] = []
        for seconds in instants {
            let instant = Date(timeIntervalSince1970: seconds)
            let parts = calendar.dateComponents([.year, .month, .day], from: instant)
            let date = LocalDate(containing: instant, in: zone(zoneID))
            if [date.year, date.month, date.day] != [parts.year, parts.month, parts.day] { mismatches.append("\(instant): \(date)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test("a date's start of day is the same on a second asking")
    func startOfDayIsStable() {
        let date = LocalDate("2026-10-25")!
        let first = date.startOfDay(in: zone("Europe/Bucharest"))
        #expect(date.startOfDay(in: zone("Europe/Bucharest")) == first)
        #expect(date.startOfDay(in: zone("America/New_York")) != first)
    }
}
