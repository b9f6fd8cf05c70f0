import AccessSync
import Foundation
import GymApp
import GymCore
import GymStore
import Hummingbird
import HummingbirdTesting
import KisiAPI
import KisiSandbox
import Logging
import Testing

/// The whole chain, live: BooGYMan's HTTP API → database → sync service → Kisi client → a Kisi
/// sandbox at Kisi's real rate limit (5 requests/second) → the sandbox's door oracle.
///
/// The gym is deliberately tiny (two clubs, one studio with a door, two plans, three members) so the
/// start-up full reconcile and every change take a few seconds at 5 requests/second. The only
/// timing assertion is the generous 20-second deadline per step; the measured seconds go to the log.
@Suite("Live sync against the Kisi sandbox", .serialized)
struct LiveSyncTests {
    static let deadline: Duration = .seconds(60)
    static let zone = TimeZone(identifier: "Europe/Bucharest")!

    @Test("A sale opens Kisi's doors and a freeze closes them, as the access endpoint says; status and dry run agree")
    func saleAndFreezeReachKisi() async throws {
        let quiet = Self.logger("boogyman.live-sync-tests", level: .warning)
        let timings = Self.logger("boogyman.live-sync-tests.timings", level: .info)

        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(
            seed: .demoSeed(), requestsPerSecond: 5, logger: Self.logger("boogyman.live-sync-tests.kisi-sandbox", level: .warning)))
        try await sandbox.withRunningServer { kisiPort in
            try await TestClient.withClient(host: "127.0.0.1", port: kisiPort) { kisiClient in
                let kisi = SandboxProbe(client: kisiClient)
                let masterKey = MasterKey.generate()
                let configuration = AppConfiguration(
                    host: "127.0.0.1", port: 0, database: .sqliteInMemory, logLevel: .warning, masterKey: masterKey)
                let database = try await GymServer.openDatabase(configuration, logger: quiet)
                let today = LocalDate(containing: Date(), in: Self.zone)
                let gym = try await SmallGym.seed(database.repository, today: today)
                let (_, secret) = try await database.repository.createAPIToken(name: "live-sync-tests")
                try await database.repository.saveKisiSettings(
                    KisiSettings(apiKey: SandboxSeed.demoAPIKey, organizationID: 1, baseURL: "http://127.0.0.1:\(kisiPort)"),
                    masterKey: masterKey)
                let sync = try #require(try await KisiConnection.engine(repository: database.repository, masterKey: masterKey, logger: quiet))

                let app = GymServer.application(configuration, database: database, sync: sync, logger: quiet)
                try await app.test(.live) { client in
                    let api = GymAPI(client: client, token: secret)

                    // 1. The start-up full reconcile brings the seeded gym into Kisi.
                    let initial = try await waitUntil("the start-up full reconcile finishes and the queue is empty") {
                        let status = try await api.get("/api/v1/sync/status").json
                        return status["last_full_reconcile_at"] is String && status["queue_depth"] as? Int == 0
                    }
                    timings.info("start-up full reconcile (2 plans, 3 members) done after \(seconds(initial)) s")

                    // 2. Sell a subscription through the API; Kisi's oracle must open the doors.
                    let email = "ioana.live@example.com"
                    let member = try await api.post(
                        "/api/v1/members", #"{"first_name":"Ioana","last_name":"Live","email":"\#(email)"}"#)
                    #expect(member.status == .created)
                    let memberID = try #require(member.json["id"] as? String)
                    let sale = try await api.post("/api/v1/subscriptions", """
                        {"member_id":"\(memberID)","plan_id":"\(gym.oldTownYoga.uuidString)",\
                        "start_date":"\(today.adding(days: -10))","paid_through":"\(today.adding(days: 30))"}
                        """)
                    #expect(sale.status == .created)
                    let subscriptionID = try #require(sale.json["id"] as? String)

                    let access = try await api.get("/api/v1/members/\(memberID)/access").json
                    #expect(access["may_enter"] as? Bool == true)
                    let doors = Self.doors(access)
                    #expect(doors == [5001: true, 5002: true, 5003: false, 5004: true, 5011: false])

                    let kisiUserBox = LockedValue<Int?>(nil)
                    let granted = try await waitUntil("Kisi's oracle opens lock 5001 for the new member") {
                        guard let userID = try await kisi.userID(email: email) else { return false }
                        kisiUserBox.set(userID)
                        return try await kisi.allowed(userID: userID, lockID: 5001)
                    }
                    let kisiUser = try #require(kisiUserBox.get())
                    timings.info("sale → door open in Kisi: \(seconds(granted)) s (Kisi user \(kisiUser))")
                    for (lock, allowed) in doors.sorted(by: { $0.key < $1.key }) {
                        let oracle = try await kisi.allowed(userID: kisiUser, lockID: lock)
                        #expect(oracle == allowed, "lock \(lock): BooGYMan says \(allowed), Kisi's oracle says \(oracle)")
                    }

                    // 3. Freeze from today: the doors must close in Kisi too.
                    let freeze = try await api.post("/api/v1/subscriptions/\(subscriptionID)/freeze", """
                        {"start_date":"\(today)","end_date":"\(today.adding(days: 6))","reason":"Holiday"}
                        """)
                    #expect(freeze.status == .ok)
                    let frozen = try await api.get("/api/v1/members/\(memberID)/access").json
                    #expect(frozen["may_enter"] as? Bool == false)
                    #expect(frozen["reason"] as? String == "frozen")
                    let frozenDoors = Self.doors(frozen)
                    #expect(frozenDoors.values.allSatisfy { !$0 } && frozenDoors.count == doors.count)

                    let revoked = try await waitUntil("Kisi's oracle closes lock 5001 for the frozen member") {
                        try await !kisi.allowed(userID: kisiUser, lockID: 5001)
                    }
                    timings.info("freeze → door closed in Kisi: \(seconds(revoked)) s")
                    for (lock, allowed) in frozenDoors.sorted(by: { $0.key < $1.key }) {
                        let oracle = try await kisi.allowed(userID: kisiUser, lockID: lock)
                        #expect(oracle == allowed, "lock \(lock) while frozen: BooGYMan says \(allowed), Kisi's oracle says \(oracle)")
                    }

                    // 4. The sync reports itself connected and idle.
                    let drained = try await waitUntil("the sync's queue drains") {
                        try await api.get("/api/v1/sync/status").json["queue_depth"] as? Int == 0
                    }
                    timings.info("queue empty \(seconds(drained)) s after the door closed")
                    let status = try await api.get("/api/v1/sync/status")
                    #expect(status.status == .ok)
                    #expect(status.json["connected"] as? Bool == true)
                    // Alone on its database, this server leads the sync under the lease's first token.
                    #expect(status.json["replica_id"] as? String == configuration.replicaID)
                    let leader = try #require(status.json["leader"] as? [String: Any])
                    #expect(leader["replica_id"] as? String == configuration.replicaID)
                    #expect(leader["fencing_token"] as? Int == 1)
                    #expect(leader["live"] as? Bool == true)
                    #expect(status.json["paused_reason"] == nil)
                    #expect((status.json["held_revocations"] as? [Any])?.isEmpty == true)
                    let writes = try #require(status.json["writes_last_hour"] as? [String: Int])
                    #expect(Set(writes.keys) == ["pending", "succeeded", "failed", "unknown", "skipped"])
                    #expect((writes["succeeded"] ?? 0) > 0)
                    #expect(writes["failed"] == 0)
                    #expect((status.json["errors_by_member"] as? [Any])?.isEmpty == true)
                    #expect(status.json["deferred_actions"] as? Int == 0)
                    // The sale and the freeze were carried by change-driven runs: at least two samples,
                    // each within the test's own wait for the door.
                    let propagation = try #require(status.json["propagation"] as? [String: Any])
                    #expect((propagation["samples"] as? Int ?? 0) >= 2)
                    let p95 = try #require(propagation["p95_ms"] as? Int)
                    #expect(p95 >= 0 && p95 <= Int(LiveSyncTests.deadline.components.seconds) * 1000)

                    // Prometheus: the HTTP server's, the Kisi client's and the sync's own metrics.
                    let metrics = try await client.execute(uri: "/metrics", method: .get)
                    #expect(metrics.status == .ok)
                    let exposition = String(buffer: metrics.body)
                    for family in ["http_requests_total", "kisi_requests_total", "boogyman_sync_propagation_duration", "boogyman_sync_queue_depth"] {
                        #expect(exposition.contains(family), "no \(family) in /metrics")
                    }

                    // 5. Nothing left to do: the dry run plans no action.
                    let clock = ContinuousClock()
                    let started = clock.now
                    let plan = try await api.post("/api/v1/sync/plan", "{}")
                    timings.info("dry run (reads all of Kisi at 5 requests/second) took \(seconds(clock.now - started)) s")
                    #expect(plan.status == .ok)
                    let actions = try #require(plan.json["actions"] as? [[String: Any]])
                    #expect(actions.isEmpty, "in step, yet the dry run plans: \(actions)")

                    let approval = try await api.post("/api/v1/sync/held-revocations/approve", "")
                    #expect(approval.status == .ok)
                    #expect(approval.json["approved"] as? Int == 0)
                }
            }
        }
    }

