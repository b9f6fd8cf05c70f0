import AccessSync
import Foundation
import GymStore
import KisiAPI
import Logging

/// Builds the sync engine from the Kisi settings stored in the database.
public enum KisiConnection {
    public enum Problem: Error, CustomStringConvertible {
        case noMasterKey
        case notConnected
        case badBaseURL(String)

        public var description: String {
            switch self {
            case .noMasterKey: "BOOGYMAN_MASTER_KEY is not set, so the stored Kisi API key cannot be opened"
            case .notConnected: "Kisi is not connected; run `boogyman kisi connect --api-key KEY` first"
            case .badBaseURL(let url): "the stored Kisi base URL \(url) is not a URL"
            }
        }
    }

    /// The engine for the stored settings, or `nil` when Kisi is not connected.
    /// - Parameter sharedPacing: pace Kisi requests through the database (`kisi_rate_slots`) as well as
    ///   in-process, so that several replicas on one PostgreSQL stay within Kisi's limit together.
    public static func engine(
        repository: GymRepository, masterKey: MasterKey?, logger: Logger, sharedPacing: Bool = false
    ) async throws -> SyncEngine? {
        guard let masterKey else {
            return nil
        }
        guard let settings = try await repository.kisiSettings(masterKey: masterKey) else { return nil }
        guard let baseURL = URL(string: settings.baseURL) else { throw Problem.badBaseURL(settings.baseURL) }
        let client = KisiClient(configuration: KisiClient.Configuration(
            apiKey: KisiAPIKey(settings.apiKey), baseURL: baseURL,
            integrationIdentifier: "BooGYMan", logger: logger,
            sharedPacer: sharedPacing ? DatabaseKisiPacer(repository: repository, apiKey: settings.apiKey) : nil))
        let mode: UserCreationMode = settings.userCreationMode == .invitations ? .invitations : .managedUsers
        return SyncEngine(
            client: client, repository: repository, ledger: GymStoreSyncLedger(repository: repository),
            configuration: SyncEngine.Configuration(options: SyncOptions(userCreationMode: mode), logger: logger))
    }

    /// The background service keeping Kisi in step on whichever replica holds the sync lease: each
    /// term of leadership gets its own engine and ledger carrying that term's fence, sharing the
    /// Kisi client (and so its pacing) of `engine`.
    public static func leadership(
        engine: SyncEngine, repository: GymRepository, configuration: AppConfiguration, logger: Logger
    ) -> SyncLeadership {
        SyncLeadership(
            repository: repository,
            configuration: SyncLeadership.Configuration(
                replicaID: configuration.replicaID, ttl: configuration.syncLeaseTTL, heartbeatInterval: configuration.syncHeartbeat),
            logger: logger
        ) { fence in
            let ledger = GymStoreSyncLedger(repository: repository, fence: fence)
            let fenced = SyncEngine(
                client: await engine.client, repository: repository, ledger: ledger, configuration: await engine.configuration)
            return SyncService(engine: fenced, repository: repository, ledger: ledger, logger: logger)
        }
    }

    /// The background service keeping Kisi in step, for the server's service group.
    public static func service(engine: SyncEngine, repository: GymRepository, logger: Logger) -> SyncService {
        SyncService(engine: engine, repository: repository, ledger: GymStoreSyncLedger(repository: repository), logger: logger)
    }
}
