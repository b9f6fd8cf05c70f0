import Foundation
import Testing
@testable import GymCore

/// The fields a throwing validation names, or `[]` when it passes.
private func rejectedFields<T>(_ validate: () throws(FieldErrors) -> T) -> Set<String> {
    do {
        _ = try validate()
        return []
    } catch {
        return Set(error.fields.keys)
    }
}

private func member(first: String = "Ana", last: String = "Pop", email: String = "ana@example.com", phone: String? = nil, notes: String? = nil) -> Set<String> {
    rejectedFields { () throws(FieldErrors) in
        try MemberDraft(firstName: first, lastName: last, email: email, phone: phone, notes: notes).validated(id: fixedID(1))
    }
}

@Suite("Input rules: control characters, lengths, dates and instants")
struct InputRulesTests {
    @Test("control characters are refused in names, e-mails, phones, notes and time zones", arguments: [
        "\u{0}", "\u{1}", "\u{7}", "\u{1B}", "\u{7F}", "\u{85}", "\u{9B}",
    ])
    func controlCharacters(character: String) {
        #expect(member(first: "Ana\(character)Evil") == ["first_name"])
        #expect(member(last: "\(character)Pop") == ["last_name"])
        #expect(member(email: "ana\(character)@example.com") == ["email"])
        #expect(member(phone: "0721\(character)234567") == ["phone"])
        #expect(member(notes: "see\(character)me") == ["notes"])
        // A value of nothing but the character must not pass as blank and clear the field.
        #expect(member(notes: character) == ["notes"])
        let club = ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest\(character)evil")
        #expect(rejectedFields { () throws(FieldErrors) in try club.validated(id: fixedID(2)) } == ["time_zone"])
        #expect(rejectedFields { () throws(FieldErrors) in
            try MemberBlock.validated(reason: "Fight\(character)", blockedAt: Date(), blockedBy: "api:test")
        } == ["reason"])
    }

    @Test("notes and reasons may span lines; names are trimmed of surrounding line breaks")
    func lineBreaks() throws {
        #expect(member(notes: "first line\r\n\tsecond line") == [])
        #expect(member(first: "\nAna\t") == [])
        #expect(member(first: "An\na") == ["first_name"])
        let block = try MemberBlock.validated(reason: "Broke the door.\nTwice.", blockedAt: Date(), blockedBy: "api:test")
        #expect(block.reason == "Broke the door.\nTwice.")
    }

    @Test("every text field has a maximum length, counted in code points")
    func lengths() {
        #expect(member(first: String(repeating: "ü", count: 200)) == [])
        #expect(member(first: String(repeating: "ü", count: 201)) == ["first_name"])
        // 201 code points that make a single character still count as 201.
        #expect(member(first: "a" + String(repeating: "\u{301}", count: 200)) == ["first_name"])
        #expect(member(notes: String(repeating: "n", count: TextLimits.notes)) == [])
        #expect(member(notes: String(repeating: "n", count: TextLimits.notes + 1)) == ["notes"])
        #expect(member(phone: "0721" + String(repeating: " ", count: 40) + "234567") == ["phone"])
        #expect(member(email: String(repeating: "a", count: 64) + "@" + String(repeating: "b", count: 1_000_000) + ".com") == ["email"])
        let zone = ClubDraft(name: "Old Town", timeZoneIdentifier: String(repeating: "Z", count: 65))
        #expect(rejectedFields { () throws(FieldErrors) in try zone.validated(id: fixedID(2)) } == ["time_zone"])
        let studio = StudioDraft(clubID: fixedID(2), name: String(repeating: "s", count: 201))
        #expect(rejectedFields { () throws(FieldErrors) in try studio.validated(id: fixedID(3)) } == ["name"])
    }

    @Test("an over-long e-mail or time zone is not echoed back in the message")
    func noEcho() {
        let long = String(repeating: "a", count: 10_000)
        do {
            _ = try MemberDraft(firstName: "Ana", lastName: "Pop", email: long).validated(id: fixedID(1))
            Issue.record("accepted")
        } catch {
            #expect(error.description.count < 200)
        }
    }

    @Test("dates outside the years 1900 to 2200 are refused on subscriptions, freezes and cancellations")
    func dateBounds() {
        let (member, plan) = (fixedID(1), fixedID(2))
        let draft = { (start: String, end: String?, paid: String) in
            rejectedFields { () throws(FieldErrors) in
                try SubscriptionDraft(memberID: member, planID: plan, startDate: day(start), endDate: end.map(day), paidThrough: day(paid)).validated(id: fixedID(3))
            }
        }
        #expect(draft("1900-01-01", "2200-12-31", "2200-12-31") == [])
        #expect(draft("1899-12-31", nil, "2026-01-01") == ["start_date"])
        #expect(draft("2026-01-01", "2201-01-01", "2026-01-31") == ["end_date"])
        #expect(draft("2026-01-01", nil, "9999-12-31") == ["paid_through"])

        let subscription = Subscription(memberID: member, planID: plan, startDate: day("2026-01-01"), paidThrough: day("2026-12-31"))
        let freeze = { (first: String, last: String) in
            rejectedFields { () throws(FieldErrors) in try subscription.addingFreeze(Freeze(span: DateSpan(first: day(first), last: day(last)))) }
        }
        #expect(freeze("2026-03-01", "2026-03-02") == [])
        #expect(freeze("2026-03-01", "2201-03-02") == ["end_date"])
        #expect(freeze("0001-01-01", "2026-03-02") == ["start_date"])

        #expect(rejectedFields { () throws(FieldErrors) in try subscription.cancelling(effectiveDate: day("2201-01-01"), reason: nil) } == ["effective_date"])
        #expect(rejectedFields { () throws(FieldErrors) in
            try subscription.cancelling(effectiveDate: day("2026-06-01"), reason: String(repeating: "r", count: 501))
        } == ["reason"])
        #expect(rejectedFields { () throws(FieldErrors) in try subscription.cancelling(effectiveDate: day("2026-06-01"), reason: " moving ") } == [])
        #expect(rejectedFields { () throws(FieldErrors) in try day("1899-12-31").checkSupported(field: "resume_on") } == ["resume_on"])
    }

    static let validInstants: [(String, String)] = [
        ("2026-12-31T22:00:00Z", "2026-12-31T22:00:00Z"),
        ("2027-01-01T00:00:00+02:00", "2026-12-31T22:00:00Z"),
        ("2026-12-31T20:30:00-01:30", "2026-12-31T22:00:00Z"),
        ("2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z"),
        ("1900-01-01T00:00:00Z", "1900-01-01T00:00:00Z"),
        ("2200-12-31T23:59:59Z", "2200-12-31T23:59:59Z"),
    ]

    @Test("a well-formed instant parses to the moment it names", arguments: validInstants)
    func parsesInstants(text: String, utc: String) {
        #expect(iso(LocalDate.instant(iso8601: text)) == utc)
    }

    @Test("fractional seconds are kept")
    func fractions() throws {
        let parsed = try #require(LocalDate.instant(iso8601: "2026-12-31T22:00:00.25Z"))
        #expect(parsed.timeIntervalSince(instant("2026-12-31T22:00:00Z")) == 0.25)
    }

    @Test("an instant that does not exist, is off the clock or outside 1900–2200 does not parse", arguments: [
        "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:60Z", "2026-01-01T00:00:00+24:00",
        "2026-01-01T00:00:00+02:60", "10000-12-31T22:00:00Z", "1899-12-31T23:59:59Z", "2201-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z", "2026-01-01T00:00:00", "2026-01-01", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00.Z",
        "2026-01-01T00:00:00Zjunk", "2026-01-01T00:00:00Z\u{0}", "２０２６-01-01T00:00:00Z", "", "now",
    ])
    func refusesInstants(text: String) {
        #expect(LocalDate.instant(iso8601: text) == nil)
    }
}
