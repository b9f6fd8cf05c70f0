import AccessSync
import Foundation
import GymCore
import GymStore
import Hummingbird

/// Which Kisi user stands for which member (managers and owners): the reviews the sync holds when it
/// cannot tell on its own, with the decisions that fit each, and the members whose Kisi users BooGYMan
/// adopted by e-mail rather than created.
///
/// A decision only changes BooGYMan's links (never Kisi): the sync re-plans the members concerned from
/// the change log within its poll interval, gives or removes door access accordingly, and closes the
/// review itself once the ambiguity is gone. So a decision cannot leave Kisi and the review out of step.
extension AdminRoutes {
    /// The review kinds about a member's Kisi user; group reviews are not decided here.
    static let userReviewKinds: Set<ReviewKind> = [
        .sharedMemberEmail, .duplicateKisiEmail, .linkedEmailMismatch, .kisiUserClaimed, .userLinkedToSeveralMembers,
    ]
    /// Reviews worked through per page view: each may cost one or two Kisi requests (Kisi allows 5 a second).
    static let reviewsShown = 20
    static let adoptedPerPage = 50

    func addAdoptionRoutes(to admin: RouterGroup<AdminContext>) {
        admin.get("kisi/adoption") { request, context in
            let session = try require(request, context, role: .manager)
            let offsets = AdoptionOffsets(
                adopted: try Self.pageOffset(request), created: try Self.pageOffset(request, name: "created_offset"),
                kisi: try Self.kisiOffset(request))
            var data = try await adoptionData(offsets)
            data.merge(try await unmatchedKisiUsersData(offsets)) { _, new in new }
            return try page("adoption", request, context, session: session, active: "adoption", data)
        }
        admin.post("kisi/unmatched/:user/member") { request, context in
            let (session, _) = try await postedForm(request, context, role: .manager)
            return try await createMemberFromKisiUser(context, session: session)
        }
        admin.post("kisi/adoption/:review") { request, context in
            let (session, form) = try await postedForm(request, context, role: .manager)
            return try await decide(request, context, session: session, form: form)
        }
    }

    /// The `offset` query parameter of a paged admin list: absent means 0; anything but a whole number
    /// from 0 to ``PageRequest/maximumOffset`` is a 400, so "next page" arithmetic cannot overflow.
    static func pageOffset(_ request: Request, name: String = "offset") throws -> Int {
        guard let raw = request.uri.queryParameters.get(name), !raw.isEmpty else { return 0 }
        guard let offset = Int(raw), (0...PageRequest.maximumOffset).contains(offset) else {
            throw AdminError.badRequest("The offset must be a whole number from 0 to \(PageRequest.maximumOffset).")
        }
        return offset
    }

    // MARK: Reviews and their options

    /// An open review about a member's Kisi user, as stored.
    struct UserReview {
        var stored: GymStore.HeldReview
        var kind: ReviewKind
        var memberID: UUID
    }

    /// What staff may decide about one review.
    enum LinkDecision: Hashable {
        /// Link the member to this Kisi user.
        case link(Int)
        /// Remove the member's link; the next sync adopts the user with the member's e-mail or makes one.
        case unlink
        /// Keep the member's Kisi user; the other members linked to it lose their link.
        case keep
        /// Link the member to this Kisi user, taking it from the member who claims it.
        case claim(Int)

        var userID: Int? {
            switch self {
            case .link(let id), .claim(let id): id
            case .unlink, .keep: nil
            }
        }
    }

    /// One review as Kisi and the links stand now: whom it concerns, the Kisi users to show, and the
    /// decisions on offer. Built the same way for the page and for checking a posted decision.
    struct ReviewOptions {
        var member: Member?
        var linkedUserID: Int?
        var users: [KisiUserSummary] = []
        /// Kisi user ID → the member it is linked to (current or deleted).
        var owners: [Int: UUID] = [:]
        /// Other members concerned: those sharing the member's Kisi user, or the one claiming its candidate.
        var others: [Member] = []
        /// For `kisiUserClaimed`: candidate user → the member claiming it through a link or Kisi metadata.
        var claimants: [Int: UUID] = [:]
        var decisions: [LinkDecision] = []
        /// Kisi could not be read; only decisions that need no Kisi look-up are offered.
        var problem: String?
    }

