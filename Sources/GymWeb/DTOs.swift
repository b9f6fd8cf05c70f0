import Foundation
import GymCore
import GymStore
import Hummingbird

// The API's JSON shapes. Field names are snake_case; calendar dates are "YYYY-MM-DD" in the club's
// zone; instants are ISO 8601 in UTC. Create bodies are complete; PATCH bodies change only the
// keys they contain, and `null` clears an optional field.

extension KeyedDecodingContainer {
    /// For PATCH: `nil` when the key is absent, `.some(nil)` when it is `null`.
    func patch<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T?? {
        guard contains(key) else { return nil }
        if try decodeNil(forKey: key) { return .some(nil) }
        return .some(try decode(T.self, forKey: key))
    }
}

struct ListResponse<Item: Encodable & Sendable>: ResponseEncodable, Sendable {
    let items: [Item]
    let total: Int
    let limit: Int
    let offset: Int

    init<Source: Sendable>(_ page: Page<Source>, _ transform: (Source) -> Item) {
        self.items = page.items.map(transform)
        self.total = page.total
        self.limit = page.limit
        self.offset = page.offset
    }
}

// MARK: - Clubs

struct ClubBody: ResponseEncodable, Sendable {
    let id: UUID
    let name: String
    let timeZone: String
    let kisiPlaceID: Int?
    let kisiLockIDs: [Int]

    enum CodingKeys: String, CodingKey {
        case id, name, timeZone = "time_zone", kisiPlaceID = "kisi_place_id", kisiLockIDs = "kisi_lock_ids"
    }

    init(_ club: Club) {
        id = club.id
        name = club.name
        timeZone = club.timeZone.identifier
        kisiPlaceID = club.kisiPlaceID
        kisiLockIDs = club.kisiLockIDs
    }
}

struct ClubCreate: Decodable {
    let name: String
    let timeZone: String
    let kisiPlaceID: Int?
    let kisiLockIDs: [Int]?
    enum CodingKeys: String, CodingKey {
        case name, timeZone = "time_zone", kisiPlaceID = "kisi_place_id", kisiLockIDs = "kisi_lock_ids"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        timeZone = try container.decode(String.self, forKey: .timeZone)
        kisiPlaceID = try container.decodeInteger(forKey: .kisiPlaceID)
        kisiLockIDs = try container.decodeIntegers(forKey: .kisiLockIDs)
    }

    var draft: ClubDraft {
        ClubDraft(name: name, timeZoneIdentifier: timeZone, kisiPlaceID: kisiPlaceID, kisiLockIDs: kisiLockIDs ?? [])
    }
}

struct ClubPatch: Decodable, Sendable {
    var name: String?
    var timeZone: String?
    var kisiPlaceID: Int??
    var kisiLockIDs: [Int]?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: ClubBody.CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        timeZone = try container.decodeIfPresent(String.self, forKey: .timeZone)
        kisiPlaceID = try container.patchInteger(forKey: .kisiPlaceID)
        kisiLockIDs = try container.decodeIntegers(forKey: .kisiLockIDs)
    }

    func apply(to draft: inout ClubDraft) {
        if let name { draft.name = name }
        if let timeZone { draft.timeZoneIdentifier = timeZone }
        if let kisiPlaceID { draft.kisiPlaceID = kisiPlaceID }
        if let kisiLockIDs { draft.kisiLockIDs = kisiLockIDs }
    }
}

// MARK: - Studios

struct StudioBody: ResponseEncodable, Sendable {
    let id: UUID
    let clubID: UUID
    let name: String
    let kisiLockIDs: [Int]

    enum CodingKeys: String, CodingKey {
        case id, clubID = "club_id", name, kisiLockIDs = "kisi_lock_ids"
    }

    init(_ studio: Studio) {
        id = studio.id
        clubID = studio.clubID
        name = studio.name
        kisiLockIDs = studio.kisiLockIDs
    }
}

struct StudioCreate: Decodable {
    let clubID: UUID
    let name: String
    let kisiLockIDs: [Int]?
    enum CodingKeys: String, CodingKey { case clubID = "club_id", name, kisiLockIDs = "kisi_lock_ids" }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        clubID = try container.decode(UUID.self, forKey: .clubID)
        name = try container.decode(String.self, forKey: .name)
        kisiLockIDs = try container.decodeIntegers(forKey: .kisiLockIDs)
    }

    var draft: StudioDraft { StudioDraft(clubID: clubID, name: name, kisiLockIDs: kisiLockIDs ?? []) }
}

