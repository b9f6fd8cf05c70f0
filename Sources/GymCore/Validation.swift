import Foundation

/// Field-by-field validation failures, keyed by the API's snake_case field names.
///
/// Collected in full before anything is written, so a form or an API client sees every problem at once.
public struct FieldErrors: Error, Hashable, Sendable, CustomStringConvertible {
    public private(set) var fields: [String: [String]]

    public init(_ fields: [String: [String]] = [:]) {
        self.fields = fields
    }

    public init(field: String, _ message: String) {
        self.fields = [field: [message]]
    }

    public var isEmpty: Bool { fields.isEmpty }

    public mutating func add(_ field: String, _ message: String) {
        fields[field, default: []].append(message)
    }

    public mutating func merge(_ other: FieldErrors) {
        for (field, messages) in other.fields { fields[field, default: []].append(contentsOf: messages) }
    }

    public func throwIfAny() throws {
        if !isEmpty { throw self }
    }

    public var description: String {
        fields.keys.sorted().map { "\($0): \(fields[$0]!.joined(separator: "; "))" }.joined(separator: ", ")
    }
}

/// What staff type to create or change a club.
public struct ClubDraft: Hashable, Sendable {
    public var name: String
    public var timeZoneIdentifier: String
    public var kisiPlaceID: Int?
    public var kisiLockIDs: [Int]

    public init(name: String, timeZoneIdentifier: String, kisiPlaceID: Int? = nil, kisiLockIDs: [Int] = []) {
        self.name = name
        self.timeZoneIdentifier = timeZoneIdentifier
        self.kisiPlaceID = kisiPlaceID
        self.kisiLockIDs = kisiLockIDs
    }

    public func validated(id: UUID) throws(FieldErrors) -> Club {
        var errors = FieldErrors()
        let name = Validate.requiredText(self.name, field: "name", into: &errors)
        let zone = TimeZone(identifier: timeZoneIdentifier)
        if zone == nil { errors.add("time_zone", "\"\(timeZoneIdentifier)\" is not an IANA time zone such as Europe/Bucharest") }
        if let place = kisiPlaceID, place <= 0 { errors.add("kisi_place_id", "must be a positive Kisi place ID") }
        Validate.lockIDs(kisiLockIDs, into: &errors)
        guard errors.isEmpty, let zone else { throw errors }
        return Club(id: id, name: name, timeZone: zone, kisiPlaceID: kisiPlaceID, kisiLockIDs: kisiLockIDs)
    }
}

public struct StudioDraft: Hashable, Sendable {
    public var clubID: UUID
    public var name: String
    public var kisiLockIDs: [Int]

    public init(clubID: UUID, name: String, kisiLockIDs: [Int] = []) {
        self.clubID = clubID
        self.name = name
        self.kisiLockIDs = kisiLockIDs
    }

    public func validated(id: UUID) throws(FieldErrors) -> Studio {
        var errors = FieldErrors()
        let name = Validate.requiredText(self.name, field: "name", into: &errors)
        Validate.lockIDs(kisiLockIDs, into: &errors)
        try errors.throwIfAnyTyped()
        return Studio(id: id, clubID: clubID, name: name, kisiLockIDs: kisiLockIDs)
    }
}

public struct PlanDraft: Hashable, Sendable {
    public var name: String
    public var clubIDs: [UUID]
    public var studioIDs: [UUID]
    public var pastDueGraceDays: Int
    public var isArchived: Bool

    public init(name: String, clubIDs: [UUID] = [], studioIDs: [UUID] = [], pastDueGraceDays: Int = 0, isArchived: Bool = false) {
        self.name = name
        self.clubIDs = clubIDs
        self.studioIDs = studioIDs
        self.pastDueGraceDays = pastDueGraceDays
        self.isArchived = isArchived
    }

    public func validated(id: UUID) throws(FieldErrors) -> Plan {
        var errors = FieldErrors()
        let name = Validate.requiredText(self.name, field: "name", into: &errors)
        if pastDueGraceDays < 0 { errors.add("past_due_grace_days", "must be zero or more days") }
        if pastDueGraceDays > 366 { errors.add("past_due_grace_days", "must be at most 366 days") }
        if Set(clubIDs).count != clubIDs.count { errors.add("club_ids", "lists a club twice") }
        if Set(studioIDs).count != studioIDs.count { errors.add("studio_ids", "lists a studio twice") }
        try errors.throwIfAnyTyped()
        return Plan(id: id, name: name, clubIDs: clubIDs, studioIDs: studioIDs, pastDueGraceDays: pastDueGraceDays, isArchived: isArchived)
    }
}

public struct MemberDraft: Hashable, Sendable {
    public var firstName: String
    public var lastName: String
    public var email: String
    public var phone: String?
    public var notes: String?

    public init(firstName: String, lastName: String, email: String, phone: String? = nil, notes: String? = nil) {
        self.firstName = firstName
        self.lastName = lastName
        self.email = email
        self.phone = phone
        self.notes = notes
    }