    func openUserReviews() async throws -> [UserReview] {
        try await repository.openHeldReviews().compactMap { stored in
            guard let (key, _) = GymStoreSyncLedger.parse(kind: stored.kind), Self.userReviewKinds.contains(key.kind),
                  let memberID = stored.memberID ?? UUID(uuidString: key.subject)
            else { return nil }
            return UserReview(stored: stored, kind: key.kind, memberID: memberID)
        }
    }

    func reviewOptions(_ review: UserReview, links: KisiLinks, kisiReadable: Bool) async throws -> ReviewOptions {
        var options = ReviewOptions()
        guard let member = try await existingMember(review.memberID) else { return options }
        options.member = member
        options.linkedUserID = links.users[member.id]
        var owners: [Int: UUID] = [:]
        for (memberID, userID) in links.users { owners[userID] = owners[userID].map { min($0, memberID) } ?? memberID }
        func free(_ userID: Int) -> Bool { owners[userID] == nil || owners[userID] == member.id }

        // Decisions that need nothing from Kisi.
        switch review.kind {
        case .linkedEmailMismatch where options.linkedUserID != nil:
            options.decisions.append(.unlink)
        case .userLinkedToSeveralMembers:
            if let linked = options.linkedUserID {
                for (memberID, userID) in links.users where userID == linked && memberID != member.id {
                    if let other = try await existingMember(memberID) { options.others.append(other) }
                }
                if !options.others.isEmpty { options.decisions.append(.keep) }
            }
        default:
            break
        }

        // What Kisi holds: the users with the member's e-mail, and the linked user.
        let needsKisi: Set<ReviewKind> = [.duplicateKisiEmail, .linkedEmailMismatch, .kisiUserClaimed, .userLinkedToSeveralMembers]
        guard needsKisi.contains(review.kind) else { return options }
        guard kisiReadable else {
            options.problem = "Kisi is not connected, so the Kisi users cannot be read."
            return options
        }
        do {
            let sameEmail = try await control.kisiUsers(email: member.email.value)
            var linkedUser: KisiUserSummary?
            if let linked = options.linkedUserID {
                linkedUser = sameEmail.first { $0.id == linked }
                if linkedUser == nil { linkedUser = try await control.kisiUser(id: linked) }
            }
            switch review.kind {
            case .duplicateKisiEmail:
                options.users = sameEmail
                options.decisions += sameEmail.filter { free($0.id) }.map { .link($0.id) }
            case .linkedEmailMismatch:
                options.users = [linkedUser].compactMap { $0 }
                for user in sameEmail where user.id != options.linkedUserID {
                    options.users.append(user)
                    if free(user.id) { options.decisions.append(.link(user.id)) }
                }
            case .kisiUserClaimed:
                options.users = sameEmail
                for user in sameEmail {
                    guard let claimant = owners[user.id] ?? user.memberIDInMetadata, claimant != member.id else {
                        if free(user.id) { options.decisions.append(.link(user.id)) }
                        continue
                    }
                    options.claimants[user.id] = claimant
                    if let other = try await existingMember(claimant), !options.others.contains(where: { $0.id == other.id }) {
                        options.others.append(other)
                    }
                    options.decisions.append(.claim(user.id))
                }
            case .userLinkedToSeveralMembers:
                options.users = [linkedUser].compactMap { $0 }
            default:
                break
            }
        } catch {
            options.problem = Self.plainWords(error)
        }
        options.owners = owners
        return options
    }

    func existingMember(_ id: UUID) async throws -> Member? {
        do {
            return try await repository.member(id)
        } catch StoreError.notFound {
            return nil
        }
    }

    // MARK: Deciding

