import FluentKit
import Foundation
import GymCore
import SQLKit

// MARK: - Sign-in throttling

/// What a sign-in limit counts: one account from one address, one address for every account, or
/// one account from every address.
public enum SignInScope: String, Sendable, CaseIterable {
    case accountAndAddress = "pair"
    case address
    case account
}

/// How many failed sign-ins each scope allows within `window`. Attempts are counted in the order
/// (account, address) → address → account, and an attempt refused by one scope is not counted by
/// the scopes after it: one address can add at most `perAccountAndAddress` failures to an account's
/// count per window, so locking an account for everyone takes `perAccount / perAccountAndAddress`
/// addresses, while a gym behind one address still signs in.
public struct SignInLimits: Sendable, Equatable {
    public var perAccountAndAddress: Int
    public var perAddress: Int
    public var perAccount: Int
    public var window: TimeInterval

    public init(perAccountAndAddress: Int = 5, perAddress: Int = 20, perAccount: Int = 50, window: TimeInterval = 15 * 60) {
        self.perAccountAndAddress = perAccountAndAddress
        self.perAddress = perAddress
        self.perAccount = perAccount
        self.window = window
    }

    public func limit(_ scope: SignInScope) -> Int {
        switch scope {
        case .accountAndAddress: perAccountAndAddress
        case .address: perAddress
        case .account: perAccount
        }
    }
}

/// The answer to "may this attempt check a password?", given before the password is checked.
public enum SignInAdmission: Sendable, Equatable {
    /// Counted: the caller checks the password, then reports the outcome with
    /// ``GymRepository/finishStaffSignIn(email:clientAddress:succeeded:)``.
    case allowed
    /// Not counted and not to be checked; `until` is when the scope's window ends.
    case refused(SignInScope, until: Date)
}

/// Why an account's sign-ins are being refused right now, for the owner's staff table.
public struct StaffSignInLock: Sendable, Equatable {
    /// True when every address is refused (the account-wide limit), false when only `addresses` are.
    public var everywhere: Bool
    public var until: Date
    /// Failed sign-ins in the current window(s).
    public var failures: Int
    /// The addresses the failures came from, most failures first.
    public var addresses: [String]

    public init(everywhere: Bool, until: Date, failures: Int, addresses: [String]) {
        self.everywhere = everywhere
        self.until = until
        self.failures = failures
        self.addresses = addresses
    }
}

extension GymRepository {
    /// Counts a sign-in attempt for `email` from `clientAddress` in every scope, atomically (one
    /// UPSERT per scope), before the password is checked: of any number of concurrent attempts,
    /// exactly as many as the limit allows are admitted.
    public func admitStaffSignIn(email: String, clientAddress: String, limits: SignInLimits, now: Date = Date()) async throws -> SignInAdmission {
        let sql = try sqlDatabase
        let nowMS = Self.milliseconds(now)
        let expiredMS = nowMS - Int64(limits.window * 1000)
        let emailKey = Self.loginKey(email)
        var counted: [String] = []
        for scope in SignInScope.allCases {
            let key = Self.counterKey(scope, email: emailKey, address: clientAddress)
            struct Bumped: Decodable { let attempts: Int64; let window_start_ms: Int64 }
            let bumped = try await sql.raw("""
                INSERT INTO staff_sign_in_counters (key, scope, email_key, client_address, attempts, window_start_ms, last_attempt_ms)
                VALUES (\(bind: key), \(bind: scope.rawValue), \(bind: scope == .address ? "" : emailKey), \(bind: scope == .account ? "" : clientAddress), 1, \(bind: nowMS), \(bind: nowMS))
                ON CONFLICT (key) DO UPDATE SET
                    attempts = CASE WHEN staff_sign_in_counters.window_start_ms <= \(bind: expiredMS) THEN 1
                                    ELSE staff_sign_in_counters.attempts + 1 END,
                    window_start_ms = CASE WHEN staff_sign_in_counters.window_start_ms <= \(bind: expiredMS) THEN excluded.window_start_ms
                                           ELSE staff_sign_in_counters.window_start_ms END,
                    last_attempt_ms = excluded.last_attempt_ms
                RETURNING attempts, window_start_ms
                """).first(decoding: Bumped.self)
            guard let bumped else { throw StoreError.corrupt("the sign-in counter \(scope.rawValue) returned nothing") }
            counted.append(key)
            if bumped.attempts > Int64(limits.limit(scope)) {
                // A refused attempt checks no password, so it is no failure: it must not lengthen
                // anyone's lock, nor count towards the account-wide limit.
                try await giveBack(counted, on: sql)
                let until = Date(timeIntervalSince1970: Double(bumped.window_start_ms) / 1000).addingTimeInterval(limits.window)
                return .refused(scope, until: until)
            }
        }
        return .allowed
    }

