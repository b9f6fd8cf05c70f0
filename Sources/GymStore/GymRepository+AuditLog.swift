import FluentKit
import Foundation

extension GymRepository {
    /// The audit log's pages: writes matching `filter`, newest first, from `page.cursor` when given.
    ///
    /// The journal is the largest table (a million rows in a year of a big gym); the cursor keeps
    /// every page an index range scan (`id` descending, after the filter's column: migration 015),
    /// where an offset would make the database walk past every skipped entry.
    public func auditEntries(_ filter: KisiWriteFilter, _ page: PageRequest = PageRequest()) async throws -> Page<KisiWrite> {
        try await Self.page(kisiWriteQuery(filter), page, keyset: Self.auditOrder) { try $0.toDomain() }
    }

    /// Newest first by the journal's own sequence.
    static let auditOrder = Keyset<KisiWriteRow>(
        columns: ["id"], descending: true,
        key: { [String(try $0.requireID())] },
        binds: { (values: [String]) throws(PageCursor.Mismatch) in
            guard let id = Int(values[0]), id > 0 else { throw PageCursor.Mismatch() }
            return [id]
        })
}
