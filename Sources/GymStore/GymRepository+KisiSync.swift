import FluentKit
import Foundation
import GymCore
import SQLKit

// MARK: - Kisi settings

extension GymRepository {
    static let apiKeyPurpose = "kisi_settings.api_key"
    static let webhookSecretPurpose = "kisi_settings.webhook_secret"

    /// Stores the Kisi settings, replacing any earlier ones. The API key and webhook secret are
    /// sealed (AES-GCM) under `masterKey`; saving under a new master key re-seals both.
    /// Invalid fields throw `FieldErrors` (never echoing the secrets).
    public func saveKisiSettings(_ settings: KisiSettings, masterKey: MasterKey) async throws {
        var settings = settings
        settings.apiKey = settings.apiKey.trimmingCharacters(in: .whitespacesAndNewlines)
        settings.baseURL = settings.baseURL.trimmingCharacters(in: .whitespacesAndNewlines)
        settings.instanceURL = settings.instanceURL?.trimmingCharacters(in: .whitespacesAndNewlines)
        try settings.validate()
        let sealedKey = try SecretBox.seal(settings.apiKey, purpose: Self.apiKeyPurpose, with: masterKey)
        let sealedWebhookSecret = try settings.webhookSecret.map {
            try SecretBox.seal($0, purpose: Self.webhookSecretPurpose, with: masterKey)
        }
        let stored = settings
        try await write { db in
            let row = try await KisiSettingsRow.find(KisiSettingsRow.singletonID, on: db) ?? KisiSettingsRow()
            row.id = KisiSettingsRow.singletonID
            row.apiKeySealed = sealedKey
            row.organizationID = stored.organizationID
            row.baseURL = stored.baseURL
            row.instanceURL = stored.instanceURL
            row.userCreationMode = stored.userCreationMode.rawValue
            row.webhookSecretSealed = sealedWebhookSecret
            row.updatedAt = Date()
            try await row.save(on: db)
        }
    }

    /// The stored Kisi settings with their secrets opened, or nil when Kisi is not set up.
    /// Throws `MasterKeyError.wrongKey` when `masterKey` is not the key they were saved under.
    public func kisiSettings(masterKey: MasterKey) async throws -> KisiSettings? {
        guard let row = try await KisiSettingsRow.find(KisiSettingsRow.singletonID, on: database) else { return nil }
        guard let mode = KisiUserCreationMode(rawValue: row.userCreationMode) else {
            throw StoreError.corrupt("Kisi user creation mode \"\(row.userCreationMode)\"")
        }
        return KisiSettings(
            apiKey: try SecretBox.open(row.apiKeySealed, purpose: Self.apiKeyPurpose, with: masterKey),
            organizationID: row.organizationID,
            baseURL: row.baseURL,
            instanceURL: row.instanceURL,
            userCreationMode: mode,
            webhookSecret: try row.webhookSecretSealed.map { try SecretBox.open($0, purpose: Self.webhookSecretPurpose, with: masterKey) })
    }

    /// Forgets the Kisi settings (disconnecting Kisi). Links, journal and sync state are kept.
    public func deleteKisiSettings() async throws {
        try await KisiSettingsRow.query(on: database).delete()
    }
}

// MARK: - Links between local and Kisi objects

extension GymRepository {
    /// Every managed group ⇄ Kisi group and member ⇄ Kisi user link.
    public func kisiLinks() async throws -> KisiLinks {
        var links = KisiLinks(groups: try await kisiGroupLinks())
        for row in try await KisiLinkRow.query(on: database).all() {
            switch row.kind {
            case KisiLinkRow.memberKind: links.users[row.localID] = row.kisiID
            default: throw StoreError.corrupt("Kisi link kind \"\(row.kind)\"")
            }
        }
        return links
    }

    /// Every managed group ⇄ Kisi group link (a gym has a handful).
    func kisiGroupLinks() async throws -> [ManagedGroupKey: Int] {
        var groups: [ManagedGroupKey: Int] = [:]
        for row in try await KisiGroupLinkRow.query(on: database).all() {
            guard let key = ManagedGroupKey(storageKey: row.groupKey) else {
                throw StoreError.corrupt("Kisi group link key \"\(row.groupKey)\"")
            }
            groups[key] = row.kisiID
        }
        return groups
    }

