import FluentKit
import Foundation
import GymCore

extension GymRepository {
    /// Subscriptions by start date (then ID), optionally of one member and/or one plan; with
    /// `newestFirst` the latest start dates come first (the admin page's view).
    public func subscriptions(
        memberID: UUID? = nil, planID: UUID? = nil, _ page: PageRequest = PageRequest(limit: PageRequest.maximumLimit),
        newestFirst: Bool = false
    ) async throws -> Page<Subscription> {
        let query = SubscriptionRow.query(on: database).with(\.$freezes)
        if let memberID { query.filter(\.$member.$id == memberID) }
        if let planID { query.filter(\.$plan.$id == planID) }
        var order = Self.subscriptionOrder
        order.descending = newestFirst
        return try await Self.page(query, page, keyset: order) { try $0.toDomain() }
    }

    /// Start date, ID: the subscriptions list's order. Migration 015 indexes it alone and after
    /// `member_id` and `plan_id`, the lists' two filters.
    static let subscriptionOrder = Keyset<SubscriptionRow>(
        columns: ["start_date", "id"], descending: false,
        key: { [$0.startDate, try $0.requireID().uuidString] },
        binds: { (values: [String]) throws(PageCursor.Mismatch) in
            // Stored as "YYYY-MM-DD" text; only a real date can be a key.
            guard LocalDate(values[0]) != nil, let id = UUID(uuidString: values[1]) else { throw PageCursor.Mismatch() }
            return [values[0], id]
        })

    /// Every subscription of one member, for the access rule.
    public func subscriptions(memberID: UUID) async throws -> [Subscription] {
        try await SubscriptionRow.query(on: database).with(\.$freezes).filter(\.$member.$id == memberID)
            .sort(\.$startDate).sort(\.$id).all().map { try $0.toDomain() }
    }

    /// Every subscription of each of these members (by start date), keyed by member; members without
    /// any map to an empty list. One query for a page of members instead of one per member.
    public func subscriptions(memberIDs: some Collection<UUID>) async throws -> [UUID: [Subscription]] {
        var byMember = Dictionary(uniqueKeysWithValues: Set(memberIDs).map { ($0, [Subscription]()) })
        guard !byMember.isEmpty else { return [:] }
        let rows = try await SubscriptionRow.query(on: database).with(\.$freezes).filter(\.$member.$id ~~ Array(byMember.keys))
            .sort(\.$startDate).sort(\.$id).all()
        for row in rows {
            let subscription = try row.toDomain()
            byMember[subscription.memberID, default: []].append(subscription)
        }
        return byMember
    }

    public func subscription(_ id: UUID) async throws -> Subscription {
        try await Self.subscriptionRow(id, on: database).toDomain()
    }

    /// Sells a plan to a member.
    public func createSubscription(_ draft: SubscriptionDraft) async throws -> Subscription {
        try await write { db in
            var errors = FieldErrors()
            if try await MemberRow.find(draft.memberID, on: db) == nil { errors.add("member_id", "no member with ID \(draft.memberID)") }
            if let plan = try await PlanRow.find(draft.planID, on: db) {
                if plan.archived { errors.add("plan_id", "plan \"\(plan.name)\" is archived and no longer sold") }
            } else {
                errors.add("plan_id", "no plan with ID \(draft.planID)")
            }
            let subscription: Subscription
            do throws(FieldErrors) {
                subscription = try draft.validated(id: UUID())
            } catch {
                errors.merge(error)
                throw errors
            }
            try errors.throwIfAny()
            let row = SubscriptionRow()
            row.apply(subscription)
            try await row.create(on: db)
            try await Self.record(.subscription, subscription.id, .created, member: subscription.memberID, plan: subscription.planID, on: db)
            return subscription
        }
    }

