import Crypto
import FluentKit
import Foundation
import GymCore

extension GymRepository {
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

    /// The token a bearer secret belongs to, if it exists and is not revoked.
    public func authenticate(secret: String) async throws -> APIToken? {
        guard secret.hasPrefix("bgm_") else { return nil }
        guard let row = try await APITokenRow.query(on: database)
            .filter(\.$tokenHash == Self.hash(secret)).filter(\.$revokedAt == nil).first()
        else { return nil }
        return APIToken(id: try row.requireID(), name: row.name, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt)
    }

    public func apiTokens() async throws -> [APIToken] {
        try await APITokenRow.query(on: database).filter(\.$revokedAt == nil).sort(\.$name).all().map {
            APIToken(id: try $0.requireID(), name: $0.name, createdAt: $0.createdAt, lastUsedAt: $0.lastUsedAt)
        }
    }

    public func revokeAPIToken(_ id: UUID) async throws {
        guard let row = try await APITokenRow.find(id, on: database), row.revokedAt == nil else {
            throw StoreError.notFound(entity: "API token", id: id)
        }
        row.revokedAt = Date()
        try await row.save(on: database)
    }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
