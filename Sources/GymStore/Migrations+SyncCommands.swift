import FluentKit
import FluentSQL
import SQLKit

/// Commands for the replica leading the Kisi sync, and the fence each journalled Kisi write carried.
///
/// Every Kisi write goes through the leader's executor. A page on any replica (an unlock, a resent
/// invitation) asks for one by inserting a `sync_commands` row; the leader claims it, carries it out
/// under its lease and stores the answer, which the page reads back. `expires_at_ms` bounds how long a
/// command may wait: a door must not open minutes after the click because the leader was away.
/// `kisi_writes.fencing_token` records the lease under which each write was sent.
struct M016CreateSyncCommands: AsyncMigration {
    var name: String { "016_create_sync_commands" }

    func prepare(on database: any Database) async throws {
        try await database.schema("sync_commands")
            .field("id", .uuid, .identifier(auto: false))
            .field("kind", .string, .required)
            .field("payload", .string, .required)
            .field("requested_by", .string, .required)
            .field("requested_at_ms", .int64, .required)
            .field("expires_at_ms", .int64, .required)
            .field("status", .string, .required)
            .field("result", .string)
            .field("error", .string)
            .field("fencing_token", .int64)
            .field("started_at_ms", .int64)
            .field("finished_at_ms", .int64)
            .create()
        try await database.schema("kisi_writes")
            .field("fencing_token", .int64)
            .update()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "sync_commands_status_index").on("sync_commands").column("status").column("requested_at_ms").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("kisi_writes").deleteField("fencing_token").update()
        try await database.schema("sync_commands").delete()
    }
}
