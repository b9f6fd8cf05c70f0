import AccessSync
import ArgumentParser
import AsyncHTTPClient
import Foundation
import GymCore
import GymStore
import KisiAPI
import KisiSandbox
import Logging
import NIOCore
import NIOHTTP1

// Benchmarks of the access sync (AccessSync) against an in-process KisiSandbox over real sockets and a
// GymStore on in-memory SQLite. The gym's doors are doors of the sandbox's demo seed: Old Town (place
// 1001: locks 5001, 5002, studio Spinning 5003) and Floreasca (place 1002: 5011).

// MARK: - Shared setup

let benchLogger: Logger = {
    var logger = Logger(label: "boogyman-bench")
    logger.logLevel = .warning
    return logger
}()

/// The gym's layout in the store: two clubs, a studio and two plans (as in the engine tests).
struct BenchGym: Sendable {
    let today: LocalDate
    let unlimited: Plan
    let oldTown: Plan
    static let zone = TimeZone(identifier: "Europe/Bucharest")!

    static func seedLayout(_ repository: GymRepository) async throws -> BenchGym {
        let today = LocalDate(containing: Date(), in: zone)
        let oldTownClub = try await repository.createClub(ClubDraft(
            name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1001, kisiLockIDs: [5001, 5002]))
        let floreasca = try await repository.createClub(ClubDraft(
            name: "Floreasca", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1002, kisiLockIDs: [5011]))
        let spinning = try await repository.createStudio(StudioDraft(clubID: oldTownClub.id, name: "Spinning", kisiLockIDs: [5003]))
        let unlimited = try await repository.createPlan(PlanDraft(
            name: "Unlimited", clubIDs: [oldTownClub.id, floreasca.id], studioIDs: [spinning.id], pastDueGraceDays: 3))
        let oldTown = try await repository.createPlan(PlanDraft(name: "Old Town basic", clubIDs: [oldTownClub.id]))
        return BenchGym(today: today, unlimited: unlimited, oldTown: oldTown)
    }

    /// Imports `count` members in one `importMembers` call.
    func importMembers(_ repository: GymRepository, count: Int, tag: String) async throws -> [Member] {
        let drafts = (0..<count).map { MemberDraft(firstName: "Member\($0)", lastName: tag, email: "member\($0).\(tag)@bench.example") }
        let result = try await repository.importMembers(drafts, skipInvalid: false)
        guard result.problems.isEmpty, result.imported.count == count else {
            throw ValidationError("member import failed: \(result.problems.count) problems")
        }
        return result.imported
    }

    /// An active subscription (started 30 days ago, paid 30 days ahead), alternating the two plans.
    @discardableResult
    func sell(_ repository: GymRepository, to member: Member, index: Int) async throws -> Subscription {
        try await repository.createSubscription(SubscriptionDraft(
            memberID: member.id, planID: index % 2 == 0 ? unlimited.id : oldTown.id, startDate: today.adding(days: -30),
            paidThrough: today.adding(days: 30)))
    }
}

/// A fresh in-memory store with the bench gym's layout.
func withBenchStore<T: Sendable>(_ body: (GymRepository, BenchGym) async throws -> T) async throws -> T {
    let database = try GymDatabase(location: .sqliteInMemory, logger: benchLogger)
    try await database.migrate()
    do {
        let gym = try await BenchGym.seedLayout(database.repository)
        let value = try await body(database.repository, gym)
        await database.shutdown()
        return value
    } catch {
        await database.shutdown()
        throw error
    }
}

func benchClient(port: Int, requestsPerSecond: Int) -> KisiClient {
    KisiClient(configuration: .init(
        apiKey: KisiAPIKey(SandboxSeed.demoAPIKey), baseURL: URL(string: "http://127.0.0.1:\(port)")!,
        integrationIdentifier: "boogyman-bench", requestsPerSecond: requestsPerSecond, logger: benchLogger))
}

func sandboxRequestTotal(port: Int) async throws -> Int {
    let stats = try await KisiPacing.stats(port: port)
    return (stats["requests"] as? [String: Any])?["total"] as? Int ?? 0
}

