import FluentKit
import Foundation
import GymCore

/// What a subscription import did, or would do (`written` false).
public struct SubscriptionImportResult: Sendable {
    /// Members the import creates (or would create).
    public var newMembers: [Member]
    /// Members the file names who exist already (their subscriptions are added to them).
    public var existingMembers: [Member]
    public var subscriptions: [Subscription]
    /// Every bad row, by line, sorted.
    public var problems: [ImportLineProblem]
    /// Whether anything was written.
    public var written: Bool
    public var access: ImportAccessOutcome
}

/// The door-access outcome of an import, by the access rule at the instant given, for the members
/// the file names (new and existing) with all their subscriptions after the import.
public struct ImportAccessOutcome: Sendable, Equatable {
    /// Members who may open a door at that instant.
    public var membersWithAccess: Int
    /// Members whose access starts later by itself (a subscription not started yet): the sync
    /// gives them their Kisi user and a grant ahead of time.
    public var membersWithUpcomingAccess: Int
    /// Members without access, by the access rule's reason (frozen, cancelled, past due …).
    public var membersWithoutAccess: [AccessReason: Int]
    /// Members who will need a Kisi user (access now or upcoming) and are linked to one already.
    public var kisiUsersLinked: Int
    /// Members who will need a Kisi user and have none linked: at the sync, a Kisi user with their
    /// e-mail is adopted, else one is created. Their e-mails, for a look-up before committing.
    public var kisiUsersNeeded: [EmailAddress]

    public init(
        membersWithAccess: Int = 0, membersWithUpcomingAccess: Int = 0, membersWithoutAccess: [AccessReason: Int] = [:],
        kisiUsersLinked: Int = 0, kisiUsersNeeded: [EmailAddress] = []
    ) {
        self.membersWithAccess = membersWithAccess
        self.membersWithUpcomingAccess = membersWithUpcomingAccess
        self.membersWithoutAccess = membersWithoutAccess
        self.kisiUsersLinked = kisiUsersLinked
        self.kisiUsersNeeded = kisiUsersNeeded
    }
}

