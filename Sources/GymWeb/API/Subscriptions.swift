import Foundation
import GymCore
import GymStore
import Hummingbird

// `/api/v1/subscriptions`: sales of plans, with freezes and cancellations.

extension GymRoutes {
    func addSubscriptionRoutes(to group: RouterGroup<APIContext>) {
        group.get { request, _ in
            let memberID = try request.uuidParameter("member_id")
            let planID = try request.uuidParameter("plan_id")
            let page = try await repository.subscriptions(memberID: memberID, planID: planID, try request.pageRequest(cursor: true))
            return ListResponse(page, SubscriptionBody.init)
        }
        group.post { request, context in
            let body = try await request.decodeJSON(SubscriptionCreate.self, context: context)
            return EditedResponse(status: .created, response: SubscriptionBody(try await repository.createSubscription(body.draft)))
        }
        group.get(":id") { _, context in
            SubscriptionBody(try await repository.subscription(try context.id("subscription")))
        }
        group.patch(":id") { request, context in
            let id = try context.id("subscription")
            let patch = try await request.decodeJSON(SubscriptionPatch.self, context: context)
            return SubscriptionBody(try await repository.updateSubscription(id) { patch.apply(to: &$0) })
        }
        group.delete(":id") { _, context in
            try await repository.deleteSubscription(try context.id("subscription"))
            return HTTPResponse.Status.noContent
        }
        group.post(":id/freeze") { request, context in
            let id = try context.id("subscription")
            let body = try await request.decodeJSON(FreezeRequest.self, context: context)
            let span = DateSpan(first: body.startDate, last: body.endDate)
            return SubscriptionBody(try await repository.freeze(id, span: span, reason: body.reason))
        }
        group.post(":id/unfreeze") { request, context in
            let id = try context.id("subscription")
            let body = try await request.decodeJSON(UnfreezeRequest.self, context: context, whenEmpty: UnfreezeRequest(freezeID: nil, resumeOn: nil))
            let resumeOn = if let date = body.resumeOn { date } else { try await today(forSubscription: id) }
            return SubscriptionBody(try await repository.unfreeze(id, freezeID: body.freezeID, resumeOn: resumeOn))
        }
        group.post(":id/cancel") { request, context in
            let id = try context.id("subscription")
            let body = try await request.decodeJSON(CancelRequest.self, context: context, whenEmpty: CancelRequest(effectiveDate: nil, reason: nil))
            let effective = if let date = body.effectiveDate { date } else { try await today(forSubscription: id) }
            return SubscriptionBody(try await repository.cancel(id, effectiveDate: effective, reason: body.reason))
        }
    }

    /// "Today" as the subscription's club sees it.
    func today(forSubscription id: UUID) async throws -> LocalDate {
        let subscription = try await repository.subscription(id)
        let layout = try await repository.layout()
        let zone = layout.plans[subscription.planID].map(layout.timeZone(of:)) ?? TimeZone(identifier: "UTC")!
        return LocalDate(containing: now(), in: zone)
    }
}

// MARK: - JSON

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
