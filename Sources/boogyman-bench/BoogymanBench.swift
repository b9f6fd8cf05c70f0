import ArgumentParser
import AsyncHTTPClient
import Foundation
import KisiAPI
import KisiSandbox
import Logging
import NIOCore
import NIOHTTP1

@main
struct BoogymanBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boogyman-bench",
        abstract: "BooGYMan benchmarks.",
        subcommands: [KisiPacing.self, SyncPropagation.self, SyncCalls.self, SyncNoop.self, SyncPlanning.self, SyncRevocationUnderImport.self, SyncFaultRecovery.self, APIScale.self, SyncChangeCost.self, ChangeCostSandbox.self, UnlockLatency.self]
    )
}

/// Runs concurrent workers that share one Kisi API key against an in-process KisiSandbox enforcing Kisi's
/// limit (5 requests/second per user), then checks the sandbox's own counts: no request may be rejected
/// and no one-second window may contain more than 5 accepted requests.
struct KisiPacing: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kisi-pacing",
        abstract: "Mixed Kisi calls from concurrent workers sharing one API key, against the sandbox's 5 req/s limiter."
    )

    @Option(help: "How long the workers start new calls, in seconds.")
    var seconds: Int = 120

    @Option(help: "Concurrent workers (all use the same API key).")
    var workers: Int = 4

    @Option(help: "Separate KisiClient instances the workers are spread over (same key); default: workers / 2.")
    var clients: Int?

    @Option(help: "The sandbox's (and client's) limit in requests per second.")
    var limit: Int = 5

    mutating func validate() throws {
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard workers > 0 else { throw ValidationError("--workers must be positive") }
        if let clients, clients < 1 || clients > workers { throw ValidationError("--clients must be in 1...workers") }
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
    }

    func run() async throws {
        let key = "bench-\(UUID().uuidString)"
        var seed = SandboxSeed.demoSeed(apiKey: key)
        for n in 1...250 {
            seed.organizations[0].users.append(.init(name: "Member \(n)", email: "member\(n)@boogyman.example"))
        }
        for w in 0..<workers {
            seed.organizations[0].users.append(.init(name: "Bench worker \(w)", email: "bench-worker-\(w)@boogyman.example"))
        }
        let quiet = Logger(label: "boogyman-bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: seed, requestsPerSecond: limit, logger: quiet))
        let workers = self.workers
        let clientCount = clients ?? max(1, workers / 2)
        let duration = Duration.seconds(seconds)
        let limit = self.limit

        let outcome = try await sandbox.withRunningServer { port -> Outcome in
            let baseURL = URL(string: "http://127.0.0.1:\(port)")!
            let kisiClients = (0..<clientCount).map { _ in
                KisiClient(configuration: .init(
                    apiKey: KisiAPIKey(key), baseURL: baseURL, integrationIdentifier: "boogyman-bench",
                    requestsPerSecond: limit, logger: quiet
                ))
            }
            // The workers' users (for role assignment create/delete), looked up once.
            var workerUserIDs: [Int] = []
            for w in 0..<workers {
                guard let user = try await kisiClients[0].user(email: "bench-worker-\(w)@boogyman.example") else {
                    throw ValidationError("seed user of worker \(w) is missing")
                }
                workerUserIDs.append(user.id)
            }
            let userIDs = workerUserIDs
            // Start from clean counters: the reset restores the same seed (same ids) and clears the stats.
            _ = try await Self.control(port: port, method: .POST, path: "reset")

            let recorder = Recorder()
            let start = ContinuousClock.now
            let end = start + duration
            print("kisi-pacing: \(workers) workers on \(clientCount) KisiClient instance(s), one API key, sandbox limit \(limit)/s, \(seconds) s …")
            let progress = Task {
                var tick = 1
                while !Task.isCancelled {
                    try? await Task.sleep(until: start + .seconds(15 * tick), clock: .continuous)
                    if Task.isCancelled { break }
                    let calls = await recorder.calls
                    print("  \(15 * tick) s: \(calls) calls")
                    tick += 1
                }
            }
            await withTaskGroup(of: Void.self) { group in
                for w in 0..<workers {
                    let client = kisiClients[w % clientCount]
                    group.addTask {
                        await Worker(index: w, client: client, userID: userIDs[w], recorder: recorder).run(until: end)
                    }
                }
            }
            let elapsed = ContinuousClock.now - start
            progress.cancel()
            let stats = try await Self.stats(port: port)
            return Outcome(
                elapsed: elapsed, stats: stats, key: key, latencies: await recorder.latencies,
                callsByOperation: await recorder.byOperation, errors: await recorder.errors
            )
        }
        try outcome.report(limit: limit)
    }

    // MARK: Sandbox control

    static func control(port: Int, method: HTTPMethod, path: String) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/_sandbox/\(path)")
        request.method = method
        request.headers.add(name: "X-Sandbox-Admin-Key", value: "sandbox-admin")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 << 20)
        guard response.status.code == 200,
            let json = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        else {
            throw ValidationError("/_sandbox/\(path) answered \(response.status)")
        }
        return json
    }

    static func stats(port: Int) async throws -> [String: Any] {
        try await control(port: port, method: .GET, path: "stats")
    }
}

// MARK: - Workers

/// Client-side measurements: one entry per client call (a call includes pacing waits and retries).
actor Recorder {
    private(set) var latencies: [Duration] = []
    private(set) var byOperation: [String: Int] = [:]
    private(set) var errors: [String: Int] = [:]
    var calls: Int { latencies.count }

    func record(_ operation: String, _ latency: Duration, error: (any Error)?) {
        latencies.append(latency)
        byOperation[operation, default: 0] += 1
        if let error { errors["\(operation): \(error)", default: 0] += 1 }
    }
}

