import Foundation
import Testing

@testable import KisiAPI

/// The largest number of timestamps that fall into any half-open window [t, t + 1 s).
func maxInAnyOneSecondWindow(_ times: [Duration]) -> Int {
    let sorted = times.sorted()
    var best = 0
    var start = 0
    for end in sorted.indices {
        while sorted[end] - sorted[start] >= .seconds(1) { start += 1 }
        best = max(best, end - start + 1)
    }
    return best
}

@Suite("Kisi client: pacing per API key")
struct KisiPacingTests {
    @Test("Sequential requests are paced to at most 5 sends in any one-second window")
    func pacingDefault() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.json(200, userJSON(id: 1))])
        let client = makeClient(clock: clock, transport: transport)

        for _ in 0..<23 { _ = try await client.user(id: 1) }

        let times = transport.requests.map(\.sentAt)
        #expect(times.count == 23)
        #expect(maxInAnyOneSecondWindow(times) == 5)
        // Steady state: the limit is used, not undershot (23 sends need a bit over 4 seconds).
        #expect(times.last! < .seconds(5))
    }

    @Test("The configured rate is honoured")
    func pacingConfigured() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.json(200, userJSON(id: 1))])
        let client = makeClient(clock: clock, transport: transport, requestsPerSecond: 2)

        for _ in 0..<9 { _ = try await client.user(id: 1) }

        #expect(maxInAnyOneSecondWindow(transport.requests.map(\.sentAt)) == 2)
    }

    @Test("Two clients with the same key share one window; a client with another key does not")
    func sharedPerKey() async throws {
        let clock = VirtualClock()
        let key = uniqueKey()
        let shared = FakeTransport(clock: clock, script: [.json(200, userJSON(id: 1))])
        let first = makeClient(key: key, clock: clock, transport: shared)
        let second = makeClient(key: key, clock: clock, transport: shared)
        let otherTransport = FakeTransport(clock: clock, script: [.json(200, userJSON(id: 1))])
        let other = makeClient(clock: clock, transport: otherTransport)

        for index in 0..<20 {
            _ = try await (index.isMultiple(of: 2) ? first : second).user(id: 1)
        }
        _ = try await other.user(id: 1)

        #expect(shared.requests.count == 20)
        #expect(maxInAnyOneSecondWindow(shared.requests.map(\.sentAt)) == 5)
        // The other key was not held back by the first key's window.
        #expect(otherTransport.requests.count == 1)
        #expect(otherTransport.requests[0].sentAt == clock.now())
    }

    @Test("Retries and 429 waits also go through the pacing window")
    func retriesArePaced() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock) { _, index in
            index % 3 == 0 ? .empty(503) : .json(200, userJSON(id: 1))
        }
        let client = makeClient(
            clock: clock, transport: transport, retryPolicy: .init(initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(1))
        )

        for _ in 0..<12 { _ = try await client.user(id: 1) }

        #expect(maxInAnyOneSecondWindow(transport.requests.map(\.sentAt)) <= 5)
    }

    @Test("Concurrent callers on one limiter never get more than N leases in any window")
    func limiterConcurrentLeases() async throws {
        let clock = VirtualClock()
        let limiter = KisiRateLimiter(limit: 5, window: .seconds(1), clock: clock)

        let times = try await withThrowingTaskGroup(of: Duration.self) { group in
            for _ in 0..<57 {
                group.addTask {
                    try await limiter.acquire()
                    let at = clock.now()
                    await limiter.release()
                    return at
                }
            }
            var all: [Duration] = []
            for try await time in group { all.append(time) }
            return all
        }

        #expect(times.count == 57)
        #expect(maxInAnyOneSecondWindow(times) == 5)
        // 57 leases at 5 per window, first come first served: 0...11 s with no idle gaps. A release
        // that lands after the virtual clock has moved on shifts its lease by up to one window, so
        // a loaded machine may finish at 12 s; anything later means the limiter wastes its budget.
        #expect(times.max()! >= .seconds(11))
        #expect(times.max()! <= .seconds(12))
    }

    @Test("A lease is free again one window after its request completed, not after it was sent")
    func limiterAnchorsAtCompletion() async throws {
        let clock = VirtualClock()
        let limiter = KisiRateLimiter(limit: 1, window: .seconds(1), clock: clock)

        try await limiter.acquire()
        try await clock.sleep(until: .milliseconds(300))  // the request takes 300 ms
        await limiter.release()
        try await limiter.acquire()

        #expect(clock.now() == .milliseconds(1300))
    }

    @Test("A pause after a 429 holds back every later lease")
    func limiterPause() async throws {
        let clock = VirtualClock()
        let limiter = KisiRateLimiter(limit: 5, window: .seconds(1), clock: clock)

        try await limiter.acquire()
        #expect(clock.now() == .zero)
        await limiter.release()
        await limiter.pause(until: .seconds(7))
        try await limiter.acquire()

        #expect(clock.now() == .seconds(7))
    }
}
