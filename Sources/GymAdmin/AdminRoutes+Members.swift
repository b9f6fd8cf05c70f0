import AccessSync
import Foundation
import GymCore
import GymStore
import Hummingbird

extension AdminRoutes {
    func addMemberRoutes(to admin: RouterGroup<AdminContext>) {
        admin.get("members") { request, context in
            let session = try require(request, context)
            let search = request.uri.queryParameters.get("q") ?? ""
            let list = try await memberList(search: search, request: request)
            return try page("members", request, context, session: session, active: "members", list)
        }
        // The list alone (its count line, rows and next-page link), for search-as-you-type.
        admin.get("members/rows") { request, context in
            _ = try require(request, context)
            let list = try await memberList(search: request.uri.queryParameters.get("q") ?? "", request: request)
            return try views.page("member_list", list)
        }
        admin.get("members/new") { request, context in
            let session = try require(request, context)
            return try page("member_form", request, context, session: session, active: "members", [
                "isNew": true, "action": "/admin/members", "member": [String: String](),
            ])
        }
        admin.post("members") { request, context in
            let (session, form) = try await postedForm(request, context)
            do {
                let member = try await repository.createMember(Self.memberDraft(form))
                return Self.redirect("/admin/members/\(member.id)?done=created")
            } catch let errors as FieldErrors {
                return try page("member_form", request, context, session: session, active: "members", [
                    "isNew": true, "action": "/admin/members", "member": form.values, "errors": Self.errorData(errors),
                ], status: .unprocessableContent)
            }
        }
        admin.get("members/:id") { request, context in
            let session = try require(request, context)
            let id = try Self.id(context)
            return try page("member", request, context, session: session, active: "members", try await memberData(id, session: session))
        }
        admin.get("members/:id/edit") { request, context in
            let session = try require(request, context)
            let member = try await repository.member(try Self.id(context))
            return try page("member_form", request, context, session: session, active: "members", [
                "action": "/admin/members/\(member.id)", "memberID": member.id.uuidString,
                "member": ["first_name": member.firstName, "last_name": member.lastName, "email": member.email.value,
                           "phone": member.phone ?? "", "notes": member.notes ?? ""],
            ])
        }
        admin.post("members/:id") { request, context in
            let (session, form) = try await postedForm(request, context)
            let id = try Self.id(context)
            let draft = Self.memberDraft(form)
            do {
                _ = try await repository.updateMember(id) { $0 = draft }
                return Self.redirect("/admin/members/\(id)?done=saved")
            } catch let errors as FieldErrors {
                return try page("member_form", request, context, session: session, active: "members", [
                    "action": "/admin/members/\(id)", "memberID": id.uuidString, "member": form.values, "errors": Self.errorData(errors),
                ], status: .unprocessableContent)
            }
        }
        admin.post("members/:id/resync") { request, context in
            let (session, _) = try await postedForm(request, context)
            let id = try Self.id(context)
            guard control.isConnected else { throw AdminError.badRequest("Kisi is not connected, so there is nothing to sync with.") }
            let since = now()
            let changeID = try await repository.requestMemberResync(memberID: id)
            context.logger.info("resync requested", metadata: ["member_id": "\(id)", "staff_id": "\(session.staff.id)"])
            switch await control.memberSynced(id, throughChange: changeID, since: since, wait: configuration.memberSyncWait) {
            case .applied: return Self.redirect("/admin/members/\(id)?done=resynced")
            case .later: return Self.redirect("/admin/members/\(id)?done=resync_later")
            case .incomplete(let why): throw AdminError.badRequest(why)
            case .notConnected: throw AdminError.badRequest("Kisi is not connected, so there is nothing to sync with.")
            }
        }
        // Blocking is a manager's decision; the front desk sees the block on the member page.
        admin.post("members/:id/block") { request, context in
            let (session, form) = try await postedForm(request, context, role: .manager)
            let id = try Self.id(context)
            let since = now()
            do {
                _ = try await repository.blockMember(id: id, reason: form["reason"] ?? "", by: Self.actor(session))
            } catch let errors as FieldErrors {
                var data = try await memberData(id, session: session)
                data["blockFailed"] = true
                data["blockErrors"] = Self.errorData(errors)
                data["blockForm"] = ["reason": form["reason"] ?? ""]
                return try page("member", request, context, session: session, active: "members", data, status: .unprocessableContent)
            }
            let applied = await appliedInKisi(id, since: since)
            return Self.redirect("/admin/members/\(id)?done=\(applied ? "blocked" : "blocked_later")")
        }
        admin.post("members/:id/unblock") { request, context in
            let (session, _) = try await postedForm(request, context, role: .manager)
            let id = try Self.id(context)
            let since = now()
            _ = try await repository.unblockMember(id: id, by: Self.actor(session))
            let applied = await appliedInKisi(id, since: since)
            return Self.redirect("/admin/members/\(id)?done=\(applied ? "unblocked" : "unblocked_later")")
        }
        // Kisi's own invitation e-mail, again (say the member lost it): a Group invite repeating the
        // member's current grant, as the sync's first invite did. Nothing else changes in Kisi.
        admin.post("members/:id/invite") { request, context in
            let (session, _) = try await postedForm(request, context)
            let id = try Self.id(context)
            let member = try await repository.member(id)
            let resend: InvitationResend
            switch try await invitationResend(
                for: member, subscriptions: try await repository.subscriptions(memberID: id), layout: try await repository.layout(),
                links: try await repository.kisiLinks())
            {
            case .success(let found): resend = found
            case .failure(let refusal): throw AdminError.badRequest(refusal.message)
            }
            guard control.isConnected else { throw AdminError.badRequest(InvitationRefusal.notConnected.message) }
            guard let userID = try await repository.kisiLinks().users[id] else {
                throw AdminError.badRequest("\(member.fullName) has no Kisi user yet: the sync invites them when they first get door access.")
            }
            let window = resend.grant.window
            let outcome: InvitationOutcome
            do {
                outcome = try await control.resendInvitation(SyncCommand.InvitationRequest(
                    memberID: id, planID: resend.grant.planID, kisiUserID: userID, groupID: resend.groupID, email: member.email.value,
                    name: member.fullName, validFrom: window.from, validUntil: window.until, actor: Self.actor(session),
                    reason: "\(session.staff.name) asked Kisi to e-mail \(member.fullName) the invitation to \(resend.planName) again"),
                    wait: configuration.memberSyncWait)
            } catch let problem as KisiProblem {
                throw AdminError.badRequest("Kisi did not send the invitation. \(Self.invitationProblem(problem, member: member, planName: resend.planName))")
            }
            if outcome == .queued { return Self.redirect("/admin/members/\(id)?done=invite_queued") }
            return Self.redirect("/admin/members/\(id)?done=invite_resent")
        }
    }

