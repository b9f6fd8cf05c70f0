import FluentKit
import Foundation
import GymCore
import SQLKit

/// The orders the members list offers besides by name.
public enum MemberJoinOrder: String, Sendable, CaseIterable {
    /// Who joined last first: the members the front desk just signed up.
    case newestFirst = "joined"
    case oldestFirst = "joined_oldest"
}

extension GymRepository {
    /// Members by when they were added (then by ID), a page at `page.offset`; `search` as in
    /// ``members(search:_:)``. Offset paging, not a cursor: the join instant is not part of ``Member``
    /// and `created_at` has no index of its own, so each page sorts the matching members (tens of
    /// milliseconds at 100,000 members on SQLite); callers bound the offset with ``PageRequest/clamped``.
    public func members(search: String?, joined order: MemberJoinOrder, _ page: PageRequest) async throws -> Page<Member> {
        let page = page.clamped
        let query = MemberRow.query(on: database)
        if let needle = search?.trimmingCharacters(in: .whitespaces).lowercased(), !needle.isEmpty {
            // The same substring match as the list by name, escaped the same way.
            let words = String(needle.prefix(TextLimits.query).unicodeScalars.filter { !Validate.containsControlCharacters(String($0)) })
            for word in words.split(separator: " ") {
                query.filter(.sql(embed: "\(ident: "search_text") LIKE \(bind: Self.likePattern(containing: String(word))) ESCAPE '\\'"))
            }
        }
        let total = try await query.copy().count()
        let direction: DatabaseQuery.Sort.Direction = order == .newestFirst ? .descending : .ascending
        let rows = try await query.sort(.string("created_at"), direction).sort(.string("id"), direction)
            .offset(page.offset).limit(page.limit).all()
        return Page(items: try rows.map { try $0.toDomain() }, total: total, limit: page.limit, offset: page.offset)
    }
}