    /// Reports how an admitted attempt ended. A success takes its attempt back everywhere and clears
    /// the failures of this account from this address; a failure stays counted.
    public func finishStaffSignIn(email: String, clientAddress: String, succeeded: Bool, limits: SignInLimits, now: Date = Date()) async throws {
        let sql = try sqlDatabase
        let emailKey = Self.loginKey(email)
        if succeeded {
            try await giveBack([.address, .account].map { Self.counterKey($0, email: emailKey, address: clientAddress) }, on: sql)
            try await sql.delete(from: "staff_sign_in_counters")
                .where("key", .equal, Self.counterKey(.accountAndAddress, email: emailKey, address: clientAddress)).run()
        } else {
            // Keeps the table small: rows whose window ended count for nothing any more.
            let expiredMS = Self.milliseconds(now) - Int64(limits.window * 1000)
            try await sql.delete(from: "staff_sign_in_counters").where("window_start_ms", .lessThanOrEqual, expiredMS).run()
        }
    }

    /// Why `email`'s sign-ins are refused now, or nil when they are not.
    public func staffSignInLock(email: String, limits: SignInLimits, now: Date = Date()) async throws -> StaffSignInLock? {
        let sql = try sqlDatabase
        let expiredMS = Self.milliseconds(now) - Int64(limits.window * 1000)
        struct Row: Decodable { let scope: String; let client_address: String; let attempts: Int64; let window_start_ms: Int64 }
        let rows = try await sql.select().columns("scope", "client_address", "attempts", "window_start_ms").from("staff_sign_in_counters")
            .where("email_key", .equal, Self.loginKey(email)).where("window_start_ms", .greaterThan, expiredMS)
            .all(decoding: Row.self)
        func end(_ row: Row) -> Date { Date(timeIntervalSince1970: Double(row.window_start_ms) / 1000).addingTimeInterval(limits.window) }
        let pairs = rows.filter { $0.scope == SignInScope.accountAndAddress.rawValue && $0.attempts > 0 }
            .sorted { ($0.attempts, $1.client_address) > ($1.attempts, $0.client_address) }
        if let account = rows.first(where: { $0.scope == SignInScope.account.rawValue }), account.attempts >= Int64(limits.perAccount) {
            return StaffSignInLock(everywhere: true, until: end(account), failures: Int(account.attempts), addresses: pairs.map(\.client_address))
        }
        let locked = pairs.filter { $0.attempts >= Int64(limits.perAccountAndAddress) }
        guard let last = locked.map(end).max() else { return nil }
        return StaffSignInLock(
            everywhere: false, until: last, failures: locked.reduce(0) { $0 + Int($1.attempts) }, addresses: locked.map(\.client_address))
    }

    /// Forgets every failure counted against `email` (an owner lifting a lock); address limits stay.
    public func clearStaffSignInFailures(email: String) async throws {
        try await sqlDatabase.delete(from: "staff_sign_in_counters").where("email_key", .equal, Self.loginKey(email))
            .where("scope", .notEqual, SignInScope.address.rawValue).run()
    }

    func giveBack(_ keys: [String], on sql: any SQLDatabase) async throws {
        guard !keys.isEmpty else { return }
        try await sql.update("staff_sign_in_counters")
            .set(SQLIdentifier("attempts"), to: SQLBinaryExpression(SQLIdentifier("attempts"), .subtract, SQLLiteral.numeric("1")))
            .where("key", .in, keys).where("attempts", .greaterThan, 0).run()
    }

    /// Keys never collide across scopes: the address (no spaces) comes before the free-text e-mail.
    static func counterKey(_ scope: SignInScope, email: String, address: String) -> String {
        switch scope {
        case .accountAndAddress: "pair \(address) \(email)"
        case .address: "address \(address)"
        case .account: "account \(email)"
        }
    }

    /// Normalized like staff e-mails; capped, since it is whatever the form was sent with.
    static func loginKey(_ email: String) -> String {
        String(email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased().prefix(320))
    }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}

// MARK: - Kisi webhook deliveries

extension GymRepository {
    /// Remembers a webhook delivery by Kisi's event ID. True the first time, false for a replay or
    /// redelivery (the insert and the check are one statement, so two concurrent copies cannot both
    /// pass). IDs older than `keep` are dropped: deliveries that old are refused as stale anyway.
    public func recordKisiWebhookDelivery(eventUUID: String, type: String, keep: TimeInterval, now: Date = Date()) async throws -> Bool {
        let sql = try sqlDatabase
        let nowMS = Self.milliseconds(now)
        try await sql.delete(from: "kisi_webhook_deliveries").where("received_at_ms", .lessThan, nowMS - Int64(keep * 1000)).run()
        struct Row: Decodable { let event_uuid: String }
        let inserted = try await sql.raw("""
            INSERT INTO kisi_webhook_deliveries (event_uuid, event_type, received_at_ms) VALUES (\(bind: eventUUID), \(bind: type), \(bind: nowMS))
            ON CONFLICT (event_uuid) DO NOTHING RETURNING event_uuid
            """).all(decoding: Row.self)
        return !inserted.isEmpty
    }

