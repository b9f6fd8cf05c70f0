import FluentKit
import Foundation
import GymCore
import SQLKit

/// Managed Kisi groups are linked by their ``ManagedGroupKey`` rather than by a plan: a plan may have one
/// group per Kisi place (a place administrator's key), and a studio groups for its classes.
///
/// `kisi_links` cannot hold that: it allows one link per (kind, local ID), and SQLite cannot drop that
/// constraint. So group links move to `kisi_group_links`, keyed by the key's stored form
/// (``ManagedGroupKey/storageKey``, e.g. `plan:<UUID>`, `plan:<UUID>:place:12`) with the plan or studio
/// it belongs to in `owner_id`; every existing plan link is copied as `plan:<UUID>` and removed from
/// `kisi_links`, which keeps the member ⇄ Kisi user links. A Kisi group stays linked at most once.
struct M017KeyGroupLinks: AsyncMigration {
    var name: String { "017_key_group_links" }

    func prepare(on database: any Database) async throws {
        try await database.schema(KisiGroupLinkRow.schema)
            .id()
            .field("group_key", .string, .required)
            .field("owner_id", .uuid, .required)
            .field("kisi_id", .int64, .required)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .unique(on: "group_key", name: "kisi_group_links_group_key_unique")
            .unique(on: "kisi_id", name: "kisi_group_links_kisi_id_unique")
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "kisi_group_links_owner_index").on(KisiGroupLinkRow.schema).column("owner_id").run()
        let rows = try await sql.select().columns("local_id", "kisi_id", "created_at").from("kisi_links")
            .where("kind", .equal, "plan").all()
        let now = Date()
        for row in rows {
            let planID = try row.decode(column: "local_id", as: UUID.self)
            let groupID = try row.decode(column: "kisi_id", as: Int.self)
            let created = ((try? row.decode(column: "created_at", as: Date?.self)) ?? nil) ?? now
            try await sql.insert(into: KisiGroupLinkRow.schema)
                .columns("id", "group_key", "owner_id", "kisi_id", "created_at", "updated_at")
                .values(SQLBind(UUID()), SQLBind(ManagedGroupKey.plan(planID).storageKey), SQLBind(planID), SQLBind(groupID),
                        SQLBind(created), SQLBind(now))
                .run()
        }
        try await sql.delete(from: "kisi_links").where("kind", .equal, "plan").run()
    }

    func revert(on database: any Database) async throws {
        // Only whole plans' groups fit the old table; place and class groups are forgotten (their marker
        // lets a later sync find them again).
        if let sql = database as? any SQLDatabase {
            let rows = try await sql.select().columns("group_key", "kisi_id").from(KisiGroupLinkRow.schema).all()
            for row in rows {
                guard case .plan(let planID) = ManagedGroupKey(storageKey: try row.decode(column: "group_key", as: String.self)) else { continue }
                try await sql.insert(into: "kisi_links")
                    .columns("id", "kind", "local_id", "kisi_id", "created_at", "updated_at")
                    .values(SQLBind(UUID()), SQLBind("plan"), SQLBind(planID), SQLBind(try row.decode(column: "kisi_id", as: Int.self)),
                            SQLBind(Date()), SQLBind(Date()))
                    .run()
            }
        }
        try await database.schema(KisiGroupLinkRow.schema).delete()
    }
}

extension GymDatabase {
    /// Undoes migration 017 (whole plans' group links go back to `kisi_links`), so tests can apply it to
    /// a database as an older release left it.
    public func revertGroupKeyLinks() async throws {
        let migration = M017KeyGroupLinks()
        guard try await appliedMigrations().contains(migration.name) else { return }
        try await migration.revert(on: database)
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.delete(from: "_fluent_migrations").where("name", .equal, migration.name).run()
    }
}
