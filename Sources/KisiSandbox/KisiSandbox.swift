import Foundation
import Hummingbird
import Logging
import NIOCore

/// How a sandbox starts.
public struct SandboxConfiguration: Sendable {
    /// Initial data (also what `POST /_sandbox/reset` returns to). Ignored when `persistencePath` holds state.
    public var seed: SandboxSeed
    /// Value of the `X-Sandbox-Admin-Key` header required by `/_sandbox/` routes.
    public var adminKey: String
    /// JSON file: loaded on start if present, saved about once a second after changes and on shutdown.
    public var persistencePath: String?
    /// Kisi's limits: 5 requests/second per user, `POST /event_sets` 1/second. 0 disables a limit.
    public var requestsPerSecond: Int
    public var eventSetsPerSecond: Int
    /// Deadline for one webhook delivery.
    public var webhookTimeout: Duration
    public var logger: Logger

    public init(
        seed: SandboxSeed = .demoSeed(),
        adminKey: String = "sandbox-admin",
        persistencePath: String? = nil,
        requestsPerSecond: Int = 5,
        eventSetsPerSecond: Int = 1,
        webhookTimeout: Duration = .seconds(5),
        logger: Logger = Logger(label: "KisiSandbox")
    ) {
        self.seed = seed
        self.adminKey = adminKey
        self.persistencePath = persistencePath
        self.requestsPerSecond = requestsPerSecond
        self.eventSetsPerSecond = eventSetsPerSecond
        self.webhookTimeout = webhookTimeout
        self.logger = logger
    }
}

/// A local Kisi server. Build an application with `application(host:port:onServerRunning:)` (its service group
/// also runs webhook delivery and persistence), or use `withRunningServer` to get a live server on a free port.
public final class KisiSandbox: Sendable {
    public let configuration: SandboxConfiguration
    let store: SandboxStore
    let rateLimiter: RateLimiter
    let faults = FaultInjector()
    let counter = RequestCounter()
    private let jobs: AsyncStream<WebhookJob>

    public init(configuration: SandboxConfiguration = SandboxConfiguration()) throws {
        self.configuration = configuration
        let (stream, continuation) = AsyncStream.makeStream(of: WebhookJob.self)
        self.jobs = stream
        var initial = try configuration.seed.buildState(now: Date())
        if let path = configuration.persistencePath, let saved = try Persistence.load(from: path) {
            initial = saved
        }
        self.store = SandboxStore(state: initial, webhooks: continuation)
        self.rateLimiter = RateLimiter(perSecond: configuration.requestsPerSecond, eventSetsPerSecond: configuration.eventSetsPerSecond)
    }

    /// The sandbox as a Hummingbird application. Port 0 binds a free port; `onServerRunning` receives the
    /// listening channel (`channel.localAddress?.port`).
    public func application(
        host: String = "127.0.0.1",
        port: Int = 0,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            responder: SandboxResponder(sandbox: self),
            configuration: .init(address: .hostname(host, port: port), serverName: "KisiSandbox"),
            services: [SandboxBackgroundService(
                jobs: jobs, store: store, timeout: configuration.webhookTimeout,
                persistencePath: configuration.persistencePath, logger: configuration.logger
            )],
            onServerRunning: onServerRunning,
            logger: configuration.logger
        )
    }

    /// Starts the server, runs `body` with its port, then shuts it down.
    public func withRunningServer<T: Sendable>(
        host: String = "127.0.0.1",
        port: Int = 0,
        _ body: @Sendable (_ port: Int) async throws -> T
    ) async throws -> T {
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = application(host: host, port: port) { channel in
            portContinuation.yield(channel.localAddress?.port ?? port)
            portContinuation.finish()
        }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await app.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let boundPort = await iterator.next() else {
                group.cancelAll()
                throw CancellationError()
            }
            let result: T
            do {
                result = try await body(boundPort)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
            while let _ = try? await group.next() {}
            return result
        }
    }

    // MARK: In-process control (same operations as the /_sandbox/ routes)

    public func reset() async throws {
        try await store.replace(with: configuration.seed.buildState(now: Date()))
        await rateLimiter.reset()
        await counter.reset()
    }

    public func load(seed: SandboxSeed) async throws {
        try await store.replace(with: seed.buildState(now: Date()))
    }

    public func setFaults(_ settings: FaultSettings) async { await faults.set(settings) }

    /// `POST /_sandbox/api_keys`: a new API key for a (new or existing) user holding the requested role,
    /// e.g. `.placeAdministrator(of: [1001, 1002])` or `.accessManager()`.
    public func createAPIKey(_ request: SandboxKeyRequest) async throws -> SandboxAPIKey {
        do {
            return try await store.createAPIKey(request)
        } catch {
            let message = error.body["error"]?.string
                ?? error.body["errors"].map { String(decoding: $0.encoded(), as: UTF8.self) } ?? "refused"
            throw SandboxControlError(description: message)
        }
    }

    public func setClock(_ date: Date, frozen: Bool = true) async { await store.setClock(to: date, frozen: frozen) }

    public func advanceClock(by seconds: Double) async { await store.advanceClock(seconds: seconds) }

    public func now() async -> Date { await store.now() }

    /// `POST /_sandbox/tap`: a card tap at a reader, recorded as a `lock.unlock` event; true when the door opened.
    @discardableResult
    public func tap(userID: Int, lockID: Int) async throws -> Bool {
        try await store.tap(userId: userID, lockId: lockID).allowed
    }

    /// `POST /_sandbox/locks/{id}`: lock a door down (or lift it), or take its controller offline.
    public func setLockState(_ lockID: Int, lockedDown: Bool? = nil, online: Bool? = nil) async throws {
        _ = try await store.setLockState(lockId: lockID, lockedDown: lockedDown, online: online)
    }
}

/// Counts every request reaching a Kisi API route (for benchmarks), including rejected ones.
actor RequestCounter {
    private(set) var total = 0
    private(set) var byStatus: [Int: Int] = [:]
    func add(status: Int) {
        total += 1
        byStatus[status, default: 0] += 1
    }
    func reset() { total = 0; byStatus = [:] }
    var json: JSONValue {
        .object(["total": .int(total), "by_status": .object(Dictionary(uniqueKeysWithValues: byStatus.map { (String($0.key), .int($0.value)) }))])
    }
}