struct StudioPatch: Decodable, Sendable {
    let clubID: UUID?
    let name: String?
    let kisiLockIDs: [Int]?
    enum CodingKeys: String, CodingKey { case clubID = "club_id", name, kisiLockIDs = "kisi_lock_ids" }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        clubID = try container.decodeIfPresent(UUID.self, forKey: .clubID)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        kisiLockIDs = try container.decodeIntegers(forKey: .kisiLockIDs)
    }

    func apply(to draft: inout StudioDraft) {
        if let clubID { draft.clubID = clubID }
        if let name { draft.name = name }
        if let kisiLockIDs { draft.kisiLockIDs = kisiLockIDs }
    }
}

// MARK: - Plans

struct PlanBody: ResponseEncodable, Sendable {
    let id: UUID
    let name: String
    let clubIDs: [UUID]
    let studioIDs: [UUID]
    let pastDueGraceDays: Int
    let archived: Bool
    /// Derived: every Kisi lock the plan opens (its Kisi group's doors).
    let kisiLockIDs: [Int]

    enum CodingKeys: String, CodingKey {
        case id, name, clubIDs = "club_ids", studioIDs = "studio_ids", pastDueGraceDays = "past_due_grace_days"
        case archived, kisiLockIDs = "kisi_lock_ids"
    }

    init(_ plan: Plan, layout: GymLayout) {
        id = plan.id
        name = plan.name
        clubIDs = plan.clubIDs
        studioIDs = plan.studioIDs
        pastDueGraceDays = plan.pastDueGraceDays
        archived = plan.isArchived
        kisiLockIDs = layout.lockIDs(of: plan)
    }
}

struct PlanCreate: Decodable {
    let name: String
    let clubIDs: [UUID]?
    let studioIDs: [UUID]?
    let pastDueGraceDays: Int?
    let archived: Bool?
    enum CodingKeys: String, CodingKey {
        case name, clubIDs = "club_ids", studioIDs = "studio_ids", pastDueGraceDays = "past_due_grace_days", archived
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        clubIDs = try container.decodeIfPresent([UUID].self, forKey: .clubIDs)
        studioIDs = try container.decodeIfPresent([UUID].self, forKey: .studioIDs)
        pastDueGraceDays = try container.decodeInteger(forKey: .pastDueGraceDays)
        archived = try container.decodeIfPresent(Bool.self, forKey: .archived)
    }

    var draft: PlanDraft {
        PlanDraft(name: name, clubIDs: clubIDs ?? [], studioIDs: studioIDs ?? [], pastDueGraceDays: pastDueGraceDays ?? 0, isArchived: archived ?? false)
    }
}

struct PlanPatch: Decodable, Sendable {
    let name: String?
    let clubIDs: [UUID]?
    let studioIDs: [UUID]?
    let pastDueGraceDays: Int?
    let archived: Bool?
    enum CodingKeys: String, CodingKey {
        case name, clubIDs = "club_ids", studioIDs = "studio_ids", pastDueGraceDays = "past_due_grace_days", archived
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        clubIDs = try container.decodeIfPresent([UUID].self, forKey: .clubIDs)
        studioIDs = try container.decodeIfPresent([UUID].self, forKey: .studioIDs)
        pastDueGraceDays = try container.decodeInteger(forKey: .pastDueGraceDays)
        archived = try container.decodeIfPresent(Bool.self, forKey: .archived)
    }

    func apply(to draft: inout PlanDraft) {
        if let name { draft.name = name }
        if let clubIDs { draft.clubIDs = clubIDs }
        if let studioIDs { draft.studioIDs = studioIDs }
        if let pastDueGraceDays { draft.pastDueGraceDays = pastDueGraceDays }
        if let archived { draft.isArchived = archived }
    }
}

// MARK: - Members

struct MemberBody: ResponseEncodable, Sendable {
    struct BlockBody: Encodable, Sendable {
        let reason: String
        let blockedAt: Date
        let blockedBy: String
        enum CodingKeys: String, CodingKey { case reason, blockedAt = "blocked_at", blockedBy = "blocked_by" }
    }

