import FluentKit
import Foundation
import SQLKit

extension GymRepository {
    /// One page of the members whose Kisi user BooGYMan created or invited (the journal holds a
    /// succeeded create or invite of that very user for that member): the other side of
    /// ``adoptedKisiUsers(_:)``, sorted by name, its total the difference of ``kisiUserLinkCounts()``.
    public func createdKisiUsers(_ page: PageRequest = PageRequest()) async throws -> Page<AdoptedKisiUser> {
        let page = page.clamped
        let sql = try sqlDatabase
        let rows = try await sql.raw("""
            SELECT m.id AS member_id, m.first_name, m.last_name, m.email, l.kisi_id
            FROM kisi_links l JOIN members m ON m.id = l.local_id
            WHERE l.kind = \(bind: KisiLinkRow.memberKind) AND NOT \(Self.noCreationBehind(link: "l"))
            ORDER BY m.last_name, m.first_name, m.id
            LIMIT \(bind: page.limit) OFFSET \(bind: page.offset)
            """).all()
        let items = try rows.map { row in
            AdoptedKisiUser(
                memberID: try row.decode(column: "member_id", as: UUID.self),
                memberName: "\(try row.decode(column: "first_name", as: String.self)) \(try row.decode(column: "last_name", as: String.self))",
                email: try row.decode(column: "email", as: String.self),
                kisiUserID: try row.decode(column: "kisi_id", as: Int.self))
        }
        let counts = try await kisiUserLinkCounts()
        return Page(items: items, total: counts.linked - counts.adopted, limit: page.limit, offset: page.offset)
    }
}
