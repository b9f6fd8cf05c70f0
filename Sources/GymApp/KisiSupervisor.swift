import AccessSync
import Foundation
import GymStore
import Logging
import ServiceLifecycle

/// Follows the Kisi connection stored in the database, so that connecting, reconnecting with a new
/// key and disconnecting from the admin UI take effect within seconds on every replica, without a
/// restart.
///
/// Every `refreshInterval` it reads the stored settings; when they changed it builds the engine for
/// them (or none) and publishes it in `engines` for the routes and the sync. Beside it runs the sync's
/// leadership: the replica holding the lease drives whatever engine is current
/// (``ConnectionFollowingSync``), and registers Kisi's webhook for it.
public struct KisiSupervisor: Service {
    public let engines: CurrentSyncEngine
    let repository: GymRepository
    let configuration: AppConfiguration
    let logger: Logger
    let refreshInterval: Duration
    /// Rung by this process's ``LiveSyncControl`` when it queues a command for the leader.
    let bell: SyncCommandBell

    public init(
        engines: CurrentSyncEngine, repository: GymRepository, configuration: AppConfiguration, logger: Logger,
        refreshInterval: Duration = .seconds(2), bell: SyncCommandBell = SyncCommandBell()
    ) {
        self.bell = bell
        self.engines = engines
        self.repository = repository
        self.configuration = configuration
        self.logger = logger
        self.refreshInterval = refreshInterval
    }

    /// What decides the engine; the webhook secret is left out, since registering the webhook stores a
    /// new one and must not count as a new connection.
    struct Connection: Equatable {
        let apiKey: String
        let organizationID: Int?
        let baseURL: String
        let instanceURL: String?
        let mode: KisiUserCreationMode

        init(_ settings: KisiSettings) {
            apiKey = settings.apiKey
            organizationID = settings.organizationID
            baseURL = settings.baseURL
            instanceURL = settings.instanceURL
            mode = settings.userCreationMode
        }
    }

    public func run() async throws {
        guard let masterKey = configuration.masterKey else {
            logger.notice("BOOGYMAN_MASTER_KEY is unset: Kisi cannot be connected, serving without door sync")
            try? await gracefulShutdown()
            return
        }
        let leadership = KisiConnection.leadership(
            engines: engines, repository: repository, configuration: configuration, bell: bell, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await followStoredSettings(masterKey: masterKey) }
            group.addTask { try await leadership.run() }
            try await group.waitForAll()
        }
    }

    func followStoredSettings(masterKey: MasterKey) async {
        var current: Connection?
        var readOnce = false
        var lastProblem: String?
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let settings = try await repository.kisiSettings(masterKey: masterKey)
                let connection = settings.map(Connection.init)
                if !readOnce || connection != current {
                    readOnce = true
                    current = connection
                    try adopt(settings)
                }
                lastProblem = nil
            } catch {
                let problem = "\(error)"
                if problem != lastProblem {
                    logger.error("the stored Kisi connection could not be used", metadata: ["error": "\(problem)"])
                    lastProblem = problem
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: refreshInterval) }
        }
    }

    func adopt(_ settings: KisiSettings?) throws {
        guard let settings else {
            if engines.engine != nil { logger.notice("Kisi was disconnected: door sync stopped") }
            else { logger.notice("Kisi is not connected: serving without door sync until an owner connects it") }
            engines.replace(with: nil)
            return
        }
        let engine = try KisiConnection.engine(
            settings: settings, repository: repository, logger: logger, sharedPacing: configuration.database.pacesKisiTogether)
        engines.replace(with: engine)
        logger.notice("Kisi connection in force", metadata: ["organization": "\(settings.organizationID.map(String.init) ?? "?")"])
    }
}

/// The sync of one term of leadership: it makes sure Kisi's webhook points here, drives the engine of
/// the connection in force and starts over with the new one when staff reconnect, idles while Kisi is not connected, and carries out an
/// owner's "disconnect and revoke all managed access". Every engine it builds writes through a
/// ledger carrying the term's fence.
struct ConnectionFollowingSync: Service {
    let engines: CurrentSyncEngine
    let repository: GymRepository
    let fence: LeaseFence
    let bell: SyncCommandBell
    let masterKey: MasterKey?
    /// The rolling sweep: how often it runs and its share of the key's rate while changes wait.
    var sweepInterval: Duration = .seconds(600)
    var sweepShare: Double = 0.2
    let logger: Logger