    /// Changes dates or paid-through; member and plan stay (sell a new subscription to switch plans).
    public func updateSubscription(_ id: UUID, _ edit: @escaping @Sendable (inout SubscriptionDraft) -> Void) async throws -> Subscription {
        try await modify(id, action: .updated) { current in
            var draft = SubscriptionDraft(
                memberID: current.memberID, planID: current.planID, startDate: current.startDate,
                endDate: current.endDate, paidThrough: current.paidThrough)
            edit(&draft)
            var errors = FieldErrors()
            if draft.memberID != current.memberID { errors.add("member_id", "cannot change; sell a new subscription instead") }
            if draft.planID != current.planID { errors.add("plan_id", "cannot change; sell a new subscription instead") }
            try errors.throwIfAny()
            return try draft.validated(id: id, keeping: current)
        }
    }

    public func deleteSubscription(_ id: UUID) async throws {
        try await write { db in
            let row = try await Self.subscriptionRow(id, on: db)
            try await FreezeRow.query(on: db).filter(\.$subscription.$id == id).delete()
            try await row.delete(on: db)
            try await Self.record(.subscription, id, .deleted, member: row.$member.id, plan: row.$plan.id, on: db)
        }
    }

    /// Freezes a subscription for an inclusive span of days.
    public func freeze(_ id: UUID, span: DateSpan, reason: String? = nil) async throws -> Subscription {
        try await modify(id, action: .frozen) { current in
            try current.addingFreeze(Freeze(span: span, reason: reason))
        }
    }

    /// Ends a freeze early so access resumes on `resumeOn`. Picks `freezeID`, or else the freeze in
    /// force on `resumeOn`, or else the next one to come. A freeze not yet begun is removed whole.
    public func unfreeze(_ id: UUID, freezeID: UUID? = nil, resumeOn: LocalDate) async throws -> Subscription {
        try resumeOn.checkSupported(field: "resume_on")
        return try await modify(id, action: .unfrozen) { current in
            var subscription = current
            let chosen: Int?
            if let freezeID {
                chosen = subscription.freezes.firstIndex { $0.id == freezeID }
                if chosen == nil { throw FieldErrors(field: "freeze_id", "no freeze with ID \(freezeID) on this subscription") }
            } else {
                chosen = subscription.freezes.firstIndex { $0.span.contains(resumeOn) }
                    ?? subscription.freezes.firstIndex { $0.span.first > resumeOn }
            }
            guard let index = chosen else { throw FieldErrors(field: "freeze_id", "the subscription has no current or upcoming freeze") }
            let span = subscription.freezes[index].span
            if span.last < resumeOn {
                throw FieldErrors(field: "resume_on", "the freeze \(span.first)–\(span.last) is already over")
            }
            if span.first >= resumeOn {
                subscription.freezes.remove(at: index)
            } else {
                subscription.freezes[index].span.last = resumeOn.adding(days: -1)
            }
            return subscription
        }
    }

    /// Cancels from `effectiveDate` (the first day without access).
    public func cancel(_ id: UUID, effectiveDate: LocalDate, reason: String? = nil) async throws -> Subscription {
        try await modify(id, action: .cancelled) { current in
            try current.cancelling(effectiveDate: effectiveDate, reason: reason)
        }
    }

    /// Reads, changes and rewrites one subscription (freezes included) in one transaction.
    func modify(
        _ id: UUID, action: AccessChange.Action, _ change: @escaping @Sendable (Subscription) throws -> Subscription
    ) async throws -> Subscription {
        try await write { db in
            let row = try await Self.subscriptionRow(id, on: db)
            let updated = try change(try row.toDomain())
            row.apply(updated)
            try await row.save(on: db)
            try await FreezeRow.query(on: db).filter(\.$subscription.$id == id).delete()
            for freeze in updated.freezes {
                let freezeRow = FreezeRow()
                freezeRow.id = freeze.id
                freezeRow.$subscription.id = id
                freezeRow.firstDay = freeze.span.first.description
                freezeRow.lastDay = freeze.span.last.description
                freezeRow.reason = freeze.reason
                try await freezeRow.create(on: db)
            }
            try await Self.record(.subscription, id, action, member: updated.memberID, plan: updated.planID, on: db)
            return updated
        }
    }

    static func subscriptionRow(_ id: UUID, on db: any Database) async throws -> SubscriptionRow {
        guard let row = try await SubscriptionRow.query(on: db).filter(\.$id == id).with(\.$freezes).first() else {
            throw StoreError.notFound(entity: "subscription", id: id)
        }
        return row
    }
}
