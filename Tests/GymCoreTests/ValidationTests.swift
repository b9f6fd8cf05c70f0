import Foundation
import Testing
@testable import GymCore

/// The snake_case field keys a draft rejects, or `[]` when it validates.
private func failingFields<T>(_ validate: () throws(FieldErrors) -> T) -> Set<String> {
    do {
        _ = try validate()
        return []
    } catch {
        return Set(error.fields.keys)
    }
}

@Suite("Validation")
struct ValidationTests {
    // MARK: Members

    struct MemberCase: Sendable, CustomTestStringConvertible {
        var label: String
        var draft: MemberDraft
        var fields: Set<String>
        var testDescription: String { label }
    }

    static let memberCases: [MemberCase] = [
        .init(label: "complete member", draft: MemberDraft(firstName: "Ana", lastName: "Pop", email: "ana@example.com"), fields: []),
        .init(label: "plausible phone", draft: MemberDraft(firstName: "Ana", lastName: "Pop", email: "ana@example.com", phone: "+40 (721) 234-567"), fields: []),
        .init(label: "blank phone means none", draft: MemberDraft(firstName: "Ana", lastName: "Pop", email: "ana@example.com", phone: "   "), fields: []),
        .init(label: "five digits is enough", draft: MemberDraft(firstName: "Ana", lastName: "Pop", email: "ana@example.com", phone: "12.345"), fields: []),
        .init(label: "empty first name", draft: MemberDraft(firstName: "", lastName: "Pop", email: "ana@example.com"), fields: ["first_name"]),
        .init(label: "whitespace last name", draft: MemberDraft(firstName: "Ana", lastName: " \t\n", email: "ana@example.com"), fields: ["last_name"]),
        .init(label: "both names blank", draft: MemberDraft(firstName: " ", lastName: "", email: "ana@example.com"), fields: ["first_name", "last_name"]),
        .init(label: "201-character name", draft: MemberDraft(firstName: String(repeating: "x", count: 201), lastName: "Pop", email: "ana@example.com"), fields: ["first_name"]),
        .init(label: "missing email", draft: MemberDraft(firstName: "Ana", lastName: "Pop", email: "  "), fields: ["email"]),
        .init(label: "malformed email", draft: MemberDraft(firstName: "Ana", lastName: "Pop", email: "ana(at)example.com"), fields: ["email"]),
        .init(label: "email without domain dot", draft: MemberDraft(firstName: "Ana", lastName: "Pop", email: "ana@localhost"), fields: ["email"]),
        .init(label: "letters in phone", draft: MemberDraft(firstName: "Ana", lastName: "Pop", email: "ana@example.com", phone: "call me"), fields: ["phone"]),
        .init(label: "four-digit phone", draft: MemberDraft(firstName: "Ana", lastName: "Pop", email: "ana@example.com", phone: "1234"), fields: ["phone"]),
        .init(label: "21-digit phone", draft: MemberDraft(firstName: "Ana", lastName: "Pop", email: "ana@example.com", phone: String(repeating: "1", count: 21)), fields: ["phone"]),
        .init(label: "phone with a slash", draft: MemberDraft(firstName: "Ana", lastName: "Pop", email: "ana@example.com", phone: "0721/234567"), fields: ["phone"]),
        .init(label: "everything wrong at once", draft: MemberDraft(firstName: "", lastName: "", email: "nope", phone: "x"), fields: ["first_name", "last_name", "email", "phone"]),
    ]

    @Test("a member draft reports exactly the fields that are wrong", arguments: memberCases)
    func memberDraft(_ testCase: MemberCase) {
        #expect(failingFields { () throws(FieldErrors) in try testCase.draft.validated(id: fixedID(9)) } == testCase.fields)
    }

    @Test("a valid member draft is trimmed and blank optionals become nil")
    func memberDraftNormalizes() throws {
        let member = try MemberDraft(
            firstName: "  Ana ", lastName: "Pop\n", email: " Ana@Example.com ", phone: " 0721 234 567 ", notes: "   "
        ).validated(id: fixedID(9))
        #expect(member.id == fixedID(9))
        #expect(member.fullName == "Ana Pop")
        #expect(member.email.value == "Ana@Example.com")
        #expect(member.phone == "0721 234 567")
        #expect(member.notes == nil)
    }