    /// Links a plan's (whole) group to its Kisi group; see ``setKisiGroupLink(key:groupID:)``.
    public func setKisiGroupLink(planID: UUID, groupID: Int?) async throws {
        try await setKisiGroupLink(key: .plan(planID), groupID: groupID)
    }

    /// Links a managed group to its Kisi group, replacing an earlier link; `nil` removes the link.
    /// A Kisi group already linked under another key is a `StoreError.conflict`.
    public func setKisiGroupLink(key: ManagedGroupKey, groupID: Int?) async throws {
        let text = key.storageKey
        guard let groupID else {
            try await KisiGroupLinkRow.query(on: database).filter(\.$groupKey == text).delete()
            return
        }
        guard groupID > 0 else { throw FieldErrors(field: "kisi_id", "must be a positive Kisi ID") }
        try await write { db in
            if let other = try await KisiGroupLinkRow.query(on: db).filter(\.$kisiID == groupID).filter(\.$groupKey != text).first() {
                throw StoreError.conflict("Kisi group \(groupID) is already linked to \(other.groupKey)")
            }
            let row = try await KisiGroupLinkRow.query(on: db).filter(\.$groupKey == text).first() ?? {
                let row = KisiGroupLinkRow()
                row.id = UUID()
                row.groupKey = text
                return row
            }()
            row.ownerID = key.ownerID
            row.kisiID = groupID
            try await row.save(on: db)
        }
    }

    /// Links a member to their Kisi user, replacing an earlier link; `nil` removes the link.
    /// A user already linked to another member is a `StoreError.conflict`.
    public func setKisiUserLink(memberID: UUID, userID: Int?) async throws {
        try await setKisiLink(kind: KisiLinkRow.memberKind, localID: memberID, kisiID: userID, what: ("Kisi user", "member"))
    }

    func setKisiLink(kind: String, localID: UUID, kisiID: Int?, what: (kisi: String, local: String)) async throws {
        guard let kisiID else {
            try await KisiLinkRow.query(on: database).filter(\.$kind == kind).filter(\.$localID == localID).delete()
            return
        }
        guard kisiID > 0 else { throw FieldErrors(field: "kisi_id", "must be a positive Kisi ID") }
        try await write { db in
            if let other = try await KisiLinkRow.query(on: db)
                .filter(\.$kind == kind).filter(\.$kisiID == kisiID).filter(\.$localID != localID).first()
            {
                // A deleted member's link is kept so that the sync can take their door access away;
                // when someone re-joins with that e-mail, the Kisi user becomes theirs.
                let formerMember = kind == KisiLinkRow.memberKind ? try await MemberRow.find(other.localID, on: db) == nil : false
                guard formerMember else {
                    throw StoreError.conflict("\(what.kisi) \(kisiID) is already linked to \(what.local) \(other.localID)")
                }
                try await other.delete(on: db)
            }
            let row = try await KisiLinkRow.query(on: db).filter(\.$kind == kind).filter(\.$localID == localID).first() ?? {
                let row = KisiLinkRow()
                row.id = UUID()
                row.kind = kind
                row.localID = localID
                return row
            }()
            row.kisiID = kisiID
            try await row.save(on: db)
        }
    }
}

// MARK: - Journal of Kisi writes (also the audit log)

extension GymRepository {
    /// Records a write as `pending` before it is sent, and returns its ID. The row is committed when
    /// this returns, so a crash during the Kisi call leaves it for `unfinishedKisiWrites()`.
    /// `requestJSON` is stored as given: never put the API key in it.
    ///
    /// With a `fence`, the lease is checked in the same transaction as the insert and a stale lease
    /// throws ``FencingError`` with nothing journalled, so the caller never sends the write.
    public func beginKisiWrite(
        action: String, kisiObjectType: String? = nil, kisiObjectID: Int? = nil, memberID: UUID? = nil, planID: UUID? = nil,
        trigger: String? = nil, actor: String = "sync", reason: String, requestJSON: String? = nil, at instant: Date = Date(),
        fence: LeaseFence? = nil
    ) async throws -> Int {
        let row = try Self.kisiWriteRow(
            action: action, kisiObjectType: kisiObjectType, kisiObjectID: kisiObjectID, memberID: memberID, planID: planID,
            trigger: trigger, actor: actor, reason: reason, requestJSON: requestJSON, status: .pending, at: instant)
        guard let fence else {
            try await row.create(on: database)
            return try row.requireID()
        }
        row.fencingToken = fence.token
        return try await database.transaction { db in
            try await Self.checkFence(fence, on: db)
            try await row.create(on: db)
            return try row.requireID()
        }
    }

