import Foundation
import GymStore
import Logging
import ServiceLifecycle

/// A deadline passed before a database call answered.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public let what: String
    public let deadline: Duration
    public var description: String { "\(what) did not answer within \(deadline)" }
}

/// Runs `work` and fails with ``DeadlineExceeded`` when it takes longer than `deadline` (the work is
/// cancelled then). Used for the lease's database calls: a heartbeat stuck on a dead connection
/// must not keep a replica believing it still leads.
public func withDeadline<T: Sendable>(
    _ deadline: Duration, _ what: String, _ work: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await work() }
        group.addTask {
            try await Task.sleep(for: deadline)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw DeadlineExceeded(what: what, deadline: deadline)
        }
        return value
    }
}

/// Leadership of the Kisi sync among replicas sharing one database.
///
/// Every replica runs this service; only the one holding the lease row (`sync_leases`) runs the sync
/// service `makeSync` builds for that lease. The leader renews every `heartbeatInterval`; a lease not
/// renewed for `ttl` may be taken by another replica, which bumps the fencing token. The sync is
/// cancelled as soon as a renewal finds the lease taken over, or when renewals have failed for so
/// long that the lease may have expired; and because the ledger `makeSync` is given checks the
/// fence in the same transaction as each journal entry, a replica that has not noticed yet still
/// cannot send a Kisi write. After a kill -9 of the leader another replica leads within
/// `ttl + heartbeatInterval` (plus one database round trip).
///
/// On graceful shutdown the running sync finishes what it is doing (as ``SyncService`` does) and the
/// lease is released, so another replica takes over at its next attempt instead of after `ttl`.
public struct SyncLeadership: Service {
    public struct Configuration: Sendable {
        /// The lease's name: one lease per Kisi connection.
        public var leaseName: String
        /// This replica, as shown in `GET /api/v1/sync/status`: `BOOGYMAN_REPLICA_ID` or host:pid.
        public var replicaID: String
        public var ttl: Duration
        /// How often the leader renews, and how often the others try to take an expired lease.
        public var heartbeatInterval: Duration
        /// Deadline of one lease query.
        public var queryDeadline: Duration

        public init(
            leaseName: String = SyncLeadership.defaultLeaseName, replicaID: String, ttl: Duration = .seconds(15),
            heartbeatInterval: Duration = .seconds(3), queryDeadline: Duration = .seconds(5)
        ) {
            self.leaseName = leaseName
            self.replicaID = replicaID
            self.ttl = ttl
            self.heartbeatInterval = heartbeatInterval
            // A query still waiting when a third of the TTL has passed is treated as failed: the
            // leader must notice in time to stop before the lease can expire under it.
            self.queryDeadline = min(queryDeadline, ttl / 3)
        }
    }

    public static let defaultLeaseName = "kisi_sync"

    public let repository: GymRepository
    public let configuration: Configuration
    /// Builds the sync for one term of leadership; its ledger must carry the fence.
    public let makeSync: @Sendable (LeaseFence) async throws -> any Service
    public let logger: Logger

    public init(
        repository: GymRepository, configuration: Configuration, logger: Logger,
        makeSync: @escaping @Sendable (LeaseFence) async throws -> any Service
    ) {
        self.repository = repository
        self.configuration = configuration
        self.makeSync = makeSync
        self.logger = logger
    }

