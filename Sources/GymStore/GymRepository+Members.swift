import FluentKit
import Foundation
import GymCore

extension GymRepository {
    /// Members sorted by name; `search` matches any part of name, e-mail or phone, case-insensitively.
    public func members(search: String? = nil, _ page: PageRequest = PageRequest()) async throws -> Page<Member> {
        let query = MemberRow.query(on: database).sort(\.$lastName).sort(\.$firstName).sort(\.$id)
        if let needle = search?.trimmingCharacters(in: .whitespaces).lowercased(), !needle.isEmpty {
            for word in needle.split(separator: " ") {
                query.filter(\.$searchText ~~ String(word))
            }
        }
        return try await Self.page(query, page) { try $0.toDomain() }
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
            return member
        }
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