func oracleAllows(port: Int, userID: Int, lockID: Int) async throws -> Bool {
    let json = try await KisiPacing.control(port: port, method: .GET, path: "oracle?user_id=\(userID)&lock_id=\(lockID)")
    return json["allowed"] as? Bool ?? false
}

func fmt(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }

func stamp() -> String { Date().formatted(.iso8601) }

// MARK: - 1. sync-propagation

/// A sale reaching the door: commit of a new subscription → the sandbox's oracle says the member's Kisi
/// user may open the club entrance, with the real `SyncService` running against Kisi's real limit (5/s).
struct SyncPropagation: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync-propagation",
        abstract: "Subscription sold → door open in Kisi (sandbox oracle), SyncService running, sandbox at 5 req/s."
    )

    @Option(help: "Members in the gym; all but --samples have an active subscription.")
    var members: Int = 200
    @Option(help: "Subscriptions sold (one per member without access), one at a time.")
    var samples: Int = 40
    @Option(help: "Sandbox and client limit, requests per second.")
    var limit: Int = 5
    @Option(help: "Idle pause after each sample, in milliseconds.")
    var pauseMs: Int = 1500

    mutating func validate() throws {
        guard samples > 0, members > samples else { throw ValidationError("need --members > --samples > 0") }
    }

    func run() async throws {
        let members = self.members, samples = self.samples, limit = self.limit, pause = Duration.milliseconds(pauseMs)
        print("sync-propagation: \(members) members (\(members - samples) with access), \(samples) samples, sandbox + client limit \(limit)/s, started \(stamp())")
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(requestsPerSecond: limit, logger: benchLogger))
        try await withBenchStore { repository, gym in
            let all = try await gym.importMembers(repository, count: members, tag: "prop")
            for (index, member) in all.prefix(members - samples).enumerated() { try await gym.sell(repository, to: member, index: index) }
            try await sandbox.withRunningServer { port in
                let client = benchClient(port: port, requestsPerSecond: limit)
                let ledger = GymStoreSyncLedger(repository: repository)
                let engine = SyncEngine(client: client, repository: repository, ledger: ledger, configuration: .init(logger: benchLogger))
                let clock = ContinuousClock()
                var start = clock.now
                let initial = try await engine.reconcileAll(trigger: "bench initial sync")
                print("  initial sync: \(initial) (wall \(fmt(seconds(clock.now - start), 1)) s)")

                let service = SyncService(engine: engine, repository: repository, ledger: ledger, logger: benchLogger)
                let before = try await ledger.syncState.get(.lastFullReconcileAt)
                start = clock.now
                let running = Task { try await service.run() }
                // Wait for the service's own start-up full reconcile to finish, then for the limiter to be idle.
                while try await ledger.syncState.get(.lastFullReconcileAt) == before {
                    try await Task.sleep(for: .milliseconds(20))
                }
                print("  SyncService start-up full reconcile done after \(fmt(seconds(clock.now - start), 1)) s")
                try await Task.sleep(for: .seconds(2))

                var latencies: [Double] = []
                for (offset, member) in all.suffix(samples).enumerated() {
                    let t0 = clock.now
                    try await gym.sell(repository, to: member, index: offset)
                    var userID: Int?
                    while true {
                        if userID == nil { userID = try await repository.kisiLinks().users[member.id] }
                        if let userID, try await oracleAllows(port: port, userID: userID, lockID: 5001) { break }
                        if clock.now - t0 > .seconds(60) { throw ValidationError("sample \(offset): no access after 60 s") }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    let latency = seconds(clock.now - t0)
                    latencies.append(latency)
                    print("  sample \(offset + 1): \(fmt(latency * 1000, 0)) ms")
                    try await Task.sleep(for: pause)
                }
                running.cancel()
                _ = try? await running.value
                let sorted = latencies.sorted()
                let p95 = percentile(sorted, 0.95)
                print("")
                print("Sync propagation (sale → door open), \(samples) samples, sandbox \(limit) req/s")
                print("  p50: \(fmt(percentile(sorted, 0.50) * 1000, 0)) ms")
                print("  p95: \(fmt(p95 * 1000, 0)) ms")
                print("  max: \(fmt((sorted.last ?? 0) * 1000, 0)) ms")
                print("  min: \(fmt((sorted.first ?? 0) * 1000, 0)) ms")
                print(p95 <= 2.0 ? "PASS: p95 ≤ 2 s" : "MISS: p95 > 2 s")
            }
        }
    }
}

