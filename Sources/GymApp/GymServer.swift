import AccessSync
import Foundation
import GymAdmin
import GymStore
import GymWeb
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The composition root: opens the database, migrates it, and runs HTTP and the database's lifetime
/// in one service group that shuts down gracefully on SIGINT/SIGTERM.
public enum GymServer {
    public static func makeLogger(level: Logger.Level) -> Logger {
        var logger = Logger(label: "boogyman")
        logger.logLevel = level
        return logger
    }

    /// Opens and migrates the database the configuration names.
    public static func openDatabase(_ configuration: AppConfiguration, logger: Logger) async throws -> GymDatabase {
        let database = try GymDatabase(location: configuration.database, logger: logger)
        do {
            try await database.migrate()
        } catch {
            await database.shutdown()
            throw error
        }
        return database
    }

    /// Builds the HTTP application over an open database, with the Kisi sync running beside it when
    /// an engine is given. The database closes when the app stops.
    public static func application(
        _ configuration: AppConfiguration, database: GymDatabase, sync: SyncEngine? = nil, extraServices: [any Service] = [],
        logger: Logger, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = GymRoutes(database: database, sync: sync).router()
        AdminRoutes(
            repository: database.repository, sync: sync,
            configuration: AdminConfiguration(secureCookies: configuration.secureCookies, masterKey: configuration.masterKey)
        ).register(on: router)
        var services: [any Service] = extraServices
        if let sync {
            services.append(KisiConnection.service(engine: sync, repository: database.repository, logger: logger))
        }
        services.append(DatabaseLifetime(database: database))
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "BooGYMan"),
            services: services,
            onServerRunning: onServerRunning,
            logger: logger)
    }

    /// `boogyman serve`: migrate, then serve (and sync Kisi when connected) until told to stop.
    public static func serve(_ configuration: AppConfiguration) async throws {
        let logger = makeLogger(level: configuration.logLevel)
        logger.info("opening database", metadata: ["database": "\(configuration.database)"])
        let database = try await openDatabase(configuration, logger: logger)
        let sync = try await KisiConnection.engine(repository: database.repository, masterKey: configuration.masterKey, logger: logger)
        if sync == nil {
            logger.notice("Kisi is not connected (or BOOGYMAN_MASTER_KEY is unset): serving without door sync")
        }
        try await application(configuration, database: database, sync: sync, logger: logger).runService()
    }
}

/// Keeps the database open for as long as the service group runs, then closes its pools.
struct DatabaseLifetime: Service {
    let database: GymDatabase

    func run() async throws {
        try? await gracefulShutdown()
        await database.shutdown()
    }
}