    let id: UUID
    let firstName: String
    let lastName: String
    let email: String
    let phone: String?
    let notes: String?
    let blocked: BlockBody?

    enum CodingKeys: String, CodingKey {
        case id, firstName = "first_name", lastName = "last_name", email, phone, notes, blocked
    }

    init(_ member: Member) {
        id = member.id
        firstName = member.firstName
        lastName = member.lastName
        email = member.email.value
        phone = member.phone
        notes = member.notes
        blocked = member.block.map { BlockBody(reason: $0.reason, blockedAt: $0.blockedAt, blockedBy: $0.blockedBy) }
    }
}

struct BlockRequest: Decodable {
    let reason: String
}

struct MemberCreate: Decodable {
    let firstName: String
    let lastName: String
    let email: String
    let phone: String?
    let notes: String?
    enum CodingKeys: String, CodingKey {
        case firstName = "first_name", lastName = "last_name", email, phone, notes
    }

    var draft: MemberDraft { MemberDraft(firstName: firstName, lastName: lastName, email: email, phone: phone, notes: notes) }
}

struct MemberPatch: Decodable, Sendable {
    var firstName: String?
    var lastName: String?
    var email: String?
    var phone: String??
    var notes: String??

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: MemberBody.CodingKeys.self)
        firstName = try container.decodeIfPresent(String.self, forKey: .firstName)
        lastName = try container.decodeIfPresent(String.self, forKey: .lastName)
        email = try container.decodeIfPresent(String.self, forKey: .email)
        phone = try container.patch(String.self, forKey: .phone)
        notes = try container.patch(String.self, forKey: .notes)
    }

    func apply(to draft: inout MemberDraft) {
        if let firstName { draft.firstName = firstName }
        if let lastName { draft.lastName = lastName }
        if let email { draft.email = email }
        if let phone { draft.phone = phone }
        if let notes { draft.notes = notes }
    }
}

// MARK: - Subscriptions

struct SubscriptionBody: ResponseEncodable, Sendable {
    struct CancellationBody: Encodable, Sendable {
        let effectiveDate: LocalDate
        let reason: String?
        enum CodingKeys: String, CodingKey { case effectiveDate = "effective_date", reason }
    }

    struct FreezeBody: Encodable, Sendable {
        let id: UUID
        let startDate: LocalDate
        let endDate: LocalDate
        let reason: String?
        enum CodingKeys: String, CodingKey { case id, startDate = "start_date", endDate = "end_date", reason }
    }

    let id: UUID
    let memberID: UUID
    let planID: UUID
    let startDate: LocalDate
    let endDate: LocalDate?
    let paidThrough: LocalDate
    let cancellation: CancellationBody?
    let freezes: [FreezeBody]

    enum CodingKeys: String, CodingKey {
        case id, memberID = "member_id", planID = "plan_id", startDate = "start_date", endDate = "end_date"
        case paidThrough = "paid_through", cancellation, freezes
    }

    init(_ subscription: Subscription) {
        id = subscription.id
        memberID = subscription.memberID
        planID = subscription.planID
        startDate = subscription.startDate
        endDate = subscription.endDate
        paidThrough = subscription.paidThrough
        cancellation = subscription.cancellation.map { CancellationBody(effectiveDate: $0.effectiveDate, reason: $0.reason) }
        freezes = subscription.freezes.map { FreezeBody(id: $0.id, startDate: $0.span.first, endDate: $0.span.last, reason: $0.reason) }
    }
}

struct SubscriptionCreate: Decodable {
    let memberID: UUID
    let planID: UUID
    let startDate: LocalDate
    let endDate: LocalDate?
    let paidThrough: LocalDate
    enum CodingKeys: String, CodingKey {
        case memberID = "member_id", planID = "plan_id", startDate = "start_date", endDate = "end_date", paidThrough = "paid_through"
    }

    var draft: SubscriptionDraft {
        SubscriptionDraft(memberID: memberID, planID: planID, startDate: startDate, endDate: endDate, paidThrough: paidThrough)
    }
}

