import FluentKit
import FluentSQL
import SQLKit

/// Studio classes: the schedule (weekly and one-off classes) and the occurrences that have a row.
///
/// An occurrence gets a row when something happens to it, its first booking or its cancellation, not
/// for every date a weekly class will ever have. The row is what concurrent bookings of one
/// occurrence queue on (see `GymRepository.book`), so `(class_id, date)` is unique.
/// Times are club-local text (`start_time` "18:00", dates "2026-12-22"): the instants follow from the
/// club's zone, so a daylight-saving change or a zone corrected by staff moves nothing by mistake.
struct M018CreateStudioClasses: AsyncMigration {
    var name: String { "018_create_studio_classes" }

    func prepare(on database: any Database) async throws {
        try await database.schema("studio_classes")
            .id()
            .field("studio_id", .uuid, .required, .references("studios", "id"))
            .field("name", .string, .required)
            .field("instructor", .string)
            .field("capacity", .int, .required)
            .field("start_time", .string, .required)
            .field("duration_minutes", .int, .required)
            // Weekly: weekday (1 = Monday … 7 = Sunday), valid_from and an optional valid_until; one-off: one_off_date.
            .field("weekday", .int)
            .field("valid_from", .string)
            .field("valid_until", .string)
            .field("one_off_date", .string)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .create()
        try await database.schema("class_occurrences")
            .id()
            .field("class_id", .uuid, .required, .references("studio_classes", "id", onDelete: .cascade))
            .field("date", .string, .required)
            .field("cancelled_at", .datetime)
            .field("cancel_reason", .string)
            .field("cancelled_by", .string)
            .unique(on: "class_id", "date")
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "studio_classes_studio_index").on("studio_classes").column("studio_id").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("class_occurrences").delete()
        try await database.schema("studio_classes").delete()
    }
}

/// Bookings (with the waitlist) and the plans' class rules.
///
/// - `class_bookings.status`: `booked`, `waitlisted`, `promoted`, `cancelled`, `checked_in`, `no_show`.
///   A member has at most one open booking (booked, promoted or waitlisted) per occurrence: a partial
///   unique index, the same statement on SQLite and PostgreSQL.
/// - `plan_id` is the plan whose allowance the booking used; not a foreign key, as the booking's
///   history outlives a plan deleted once it has no subscriptions left.
/// - `plan_class_rules`: per plan and studio, the allowance (`unlimited`, `per_week`, `per_month` with
///   `allowance_count`) and the door mode (`all_day`, `booked_classes`).
struct M019CreateClassBookings: AsyncMigration {
    var name: String { "019_create_class_bookings" }

    func prepare(on database: any Database) async throws {
        try await database.schema("class_bookings")
            .id()
            .field("occurrence_id", .uuid, .required, .references("class_occurrences", "id", onDelete: .cascade))
            .field("class_id", .uuid, .required)
            .field("occurrence_date", .string, .required)
            // A deleted member's bookings go with them (as their subscriptions do).
            .field("member_id", .uuid, .required, .references("members", "id", onDelete: .cascade))
            .field("plan_id", .uuid, .required)
            .field("status", .string, .required)
            .field("booked_at", .datetime, .required)
            .field("booked_by", .string, .required)
            .field("promoted_at", .datetime)
            .field("cancelled_at", .datetime)
            .create()
        try await database.schema("plan_class_rules")
            .id()
            .field("plan_id", .uuid, .required, .references("plans", "id", onDelete: .cascade))
            .field("studio_id", .uuid, .required, .references("studios", "id", onDelete: .cascade))
            .field("allowance", .string, .required)
            .field("allowance_count", .int)
            .field("door_mode", .string, .required)
            .field("position", .int, .required)
            .unique(on: "plan_id", "studio_id")
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        // The roster and waitlist of an occurrence in order; a member's bookings by date.
        try await sql.raw("CREATE INDEX class_bookings_occurrence_index ON class_bookings (occurrence_id, status, booked_at)").run()
        try await sql.raw("CREATE INDEX class_bookings_member_index ON class_bookings (member_id, occurrence_date)").run()
        try await sql.raw("""
            CREATE UNIQUE INDEX class_bookings_one_open_per_member ON class_bookings (occurrence_id, member_id)
            WHERE status IN ('booked', 'promoted', 'waitlisted')
            """).run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("plan_class_rules").delete()
        try await database.schema("class_bookings").delete()
    }
}
