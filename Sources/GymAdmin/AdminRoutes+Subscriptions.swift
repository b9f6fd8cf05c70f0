import Foundation
import GymCore
import GymStore
import Hummingbird

/// Selling, freezing, unfreezing and cancelling subscriptions from the member page. Each action
/// returns to the member page, whose door access panel shows the effect.
extension AdminRoutes {
    func addSubscriptionRoutes(to admin: RouterGroup<AdminContext>) {
        // The newest subscriptions with what they mean at the door now; changes happen on the member page.
        admin.get("subscriptions") { request, context in
            let session = try require(request, context)
            let planText = request.uri.queryParameters.get("plan_id") ?? ""
            let planID = UUID(uuidString: planText)
            if !planText.isEmpty && planID == nil { throw AdminError.badRequest("The plan filter must be a plan ID.") }
            return try page("subscriptions", request, context, session: session, active: "subscriptions", try await subscriptionsData(planID: planID))
        }
        admin.post("members/:id/subscriptions") { request, context in
            let (session, form) = try await postedForm(request, context)
            let memberID = try Self.id(context)
            _ = try await repository.member(memberID)
            return try await attempt(request, context, session: session, memberID: memberID, form: "sell", values: form.values, done: "sold") {
                var errors = FieldErrors()
                let planID = form.text("plan_id").flatMap(UUID.init(uuidString:))
                if planID == nil { errors.add("plan_id", "choose a plan") }
                let start = Self.date(form, "start_date", required: true, into: &errors)
                let end = Self.date(form, "end_date", required: false, into: &errors)
                let paidThrough = Self.date(form, "paid_through", required: true, into: &errors)
                try errors.throwIfAny()
                guard let planID, let start, let paidThrough else { throw errors }
                _ = try await repository.createSubscription(
                    SubscriptionDraft(memberID: memberID, planID: planID, startDate: start, endDate: end, paidThrough: paidThrough))
            }
        }
        admin.post("subscriptions/:id/freeze") { request, context in
            let (session, form) = try await postedForm(request, context)
            let subscription = try await repository.subscription(try Self.id(context))
            return try await attempt(request, context, session: session, memberID: subscription.memberID, form: "freeze", values: form.values, done: "frozen") {
                var errors = FieldErrors()
                let first = Self.date(form, "start_date", required: true, into: &errors)
                let last = Self.date(form, "end_date", required: true, into: &errors)
                if let first, let last, last < first { errors.add("end_date", "must not be before the first day") }
                try errors.throwIfAny()
                guard let first, let last else { throw errors }
                _ = try await repository.freeze(subscription.id, span: DateSpan(first: first, last: last), reason: form.text("reason"))
            }
        }
        admin.post("subscriptions/:id/unfreeze") { request, context in
            let (session, form) = try await postedForm(request, context)
            let subscription = try await repository.subscription(try Self.id(context))
            return try await attempt(request, context, session: session, memberID: subscription.memberID, form: "unfreeze", values: form.values, done: "unfrozen") {
                var errors = FieldErrors()
                let resume = Self.date(form, "resume_on", required: true, into: &errors)
                try errors.throwIfAny()
                guard let resume else { throw errors }
                _ = try await repository.unfreeze(subscription.id, resumeOn: resume)
            }
        }
        admin.post("subscriptions/:id/cancel") { request, context in
            let (session, form) = try await postedForm(request, context, role: .manager)
            let subscription = try await repository.subscription(try Self.id(context))
            return try await attempt(request, context, session: session, memberID: subscription.memberID, form: "cancel", values: form.values, done: "cancelled") {
                var errors = FieldErrors()
                let effective = Self.date(form, "effective_date", required: true, into: &errors)
                try errors.throwIfAny()
                guard let effective else { throw errors }
                _ = try await repository.cancel(subscription.id, effectiveDate: effective, reason: form.text("reason"))
            }
        }
    }

    static let subscriptionListLength = 100