    @Test("Kisi connected while BooGYMan serves is synced without a restart; disconnecting with revocation removes every managed grant and keeps the users")
    func connectAndDisconnectWhileServing() async throws {
        let quiet = Self.logger("boogyman.live-sync-tests", level: .warning)
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(
            seed: .demoSeed(), requestsPerSecond: 5, logger: Self.logger("boogyman.live-sync-tests.kisi-sandbox", level: .warning)))
        try await sandbox.withRunningServer { kisiPort in
            try await TestClient.withClient(host: "127.0.0.1", port: kisiPort) { kisiClient in
                let kisi = SandboxProbe(client: kisiClient)
                let masterKey = MasterKey.generate()
                let configuration = AppConfiguration(
                    host: "127.0.0.1", port: 0, database: .sqliteInMemory, logLevel: .warning, masterKey: masterKey)
                let database = try await GymServer.openDatabase(configuration, logger: quiet)
                let repository = database.repository
                _ = try await SmallGym.seed(repository, today: LocalDate(containing: Date(), in: Self.zone))
                let (_, secret) = try await repository.createAPIToken(name: "live-sync-tests")

                let app = GymServer.application(configuration, database: database, followsStoredKisiConnection: true, logger: quiet)
                try await app.test(.live) { client in
                    let api = GymAPI(client: client, token: secret)
                    #expect(try await api.get("/api/v1/sync/status").json["connected"] as? Bool == false)

                    // What the wizard stores; nothing else tells the running server.
                    try await repository.saveKisiSettings(
                        KisiSettings(apiKey: SandboxSeed.demoAPIKey, organizationID: 1, baseURL: "http://127.0.0.1:\(kisiPort)"),
                        masterKey: masterKey)
                    let anaUser = LockedValue<Int?>(nil)
                    _ = try await waitUntil("the newly connected sync opens lock 5001 for Ana") {
                        guard let userID = try await kisi.userID(email: "ana.seed@example.com") else { return false }
                        anaUser.set(userID)
                        return try await kisi.allowed(userID: userID, lockID: 5001)
                    }
                    let ana = try #require(anaUser.get())
                    #expect(try await api.get("/api/v1/sync/status").json["connected"] as? Bool == true)

                    try await repository.syncState.set(.disconnectRequested, "the owner, in a test")
                    // The leader forgets the connection, then records the outcome and clears the request: wait
                    // for the end of that, not for its middle.
                    _ = try await waitUntil("the leader revokes everything, forgets the connection and says so") {
                        let forgotten = try await repository.kisiSettings(masterKey: masterKey) == nil
                        let answered = try await repository.syncState.get(.disconnectRequested) == nil
                        return forgotten && answered
                    }
                    let outcome = try await repository.syncState.get(.disconnectOutcome)
                    #expect(outcome?.contains("revoked") == true, "outcome: \(outcome ?? "none")")
                    #expect(try await repository.syncState.get(.disconnectRequested) == nil)
                    #expect(try await !kisi.allowed(userID: ana, lockID: 5001))
                    #expect(try await kisi.userID(email: "ana.seed@example.com") == ana, "Kisi users are never deleted")
                    _ = try await waitUntil("the status reports Kisi disconnected") {
                        try await api.get("/api/v1/sync/status").json["connected"] as? Bool == false
                    }
                }
            }
        }
    }

    static func logger(_ label: String, level: Logger.Level) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }

    static func doors(_ access: [String: Any]) -> [Int: Bool] {
        var result: [Int: Bool] = [:]
        for door in access["doors"] as? [[String: Any]] ?? [] {
            if let lock = door["lock_id"] as? Int, let allowed = door["allowed"] as? Bool { result[lock] = allowed }
        }
        return result
    }
}

