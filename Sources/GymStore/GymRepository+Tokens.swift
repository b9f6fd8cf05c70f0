import Crypto
import FluentKit
import Foundation
import GymCore

extension GymRepository {
    /// How stale a token's recorded last use may get: authenticating writes at most once per this
    /// interval, so a busy client does not turn every read into a write.
    public static let tokenUseGranularity: TimeInterval = 60

    /// Creates an API token and returns its secret, which is stored only as a SHA-256 hash.
    public func createAPIToken(name: String) async throws -> (token: APIToken, secret: String) {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw FieldErrors(field: "name", "is required") }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let secret = "bgm_" + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let row = APITokenRow()
        row.id = UUID()
        row.name = trimmed
        row.tokenHash = Self.hash(secret)
        try await row.create(on: database)
        return (APIToken(id: try row.requireID(), name: trimmed, createdAt: row.createdAt, lastUsedAt: nil), secret)
    }

    /// The token a bearer secret belongs to, if it exists and is not revoked. Records the use when
    /// the stored last use is older than ``tokenUseGranularity``.
    public func authenticate(secret: String, now: Date = Date()) async throws -> APIToken? {
        guard secret.hasPrefix("bgm_") else { return nil }
        guard let row = try await APITokenRow.query(on: database)
            .filter(\.$tokenHash == Self.hash(secret)).filter(\.$revokedAt == nil).first()
        else { return nil }
        let id = try row.requireID()
        var lastUsed = row.lastUsedAt
        if lastUsed.map({ now.timeIntervalSince($0) >= Self.tokenUseGranularity }) ?? true {
            // Conditional, so concurrent requests of one token write once between them.
            let cutoff = now.addingTimeInterval(-Self.tokenUseGranularity)
            try await APITokenRow.query(on: database).filter(\.$id == id)
                .group(.or) { $0.filter(\.$lastUsedAt == nil).filter(\.$lastUsedAt <= cutoff) }
                .set(\.$lastUsedAt, to: now).update()
            lastUsed = now
        }
        return APIToken(id: id, name: row.name, createdAt: row.createdAt, lastUsedAt: lastUsed)
    }

    /// Live tokens by name; with `includingRevoked`, revoked ones too (for the record).
    public func apiTokens(includingRevoked: Bool = false) async throws -> [APIToken] {
        var query = APITokenRow.query(on: database)
        if !includingRevoked { query = query.filter(\.$revokedAt == nil) }
        return try await query.sort(\.$name).sort(\.$createdAt).all().map(Self.token)
    }

    public func revokeAPIToken(_ id: UUID, now: Date = Date()) async throws {
        guard let row = try await APITokenRow.find(id, on: database), row.revokedAt == nil else {
            throw StoreError.notFound(entity: "API token", id: id)
        }
        row.revokedAt = now
        try await row.save(on: database)
    }

    /// Revokes the live token with this ID or, failing that, this exact name. A name shared by
    /// several live tokens is refused (`StoreError.conflict`): which one was meant is not clear.
    @discardableResult
    public func revokeAPIToken(idOrName: String, now: Date = Date()) async throws -> APIToken {
        let text = idOrName.trimmingCharacters(in: .whitespaces)
        let live = try await APITokenRow.query(on: database).filter(\.$revokedAt == nil).all()
        let matches: [APITokenRow]
        if let id = UUID(uuidString: text), let row = live.first(where: { $0.id == id }) {
            matches = [row]
        } else {
            matches = live.filter { $0.name == text }
        }
        guard let row = matches.first else { throw StoreError.conflict("no live API token has the ID or name \"\(text)\"") }
        guard matches.count == 1 else {
            throw StoreError.conflict("\(matches.count) live API tokens are named \"\(text)\"; revoke one by its ID")
        }
        row.revokedAt = now
        try await row.save(on: database)
        return try Self.token(row)
    }

    static func token(_ row: APITokenRow) throws -> APIToken {
        APIToken(id: try row.requireID(), name: row.name, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt, revokedAt: row.revokedAt)
    }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