    @Test("a missing email says it is required rather than malformed", arguments: ["", "   ", "\n", " \t\r\n "])
    func missingEmailMessage(email: String) {
        do {
            _ = try MemberDraft(firstName: "Ana", lastName: "Pop", email: email).validated(id: fixedID(9))
            Issue.record("validated without an email")
        } catch {
            #expect(error.fields == ["email": ["is required"]])
        }
    }

    // MARK: Plans

    static let planCases: [(PlanDraft, Set<String>)] = [
        (PlanDraft(name: "Gold"), Set<String>()),
        (PlanDraft(name: "Gold", pastDueGraceDays: 366), []),
        (PlanDraft(name: "Gold", clubIDs: [fixedID(100), fixedID(101)], studioIDs: [fixedID(200)]), []),
        (PlanDraft(name: "Gold", pastDueGraceDays: -1), ["past_due_grace_days"]),
        (PlanDraft(name: "Gold", pastDueGraceDays: 367), ["past_due_grace_days"]),
        (PlanDraft(name: "  "), ["name"]),
        (PlanDraft(name: "Gold", clubIDs: [fixedID(100), fixedID(100)]), ["club_ids"]),
        (PlanDraft(name: "Gold", studioIDs: [fixedID(200), fixedID(200)]), ["studio_ids"]),
        (PlanDraft(name: "", clubIDs: [fixedID(1), fixedID(1)], pastDueGraceDays: -5), ["name", "club_ids", "past_due_grace_days"]),
    ]

    @Test("a plan draft checks its name, grace days and duplicate references", arguments: planCases)
    func planDraft(draft: PlanDraft, fields: Set<String>) {
        #expect(failingFields { () throws(FieldErrors) in try draft.validated(id: fixedID(9)) } == fields)
    }

    // MARK: Clubs and studios

    static let clubCases: [(ClubDraft, Set<String>)] = [
        (ClubDraft(name: "Unirii", timeZoneIdentifier: "Europe/Bucharest"), Set<String>()),
        (ClubDraft(name: "Unirii", timeZoneIdentifier: "America/New_York", kisiPlaceID: 7, kisiLockIDs: [1, 2]), []),
        (ClubDraft(name: "Unirii", timeZoneIdentifier: "Mars/Olympus_Mons"), ["time_zone"]),
        (ClubDraft(name: "Unirii", timeZoneIdentifier: ""), ["time_zone"]),
        (ClubDraft(name: "Unirii", timeZoneIdentifier: "Bucharest"), ["time_zone"]),
        (ClubDraft(name: "Unirii", timeZoneIdentifier: " Europe/Bucharest"), ["time_zone"]),
        (ClubDraft(name: "", timeZoneIdentifier: "Europe/Bucharest"), ["name"]),
        (ClubDraft(name: "Unirii", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 0), ["kisi_place_id"]),
        (ClubDraft(name: "Unirii", timeZoneIdentifier: "Europe/Bucharest", kisiLockIDs: [0]), ["kisi_lock_ids"]),
        (ClubDraft(name: "Unirii", timeZoneIdentifier: "Europe/Bucharest", kisiLockIDs: [5, 5]), ["kisi_lock_ids"]),
        (ClubDraft(name: " ", timeZoneIdentifier: "Nowhere", kisiPlaceID: -3, kisiLockIDs: [-1]), ["name", "time_zone", "kisi_place_id", "kisi_lock_ids"]),
    ]

    @Test("a club draft checks its name, IANA time zone and Kisi IDs", arguments: clubCases)
    func clubDraft(draft: ClubDraft, fields: Set<String>) {
        #expect(failingFields { () throws(FieldErrors) in try draft.validated(id: fixedID(9)) } == fields)
    }

    @Test("a valid club draft carries the parsed time zone")
    func clubDraftZone() throws {
        let club = try ClubDraft(name: " Unirii ", timeZoneIdentifier: "Europe/Bucharest").validated(id: fixedID(9))
        #expect(club.name == "Unirii")
        #expect(club.timeZone.identifier == "Europe/Bucharest")
    }

