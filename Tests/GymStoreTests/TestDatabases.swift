import Foundation
import GymStore
import Logging
import SQLKit
import Testing

/// The databases the repository suite runs on: SQLite always, PostgreSQL when
/// `BOOGYMAN_TEST_POSTGRES_URL` names a server whose user may create databases.
enum DatabaseKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    static var postgresURL: String? {
        ProcessInfo.processInfo.environment["BOOGYMAN_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    static var available: [DatabaseKind] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { rawValue }
}

/// Runs `body` against a freshly migrated, empty database of `kind`, and removes it afterwards.
/// Each PostgreSQL test gets a database of its own, so tests run in parallel without interfering.
func withFreshDatabase<T: Sendable>(_ kind: DatabaseKind, _ body: (GymDatabase) async throws -> T) async throws -> T {
    var logger = Logger(label: "boogyman.tests")
    logger.logLevel = .warning
    switch kind {
    case .sqlite:
        let database = try GymDatabase(location: .sqliteInMemory, logger: logger)
        do {
            try await database.migrate()
            let result = try await body(database)
            await database.shutdown()
            return result
        } catch {
            await database.shutdown()
            throw error
        }
    case .postgres:
        let baseURL = try #require(DatabaseKind.postgresURL)
        let name = "boogyman_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
        let admin = try GymDatabase(location: .postgres(url: baseURL), logger: logger)
        try await (admin.database as! any SQLDatabase).raw("CREATE DATABASE \(unsafeRaw: name)").run()
        var components = try #require(URLComponents(string: baseURL))
        components.path = "/" + name
        let database = try GymDatabase(location: .postgres(url: try #require(components.string)), logger: logger)
        func cleanUp() async {
            await database.shutdown()
            try? await (admin.database as! any SQLDatabase).raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run()
            await admin.shutdown()
        }
        do {
            try await database.migrate()
            let result = try await body(database)
            await cleanUp()
            return result
        } catch {
            await cleanUp()
            throw error
        }
    }
}

/// Row counts of every table, to prove a failed operation changed nothing.
func tableCounts(_ database: GymDatabase) async throws -> [String: Int] {
    struct Count: Decodable { let n: Int }
    let sql = database.database as! any SQLDatabase
    var counts: [String: Int] = [:]
    for table in ["clubs", "studios", "plans", "plan_clubs", "plan_studios", "members", "subscriptions", "subscription_freezes", "access_changes", "api_tokens",
                  "kisi_settings", "kisi_links", "kisi_group_links", "kisi_writes", "held_reviews", "sync_state"] {
        counts[table] = try await sql.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first(decoding: Count.self)?.n ?? -1
    }
    return counts
}

@Suite struct TestEnvironment {
    @Test("PostgreSQL is configured whenever CI runs the suite")
    func postgresIsConfiguredInCI() {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            #expect(DatabaseKind.postgresURL != nil, "CI must set BOOGYMAN_TEST_POSTGRES_URL so the PostgreSQL suite runs")
        }
    }
}

func tokenHashes(_ database: GymDatabase) async throws -> [String] {
    struct Row: Decodable { let token_hash: String }
    return try await (database.database as! any SQLDatabase).raw("SELECT token_hash FROM api_tokens").all(decoding: Row.self).map(\.token_hash)
}
