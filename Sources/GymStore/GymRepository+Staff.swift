import Crypto
import FluentKit
import Foundation
import GymCore

/// What a staff member may do in the admin UI. Each role includes everything the roles below it may do.
public enum StaffRole: String, Sendable, CaseIterable, Comparable {
    /// Sees members, sells, freezes and unfreezes subscriptions.
    case frontDesk = "front_desk"
    /// Also cancels subscriptions, blocks and unblocks members, edits plans, reads the audit log, unlocks doors,
    /// approves held revocations.
    case manager
    /// Also connects Kisi and manages staff accounts.
    case owner

    var rank: Int {
        switch self {
        case .frontDesk: 0
        case .manager: 1
        case .owner: 2
        }
    }

    public static func < (lhs: StaffRole, rhs: StaffRole) -> Bool { lhs.rank < rhs.rank }

    public var title: String {
        switch self {
        case .frontDesk: "Front desk"
        case .manager: "Manager"
        case .owner: "Owner"
        }
    }
}

/// A person who signs in to the admin UI. The password hash never leaves the repository except for
/// the sign-in check (`staffCredentials`).
public struct StaffAccount: Sendable, Equatable, Identifiable {
    public var id: UUID
    public var email: EmailAddress
    public var name: String
    public var role: StaffRole
    public var createdAt: Date?
    /// When an owner disabled the account; a disabled account cannot sign in and has no sessions.
    public var disabledAt: Date? = nil

    public var isDisabled: Bool { disabledAt != nil }
}

/// A signed-in staff member as a request sees it.
public struct StaffSession: Sendable, Equatable {
    public var id: UUID
    public var staff: StaffAccount
    public var expiresAt: Date
}

extension GymRepository {
    /// Creates a staff account. `passwordHash` is already hashed (bcrypt) by the caller: the store
    /// never sees a password.
    public func createStaff(email: String, name: String, role: StaffRole, passwordHash: String) async throws -> StaffAccount {
        var errors = FieldErrors()
        let address = EmailAddress(email)
        if address == nil { errors.add("email", "is not a valid e-mail address") }
        let trimmedName = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmedName.isEmpty { errors.add("name", "is required") }
        // The same rules as members' names: the name is shown on every admin page and in the audit log.
        if trimmedName.unicodeScalars.count > TextLimits.name { errors.add("name", "must be at most \(TextLimits.name) characters") }
        if Validate.containsControlCharacters(trimmedName) || Validate.containsControlCharacters(name, multiline: true) {
            errors.add("name", "must not contain control characters")
        }
        if passwordHash.isEmpty { errors.add("password", "is required") }
        try errors.throwIfAny()
        guard let address else { throw errors }
        return try await write { db in
            if try await StaffAccountRow.query(on: db).filter(\.$emailKey == address.normalized).first() != nil {
                throw FieldErrors(field: "email", "is already used by another staff account")
            }
            let row = StaffAccountRow()
            row.id = UUID()
            row.email = address.value
            row.emailKey = address.normalized
            row.name = trimmedName
            row.role = role.rawValue
            row.passwordHash = passwordHash
            try await row.create(on: db)
            return try row.toDomain()
        }
    }

    /// Staff accounts sorted by name.
    public func staffAccounts() async throws -> [StaffAccount] {
        try await StaffAccountRow.query(on: database).sort(\.$name).sort(\.$emailKey).all().map { try $0.toDomain() }
    }

    /// The account and its password hash for a sign-in attempt, or `nil` for an unknown e-mail.
    public func staffCredentials(email: String) async throws -> (account: StaffAccount, passwordHash: String)? {
        guard let address = EmailAddress(email),
              let row = try await StaffAccountRow.query(on: database).filter(\.$emailKey == address.normalized).first()
        else { return nil }
        return (try row.toDomain(), row.passwordHash)
    }

    /// Disables or re-enables an account. Disabling ends all of its sessions at once. Refused
    /// (`StoreError.conflict`) for the acting account itself and for the last enabled owner, so
    /// nobody can lock the gym out of its settings.
    public func setStaffDisabled(id: UUID, disabled: Bool, actingStaffID: UUID, now: Date = Date()) async throws -> StaffAccount {
        try await write { db in
            guard let row = try await StaffAccountRow.find(id, on: db) else { throw StoreError.notFound(entity: "staff account", id: id) }
            if disabled {
                guard id != actingStaffID else { throw StoreError.conflict("you cannot disable your own account") }
                if row.role == StaffRole.owner.rawValue { try await Self.requireAnotherOwner(than: id, on: db) }
                row.disabledAt = row.disabledAt ?? now
                try await StaffSessionRow.query(on: db).filter(\.$staff.$id == id).delete()
            } else {
                row.disabledAt = nil
            }
            try await row.save(on: db)
            return try row.toDomain()
        }
    }