    /// This replica's default ID: `BOOGYMAN_REPLICA_ID`, else host name and PID.
    public static func replicaID(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let id = environment["BOOGYMAN_REPLICA_ID"]?.trimmingCharacters(in: .whitespaces), !id.isEmpty { return id }
        return "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }

    enum TermEnd: Sendable {
        case syncEnded
        case leaseLost(String)
    }

    public func run() async throws {
        let name = configuration.leaseName
        let me = configuration.replicaID
        var wasFollowerLogged = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let lease: SyncLease?
            do {
                let repository = self.repository
                let ttl = configuration.ttl
                lease = try await withDeadline(configuration.queryDeadline, "taking the sync lease") {
                    try await repository.acquireLease(name: name, holder: me, ttl: ttl)
                }
            } catch is CancellationError {
                break
            } catch {
                logger.warning("sync lease: could not ask the database", metadata: ["error": "\(error)"])
                lease = nil
            }
            guard let lease else {
                if !wasFollowerLogged {
                    let repository = self.repository
                    let holder = (try? await withDeadline(configuration.queryDeadline, "reading the sync lease") {
                        try await repository.lease(name: name)
                    })??.holder ?? "?"
                    logger.info("sync lease held by another replica; standing by", metadata: ["leader": "\(holder)", "replica": "\(me)"])
                    wasFollowerLogged = true
                }
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: configuration.heartbeatInterval) }
                } catch {
                    break
                }
                continue
            }
            wasFollowerLogged = false
            logger.notice("sync lease taken: this replica leads the Kisi sync", metadata: ["replica": "\(me)", "token": "\(lease.token)"])
            let end = await lead(lease)
            switch end {
            case .leaseLost(let why):
                logger.warning("sync lease lost: Kisi sync stopped on this replica", metadata: ["reason": "\(why)", "token": "\(lease.token)"])
            case .syncEnded:
                // Shutdown (or a sync that gave up): let another replica take over at once.
                let repository = self.repository
                let deadline = configuration.queryDeadline
                try? await withDeadline(deadline, "releasing the sync lease") {
                    try await repository.releaseLease(name: name, holder: me, token: lease.token)
                }
                logger.notice("sync lease released", metadata: ["token": "\(lease.token)"])
                if !Task.isShuttingDownGracefully && !Task.isCancelled {
                    // Not a shutdown: pause before competing again so a sync that keeps ending is not a hot loop.
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: configuration.heartbeatInterval) }
                }
            }
        }
    }

    /// One term: the sync and the heartbeat side by side; whichever ends first ends the other.
    func lead(_ lease: SyncLease) async -> TermEnd {
        await withTaskGroup(of: TermEnd.self) { group in
            group.addTask {
                do {
                    let sync = try await makeSync(lease.fence)
                    try await sync.run()
                } catch is CancellationError {
                } catch let fenced as FencingError {
                    return .leaseLost("\(fenced)")
                } catch {
                    logger.error("Kisi sync stopped with an error", metadata: ["error": "\(error)"])
                }
                return .syncEnded
            }
            group.addTask { await heartbeat(lease) }
            let first = await group.next() ?? .syncEnded
            group.cancelAll()
            return first
        }
    }

    /// Renews until the lease is lost; returns only then (or when cancelled, as the sync ended).
    /// Plain sleeps, not graceful-shutdown-aware ones: during shutdown the sync is still finishing
    /// its work, and the lease must stay renewed until it has.
    func heartbeat(_ lease: SyncLease) async -> TermEnd {
        let clock = ContinuousClock()
        var lastRenewed = clock.now
        let name = configuration.leaseName
        let me = configuration.replicaID
        let ttl = configuration.ttl
        let repository = self.repository
        while true {
            do {
                try await Task.sleep(for: configuration.heartbeatInterval)
            } catch {
                return .syncEnded
            }
            let attempt = clock.now
            do {
                let renewed = try await withDeadline(configuration.queryDeadline, "renewing the sync lease") {
                    try await repository.renewLease(name: name, holder: me, token: lease.token, ttl: ttl)
                }
                guard renewed != nil else {
                    let current = try? await withDeadline(configuration.queryDeadline, "reading the sync lease") {
                        try await repository.lease(name: name)
                    } ?? nil
                    return .leaseLost("taken over by \(current?.holder ?? "another replica") with token \(current?.token ?? 0)")
                }
                lastRenewed = attempt
            } catch is CancellationError {
                return .syncEnded
            } catch {
                logger.warning("sync lease: renewal failed", metadata: ["error": "\(error)"])
                // Stop before the lease can have expired in the database's eyes: from then on another
                // replica may lead, and two syncs must never run at once.
                if clock.now - lastRenewed >= ttl - configuration.heartbeatInterval {
                    return .leaseLost("not renewed for \(clock.now - lastRenewed): \(error)")
                }
            }
        }
    }
}
