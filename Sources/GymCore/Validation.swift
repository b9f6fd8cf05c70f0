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
        let zone = Validate.timeZone(timeZoneIdentifier, into: &errors)
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
        let address = Validate.email(email, into: &errors)
        let phone = Validate.optionalText(phone, field: "phone", maximumLength: TextLimits.phone, into: &errors)
        if let phone, phone.unicodeScalars.count <= TextLimits.phone, !Validate.isPlausiblePhone(phone) {
            errors.add("phone", "may hold only digits, spaces and + ( ) - . with 5 to 20 digits")
        }
        let notes = Validate.optionalText(notes, field: "notes", maximumLength: TextLimits.notes, multiline: true, into: &errors)
        guard errors.isEmpty, let address else { throw errors }
        return Member(id: id, firstName: first, lastName: last, email: address, phone: phone, notes: notes)
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
        Validate.supportedDate(startDate, field: "start_date", into: &errors)
        if let endDate { Validate.supportedDate(endDate, field: "end_date", into: &errors) }
        Validate.supportedDate(paidThrough, field: "paid_through", into: &errors)
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
        Validate.supportedDate(freeze.span.first, field: "start_date", into: &errors)
        Validate.supportedDate(freeze.span.last, field: "end_date", into: &errors)
        var freeze = freeze
        freeze.reason = Validate.optionalText(freeze.reason, field: "reason", maximumLength: TextLimits.reason, multiline: true, into: &errors)
        // Out-of-range dates are not compared with the subscription's: the problem is the date itself.
        let datesSupported = freeze.span.first.isSupported && freeze.span.last.isSupported
        if datesSupported, freeze.span.last < freeze.span.first {
            errors.add("end_date", "must be on or after start_date \(freeze.span.first)")
        } else if datesSupported {
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

    /// A cancellation as staff or an API client asked for it: the date within the supported years,
    /// the reason trimmed, free of control characters and at most ``TextLimits/reason`` characters.
    public func cancelling(effectiveDate: LocalDate, reason: String?) throws(FieldErrors) -> Subscription {
        var errors = FieldErrors()
        Validate.supportedDate(effectiveDate, field: "effective_date", into: &errors)
        let reason = Validate.optionalText(reason, field: "reason", maximumLength: TextLimits.reason, multiline: true, into: &errors)
        try errors.throwIfAnyTyped()
        return cancelled(Cancellation(effectiveDate: effectiveDate, reason: reason))
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

/// The longest text each kind of field accepts, counted in Unicode code points (what JSON Schema's
/// `maxLength` counts). The OpenAPI document repeats them; a change here belongs there too.
public enum TextLimits {
    /// Names of clubs, studios, plans and members.
    public static let name = 200
    /// IANA zone identifiers; the longest in use has 32 characters.
    public static let timeZone = 64
    /// RFC 5321's limit on a forward path.
    public static let email = 254
    public static let phone = 40
    public static let notes = 2_000
    /// Reasons for blocks, freezes and cancellations.
    public static let reason = MemberBlock.maximumReasonLength
    /// Free-text search (`q`) and other filter strings in query parameters.
    public static let query = 200
}

extension LocalDate {
    /// The years a stored calendar date may fall in. Memberships are sold for today, so this is
    /// generous; its point is to keep date arithmetic (grace days, freezes, Kisi's `valid_until`)
    /// and the database's timestamps far away from the edges of what they can represent.
    public static let supportedYears = 1900...2200

    public var isSupported: Bool { Self.supportedYears.contains(year) }

    /// Throws a field error for `field` when the date falls outside ``supportedYears``.
    public func checkSupported(field: String) throws(FieldErrors) {
        var errors = FieldErrors()
        Validate.supportedDate(self, field: field, into: &errors)
        try errors.throwIfAnyTyped()
    }
}

public enum Validate {
    /// Control characters (C0, DEL and C1) have no business in a name or an address: NUL truncates
    /// text in SQLite and is refused by PostgreSQL, and the others corrupt CSV exports, logs and
    /// terminals. Multi-line fields may keep tab, line feed and carriage return.
    /// (Line breaks around a value are trimmed away anyway; callers check the raw text with
    /// `multiline: true` as well, so that control characters trimming would remove, such as NEL, count.)
    public static func containsControlCharacters(_ text: String, multiline: Bool = false) -> Bool {
        text.unicodeScalars.contains { scalar in
            let value = scalar.value
            guard value < 0x20 || (0x7F...0x9F).contains(value) else { return false }
            return !(multiline && (value == 0x09 || value == 0x0A || value == 0x0D))
        }
    }

    static let controlCharacterMessage = "must not contain control characters"

    static func requiredText(_ text: String, field: String, maximumLength: Int = TextLimits.name, into errors: inout FieldErrors) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { errors.add(field, "is required") }
        if trimmed.unicodeScalars.count > maximumLength { errors.add(field, "must be at most \(maximumLength) characters") }
        if containsControlCharacters(trimmed) || containsControlCharacters(text, multiline: true) {
            errors.add(field, controlCharacterMessage)
        }
        return trimmed
    }

    static func optionalText(_ text: String?) -> String? {
        guard let trimmed = text?.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty else { return nil }
        return trimmed
    }

    /// Trimmed optional text (blank means none), checked for length and control characters.
    static func optionalText(
        _ text: String?, field: String, maximumLength: Int, multiline: Bool = false, into errors: inout FieldErrors
    ) -> String? {
        // Checked before trimming too: trimming removes NEL (U+0085) and friends, and a value of
        // nothing else would otherwise pass as blank and clear the field.
        if let text, containsControlCharacters(text, multiline: true) {
            errors.add(field, controlCharacterMessage)
            return nil
        }
        guard let trimmed = optionalText(text) else { return nil }
        if trimmed.unicodeScalars.count > maximumLength { errors.add(field, "must be at most \(maximumLength) characters") }
        if containsControlCharacters(trimmed, multiline: multiline) { errors.add(field, controlCharacterMessage) }
        return trimmed
    }

    /// An e-mail address; over-long input is not echoed back in the message.
    static func email(_ text: String, field: String = "email", into errors: inout FieldErrors) -> EmailAddress? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty {
            errors.add(field, "is required")
        } else if trimmed.unicodeScalars.count > TextLimits.email {
            errors.add(field, "must be at most \(TextLimits.email) characters")
        } else if containsControlCharacters(trimmed) || containsControlCharacters(text, multiline: true) {
            errors.add(field, controlCharacterMessage)
        } else if let address = EmailAddress(trimmed) {
            return address
        } else {
            errors.add(field, "\"\(trimmed)\" is not a valid e-mail address")
        }
        return nil
    }

    /// An IANA time zone. Checked before Foundation sees it: its lookup stops at a NUL, so
    /// `"Europe/Bucharest\u{0}…"` could otherwise name a zone.
    static func timeZone(_ identifier: String, field: String = "time_zone", into errors: inout FieldErrors) -> TimeZone? {
        if identifier.unicodeScalars.count > TextLimits.timeZone {
            errors.add(field, "must be at most \(TextLimits.timeZone) characters")
        } else if containsControlCharacters(identifier) {
            errors.add(field, controlCharacterMessage)
        } else if let zone = TimeZone(identifier: identifier) {
            return zone
        } else {
            errors.add(field, "\"\(identifier)\" is not an IANA time zone such as Europe/Bucharest")
        }
        return nil
    }

    static func supportedDate(_ date: LocalDate, field: String, into errors: inout FieldErrors) {
        if !date.isSupported {
            errors.add(field, "must be in the years \(LocalDate.supportedYears.lowerBound) to \(LocalDate.supportedYears.upperBound)")
        }
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