    func decide(_ request: Request, _ context: AdminContext, session: StaffSession, form: FormData) async throws -> Response {
        guard let reviewID = context.parameters.get("review").flatMap(UUID.init(uuidString:)),
              let stored = try await repository.heldReview(id: reviewID),
              let (key, _) = GymStoreSyncLedger.parse(kind: stored.kind), Self.userReviewKinds.contains(key.kind),
              let memberID = stored.memberID ?? UUID(uuidString: key.subject)
        else { throw AdminError.notFound }
        if let resolvedAt = stored.resolvedAt {
            // A second click, another manager, or the sync found the ambiguity gone meanwhile.
            return try messagePage(
                context, session: session, title: "Already decided",
                message: "This review was already closed on \(ClubTime.gym(try await repository.layout()).text(resolvedAt, now: now()))"
                    + (stored.resolution.map { " (\($0))" } ?? "") + ". Nothing was changed.",
                status: .conflict)
        }
        let decision: LinkDecision
        switch form["decision"] {
        case "link": decision = .link(try Self.userID(form))
        case "claim": decision = .claim(try Self.userID(form))
        case "unlink": decision = .unlink
        case "keep": decision = .keep
        default: throw AdminError.badRequest("Choose one of the decisions offered on the page.")
        }
        let review = UserReview(stored: stored, kind: key.kind, memberID: memberID)
        // Checked against Kisi and the links as they are now, not as the page showed them.
        let options = try await reviewOptions(review, links: try await repository.kisiLinks(), kisiReadable: await kisiConnectionStored())
        guard let member = options.member else {
            throw AdminError.badRequest("The member of this review no longer exists; the next full sync closes the review.")
        }
        guard options.decisions.contains(decision) else {
            if let problem = options.problem { throw AdminError.badRequest("BooGYMan could not check this decision with Kisi: \(problem)") }
            throw AdminError.notFound  // an ID that is not on offer (any more)
        }

        let who = session.staff.name
        let label = Self.reviewLabel(key.kind)
        var changes: [KisiUserLinkChange] = []
        var alsoAffected: [UUID] = []
        switch decision {
        case .link(let userID):
            changes = [KisiUserLinkChange(memberID: member.id, userID: userID,
                                          reason: "\(who) decided \"\(label)\": \(member.fullName) is Kisi user #\(userID)")]
        case .unlink:
            let old = options.linkedUserID.map { "Kisi user #\($0)" } ?? "the Kisi user"
            changes = [KisiUserLinkChange(memberID: member.id, userID: nil,
                                          reason: "\(who) decided \"\(label)\": \(old) is not \(member.fullName)'s")]
        case .keep:
            let kept = options.linkedUserID.map { "Kisi user #\($0)" } ?? "the Kisi user"
            changes = options.others.map { other in
                KisiUserLinkChange(memberID: other.id, userID: nil,
                                   reason: "\(who) decided \"\(label)\": \(kept) stays \(member.fullName)'s, so it is not \(other.fullName)'s")
            }
            alsoAffected = [member.id]
        case .claim(let userID):
            let claimant = options.claimants[userID]
            let claimantName = options.others.first { $0.id == claimant }?.fullName ?? "another member"
            if let claimant, options.owners[userID] == claimant {
                changes.append(KisiUserLinkChange(memberID: claimant, userID: nil,
                                                  reason: "\(who) decided \"\(label)\": Kisi user #\(userID) moves to \(member.fullName)"))
            } else if let claimant {
                // Claimed through Kisi metadata only: no link moves, but the claimant is re-planned too.
                alsoAffected = [claimant]
            }
            changes.append(KisiUserLinkChange(memberID: member.id, userID: userID,
                                              reason: "\(who) decided \"\(label)\": Kisi user #\(userID) is \(member.fullName)'s, not \(claimantName)'s"))
        }
        do {
            try await repository.decideKisiUserLinks(
                changes, alsoAffected: alsoAffected, actor: "staff:\(session.staff.email.value)", trigger: "adoption review \(reviewID)")
        } catch StoreError.conflict(let message) {
            throw AdminError.badRequest("The links changed meanwhile (\(message)). Reload the page and decide again.")
        }
        context.logger.notice("Kisi adoption review decided", metadata: [
            "review": "\(reviewID)", "decision": "\(decision)", "staff_id": "\(session.staff.id)",
        ])
        return Self.redirect("/admin/kisi/adoption?done=decided")
    }

    static func userID(_ form: FormData) throws -> Int {
        guard let text = form.text("user_id"), let id = Int(text) else { throw AdminError.notFound }
        return id
    }

    func messagePage(_ context: AdminContext, session: StaffSession, title: String, message: String, status: HTTPResponse.Status) throws -> Response {
        var data = Self.layoutData(session: session, csrf: context.csrfToken, active: "adoption")
        data.merge(["title": title, "message": message, "status": status.code]) { _, new in new }
        return try views.page("error", data, status: status)
    }

    // MARK: The page

    /// Where each of the page's three lists stands: every list's Previous and Next keep the other two
    /// where they are, so paging one list does not send the others back to their start.
    struct AdoptionOffsets {
        var adopted = 0
        var created = 0
        var kisi = 0