// MARK: - 2. sync-calls

/// Kisi calls of an initial sync, per new member, in both user-creation modes, against a naive flow.
struct SyncCalls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync-calls",
        abstract: "Kisi writes per new member of an initial sync (managed users, invitations) vs. a naive flow; sandbox limit lifted."
    )

    @Option(help: "Members, all with an active subscription.")
    var members: Int = 2000

    func run() async throws {
        print("sync-calls: \(members) members, sandbox limit lifted (requestsPerSecond 0), client limit 10000/s, started \(stamp())")
        for mode in [UserCreationMode.managedUsers, .invitations] {
            try await engineRun(mode: mode)
        }
        try await naiveRun()
    }

    func engineRun(mode: UserCreationMode) async throws {
        let members = self.members
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(requestsPerSecond: 0, logger: benchLogger))
        try await withBenchStore { repository, gym in
            let seedStart = ContinuousClock.now
            let all = try await gym.importMembers(repository, count: members, tag: "calls")
            for (index, member) in all.enumerated() { try await gym.sell(repository, to: member, index: index) }
            print("  [\(mode.rawValue)] seeded \(members) members + subscriptions in \(fmt(seconds(ContinuousClock.now - seedStart), 1)) s")
            try await sandbox.withRunningServer { port in
                let clock = ContinuousClock()
                let client = benchClient(port: port, requestsPerSecond: 10_000)
                let ledger = GymStoreSyncLedger(repository: repository)
                let engine = SyncEngine(
                    client: client, repository: repository, ledger: ledger,
                    configuration: .init(options: SyncOptions(userCreationMode: mode), logger: benchLogger))
                let requestsBefore = try await sandboxRequestTotal(port: port)
                let start = clock.now
                let report = try await engine.reconcileAll(trigger: "bench initial sync")
                let wall = seconds(clock.now - start)
                let requests = try await sandboxRequestTotal(port: port) - requestsBefore
                let attributed = report.kisiWritesByMember.values.reduce(0, +)
                let perMemberCounts = Dictionary(grouping: report.kisiWritesByMember.values, by: { $0 }).mapValues(\.count)
                let links = try await ledger.links()
                print("")
                print("Initial sync, \(members) new members, mode \(mode.rawValue)")
                print("  report: \(report)")
                print("  wall: \(fmt(wall, 1)) s")
                print("  Kisi writes total: \(report.kisiWrites)  (attributed to members: \(attributed), other: \(report.kisiWrites - attributed))")
                print("  writes per new member (attributed / members): \(fmt(Double(attributed) / Double(members), 3))")
                print("  writes per new member (all writes / members): \(fmt(Double(report.kisiWrites) / Double(members), 3))")
                print("  distribution (writes → members): \(perMemberCounts.sorted { $0.key < $1.key }.map { "\($0.key)→\($0.value)" }.joined(separator: " "))")
                print("  Kisi reads total: \(report.kisiReads)")
                print("  requests seen by the sandbox: \(requests)")
                print("  failures: \(report.failures.count), members linked: \(links.users.count)")
                print("  executed: \(report.executed.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
            }
        }
    }

    /// For each member: GET /users?email=, POST /users, POST /role_assignments, on a fresh sandbox.
    func naiveRun() async throws {
        let members = self.members
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(requestsPerSecond: 0, logger: benchLogger))
        try await sandbox.withRunningServer { port in
            let client = benchClient(port: port, requestsPerSecond: 10_000)
            let group = try await client.createGroup(.init(name: "Naive members"))
            _ = try await client.createGroupLock(groupID: group.id, lockID: 5001)
            let clock = ContinuousClock()
            let requestsBefore = try await sandboxRequestTotal(port: port)
            var reads = 0, writes = 0
            let start = clock.now
            for index in 0..<members {
                let email = "member\(index).naive@bench.example"
                reads += 1
                var user = try await client.user(email: email)
                if user == nil {
                    writes += 1
                    user = try await client.createUser(KisiUserCreate(
                        email: email, name: "Member\(index) Naive", sendEmails: false, confirm: true,
                        metadata: [memberIDMetadataKey: .string(UUID().uuidString)]))
                }
                writes += 1
                _ = try await client.createRoleAssignment(.groupAccess(userID: user!.id, groupID: group.id))
            }
            let wall = seconds(clock.now - start)
            let requests = try await sandboxRequestTotal(port: port) - requestsBefore
            print("")
            print("Naive flow, \(members) new members (GET /users?email=, POST /users, POST /role_assignments each)")
            print("  wall: \(fmt(wall, 1)) s")
            print("  client calls: reads \(reads), writes \(writes)")
            print("  requests seen by the sandbox: \(requests) → \(fmt(Double(requests) / Double(members), 3)) per member")
            print("  writes per member: \(fmt(Double(writes) / Double(members), 3))")
            print("  (setup outside the count: 1 group + 1 group lock)")
        }
    }
}

