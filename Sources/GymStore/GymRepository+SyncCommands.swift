import FluentKit
import Foundation
import SQLKit

/// A request for the replica leading the Kisi sync: what to do (`kind` and a JSON `payload` the sync
/// defines), who asked, until when it may still be carried out, and how it ended.
public struct SyncCommandRecord: Sendable, Equatable, Identifiable {
    public enum Status: String, Sendable, Codable {
        /// Waiting for the leader.
        case pending
        /// Claimed by the leader whose lease token is `fencingToken`.
        case running
        case succeeded
        case failed
        /// Nobody carried it out before `expiresAt`; it never will be.
        case expired
    }

    public var id: UUID
    public var kind: String
    public var payload: String
    public var requestedBy: String
    public var requestedAt: Date
    public var expiresAt: Date
    public var status: Status
    /// The command's answer as JSON, once it succeeded (or failed with details).
    public var result: String?
    public var error: String?
    public var fencingToken: Int64?
    public var startedAt: Date?
    public var finishedAt: Date?

    public var isFinished: Bool { status == .succeeded || status == .failed || status == .expired }
}

final class SyncCommandRow: Model, @unchecked Sendable {
    static let schema = "sync_commands"
    @ID(custom: .id, generatedBy: .user) var id: UUID?
    @Field(key: "kind") var kind: String
    @Field(key: "payload") var payload: String
    @Field(key: "requested_by") var requestedBy: String
    @Field(key: "requested_at_ms") var requestedAtMs: Int64
    @Field(key: "expires_at_ms") var expiresAtMs: Int64
    @Field(key: "status") var status: String
    @OptionalField(key: "result") var result: String?
    @OptionalField(key: "error") var error: String?
    @OptionalField(key: "fencing_token") var fencingToken: Int64?
    @OptionalField(key: "started_at_ms") var startedAtMs: Int64?
    @OptionalField(key: "finished_at_ms") var finishedAtMs: Int64?
    init() {}

    func toDomain() throws -> SyncCommandRecord {
        guard let status = SyncCommandRecord.Status(rawValue: status) else {
            throw StoreError.corrupt("sync command \(id?.uuidString ?? "?") has status \(status)")
        }
        return SyncCommandRecord(
            id: try requireID(), kind: kind, payload: payload, requestedBy: requestedBy, requestedAt: Self.date(requestedAtMs),
            expiresAt: Self.date(expiresAtMs), status: status, result: result, error: error, fencingToken: fencingToken,
            startedAt: startedAtMs.map(Self.date), finishedAt: finishedAtMs.map(Self.date))
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }
}

extension GymRepository {
    /// Queues a command for the sync leader; returns its ID.
    public func enqueueSyncCommand(
        kind: String, payload: String, requestedBy: String, expiresAt: Date, at instant: Date = Date()
    ) async throws -> UUID {
        let row = SyncCommandRow()
        let id = UUID()
        row.id = id
        row.kind = kind
        row.payload = payload
        row.requestedBy = requestedBy
        row.requestedAtMs = SyncCommandRow.milliseconds(instant)
        row.expiresAtMs = SyncCommandRow.milliseconds(expiresAt)
        row.status = SyncCommandRecord.Status.pending.rawValue
        try await row.create(on: database)
        return id
    }

    public func syncCommand(_ id: UUID) async throws -> SyncCommandRecord? {
        try await SyncCommandRow.find(id, on: database)?.toDomain()
    }

    /// Claims up to `limit` waiting commands, oldest first, for the leader holding `fence`: the lease is
    /// checked in the same transaction, so a replica that lost the lease claims nothing. Commands whose
    /// time ran out are marked expired instead: their requester has given up on them.
    public func claimSyncCommands(fence: LeaseFence, limit: Int = 16, at instant: Date = Date()) async throws -> [SyncCommandRecord] {
        let now = SyncCommandRow.milliseconds(instant)
        return try await database.transaction { db in
            try await Self.checkFence(fence, on: db)
            try await SyncCommandRow.query(on: db)
                .filter(\.$status == SyncCommandRecord.Status.pending.rawValue)
                .filter(\.$expiresAtMs <= now)
                .set(\.$status, to: SyncCommandRecord.Status.expired.rawValue)
                .set(\.$finishedAtMs, to: now)
                .update()
            let rows = try await SyncCommandRow.query(on: db)
                .filter(\.$status == SyncCommandRecord.Status.pending.rawValue)
                .sort(\.$requestedAtMs)
                .limit(limit)
                .all()
            for row in rows {
                row.status = SyncCommandRecord.Status.running.rawValue
                row.fencingToken = fence.token
                row.startedAtMs = now
                try await row.save(on: db)
            }
            return try rows.map { try $0.toDomain() }
        }
    }

    /// Stores how a claimed command ended.
    public func finishSyncCommand(
        id: UUID, succeeded: Bool, result: String?, error: String?, at instant: Date = Date()
    ) async throws {
        guard let row = try await SyncCommandRow.find(id, on: database) else { return }
        row.status = (succeeded ? SyncCommandRecord.Status.succeeded : .failed).rawValue
        row.result = result
        row.error = error
        row.finishedAtMs = SyncCommandRow.milliseconds(instant)
        try await row.save(on: database)
    }

    /// Forgets finished commands older than `before`; their Kisi writes stay in the journal.
    public func deleteFinishedSyncCommands(before: Date) async throws {
        try await SyncCommandRow.query(on: database)
            .filter(\.$status != SyncCommandRecord.Status.pending.rawValue)
            .filter(\.$status != SyncCommandRecord.Status.running.rawValue)
            .filter(\.$requestedAtMs < SyncCommandRow.milliseconds(before))
            .delete()
    }

    /// Asks the sync to look at one member again (staff's "Resync now"): an entry in the access change
    /// log, which the leader applies like any other change. Returns the entry's ID.
    @discardableResult
    public func requestMemberResync(memberID: UUID) async throws -> Int {
        try await write { db in
            guard try await MemberRow.find(memberID, on: db) != nil else { throw StoreError.notFound(entity: "member", id: memberID) }
            try await Self.record(.member, memberID, .resyncRequested, member: memberID, on: db)
            return try await Self.latestAccessChangeID(on: db)
        }
    }

    /// The newest entry of the access change log (0 when it is empty): a change just committed has at
    /// most this ID, so the sync has applied it once its processed mark reaches it.
    public func latestAccessChangeID() async throws -> Int {
        try await Self.latestAccessChangeID(on: database)
    }

    static func latestAccessChangeID(on db: any Database) async throws -> Int {
        try await AccessChangeRow.query(on: db).max(\.$id) ?? 0
    }
}