extension GymRepository {
    /// Imports members with their subscriptions, checked as a whole first.
    ///
    /// Each row is a member (new, or an existing one found by e-mail) and, when it names a plan, one
    /// subscription with its freeze and cancellation. Rows with the same e-mail are one member and
    /// must agree on the name. A row is bad when its member or subscription would be refused by the
    /// API, its plan is unknown, ambiguous or archived (while the subscription still runs), or the
    /// same subscription (member, plan, start) exists already or appears twice: re-running an
    /// import adds nothing twice. `earlierProblems` (lines the CSV reader could not read) join the
    /// report; any problem means nothing is written unless `skipInvalid`.
    ///
    /// One transaction writes the members, subscriptions and freezes with their access changes, so
    /// the sync grants door access as for any sale; Kisi is not asked here. `dryRun` checks and
    /// computes the outcome without writing. The access outcome is the access rule's at `instant`.
    public func importSubscriptions(
        _ rows: [SubscriptionImportRow], earlierProblems: [ImportLineProblem] = [], skipInvalid: Bool, dryRun: Bool, at instant: Date = Date()
    ) async throws -> SubscriptionImportResult {
        try await write { db in
            let layout = try await Self.layout(on: db)
            var plansByName: [String: [Plan]] = [:]
            for plan in layout.plans.values { plansByName[Self.planKey(plan.name), default: []].append(plan) }

            let emailKeys = Set(rows.compactMap { EmailAddress($0.member.email)?.normalized })
            var existing: [String: Member] = [:]
            if !emailKeys.isEmpty {
                for chunk in Array(emailKeys).importChunks(of: 500) {
                    for row in try await MemberRow.query(on: db).filter(\.$emailKey ~~ chunk).all() {
                        existing[row.emailKey] = try row.toDomain()
                    }
                }
            }
            var existingSubscriptions: [UUID: [Subscription]] = [:]
            let existingIDs = existing.values.map(\.id)
            for chunk in existingIDs.importChunks(of: 500) {
                for row in try await SubscriptionRow.query(on: db).with(\.$freezes).filter(\.$member.$id ~~ chunk).all() {
                    let subscription = try row.toDomain()
                    existingSubscriptions[subscription.memberID, default: []].append(subscription)
                }
            }

            var problems = earlierProblems
            var newMembers: [String: Member] = [:]
            var newMemberOrder: [String] = []
            var firstLine: [String: (line: Int, draft: MemberDraft)] = [:]
            var newSubscriptions: [Subscription] = []
            var seenSubscriptions: Set<String> = []
            let today = { (plan: Plan) in LocalDate(containing: instant, in: layout.timeZone(of: plan)) }

            for row in rows {
                var errors = FieldErrors()
                // The member: validated as the API would, then found or created by e-mail.
                var member: Member?
                do throws(FieldErrors) {
                    member = try row.member.validated(id: UUID())
                } catch {
                    errors.merge(error)
                }
                if let candidate = member {
                    let key = candidate.email.normalized
                    if let earlier = firstLine[key] {
                        if Self.nameKey(earlier.draft) != Self.nameKey(row.member) {
                            errors.add("email", "\(candidate.email) is \(earlier.draft.firstName) \(earlier.draft.lastName) on line \(earlier.line), not \(row.member.firstName) \(row.member.lastName)")
                        }
                    }
                    member = existing[key] ?? newMembers[key] ?? candidate
                }

                // The subscription, with its plan, freeze and cancellation.
                var subscription: Subscription?
                if let planName = row.planName {
                    let matches = plansByName[Self.planKey(planName)] ?? []
                    var plan: Plan?
                    switch matches.count {
                    case 0: errors.add("plan", "no plan named \"\(planName)\"")
                    case 1: plan = matches[0]
                    default: errors.add("plan", "\(matches.count) plans are named \"\(planName)\"; rename one")
                    }
                    if let plan, let member, let start = row.startDate, let paidThrough = row.paidThrough {
                        do throws(FieldErrors) {
                            var built = try SubscriptionDraft(
                                memberID: member.id, planID: plan.id, startDate: start, endDate: row.endDate, paidThrough: paidThrough
                            ).validated(id: UUID())
                            if let span = row.freeze { built = try built.addingFreeze(Freeze(span: span, reason: row.freezeReason)) }
                            if let effective = row.cancellationDate {
                                built = try built.cancelling(effectiveDate: effective, reason: row.cancellationReason)
                            }
                            subscription = built
                        } catch {
                            errors.merge(error)
                        }
                        if let built = subscription {
                            if plan.isArchived, Self.stillRuns(built, on: today(plan)) {
                                errors.add("plan", "plan \"\(plan.name)\" is archived and no longer sold; only ended subscriptions may name it")
                            }
                            let identity = "\(member.id) \(plan.id) \(start)"
                            if existingSubscriptions[member.id, default: []].contains(where: { $0.planID == plan.id && $0.startDate == start }) {
                                errors.add("start_date", "\(member.email) already holds \(plan.name) from \(start); this row was imported before")
                            } else if seenSubscriptions.contains(identity) {
                                errors.add("start_date", "\(member.email)'s \(plan.name) from \(start) appears twice in the file")
                            }
                            seenSubscriptions.insert(identity)
                        }
                    }
                }

                if !errors.isEmpty {
                    problems.append(ImportLineProblem(line: row.line, message: errors.description))
                    continue
                }
                guard let member else { continue }
                let key = member.email.normalized
                if firstLine[key] == nil { firstLine[key] = (row.line, row.member) }
                if existing[key] == nil, newMembers[key] == nil {
                    newMembers[key] = member
                    newMemberOrder.append(key)
                }
                if let subscription { newSubscriptions.append(subscription) }
            }
            problems.sort { $0.line < $1.line }

            let created = newMemberOrder.compactMap { newMembers[$0] }
            let touchedExisting = Set(newSubscriptions.map(\.memberID)).subtracting(created.map(\.id))
            let existingTouched = existing.values.filter { touchedExisting.contains($0.id) }.sorted { $0.email.normalized < $1.email.normalized }
            let refused = !problems.isEmpty && !skipInvalid

            // The outcome: every member the file names, with all their subscriptions after the import.
            var allSubscriptions = existingSubscriptions
            for subscription in newSubscriptions { allSubscriptions[subscription.memberID, default: []].append(subscription) }
            let linkedUsers = try await KisiLinkRow.query(on: db).filter(\.$kind == KisiLinkRow.memberKind)
                .filter(\.$localID ~~ existingTouched.map(\.id)).all().map(\.localID)
            var access = ImportAccessOutcome()
            for member in created + existingTouched {
                let decision = AccessRule.decide(member: member, subscriptions: allSubscriptions[member.id] ?? [], layout: layout, at: instant)
                let upcoming = member.block == nil && decision.plans.contains { $0.reason == .notStarted && $0.upcoming != nil }
                if decision.mayEnter {
                    access.membersWithAccess += 1
                } else {
                    access.membersWithoutAccess[decision.reason, default: 0] += 1
                    if upcoming { access.membersWithUpcomingAccess += 1 }
                }
                guard decision.mayEnter || upcoming else { continue }
                if linkedUsers.contains(member.id) {
                    access.kisiUsersLinked += 1
                } else {
                    access.kisiUsersNeeded.append(member.email)
                }
            }

            let result = SubscriptionImportResult(
                newMembers: created, existingMembers: existingTouched, subscriptions: newSubscriptions, problems: problems,
                written: !(dryRun || refused), access: access)
            guard result.written else { return result }
            for member in created { try await Self.insert(member, on: db) }
            for subscription in newSubscriptions {
                let row = SubscriptionRow()
                row.apply(subscription)
                try await row.create(on: db)
                for freeze in subscription.freezes {
                    let freezeRow = FreezeRow()
                    freezeRow.id = freeze.id
                    freezeRow.$subscription.id = subscription.id
                    freezeRow.firstDay = freeze.span.first.description
                    freezeRow.lastDay = freeze.span.last.description
                    freezeRow.reason = freeze.reason
                    try await freezeRow.create(on: db)
                }
                try await Self.record(.subscription, subscription.id, .created, member: subscription.memberID, plan: subscription.planID, on: db)
            }
            return result
        }
    }

