import Foundation
import Logging

// MARK: - API key

/// A Kisi login secret of type `api`, sent as `Authorization: KISI-LOGIN <key>`.
///
/// The secret is never part of `description`, `debugDescription` or a `Mirror` (so `print`, `dump`,
/// string interpolation and logging a value that contains it do not reveal it).
public struct KisiAPIKey: Sendable, Hashable, ExpressibleByStringLiteral {
    let secret: String

    public init(_ secret: String) {
        self.secret = secret
    }

    public init(stringLiteral value: String) {
        self.secret = value
    }

    /// A stable, non-reversible fingerprint of the key for this process (used to share rate limits).
    var processFingerprint: Int {
        var hasher = Hasher()
        hasher.combine("kisi-api-key")
        hasher.combine(secret)
        return hasher.finalize()
    }
}

extension KisiAPIKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "KisiAPIKey(<redacted>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

// MARK: - Clock

/// The time source of a ``KisiClient``: pacing, backoff and `Retry-After` waits go through it, so tests can
/// use a virtual clock and run instantly.
public protocol KisiClock: Sendable {
    /// Monotonic time since an arbitrary, fixed origin.
    func now() -> Duration
    /// Suspends until `now() >= deadline`. Must throw `CancellationError` when the task is cancelled.
    func sleep(until deadline: Duration) async throws
    /// Wall-clock time, used to interpret `Retry-After: <HTTP date>`.
    func wallClockNow() -> Date
}

/// The real clock: `ContinuousClock` for monotonic time, `Date()` for wall-clock time.
public struct KisiSystemClock: KisiClock {
    private static let origin = ContinuousClock.now

    public init() {}

    public func now() -> Duration {
        Self.origin.duration(to: ContinuousClock.now)
    }

    public func sleep(until deadline: Duration) async throws {
        try await ContinuousClock().sleep(until: Self.origin.advanced(by: deadline), tolerance: nil)
    }

    public func wallClockNow() -> Date { Date() }
}

// MARK: - Retry policy

/// How ``KisiClient`` retries failed requests.
///
/// - Reads (`GET`), `PATCH` and `DELETE` are retried on 5xx, timeouts and connection errors with jittered
///   exponential backoff, up to `maxAttempts` attempts in all.
/// - Creates (`POST /users`, `/groups`, `/group_locks`, `/role_assignments`, `/invites`, `/integrations`,
///   `/event_sets`) and `POST /locks/{id}/unlock` are never retried once the request may have reached Kisi:
///   a lost response surfaces as ``KisiError/outcomeUnknown(operation:cause:)``. They are retried only when
///   the connection was never established.
/// - 429 is retried for every operation (the server did not apply the request): `Retry-After` (seconds or an
///   HTTP date) is honoured, otherwise the client backs off for at least `minimumRateLimitBackoff`.
public struct KisiRetryPolicy: Sendable, Hashable {
    /// Attempts in all (first try included) for retryable failures (5xx, timeouts, connection errors).
    public var maxAttempts: Int
    /// Backoff before the first retry; doubles with every further retry.
    public var initialBackoff: Duration
    /// Upper bound of one backoff.
    public var maxBackoff: Duration
    /// How many 429 responses one call absorbs before it fails with ``KisiError/rateLimited(retryAfter:code:)``.
    public var maxRateLimitRetries: Int
    /// Backoff after a 429 without `Retry-After` (Kisi asks for at least one second).
    public var minimumRateLimitBackoff: Duration
    /// A `Retry-After` longer than this is not waited for: the call fails with `rateLimited` at once.
    public var maxRetryAfter: Duration

    public init(
        maxAttempts: Int = 4,
        initialBackoff: Duration = .milliseconds(500),
        maxBackoff: Duration = .seconds(8),
        maxRateLimitRetries: Int = 5,
        minimumRateLimitBackoff: Duration = .seconds(1),
        maxRetryAfter: Duration = .seconds(120)
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRateLimitRetries = max(0, maxRateLimitRetries)
        self.minimumRateLimitBackoff = minimumRateLimitBackoff
        self.maxRetryAfter = maxRetryAfter
    }

    public static let `default` = KisiRetryPolicy()