    /// A journal row, checked; `finished_at` is set for any status but `pending`.
    static func kisiWriteRow(
        action: String, kisiObjectType: String? = nil, kisiObjectID: Int? = nil, memberID: UUID? = nil, planID: UUID? = nil,
        trigger: String? = nil, actor: String, reason: String, requestJSON: String? = nil, status: KisiWriteStatus, at instant: Date
    ) throws -> KisiWriteRow {
        var errors = FieldErrors()
        if action.trimmingCharacters(in: .whitespaces).isEmpty { errors.add("action", "is required") }
        if actor.trimmingCharacters(in: .whitespaces).isEmpty { errors.add("actor", "is required") }
        try errors.throwIfAny()
        let row = KisiWriteRow()
        row.createdAt = instant
        row.finishedAt = status == .pending ? nil : instant
        row.action = action
        row.kisiObjectType = kisiObjectType
        row.kisiObjectID = kisiObjectID
        row.memberID = memberID
        row.planID = planID
        row.trigger = trigger
        row.actor = actor
        row.reason = reason
        row.requestJSON = requestJSON
        row.status = status.rawValue
        return row
    }

    /// Records how a write ended. `kisiObjectType`/`kisiObjectID` fill in the object when given
    /// (e.g. the ID Kisi assigned to a new user) and are kept otherwise; `kisiStatus`, `kisiCode`
    /// and `error` describe this outcome and replace earlier ones. A write may be finished again,
    /// e.g. an `unknown` one once the sync has checked Kisi; it cannot go back to `pending`.
    public func finishKisiWrite(
        id: Int, status: KisiWriteStatus, kisiObjectType: String? = nil, kisiObjectID: Int? = nil, kisiStatus: Int? = nil,
        kisiCode: String? = nil, error: String? = nil, at instant: Date = Date()
    ) async throws {
        guard status != .pending else { throw FieldErrors(field: "status", "a write cannot be finished as pending") }
        try await write { db in
            guard let row = try await KisiWriteRow.find(id, on: db) else {
                throw StoreError.conflict("there is no Kisi write #\(id) to finish")
            }
            row.status = status.rawValue
            row.finishedAt = instant
            if let kisiObjectType { row.kisiObjectType = kisiObjectType }
            if let kisiObjectID { row.kisiObjectID = kisiObjectID }
            row.kisiStatus = kisiStatus
            row.kisiCode = kisiCode
            row.error = error
            try await row.save(on: db)
        }
    }

    /// Writes whose outcome is not known (`pending` or `unknown`), oldest first: what the sync must
    /// check against Kisi before it writes anything else.
    public func unfinishedKisiWrites() async throws -> [KisiWrite] {
        try await KisiWriteRow.query(on: database)
            .filter(\.$status ~~ [KisiWriteStatus.pending.rawValue, KisiWriteStatus.unknown.rawValue])
            .sort(\.$id, .ascending)
            .all()
            .map { try $0.toDomain() }
    }

    /// One page of the writes matching `filter`, newest first (by journal ID, which follows `createdAt`).
    public func kisiWrites(_ filter: KisiWriteFilter, _ page: PageRequest = PageRequest()) async throws -> Page<KisiWrite> {
        try await Self.page(kisiWriteQuery(filter).sort(\.$id, .descending), page) { try $0.toDomain() }
    }

    /// Up to `limit` (at most 5,000) writes matching `filter` with an ID below `id` (all when nil),
    /// newest first. For exporting the whole log in batches: pass the last ID of one batch to get
    /// the next. Unlike offset paging, rows added meanwhile do not shift the batches.
    public func kisiWrites(_ filter: KisiWriteFilter, before id: Int?, limit: Int) async throws -> [KisiWrite] {
        var query = kisiWriteQuery(filter)
        if let id { query = query.filter(\.$id < id) }
        return try await query.sort(\.$id, .descending).limit(min(max(limit, 1), 5_000)).all().map { try $0.toDomain() }
    }