    /// What resending a member's Kisi invitation repeats: the member's current grant (the earliest
    /// started, as the sync's first invite) in its plan's Kisi group, with the same validity.
    struct InvitationResend {
        var grant: DesiredGrant
        var groupID: Int
        var planName: String
    }

    /// Why there is no invitation to resend, in words for the front desk.
    enum InvitationRefusal: Error {
        case notConnected
        case managedUsers
        case other(String)

        var message: String {
            switch self {
            case .notConnected: "Kisi is not connected."
            case .managedUsers: "Managed Kisi users get no e-mail from Kisi."
            case .other(let message): message
            }
        }
    }

    /// Whether the member's Kisi invitation can be sent again: only in invitation mode (managed users
    /// never get Kisi's e-mails), for a member with a Kisi user and a grant that is current now. Reads
    /// the stored settings and the member's own subscriptions, not Kisi.
    func invitationResend(
        for member: Member, subscriptions: [Subscription], layout: GymLayout, links: KisiLinks
    ) async throws -> Result<InvitationResend, InvitationRefusal> {
        guard let masterKey = configuration.masterKey, let settings = try await repository.kisiSettings(masterKey: masterKey) else {
            return .failure(.notConnected)
        }
        guard settings.userCreationMode == .invitations else { return .failure(.managedUsers) }
        guard links.users[member.id] != nil else {
            return .failure(.other("\(member.fullName) has no Kisi user yet: the sync invites them when they first get door access."))
        }
        // The member's grants depend on the member's own subscriptions only, so one member is enough.
        let grants = DesiredState.build(layout: layout, members: [member], subscriptions: subscriptions, at: now()).grants
            .filter { !$0.isAhead }
            .sorted { $0.window.from != $1.window.from ? $0.window.from < $1.window.from : $0.groupKey < $1.groupKey }
        guard let grant = grants.first else {
            return .failure(.other("\(member.fullName) has no door access now, so there is no invitation to send again."))
        }
        let planName = grant.planID.flatMap { layout.plans[$0]?.name } ?? "the plan"
        guard let groupID = links.groups[grant.groupKey] else {
            return .failure(.other("The Kisi group of \(planName) does not exist yet; try again once the sync has run."))
        }
        return .success(InvitationResend(grant: grant, groupID: groupID, planName: planName))
    }

