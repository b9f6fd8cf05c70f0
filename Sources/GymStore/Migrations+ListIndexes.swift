import FluentKit
import FluentSQL
import Foundation
import Logging
import SQLKit

/// Indexes for the lists staff and API clients page through at 100,000 members and a million
/// audit entries (BENCHMARKS.md, "API and admin pages at scale").
///
/// - Each list's sort key, so the first page (and every page from a cursor) is an index range scan
///   instead of sorting the whole table: members by name, subscriptions by start date, each of them
///   also after the filter column it is listed by (`member_id`, `plan_id`).
/// - Foreign keys neither database indexes by itself: `subscriptions.member_id` (every access
///   decision reads a member's subscriptions) and `subscription_freezes.subscription_id` (every
///   subscription read loads its freezes).
/// - The audit log's filters followed by `id`, its order: an entry of one member, plan, action or
///   status is found without walking the journal. The single-column `member_id` and `status`
///   indexes of migration 006 are prefixes of the new ones and would only slow down every write.
/// - The sync's queue: only unprocessed access changes, a handful among everything ever changed.
/// - On PostgreSQL, a trigram index on `members.search_text` for the members search (see
///   `GymRepository.members(search:_:)`), when `pg_trgm` can be installed; without it the
///   search still works and scans.
///
/// Plain `CREATE INDEX` statements, the same on SQLite and PostgreSQL, applied at start-up like every
/// migration: on an existing database they block writes to each table while its index is built
/// (seconds at the sizes above, measured in BENCHMARKS.md).
struct M015AddListIndexes: AsyncMigration {
    var name: String { "015_add_list_indexes" }

    static let indexes: [(name: String, definition: String)] = [
        ("members_name_order_index", "members (last_name, first_name, id)"),
        ("subscriptions_start_order_index", "subscriptions (start_date, id)"),
        ("subscriptions_member_order_index", "subscriptions (member_id, start_date, id)"),
        ("subscriptions_plan_order_index", "subscriptions (plan_id, start_date, id)"),
        ("subscription_freezes_subscription_index", "subscription_freezes (subscription_id)"),
        ("kisi_writes_member_order_index", "kisi_writes (member_id, id)"),
        ("kisi_writes_plan_order_index", "kisi_writes (plan_id, id)"),
        ("kisi_writes_action_order_index", "kisi_writes (action, id)"),
        ("kisi_writes_status_order_index", "kisi_writes (status, id)"),
        ("access_changes_unprocessed_index", "access_changes (id) WHERE processed_at IS NULL"),
    ]
    /// Migration 006's indexes that the ones above make redundant.
    static let replaced: [(name: String, definition: String)] = [
        ("kisi_writes_member_id_index", "kisi_writes (member_id)"),
        ("kisi_writes_status_index", "kisi_writes (status)"),
    ]
    static let trigramIndex = "members_search_trigram_index"

    func prepare(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        for index in Self.indexes {
            try await sql.raw("CREATE INDEX \(ident: index.name) ON \(unsafeRaw: index.definition)").run()
        }
        for index in Self.replaced {
            try await sql.raw("DROP INDEX IF EXISTS \(ident: index.name)").run()
        }
        if sql.dialect.name == "postgresql" { await Self.addTrigramIndex(sql, logger: database.logger) }
    }

    /// `pg_trgm` ships with PostgreSQL's contrib package and is a trusted extension (PostgreSQL 13+),
    /// so a database owner may install it; a server without the package, or a role that may not,
    /// keeps the scanning search rather than failing the upgrade. Each statement commits on its
    /// own (migrations run outside a transaction), so a refusal leaves nothing half done.
    static func addTrigramIndex(_ sql: any SQLDatabase, logger: Logger) async {
        do {
            try await sql.raw("CREATE EXTENSION IF NOT EXISTS pg_trgm").run()
            try await sql.raw("CREATE INDEX \(ident: trigramIndex) ON members USING gin (search_text gin_trgm_ops)").run()
        } catch {
            logger.notice(
                "Member search works without an index on this PostgreSQL: the pg_trgm extension could not be installed",
                metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    func revert(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        for index in Self.replaced {
            try await sql.raw("CREATE INDEX \(ident: index.name) ON \(unsafeRaw: index.definition)").run()
        }
        for name in Self.indexes.map(\.name) + [Self.trigramIndex] {
            try await sql.raw("DROP INDEX IF EXISTS \(ident: name)").run()
        }
    }
}

extension GymDatabase {
    /// Reverts migration 015 and forgets it was applied, so the next start applies it again. For
    /// measuring the lists before and after it on one filled database (`boogyman-bench api-scale`);
    /// no server may be running on the database meanwhile.
    public func revertListIndexes() async throws {
        let migration = M015AddListIndexes()
        guard try await appliedMigrations().contains(migration.name) else { return }
        try await migration.revert(on: database)
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.delete(from: "_fluent_migrations").where("name", .equal, migration.name).run()
    }
}