// MARK: - 3. sync-noop

struct SyncNoop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync-noop",
        abstract: "Kisi calls of a full reconcile when nothing changed, after an initial sync; sandbox limit lifted."
    )

    @Option(help: "Members, all with an active subscription.")
    var members: Int = 10_000

    func run() async throws {
        let members = self.members
        print("sync-noop: \(members) members, sandbox limit lifted (requestsPerSecond 0), client limit 10000/s, started \(stamp())")
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(requestsPerSecond: 0, logger: benchLogger))
        try await withBenchStore { repository, gym in
            let seedStart = ContinuousClock.now
            let all = try await gym.importMembers(repository, count: members, tag: "noop")
            for (index, member) in all.enumerated() { try await gym.sell(repository, to: member, index: index) }
            print("  seeded \(members) members + subscriptions in \(fmt(seconds(ContinuousClock.now - seedStart), 1)) s")
            try await sandbox.withRunningServer { port in
                let clock = ContinuousClock()
                var start = clock.now
                let client = benchClient(port: port, requestsPerSecond: 10_000)
                let ledger = GymStoreSyncLedger(repository: repository)
                let engine = SyncEngine(client: client, repository: repository, ledger: ledger, configuration: .init(logger: benchLogger))
                start = clock.now
                let initial = try await engine.reconcileAll(trigger: "bench initial sync")
                print("  initial sync: \(initial) (wall \(fmt(seconds(clock.now - start), 1)) s)")
                let requestsBefore = try await sandboxRequestTotal(port: port)
                start = clock.now
                let report = try await engine.reconcileAll(trigger: "bench no-op reconcile")
                let wall = seconds(clock.now - start)
                let requests = try await sandboxRequestTotal(port: port) - requestsBefore
                print("")
                print("No-op full reconcile, \(members) members")
                print("  report: \(report)")
                print("  planned actions: \(report.planned)")
                print("  Kisi writes: \(report.kisiWrites)")
                print("  Kisi reads: \(report.kisiReads)")
                print("  requests seen by the sandbox: \(requests)")
                print("  wall: \(fmt(wall, 2)) s")
                print(report.kisiWrites == 0 ? "PASS: 0 writes" : "MISS: \(report.kisiWrites) writes")
            }
        }
    }
}

// MARK: - 4. sync-planning

