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
                "classRules": Self.classRulesData(plan: plan, layout: try await repository.layout(), rules: try await repository.planClassRules(planID: plan.id)),
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
                if form["intent"] == "preview" {
                    let current = try await repository.plan(id)
                    var edited = current
                    edited.name = name
                    edited.pastDueGraceDays = grace ?? 0
                    edited.isArchived = archived
                    return try page("plan_form", request, context, session: session, active: "plans", [
                        "plan": ["id": id.uuidString, "name": name, "past_due_grace_days": String(grace ?? 0), "archived": archived],
                        "preview": try await planPreview(current: current, edited: edited),
                        "pending": try await pendingKisiChanges(planID: id),
                    ])
                }
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

    /// What saving `edited` would change, without saving: the access rule is run for every member
    /// with a subscription to the plan on the current layout and on a copy holding the edited plan;
    /// each member whose answer or grant window differs gets a line, as does a renamed Kisi group.
    func planPreview(current: Plan, edited: Plan) async throws -> [String: Any] {
        let layout = try await repository.layout()
        let editedLayout = GymLayout(
            clubs: Array(layout.clubs.values), studios: Array(layout.studios.values),
            plans: layout.plans.values.filter { $0.id != edited.id } + [edited])
        var lines: [String] = []
        if current.name != edited.name { lines.append("The Kisi group “\(current.name)” is renamed “\(edited.name)”.") }
        if !current.isArchived && edited.isArchived {
            lines.append("The plan is no longer sold. Sold subscriptions keep their access; the Kisi group is retired once none is live.")
        }
        var memberIDs = Set<UUID>()
        var offset = 0
        while true {
            let page = try await repository.subscriptions(planID: current.id, PageRequest(limit: PageRequest.maximumLimit, offset: offset))
            memberIDs.formUnion(page.items.map(\.memberID))
            offset += page.items.count
            if page.items.isEmpty || offset >= page.total { break }
        }
        let instant = now()
        // The plan's club's time, as staff read every other date.
        let planTime = ClubTime(layout.timeZone(of: current))
        var changes: [[String: String]] = []
        for memberID in memberIDs {
            let member = try await repository.member(memberID)
            let subscriptions = try await repository.subscriptions(memberID: memberID)
            let before = AccessRule.decide(member: member, subscriptions: subscriptions, layout: layout, at: instant).plans.first { $0.planID == current.id }
            let after = AccessRule.decide(member: member, subscriptions: subscriptions, layout: editedLayout, at: instant).plans.first { $0.planID == current.id }
            guard before?.reason != after?.reason || before?.window != after?.window else { continue }
            let effect: String
            switch (before?.reason.grantsAccess ?? false, after?.reason.grantsAccess ?? false) {
            case (true, false): effect = "loses access: Kisi grant removed (\(after.map { Self.reasonLabel($0.reason) } ?? "no subscription"))"
            case (false, true): effect = "gains access: Kisi grant added" + (after?.window.map { " until \(planTime.until($0.until, now: instant))" } ?? "")
            default: effect = "Kisi grant validity changes" + (after?.window.map { " to end \(planTime.until($0.until, now: instant))" } ?? "")
            }
            changes.append(["member": member.fullName, "memberID": memberID.uuidString, "effect": effect])
        }
        changes.sort { $0["member"]! < $1["member"]! }
        if lines.isEmpty && changes.isEmpty { lines.append("No door access or Kisi change.") }
        return ["lines": lines, "changes": Array(changes.prefix(200)), "changeCount": changes.count]
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
        guard control.isConnected else { return ["connected": false] }
        let actions = try await control.dryRun().filter { $0.planID == planID }
        return [
            "connected": true, "count": actions.count,
            "actions": actions.prefix(50).map { ["kind": $0.kind.actionName, "reason": $0.reason, "priority": "\($0.priority)"] },
        ]
    }

    // MARK: Audit log

    func addAuditRoutes(to admin: RouterGroup<AdminContext>) {
        admin.get("audit") { request, context in
            let session = try require(request, context, role: .manager)
            return try self.page("audit", request, context, session: session, active: "audit", try await auditData(request))
        }
        admin.get("audit.csv") { request, context in
            _ = try require(request, context, role: .manager)
            let (filter, _) = try Self.auditFilter(request)
            let repository = self.repository
            let first = try await repository.kisiWrites(filter, before: nil, limit: AuditCSV.batchSize)
            let body = AuditCSV.body(repository: repository, filter: filter, first: first)
            return Response(status: .ok, headers: [
                .contentType: "text/csv; charset=utf-8",
                .contentDisposition: "attachment; filename=\"boogyman-audit.csv\"",
                .cacheControl: "no-store",
            ], body: body)
        }
    }

    static let auditPageLength = 100

    /// A page of the audit log, newest first, from the entry before `before` (the last ID of the page
    /// shown before); the member filter takes a name as well as an ID, and the action filter offers
    /// the actions the log holds, in words.
    func auditData(_ request: Request) async throws -> [String: Any] {
        var (filter, values) = try Self.auditFilter(request)
        let query = request.uri.queryParameters
        let layout = try await repository.layout()
        let time = ClubTime.gym(layout)
        var data: [String: Any] = [:]
        let name = query.get("member")?.trimmingCharacters(in: .whitespaces) ?? ""
        values["member"] = name
        if filter.memberID == nil, !name.isEmpty {
            guard name.unicodeScalars.count <= TextLimits.query, !Validate.containsControlCharacters(name) else {
                throw AdminError.badRequest("The member filter may hold at most \(TextLimits.query) characters and no control characters.")
            }
            let matches = try await repository.members(search: name, PageRequest(limit: 20))
            switch matches.items.count {
            case 0: data["memberProblem"] = "No member matches “\(name)”."
            case 1: filter.memberID = matches.items[0].id
            default:
                data["memberChoices"] = matches.items.map { ["id": $0.id.uuidString, "name": $0.fullName, "email": $0.email.value] }
                data["memberChoiceCount"] = matches.total
            }
        }
        if let memberID = filter.memberID, let member = try? await repository.member(memberID) {
            data["memberName"] = member.fullName
        }
        let before = query.get("before").flatMap { Int($0) }
        let total = try await repository.kisiWrites(filter, PageRequest(limit: 1)).total
        let hasChoices = data["memberChoices"] != nil || data["memberProblem"] != nil
        let rows = hasChoices ? [] : try await repository.kisiWrites(filter, before: before, limit: Self.auditPageLength)
        var link = URLComponents()
        link.queryItems = values.filter { !$0.value.isEmpty && $0.key != "member" }.map { URLQueryItem(name: $0.key, value: $0.value) }
            .sorted { $0.name < $1.name }
        if filter.memberID != nil, values["member_id"]?.isEmpty ?? true, let id = filter.memberID {
            link.queryItems?.append(URLQueryItem(name: "member_id", value: id.uuidString))
        }
        let csvQuery = link.percentEncodedQuery ?? ""
        if rows.count == Self.auditPageLength, let last = rows.last {
            var next = link
            next.queryItems = (next.queryItems ?? []) + [URLQueryItem(name: "before", value: String(last.id))]
            data["nextPage"] = "/admin/audit?" + (next.percentEncodedQuery ?? "")
        }
        let instant = now()
        let actions = try await repository.kisiWriteActions()
        // The page's members by name, in one query.
        let names: [UUID: Member] = try await repository.members(ids: Array(Set(rows.compactMap(\.memberID))))
        let rowData: [[String: Any]] = rows.map { write in
            var row = Self.auditRow(write, time: time, plans: layout.plans, now: instant)
            if let id = write.memberID { row["memberName"] = names[id]?.fullName ?? "deleted member" }
            return row
        }
        let actionChoices: [[String: Any]] = actions.map { action in
            ["action": action, "words": KisiWriteWords.describe(action), "selected": action == values["action"]]
        }
        let statusChoices: [[String: Any]] = KisiWriteStatus.allCases.map { status in
            ["status": status.rawValue, "selected": status.rawValue == values["status"]]
        }
        data["filter"] = values
        data["rows"] = rowData
        data["total"] = total
        data["shown"] = rows.count
        data["hasRows"] = !rows.isEmpty
        data["csvQuery"] = csvQuery
        data["isFirstPage"] = before == nil
        data["firstPage"] = "/admin/audit" + (csvQuery.isEmpty ? "" : "?" + csvQuery)
        data["actions"] = actionChoices
        data["statuses"] = statusChoices
        data["zone"] = time.zone.identifier
        return data
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
        if let action = values["action"], !action.isEmpty {
            // PostgreSQL refuses NUL in a query's text: check here rather than fail in the database.
            guard action.unicodeScalars.count <= TextLimits.query, !Validate.containsControlCharacters(action) else {
                throw AdminError.badRequest("The action filter may hold at most \(TextLimits.query) characters and no control characters.")
            }
            filter.action = action
        }
        if let text = values["status"], !text.isEmpty {
            guard let status = KisiWriteStatus(rawValue: text) else { throw AdminError.badRequest("Unknown status \(text).") }
            filter.status = status
        }
        let utc = TimeZone(identifier: "UTC")!
        if let text = values["from"], !text.isEmpty {
            guard let day = LocalDate(text), day.isSupported else {
                throw AdminError.badRequest("From must be a date like 2026-12-31, in the years \(LocalDate.supportedYears.lowerBound) to \(LocalDate.supportedYears.upperBound).")
            }
            filter.from = day.startOfDay(in: utc)
        }
        if let text = values["until"], !text.isEmpty {
            guard let day = LocalDate(text), day.isSupported else {
                throw AdminError.badRequest("Until must be a date like 2026-12-31, in the years \(LocalDate.supportedYears.lowerBound) to \(LocalDate.supportedYears.upperBound).")
            }
            filter.until = day.adding(days: 1).startOfDay(in: utc)
        }
        return (filter, values)
    }
}
