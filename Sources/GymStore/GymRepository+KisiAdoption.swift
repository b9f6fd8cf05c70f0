import FluentKit
import Foundation
import GymCore
import SQLKit

// Staff decisions about which Kisi user stands for which member, and how members got their Kisi users.

extension GymRepository {
    /// Journal actions of staff link decisions. Local writes: nothing is sent to Kisi.
    public static let staffLinkUserAction = "staff_link_user"
    public static let staffUnlinkUserAction = "staff_unlink_user"
    /// Journal actions of the sync that make a new Kisi user for a member (`SyncActionKind.actionName`).
    /// A link without one of these behind it is an adoption.
    static let userCreatingActions = ["createUser", "inviteUser"]

    /// The held review with this ID, open or resolved; nil when there is none.
    public func heldReview(id: UUID) async throws -> HeldReview? {
        try await HeldReviewRow.find(id, on: database)?.toDomain()
    }

    /// Carries out staff's decision on which Kisi user stands for which member: applies `changes` in
    /// order, journals every change that alters a link as a finished local write by `actor`, and records
    /// an access change for every member of `changes` and `alsoAffected`, so the sync re-plans them within
    /// its poll interval and closes the review itself once the ambiguity is gone. One transaction: a link
    /// never moves without its audit line and its access change, and a conflict leaves everything as it was.
    ///
    /// Links follow ``setKisiUserLink(memberID:userID:)``'s rule: a Kisi user linked to another member
    /// (after the earlier changes of the list) is a `StoreError.conflict`. Nothing is sent to Kisi.
    public func decideKisiUserLinks(
        _ changes: [KisiUserLinkChange], alsoAffected: [UUID] = [], actor: String, trigger: String, at instant: Date = Date()
    ) async throws {
        var errors = FieldErrors()
        if actor.trimmingCharacters(in: .whitespaces).isEmpty { errors.add("actor", "is required") }
        for change in changes where (change.userID ?? 1) <= 0 { errors.add("kisi_id", "must be a positive Kisi ID") }
        try errors.throwIfAny()
        let kind = KisiLinkRow.memberKind
        try await write { db in
            var affected: [UUID] = []
            for change in changes {
                let current = try await KisiLinkRow.query(on: db).filter(\.$kind == kind).filter(\.$localID == change.memberID).first()
                if !affected.contains(change.memberID) { affected.append(change.memberID) }
                guard current?.kisiID != change.userID else { continue }  // already so: nothing to journal
                if let userID = change.userID {
                    if let other = try await KisiLinkRow.query(on: db)
                        .filter(\.$kind == kind).filter(\.$kisiID == userID).filter(\.$localID != change.memberID).first()
                    {
                        throw StoreError.conflict("Kisi user \(userID) is already linked to member \(other.localID)")
                    }
                    let row = current ?? {
                        let row = KisiLinkRow()
                        row.id = UUID()
                        row.kind = kind
                        row.localID = change.memberID
                        return row
                    }()
                    row.kisiID = userID
                    try await row.save(on: db)
                } else if let current {
                    try await current.delete(on: db)
                }
                let entry = KisiWriteRow()
                entry.createdAt = instant
                entry.finishedAt = instant
                entry.action = change.userID == nil ? Self.staffUnlinkUserAction : Self.staffLinkUserAction
                entry.kisiObjectType = "user"
                // The user the member is linked to now, or for an unlink the one it was linked to.
                entry.kisiObjectID = change.userID ?? current?.kisiID
                entry.memberID = change.memberID
                entry.trigger = trigger
                entry.actor = actor
                entry.reason = change.reason
                entry.status = KisiWriteStatus.succeeded.rawValue
                try await entry.create(on: db)
            }
            for memberID in alsoAffected where !affected.contains(memberID) { affected.append(memberID) }
            for memberID in affected {
                try await Self.record(.member, memberID, .kisiEvent, member: memberID, on: db)
            }
        }
    }

    /// How many current members are linked to a Kisi user, and how many of those users BooGYMan adopted
    /// (the link has no succeeded create or invite of that very user for that member in the journal).
    /// Two aggregate queries, whatever the number of members.
    public func kisiUserLinkCounts() async throws -> (linked: Int, adopted: Int) {
        let sql = try sqlDatabase
        let linked = try await sql.raw("""
            SELECT COUNT(*) AS n FROM kisi_links l JOIN members m ON m.id = l.local_id WHERE l.kind = \(bind: KisiLinkRow.memberKind)
            """).first()?.decode(column: "n", as: Int.self) ?? 0
        let adopted = try await sql.raw("""
            SELECT COUNT(*) AS n FROM kisi_links l JOIN members m ON m.id = l.local_id
            WHERE l.kind = \(bind: KisiLinkRow.memberKind) AND \(Self.noCreationBehind(link: "l"))
            """).first()?.decode(column: "n", as: Int.self) ?? 0
        return (linked, adopted)
    }

    /// One page of the members whose Kisi user was adopted rather than created (see ``kisiUserLinkCounts()``),
    /// sorted by name.
    public func adoptedKisiUsers(_ page: PageRequest = PageRequest()) async throws -> Page<AdoptedKisiUser> {
        let page = page.clamped
        let items = try await linkedKisiUsers(createdByBooGYMan: false, page)
        return Page(items: items, total: try await kisiUserLinkCounts().adopted, limit: page.limit, offset: page.offset)
    }

    /// One page of the members linked to a Kisi user, sorted by name: those whose user BooGYMan created or
    /// invited, or those whose user it adopted (no such creation behind the link).
    func linkedKisiUsers(createdByBooGYMan: Bool, _ page: PageRequest) async throws -> [AdoptedKisiUser] {
        let sql = try sqlDatabase
        let rows = try await sql.raw("""
            SELECT m.id AS member_id, m.first_name, m.last_name, m.email, l.kisi_id
            FROM kisi_links l JOIN members m ON m.id = l.local_id
            WHERE l.kind = \(bind: KisiLinkRow.memberKind) AND \(unsafeRaw: createdByBooGYMan ? "NOT " : "")\(Self.noCreationBehind(link: "l"))
            ORDER BY m.last_name, m.first_name, m.id
            LIMIT \(bind: page.limit) OFFSET \(bind: page.offset)
            """).all()
        return try rows.map { row in
            AdoptedKisiUser(
                memberID: try row.decode(column: "member_id", as: UUID.self),
                memberName: "\(try row.decode(column: "first_name", as: String.self)) \(try row.decode(column: "last_name", as: String.self))",
                email: try row.decode(column: "email", as: String.self),
                kisiUserID: try row.decode(column: "kisi_id", as: Int.self))
        }
    }

    /// `NOT EXISTS` a succeeded journal entry that created or invited the linked user for the linked
    /// member. Uses the journal's `member_id` index, so it costs one index probe per link.
    static func noCreationBehind(link alias: String) -> SQLQueryString {
        """
        NOT EXISTS (SELECT 1 FROM kisi_writes w WHERE w.member_id = \(unsafeRaw: alias).local_id \
        AND w.kisi_object_id = \(unsafeRaw: alias).kisi_id AND w.status = \(bind: KisiWriteStatus.succeeded.rawValue) \
        AND w.action IN (\(binds: userCreatingActions)))
        """
    }
}