struct SyncPlanning: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync-planning",
        abstract: "CPU time and peak memory of DesiredState.build + plan(desired:observed:) with a matching observed state, in memory."
    )

    @Option(help: "Comma-separated member counts.")
    var members: String = "10000,100000"

    func run() async throws {
        let counts = members.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        print("sync-planning: \(counts), started \(stamp()); baseline max RSS \(maxRSSKiB() / 1024) MiB")
        for count in counts { try measure(count) }
    }

    func measure(_ count: Int) throws {
        // Layout: as the bench gym (two clubs, a studio, two plans).
        let zone = BenchGym.zone
        let today = LocalDate(containing: Date(), in: zone)
        let oldTownClub = Club(name: "Old Town", timeZone: zone, kisiPlaceID: 1001, kisiLockIDs: [5001, 5002])
        let floreasca = Club(name: "Floreasca", timeZone: zone, kisiPlaceID: 1002, kisiLockIDs: [5011])
        let spinning = Studio(clubID: oldTownClub.id, name: "Spinning", kisiLockIDs: [5003])
        let unlimited = Plan(name: "Unlimited", clubIDs: [oldTownClub.id, floreasca.id], studioIDs: [spinning.id], pastDueGraceDays: 3)
        let oldTown = Plan(name: "Old Town basic", clubIDs: [oldTownClub.id])
        let layout = GymLayout(clubs: [oldTownClub, floreasca], studios: [spinning], plans: [unlimited, oldTown])
        // Members: 90 % active, 10 % with an ended subscription (no access, no Kisi user).
        var members: [Member] = []
        var subscriptions: [Subscription] = []
        members.reserveCapacity(count)
        subscriptions.reserveCapacity(count)
        for index in 0..<count {
            let member = Member(firstName: "Member\(index)", lastName: "Plan", email: EmailAddress("member\(index).plan@bench.example")!)
            members.append(member)
            let plan = index % 2 == 0 ? unlimited : oldTown
            if index % 10 == 9 {
                subscriptions.append(Subscription(
                    memberID: member.id, planID: plan.id, startDate: today.adding(days: -200), endDate: today.adding(days: -20),
                    paidThrough: today.adding(days: -20)))
            } else {
                subscriptions.append(Subscription(
                    memberID: member.id, planID: plan.id, startDate: today.adding(days: -30), paidThrough: today.adding(days: 30)))
            }
        }
        let instant = Date()
        // The matching observed state, derived once (outside the measurement) from a desired state.
        let reference = DesiredState.build(layout: layout, members: members, subscriptions: subscriptions, at: instant)
        var observed = ObservedState()
        var groupIDs: [ManagedGroupKey: Int] = [:]
        for (offset, group) in reference.groups.enumerated() {
            let id = 10_000 + offset
            groupIDs[group.key] = id
            observed.groups.append(ObservedGroup(id: id, name: group.name, description: group.description, placeID: group.scope.placeID))
            observed.groupLinks[group.key] = id
            for lockID in group.lockIDs { observed.groupLocks.append(ObservedGroupLock(id: 20_000 + observed.groupLocks.count, groupID: id, lockID: lockID)) }
        }
        var userIDs: [UUID: Int] = [:]
        for user in reference.users where user.needsKisiUser {
            let id = 1_000_000 + userIDs.count
            userIDs[user.memberID] = id
            observed.users.append(ObservedUser(id: id, email: user.email.value, name: user.name, metadata: user.metadata))
            observed.userLinks[user.memberID] = id
        }
        for grant in reference.grants {
            observed.roleAssignments.append(ObservedRoleAssignment(
                id: 5_000_000 + observed.roleAssignments.count, userID: userIDs[grant.memberID]!, groupID: groupIDs[grant.groupKey]!,
                validFrom: grant.window.from, validUntil: grant.window.until))
        }
        let rssBefore = maxRSSKiB()
        let cpuBefore = cpuSeconds()
        let clock = ContinuousClock()
        let start = clock.now
        let desired = DesiredState.build(layout: layout, members: members, subscriptions: subscriptions, at: instant)
        let cpuBuild = cpuSeconds()
        let actions = plan(desired: desired, observed: observed)
        let wall = seconds(clock.now - start)
        let cpuAfter = cpuSeconds()
        let rssAfter = maxRSSKiB()
        print("")
        print("Planning \(count) members (\(desired.grants.count) grants, \(observed.users.count) Kisi users, \(observed.roleAssignments.count) assignments observed)")
        print("  CPU DesiredState.build: \(fmt((cpuBuild - cpuBefore) * 1000, 0)) ms")
        print("  CPU plan(desired:observed:): \(fmt((cpuAfter - cpuBuild) * 1000, 0)) ms")
        print("  CPU total: \(fmt((cpuAfter - cpuBefore) * 1000, 0)) ms (wall \(fmt(wall * 1000, 0)) ms)")
        print("  actions planned: \(actions.count)")
        print("  max RSS of the process: before \(rssBefore / 1024) MiB (inputs built), after \(rssAfter / 1024) MiB")
        if count >= 100_000 { print(cpuAfter - cpuBefore < 1.0 ? "PASS: under 1 s CPU" : "MISS: 1 s CPU or more") }
    }

    func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
}

