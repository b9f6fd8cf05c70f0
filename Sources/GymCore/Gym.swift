import Foundation

/// A gym location with its own street entrance. Its doors are Kisi locks.
public struct Club: Identifiable, Hashable, Sendable {
    public var id: UUID
    public var name: String
    public var timeZone: TimeZone
    /// The Kisi place the club's locks belong to, once the gym has connected Kisi.
    public var kisiPlaceID: Int?
    /// Kisi lock IDs of the club's entrance doors.
    public var kisiLockIDs: [Int]

    public init(id: UUID = UUID(), name: String, timeZone: TimeZone, kisiPlaceID: Int? = nil, kisiLockIDs: [Int] = []) {
        self.id = id
        self.name = name
        self.timeZone = timeZone
        self.kisiPlaceID = kisiPlaceID
        self.kisiLockIDs = kisiLockIDs
    }
}

/// A room inside a club (spinning, yoga, sauna) that may have doors of its own.
public struct Studio: Identifiable, Hashable, Sendable {
    public var id: UUID
    public var clubID: UUID
    public var name: String
    /// Kisi lock IDs of the studio's own doors; empty when the studio is open to anyone inside the club.
    public var kisiLockIDs: [Int]

    public init(id: UUID = UUID(), clubID: UUID, name: String, kisiLockIDs: [Int] = []) {
        self.id = id
        self.clubID = clubID
        self.name = name
        self.kisiLockIDs = kisiLockIDs
    }
}

/// A membership product the gym sells. Staff screens call it a "subscription"; in Kisi it is one group.
public struct Plan: Identifiable, Hashable, Sendable {
    public var id: UUID
    public var name: String
    /// Clubs whose entrance doors the plan opens.
    public var clubIDs: [UUID]
    /// Studios whose doors the plan opens. A studio implies its club's entrance: nobody reaches the
    /// yoga room without passing the front door.
    public var studioIDs: [UUID]
    /// Days after the paid-through date during which an unpaid member still gets in.
    public var pastDueGraceDays: Int
    /// Archived plans are no longer sold; subscriptions already sold keep working.
    public var isArchived: Bool

    public init(
        id: UUID = UUID(), name: String, clubIDs: [UUID] = [], studioIDs: [UUID] = [],
        pastDueGraceDays: Int = 0, isArchived: Bool = false
    ) {
        self.id = id
        self.name = name
        self.clubIDs = clubIDs
        self.studioIDs = studioIDs
        self.pastDueGraceDays = pastDueGraceDays
        self.isArchived = isArchived
    }
}

/// A person who trains at the gym.
public struct Member: Identifiable, Hashable, Sendable {
    public var id: UUID
    public var firstName: String
    public var lastName: String
    public var email: EmailAddress
    public var phone: String?
    public var notes: String?
    /// Set while staff keep the member out of every door, whatever the subscriptions say.
    public var block: MemberBlock?

    public init(
        id: UUID = UUID(), firstName: String, lastName: String, email: EmailAddress, phone: String? = nil, notes: String? = nil,
        block: MemberBlock? = nil
    ) {
        self.id = id
        self.firstName = firstName
        self.lastName = lastName
        self.email = email
        self.phone = phone
        self.notes = notes
        self.block = block
    }

    public var fullName: String { "\(firstName) \(lastName)" }
}

/// Staff stopped a member at the doors (an incident, a card reported stolen) until they lift it.
/// Subscriptions are left as they are, so lifting the block restores exactly what they grant.
public struct MemberBlock: Hashable, Sendable {
    public static let maximumReasonLength = 500

    /// Why, in staff's words; shown at the front desk, so it is never empty.
    public var reason: String
    public var blockedAt: Date
    /// Who blocked, as the audit log names actors (`staff:<e-mail>`, `api:<token name>`).
    public var blockedBy: String

    public init(reason: String, blockedAt: Date, blockedBy: String) {
        self.reason = reason
        self.blockedAt = blockedAt
        self.blockedBy = blockedBy
    }

    /// A block from what staff typed: the reason trimmed, required and at most 500 characters.
    public static func validated(reason: String, blockedAt: Date, blockedBy: String) throws(FieldErrors) -> MemberBlock {
        var errors = FieldErrors()
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { errors.add("reason", "is required") }
        if trimmed.unicodeScalars.count > maximumReasonLength { errors.add("reason", "must be at most \(maximumReasonLength) characters") }
        if Validate.containsControlCharacters(reason, multiline: true) { errors.add("reason", Validate.controlCharacterMessage) }
        let actor = blockedBy.trimmingCharacters(in: .whitespacesAndNewlines)
        if actor.isEmpty { errors.add("blocked_by", "is required") }
        try errors.throwIfAnyTyped()
        return MemberBlock(reason: trimmed, blockedAt: blockedAt, blockedBy: actor)
    }
}

/// A member's purchase of a plan.
///
/// All dates are calendar dates in the time zone of the plan's club and are inclusive: access runs
/// from the start of `startDate` to the end of `endDate`.
public struct Subscription: Identifiable, Hashable, Sendable {
    public var id: UUID
    public var memberID: UUID
    public var planID: UUID
    public var startDate: LocalDate
    /// Last day of the subscription; `nil` means it renews until cancelled.
    public var endDate: LocalDate?
    /// Last day the member has paid for. Access continues for the plan's grace days after it.
    public var paidThrough: LocalDate
    public var cancellation: Cancellation?
    /// Periods without access (holidays, injuries). Never overlapping.
    public var freezes: [Freeze]

    public init(
        id: UUID = UUID(), memberID: UUID, planID: UUID, startDate: LocalDate, endDate: LocalDate? = nil,
        paidThrough: LocalDate, cancellation: Cancellation? = nil, freezes: [Freeze] = []
    ) {
        self.id = id
        self.memberID = memberID
        self.planID = planID
        self.startDate = startDate
        self.endDate = endDate
        self.paidThrough = paidThrough
        self.cancellation = cancellation
        self.freezes = freezes
    }
}

public struct Cancellation: Hashable, Sendable {
    /// The first day without access.
    public var effectiveDate: LocalDate
    public var reason: String?

    public init(effectiveDate: LocalDate, reason: String? = nil) {
        self.effectiveDate = effectiveDate
        self.reason = reason
    }
}

public struct Freeze: Identifiable, Hashable, Sendable {
    public var id: UUID
    public var span: DateSpan
    public var reason: String?

    public init(id: UUID = UUID(), span: DateSpan, reason: String? = nil) {
        self.id = id
        self.span = span
        self.reason = reason
    }
}