    /// Plans are named by people: case, surrounding and repeated spaces do not tell two apart.
    static func planKey(_ name: String) -> String {
        name.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    static func nameKey(_ draft: MemberDraft) -> String {
        planKey(draft.firstName) + "\u{0}" + planKey(draft.lastName)
    }

    /// Whether a subscription may still open doors on or after `today` (not ended, not cancelled before).
    static func stillRuns(_ subscription: Subscription, on today: LocalDate) -> Bool {
        if let end = subscription.endDate, end < today { return false }
        if let cancellation = subscription.cancellation, cancellation.effectiveDate <= today { return false }
        return true
    }
}

// MARK: - Members and their Kisi users

extension GymRepository {
    /// The Kisi user each of these members is linked to; members without a link are left out.
    public func kisiUserIDs(memberIDs: some Collection<UUID>) async throws -> [UUID: Int] {
        guard !memberIDs.isEmpty else { return [:] }
        var links: [UUID: Int] = [:]
        for chunk in Array(Set(memberIDs)).importChunks(of: 500) {
            for row in try await KisiLinkRow.query(on: database).filter(\.$kind == KisiLinkRow.memberKind).filter(\.$localID ~~ chunk).all() {
                links[row.localID] = row.kisiID
            }
        }
        return links
    }

    /// The members linked to each of these Kisi users (deleted members' links included, as the sync keeps them).
    public func memberIDs(linkedToKisiUsers userIDs: some Collection<Int>) async throws -> [Int: UUID] {
        guard !userIDs.isEmpty else { return [:] }
        var owners: [Int: UUID] = [:]
        for chunk in Array(Set(userIDs)).importChunks(of: 500) {
            for row in try await KisiLinkRow.query(on: database).filter(\.$kind == KisiLinkRow.memberKind).filter(\.$kisiID ~~ chunk).all() {
                owners[row.kisiID] = row.localID
            }
        }
        return owners
    }

    /// Audit-log action of staff creating a member from a Kisi user that matched no member.
    public static let createMemberFromKisiUserAction = "create_member_from_kisi_user"

    /// Creates a member for a Kisi user no member stands for, linked to it in the same transaction
    /// (so the sync adopts that user instead of creating another), with the access change and an
    /// audit-log entry naming `actor`. A Kisi user linked to a member already, or an e-mail a member
    /// uses, is a `StoreError.conflict` / `FieldErrors` and nothing is written.
    public func createMember(_ draft: MemberDraft, linkedToKisiUser userID: Int, by actor: String, at instant: Date = Date()) async throws -> Member {
        guard userID > 0 else { throw FieldErrors(field: "kisi_user_id", "must be a positive Kisi ID") }
        let member = try draft.validated(id: UUID())
        return try await write { db in
            if let other = try await KisiLinkRow.query(on: db)
                .filter(\.$kind == KisiLinkRow.memberKind).filter(\.$kisiID == userID).first(),
                try await MemberRow.find(other.localID, on: db) != nil
            {
                throw StoreError.conflict("Kisi user \(userID) is already linked to member \(other.localID)")
            }
            // A deleted member's link (kept for the sync's clean-up) gives way, as when someone re-joins.
            try await KisiLinkRow.query(on: db).filter(\.$kind == KisiLinkRow.memberKind).filter(\.$kisiID == userID).delete()
            try await Self.insert(member, on: db)
            let link = KisiLinkRow()
            link.id = UUID()
            link.kind = KisiLinkRow.memberKind
            link.localID = member.id
            link.kisiID = userID
            try await link.create(on: db)
            try await Self.kisiWriteRow(
                action: Self.createMemberFromKisiUserAction, memberID: member.id, actor: actor,
                reason: "Member \(member.fullName) created from Kisi user #\(userID), linked to it", status: .succeeded, at: instant
            ).create(on: db)
            return member
        }
    }
}

extension Array {
    /// Pieces of at most `size`, for `IN (…)` lists that stay below the databases' parameter limits.
    func importChunks(of size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}

extension GymRepository {
    /// Which of these e-mails a member uses, normalized (as ``EmailAddress/normalized``); one query
    /// per 500 e-mails, for pages that check a page of Kisi users at once.
    public func memberEmailKeys(among emails: some Collection<String>) async throws -> Set<String> {
        let keys = Set(emails.compactMap { EmailAddress($0)?.normalized })
        var found: Set<String> = []
        for chunk in Array(keys).importChunks(of: 500) {
            for row in try await MemberRow.query(on: database).filter(\.$emailKey ~~ chunk).all() { found.insert(row.emailKey) }
        }
        return found
    }
}