    /// Changes an account's role; the last enabled owner keeps theirs.
    public func setStaffRole(id: UUID, role: StaffRole) async throws -> StaffAccount {
        try await write { db in
            guard let row = try await StaffAccountRow.find(id, on: db) else { throw StoreError.notFound(entity: "staff account", id: id) }
            if row.role == StaffRole.owner.rawValue, role != .owner { try await Self.requireAnotherOwner(than: id, on: db) }
            row.role = role.rawValue
            try await row.save(on: db)
            return try row.toDomain()
        }
    }

    /// Replaces an account's password hash and ends its other sessions (a changed password must
    /// lock out whoever may have learnt the old one); `keepingSession` stays signed in.
    public func changeStaffPassword(id: UUID, passwordHash: String, keepingSession sessionID: UUID?) async throws {
        guard !passwordHash.isEmpty else { throw FieldErrors(field: "password", "is required") }
        try await write { db in
            guard let row = try await StaffAccountRow.find(id, on: db) else { throw StoreError.notFound(entity: "staff account", id: id) }
            row.passwordHash = passwordHash
            try await row.save(on: db)
            var others = StaffSessionRow.query(on: db).filter(\.$staff.$id == id)
            if let sessionID { others = others.filter(\.$id != sessionID) }
            try await others.delete()
        }
    }

    static func requireAnotherOwner(than id: UUID, on db: any Database) async throws {
        let otherOwners = try await StaffAccountRow.query(on: db)
            .filter(\.$role == StaffRole.owner.rawValue).filter(\.$id != id).filter(\.$disabledAt == nil).count()
        guard otherOwners > 0 else { throw StoreError.conflict("the gym needs at least one enabled owner") }
    }

    // MARK: Sessions

    /// Starts a session and returns its secret (32 random bytes, URL-safe base64) for the cookie.
    /// Only the secret's SHA-256 is stored, so a copy of the database cannot be used to sign in.
    public func createStaffSession(staffID: UUID, lifetime: TimeInterval, now: Date = Date()) async throws -> (session: StaffSession, secret: String) {
        guard let account = try await StaffAccountRow.find(staffID, on: database) else {
            throw StoreError.notFound(entity: "staff account", id: staffID)
        }
        let secret = Self.randomSecret()
        let row = StaffSessionRow()
        row.id = UUID()
        row.$staff.id = staffID
        row.tokenHash = Self.hash(secret)
        row.createdAt = now
        row.expiresAt = now.addingTimeInterval(lifetime)
        try await row.create(on: database)
        return (StaffSession(id: try row.requireID(), staff: try account.toDomain(), expiresAt: row.expiresAt), secret)
    }

    /// The live session a cookie secret belongs to; expired and unknown secrets give `nil`.
    public func staffSession(secret: String, now: Date = Date()) async throws -> StaffSession? {
        guard !secret.isEmpty,
              let row = try await StaffSessionRow.query(on: database)
                .filter(\.$tokenHash == Self.hash(secret)).filter(\.$expiresAt > now).with(\.$staff).first()
        else { return nil }
        // Disabling deletes the sessions too; this also covers one created in the same instant.
        guard row.staff.disabledAt == nil else { return nil }
        return StaffSession(id: try row.requireID(), staff: try row.staff.toDomain(), expiresAt: row.expiresAt)
    }

    /// Ends a session (sign-out). Unknown secrets are ignored: signing out twice is not an error.
    public func deleteStaffSession(secret: String) async throws {
        try await StaffSessionRow.query(on: database).filter(\.$tokenHash == Self.hash(secret)).delete()
    }

    /// Removes sessions that expired before `now`; they can no longer be used anyway.
    public func deleteExpiredStaffSessions(now: Date = Date()) async throws {
        try await StaffSessionRow.query(on: database).filter(\.$expiresAt <= now).delete()
    }

    static func randomSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

final class StaffAccountRow: Model, @unchecked Sendable {
    static let schema = "staff_accounts"
    @ID(key: .id) var id: UUID?
    @Field(key: "email") var email: String
    @Field(key: "email_key") var emailKey: String
    @Field(key: "name") var name: String
    @Field(key: "role") var role: String
    @Field(key: "password_hash") var passwordHash: String
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    @OptionalField(key: "disabled_at") var disabledAt: Date?
    init() {}

    func toDomain() throws -> StaffAccount {
        guard let email = EmailAddress(email) else { throw StoreError.corrupt("staff e-mail \(email)") }
        guard let role = StaffRole(rawValue: role) else { throw StoreError.corrupt("staff role \(role)") }
        return StaffAccount(id: try requireID(), email: email, name: name, role: role, createdAt: createdAt, disabledAt: disabledAt)
    }
}

final class StaffSessionRow: Model, @unchecked Sendable {
    static let schema = "staff_sessions"
    @ID(key: .id) var id: UUID?
    @Parent(key: "staff_id") var staff: StaffAccountRow
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "expires_at") var expiresAt: Date
    init() {}
}
