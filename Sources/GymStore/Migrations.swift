import FluentKit
import FluentSQL
import SQLKit

/// The schema's history, oldest first. Names are numbered so the applied order is obvious in
/// `_fluent_migrations`; never edit a released migration, add the next number instead.
enum GymMigrations {
    static var all: Migrations {
        let migrations = Migrations()
        migrations.add([
            M001CreateGymLayout(),
            M002CreateMembers(),
            M003CreateSubscriptions(),
            M004CreateAccessChanges(),
            M005CreateAPITokens(),
            M006CreateKisiSync(),
            M007CreateStaffAccess(),
            M008CreateReplicaCoordination(),
            M009AddMemberBlocks(),
            M010AddStaffDisabling(),
            M011CreateDoorEvents(),
            M012CreateSignInCountersAndWebhookDeliveries(),
            M013CreateIdempotencyKeys(),
            M015AddListIndexes(),
            M016CreateSyncCommands(),
            M017KeyGroupLinks(),
            M018CreateStudioClasses(),
            M019CreateClassBookings(),
        ])
        return migrations
    }
}

struct M001CreateGymLayout: AsyncMigration {
    var name: String { "001_create_gym_layout" }

    func prepare(on database: any Database) async throws {
        try await database.schema("clubs")
            .id()
            .field("name", .string, .required)
            .field("time_zone", .string, .required)
            .field("kisi_place_id", .int)
            .field("kisi_lock_ids", .array(of: .int), .required)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .create()
        try await database.schema("studios")
            .id()
            .field("club_id", .uuid, .required, .references("clubs", "id"))
            .field("name", .string, .required)
            .field("kisi_lock_ids", .array(of: .int), .required)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .create()
        try await database.schema("plans")
            .id()
            .field("name", .string, .required)
            .field("past_due_grace_days", .int, .required)
            .field("archived", .bool, .required)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .create()
        try await database.schema("plan_clubs")
            .id()
            .field("plan_id", .uuid, .required, .references("plans", "id", onDelete: .cascade))
            .field("club_id", .uuid, .required, .references("clubs", "id"))
            .field("position", .int, .required)
            .unique(on: "plan_id", "club_id")
            .create()
        try await database.schema("plan_studios")
            .id()
            .field("plan_id", .uuid, .required, .references("plans", "id", onDelete: .cascade))
            .field("studio_id", .uuid, .required, .references("studios", "id"))
            .field("position", .int, .required)
            .unique(on: "plan_id", "studio_id")
            .create()
    }

    func revert(on database: any Database) async throws {
        for table in ["plan_studios", "plan_clubs", "plans", "studios", "clubs"] {
            try await database.schema(table).delete()
        }
    }
}

struct M002CreateMembers: AsyncMigration {
    var name: String { "002_create_members" }

    func prepare(on database: any Database) async throws {
        try await database.schema("members")
            .id()
            .field("first_name", .string, .required)
            .field("last_name", .string, .required)
            .field("email", .string, .required)
            .field("email_key", .string, .required)
            .field("phone", .string)
            .field("notes", .string)
            .field("search_text", .string, .required)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .unique(on: "email_key", name: "members_email_key_unique")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("members").delete()
    }
}

struct M003CreateSubscriptions: AsyncMigration {
    var name: String { "003_create_subscriptions" }

    func prepare(on database: any Database) async throws {
        try await database.schema("subscriptions")
            .id()
            .field("member_id", .uuid, .required, .references("members", "id", onDelete: .cascade))
            .field("plan_id", .uuid, .required, .references("plans", "id"))
            .field("start_date", .string, .required)
            .field("end_date", .string)
            .field("paid_through", .string, .required)
            .field("cancel_effective_date", .string)
            .field("cancel_reason", .string)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .create()
        try await database.schema("subscription_freezes")
            .id()
            .field("subscription_id", .uuid, .required, .references("subscriptions", "id", onDelete: .cascade))
            .field("first_day", .string, .required)
            .field("last_day", .string, .required)
            .field("reason", .string)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("subscription_freezes").delete()
        try await database.schema("subscriptions").delete()
    }
}

struct M004CreateAccessChanges: AsyncMigration {
    var name: String { "004_create_access_changes" }