/// Peak resident set size of the process in KiB (Linux `ru_maxrss`).
func maxRSSKiB() -> Int {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return Int(usage.ru_maxrss)
}

// MARK: - 5. sync-revocation-under-import

/// Cancellations reaching the door while the sync works through a bulk import, at Kisi's real limit.
struct SyncRevocationUnderImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync-revocation-under-import",
        abstract: "Cancel → door closed in Kisi (oracle), during a 1,000-member import, SyncService running, sandbox at 5 req/s."
    )

    @Option(help: "Members with access before the import (their subscriptions are cancelled one by one).")
    var existing: Int = 40
    @Option(help: "Members imported (each with a new subscription).")
    var imported: Int = 1000
    @Option(help: "Cancellations.")
    var samples: Int = 20
    @Option(help: "Seconds between cancellations.")
    var every: Int = 3
    @Option(help: "Sandbox and client limit, requests per second.")
    var limit: Int = 5
    @Option(help: "Give up on a cancellation after this many seconds.")
    var timeout: Int = 240

    func run() async throws {
        let timeoutSeconds = self.timeout
        let existing = self.existing, imported = self.imported, samples = min(self.samples, self.existing), limit = self.limit
        let every = Duration.seconds(self.every)
        print("sync-revocation-under-import: \(existing) members with access, import of \(imported), \(samples) cancellations every \(self.every) s, limit \(limit)/s, started \(stamp())")
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(requestsPerSecond: limit, logger: benchLogger))
        try await withBenchStore { repository, gym in
            let current = try await gym.importMembers(repository, count: existing, tag: "existing")
            var sold: [UUID: Subscription] = [:]
            for (index, member) in current.enumerated() { sold[member.id] = try await gym.sell(repository, to: member, index: index) }
            let subscriptionOf = sold
            try await sandbox.withRunningServer { port in
                let client = benchClient(port: port, requestsPerSecond: limit)
                let ledger = GymStoreSyncLedger(repository: repository)
                let engine = SyncEngine(client: client, repository: repository, ledger: ledger, configuration: .init(logger: benchLogger))
                let clock = ContinuousClock()
                var start = clock.now
                let initial = try await engine.reconcileAll(trigger: "bench initial sync")
                print("  initial sync: \(initial) (wall \(fmt(seconds(clock.now - start), 1)) s)")
                let links = try await ledger.links()
                let service = SyncService(engine: engine, repository: repository, ledger: ledger, logger: benchLogger)
                let before = try await ledger.syncState.get(.lastFullReconcileAt)
                let running = Task { try await service.run() }
                while try await ledger.syncState.get(.lastFullReconcileAt) == before {
                    try await Task.sleep(for: .milliseconds(20))
                }
                // The import: members in bulk, then their subscriptions.
                start = clock.now
                let newcomers = try await gym.importMembers(repository, count: imported, tag: "import")
                for (index, member) in newcomers.enumerated() { try await gym.sell(repository, to: member, index: index) }
                print("  import committed in \(fmt(seconds(clock.now - start), 1)) s: \(imported) members + subscriptions")
                let importStart = start

                var latencies: [Double] = []
                var timedOut = false
                sampling: for (offset, member) in current.prefix(samples).enumerated() {
                    try await Task.sleep(for: every)
                    guard let userID = links.users[member.id], let sub = subscriptionOf[member.id] else { continue }
                    let t0 = clock.now
                    _ = try await repository.cancel(sub.id, effectiveDate: gym.today, reason: "bench")
                    while try await oracleAllows(port: port, userID: userID, lockID: 5001) {
                        if clock.now - t0 > .seconds(timeoutSeconds) {
                            print("  cancel \(offset + 1): still allowed after \(timeoutSeconds) s; stopping")
                            timedOut = true
                            break sampling
                        }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    let latency = seconds(clock.now - t0)
                    latencies.append(latency)
                    let linked = try await ledger.links().users.count
                    print("  cancel \(offset + 1) at +\(fmt(seconds(t0 - importStart), 0)) s: \(fmt(latency, 2)) s (Kisi users linked so far: \(linked))")
                }
                let linkedAtEnd = try await ledger.links().users.count
                running.cancel()
                _ = try? await running.value
                let sorted = latencies.sorted()
                let p95 = percentile(sorted, 0.95)
                print("")
                print("Revocation under import, \(latencies.count) cancellations, sandbox \(limit) req/s")
                print("  p50: \(fmt(percentile(sorted, 0.50), 2)) s")
                print("  p95: \(fmt(p95, 2)) s")
                print("  max: \(fmt(sorted.last ?? 0, 2)) s")
                print("  import progress at the end: \(linkedAtEnd) Kisi users linked (of \(existing + imported) members)")
                if timedOut { print("  one cancellation did not reach Kisi within \(timeoutSeconds) s (not counted above)") }
                print(p95 <= 10 && !timedOut ? "PASS: p95 ≤ 10 s" : "MISS: p95 > 10 s or a cancellation timed out")
            }
        }
    }
}