    public func validated(id: UUID) throws(FieldErrors) -> Member {
        var errors = FieldErrors()
        let first = Validate.requiredText(firstName, field: "first_name", into: &errors)
        let last = Validate.requiredText(lastName, field: "last_name", into: &errors)
        let address = EmailAddress(email)
        if email.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            errors.add("email", "is required")
        } else if address == nil {
            errors.add("email", "\"\(email)\" is not a valid e-mail address")
        }
        let phone = Validate.optionalText(phone)
        if let phone, !Validate.isPlausiblePhone(phone) {
            errors.add("phone", "may hold only digits, spaces and + ( ) - . with 5 to 20 digits")
        }
        guard errors.isEmpty, let address else { throw errors }
        return Member(id: id, firstName: first, lastName: last, email: address, phone: phone, notes: Validate.optionalText(notes))
    }
}

public struct SubscriptionDraft: Hashable, Sendable {
    public var memberID: UUID
    public var planID: UUID
    public var startDate: LocalDate
    public var endDate: LocalDate?
    public var paidThrough: LocalDate

    public init(memberID: UUID, planID: UUID, startDate: LocalDate, endDate: LocalDate? = nil, paidThrough: LocalDate) {
        self.memberID = memberID
        self.planID = planID
        self.startDate = startDate
        self.endDate = endDate
        self.paidThrough = paidThrough
    }

    /// Checks the dates; the caller keeps freezes and cancellation of an existing subscription.
    public func validated(id: UUID, keeping existing: Subscription? = nil) throws(FieldErrors) -> Subscription {
        var errors = FieldErrors()
        if let endDate, endDate < startDate { errors.add("end_date", "must be on or after start_date \(startDate)") }
        if paidThrough < startDate.adding(days: -1) {
            errors.add("paid_through", "must be on or after the day before start_date \(startDate)")
        }
        if let existing {
            for freeze in existing.freezes {
                let stranded = "would leave the freeze \(freeze.span.first)–\(freeze.span.last) outside the subscription"
                if freeze.span.first < startDate { errors.add("start_date", stranded) }
                if let endDate, freeze.span.last > endDate { errors.add("end_date", stranded) }
            }
        }
        try errors.throwIfAnyTyped()
        return Subscription(
            id: id, memberID: memberID, planID: planID, startDate: startDate, endDate: endDate,
            paidThrough: paidThrough, cancellation: existing?.cancellation, freezes: existing?.freezes ?? [])
    }
}

extension Subscription {
    /// Adds a freeze after checking it lies within the subscription and overlaps no other freeze.
    public func addingFreeze(_ freeze: Freeze) throws(FieldErrors) -> Subscription {
        var errors = FieldErrors()
        if freeze.span.last < freeze.span.first {
            errors.add("end_date", "must be on or after start_date \(freeze.span.first)")
        } else {
            if freeze.span.first < startDate { errors.add("start_date", "must be on or after the subscription's start \(startDate)") }
            if let endDate, freeze.span.last > endDate { errors.add("end_date", "must be on or before the subscription's end \(endDate)") }
            for other in freezes where other.span.overlaps(freeze.span) {
                errors.add("start_date", "overlaps the freeze \(other.span.first)–\(other.span.last)")
            }
        }
        try errors.throwIfAnyTyped()
        var copy = self
        copy.freezes.append(freeze)
        copy.freezes.sort { $0.span.first < $1.span.first }
        return copy
    }

    /// Cancels from `effectiveDate` on; a later call replaces an earlier cancellation.
    public func cancelled(_ cancellation: Cancellation) -> Subscription {
        var copy = self
        copy.cancellation = cancellation
        return copy
    }
}

extension FieldErrors {
    /// Typed-throws helper: `throwIfAny()` rethrown as `FieldErrors`.
    func throwIfAnyTyped() throws(FieldErrors) {
        if !isEmpty { throw self }
    }
}

enum Validate {
    static func requiredText(_ text: String, field: String, into errors: inout FieldErrors) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { errors.add(field, "is required") }
        if trimmed.count > 200 { errors.add(field, "must be at most 200 characters") }
        return trimmed
    }

    static func optionalText(_ text: String?) -> String? {
        guard let trimmed = text?.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty else { return nil }
        return trimmed
    }

    static func lockIDs(_ ids: [Int], into errors: inout FieldErrors) {
        if ids.contains(where: { $0 <= 0 }) { errors.add("kisi_lock_ids", "must hold positive Kisi lock IDs") }
        if Set(ids).count != ids.count { errors.add("kisi_lock_ids", "lists a lock twice") }
    }

    static func isPlausiblePhone(_ phone: String) -> Bool {
        let allowed = Set("0123456789 +()-.")
        let digits = phone.filter(\.isNumber).count
        return phone.allSatisfy(allowed.contains) && (5...20).contains(digits)
    }
}