    func prepare(on database: any Database) async throws {
        try await database.schema("access_changes")
            .field(.id, .int64, .identifier(auto: true))
            .field("recorded_at", .datetime, .required)
            .field("subject", .string, .required)
            .field("subject_id", .uuid, .required)
            .field("action", .string, .required)
            .field("member_id", .uuid)
            .field("plan_id", .uuid)
            .field("processed_at", .datetime)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("access_changes").delete()
    }
}

struct M005CreateAPITokens: AsyncMigration {
    var name: String { "005_create_api_tokens" }

    func prepare(on database: any Database) async throws {
        try await database.schema("api_tokens")
            .id()
            .field("name", .string, .required)
            .field("token_hash", .string, .required)
            .field("created_at", .datetime)
            .field("last_used_at", .datetime)
            .field("revoked_at", .datetime)
            .unique(on: "token_hash")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("api_tokens").delete()
    }
}

/// What the Kisi sync keeps: connection settings (secrets sealed), links between local objects and
/// Kisi objects, the journal of every write to Kisi (also the audit log), reviews held for staff,
/// and the sync's own key/value state.
struct M006CreateKisiSync: AsyncMigration {
    var name: String { "006_create_kisi_sync" }

    func prepare(on database: any Database) async throws {
        try await database.schema("kisi_settings")
            .field(.id, .int64, .identifier(auto: false))
            .field("api_key_sealed", .string, .required)
            .field("organization_id", .int64)
            .field("base_url", .string, .required, .sql(.default("https://api.kisi.io")))
            .field("instance_url", .string)
            .field("user_creation_mode", .string, .required, .sql(.default("managed")))
            .field("webhook_secret_sealed", .string)
            .field("updated_at", .datetime)
            .create()
        try await database.schema("kisi_links")
            .id()
            .field("kind", .string, .required)
            .field("local_id", .uuid, .required)
            .field("kisi_id", .int64, .required)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .unique(on: "kind", "local_id", name: "kisi_links_kind_local_id_unique")
            .unique(on: "kind", "kisi_id", name: "kisi_links_kind_kisi_id_unique")
            .create()
        try await database.schema("kisi_writes")
            .field(.id, .int64, .identifier(auto: true))
            .field("created_at", .datetime, .required)
            .field("finished_at", .datetime)
            .field("action", .string, .required)
            .field("kisi_object_type", .string)
            .field("kisi_object_id", .int64)
            .field("member_id", .uuid)
            .field("plan_id", .uuid)
            .field("trigger", .string)
            .field("actor", .string, .required)
            .field("reason", .string, .required)
            .field("request_json", .string)
            .field("status", .string, .required)
            .field("kisi_status", .int64)
            .field("kisi_code", .string)
            .field("error", .string)
            .create()
        try await database.schema("held_reviews")
            .id()
            .field("kind", .string, .required)
            .field("member_id", .uuid)
            .field("kisi_user_id", .int64)
            .field("detail", .string, .required)
            .field("created_at", .datetime, .required)
            .field("resolved_at", .datetime)
            .field("resolution", .string)
            .field("open_key", .string)
            .unique(on: "open_key", name: "held_reviews_open_key_unique")
            .create()
        try await database.schema("sync_state")
            .field("key", .string, .identifier(auto: false))
            .field("value", .string, .required)
            .field("updated_at", .datetime, .required)
            .create()

        guard let sql = database as? any SQLDatabase else { return }
        for column in ["status", "member_id", "created_at"] {
            try await sql.create(index: "kisi_writes_\(column)_index").on("kisi_writes").column(column).run()
        }
    }

    func revert(on database: any Database) async throws {
        for table in ["sync_state", "held_reviews", "kisi_writes", "kisi_links", "kisi_settings"] {
            try await database.schema(table).delete()
        }
    }
}

/// Staff who sign in to the admin web UI: accounts with a role and a bcrypt hash, sessions kept in
/// the database (so they survive restarts and every replica sees them; only the SHA-256 of the
/// session secret is stored), and failed sign-ins per e-mail and address for throttling.
struct M007CreateStaffAccess: AsyncMigration {
    var name: String { "007_create_staff_access" }

