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
            if !planText.isEmpty && planID == nil { throw AdminError.badRequest("Choose the plan from the list.") }
            let query = request.uri.queryParameters
            let statusText = query.get("status") ?? ""
            let status = AccessReason(rawValue: statusText)
            if !statusText.isEmpty && (status == nil || status == .notBooked) { throw AdminError.badRequest("Choose the status from the list.") }
            var cursor: PageCursor?
            if let token = query.get("cursor"), !token.isEmpty {
                guard let parsed = PageCursor(token: token) else { throw AdminError.badRequest("That page link is not valid; start from the first page.") }
                cursor = parsed
            }
            let first = cursor == nil ? 1 : max(1, min(Int(query.get("from") ?? "") ?? 1, PageRequest.maximumOffset))
            // By start date, latest first (the default) or earliest first: both page by the start-date keyset.
            let sortText = query.get("sort") ?? ""
            guard ["", "newest", "oldest"].contains(sortText) else { throw AdminError.badRequest("Choose the order from the list.") }
            return try page("subscriptions", request, context, session: session, active: "subscriptions",
                            try await subscriptionsData(planID: planID, status: status, cursor: cursor, first: first, oldestFirst: sortText == "oldest"))
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
    /// A status filter reads on through older pages until its page is full; this bounds one request's reading.
    static let subscriptionScanLimit = 5_000

    /// Newest subscriptions first, each with its own state today in its plan's club (a subscription
    /// starting next week reads "Not started" even when the member holds another active one), a page at
    /// a time by keyset cursor. The state is worked out by the access rule, not stored, so a status
    /// filter reads on through the pages until its page is full.
    func subscriptionsData(planID: UUID?, status: AccessReason?, cursor: PageCursor?, first: Int, oldestFirst: Bool = false) async throws -> [String: Any] {
        let layout = try await repository.layout()
        let instant = now()
        var rows: [[String: Any]] = []
        var next = cursor
        var total = 0
        var scanned = 0
        var more: PageCursor?
        repeat {
            let page: Page<Subscription>
            do {
                page = try await repository.subscriptions(
                    planID: planID, PageRequest(limit: Self.subscriptionListLength, cursor: next), newestFirst: !oldestFirst)
            } catch is PageCursor.Mismatch {
                throw AdminError.badRequest("That page link is not valid; start from the first page.")
            }
            total = page.total
            scanned += page.items.count
            let membersByID = try await repository.members(ids: page.items.map(\.memberID))
            let today = ClubTime.gym(layout)
            for (index, subscription) in page.items.enumerated() {
                guard let member = membersByID[subscription.memberID] else { continue }
                let plan = layout.plans[subscription.planID]
                let zone = plan.map { layout.timeZone(of: $0) } ?? today.zone
                let localToday = LocalDate(containing: instant, in: zone)
                // The subscription's own state; a staff block closes the doors whatever it says.
                let own = AccessRule.reason(for: subscription, on: localToday, graceDays: plan?.pastDueGraceDays ?? 0)
                let state = member.block == nil ? own : .blocked
                if let status, status != state { continue }
                var row: [String: Any] = [
                    "id": subscription.id.uuidString, "memberID": member.id.uuidString, "member": member.fullName,
                    "avatar": ["initials": Self.initials(member), "hue": Self.avatarHue(member.id)],
                    "plan": plan?.name ?? "?",
                    "start": ClubTime.day(subscription.startDate, now: localToday), "startISO": subscription.startDate.description,
                    "end": subscription.endDate.map { ClubTime.day($0, now: localToday) } ?? "renews",
                    "paidThrough": ClubTime.day(subscription.paidThrough, now: localToday),
                    "status": Self.statusData(state),
                ]
                if let cancellation = subscription.cancellation { row["cancelledFrom"] = ClubTime.day(cancellation.effectiveDate, now: localToday) }
                rows.append(row)
                if rows.count == Self.subscriptionListLength {
                    // A full page: the next one starts after this row, whatever is left of the database page.
                    more = index == page.items.count - 1 ? page.nextCursor : PageCursor(values: [subscription.startDate.description, subscription.id.uuidString])
                    break
                }
            }
            if rows.count == Self.subscriptionListLength { break }
            next = page.nextCursor
            more = next
        } while next != nil && status != nil && scanned < Self.subscriptionScanLimit
        let plans = layout.plans.values.sorted { $0.name < $1.name }.map { plan -> [String: Any] in
            ["id": plan.id.uuidString, "name": plan.name, "selected": plan.id == planID]
        }
        let statuses: [AccessReason] = [.active, .frozen, .pastDue, .notStarted, .cancelled, .ended, .blocked]
        var data: [String: Any] = [
            "rows": rows, "total": total, "shown": rows.count, "hasRows": !rows.isEmpty, "plans": plans, "first": first, "last": first + rows.count - 1,
            "isFirstPage": cursor == nil, "filtered": status != nil,
            "sorts": [("newest", "Latest start first"), ("oldest", "Earliest start first")].map {
                ["code": $0.0, "label": $0.1, "selected": ($0.0 == "oldest") == oldestFirst] as [String: Any]
            },
            "statuses": statuses.map { ["code": $0.rawValue, "label": Self.reasonLabel($0), "selected": $0 == status] as [String: Any] },
        ]
        if let more {
            var link = URLComponents()
            link.queryItems = [
                planID.map { URLQueryItem(name: "plan_id", value: $0.uuidString) }, status.map { URLQueryItem(name: "status", value: $0.rawValue) },
                oldestFirst ? URLQueryItem(name: "sort", value: "oldest") : nil, URLQueryItem(name: "cursor", value: more.token), URLQueryItem(name: "from", value: String(first + rows.count)),
            ].compactMap { $0 }
            data["nextPage"] = "/admin/subscriptions?" + (link.percentEncodedQuery ?? "")
        }
        return data
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