        func link(adopted: Int? = nil, created: Int? = nil, kisi: Int? = nil, anchor: String) -> String {
            let parts = [("offset", adopted ?? self.adopted), ("created_offset", created ?? self.created), ("kisi_offset", kisi ?? self.kisi)]
                .filter { $0.1 > 0 }.map { "\($0.0)=\($0.1)" }
            return "/admin/kisi/adoption" + (parts.isEmpty ? "" : "?" + parts.joined(separator: "&")) + "#" + anchor
        }
    }

    func adoptionData(_ offsets: AdoptionOffsets) async throws -> [String: Any] {
        let reviews = try await openUserReviews()
        let links = try await repository.kisiLinks()
        let kisiReadable = await kisiConnectionStored()
        var rows: [[String: Any]] = []
        // Times in the gym's own zone, UTC on hover, as on every page.
        let time = ClubTime.gym(try await repository.layout())
        for review in reviews.prefix(Self.reviewsShown) {
            rows.append(reviewRow(review, try await reviewOptions(review, links: links, kisiReadable: kisiReadable), time: time))
        }
        let counts = try await repository.kisiUserLinkCounts()
        let adopted = try await repository.adoptedKisiUsers(PageRequest(limit: Self.adoptedPerPage, offset: offsets.adopted))
        let created = try await repository.createdKisiUsers(PageRequest(limit: Self.adoptedPerPage, offset: offsets.created))
        var data: [String: Any] = [
            "reviews": rows, "hasReviews": !rows.isEmpty, "reviewCount": reviews.count,
            "linked": counts.linked, "adoptedCount": counts.adopted, "createdCount": counts.linked - counts.adopted,
            "adopted": adopted.items.map { ["memberID": $0.memberID.uuidString, "name": $0.memberName, "email": $0.email, "kisiUserID": $0.kisiUserID] },
            "hasAdopted": !adopted.items.isEmpty,
            "adoptedFrom": adopted.offset + 1, "adoptedTo": adopted.offset + adopted.items.count,
            "created": created.items.map { ["memberID": $0.memberID.uuidString, "name": $0.memberName, "email": $0.email, "kisiUserID": $0.kisiUserID] },
            "hasCreated": !created.items.isEmpty,
            "createdFrom": created.offset + 1, "createdTo": created.offset + created.items.count,
        ]
        // Mustache treats every number as true: optional parts are left out rather than zero.
        if reviews.count > rows.count { data["moreReviews"] = reviews.count - rows.count }
        if adopted.offset + adopted.items.count < adopted.total {
            data["adoptedNext"] = offsets.link(adopted: adopted.offset + adopted.limit, anchor: "matched")
        }
        if adopted.offset > 0 { data["adoptedPrevious"] = offsets.link(adopted: max(0, adopted.offset - adopted.limit), anchor: "matched") }
        if created.offset + created.items.count < created.total {
            data["createdNext"] = offsets.link(created: created.offset + created.limit, anchor: "created")
        }
        if created.offset > 0 { data["createdPrevious"] = offsets.link(created: max(0, created.offset - created.limit), anchor: "created") }
        if !kisiReadable { data["notConnected"] = true }
        return data
    }

