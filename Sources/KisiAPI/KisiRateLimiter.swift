import Foundation

/// Paces requests so that the server never sees more than `limit` of them in any window of `window`.
///
/// Pacing by *send* time is not enough: the server counts a request when it arrives, and arrival delays
/// vary (a request on a new connection waits for TCP/TLS set-up, a later one on a warm connection does not),
/// so `limit + 1` requests sent more than a window apart can still arrive less than a window apart. The
/// limiter therefore hands out `limit` leases: a caller takes one before sending (`acquire()`) and gives it
/// back when the response (or the failure) arrived (`release()`); the lease becomes free again only
/// `window` after that. The server handled the request somewhere between send and response, so any
/// `limit + 1` requests the server handles are at least a window apart, whatever the network delays.
/// The price is throughput: `limit` requests per `window` + round-trip time.
///
/// A 429 can hold back every lease (`pause(until:)`).
actor KisiRateLimiter {
    let limit: Int
    let window: Duration
    let clock: any KisiClock
    /// Leases taken and not yet released.
    private var inFlight = 0
    /// When the leases of finished requests become free again, ascending.
    private var cooling: [Duration] = []
    private var pausedUntil: Duration = .zero
    /// Tickets of the callers in `acquire()`, in arrival order; only the first may take a lease.
    private var queue: [UInt64] = []
    private var nextTicket: UInt64 = 0
    /// Callers waiting for their turn or for a lease in flight; woken whenever that may have changed.
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int, window: Duration, clock: any KisiClock) {
        self.limit = max(1, limit)
        self.window = window
        self.clock = clock
    }

    /// Waits for a free lease and takes it, first come first served. Every successful `acquire()` must be
    /// paired with `release()`.
    func acquire() async throws {
        let ticket = nextTicket
        nextTicket += 1
        queue.append(ticket)
        defer {
            queue.removeAll { $0 == ticket }
            wakeAll()
        }
        while true {
            try Task.checkCancellation()
            guard queue.first == ticket else {
                await withCheckedContinuation { waiters.append($0) }
                continue
            }
            let now = clock.now()
            cooling.removeAll { $0 <= now }
            if pausedUntil > now {
                try await clock.sleep(until: pausedUntil)
                continue
            }
            if inFlight + cooling.count < limit {
                inFlight += 1
                return
            }
            if let next = cooling.first {
                try await clock.sleep(until: next)
                continue
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    /// The request of a lease is over (response or failure received): the lease is free again after `window`.
    func release() {
        inFlight = max(0, inFlight - 1)
        let freeAt = clock.now() + window
        let index = cooling.firstIndex { $0 > freeAt } ?? cooling.endIndex
        cooling.insert(freeAt, at: index)
        wakeAll()
    }

    private func wakeAll() {
        let woken = waiters
        waiters.removeAll()
        for waiter in woken { waiter.resume() }
    }

    /// No lease before `deadline` (after a 429 with `Retry-After`).
    func pause(until deadline: Duration) {
        pausedUntil = max(pausedUntil, deadline)
    }
}

/// One limiter per API key per process, shared by every ``KisiClient`` using that key (Kisi limits
/// requests per *user*, so several clients with the same key must not add up).
///
/// The registry is keyed by a per-process fingerprint of the key (never the key itself). The first client
/// that uses a key fixes its rate and clock for the lifetime of the process.
enum KisiRateLimiterRegistry {
    /// Extra width of the pacing window over one second (timer granularity, clock drift between client and
    /// server).
    static let safetyMargin: Duration = .milliseconds(50)

    private static let lock = NSLock()
    nonisolated(unsafe) private static var limiters: [String: KisiRateLimiter] = [:]

    static func limiter(for key: KisiAPIKey, scope: String, limit: Int, clock: any KisiClock) -> KisiRateLimiter {
        let id = "\(key.processFingerprint)/\(scope)"
        lock.lock()
        defer { lock.unlock() }
        if let existing = limiters[id] { return existing }
        let limiter = KisiRateLimiter(limit: limit, window: .seconds(1) + safetyMargin, clock: clock)
        limiters[id] = limiter
        return limiter
    }
}
