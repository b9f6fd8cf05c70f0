import FluentKit
import FluentSQL
import Foundation
import GymCore
import SQLKit

extension GymRepository {
    /// Members sorted by name; `search` matches any part of name, e-mail or phone, case-insensitively.
    ///
    /// The search is a substring match (`ana` finds Ioana; `0721` finds a phone number), which no
    /// B-tree index can serve. On PostgreSQL migration 015 adds a trigram index (`pg_trgm`) that
    /// serves this very `LIKE '%…%'`, so the query is the same on both databases and the index is
    /// used wherever the extension could be installed. A lower-cased prefix column would be portable
    /// but would change what a search finds; SQLite scans `search_text`, which at 100,000 members
    /// takes tens of milliseconds (BENCHMARKS.md).
    public func members(search: String? = nil, _ page: PageRequest = PageRequest()) async throws -> Page<Member> {
        let query = MemberRow.query(on: database)
        if let needle = search?.trimmingCharacters(in: .whitespaces).lowercased(), !needle.isEmpty {
            // Callers refuse longer searches; this only keeps a careless one from building a query
            // with thousands of conditions.
            // No stored name holds a control character, and PostgreSQL would refuse a NUL outright.
            let words = String(needle.prefix(TextLimits.query).unicodeScalars.filter { !Validate.containsControlCharacters(String($0)) })
            for word in words.split(separator: " ") {
                // `~~` would hand `%` and `_` to LIKE as wildcards (`q=%` matched everyone); escape them
                // and say which escape character is meant, as SQLite has no default one.
                query.filter(.sql(embed: "\(ident: "search_text") LIKE \(bind: Self.likePattern(containing: String(word))) ESCAPE '\\'"))
            }
        }
        return try await Self.page(query, page, keyset: Self.memberOrder) { try $0.toDomain() }
    }

    /// Last name, first name, ID: the members list's order, served by `members_name_order_index`.
    static let memberOrder = Keyset<MemberRow>(
        columns: ["last_name", "first_name", "id"], descending: false,
        key: { [$0.lastName, $0.firstName, try $0.requireID().uuidString] },
        binds: { (values: [String]) throws(PageCursor.Mismatch) in
            guard let id = UUID(uuidString: values[2]) else { throw PageCursor.Mismatch() }
            return [values[0], values[1], id]
        })

    /// The members with these IDs, keyed by ID; unknown IDs are left out. One query, for pages that
    /// show many members' rows at once.
    public func members(ids: some Collection<UUID>) async throws -> [UUID: Member] {
        guard !ids.isEmpty else { return [:] }
        var members: [UUID: Member] = [:]
        for row in try await MemberRow.query(on: database).filter(\.$id ~~ Array(Set(ids))).all() {
            let member = try row.toDomain()
            members[member.id] = member
        }
        return members
    }

    public func member(_ id: UUID) async throws -> Member {
        try await Self.memberRow(id, on: database).toDomain()
    }

    public func member(email: String) async throws -> Member? {
        guard let address = EmailAddress(email) else { return nil }
        return try await MemberRow.query(on: database).filter(\.$emailKey == address.normalized).first()?.toDomain()
    }

    public func createMember(_ draft: MemberDraft) async throws -> Member {
        let member = try draft.validated(id: UUID())
        return try await write { db in
            try await Self.insert(member, on: db)
            return member
        }
    }

    public func updateMember(_ id: UUID, _ edit: @escaping @Sendable (inout MemberDraft) -> Void) async throws -> Member {
        try await write { db in
            let row = try await Self.memberRow(id, on: db)
            var draft = MemberDraft(firstName: row.firstName, lastName: row.lastName, email: row.email, phone: row.phone, notes: row.notes)
            edit(&draft)
            let member = try draft.validated(id: id)
            try await Self.checkEmailIsFree(member.email, except: id, on: db)
            row.apply(member)
            try await row.save(on: db)
            try await Self.record(.member, id, .updated, member: id, on: db)
            return try row.toDomain()
        }
    }

    /// Audit-log actions of staff blocking and unblocking members, listed beside the Kisi writes they lead to.
    public static let blockMemberAction = "block_member"
    public static let unblockMemberAction = "unblock_member"

    /// Keeps a member out of every door, whatever their subscriptions say, and returns the member.
    ///
    /// One transaction writes the block, an access change (so the sync removes the member's Kisi
    /// grants within a poll; the Kisi user stays) and an audit-log entry with `actor` and the reason.
    /// Blocking a member who is already blocked replaces the reason and `blockedBy` but keeps
    /// `blockedAt`, since the member has been kept out without a break; the audit log keeps every reason.
    /// A blank or over-long reason is `FieldErrors` on `reason`; an unknown member `StoreError.notFound`.
    public func blockMember(id: UUID, reason: String, by actor: String, at instant: Date = Date()) async throws -> Member {
        // Whole seconds survive both databases exactly, so the block read back equals the one returned.
        let since = Date(timeIntervalSince1970: instant.timeIntervalSince1970.rounded(.down))
        let requested = try MemberBlock.validated(reason: reason, blockedAt: since, blockedBy: actor)
        return try await write { db in
            let row = try await Self.memberRow(id, on: db)
            var block = requested
            if let current = try row.block() { block.blockedAt = current.blockedAt }
            row.setBlock(block)
            try await row.save(on: db)
            try await Self.recordBlockChange(
                of: id, action: Self.blockMemberAction, actor: block.blockedBy, reason: "Blocked by staff: \(block.reason)", at: instant, on: db)
            return try row.toDomain()
        }
    }

