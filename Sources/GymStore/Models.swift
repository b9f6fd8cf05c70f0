import FluentKit
import Foundation

// Fluent's row types. They stay internal: the rest of BooGYMan sees GymCore values only.
// Calendar dates are stored as ISO text ("2026-12-31"): sortable, zone-free and identical on
// SQLite and PostgreSQL.

final class ClubRow: Model, @unchecked Sendable {
    static let schema = "clubs"
    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "time_zone") var timeZone: String
    @OptionalField(key: "kisi_place_id") var kisiPlaceID: Int?
    @Field(key: "kisi_lock_ids") var kisiLockIDs: [Int]
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    init() {}
}

final class StudioRow: Model, @unchecked Sendable {
    static let schema = "studios"
    @ID(key: .id) var id: UUID?
    @Parent(key: "club_id") var club: ClubRow
    @Field(key: "name") var name: String
    @Field(key: "kisi_lock_ids") var kisiLockIDs: [Int]
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    init() {}
}

final class PlanRow: Model, @unchecked Sendable {
    static let schema = "plans"
    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "past_due_grace_days") var pastDueGraceDays: Int
    @Field(key: "archived") var archived: Bool
    @Children(for: \.$plan) var clubLinks: [PlanClubRow]
    @Children(for: \.$plan) var studioLinks: [PlanStudioRow]
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    init() {}
}

/// A club a plan opens; `position` keeps the staff's order, since the first club sets the plan's time zone.
final class PlanClubRow: Model, @unchecked Sendable {
    static let schema = "plan_clubs"
    @ID(key: .id) var id: UUID?
    @Parent(key: "plan_id") var plan: PlanRow
    @Parent(key: "club_id") var club: ClubRow
    @Field(key: "position") var position: Int
    init() {}
}

final class PlanStudioRow: Model, @unchecked Sendable {
    static let schema = "plan_studios"
    @ID(key: .id) var id: UUID?
    @Parent(key: "plan_id") var plan: PlanRow
    @Parent(key: "studio_id") var studio: StudioRow
    @Field(key: "position") var position: Int
    init() {}
}

final class MemberRow: Model, @unchecked Sendable {
    static let schema = "members"
    @ID(key: .id) var id: UUID?
    @Field(key: "first_name") var firstName: String
    @Field(key: "last_name") var lastName: String
    @Field(key: "email") var email: String
    /// Lower-cased e-mail under a unique index: uniqueness is case-insensitive on both databases.
    @Field(key: "email_key") var emailKey: String
    @OptionalField(key: "phone") var phone: String?
    @OptionalField(key: "notes") var notes: String?
    /// Lower-cased "first last email phone", so one portable LIKE serves search on both databases.
    @Field(key: "search_text") var searchText: String
    /// A staff block: all three set, or none (migration 009).
    @OptionalField(key: "block_reason") var blockReason: String?
    @OptionalField(key: "blocked_at") var blockedAt: Date?
    @OptionalField(key: "blocked_by") var blockedBy: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    init() {}
}

final class SubscriptionRow: Model, @unchecked Sendable {
    static let schema = "subscriptions"
    @ID(key: .id) var id: UUID?
    @Parent(key: "member_id") var member: MemberRow
    @Parent(key: "plan_id") var plan: PlanRow
    @Field(key: "start_date") var startDate: String
    @OptionalField(key: "end_date") var endDate: String?
    @Field(key: "paid_through") var paidThrough: String
    @OptionalField(key: "cancel_effective_date") var cancelEffectiveDate: String?
    @OptionalField(key: "cancel_reason") var cancelReason: String?
    @Children(for: \.$subscription) var freezes: [FreezeRow]
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    init() {}
}

final class FreezeRow: Model, @unchecked Sendable {
    static let schema = "subscription_freezes"
    @ID(key: .id) var id: UUID?
    @Parent(key: "subscription_id") var subscription: SubscriptionRow
    @Field(key: "first_day") var firstDay: String
    @Field(key: "last_day") var lastDay: String
    @OptionalField(key: "reason") var reason: String?
    init() {}
}

/// One committed change that may alter who can open which door. Written in the same transaction
/// as the change itself; the sync worker consumes it in `id` order.
final class AccessChangeRow: Model, @unchecked Sendable {
    static let schema = "access_changes"
    @ID(custom: .id, generatedBy: .database) var id: Int?
    @Field(key: "recorded_at") var recordedAt: Date
    @Field(key: "subject") var subject: String
    @Field(key: "subject_id") var subjectID: UUID
    @Field(key: "action") var action: String
    @OptionalField(key: "member_id") var memberID: UUID?
    @OptionalField(key: "plan_id") var planID: UUID?
    @OptionalField(key: "processed_at") var processedAt: Date?
    init() {}
}

final class APITokenRow: Model, @unchecked Sendable {
    static let schema = "api_tokens"
    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    /// SHA-256 of the token, hex. The token itself is shown once and never stored.
    @Field(key: "token_hash") var tokenHash: String
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @OptionalField(key: "last_used_at") var lastUsedAt: Date?
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    init() {}
}