    func prepare(on database: any Database) async throws {
        try await database.schema("staff_accounts")
            .id()
            .field("email", .string, .required)
            .field("email_key", .string, .required)
            .field("name", .string, .required)
            .field("role", .string, .required)
            .field("password_hash", .string, .required)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .unique(on: "email_key", name: "staff_accounts_email_key_unique")
            .create()
        try await database.schema("staff_sessions")
            .id()
            .field("staff_id", .uuid, .required, .references("staff_accounts", "id", onDelete: .cascade))
            .field("token_hash", .string, .required)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .unique(on: "token_hash", name: "staff_sessions_token_hash_unique")
            .create()
        try await database.schema("staff_login_failures")
            .field(.id, .int64, .identifier(auto: true))
            .field("email_key", .string, .required)
            .field("client_address", .string, .required)
            .field("failed_at", .datetime, .required)
            .create()

        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "staff_login_failures_lookup_index").on("staff_login_failures")
            .column("email_key").column("client_address").column("failed_at").run()
    }

    func revert(on database: any Database) async throws {
        for table in ["staff_login_failures", "staff_sessions", "staff_accounts"] {
            try await database.schema(table).delete()
        }
    }
}

/// Several replicas on one PostgreSQL: who leads the Kisi sync (`sync_leases`, one row per Kisi
/// connection) and the shared pacing of Kisi requests (`kisi_rate_slots`, one row per API-key hash
/// and scope). Times are epoch milliseconds taken from the database's clock, so replicas whose own
/// clocks disagree still agree on who holds a lease.
struct M008CreateReplicaCoordination: AsyncMigration {
    var name: String { "008_create_replica_coordination" }

    func prepare(on database: any Database) async throws {
        try await database.schema("sync_leases")
            .field("name", .string, .identifier(auto: false))
            .field("holder", .string, .required)
            .field("token", .int64, .required)
            .field("acquired_at_ms", .int64, .required)
            .field("heartbeat_at_ms", .int64, .required)
            .field("expires_at_ms", .int64, .required)
            .create()
        try await database.schema("kisi_rate_slots")
            .field("key", .string, .identifier(auto: false))
            .field("next_slot_at_ms", .int64, .required)
            .create()
    }

    func revert(on database: any Database) async throws {
        for table in ["kisi_rate_slots", "sync_leases"] {
            try await database.schema(table).delete()
        }
    }
}

/// Staff blocks on members (`block_reason`, `blocked_at`, `blocked_by`, all set or all null).
/// One column per statement: SQLite's ALTER TABLE adds a single column at a time.
struct M009AddMemberBlocks: AsyncMigration {
    var name: String { "009_add_member_blocks" }

    func prepare(on database: any Database) async throws {
        try await database.schema("members").field("block_reason", .string).update()
        try await database.schema("members").field("blocked_at", .datetime).update()
        try await database.schema("members").field("blocked_by", .string).update()
    }

    func revert(on database: any Database) async throws {
        for column in ["blocked_by", "blocked_at", "block_reason"] {
            try await database.schema("members").deleteField(.string(column)).update()
        }
    }
}

/// Staff accounts can be disabled instead of deleted, so the audit trail keeps naming who did what.
struct M010AddStaffDisabling: AsyncMigration {
    var name: String { "010_add_staff_disabling" }

    func prepare(on database: any Database) async throws {
        try await database.schema("staff_accounts").field("disabled_at", .datetime).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("staff_accounts").deleteField("disabled_at").update()
    }
}

/// Door events Kisi reports through its webhook, for the live door activity feed, the dashboard's
/// check-ins and a member's recent entries (see `DoorEvent`).
struct M011CreateDoorEvents: AsyncMigration {
    var name: String { "011_create_door_events" }

    func prepare(on database: any Database) async throws {
        try await database.schema("door_events")
            .field(.id, .int64, .identifier(auto: true))
            .field("kisi_uuid", .string, .required)
            .field("occurred_at", .datetime, .required)
            .field("lock_id", .int64)
            .field("lock_name", .string)
            .field("place_id", .int64)
            .field("kisi_user_id", .int64)
            .field("actor_name", .string)
            .field("success", .bool, .required)
            .field("message", .string)
            .field("received_at", .datetime, .required)
            .unique(on: "kisi_uuid", name: "door_events_kisi_uuid_unique")
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "door_events_occurred_at_index").on("door_events").column("occurred_at").run()
        try await sql.create(index: "door_events_user_index").on("door_events").column("kisi_user_id").column("occurred_at").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("door_events").delete()
    }
}
