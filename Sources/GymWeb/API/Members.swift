import Foundation
import GymCore
import GymStore
import Hummingbird

// `/api/v1/members`: members, their blocks, their access decision and their subscriptions.

extension GymRoutes {
    func addMemberRoutes(to group: RouterGroup<APIContext>) {
        group.get { request, _ in
            let search = try request.textParameter("q")
            let page = try await repository.members(search: search, try request.pageRequest(cursor: true))
            let kisiUsers = try await repository.kisiUserIDs(memberIDs: page.items.map(\.id))
            return ListResponse(page) { MemberBody($0, kisiUserID: kisiUsers[$0.id]) }
        }
        group.post { request, context in
            let body = try await request.decodeJSON(MemberCreate.self, context: context)
            return EditedResponse(status: .created, response: try await memberBody(try await repository.createMember(body.draft)))
        }
        group.get(":id") { _, context in
            try await memberBody(try await repository.member(try context.id("member")))
        }
        group.patch(":id") { request, context in
            let id = try context.id("member")
            let patch = try await request.decodeJSON(MemberPatch.self, context: context)
            return try await memberBody(try await repository.updateMember(id) { patch.apply(to: &$0) })
        }
        group.delete(":id") { _, context in
            try await repository.deleteMember(try context.id("member"))
            return HTTPResponse.Status.noContent
        }
        group.post(":id/block") { request, context in
            let id = try context.id("member")
            let body = try await request.decodeJSON(BlockRequest.self, context: context)
            return try await memberBody(try await repository.blockMember(id: id, reason: body.reason, by: context.actor))
        }
        // No body to read: there is nothing to say about lifting a block.
        group.post(":id/unblock") { _, context in
            try await memberBody(try await repository.unblockMember(id: try context.id("member"), by: context.actor))
        }
        group.get(":id/access") { request, context in
            let id = try context.id("member")
            let instant = try request.instantParameter("at") ?? now()
            return AccessBody(try await repository.accessDecision(memberID: id, at: instant))
        }
        group.get(":id/subscriptions") { request, context in
            let id = try context.id("member")
            _ = try await repository.member(id)
            return ListResponse(try await repository.subscriptions(memberID: id, planID: nil, try request.pageRequest(cursor: true)), SubscriptionBody.init)
        }
    }
}

extension GymRoutes {
    /// The member with the Kisi user the sync linked it to (created or adopted), if any.
    func memberBody(_ member: Member) async throws -> MemberBody {
        MemberBody(member, kisiUserID: try await repository.kisiUserIDs(memberIDs: [member.id])[member.id])
    }
}

// MARK: - JSON

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
    /// The member's Kisi user (created by the sync or adopted by e-mail); absent while there is none.
    let kisiUserID: Int?

    enum CodingKeys: String, CodingKey {
        case id, firstName = "first_name", lastName = "last_name", email, phone, notes, blocked, kisiUserID = "kisi_user_id"
    }

    init(_ member: Member, kisiUserID: Int? = nil) {
        self.kisiUserID = kisiUserID
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

    struct ClassWindowBody: Encodable, Sendable {
        let bookingID: UUID
        let classID: UUID
        let date: String
        let classStartsAt: Date
        let classEndsAt: Date
        let doorOpensAt: Date
        let doorClosesAt: Date
        enum CodingKeys: String, CodingKey {
            case bookingID = "booking_id", classID = "class_id", date, classStartsAt = "class_starts_at", classEndsAt = "class_ends_at"
            case doorOpensAt = "door_opens_at", doorClosesAt = "door_closes_at"
        }
    }

    struct DoorBody: Encodable, Sendable {
        let lockID: Int
        let clubID: UUID
        let studioID: UUID?
        let allowed: Bool
        let reason: AccessReason
        let explanation: String
        let grantingPlanIDs: [UUID]
        let validFrom: Date?
        let validUntil: Date?
        let classWindow: ClassWindowBody?
        enum CodingKeys: String, CodingKey {
            case lockID = "lock_id", clubID = "club_id", studioID = "studio_id", allowed, reason, explanation
            case grantingPlanIDs = "granting_plan_ids", validFrom = "valid_from", validUntil = "valid_until", classWindow = "class_window"
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
                reason: $0.reason, explanation: $0.explanation, grantingPlanIDs: $0.grantingPlanIDs, validFrom: $0.window?.from,
                validUntil: $0.window?.until,
                classWindow: $0.classWindow.map {
                    ClassWindowBody(
                        bookingID: $0.bookingID, classID: $0.classID, date: $0.occurrenceDate.description, classStartsAt: $0.classStartsAt,
                        classEndsAt: $0.classEndsAt, doorOpensAt: $0.opensAt, doorClosesAt: $0.closesAt)
                })
        }
    }
}
