import FluentKit
import Foundation

// Row types of the Kisi sync's tables (migration 006). Internal, like every other row type.

/// The single row (`id` 1) of Kisi settings. Secrets are stored sealed (see `SecretBox`).
final class KisiSettingsRow: Model, @unchecked Sendable {
    static let schema = "kisi_settings"
    static let singletonID = 1
    @ID(custom: .id, generatedBy: .user) var id: Int?
    @Field(key: "api_key_sealed") var apiKeySealed: String
    @OptionalField(key: "organization_id") var organizationID: Int?
    @Field(key: "base_url") var baseURL: String
    @OptionalField(key: "instance_url") var instanceURL: String?
    @Field(key: "user_creation_mode") var userCreationMode: String
    @OptionalField(key: "webhook_secret_sealed") var webhookSecretSealed: String?
    @OptionalField(key: "updated_at") var updatedAt: Date?
    init() {}
}

/// One member ⇄ Kisi user link (`kind` `member`). Until migration 017 it also held plan ⇄ Kisi group
/// links (`kind` `plan`); those live in `kisi_group_links` now (``KisiGroupLinkRow``).
final class KisiLinkRow: Model, @unchecked Sendable {
    static let schema = "kisi_links"
    @ID(key: .id) var id: UUID?
    @Field(key: "kind") var kind: String
    @Field(key: "local_id") var localID: UUID
    @Field(key: "kisi_id") var kisiID: Int
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    init() {}

    static let memberKind = "member"
}

final class KisiWriteRow: Model, @unchecked Sendable {
    static let schema = "kisi_writes"
    @ID(custom: .id, generatedBy: .database) var id: Int?
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "finished_at") var finishedAt: Date?
    @Field(key: "action") var action: String
    @OptionalField(key: "kisi_object_type") var kisiObjectType: String?
    @OptionalField(key: "kisi_object_id") var kisiObjectID: Int?
    @OptionalField(key: "member_id") var memberID: UUID?
    @OptionalField(key: "plan_id") var planID: UUID?
    @OptionalField(key: "trigger") var trigger: String?
    @Field(key: "actor") var actor: String
    @Field(key: "reason") var reason: String
    @OptionalField(key: "request_json") var requestJSON: String?
    @Field(key: "status") var status: String
    @OptionalField(key: "kisi_status") var kisiStatus: Int?
    @OptionalField(key: "kisi_code") var kisiCode: String?
    @OptionalField(key: "error") var error: String?
    /// The sync lease's token the write was sent under; nil for writes made before fencing was journalled.
    @OptionalField(key: "fencing_token") var fencingToken: Int64?
    init() {}
}

final class HeldReviewRow: Model, @unchecked Sendable {
    static let schema = "held_reviews"
    @ID(key: .id) var id: UUID?
    @Field(key: "kind") var kind: String
    @OptionalField(key: "member_id") var memberID: UUID?
    @OptionalField(key: "kisi_user_id") var kisiUserID: Int?
    @Field(key: "detail") var detail: String
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "resolved_at") var resolvedAt: Date?
    @OptionalField(key: "resolution") var resolution: String?
    /// "kind|member|kisiUser" while open, NULL once resolved, under a unique index: at most one
    /// open hold per subject, even under concurrent writers (NULLs never collide).
    @OptionalField(key: "open_key") var openKey: String?
    init() {}

    static func openKey(kind: String, memberID: UUID?, kisiUserID: Int?) -> String {
        "\(kind)|\(memberID?.uuidString ?? "-")|\(kisiUserID.map(String.init) ?? "-")"
    }
}

final class SyncStateRow: Model, @unchecked Sendable {
    static let schema = "sync_state"
    @ID(custom: "key", generatedBy: .user) var id: String?
    @Field(key: "value") var value: String
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}

extension KisiWriteRow {
    func toDomain() throws -> KisiWrite {
        guard let status = KisiWriteStatus(rawValue: status) else { throw StoreError.corrupt("Kisi write \(id ?? -1) has status \(status)") }
        return KisiWrite(
            id: try requireID(), createdAt: createdAt, finishedAt: finishedAt, action: action, kisiObjectType: kisiObjectType,
            kisiObjectID: kisiObjectID, memberID: memberID, planID: planID, trigger: trigger, actor: actor, reason: reason,
            requestJSON: requestJSON, status: status, kisiStatus: kisiStatus, kisiCode: kisiCode, error: error, fencingToken: fencingToken)
    }
}

extension HeldReviewRow {
    func toDomain() throws -> HeldReview {
        HeldReview(
            id: try requireID(), kind: kind, memberID: memberID, kisiUserID: kisiUserID, detail: detail, createdAt: createdAt,
            resolvedAt: resolvedAt, resolution: resolution)
    }
}

/// One managed Kisi group's link (migration 017): `group_key` is ``ManagedGroupKey/storageKey``,
/// `owner_id` the plan or studio the key names.
final class KisiGroupLinkRow: Model, @unchecked Sendable {
    static let schema = "kisi_group_links"
    @ID(key: .id) var id: UUID?
    @Field(key: "group_key") var groupKey: String
    @Field(key: "owner_id") var ownerID: UUID
    @Field(key: "kisi_id") var kisiID: Int
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    init() {}
}
