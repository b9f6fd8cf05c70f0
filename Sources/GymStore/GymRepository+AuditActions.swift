import FluentKit
import Foundation
import SQLKit

extension GymRepository {
    /// The actions the audit log holds, sorted: what its action filter can offer.
    ///
    /// A loose index scan over `kisi_writes (action, id)`: each step asks the index for the next action
    /// after the last one, so the cost follows the number of distinct actions (a few dozen), not the
    /// millions of rows a `SELECT DISTINCT` would read. Recursive CTEs work alike on SQLite and PostgreSQL.
    public func kisiWriteActions() async throws -> [String] {
        let rows = try await sqlDatabase.raw("""
            WITH RECURSIVE actions(action) AS (
                SELECT MIN(action) FROM kisi_writes
                UNION ALL
                SELECT (SELECT MIN(k.action) FROM kisi_writes k WHERE k.action > actions.action)
                FROM actions WHERE actions.action IS NOT NULL
            )
            SELECT action FROM actions WHERE action IS NOT NULL
            """).all()
        return try rows.map { try $0.decode(column: "action", as: String.self) }
    }
}