// MARK: - sync-fault-recovery

/// Kisi misbehaving for a while: 5xx, dropped connections and lost responses injected into the sandbox
/// while subscriptions are sold, then Kisi recovers. Measures, with the real `SyncService` and Kisi's
/// real limit (5/s), how long after recovery every sold member's door is open — the failed work must be
/// retried by itself (owed work with backoff), not left for the 10-minute periodic reconcile — and
/// checks that no Kisi user or grant was duplicated on the way.
struct SyncFaultRecovery: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync-fault-recovery",
        abstract: "Subscriptions sold while Kisi fails (5xx, drops, lost responses) → time from Kisi's recovery to every door open."
    )

    @Option(help: "Members in the gym with access before the faults.")
    var members: Int = 200
    @Option(help: "Subscriptions sold during the faults, one every --sell-every-ms.")
    var sold: Int = 8
    @Option(help: "Milliseconds between two sales.")
    var sellEveryMs: Int = 1500
    @Option(help: "How long the faults last, in seconds.")
    var faultSeconds: Int = 60
    @Option(help: "Share of requests answered 503.")
    var errorRate: Double = 0.2
    @Option(help: "Share of connections dropped without an answer.")
    var dropRate: Double = 0.05
    @Option(help: "Share of writes applied whose response is lost.")
    var lostResponseRate: Double = 0.1
    @Option(help: "Sandbox and client limit, requests per second.")
    var limit: Int = 5

    func run() async throws {
        let faults = FaultSettings(errorRate: errorRate, dropRate: dropRate, lostResponseRate: lostResponseRate)
        print("sync-fault-recovery: \(members) members with access, \(sold) sold during \(faultSeconds) s of faults "
            + "(503 \(errorRate), drop \(dropRate), lost \(lostResponseRate)), sandbox + client limit \(limit)/s, started \(stamp())")
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(requestsPerSecond: limit, logger: benchLogger))
        let (members, soldCount) = (self.members, self.sold)
        try await withBenchStore { repository, gym in
            let all = try await gym.importMembers(repository, count: members + soldCount, tag: "faults")
            for (index, member) in all.prefix(members).enumerated() { try await gym.sell(repository, to: member, index: index) }
            try await sandbox.withRunningServer { port in
                let client = benchClient(port: port, requestsPerSecond: limit)
                let ledger = GymStoreSyncLedger(repository: repository)
                let engine = SyncEngine(client: client, repository: repository, ledger: ledger, configuration: .init(logger: benchLogger))
                let clock = ContinuousClock()
                let initial = try await engine.reconcileAll(trigger: "bench initial sync")
                print("  initial sync: \(initial)")
                let service = SyncService(engine: engine, repository: repository, ledger: ledger, logger: benchLogger)
                let running = Task { try await service.run() }
                defer { running.cancel() }
                try await Task.sleep(for: .seconds(3))  // the start-up full reconcile finds nothing to do

                await sandbox.setFaults(faults)
                let faultStart = clock.now
                let buyers = Array(all.suffix(soldCount))
                var soldAt: [UUID: ContinuousClock.Instant] = [:]
                var openAt: [UUID: ContinuousClock.Instant] = [:]
                // Watches the doors of the members sold so far (the sandbox's control routes are never faulted).
                func watch(until end: ContinuousClock.Instant) async throws {
                    repeat {
                        let links = try await repository.kisiLinks()
                        for (memberID, _) in soldAt where openAt[memberID] == nil {
                            if let userID = links.users[memberID], try await oracleAllows(port: port, userID: userID, lockID: 5001) {
                                openAt[memberID] = clock.now
                            }
                        }
                        try await Task.sleep(for: .milliseconds(100))
                    } while clock.now < end
                }
                for (offset, member) in buyers.enumerated() {
                    try await gym.sell(repository, to: member, index: offset)
                    soldAt[member.id] = clock.now
                    try await watch(until: clock.now + .milliseconds(sellEveryMs))
                }
                try await watch(until: faultStart + .seconds(faultSeconds))
                let openDuringFaults = openAt.count
                await sandbox.setFaults(FaultSettings())
                let recovered = clock.now
                let owedAtRecovery = try await ledger.syncState.get(.retry) ?? SyncRetryState()
                print("  faults over after \(fmt(seconds(clock.now - faultStart), 1)) s: \(openDuringFaults)/\(soldCount) doors already open, "
                    + "owed: \(owedAtRecovery.members.count) members, \(owedAtRecovery.plans.count) plans, full \(owedAtRecovery.full != nil), "
                    + "changes \(owedAtRecovery.changes != nil), queue \(try await repository.unprocessedAccessChangeCount())")
                while openAt.count < soldCount {
                    if clock.now - recovered > .seconds(300) { throw ValidationError("\(soldCount - openAt.count) members still without a door 300 s after recovery") }
                    try await watch(until: clock.now)
                }
                let saleToDoor = buyers.map { seconds(openAt[$0.id]! - soldAt[$0.id]!) }.sorted()
                for (member, latency) in zip(buyers, buyers.map { seconds(openAt[$0.id]! - soldAt[$0.id]!) }) {
                    print("  \(member.email.value): door open \(fmt(latency, 1)) s after the sale")
                }
                let lastOpen = buyers.map { openAt[$0.id]! }.max()!
                let convergenceAfterRecovery = max(0, seconds(lastOpen - recovered))
                let convergence = convergenceAfterRecovery
                running.cancel()
                _ = try? await running.value

                // No duplicates: one Kisi user per e-mail, one assignment per user and group.
                let state = try await KisiPacing.control(port: port, method: .GET, path: "state?organization_id=1")
                let organization = ((state["organizations"] as? [Any])?.first as? [String: Any]) ?? [:]
                let users = ((organization["users"] as? [Any]) ?? []).compactMap { $0 as? [String: Any] }
                let emails = Dictionary(users.map { (($0["email"] as? String ?? "").lowercased(), 1) }, uniquingKeysWith: +)
                let assignments = ((organization["role_assignments"] as? [Any]) ?? []).compactMap { $0 as? [String: Any] }
                let pairs = Dictionary(assignments.compactMap { a -> (String, Int)? in
                    guard (a["applies_to_type"] as? String) == "Group" else { return nil }
                    return ("\(a["user_id"] ?? "")/\(a["applies_to_id"] ?? "")", 1)
                }, uniquingKeysWith: +)
                let duplicateUsers = emails.values.filter { $0 > 1 }.count
                let duplicateGrants = pairs.values.filter { $0 > 1 }.count
                print("")
                print("Fault recovery: \(soldCount) subscriptions sold during \(faultSeconds) s of Kisi faults")
                print("  doors open when Kisi recovered: \(openDuringFaults)/\(soldCount)")
                print("  sale → door open under faults: p50 \(fmt(percentile(saleToDoor, 0.5), 1)) s, max \(fmt(saleToDoor.last ?? 0, 1)) s")
                print("  every door open after recovery: \(fmt(convergence, 1)) s")
                print("  duplicate Kisi users: \(duplicateUsers), duplicate grants: \(duplicateGrants)")
                print(convergence <= 30 && duplicateUsers == 0 && duplicateGrants == 0
                    ? "PASS: converged ≤ 30 s after recovery, no duplicates" : "MISS")
            }
        }
    }
}