    /// No retries at all (429 included).
    public static let none = KisiRetryPolicy(maxAttempts: 1, maxRateLimitRetries: 0)

    /// Jittered exponential backoff ("equal jitter": between half and all of the exponential delay).
    func backoff(forRetry retry: Int) -> Duration {
        let exponent = min(max(retry, 0), 20)
        let base = initialBackoff * (1 << exponent)
        let capped = min(base, maxBackoff)
        let jitter = Double.random(in: 0.5...1.0)
        return capped * jitter
    }
}

// MARK: - Configuration

extension KisiClient {
    /// Everything a ``KisiClient`` needs. The API key is redacted from every textual representation.
    public struct Configuration: Sendable {
        /// Kisi's production API.
        public static let productionURL = URL(string: "https://api.kisi.io")!

        /// Base URL; the default is `https://api.kisi.io`. Point it at a sandbox in tests.
        public var baseURL: URL
        /// The login secret sent as `Authorization: KISI-LOGIN <key>`.
        public var apiKey: KisiAPIKey
        /// Sent as `X-Kisi-Integration-Identifier` (Kisi asks integration partners to send it).
        public var integrationIdentifier: String?
        /// Sent as `X-Kisi-Integration-Contact` (an e-mail address).
        public var integrationContact: String?
        /// Deadline of one HTTP request (one attempt). Default 10 s. Applied by the default transport.
        public var requestDeadline: Duration
        /// Requests per second per API key, shared by every client of this process that uses the same key.
        /// Kisi allows 5 per second per user.
        public var requestsPerSecond: Int
        public var retryPolicy: KisiRetryPolicy
        public var logger: Logger
        public var clock: any KisiClock
        /// Pacing shared with other processes using the same key (several replicas on one database).
        /// Consulted after this process's own limiter, right before each request is sent. Nil: this
        /// process's limiter alone, which is enough when one process talks to Kisi.
        public var sharedPacer: (any KisiSharedPacer)?

        public init(
            apiKey: KisiAPIKey,
            baseURL: URL = Configuration.productionURL,
            integrationIdentifier: String? = nil,
            integrationContact: String? = nil,
            requestDeadline: Duration = .seconds(10),
            requestsPerSecond: Int = 5,
            retryPolicy: KisiRetryPolicy = .default,
            logger: Logger = Logger(label: "kisi-api"),
            clock: any KisiClock = KisiSystemClock(),
            sharedPacer: (any KisiSharedPacer)? = nil
        ) {
            self.apiKey = apiKey
            self.baseURL = baseURL
            self.integrationIdentifier = integrationIdentifier
            self.integrationContact = integrationContact
            self.requestDeadline = requestDeadline
            self.requestsPerSecond = max(1, requestsPerSecond)
            self.retryPolicy = retryPolicy
            self.logger = logger
            self.clock = clock
            self.sharedPacer = sharedPacer
        }
    }
}

/// Spaces requests across processes that share one Kisi API key (Kisi counts requests per user, not
/// per process). `waitForTurn` reserves the next send slot for `scope` and returns once it has come.
/// It must honour cancellation and never wait for ever: an implementation that cannot reach its
/// store throws, and the call fails with that error without the request having been sent.
public protocol KisiSharedPacer: Sendable {
    /// - Parameters:
    ///   - scope: `all` for every request, `createEventSet` for Kisi's separate 1/s limit.
    ///   - requestsPerSecond: the limit of that scope.
    func waitForTurn(scope: String, requestsPerSecond: Int) async throws
}

extension KisiClient.Configuration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "KisiClient.Configuration(baseURL: \(baseURL.absoluteString), apiKey: <redacted>, "
            + "integrationIdentifier: \(integrationIdentifier ?? "nil"), integrationContact: \(integrationContact ?? "nil"), "
            + "requestDeadline: \(requestDeadline), requestsPerSecond: \(requestsPerSecond), retryPolicy: \(retryPolicy))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "baseURL": baseURL,
                "apiKey": apiKey,
                "integrationIdentifier": integrationIdentifier as Any,
                "integrationContact": integrationContact as Any,
                "requestDeadline": requestDeadline,
                "requestsPerSecond": requestsPerSecond,
                "retryPolicy": retryPolicy,
            ],
            displayStyle: .struct
        )
    }
}