    static let studioCases: [(StudioDraft, Set<String>)] = [
        (StudioDraft(clubID: fixedID(100), name: "Yoga", kisiLockIDs: [10]), Set<String>()),
        (StudioDraft(clubID: fixedID(100), name: ""), ["name"]),
        (StudioDraft(clubID: fixedID(100), name: "Yoga", kisiLockIDs: [10, 10]), ["kisi_lock_ids"]),
        (StudioDraft(clubID: fixedID(100), name: "Yoga", kisiLockIDs: [-10]), ["kisi_lock_ids"]),
    ]

    @Test("a studio draft checks its name and Kisi lock IDs", arguments: studioCases)
    func studioDraft(draft: StudioDraft, fields: Set<String>) {
        #expect(failingFields { () throws(FieldErrors) in try draft.validated(id: fixedID(9)) } == fields)
    }

    // MARK: Subscriptions

    static func subscriptionDraft(start: String, end: String?, paid: String) -> SubscriptionDraft {
        SubscriptionDraft(
            memberID: member, planID: TestGym.gold.id, startDate: day(start), endDate: end.map(day), paidThrough: day(paid))
    }

    static let subscriptionCases: [(SubscriptionDraft, Set<String>)] = [
        (subscriptionDraft(start: "2026-01-01", end: "2026-12-31", paid: "2026-01-31"), Set<String>()),
        (subscriptionDraft(start: "2026-01-01", end: "2026-01-01", paid: "2026-01-01"), []),   // one-day pass
        (subscriptionDraft(start: "2026-01-01", end: nil, paid: "2025-12-31"), []),            // nothing paid yet
        (subscriptionDraft(start: "2026-01-01", end: "2025-12-31", paid: "2026-01-01"), ["end_date"]),
        (subscriptionDraft(start: "2026-03-01", end: "2026-02-28", paid: "2026-03-01"), ["end_date"]),
        (subscriptionDraft(start: "2026-01-01", end: nil, paid: "2025-12-30"), ["paid_through"]),
        (subscriptionDraft(start: "2026-01-10", end: "2026-01-09", paid: "2026-01-01"), ["end_date", "paid_through"]),
    ]

    @Test("a subscription draft checks the order of its dates", arguments: subscriptionCases)
    func subscriptionDraft(draft: SubscriptionDraft, fields: Set<String>) {
        #expect(failingFields { () throws(FieldErrors) in try draft.validated(id: fixedID(9)) } == fields)
    }

    @Test("editing dates keeps the existing freezes and cancellation")
    func subscriptionDraftKeepsExisting() throws {
        let existing = sub("2026-01-01", end: "2026-06-30", cancel: "2026-05-01", freezes: [("2026-03-01", "2026-03-14")])
        let edited = try Self.subscriptionDraft(start: "2026-02-01", end: "2026-06-30", paid: "2026-06-30")
            .validated(id: existing.id, keeping: existing)
        #expect(edited.freezes == existing.freezes)
        #expect(edited.cancellation == existing.cancellation)
        #expect(edited.startDate == day("2026-02-01"))
    }

    /// The complaint is filed under the date that strands the freeze.
    @Test("editing dates may not leave an existing freeze outside the subscription", arguments: [
        ("2026-03-05", "2026-06-30", "start_date"),  // new start after the freeze begins
        ("2026-01-01", "2026-03-10", "end_date"),    // new end before the freeze ends
    ])
    func subscriptionDraftStrandsFreeze(start: String, end: String, field: String) {
        let existing = sub("2026-01-01", end: "2026-06-30", freezes: [("2026-03-01", "2026-03-14")])
        let draft = Self.subscriptionDraft(start: start, end: end, paid: end)
        #expect(failingFields { () throws(FieldErrors) in try draft.validated(id: existing.id, keeping: existing) } == [field])
    }

    // MARK: Freezes