    func reviewRow(_ review: UserReview, _ options: ReviewOptions, time: ClubTime) -> [String: Any] {
        let instant = now()
        let memberName = options.member?.fullName ?? "the member"
        func form(_ decision: LinkDecision) -> [String: Any] {
            var row: [String: Any] = ["reviewID": review.stored.id.uuidString]
            switch decision {
            case .link(let userID):
                row["decision"] = "link"
                row["label"] = "Link to Kisi user #\(userID)"
                row["confirm"] = "Link \(memberName) to Kisi user #\(userID)? The sync then gives that user \(memberName)'s door access."
            case .unlink:
                let old = options.linkedUserID.map { "Kisi user #\($0)" } ?? "the Kisi user"
                row["decision"] = "unlink"
                row["label"] = "Unlink"
                row["confirm"] = "Unlink \(old) from \(memberName)? The next sync adopts the Kisi user with \(memberName)'s e-mail or creates one; \(old) loses the door access BooGYMan gave it."
                row["danger"] = true
            case .keep:
                let kept = options.linkedUserID.map { "Kisi user #\($0)" } ?? "the Kisi user"
                let others = options.others.map(\.fullName).joined(separator: ", ")
                row["decision"] = "keep"
                row["label"] = "Keep the Kisi user for this member"
                row["confirm"] = "Keep \(kept) for \(memberName) and unlink it from \(others)? The sync then finds or creates their own Kisi users."
            case .claim(let userID):
                let claimant = options.claimants[userID].flatMap { id in options.others.first { $0.id == id }?.fullName } ?? "the other member"
                row["decision"] = "claim"
                row["label"] = "Link to this member instead"
                row["confirm"] = "Give Kisi user #\(userID) to \(memberName) instead of \(claimant)? \(claimant) then gets their own Kisi user from the next sync."
                row["danger"] = true
            }
            if let userID = decision.userID { row["userID"] = userID }
            return row
        }
        let users: [[String: Any]] = options.users.map { user in
            var row: [String: Any] = [
                "id": user.id, "name": user.name.isEmpty ? "(no name)" : user.name, "email": user.email,
                "confirmed": user.confirmed.map { $0 ? "yes" : "not yet" } ?? "unknown",
                "decisions": options.decisions.filter { $0.userID == user.id }.map(form),
            ]
            if let created = user.createdAt { row["createdAt"] = time.value(created, now: instant) }
            if user.id == options.linkedUserID { row["isLinked"] = true }
            if let owner = options.owners[user.id], owner != options.member?.id {
                row["linkedTo"] = options.others.first { $0.id == owner }?.fullName ?? "another member (possibly deleted)"
            } else if let claimant = options.claimants[user.id] {
                row["linkedTo"] = (options.others.first { $0.id == claimant }?.fullName ?? "another member") + " (Kisi metadata)"
            }
            return row
        }
        var row: [String: Any] = [
            "id": review.stored.id.uuidString, "kind": review.kind.rawValue, "kindLabel": Self.reviewLabel(review.kind),
            "message": review.stored.detail, "since": time.value(review.stored.createdAt, now: instant),
            "users": users, "hasUsers": !users.isEmpty,
            "others": options.others.map { ["id": $0.id.uuidString, "name": $0.fullName, "email": $0.email.value] },
            "hasOthers": !options.others.isEmpty,
            "decisions": options.decisions.filter { $0.userID == nil }.map(form),
            "editEmail": review.kind == .sharedMemberEmail,
            "undecidable": options.decisions.isEmpty,
        ]
        if let member = options.member {
            row["member"] = ["id": member.id.uuidString, "name": member.fullName, "email": member.email.value]
        } else {
            row["memberGone"] = true
        }
        if let linked = options.linkedUserID { row["linkedUserID"] = linked }
        if let problem = options.problem { row["problem"] = problem }
        return row
    }

    static func reviewLabel(_ kind: ReviewKind) -> String {
        switch kind {
        case .sharedMemberEmail: "Two members share an e-mail"
        case .duplicateKisiEmail: "Several Kisi users have the member's e-mail"
        case .linkedEmailMismatch: "The linked Kisi user has another e-mail"
        case .kisiUserClaimed: "The Kisi user with this e-mail belongs to another member"
        case .userLinkedToSeveralMembers: "One Kisi user is linked to several members"
        case .groupMarkerMismatch, .groupLinkedToSeveralPlans, .unlinkedMarkedGroup, .unreachableGroup: kind.rawValue
        }
    }
}

// MARK: - Kisi users who are not members

/// The organization's Kisi users that stand for no member yet (a gym moving in brings a Kisi
/// organization full of people), one Kisi page per view, each with "Create member from this Kisi
/// user": the member is created linked to that user, so the sync adopts it instead of creating another.
extension AdminRoutes {
    /// Kisi users read per page view: one Kisi request (Kisi lists at most 100 users a page).
    static let kisiUsersPerPage = 100

    /// The `kisi_offset` query parameter: where in Kisi's user list the page starts (Kisi stops at 20,000).
    static func kisiOffset(_ request: Request) throws -> Int {
        guard let raw = request.uri.queryParameters.get("kisi_offset"), !raw.isEmpty else { return 0 }
        guard let offset = Int(raw), (0...20_000).contains(offset) else {
            throw AdminError.badRequest("The Kisi offset must be a whole number from 0 to 20000.")
        }
        return offset
    }