    /// Kisi's refusal of an invite in front-of-house words.
    static func invitationProblem(_ problem: KisiProblem, member: Member, planName: String) -> String {
        // Kisi allows one role per user and group, and an invite carries a role: a user who already holds
        // door access in the group is refused (422 on `assignee_id`) rather than given a second one.
        if problem.kind == .invalid, problem.fields["assignee_id"]?.contains(where: { $0.contains("taken") }) == true {
            return "Kisi refused: \(member.fullName)'s Kisi user already holds door access in the Kisi group of \(planName), "
                + "and Kisi does not invite a user into a group they are already in."
        }
        return problem.plainWords
    }

    /// A journal request body: sorted keys, so equal requests read alike.
    static func json(_ object: [String: Any]) -> String? {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Staff as the audit log names them, as for door unlocks.
    static func actor(_ session: StaffSession) -> String { "staff:\(session.staff.email.value)" }

    /// Waits a few seconds for the sync leader to carry the member's change (just committed, with its
    /// entry in the change log) to Kisi. True when Kisi confirmed everything; false when the leader did
    /// not get to it in time or fell short (paused, refused, held), which undoes nothing: the change log
    /// still carries the change to the sync.
    func appliedInKisi(_ id: UUID, since: Date) async -> Bool {
        guard control.isConnected, let changeID = try? await repository.latestAccessChangeID() else { return false }
        return await control.memberSynced(id, throughChange: changeID, since: since, wait: configuration.memberSyncWait) == .applied
    }

    static func id(_ context: AdminContext, _ name: String = "id") throws -> UUID {
        guard let text = context.parameters.get(name), let id = UUID(uuidString: text) else { throw AdminError.notFound }
        return id
    }

    static func memberDraft(_ form: FormData) -> MemberDraft {
        MemberDraft(
            firstName: form.text("first_name") ?? "", lastName: form.text("last_name") ?? "", email: form.text("email") ?? "",
            phone: form.text("phone"), notes: form.text("notes"))
    }

    /// Field errors as the templates read them: `errors.email` is the message list joined.
    static func errorData(_ errors: FieldErrors) -> [String: String] {
        errors.fields.mapValues { $0.joined(separator: "; ") }
    }

    static let memberPageLength = 50

    /// A status filter reads on through the list until its page is full; this bounds one request's reading.
    static let memberScanLimit = 5_000

    /// One page of the members list, in name order, from the `cursor` of the page before: the rows,
    /// where they stand in the whole list ("51–100 of 300") and the link to the next page. A member's
    /// status comes from the access rule, not a column, so a status filter reads on page by page until
    /// its page is full (at most `memberScanLimit` members a request) and then counts only what it shows.
    func memberList(search: String, request: Request) async throws -> [String: Any] {
        if search.unicodeScalars.count > TextLimits.query || Validate.containsControlCharacters(search) {
            throw AdminError.badRequest("The search may hold at most \(TextLimits.query) characters and no control characters.")
        }
        let query = request.uri.queryParameters
        var cursor: PageCursor?
        if let token = query.get("cursor"), !token.isEmpty {
            guard let parsed = PageCursor(token: token) else { throw AdminError.badRequest("That page link is not valid; start from the first page.") }
            cursor = parsed
        }
        let statusText = query.get("status") ?? ""
        let status = AccessReason(rawValue: statusText)
        if !statusText.isEmpty && (status == nil || status == .notBooked) { throw AdminError.badRequest("Choose the status from the list.") }
        // By name (the default) pages with a keyset cursor; by join date with a bounded offset (see
        // `GymRepository.members(search:joined:_:)`).
        let sortText = query.get("sort") ?? ""
        let joinOrder = MemberJoinOrder(rawValue: sortText)
        let byStatus = sortText == Self.statusSortCode
        if !sortText.isEmpty && sortText != "name" && joinOrder == nil && !byStatus {
            throw AdminError.badRequest("Choose the order from the list.")
        }
        // By status: one status after the other (`statusOrder`), each by name on the keyset cursor; the
        // link names the status the next page continues in.
        var group = 0
        if byStatus, let groupText = query.get("group"), !groupText.isEmpty {
            guard let reason = AccessReason(rawValue: groupText), let index = Self.statusOrder.firstIndex(of: reason) else {
                throw AdminError.badRequest("That page link is not valid; start from the first page.")
            }
            group = index
        }
        var offset = joinOrder == nil ? 0 : try Self.pageOffset(request)
        let isFirstPage = cursor == nil && offset == 0 && group == 0
        // Where the page starts in the list, carried by the links for the "51–100 of 300" line only.
        let first = isFirstPage ? 1 : max(1, min(Int(query.get("from") ?? "") ?? 1, PageRequest.maximumOffset))
        var rows: [[String: Any]] = []
        var total = 0
        var scanned = 0
        var next = cursor
        var more: PageCursor?
        var moreOffset: Int?
        var moreGroup: Int?
        if byStatus && status == nil {
            let found = try await memberRowsByStatus(search: search, group: group, cursor: cursor)
            (rows, total, more, moreGroup) = (found.rows, found.total, found.cursor, found.group)
        } else {
            repeat {
                let page: Page<Member>
                do {
                    if let joinOrder {
                        page = try await repository.members(search: search, joined: joinOrder, PageRequest(limit: Self.memberPageLength, offset: offset))
                    } else {
                        page = try await repository.members(search: search, PageRequest(limit: Self.memberPageLength, cursor: next))
                    }
                } catch is PageCursor.Mismatch {
                    throw AdminError.badRequest("That page link is not valid; start from the first page.")
                }
                total = page.total
                scanned += page.items.count
                more = page.nextCursor
                moreOffset = offset + page.items.count < page.total && !page.items.isEmpty ? offset + page.items.count : nil
                for (index, row) in try await memberRows(page.items).enumerated() {
                    if let status, (row["status"] as? [String: String])?["code"] != status.rawValue { continue }
                    rows.append(row)
                    if rows.count == Self.memberPageLength {
                        // A full page: the next one starts after this member, whatever is left of the database page.
                        let member = page.items[index]
                        more = index == page.items.count - 1 ? page.nextCursor
                            : PageCursor(values: [member.lastName, member.firstName, member.id.uuidString])
                        if index < page.items.count - 1 { moreOffset = offset + index + 1 }
                        break
                    }
                }
                next = page.nextCursor
                offset += page.items.count
            } while status != nil && rows.count < Self.memberPageLength && (joinOrder == nil ? next != nil : moreOffset != nil)
                && scanned < Self.memberScanLimit
        }
        let statuses = Self.statusOrder
        var data: [String: Any] = [
            "q": search, "hasQuery": !search.isEmpty, "rows": rows, "total": total, "hasTotal": total > 0,
            "first": rows.isEmpty ? 0 : first, "last": first + rows.count - 1, "isFirstPage": isFirstPage,
            "sorts": [("name", "Name"), (Self.statusSortCode, "Status"), ("joined", "Newest members first"), ("joined_oldest", "Oldest members first")].map {
                ["code": $0.0, "label": $0.1, "selected": $0.0 == (byStatus ? Self.statusSortCode : joinOrder?.rawValue ?? "name")] as [String: Any]
            },
            "filtered": status != nil, "hasRows": !rows.isEmpty,
            "statuses": statuses.map { ["code": $0.rawValue, "label": Self.reasonLabel($0), "selected": $0 == status] as [String: Any] },
        ]
        if let status { data["statusLabel"] = Self.reasonLabel(status) }
        let filters = (search.isEmpty ? [] : [URLQueryItem(name: "q", value: search)])
            + (status.map { [URLQueryItem(name: "status", value: $0.rawValue)] } ?? [])
            + (joinOrder.map { [URLQueryItem(name: "sort", value: $0.rawValue)] } ?? [])
            + (byStatus ? [URLQueryItem(name: "sort", value: Self.statusSortCode)] : [])
        var firstLink = URLComponents()
        firstLink.queryItems = filters.isEmpty ? nil : filters
        data["firstPage"] = "/admin/members" + (firstLink.percentEncodedQuery.map { "?" + $0 } ?? "")
        let position: [URLQueryItem]? = if joinOrder != nil {
            moreOffset.flatMap { $0 <= PageRequest.maximumOffset ? [URLQueryItem(name: "offset", value: String($0))] : nil }
        } else if byStatus && status == nil {
            moreGroup.map { index in
                [URLQueryItem(name: "group", value: Self.statusOrder[index].rawValue)] + (more.map { [URLQueryItem(name: "cursor", value: $0.token)] } ?? [])
            }
        } else {
            more.map { [URLQueryItem(name: "cursor", value: $0.token)] }
        }
        if let position {
            var link = URLComponents()
            link.queryItems = filters + position + [URLQueryItem(name: "from", value: String(first + rows.count))]
            data["nextPage"] = "/admin/members?" + (link.percentEncodedQuery ?? "")
        }
        return data
    }

    static let statusSortCode = "status"
    /// The statuses in the order of the status filter and of the list by status: who may enter first,
    /// then the states staff act on, then those without a subscription.
    static let statusOrder: [AccessReason] = [.active, .frozen, .pastDue, .notStarted, .cancelled, .ended, .blocked, .noSubscription]

    /// One page of the members list by status: the members of status `group` by name from `cursor`, then
    /// those of the next status from the first name, until the page is full. A status is the access
    /// rule's answer, not a column, so each status reads through the members by name (the keyset cursor)
    /// and keeps its own; one request reads at most `memberScanLimit` members, and a page cut short by
    /// that bound still links on to where the reading stopped. Returns where the next page starts (the
    /// status and the cursor within it; no cursor: that status from its first member), nil at the end.
    func memberRowsByStatus(
        search: String, group: Int, cursor: PageCursor?
    ) async throws -> (rows: [[String: Any]], total: Int, cursor: PageCursor?, group: Int?) {
        var rows: [[String: Any]] = []
        var total = 0
        var scanned = 0
        var group = group
        var next = cursor
        // Reading a few pages' worth at a time: most members of a scan are of other statuses.
        let readLength = Self.memberPageLength * 4
        while group < Self.statusOrder.count {
            let wanted = Self.statusOrder[group]
            let page: Page<Member>
            do {
                page = try await repository.members(search: search, PageRequest(limit: readLength, cursor: next))
            } catch is PageCursor.Mismatch {
                throw AdminError.badRequest("That page link is not valid; start from the first page.")
            }
            total = page.total
            scanned += page.items.count
            for (index, row) in try await memberRows(page.items).enumerated() {
                guard (row["status"] as? [String: String])?["code"] == wanted.rawValue else { continue }
                rows.append(row)
                if rows.count == Self.memberPageLength {
                    if index < page.items.count - 1 {
                        let member = page.items[index]
                        return (rows, total, PageCursor(values: [member.lastName, member.firstName, member.id.uuidString]), group)
                    }
                    if let after = page.nextCursor { return (rows, total, after, group) }
                    return (rows, total, nil, group + 1 < Self.statusOrder.count ? group + 1 : nil)
                }
            }
            if let after = page.nextCursor {
                next = after
            } else {
                group += 1
                next = nil
            }
            if scanned >= Self.memberScanLimit { break }
        }
        guard group < Self.statusOrder.count else { return (rows, total, nil, nil) }
        return (rows, total, next, group)
    }

    func memberRows(_ members: [Member]) async throws -> [[String: Any]] {
        let layout = try await repository.layout()
        // One query for the page's subscriptions rather than one per row.
        let subscriptionsByMember = try await repository.subscriptions(memberIDs: members.map(\.id))
        let instant = now()
        var rows: [[String: Any]] = []
        for member in members {
            let subscriptions = subscriptionsByMember[member.id] ?? []
            let decision = AccessRule.decide(member: member, subscriptions: subscriptions, layout: layout, at: instant)
            rows.append([
                "id": member.id.uuidString, "name": member.fullName, "email": member.email.value, "phone": member.phone ?? "",
                "allowed": decision.mayEnter, "status": Self.statusData(decision.reason),
                "avatar": ["initials": Self.initials(member), "hue": Self.avatarHue(member.id)],
            ])
        }
        return rows
    }

    /// The member page's first line: the state in words and what it means at the door, e.g.
    /// "Active until Tue 22 Dec, 00:00 — 4 doors open" or "Frozen — no door opens; access resumes Tue 15 Dec, 00:00".
    static func verdict(_ decision: AccessDecision, time: ClubTime, now: Date) -> String {
        if decision.mayEnter {
            let open = decision.doors.filter(\.allowed).count
            let until = decision.window.map { " until \(time.until($0.until, now: now))" } ?? ""
            return "Active\(until) — \(open) door\(open == 1 ? "" : "s") open\(open == 1 ? "s" : "")"
        }
        var text = "\(reasonLabel(decision.reason)) — no door opens"
        if decision.reason != .blocked, let next = decision.plans.compactMap(\.upcoming).map(\.from).min() {
            text += "; access resumes \(time.from(next, now: now))"
        }
        return text
    }

    /// What the `status` partial shows: one label and one colour class per state, the same on every page.
    static func statusData(_ reason: AccessReason) -> [String: String] {
        ["code": reason.rawValue, "label": reasonLabel(reason)]
    }

    static func reasonLabel(_ reason: AccessReason) -> String {
        switch reason {
        case .active: "Active"
        case .frozen: "Frozen"
        case .cancelled: "Cancelled"
        case .ended: "Ended"
        case .notStarted: "Not started"
        case .pastDue: "Past due"
        case .noSubscription: "No subscription"
        case .blocked: "Blocked"
        case .notBooked: "Not booked"
        }
    }

    /// Everything the member page shows, including the door access panel: for each door the access
    /// rule's answer and reason, the member's Kisi user, the grants the sync wants in Kisi with their
    /// validity, and the latest Kisi writes for the member.
    func memberData(_ id: UUID, session: StaffSession) async throws -> [String: Any] {
        let member = try await repository.member(id)
        let layout = try await repository.layout()
        let subscriptions = try await repository.subscriptions(memberID: id)
        let instant = now()
        let classes = try await repository.classAccess(memberID: id, at: instant)
        let decision = AccessRule.decide(member: member, subscriptions: subscriptions, layout: layout, classes: classes, at: instant)
        let links = try await repository.kisiLinks()
        let writes = try await repository.kisiWrites(KisiWriteFilter(memberID: id), PageRequest(limit: 5)).items

        // The member's own zone: their first plan's club's, else the gym's.
        let time = subscriptions.lazy.compactMap { layout.plans[$0.planID] }.first.map { ClubTime(layout.timeZone(of: $0)) } ?? ClubTime.gym(layout)
        // Doors grouped by club, the club named once: "Old Town · 3 of 4 doors open", then its doors.
        let doorsByClub = Dictionary(grouping: decision.doors, by: \.door.clubID)
        let doorGroups: [[String: Any]] = doorsByClub.keys.compactMap { layout.clubs[$0] }
            // Clubs where doors open first: that is where the member trains.
            .sorted { (doorsByClub[$0.id]?.contains(where: \.allowed) == true ? 0 : 1, $0.name) < (doorsByClub[$1.id]?.contains(where: \.allowed) == true ? 0 : 1, $1.name) }
            .map { club in
            let clubTime = ClubTime(club.timeZone)
            let clubDoors = doorsByClub[club.id] ?? []
            let rows: [[String: Any]] = clubDoors.map { door in
                let place = door.door.studioID.flatMap { layout.studios[$0]?.name } ?? "Entrance"
                var row: [String: Any] = [
                    "lockID": door.door.lockID, "place": place, "allowed": door.allowed, "reason": door.explanation,
                    "notBooked": door.reason == .notBooked,
                ]
                // Mustache treats an empty string as present, so optional text is left out rather than blank.
                let grantedBy = door.grantingPlanIDs.compactMap { layout.plans[$0]?.name }.joined(separator: ", ")
                if !grantedBy.isEmpty { row["grantedBy"] = grantedBy }
                // A booked class's explanation already gives the door's hours.
                if let window = door.window, door.classWindow == nil { row["until"] = clubTime.untilValue(window.until, now: instant) }
                return row
            }
            let open = clubDoors.filter(\.allowed).count
            return [
                "club": club.name, "doors": rows, "open": open, "count": clubDoors.count, "allOpen": open == clubDoors.count,
                "noneOpen": open == 0,
            ]
        }
        var grants: [[String: Any]] = []
        var denials: [String] = []
        if let options = await control.options() {
            // A member's grants follow from their own subscriptions alone: no need to plan the whole gym.
            let planned = DesiredState.build(
                layout: layout, members: [member], subscriptions: subscriptions, at: instant, options: options)
            // With the booked classes' windows, as the sync writes them.
            let desired = classes.rules.contains { $0.doorMode == .bookedClasses }
                ? ClassWindowGrants.applying(to: planned, layout: layout, rules: classes.rules, windows: [id: classes.windows], ordinals: [:])
                : planned
            // By the group's name: with a place administrator's key one plan has a group per place ("All clubs · Old Town").
            let groupNames = Dictionary(desired.groups.map { ($0.key, $0.name) }, uniquingKeysWith: { first, _ in first })
            grants = desired.grants.filter { $0.memberID == id }.map { grant in
                ["plan": groupNames[grant.groupKey] ?? grant.planID.flatMap { layout.plans[$0] }?.name ?? grant.planName, "from": time.value(grant.window.from, now: instant),
                 "until": time.untilValue(grant.window.until, now: instant), "ahead": grant.isAhead, "why": grant.explanation]
            }
            denials = desired.denials.filter { $0.key.memberID == id }.map(\.value).sorted()
        }
        let plansOnSale = layout.plans.values.filter { !$0.isArchived }.sorted { $0.name < $1.name }
        // The member's club's day, not UTC's: after 22:00 UTC it is already tomorrow in Bucharest.
        let today = LocalDate(containing: instant, in: time.zone)
        let subscriptionRows: [[String: Any]] = subscriptions.sorted { $0.startDate > $1.startDate }.map { subscription in
            let planAccess = decision.plans.first { $0.subscriptionIDs.contains(subscription.id) }
            let localToday = layout.plans[subscription.planID].map { LocalDate(containing: instant, in: layout.timeZone(of: $0)) } ?? today
            let currentFreeze = subscription.freezes.first { $0.span.contains(localToday) || $0.span.first > localToday }
            let plan = layout.plans[subscription.planID]
            let own = AccessRule.reason(for: subscription, on: localToday, graceDays: plan?.pastDueGraceDays ?? 0)
            var row: [String: Any] = [
                "id": subscription.id.uuidString, "plan": plan?.name ?? "?",
                "start": ClubTime.day(subscription.startDate, now: localToday),
                "end": subscription.endDate.map { ClubTime.day($0, now: localToday) } ?? "",
                "renews": subscription.endDate == nil,
                "paidThrough": ClubTime.day(subscription.paidThrough, now: localToday),
                // The subscription's own state; the member's block shows once, in its banner.
                "status": Self.statusData(own),
                "inGrace": planAccess?.inGracePeriod == true && own == .active && subscription.paidThrough < localToday,
                "freezes": subscription.freezes.map { freeze -> [String: String] in
                    var row = ["first": ClubTime.day(freeze.span.first, now: localToday), "last": ClubTime.day(freeze.span.last, now: localToday)]
                    if let reason = freeze.reason { row["reason"] = reason }
                    return row
                },
                "canCancel": subscription.cancellation == nil && session.staff.role >= .manager,
                "canFreeze": subscription.cancellation == nil,
                "today": localToday.description,
            ]
            if let cancellation = subscription.cancellation {
                row["cancelledFrom"] = ClubTime.day(cancellation.effectiveDate, now: localToday)
                if let reason = cancellation.reason { row["cancelReason"] = reason }
            }
            if currentFreeze != nil { row["canUnfreeze"] = true }
            return row
        }
        var data: [String: Any] = [
            "member": ["id": id.uuidString, "name": member.fullName, "email": member.email.value, "phone": member.phone, "notes": member.notes]
                .compactMapValues { $0 },
            "mayEnter": decision.mayEnter,
            "reason": decision.explanation,
            "canBlock": session.staff.role >= .manager,
            "reasonLabel": Self.reasonLabel(decision.reason),
            "doorGroups": doorGroups, "hasDoors": !doorGroups.isEmpty, "verdict": Self.verdict(decision, time: time, now: instant),
            "status": Self.statusData(decision.reason),
            "avatar": ["initials": Self.initials(member), "hue": Self.avatarHue(member.id)],
            "grants": grants, "hasGrants": !grants.isEmpty,
            "denials": denials,
            "connected": control.isConnected,
            "writes": writes.map { Self.auditRow($0, time: time, plans: layout.plans, now: instant) }, "hasWrites": !writes.isEmpty,
            "subscriptions": subscriptionRows, "hasSubscriptions": !subscriptionRows.isEmpty,
            "plans": plansOnSale.map { ["id": $0.id.uuidString, "name": $0.name] },
            "sell": ["start_date": today.description, "paid_through": today.adding(days: 29).description],
            "evaluatedAt": time.value(instant, now: instant),
        ]
        if let window = decision.window { data["accessUntil"] = time.untilValue(window.until, now: instant) }
        if let block = member.block {
            let by = block.blockedBy.hasPrefix("staff:") ? String(block.blockedBy.dropFirst("staff:".count)) : block.blockedBy
            data["blocked"] = ["reason": block.reason, "since": time.value(block.blockedAt, now: instant), "by": by]
        }
        if let kisiUserID = links.users[id] { data["kisiUserID"] = kisiUserID }
        data["doorEvents"] = await recentDoorEvents(member: member, kisiUserID: links.users[id], layout: layout)
        data["classes"] = try await memberClassesData(member: member, subscriptions: subscriptions, layout: layout)
        if control.isConnected {
            switch try await invitationResend(for: member, subscriptions: subscriptions, layout: layout, links: links) {
            case .success: data["canResendInvite"] = true
            case .failure(.managedUsers): data["managedUsers"] = true
            case .failure: break
            }
        }
        return data
    }
}
