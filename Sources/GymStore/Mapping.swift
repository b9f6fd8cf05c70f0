import FluentKit
import Foundation
import GymCore

// Row ⇄ GymCore conversions. Rows are trusted to hold what the repository wrote; anything else is
// reported as `StoreError.corrupt` rather than trapping.

func localDate(_ text: String, _ what: String) throws -> LocalDate {
    guard let date = LocalDate(text) else { throw StoreError.corrupt("\(what) \"\(text)\" is not a date") }
    return date
}

extension ClubRow {
    func toDomain() throws -> Club {
        guard let zone = TimeZone(identifier: timeZone) else { throw StoreError.corrupt("time zone \(timeZone)") }
        return Club(id: try requireID(), name: name, timeZone: zone, kisiPlaceID: kisiPlaceID, kisiLockIDs: kisiLockIDs)
    }

    func apply(_ club: Club) {
        id = club.id
        name = club.name
        timeZone = club.timeZone.identifier
        kisiPlaceID = club.kisiPlaceID
        kisiLockIDs = club.kisiLockIDs
    }
}

extension StudioRow {
    func toDomain() throws -> Studio {
        Studio(id: try requireID(), clubID: $club.id, name: name, kisiLockIDs: kisiLockIDs)
    }

    func apply(_ studio: Studio) {
        id = studio.id
        $club.id = studio.clubID
        name = studio.name
        kisiLockIDs = studio.kisiLockIDs
    }
}

extension PlanRow {
    /// Needs `clubLinks` and `studioLinks` eager-loaded.
    func toDomain() throws -> Plan {
        Plan(
            id: try requireID(), name: name,
            clubIDs: clubLinks.sorted { $0.position < $1.position }.map { $0.$club.id },
            studioIDs: studioLinks.sorted { $0.position < $1.position }.map { $0.$studio.id },
            pastDueGraceDays: pastDueGraceDays, isArchived: archived)
    }
}

extension MemberRow {
    func toDomain() throws -> Member {
        guard let address = EmailAddress(email) else { throw StoreError.corrupt("e-mail \(email)") }
        return Member(
            id: try requireID(), firstName: firstName, lastName: lastName, email: address, phone: phone, notes: notes, block: try block())
    }

    func block() throws -> MemberBlock? {
        switch (blockReason, blockedAt, blockedBy) {
        case (nil, nil, nil): return nil
        case let (reason?, at?, by?): return MemberBlock(reason: reason, blockedAt: at, blockedBy: by)
        default: throw StoreError.corrupt("block of member \(id?.uuidString ?? "?") is half set")
        }
    }

    func setBlock(_ block: MemberBlock?) {
        blockReason = block?.reason
        blockedAt = block?.blockedAt
        blockedBy = block?.blockedBy
    }

    /// The member's own fields; the block changes only through `setBlock`, so editing a member's
    /// name or e-mail can never lift or set one.
    func apply(_ member: Member) {
        id = member.id
        firstName = member.firstName
        lastName = member.lastName
        email = member.email.value
        emailKey = member.email.normalized
        phone = member.phone
        notes = member.notes
        searchText = [member.firstName, member.lastName, member.email.value, member.phone ?? ""]
            .joined(separator: " ").lowercased()
    }
}

extension SubscriptionRow {
    /// Needs `freezes` eager-loaded.
    func toDomain() throws -> Subscription {
        try toDomain(freezes: freezes)
    }

    /// With its freezes given (loaded by the caller, see ``GymRepository/subscriptionsWithFreezes(_:)``).
    func toDomain(freezes: [FreezeRow]) throws -> Subscription {
        let cancellation = try cancelEffectiveDate.map {
            Cancellation(effectiveDate: try localDate($0, "cancellation date"), reason: cancelReason)
        }
        return Subscription(
            id: try requireID(), memberID: $member.id, planID: $plan.id,
            startDate: try localDate(startDate, "start date"),
            endDate: try endDate.map { try localDate($0, "end date") },
            paidThrough: try localDate(paidThrough, "paid-through date"),
            cancellation: cancellation,
            freezes: try freezes.map { try $0.toDomain() }.sorted { $0.span.first < $1.span.first })
    }

    func apply(_ subscription: Subscription) {
        id = subscription.id
        $member.id = subscription.memberID
        $plan.id = subscription.planID
        startDate = subscription.startDate.description
        endDate = subscription.endDate?.description
        paidThrough = subscription.paidThrough.description
        cancelEffectiveDate = subscription.cancellation?.effectiveDate.description
        cancelReason = subscription.cancellation?.reason
    }
}

extension FreezeRow {
    func toDomain() throws -> Freeze {
        Freeze(
            id: try requireID(),
            span: DateSpan(first: try localDate(firstDay, "freeze start"), last: try localDate(lastDay, "freeze end")),
            reason: reason)
    }
}

extension AccessChangeRow {
    func toDomain() throws -> AccessChange {
        guard let subject = AccessChange.Subject(rawValue: subject), let action = AccessChange.Action(rawValue: action) else {
            throw StoreError.corrupt("access change \(id ?? -1)")
        }
        return AccessChange(
            id: try requireID(), recordedAt: recordedAt, subject: subject, subjectID: subjectID, action: action,
            memberID: memberID, planID: planID)
    }
}