struct SubscriptionPatch: Decodable, Sendable {
    var startDate: LocalDate?
    var endDate: LocalDate??
    var paidThrough: LocalDate?
    var memberID: UUID?
    var planID: UUID?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: SubscriptionBody.CodingKeys.self)
        startDate = try container.decodeIfPresent(LocalDate.self, forKey: .startDate)
        endDate = try container.patch(LocalDate.self, forKey: .endDate)
        paidThrough = try container.decodeIfPresent(LocalDate.self, forKey: .paidThrough)
        memberID = try container.decodeIfPresent(UUID.self, forKey: .memberID)
        planID = try container.decodeIfPresent(UUID.self, forKey: .planID)
    }

    func apply(to draft: inout SubscriptionDraft) {
        if let startDate { draft.startDate = startDate }
        if let endDate { draft.endDate = endDate }
        if let paidThrough { draft.paidThrough = paidThrough }
        if let memberID { draft.memberID = memberID }
        if let planID { draft.planID = planID }
    }
}

struct FreezeRequest: Decodable {
    let startDate: LocalDate
    let endDate: LocalDate
    let reason: String?
    enum CodingKeys: String, CodingKey { case startDate = "start_date", endDate = "end_date", reason }
}

struct UnfreezeRequest: Decodable {
    let freezeID: UUID?
    let resumeOn: LocalDate?
    enum CodingKeys: String, CodingKey { case freezeID = "freeze_id", resumeOn = "resume_on" }
}

struct CancelRequest: Decodable {
    let effectiveDate: LocalDate?
    let reason: String?
    enum CodingKeys: String, CodingKey { case effectiveDate = "effective_date", reason }
}

// MARK: - Access

struct AccessBody: ResponseEncodable, Sendable {
    struct PlanBody: Encodable, Sendable {
        let planID: UUID
        let reason: AccessReason
        let validFrom: Date?
        let validUntil: Date?
        let upcomingFrom: Date?
        let upcomingUntil: Date?
        let inGracePeriod: Bool
        let subscriptionIDs: [UUID]
        let kisiLockIDs: [Int]
        enum CodingKeys: String, CodingKey {
            case planID = "plan_id", reason, validFrom = "valid_from", validUntil = "valid_until"
            case upcomingFrom = "upcoming_from", upcomingUntil = "upcoming_until", inGracePeriod = "in_grace_period"
            case subscriptionIDs = "subscription_ids", kisiLockIDs = "kisi_lock_ids"
        }
    }

    struct DoorBody: Encodable, Sendable {
        let lockID: Int
        let clubID: UUID
        let studioID: UUID?
        let allowed: Bool
        let reason: AccessReason
        let grantingPlanIDs: [UUID]
        let validFrom: Date?
        let validUntil: Date?
        enum CodingKeys: String, CodingKey {
            case lockID = "lock_id", clubID = "club_id", studioID = "studio_id", allowed, reason
            case grantingPlanIDs = "granting_plan_ids", validFrom = "valid_from", validUntil = "valid_until"
        }
    }

    let memberID: UUID
    let evaluatedAt: Date
    let mayEnter: Bool
    let reason: AccessReason
    let explanation: String
    let validFrom: Date?
    let validUntil: Date?
    let plans: [PlanBody]
    let doors: [DoorBody]

    enum CodingKeys: String, CodingKey {
        case memberID = "member_id", evaluatedAt = "evaluated_at", mayEnter = "may_enter", reason, explanation
        case validFrom = "valid_from", validUntil = "valid_until", plans, doors
    }

    init(_ decision: AccessDecision) {
        memberID = decision.memberID
        evaluatedAt = decision.evaluatedAt
        mayEnter = decision.mayEnter
        reason = decision.reason
        explanation = decision.explanation
        validFrom = decision.window?.from
        validUntil = decision.window?.until
        plans = decision.plans.map {
            PlanBody(
                planID: $0.planID, reason: $0.reason, validFrom: $0.window?.from, validUntil: $0.window?.until,
                upcomingFrom: $0.upcoming?.from, upcomingUntil: $0.upcoming?.until, inGracePeriod: $0.inGracePeriod,
                subscriptionIDs: $0.subscriptionIDs, kisiLockIDs: $0.lockIDs)
        }
        doors = decision.doors.map {
            DoorBody(
                lockID: $0.door.lockID, clubID: $0.door.clubID, studioID: $0.door.studioID, allowed: $0.allowed,
                reason: $0.reason, grantingPlanIDs: $0.grantingPlanIDs, validFrom: $0.window?.from, validUntil: $0.window?.until)
        }
    }
}
