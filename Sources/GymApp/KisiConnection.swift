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
        return try engine(settings: settings, repository: repository, logger: logger, sharedPacing: sharedPacing)
    }

    /// The engine for `settings`.
    public static func engine(
        settings: KisiSettings, repository: GymRepository, logger: Logger, sharedPacing: Bool = false
    ) throws -> SyncEngine {
        try KisiConnector.engine(settings: settings, repository: repository, logger: logger, sharedPacing: sharedPacing)
    }

    /// Finds out what the key may do (kept for the pages), then makes sure Kisi sends its events to this
    /// BooGYMan: with an instance URL in the settings and a key that may register one, an
    /// `event_webhook` integration to `<instance>/webhooks/kisi`, signed with a secret only BooGYMan and
    /// Kisi know (kept sealed with the master key). Returns that secret, or nil when webhooks are not set
    /// up (no instance URL) or Kisi could not be asked; the sync still repairs drift by its periodic full
    /// reconcile then, so a failure here is logged, not fatal.
    @discardableResult
    public static func ensureWebhook(engine: SyncEngine, repository: GymRepository, masterKey: MasterKey?, logger: Logger) async -> String? {
        do {
            guard let masterKey, var settings = try await repository.kisiSettings(masterKey: masterKey) else { return nil }
            let client = engine.client
            // What the key may do is found out afresh at every start of the sync (a role changed in Kisi shows
            // within a term) and kept for the pages.
            let rights = await KisiConnector.keyRights(for: settings, client: client, repository: repository, refresh: true)
            guard let instance = settings.instanceURL?.trimmingCharacters(in: CharacterSet(charactersIn: "/")), !instance.isEmpty
            else { return nil }
            // A key that may not register webhooks (an access manager's, a place administrator's) is not made
            // to try: Kisi would refuse, and door activity comes from its event sets instead.
            if let rights, rights.reach != .unknown, !rights.canRegisterWebhook {
                logger.notice("this Kisi key may not register a webhook: door activity is read from Kisi's event sets")
                return nil
            }
            let url = instance + "/webhooks/kisi"
            // Events caused by BooGYMan's own key come back too; knowing its user lets the webhook skip them.
            let me = try await client.currentUser()
            try await repository.syncState.set(.kisiSelfUserID, me.id)
            // Kisi's integration list leaves out the URL, so this instance's webhook is known by its name
            // and by the ID stored when it was made.
            let name = "BooGYMan (\(url))"
            var ours: [Int] = []
            for try await integration in client.allIntegrations() where integration.type == "event_webhook" && integration.name == name {
                ours.append(integration.id)
            }
            let registered = try await repository.syncState.get(.kisiWebhookIntegrationID)
            if let secret = settings.webhookSecret, let registered, ours.contains(registered) {
                for duplicate in ours where duplicate != registered { try await client.deleteIntegration(id: duplicate) }
                return secret
            }
            // None yet, or one whose secret we no longer hold: replace it with a freshly signed one.
            for stale in ours { try await client.deleteIntegration(id: stale) }
            let secret = MasterKey.generate().base64  // 32 random bytes, as text
            let created = try await client.createEventWebhook(KisiEventWebhookCreate(name: name, url: url, signatureKey: secret))
            settings.webhookSecret = secret
            try await repository.saveKisiSettings(settings, masterKey: masterKey)
            try await repository.syncState.set(.kisiWebhookIntegrationID, created.id)
            logger.notice("Kisi webhook registered", metadata: ["url": "\(url)"])
            return secret
        } catch {
            logger.error("Kisi webhook could not be registered; drift is repaired by the periodic full reconcile only",
                         metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// The background service keeping Kisi in step on whichever replica holds the sync lease: each
    /// term of leadership drives the engine of the connection in force (``ConnectionFollowingSync``),
    /// with a ledger carrying that term's fence.
    public static func leadership(
        engines: CurrentSyncEngine, repository: GymRepository, configuration: AppConfiguration, bell: SyncCommandBell, logger: Logger
    ) -> SyncLeadership {
        SyncLeadership(
            repository: repository,
            configuration: SyncLeadership.Configuration(
                replicaID: configuration.replicaID, ttl: configuration.syncLeaseTTL, heartbeatInterval: configuration.syncHeartbeat),
            logger: logger
        ) { fence in
            ConnectionFollowingSync(
                engines: engines, repository: repository, fence: fence, bell: bell, masterKey: configuration.masterKey,
                sweepInterval: configuration.syncSweepInterval, sweepShare: configuration.syncSweepShare, logger: logger)
        }
    }

    /// One full reconcile, as the holder of the sync lease: a running server leading the sync would
    /// otherwise write to Kisi at the same time. Every journal entry carries this lease's fence, and
    /// the lease is renewed while the run lasts and released after it.
    public static func reconcileOnceUnderLease(engine: SyncEngine, repository: GymRepository) async throws -> SyncReport {
        let name = SyncLeadership.defaultLeaseName
        let holder = "boogyman sync --once on \(SyncLeadership.replicaID())"
        let ttl: Duration = .seconds(60)
        guard let lease = try await repository.acquireLease(name: name, holder: holder, ttl: ttl) else {
            let leader = try await repository.lease(name: name)?.holder ?? "another process"
            throw LeaseRefusal(message: """
                the Kisi sync is led by \(leader), which keeps Kisi in step already; \
                see its plan with `boogyman sync --dry-run`, or stop it before running --once
                """)
        }
        let fenced = SyncEngine(
            client: engine.client, repository: repository, ledger: GymStoreSyncLedger(repository: repository, fence: lease.fence),
            configuration: await engine.configuration)
        let report: SyncReport
        do {
            report = try await withThrowingTaskGroup(of: SyncReport?.self) { group in
                group.addTask { try await fenced.reconcileAll(trigger: "boogyman sync --once") }
                group.addTask {
                    while true {
                        try await Task.sleep(for: .seconds(10))
                        guard try await repository.renewLease(name: name, holder: holder, token: lease.token, ttl: ttl) != nil else { return nil }
                    }
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let report = first else {
                    throw LeaseRefusal(message: "the sync lease was taken over during the run; the other holder finishes the work")
                }
                return report
            }
        } catch {
            try? await repository.releaseLease(name: name, holder: holder, token: lease.token)
            throw error
        }
        try await repository.releaseLease(name: name, holder: holder, token: lease.token)
        return report
    }

    /// `boogyman sync --once` met a leader, or lost the lease mid-run.
    public struct LeaseRefusal: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}
