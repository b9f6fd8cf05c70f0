import FluentKit
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit

/// Where the gym's data lives: an SQLite file (the default), an in-memory SQLite database
/// (tests), or a PostgreSQL server.
public enum DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    case sqliteFile(path: String)
    case sqliteInMemory
    case postgres(url: String)

    /// Reads `BOOGYMAN_DATABASE`-style text: a `postgres://` or `postgresql://` URL, `:memory:`, or a file path.
    public init(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") {
            self = .postgres(url: trimmed)
        } else if trimmed == ":memory:" {
            self = .sqliteInMemory
        } else {
            self = .sqliteFile(path: trimmed)
        }
    }

    /// A description safe for logs: a PostgreSQL password never appears.
    public var description: String {
        switch self {
        case .sqliteFile(let path): return "SQLite file \(path)"
        case .sqliteInMemory: return "in-memory SQLite"
        case .postgres(let url):
            if var components = URLComponents(string: url) {
                if components.password != nil { components.password = "•••" }
                return "PostgreSQL \(components.string ?? "postgres://")"
            }
            return "PostgreSQL (unparseable URL)"
        }
    }
}

/// The open database: owns Fluent's connection pools and applies the migrations.
public final class GymDatabase: Sendable {
    public let location: DatabaseLocation
    let databases: Databases
    let eventLoop: any EventLoop
    let logger: Logger

    /// Opens the database. Nothing touches the disk or network until the first query.
    public init(location: DatabaseLocation, logger: Logger) throws {
        self.location = location
        self.logger = logger
        self.databases = Databases(threadPool: NIOThreadPool.singleton, on: MultiThreadedEventLoopGroup.singleton)
        // SQLite takes one writer at a time; pinning every query to one event loop gives exactly one
        // connection, so concurrent requests queue instead of failing with "database is locked".
        self.eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        switch location {
        case .sqliteFile(let path):
            databases.use(.sqlite(.init(storage: .file(path: path)), sqlLogLevel: .trace), as: .sqlite)
        case .sqliteInMemory:
            databases.use(.sqlite(.init(storage: .memory), sqlLogLevel: .trace), as: .sqlite)
        case .postgres(let url):
            databases.use(try .postgres(url: url, maxConnectionsPerEventLoop: 8, sqlLogLevel: .trace), as: .psql)
        }
    }

    /// A handle for queries; cheap to create.
    public var database: any Database {
        databases.database(logger: logger, on: eventLoop)!
    }

    public var repository: GymRepository { GymRepository(database: database) }

    /// Applies every migration not yet applied, in order. Safe to call on every start.
    public func migrate() async throws {
        let migrator = Migrator(databases: databases, migrations: GymMigrations.all, logger: logger, on: eventLoop, migrationLogLevel: .debug)
        try await migrator.setupIfNeeded().get()
        try await migrator.prepareBatch().get()
    }

    /// Names of the migrations already applied, in order.
    public func appliedMigrations() async throws -> [String] {
        guard let sql = database as? any SQLDatabase else { return [] }
        struct Row: Decodable { let name: String }
        return try await sql.select().column("name").from("_fluent_migrations").orderBy("batch").orderBy("created_at")
            .all(decoding: Row.self).map(\.name)
    }

    /// Answers whether the database responds, for `/readyz`.
    public func ping() async throws {
        guard let sql = database as? any SQLDatabase else { return }
        _ = try await sql.raw("SELECT 1").all()
    }

    public func shutdown() async {
        await databases.shutdownAsync()
    }
}
