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
    /// The process's logger. The first call fixes the log format for the whole process
    /// (`BOOGYMAN_LOG_FORMAT`, see ``GymLogging``).
    public static func makeLogger(level: Logger.Level, format: LogFormat = GymLogging.format()) -> Logger {
        GymLogging.bootstrap(format)
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

    /// Builds the HTTP application over an open database. The Kisi sync runs beside it: with
    /// `followsStoredKisiConnection`, for whatever connection the database holds at each moment
    /// (``KisiSupervisor``: staff connect and disconnect without a restart); otherwise for `sync`
    /// alone, when given. The database closes when the app stops.
    public static func application(
        _ configuration: AppConfiguration, database: GymDatabase, sync: SyncEngine? = nil, followsStoredKisiConnection: Bool = false,
        extraServices: [any Service] = [], logger: Logger, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        _ = GymMetrics.registry  // before any service creates its metrics
        let engines = CurrentSyncEngine(sync)
        // Pages hand Kisi writes to the sync leader through the database; the bell wakes the leader at
        // once when it runs in this process.
        let bell = SyncCommandBell()
        let sharedPacing = configuration.database.pacesKisiTogether
        let control = LiveSyncControl(
            engines: engines, repository: database.repository, masterKey: configuration.masterKey, bell: bell,
            configuration: LiveSyncControl.Configuration(sharedPacing: sharedPacing), logger: logger)
        let router = GymRoutes(
            database: database, control: control, replicaID: configuration.replicaID, metricsExposition: GymMetrics.exposition,
            metricsToken: configuration.metricsToken,
            kisiWebhookSecret: webhookSecret(configuration, database: database)
        ).router()
        AdminRoutes(
            repository: database.repository, control: control,
            configuration: AdminConfiguration(
                secureCookies: configuration.secureCookies, trustedProxies: configuration.trustedProxies, masterKey: configuration.masterKey,
                sharesKisiPacing: sharedPacing)
        ).register(on: router)
        var services: [any Service] = extraServices
        if followsStoredKisiConnection {
            services.append(KisiSupervisor(
                engines: engines, repository: database.repository, configuration: configuration, logger: logger, bell: bell))
        } else if sync != nil {
            // Even alone (SQLite) the sync runs under the lease: one code path, and the status shows the leader.
            services.append(KisiConnection.leadership(
                engines: engines, repository: database.repository, configuration: configuration, bell: bell, logger: logger))
        }
        // First in the list, so the last to be shut down (the group shuts down in reverse order):
        // the sync must still reach the database while it finishes and releases its lease.
        services.insert(DatabaseLifetime(database: database), at: 0)
        return Application(
            router: router,
            // The router's middleware adds the security headers to what it answers; this adds them to
            // what the server answers by itself (a request it cannot parse).
            server: .http1(configuration: .init(additionalChannelHandlers: [SecurityHeadersChannelHandler()])),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "BooGYMan"),
            services: services,
            onServerRunning: onServerRunning,
            logger: logger)
    }

    /// Reads the webhook secret from the sealed settings at each delivery: whichever replica registered
    /// the webhook last stored the secret Kisi now signs with (none while Kisi is not connected).
    static func webhookSecret(_ configuration: AppConfiguration, database: GymDatabase) -> (@Sendable () async throws -> String?)? {
        guard let masterKey = configuration.masterKey else { return nil }
        let repository = database.repository
        return { try await repository.kisiSettings(masterKey: masterKey)?.webhookSecret }
    }

    /// `boogyman serve`: migrate, then serve (and sync Kisi whenever it is connected) until told to stop.
    public static func serve(_ configuration: AppConfiguration) async throws {
        let logger = makeLogger(level: configuration.logLevel, format: configuration.logFormat)
        // SQLite has no lease table shared between processes, so a second server on the same file is refused.
        let writerLock: SingleWriterLock?
        if case .sqliteFile(let path) = configuration.database {
            writerLock = try SingleWriterLock(databasePath: path)
        } else {
            writerLock = nil
        }
        defer { withExtendedLifetime(writerLock) {} }
        logger.info("opening database", metadata: ["database": "\(configuration.database)", "replica": "\(configuration.replicaID)"])
        let database = try await openDatabase(configuration, logger: logger)
        try await application(configuration, database: database, followsStoredKisiConnection: true, logger: logger).runService()
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