    enum TermEvent: Sendable {
        case serviceEnded
        case connectionChanged
        case disconnectRequested
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let (current, generation) = engines.snapshot
            guard let current else {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(500)) }
                continue
            }
            let ledger = GymStoreSyncLedger(repository: repository, fence: fence)
            let engine = SyncEngine(client: current.client, repository: repository, ledger: ledger, configuration: await current.configuration)
            if try await ledger.syncState.get(.disconnectRequested) != nil {
                await disconnect(engine: engine, ledger: ledger)
                continue
            }
            // The leader alone registers Kisi's webhook for a connection: replicas adopting a new key
            // at the same moment would otherwise each create one.
            await KisiConnection.ensureWebhook(engine: current, repository: repository, masterKey: masterKey, logger: logger)
            let service = SyncService(
                engine: engine, repository: repository, ledger: ledger, fullReconcileInterval: sweepInterval, sweepShare: sweepShare,
                logger: logger)
            // Staff's Kisi writes (unlocks, invitations) go through the same fenced engine as the sync's.
            let commands = SyncCommandProcessor(engine: engine, repository: repository, fence: fence, bell: bell, logger: logger)
            let event = try await withThrowingTaskGroup(of: TermEvent.self) { group in
                group.addTask {
                    try await service.run()
                    return .serviceEnded
                }
                group.addTask {
                    try await commands.run()
                    // Only a lost term (fence) or cancellation ends it; the service notices the same.
                    try await Task.sleep(for: .seconds(86_400 * 365))
                    return .serviceEnded
                }
                group.addTask { try await watch(since: generation) }
                defer { group.cancelAll() }
                return try await group.next() ?? .serviceEnded
            }
            switch event {
            case .serviceEnded: return  // shutdown
            case .connectionChanged: logger.notice("Kisi connection changed: the sync starts over with it")
            case .disconnectRequested: logger.notice("an owner asked to disconnect Kisi and revoke all managed access")
            }
        }
    }

    /// Returns once the connection in force is replaced or an owner asks to disconnect. Plain sleeps:
    /// during a graceful shutdown the sync itself finishes first, and this is cancelled then.
    func watch(since generation: Int) async throws -> TermEvent {
        var ticks = 0
        while true {
            try await Task.sleep(for: .milliseconds(250))
            if engines.generation != generation { return .connectionChanged }
            ticks += 1
            if ticks % 4 == 0, (try? await repository.syncState.get(.disconnectRequested)) != nil {
                return .disconnectRequested
            }
        }
    }

    func disconnect(engine: SyncEngine, ledger: GymStoreSyncLedger) async {
        let requested = try? await ledger.syncState.get(.disconnectRequested)
        let request = requested.flatMap { $0 } ?? "an owner"
        var outcome: String
        do {
            let report = try await engine.revokeAllManagedAccess(trigger: "disconnecting Kisi (\(request))")
            let removed = report.executedTotal
            if report.failures.isEmpty {
                try await repository.deleteKisiSettings()
                engines.replace(with: nil)
                outcome = "Kisi was disconnected and all door access BooGYMan managed was revoked (\(removed) grant\(removed == 1 ? "" : "s") removed). Kisi users and groups were kept."
            } else {
                let first = report.failures.first.map { "\($0)" } ?? ""
                outcome = "Kisi is still connected: \(report.failures.count) of \(report.planned) grants could not be removed (\(first)). Try again, or disconnect leaving access as it is."
            }
        } catch {
            outcome = "Kisi is still connected: revoking the managed access failed (\(error)). Try again, or disconnect leaving access as it is."
        }
        logger.notice("Kisi disconnect request handled", metadata: ["outcome": "\(outcome)"])
        do {
            try await ledger.syncState.set(.disconnectOutcome, outcome)
            try await ledger.syncState.set(.disconnectRequested, nil)
        } catch {
            logger.error("the outcome of the Kisi disconnect could not be stored", metadata: ["error": "\(error)"])
        }
    }
}
