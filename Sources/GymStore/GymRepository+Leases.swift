import Crypto
import FluentKit
import Foundation
import SQLKit

/// A lease on a piece of work that only one replica may do at a time (the Kisi sync of one Kisi
/// connection). `token` is the fencing token: it grows by one at every takeover, so a write that
/// carries an older token comes from a replica that lost the lease and is refused.
public struct SyncLease: Sendable, Hashable, Codable {
    public var name: String
    public var holder: String
    public var token: Int64
    public var acquiredAtMs: Int64
    public var heartbeatAtMs: Int64
    public var expiresAtMs: Int64

    enum CodingKeys: String, CodingKey {
        case name, holder, token, acquiredAtMs = "acquired_at_ms", heartbeatAtMs = "heartbeat_at_ms", expiresAtMs = "expires_at_ms"
    }

    public var acquiredAt: Date { Date(timeIntervalSince1970: Double(acquiredAtMs) / 1000) }
    public var heartbeatAt: Date { Date(timeIntervalSince1970: Double(heartbeatAtMs) / 1000) }
    public var expiresAt: Date { Date(timeIntervalSince1970: Double(expiresAtMs) / 1000) }

    /// What a write made under this lease must prove.
    public var fence: LeaseFence { LeaseFence(name: name, holder: holder, token: token) }
}

/// The proof a fenced write carries: the lease it was planned under.
public struct LeaseFence: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var holder: String
    public var token: Int64

    public init(name: String, holder: String, token: Int64) {
        self.name = name
        self.holder = holder
        self.token = token
    }

    public var description: String { "lease \(name) held by \(holder) with token \(token)" }
}

/// A fenced write was refused: the lease it carried is no longer the current one (taken over, or
/// expired without renewal). Nothing was written.
public struct FencingError: Error, CustomStringConvertible, Sendable {
    public let fence: LeaseFence
    public let current: SyncLease?

    public var description: String {
        let now: String
        if let current {
            now = current.holder == fence.holder && current.token == fence.token
                ? "it expired without renewal"
                : "\(current.holder) holds it now with token \(current.token)"
        } else {
            now = "nobody holds it"
        }
        return "fenced out: this replica's \(fence) is no longer current (\(now)); the write was not made"
    }
}

extension GymRepository {
    /// The database clock in epoch milliseconds, as an SQL expression. Every replica reads time from
    /// the one database, so a replica whose own clock runs fast cannot steal a lease early.
    static func nowMilliseconds(_ sql: any SQLDatabase) -> String {
        if sql.dialect.name == "postgresql" {
            // statement_timestamp(): one value per statement, so a lease's heartbeat and expiry agree.
            return "(extract(epoch from statement_timestamp()) * 1000)::bigint"
        }
        // SQLite's 'now' is likewise fixed for the duration of one statement step.
        return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
    }

    var sqlDatabase: any SQLDatabase {
        get throws {
            guard let sql = database as? any SQLDatabase else { throw StoreError.corrupt("the database does not speak SQL") }
            return sql
        }
    }

    static let leaseColumns = "name, holder, token, acquired_at_ms, heartbeat_at_ms, expires_at_ms"

    /// Takes the lease `name` for `holder` when nobody holds it or its holder let it expire; the
    /// token grows by one on every takeover (1 for the first holder). Returns the lease now held by
    /// `holder`, or nil when another holder's lease is still running. One atomic statement, so two
    /// replicas racing for an expired lease cannot both win.
    public func acquireLease(name: String, holder: String, ttl: Duration) async throws -> SyncLease? {
        let sql = try sqlDatabase
        let now = Self.nowMilliseconds(sql)
        let ttlMs = Self.milliseconds(ttl)
        return try await sql.raw("""
            INSERT INTO sync_leases (\(unsafeRaw: Self.leaseColumns))
            VALUES (\(bind: name), \(bind: holder), 1, \(unsafeRaw: now), \(unsafeRaw: now), \(unsafeRaw: now) + \(bind: ttlMs))
            ON CONFLICT (name) DO UPDATE SET
                token = sync_leases.token + 1,
                holder = excluded.holder,
                acquired_at_ms = excluded.acquired_at_ms,
                heartbeat_at_ms = excluded.heartbeat_at_ms,
                expires_at_ms = excluded.expires_at_ms
            WHERE sync_leases.expires_at_ms <= excluded.heartbeat_at_ms
            RETURNING \(unsafeRaw: Self.leaseColumns)
            """).first(decoding: SyncLease.self)
    }

    /// Extends the lease `holder` holds with `token` by `ttl` from now. Returns nil when the lease was
    /// taken over meanwhile (the token moved on): the caller has lost it and must stop at once. A
    /// lease that expired but was not taken over is renewed with the same token: no other replica
    /// held it in between, so nothing was fenced.
    public func renewLease(name: String, holder: String, token: Int64, ttl: Duration) async throws -> SyncLease? {
        let sql = try sqlDatabase
        let now = Self.nowMilliseconds(sql)
        return try await sql.raw("""
            UPDATE sync_leases SET heartbeat_at_ms = \(unsafeRaw: now), expires_at_ms = \(unsafeRaw: now) + \(bind: Self.milliseconds(ttl))
            WHERE name = \(bind: name) AND holder = \(bind: holder) AND token = \(bind: token)
            RETURNING \(unsafeRaw: Self.leaseColumns)
            """).first(decoding: SyncLease.self)
    }