/// Polls `condition` every 100 ms until it holds; fails the test after `LiveSyncTests.deadline`.
/// Returns how long it took.
private func waitUntil(
    _ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ condition: () async throws -> Bool
) async throws -> Duration {
    let clock = ContinuousClock()
    let start = clock.now
    while true {
        if try await condition() { return clock.now - start }
        if clock.now - start > LiveSyncTests.deadline {
            Issue.record("timed out after \(LiveSyncTests.deadline) waiting until \(what)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(100))
    }
}

private func seconds(_ duration: Duration) -> String {
    let (whole, attoseconds) = duration.components
    return String(format: "%.2f", Double(whole) + Double(attoseconds) / 1e18)
}

/// A small mutable box for values found inside `@Sendable` polling closures.
private final class LockedValue<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}

/// The gym, on the sandbox demo organization's places and locks: Old Town (place 1001, entrances
/// 5001/5002, Spinning 5003, Yoga 5004) and Floreasca (place 1002, entrance 5011).
private struct SmallGym {
    var oldTownYoga: UUID
    var floreascaBasic: UUID

    static func seed(_ repository: GymRepository, today: LocalDate) async throws -> SmallGym {
        let zone = "Europe/Bucharest"
        let oldTown = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: zone, kisiPlaceID: 1001, kisiLockIDs: [5001, 5002]))
        let floreasca = try await repository.createClub(ClubDraft(name: "Floreasca", timeZoneIdentifier: zone, kisiPlaceID: 1002, kisiLockIDs: [5011]))
        _ = try await repository.createStudio(StudioDraft(clubID: oldTown.id, name: "Spinning", kisiLockIDs: [5003]))
        let yoga = try await repository.createStudio(StudioDraft(clubID: oldTown.id, name: "Yoga", kisiLockIDs: [5004]))
        let oldTownYoga = try await repository.createPlan(PlanDraft(name: "Old Town + yoga", clubIDs: [oldTown.id], studioIDs: [yoga.id], pastDueGraceDays: 3))
        let floreascaBasic = try await repository.createPlan(PlanDraft(name: "Floreasca basic", clubIDs: [floreasca.id]))

        let ana = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Seed", email: "ana.seed@example.com"))
        let mihai = try await repository.createMember(MemberDraft(firstName: "Mihai", lastName: "Seed", email: "mihai.seed@example.com"))
        _ = try await repository.createMember(MemberDraft(firstName: "Elena", lastName: "Seed", email: "elena.seed@example.com"))
        _ = try await repository.createSubscription(SubscriptionDraft(
            memberID: ana.id, planID: oldTownYoga.id, startDate: today.adding(days: -30), paidThrough: today.adding(days: 30)))
        _ = try await repository.createSubscription(SubscriptionDraft(
            memberID: mihai.id, planID: floreascaBasic.id, startDate: today.adding(days: -5), paidThrough: today.adding(days: 25)))
        return SmallGym(oldTownYoga: oldTownYoga.id, floreascaBasic: floreascaBasic.id)
    }
}