    func subscriptionsData(planID: UUID?) async throws -> [String: Any] {
        let layout = try await repository.layout()
        // Newest first from the index's end; an offset of `total - 100` walked every older row.
        let newestPage = try await repository.subscriptions(planID: planID, PageRequest(limit: Self.subscriptionListLength), newestFirst: true)
        let total = newestPage.total
        let newest = newestPage.items
        // The rows' members and all their subscriptions in two queries, not two per row.
        let memberIDs = newest.map(\.memberID)
        let membersByID = try await repository.members(ids: memberIDs)
        let subscriptionsByMember = try await repository.subscriptions(memberIDs: memberIDs)
        let instant = now()
        var rows: [[String: Any]] = []
        var members: [UUID: (Member, AccessDecision)] = [:]
        for subscription in newest {
            if members[subscription.memberID] == nil, let member = membersByID[subscription.memberID] {
                let decision = AccessRule.decide(
                    member: member, subscriptions: subscriptionsByMember[member.id] ?? [], layout: layout, at: instant)
                members[member.id] = (member, decision)
            }
            guard let (member, decision) = members[subscription.memberID] else { continue }
            let access = decision.plans.first { $0.subscriptionIDs.contains(subscription.id) }
            var row: [String: Any] = [
                "memberID": member.id.uuidString, "member": member.fullName, "plan": layout.plans[subscription.planID]?.name ?? "?",
                "start": subscription.startDate.description, "end": subscription.endDate?.description ?? "renews",
                "paidThrough": subscription.paidThrough.description,
                "status": access.map { Self.reasonLabel($0.reason) } ?? "—", "allowed": access?.reason.grantsAccess ?? false,
            ]
            if let cancellation = subscription.cancellation { row["cancelledFrom"] = cancellation.effectiveDate.description }
            rows.append(row)
        }
        let plans = layout.plans.values.sorted { $0.name < $1.name }.map { plan -> [String: Any] in
            ["id": plan.id.uuidString, "name": plan.name, "selected": plan.id == planID]
        }
        return ["rows": rows, "total": total, "shown": rows.count, "plans": plans]
    }

    /// Runs a subscription change; on validation errors shows the member page again with the
    /// form's input and its errors, and nothing changed.
    func attempt(
        _ request: Request, _ context: AdminContext, session: StaffSession, memberID: UUID, form: String, values: [String: String],
        done: String, _ change: () async throws -> Void
    ) async throws -> Response {
        do {
            try await change()
            return Self.redirect("/admin/members/\(memberID)?done=\(done)")
        } catch let errors as FieldErrors {
            var data = try await memberData(memberID, session: session)
            data[form + "Errors"] = Self.errorData(errors)
            data[form + "Failed"] = true
            data[form + "Problems"] = Self.problemList(errors)
            if form == "sell" { data["sell"] = values }
            return try page("member", request, context, session: session, active: "members", data, status: .unprocessableContent)
        } catch StoreError.conflict(let message) {
            var data = try await memberData(memberID, session: session)
            data[form + "Errors"] = ["general": message]
            data[form + "Failed"] = true
            data[form + "Problems"] = [message]
            return try page("member", request, context, session: session, active: "members", data, status: .conflict)
        }
    }

    /// Every field error as one readable line ("end date: must not be before the first day").
    static func problemList(_ errors: FieldErrors) -> [String] {
        errors.fields.keys.sorted().map { field in
            field.replacingOccurrences(of: "_", with: " ") + ": " + (errors.fields[field] ?? []).joined(separator: "; ")
        }
    }

    static func date(_ form: FormData, _ field: String, required: Bool, into errors: inout FieldErrors) -> LocalDate? {
        guard let text = form.text(field) else {
            if required { errors.add(field, "is required") }
            return nil
        }
        guard let date = LocalDate(text) else {
            errors.add(field, "must be a date like 2026-12-31")
            return nil
        }
        return date
    }
}