/// One worker: a realistic mix of BooGYMan's Kisi calls, in a rotating order.
struct Worker: Sendable {
    let index: Int
    let client: KisiClient
    let userID: Int
    let recorder: Recorder

    static let locks = [5001, 5002, 5003, 5004, 5011, 5012, 5013, 5014, 5021, 5022, 5023, 5024]

    func run(until end: ContinuousClock.Instant) async {
        var step = index
        while ContinuousClock.now < end {
            switch step % 6 {
            case 0:
                _ = await call("listUsers") { try await client.users(offset: (step % 3) * 100, limit: 100) }
            case 1:
                _ = await call("getLock") { try await client.lock(id: Self.locks[step % Self.locks.count]) }
            case 2:
                _ = await call("listGroupRoleAssignments") {
                    try await client.roleAssignments(filter: .init(appliesTo: .group(id: 2001)))
                }
            case 3:
                if let group = await call("createGroup", { try await client.createGroup(.init(name: "Bench \(index)-\(step)")) }) {
                    _ = await call("updateGroup") { try await client.updateGroup(id: group.id, .init(description: "patched")) }
                    _ = await call("deleteGroup") { try await client.deleteGroup(id: group.id) }
                }
            case 4:
                if let assignment = await call("createRoleAssignment", {
                    try await client.createRoleAssignment(.groupAccess(userID: userID, groupID: 2001))
                }) {
                    _ = await call("deleteRoleAssignment") { try await client.deleteRoleAssignment(id: assignment.id) }
                }
            default:
                _ = await call("unlock") { try await client.unlock(lockID: Self.locks[(step * 7) % Self.locks.count]) }
            }
            step += 1
        }
    }

    func call<T: Sendable>(_ operation: String, _ body: () async throws -> T) async -> T? {
        let started = ContinuousClock.now
        do {
            let value = try await body()
            await recorder.record(operation, ContinuousClock.now - started, error: nil)
            return value
        } catch {
            await recorder.record(operation, ContinuousClock.now - started, error: error)
            return nil
        }
    }
}

// MARK: - Report

struct Outcome: @unchecked Sendable {
    let elapsed: Duration
    let stats: [String: Any]
    let key: String
    let latencies: [Duration]
    let callsByOperation: [String: Int]
    let errors: [String: Int]

    func report(limit: Int) throws {
        let requests = stats["requests"] as? [String: Any] ?? [:]
        let total = requests["total"] as? Int ?? 0
        let byStatus = (requests["by_status"] as? [String: Any] ?? [:]).mapValues { $0 as? Int ?? 0 }
        let keyStats = (stats["keys"] as? [String: Any])?[key] as? [String: Any] ?? [:]
        let accepted = keyStats["accepted"] as? Int ?? 0
        let rejected = keyStats["rejected"] as? Int ?? 0
        let sandboxMax = keyStats["max_per_second"] as? Int ?? 0
        let acceptedAt = (keyStats["accepted_at"] as? [Any] ?? []).compactMap { ($0 as? Double) ?? ($0 as? Int).map(Double.init) }
        let ownMax = maxInAnySecond(acceptedAt)
        let elapsedSeconds = seconds(elapsed)
        let sorted = latencies.map(seconds).sorted()

        print("")
        print("Kisi client pacing")
        print("  duration:               \(String(format: "%.1f", elapsedSeconds)) s")
        print("  client calls:           \(latencies.count) (\(errors.values.reduce(0, +)) failed)")
        for (operation, count) in callsByOperation.sorted(by: { $0.key < $1.key }) {
            print("    \(operation): \(count)")
        }
        print("  requests (sandbox):     \(total)  by status: \(byStatus.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        print("  accepted:               \(accepted)")
        print("  rejected (429, limiter): \(rejected)")
        print("  max in any 1 s window:  \(ownMax) (from accepted_at; sandbox's own max_per_second: \(sandboxMax))")
        print("  throughput:             \(String(format: "%.2f", Double(accepted) / elapsedSeconds)) accepted req/s")
        print("  call latency p50:       \(String(format: "%.1f", percentile(sorted, 0.50) * 1000)) ms")
        print("  call latency p95:       \(String(format: "%.1f", percentile(sorted, 0.95) * 1000)) ms")
        print("  call latency max:       \(String(format: "%.1f", (sorted.last ?? 0) * 1000)) ms")
        for (error, count) in errors.sorted(by: { $0.key < $1.key }) {
            print("  error ×\(count): \(error)")
        }
        let passed = rejected == 0 && ownMax <= limit && sandboxMax <= limit && errors.isEmpty
        print(passed ? "PASS: no request rejected, never more than \(limit) in one second" : "FAIL")
        if !passed { throw ExitCode(1) }
    }
}

func seconds(_ duration: Duration) -> Double {
    let (s, atto) = duration.components
    return Double(s) + Double(atto) / 1e18
}

/// Nearest-rank percentile of sorted values.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = Int((p * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

/// The largest number of timestamps inside any half-open one-second window `[t, t + 1)`.
func maxInAnySecond(_ timestamps: [Double]) -> Int {
    let sorted = timestamps.sorted()
    var best = 0
    var start = 0
    for end in sorted.indices {
        while sorted[end] - sorted[start] >= 1.0 { start += 1 }
        best = max(best, end - start + 1)
    }
    return best
}