    static let freezeCases: [(String, String, Set<String>)] = [
        ("2026-02-01", "2026-02-07", Set<String>()),
        ("2026-03-15", "2026-03-20", []),                // the day after the existing freeze
        ("2026-02-20", "2026-02-28", []),                // ends the day before the existing freeze
        ("2026-01-01", "2026-01-01", []),                // first day of the subscription
        ("2026-06-30", "2026-06-30", []),                // last day of the subscription
        ("2026-03-10", "2026-03-20", ["start_date"]),    // overlaps the existing freeze's end
        ("2026-02-20", "2026-03-01", ["start_date"]),    // touches the existing freeze's first day
        ("2026-03-14", "2026-03-14", ["start_date"]),
        ("2026-03-03", "2026-03-05", ["start_date"]),    // inside the existing freeze
        ("2026-02-01", "2026-04-01", ["start_date"]),    // swallows the existing freeze
        ("2025-12-25", "2026-01-05", ["start_date"]),    // begins before the subscription
        ("2026-06-25", "2026-07-05", ["end_date"]),      // ends after the subscription
        ("2025-12-01", "2026-07-31", ["start_date", "end_date"]),
        ("2026-02-10", "2026-02-01", ["end_date"]),      // ends before it starts
    ]

    @Test("a freeze must lie inside the subscription and overlap no other freeze", arguments: freezeCases)
    func addingFreeze(first: String, last: String, fields: Set<String>) {
        let subscription = sub("2026-01-01", end: "2026-06-30", freezes: [("2026-03-01", "2026-03-14")])
        let freeze = Freeze(span: DateSpan(first: day(first), last: day(last)))
        #expect(failingFields { () throws(FieldErrors) in try subscription.addingFreeze(freeze) } == fields)
    }

    @Test("an end before the start is the only complaint about a reversed freeze")
    func reversedFreezeMessage() {
        let subscription = sub("2026-01-01", end: "2026-06-30")
        do {
            _ = try subscription.addingFreeze(Freeze(span: DateSpan(first: day("2026-02-10"), last: day("2026-02-01"))))
            Issue.record("accepted a reversed freeze")
        } catch {
            #expect(error.fields == ["end_date": ["must be on or after start_date 2026-02-10"]])
        }
    }

    @Test("freezes are kept sorted and an open-ended subscription accepts any later freeze")
    func freezesStaySorted() throws {
        let subscription = try sub("2026-01-01")
            .addingFreeze(Freeze(span: DateSpan(first: day("2030-01-01"), last: day("2030-02-01"))))
            .addingFreeze(Freeze(span: DateSpan(first: day("2026-08-01"), last: day("2026-08-10"))))
            .addingFreeze(Freeze(span: DateSpan(first: day("2027-05-01"), last: day("2027-05-01"))))
        #expect(subscription.freezes.map { $0.span.first.description } == ["2026-08-01", "2027-05-01", "2030-01-01"])
    }

    @Test("a later cancellation replaces an earlier one")
    func cancellationReplaces() {
        let subscription = sub("2026-01-01")
            .cancelled(Cancellation(effectiveDate: day("2026-03-01"), reason: "moving"))
            .cancelled(Cancellation(effectiveDate: day("2026-04-01")))
        #expect(subscription.cancellation == Cancellation(effectiveDate: day("2026-04-01")))
    }

    // MARK: FieldErrors

    @Test("field errors collect messages per field and describe them in key order")
    func fieldErrorsCollect() {
        var errors = FieldErrors()
        #expect(errors.isEmpty)
        errors.add("start_date", "is required")
        errors.add("end_date", "must be on or after start_date 2026-01-01")
        errors.merge(FieldErrors(field: "start_date", "overlaps the freeze"))
        #expect(!errors.isEmpty)
        #expect(errors.fields == [
            "start_date": ["is required", "overlaps the freeze"],
            "end_date": ["must be on or after start_date 2026-01-01"],
        ])
        #expect(errors.description == "end_date: must be on or after start_date 2026-01-01, start_date: is required; overlaps the freeze")
        #expect(throws: FieldErrors.self) { try errors.throwIfAny() }
        #expect(throws: Never.self) { try FieldErrors().throwIfAny() }
    }

    @Test("every field key a draft can report is snake_case", arguments: [
        "name", "time_zone", "kisi_place_id", "kisi_lock_ids", "past_due_grace_days", "club_ids", "studio_ids",
        "first_name", "last_name", "email", "phone", "start_date", "end_date", "paid_through",
    ])
    func snakeCaseKeys(key: String) {
        // The API documents these keys; they must stay lower-case words joined by underscores.
        #expect(key.allSatisfy { $0.isLowercase || $0 == "_" })
        #expect(!key.hasPrefix("_") && !key.hasSuffix("_") && !key.contains("__"))
    }
}