    /// Lifts a member's block, so the subscriptions decide again; one transaction with its access
    /// change and audit-log entry, as for ``blockMember(id:reason:by:at:)``. A member who is not
    /// blocked is returned unchanged and nothing is written, so repeating an unblock is harmless.
    public func unblockMember(id: UUID, by actor: String, at instant: Date = Date()) async throws -> Member {
        try await write { db in
            let row = try await Self.memberRow(id, on: db)
            guard let lifted = try row.block() else { return try row.toDomain() }
            row.setBlock(nil)
            try await row.save(on: db)
            try await Self.recordBlockChange(
                of: id, action: Self.unblockMemberAction, actor: actor,
                reason: "Block lifted (was: \(lifted.reason)); door access follows the subscriptions again", at: instant, on: db)
            return try row.toDomain()
        }
    }

    static func recordBlockChange(of memberID: UUID, action: String, actor: String, reason: String, at instant: Date, on db: any Database) async throws {
        // `updated` rather than a new action: replicas still on the previous release read the change
        // log during a rolling upgrade, and the sync needs only the member ID to re-check their grants.
        try await record(.member, memberID, .updated, member: memberID, on: db)
        // A decision, not a Kisi call: journalled as already done, so the sync never looks it up in Kisi.
        try await kisiWriteRow(action: action, memberID: memberID, actor: actor, reason: reason, status: .succeeded, at: instant)
            .create(on: db)
    }

    /// Deletes a member and their subscriptions. The access change tells the sync to withdraw the
    /// member's door access; the member's Kisi user itself is kept, as Kisi users always are.
    public func deleteMember(_ id: UUID) async throws {
        try await write { db in
            let row = try await Self.memberRow(id, on: db)
            let subscriptionIDs = try await SubscriptionRow.query(on: db).filter(\.$member.$id == id).all().compactMap(\.id)
            if !subscriptionIDs.isEmpty {
                try await FreezeRow.query(on: db).filter(\.$subscription.$id ~~ subscriptionIDs).delete()
                try await SubscriptionRow.query(on: db).filter(\.$id ~~ subscriptionIDs).delete()
            }
            try await row.delete(on: db)
            try await Self.record(.member, id, .deleted, member: id, on: db)
        }
    }

    /// Imports members all at once: either every draft is valid and new, or nothing is written and
    /// each problem is reported against the draft's position.
    ///
    /// With `dryRun`, everything is checked and nothing is written.
    public func importMembers(_ drafts: [MemberDraft], skipInvalid: Bool, dryRun: Bool = false) async throws -> MemberImportResult {
        try await write { db in
            var problems: [Int: FieldErrors] = [:]
            var accepted: [(Int, Member)] = []
            var seen: [String: Int] = [:]
            let existing = Set(try await MemberRow.query(on: db).all().map(\.emailKey))
            for (index, draft) in drafts.enumerated() {
                do {
                    let member = try draft.validated(id: UUID())
                    let key = member.email.normalized
                    if existing.contains(key) {
                        throw FieldErrors(field: "email", "\(member.email) is already used by another member")
                    }
                    if let earlier = seen[key] {
                        throw FieldErrors(field: "email", "\(member.email) appears again; first seen at entry \(earlier + 1)")
                    }
                    seen[key] = index
                    accepted.append((index, member))
                } catch let error as FieldErrors {
                    problems[index] = error
                }
            }
            if dryRun || (!problems.isEmpty && !skipInvalid) {
                return MemberImportResult(imported: [], problems: problems)
            }
            for (_, member) in accepted { try await Self.insert(member, on: db) }
            return MemberImportResult(imported: accepted.map(\.1), problems: problems)
        }
    }

    static func insert(_ member: Member, on db: any Database) async throws {
        try await checkEmailIsFree(member.email, except: nil, on: db)
        let row = MemberRow()
        row.apply(member)
        try await row.create(on: db)
        try await record(.member, member.id, .created, member: member.id, on: db)
    }

    static func memberRow(_ id: UUID, on db: any Database) async throws -> MemberRow {
        guard let row = try await MemberRow.find(id, on: db) else { throw StoreError.notFound(entity: "member", id: id) }
        return row
    }

    static func checkEmailIsFree(_ email: EmailAddress, except id: UUID?, on db: any Database) async throws {
        let query = MemberRow.query(on: db).filter(\.$emailKey == email.normalized)
        if let id { query.filter(\.$id != id) }
        if try await query.count() > 0 {
            throw FieldErrors(field: "email", "\(email) is already used by another member")
        }
    }
}

/// What a member import did: with problems and no `skipInvalid`, nothing is imported.
public struct MemberImportResult: Sendable {
    public var imported: [Member]
    /// Validation problems keyed by the draft's zero-based position.
    public var problems: [Int: FieldErrors]
}

extension GymRepository {
    /// A LIKE pattern matching `text` anywhere, with LIKE's own characters taken literally
    /// (to be used with `ESCAPE '\'`).
    static func likePattern(containing text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "\\" || character == "%" || character == "_" { escaped.append("\\") }
            escaped.append(character)
        }
        return "%" + escaped + "%"
    }
}