/// BooGYMan's API through the HummingbirdTesting client, with the bearer token.
private struct GymAPI: Sendable {
    let client: any TestClientProtocol
    let token: String

    struct Reply: Sendable {
        let status: HTTPResponse.Status
        let body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    func request(_ method: HTTPRequest.Method, _ path: String, json: String? = nil) async throws -> Reply {
        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
        if json != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { response in
            Reply(status: response.status, body: Data(buffer: response.body))
        }
    }

    func get(_ path: String) async throws -> Reply { try await request(.get, path) }
    func post(_ path: String, _ json: String) async throws -> Reply { try await request(.post, path, json: json.isEmpty ? nil : json) }
}

/// The sandbox's control routes: its state (to find the Kisi user) and its door oracle.
private struct SandboxProbe: Sendable {
    let client: TestClient
    static let adminKey: HTTPFields = {
        var headers = HTTPFields()
        headers[.init("X-Sandbox-Admin-Key")!] = "sandbox-admin"
        return headers
    }()

    func json(_ uri: String) async throws -> [String: Any] {
        let response = try await client.get(uri, headers: Self.adminKey)
        guard response.head.status == .ok, let body = response.body else {
            throw ProbeError("GET \(uri) answered \(response.head.status)")
        }
        return (try JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }

    /// The Kisi user with this e-mail in the demo organization, once the sync created it.
    func userID(email: String) async throws -> Int? {
        let state = try await json("/_sandbox/state?organization_id=1")
        let organization = (state["organizations"] as? [[String: Any]])?.first ?? [:]
        let users = organization["users"] as? [[String: Any]] ?? []
        return users.first { ($0["email"] as? String)?.lowercased() == email.lowercased() }?["id"] as? Int
    }

    func allowed(userID: Int, lockID: Int) async throws -> Bool {
        let decision = try await json("/_sandbox/oracle?user_id=\(userID)&lock_id=\(lockID)")
        guard let allowed = decision["allowed"] as? Bool else { throw ProbeError("oracle answered \(decision)") }
        return allowed
    }

    struct ProbeError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