    /// One page of Kisi users, those matching no member (by link or by e-mail) listed.
    func unmatchedKisiUsersData(_ offsets: AdoptionOffsets) async throws -> [String: Any] {
        let offset = offsets.kisi
        guard await kisiConnectionStored() else { return [:] }
        let page: KisiUserPage
        do {
            page = try await control.kisiUsers(offset: offset, limit: Self.kisiUsersPerPage)
        } catch {
            return ["unmatchedShown": true, "unmatchedProblem": Self.plainWords(error)]
        }
        let linked = try await repository.memberIDs(linkedToKisiUsers: page.users.map(\.id))
        let members = try await repository.members(ids: linked.values)
        let emailsInUse = try await repository.memberEmailKeys(among: page.users.map(\.email))
        let unmatched = page.users.filter { user in
            if let owner = linked[user.id], members[owner] != nil { return false }
            return EmailAddress(user.email).map { !emailsInUse.contains($0.normalized) } ?? true
        }
        let time = ClubTime.gym(try await repository.layout())
        let instant = now()
        var data: [String: Any] = [
            "unmatchedShown": true,
            "unmatched": unmatched.map { user -> [String: Any] in
                let split = Self.memberName(fromKisiName: user.name)
                var row: [String: Any] = [
                    "id": user.id, "name": user.name.isEmpty ? "(no name)" : user.name, "email": user.email,
                ]
                if let created = user.createdAt { row["createdAt"] = time.value(created, now: instant) }
                if split != nil, EmailAddress(user.email) != nil { row["creatable"] = true }
                return row
            },
            "hasUnmatched": !unmatched.isEmpty,
            "kisiFrom": page.offset + 1, "kisiTo": page.offset + page.users.count,
            "kisiTotal": page.total.map(String.init) ?? "more",
        ]
        if page.users.isEmpty { data["kisiFrom"] = page.offset }
        if page.hasMore, page.offset + page.limit <= 20_000 {
            data["kisiNext"] = offsets.link(kisi: page.offset + page.limit, anchor: "unmatched")
        }
        if page.offset > 0 { data["kisiPrevious"] = offsets.link(kisi: max(0, page.offset - page.limit), anchor: "unmatched") }
        return data
    }

    /// First and last name from a Kisi user's one name field: the last word is the last name.
    /// Nil for a single word, which says too little to file a member under.
    static func memberName(fromKisiName name: String) -> (first: String, last: String)? {
        let words = name.split(whereSeparator: \.isWhitespace).map(String.init)
        guard words.count >= 2 else { return nil }
        return (words.dropLast().joined(separator: " "), words[words.count - 1])
    }

    func createMemberFromKisiUser(_ context: AdminContext, session: StaffSession) async throws -> Response {
        guard let userID = context.parameters.get("user").flatMap(Int.init), userID > 0 else { throw AdminError.notFound }
        guard await kisiConnectionStored() else {
            throw AdminError.badRequest("Kisi is not connected, so the Kisi user cannot be read.")
        }
        // Read from Kisi, not from the form: the member gets the user's name and e-mail as Kisi holds them.
        let user: KisiUserSummary?
        do {
            user = try await control.kisiUser(id: userID)
        } catch {
            throw AdminError.badRequest("BooGYMan could not read Kisi user #\(userID): \(Self.plainWords(error))")
        }
        guard let user else { throw AdminError.notFound }
        guard let name = Self.memberName(fromKisiName: user.name) else {
            throw AdminError.badRequest(
                "Kisi user #\(userID) has no first and last name (\"\(user.name)\"). Add the member on the Members page with the e-mail \(user.email); the sync then adopts this Kisi user by e-mail.")
        }
        let member: Member
        do {
            member = try await repository.createMember(
                MemberDraft(firstName: name.first, lastName: name.last, email: user.email), linkedToKisiUser: userID,
                by: "staff:\(session.staff.email.value)")
        } catch let errors as FieldErrors {
            throw AdminError.badRequest("Kisi user #\(userID) cannot become a member as it stands: \(errors).")
        } catch StoreError.conflict(let message) {
            throw AdminError.badRequest("Kisi user #\(userID) stands for a member already (\(message)). Reload the page.")
        }
        context.logger.notice("Member created from a Kisi user", metadata: [
            "member_id": "\(member.id)", "kisi_user_id": "\(userID)", "staff_id": "\(session.staff.id)",
        ])
        return Self.redirect("/admin/members/\(member.id)?done=created")
    }
}