    /// How many writes started at or after `since` ended (or stand) in each status; every status
    /// is present, with 0 when none.
    public func kisiWriteCounts(since: Date) async throws -> [KisiWriteStatus: Int] {
        var counts: [KisiWriteStatus: Int] = [:]
        for status in KisiWriteStatus.allCases {
            counts[status] = try await KisiWriteRow.query(on: database)
                .filter(\.$createdAt >= since).filter(\.$status == status.rawValue).count()
        }
        return counts
    }

    func kisiWriteQuery(_ filter: KisiWriteFilter) -> QueryBuilder<KisiWriteRow> {
        let query = KisiWriteRow.query(on: database)
        if let memberID = filter.memberID { query.filter(\.$memberID == memberID) }
        if let planID = filter.planID { query.filter(\.$planID == planID) }
        if let action = filter.action { query.filter(\.$action == action) }
        if let status = filter.status { query.filter(\.$status == status.rawValue) }
        if let from = filter.from { query.filter(\.$createdAt >= from) }
        if let until = filter.until { query.filter(\.$createdAt < until) }
        return query
    }
}

// MARK: - Reviews held for staff

extension GymRepository {
    /// Unresolved reviews, oldest first.
    public func openHeldReviews() async throws -> [HeldReview] {
        try await HeldReviewRow.query(on: database)
            .filter(\.$resolvedAt == nil)
            .sort(\.$createdAt, .ascending).sort(\.$id)
            .all()
            .map { try $0.toDomain() }
    }

    /// Holds something for staff to review and returns the review's ID. While a review of the same
    /// `kind`, member and Kisi user is open, that one's ID is returned and nothing is added (its
    /// `detail` stays as first written).
    public func holdForReview(kind: String, memberID: UUID? = nil, kisiUserID: Int? = nil, detail: String) async throws -> UUID {
        guard !kind.trimmingCharacters(in: .whitespaces).isEmpty else { throw FieldErrors(field: "kind", "is required") }
        let key = HeldReviewRow.openKey(kind: kind, memberID: memberID, kisiUserID: kisiUserID)
        func existing() async throws -> UUID? {
            try await HeldReviewRow.query(on: database).filter(\.$openKey == key).first()?.requireID()
        }
        if let id = try await existing() { return id }
        let row = HeldReviewRow()
        row.id = UUID()
        row.kind = kind
        row.memberID = memberID
        row.kisiUserID = kisiUserID
        row.detail = detail
        row.createdAt = Date()
        row.openKey = key
        do {
            try await row.create(on: database)
            return try row.requireID()
        } catch {
            // A concurrent caller may have opened the same review first.
            if (error as? any DatabaseError)?.isConstraintFailure == true, let id = try await existing() { return id }
            throw error
        }
    }

    /// Closes an open review with staff's decision. An unknown ID is `StoreError.notFound`; one
    /// already resolved is `StoreError.conflict`.
    public func resolveHeldReview(id: UUID, resolution: String) async throws {
        try await write { db in
            guard let row = try await HeldReviewRow.find(id, on: db) else { throw StoreError.notFound(entity: "held review", id: id) }
            guard row.resolvedAt == nil else { throw StoreError.conflict("the held review \(id) is already resolved") }
            row.resolvedAt = Date()
            row.resolution = resolution
            row.openKey = nil
            try await row.save(on: db)
        }
    }
}

// MARK: - Sync state (key/value)

extension GymRepository {
    /// The text stored under `key`, or nil: the transport under ``SyncState``, which callers use.
    public func syncState(_ key: String) async throws -> String? {
        try await SyncStateRow.find(key, on: database)?.value
    }

    /// Stores `value` under `key`, replacing any earlier value; nil removes the key.
    /// With a `fence`, only while that lease is current (checked in the same transaction).
    public func setSyncState(_ key: String, _ value: String?, fence: LeaseFence? = nil) async throws {
        if let fence {
            try await database.transaction { db in
                try await Self.checkFence(fence, on: db)
                try await GymRepository(database: db).setSyncState(key, value)
            }
            return
        }
        guard let value else {
            try await SyncStateRow.query(on: database).filter(\.$id == key).delete()
            return
        }
        guard let sql = database as? any SQLDatabase else {
            throw StoreError.corrupt("the database does not speak SQL")
        }
        try await sql.insert(into: SyncStateRow.schema)
            .columns("key", "value", "updated_at")
            .values(key, value, Date())
            .onConflict(with: ["key"]) { $0.set(excludedValueOf: "value").set(excludedValueOf: "updated_at") }
            .run()
    }
}
