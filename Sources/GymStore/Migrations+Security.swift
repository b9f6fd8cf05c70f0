import FluentKit
import FluentSQL
import SQLKit

/// Sign-in throttling that cannot be raced, and Kisi webhook deliveries remembered by event ID.
///
/// `staff_sign_in_counters` holds one row per throttled key: an (account, address) pair, an address
/// or an account. Each sign-in attempt bumps its rows with one UPSERT before the password is checked,
/// so concurrent attempts each see a distinct count. Times are epoch milliseconds, compared in SQL
/// the same way on SQLite and PostgreSQL. It replaces `staff_login_failures`, whose read-then-insert
/// let parallel guesses through.
struct M012CreateSignInCountersAndWebhookDeliveries: AsyncMigration {
    var name: String { "012_create_sign_in_counters_and_webhook_deliveries" }

    func prepare(on database: any Database) async throws {
        try await database.schema("staff_sign_in_counters")
            .field("key", .string, .identifier(auto: false))
            .field("scope", .string, .required)
            .field("email_key", .string, .required)
            .field("client_address", .string, .required)
            .field("attempts", .int64, .required)
            .field("window_start_ms", .int64, .required)
            .field("last_attempt_ms", .int64, .required)
            .create()
        try await database.schema("kisi_webhook_deliveries")
            .field("event_uuid", .string, .identifier(auto: false))
            .field("event_type", .string, .required)
            .field("received_at_ms", .int64, .required)
            .create()
        try await database.schema("staff_login_failures").delete()

        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "staff_sign_in_counters_email_index").on("staff_sign_in_counters")
            .column("email_key").column("window_start_ms").run()
        try await sql.create(index: "staff_sign_in_counters_window_index").on("staff_sign_in_counters").column("window_start_ms").run()
        try await sql.create(index: "kisi_webhook_deliveries_received_index").on("kisi_webhook_deliveries").column("received_at_ms").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("staff_login_failures")
            .field(.id, .int64, .identifier(auto: true))
            .field("email_key", .string, .required)
            .field("client_address", .string, .required)
            .field("failed_at", .datetime, .required)
            .create()
        for table in ["kisi_webhook_deliveries", "staff_sign_in_counters"] {
            try await database.schema(table).delete()
        }
    }
}

/// Answers of JSON API POSTs sent with an `Idempotency-Key`, per token and key, for 24 hours. The
/// unique key is what stops two concurrent duplicates from both doing the work: only one insert wins.
struct M013CreateIdempotencyKeys: AsyncMigration {
    var name: String { "013_create_idempotency_keys" }

    func prepare(on database: any Database) async throws {
        try await database.schema("api_idempotency_keys")
            .field("token_id", .uuid, .required)
            .field("idempotency_key", .string, .required)
            .field("request_hash", .string, .required)
            .field("created_at_ms", .int64, .required)
            .field("status", .int64)
            .field("content_type", .string)
            .field("body", .string)
            .compositeIdentifier(over: "token_id", "idempotency_key")
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "api_idempotency_keys_created_index").on("api_idempotency_keys").column("created_at_ms").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("api_idempotency_keys").delete()
    }
}