    /// Gives the lease up at once (graceful shutdown), so another replica need not wait for it to expire.
    public func releaseLease(name: String, holder: String, token: Int64) async throws {
        let sql = try sqlDatabase
        try await sql.raw("""
            UPDATE sync_leases SET expires_at_ms = \(unsafeRaw: Self.nowMilliseconds(sql))
            WHERE name = \(bind: name) AND holder = \(bind: holder) AND token = \(bind: token)
            """).run()
    }

    /// The lease row as stored (it may have expired; see ``leaseStatus(name:)``), or nil when never taken.
    public func lease(name: String) async throws -> SyncLease? {
        try await sqlDatabase.raw("SELECT \(unsafeRaw: Self.leaseColumns) FROM sync_leases WHERE name = \(bind: name)")
            .first(decoding: SyncLease.self)
    }

    /// The lease and whether it is still running by the database's clock.
    public func leaseStatus(name: String) async throws -> (lease: SyncLease, live: Bool)? {
        let sql = try sqlDatabase
        struct Row: Decodable {
            let live: Int64
        }
        guard let lease = try await lease(name: name) else { return nil }
        let row = try await sql.raw("""
            SELECT CASE WHEN expires_at_ms > \(unsafeRaw: Self.nowMilliseconds(sql)) THEN 1 ELSE 0 END AS live
            FROM sync_leases WHERE name = \(bind: name)
            """).first(decoding: Row.self)
        return (lease, row?.live == 1)
    }

    /// Throws ``FencingError`` unless `fence` is the current, unexpired lease. Runs inside the caller's
    /// transaction: on PostgreSQL the row is share-locked, so a takeover (an UPDATE of that row) waits
    /// until the caller's write is committed, and a write can never be journalled after a takeover.
    static func checkFence(_ fence: LeaseFence, on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { throw StoreError.corrupt("the database does not speak SQL") }
        struct Row: Decodable { let token: Int64 }
        let lock = sql.dialect.name == "postgresql" ? " FOR SHARE" : ""
        let found = try await sql.raw("""
            SELECT token FROM sync_leases
            WHERE name = \(bind: fence.name) AND holder = \(bind: fence.holder) AND token = \(bind: fence.token)
              AND expires_at_ms > \(unsafeRaw: nowMilliseconds(sql))\(unsafeRaw: lock)
            """).first(decoding: Row.self)
        guard found == nil else { return }
        let current = try await sql.raw("SELECT \(unsafeRaw: leaseColumns) FROM sync_leases WHERE name = \(bind: fence.name)")
            .first(decoding: SyncLease.self)
        throw FencingError(fence: fence, current: current)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

// MARK: - Kisi request pacing shared by replicas

extension GymRepository {
    /// Reserves the next send slot for the Kisi rate-limit bucket `key` (a hash of the API key and a
    /// scope, never the key) and returns how long to wait before sending. Slots are `interval` apart
    /// across every replica on this database: the row's `next_slot_at_ms` moves forward atomically.
    public func reserveKisiRateSlot(key: String, interval: Duration) async throws -> Duration {
        let sql = try sqlDatabase
        let now = Self.nowMilliseconds(sql)
        let greatest = sql.dialect.name == "postgresql" ? "greatest" : "max"
        let intervalMs = Self.milliseconds(interval)
        struct Row: Decodable {
            let slot: Int64
            let now: Int64
        }
        // The slot and "now" come from one statement, so the wait is measured on the database clock only.
        let row = try await sql.raw("""
            INSERT INTO kisi_rate_slots ("key", next_slot_at_ms) VALUES (\(bind: key), \(unsafeRaw: now) + \(bind: intervalMs))
            ON CONFLICT ("key") DO UPDATE SET
                next_slot_at_ms = \(unsafeRaw: greatest)(kisi_rate_slots.next_slot_at_ms, \(unsafeRaw: now)) + \(bind: intervalMs)
            RETURNING next_slot_at_ms - \(bind: intervalMs) AS slot, \(unsafeRaw: now) AS now
            """).first(decoding: Row.self)
        guard let row else { return .zero }
        return .milliseconds(max(0, row.slot - row.now))
    }
}

extension GymRepository {
    /// The name of an API key's rate-limit bucket in `kisi_rate_slots`: a SHA-256 digest, so the
    /// table never holds the key itself, yet every replica derives the same name.
    public static func kisiRateBucket(apiKey: String, scope: String) -> String {
        let digest = SHA256.hash(data: Data(apiKey.utf8))
        return "sha256:" + digest.map { String(format: "%02x", $0) }.joined() + "/" + scope
    }
}
