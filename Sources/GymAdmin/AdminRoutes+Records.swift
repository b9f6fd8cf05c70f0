import AccessSync
import Foundation
import GymCore
import GymStore
import GymWeb
import Hummingbird

/// Plans and the audit log (managers and owners).
extension AdminRoutes {
    func addPlanRoutes(to admin: RouterGroup<AdminContext>) {
        admin.get("plans") { request, context in
            let session = try require(request, context, role: .manager)
            return try page("plans", request, context, session: session, active: "plans", try await plansData(preview: nil))
        }
        admin.get("plans/:id/edit") { request, context in
            let session = try require(request, context, role: .manager)
            let plan = try await repository.plan(try Self.id(context))
            return try page("plan_form", request, context, session: session, active: "plans", [
                "plan": ["id": plan.id.uuidString, "name": plan.name, "past_due_grace_days": String(plan.pastDueGraceDays), "archived": plan.isArchived],
                "pending": try await pendingKisiChanges(planID: plan.id),
            ])
        }
        admin.post("plans/:id") { request, context in
            let (session, form) = try await postedForm(request, context, role: .manager)
            let id = try Self.id(context)
            _ = try await repository.plan(id)
            var errors = FieldErrors()
            let name = form.text("name") ?? ""
            if name.isEmpty { errors.add("name", "is required") }
            let grace = Int(form.text("past_due_grace_days") ?? "")
            if grace == nil || grace! < 0 { errors.add("past_due_grace_days", "must be a whole number of days, 0 or more") }
            let archived = form["archived"] == "on"
            do {
                try errors.throwIfAny()
                _ = try await repository.updatePlan(id) { draft in
                    draft.name = name
                    draft.pastDueGraceDays = grace ?? 0
                    draft.isArchived = archived
                }
                return Self.redirect("/admin/plans/\(id)/edit?done=saved")
            } catch let errors as FieldErrors {
                return try page("plan_form", request, context, session: session, active: "plans", [
                    "plan": ["id": id.uuidString, "name": form["name"] ?? "", "past_due_grace_days": form["past_due_grace_days"] ?? "", "archived": archived],
                    "errors": Self.errorData(errors), "pending": try await pendingKisiChanges(planID: id),
                ], status: .unprocessableContent)
            }
        }
    }

    func plansData(preview: UUID?) async throws -> [String: Any] {
        let layout = try await repository.layout()
        let plans = layout.plans.values.sorted { ($0.isArchived ? 1 : 0, $0.name) < ($1.isArchived ? 1 : 0, $1.name) }
        return [
            "plans": plans.map { plan -> [String: Any] in
                [
                    "id": plan.id.uuidString, "name": plan.name, "grace": plan.pastDueGraceDays, "archived": plan.isArchived,
                    "clubs": plan.clubIDs.compactMap { layout.clubs[$0]?.name }.joined(separator: ", "),
                    "studios": plan.studioIDs.compactMap { layout.studios[$0]?.name }.joined(separator: ", "),
                    "locks": layout.lockIDs(of: plan).map(String.init).joined(separator: ", "),
                ]
            },
        ]
    }

    /// The sync's dry run for this plan: every Kisi change it would make now, with its reason.
    /// Saving a plan change makes the sync act on it within seconds; this shows what is still owed.
    func pendingKisiChanges(planID: UUID) async throws -> [String: Any] {
        guard let sync else { return ["connected": false] }
        let actions = try await sync.dryRun().filter { $0.planID == planID }
        return [
            "connected": true, "count": actions.count,
            "actions": actions.prefix(50).map { ["kind": $0.kind.actionName, "reason": $0.reason, "priority": "\($0.priority)"] },
        ]
    }

    // MARK: Audit log

    func addAuditRoutes(to admin: RouterGroup<AdminContext>) {
        admin.get("audit") { request, context in
            let session = try require(request, context, role: .manager)
            let (filter, values) = try Self.auditFilter(request)
            let page = try await repository.kisiWrites(filter, PageRequest(limit: 200))
            var query = URLComponents()
            query.queryItems = values.filter { !$0.value.isEmpty }.map { URLQueryItem(name: $0.key, value: $0.value) }.sorted { $0.name < $1.name }
            return try self.page("audit", request, context, session: session, active: "audit", [
                "filter": values, "rows": page.items.map(Self.auditRow), "total": page.total, "shown": page.items.count,
                "csvQuery": query.percentEncodedQuery ?? "",
            ])
        }
        admin.get("audit.csv") { request, context in
            _ = try require(request, context, role: .manager)
            let (filter, _) = try Self.auditFilter(request)
            let repository = self.repository
            let first = try await repository.kisiWrites(filter, before: nil, limit: AuditCSV.batchSize)
            let body = ResponseBody { writer in
                try await writer.write(ByteBuffer(string: AuditCSV.header))
                var batch = first
                var written = 0
                while !batch.isEmpty {
                    let rows = batch.prefix(AuditCSV.maximumRows - written)
                    try await writer.write(ByteBuffer(string: rows.map(AuditCSV.row).joined()))
                    written += rows.count
                    guard written < AuditCSV.maximumRows, batch.count == AuditCSV.batchSize, let last = batch.last else { break }
                    batch = try await repository.kisiWrites(filter, before: last.id, limit: AuditCSV.batchSize)
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [
                .contentType: "text/csv; charset=utf-8",
                .contentDisposition: "attachment; filename=\"boogyman-audit.csv\"",
                .cacheControl: "no-store",
            ], body: body)
        }
    }

    /// The audit page's filters: member (ID), action, status, and a day range `from`..`until` (inclusive, UTC).
    static func auditFilter(_ request: Request) throws -> (KisiWriteFilter, [String: String]) {
        let query = request.uri.queryParameters
        var values: [String: String] = [:]
        for key in ["member_id", "action", "status", "from", "until"] {
            values[key] = query.get(key)?.trimmingCharacters(in: .whitespaces) ?? ""
        }
        var filter = KisiWriteFilter()
        if let text = values["member_id"], !text.isEmpty {
            guard let id = UUID(uuidString: text) else { throw AdminError.badRequest("The member filter must be a member ID.") }
            filter.memberID = id
        }
        if let action = values["action"], !action.isEmpty { filter.action = action }
        if let text = values["status"], !text.isEmpty {
            guard let status = KisiWriteStatus(rawValue: text) else { throw AdminError.badRequest("Unknown status \(text).") }
            filter.status = status
        }
        let utc = TimeZone(identifier: "UTC")!
        if let text = values["from"], !text.isEmpty {
            guard let day = LocalDate(text) else { throw AdminError.badRequest("From must be a date like 2026-12-31.") }
            filter.from = day.startOfDay(in: utc)
        }
        if let text = values["until"], !text.isEmpty {
            guard let day = LocalDate(text) else { throw AdminError.badRequest("Until must be a date like 2026-12-31.") }
            filter.until = day.adding(days: 1).startOfDay(in: utc)
        }
        return (filter, values)
    }
}