    /// Forgets a delivery whose handling failed, so Kisi's redelivery is handled instead of skipped.
    public func forgetKisiWebhookDelivery(eventUUID: String) async throws {
        try await sqlDatabase.delete(from: "kisi_webhook_deliveries").where("event_uuid", .equal, eventUUID).run()
    }

    /// Sets a sync-state key only when it is not set yet, in one statement; true when this call set it.
    /// A report already waiting for the sync is not refreshed, so a burst of reports asks for one run.
    public func setSyncStateIfAbsent(_ key: String, _ value: String, now: Date = Date()) async throws -> Bool {
        struct Row: Decodable { let key: String }
        let inserted = try await sqlDatabase.raw("""
            INSERT INTO sync_state (key, value, updated_at) VALUES (\(bind: key), \(bind: value), \(bind: now))
            ON CONFLICT (key) DO NOTHING RETURNING key
            """).all(decoding: Row.self)
        return !inserted.isEmpty
    }
}

// MARK: - Idempotency keys

/// A stored answer of an idempotent API request.
public struct IdempotentAnswer: Sendable, Equatable {
    public var status: Int
    public var contentType: String?
    public var body: String

    public init(status: Int, contentType: String?, body: String) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// What a request carrying an `Idempotency-Key` should do.
public enum IdempotencyClaim: Sendable, Equatable {
    /// First use of the key: do the work, then ``GymRepository/completeIdempotentRequest(tokenID:key:answer:)``
    /// or ``GymRepository/releaseIdempotentRequest(tokenID:key:)``.
    case claimed
    /// The first request finished: answer this again.
    case replay(IdempotentAnswer)
    /// The first request is still running.
    case inProgress
    /// The key was used with a different request.
    case mismatch
}

extension GymRepository {
    /// Claims `key` for this token and request (`requestHash` identifies method, path and body).
    /// The insert is the claim: of two concurrent identical requests only one gets `.claimed`.
    public func claimIdempotencyKey(tokenID: UUID, key: String, requestHash: String, lifetime: TimeInterval, now: Date = Date()) async throws -> IdempotencyClaim {
        let sql = try sqlDatabase
        let nowMS = Self.milliseconds(now)
        try await sql.delete(from: "api_idempotency_keys").where("created_at_ms", .lessThan, nowMS - Int64(lifetime * 1000)).run()
        struct Claimed: Decodable { let request_hash: String }
        let inserted = try await sql.raw("""
            INSERT INTO api_idempotency_keys (token_id, idempotency_key, request_hash, created_at_ms)
            VALUES (\(bind: tokenID), \(bind: key), \(bind: requestHash), \(bind: nowMS))
            ON CONFLICT (token_id, idempotency_key) DO NOTHING RETURNING request_hash
            """).all(decoding: Claimed.self)
        if !inserted.isEmpty { return .claimed }
        struct Row: Decodable { let request_hash: String; let status: Int64?; let content_type: String?; let body: String? }
        guard let row = try await sql.select().columns("request_hash", "status", "content_type", "body").from("api_idempotency_keys")
            .where("token_id", .equal, tokenID).where("idempotency_key", .equal, key).first(decoding: Row.self)
        else {
            // Released between the insert and the read: the first request failed, so this one may try.
            return try await claimIdempotencyKey(tokenID: tokenID, key: key, requestHash: requestHash, lifetime: lifetime, now: now)
        }
        guard row.request_hash == requestHash else { return .mismatch }
        guard let status = row.status else { return .inProgress }
        return .replay(IdempotentAnswer(status: Int(status), contentType: row.content_type, body: row.body ?? ""))
    }

    /// Stores the answer of a claimed request, for replays.
    public func completeIdempotentRequest(tokenID: UUID, key: String, answer: IdempotentAnswer) async throws {
        try await sqlDatabase.update("api_idempotency_keys")
            .set("status", to: answer.status).set("content_type", to: answer.contentType).set("body", to: answer.body)
            .where("token_id", .equal, tokenID).where("idempotency_key", .equal, key).run()
    }

    /// Frees a claimed key whose request did nothing (it failed), so a retry runs it again.
    public func releaseIdempotentRequest(tokenID: UUID, key: String) async throws {
        try await sqlDatabase.delete(from: "api_idempotency_keys")
            .where("token_id", .equal, tokenID).where("idempotency_key", .equal, key).run()
    }
}
