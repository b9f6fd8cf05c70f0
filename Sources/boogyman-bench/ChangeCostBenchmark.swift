import AccessSync
import ArgumentParser
import FluentKit
import Foundation
import GymCore
import GymStore
import KisiAPI
import KisiSandbox
import Logging
import SQLKit

// MARK: - change-cost

/// What one member's freeze costs BooGYMan at different gym sizes: CPU time of this process, Kisi reads
/// and rows loaded from the database by the change-driven run.
///
/// Each gym is built directly in an in-memory SQLite database (bulk INSERTs, deterministic IDs: the
/// repository's one-transaction-per-member path would take many minutes at 100,000) as if a full sync had
/// already run: every member has an active subscription and a link to a Kisi user. The matching Kisi
/// organization (a user with the member's e-mail and ID in its metadata and one `group_basic` assignment
/// per member, in two marked groups) is seeded into a sandbox running in a child process
/// (`change-cost-sandbox`), so that the sandbox's own work is not counted as BooGYMan's CPU.
struct SyncChangeCost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "change-cost",
        abstract: "CPU time and Kisi reads of the change-driven run after one member's freeze, at several gym sizes."
    )

    @Option(help: "Comma-separated member counts.")
    var members: String = "1000,100000"

    @Option(help: "Measured freezes per size (each of another member); the median and maximum are printed.")
    var samples: Int = 5

    @Option(help: "Kisi users of the organization who are not members (tenants, staff), per member: 0.5 makes 100,000 members an organization of 150,000 users.")
    var foreignPerMember: Double = 0.5

    func validate() throws {
        guard samples > 0 else { throw ValidationError("--samples must be positive") }
    }

    func run() async throws {
        let counts = members.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 > samples + 1 }) else {
            throw ValidationError("--members must list counts above --samples + 1")
        }
        print("change-cost: \(counts) members, \(samples) freezes each, started \(stamp())")
        var rows: [String] = []
        for count in counts { rows.append(try await measure(count)) }
        print("")
        print("| members | Kisi users | CPU per freeze (median / max) | Kisi reads | Kisi writes | database rows loaded | full sweep: reads with nothing kept / steady / after a restart | sweep reading time (steady) | sweep CPU (steady) | sweep found to repair |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for row in rows { print(row) }
    }

    func measure(_ count: Int) async throws -> String {
        let database = try GymDatabase(location: .sqliteInMemory, logger: benchLogger)
        try await database.migrate()
        let sandbox = ChildSandbox()
        defer { sandbox.stop() }
        do {
            let repository = database.repository
            let gym = try await BenchGym.seedLayout(repository)
            let seedStart = ContinuousClock.now
            let seeded = try await ChangeCostGym.fill(database, gym: gym, members: count)
            print("")
            print("\(count) members: database filled in \(fmt(seconds(ContinuousClock.now - seedStart), 1)) s")
            let foreign = Int((Double(count) * foreignPerMember).rounded())
            // Every grant in Kisi carries the window the access rule gives (the same for every member),
            // as a full sync would have left it.
            let probed: Set<UUID> = [ChangeCostGym.memberID(0), ChangeCostGym.memberID(1)]
            let probe = DesiredState.build(
                layout: try await repository.layout(), members: try await repository.members(ids: probed),
                subscriptions: try await repository.subscriptions(memberIDs: probed), at: Date(), options: SyncOptions())
            guard let unlimitedWindow = probe.grants.first(where: { $0.planID == gym.unlimited.id })?.window,
                  let oldTownWindow = probe.grants.first(where: { $0.planID == gym.oldTown.id })?.window
            else { throw ValidationError("members 0 and 1 have no grants to copy the windows of") }
            let port = try sandbox.start(
                members: count, foreign: foreign, unlimited: gym.unlimited.id, oldTown: gym.oldTown.id, today: gym.today,
                windows: [unlimitedWindow, oldTownWindow])
            print("  sandbox (child process \(sandbox.pid)) seeded with \(count + foreign) users, \(count) assignments, on port \(port)")

            let client = benchClient(port: port, requestsPerSecond: 10_000)
            let engine = SyncEngine(
                client: client, repository: repository, ledger: GymStoreSyncLedger(repository: repository),
                configuration: .init(logger: benchLogger))
            // The first change-driven run reads the groups and their doors once; later runs reuse them.
            let warmUp = try await engine.reconcile(memberIDs: [ChangeCostGym.memberID(0)], trigger: "bench warm-up")
            print("  warm-up run (member 0, fills the groups snapshot): \(warmUp)")

            var cpu: [Double] = []
            var last: SyncReport?
            for sample in 1...samples {
                _ = try await repository.freeze(
                    seeded.subscriptionID(sample), span: DateSpan(first: gym.today, last: gym.today.adding(days: 13)), reason: "Holiday")
                let before = processCPUSeconds()
                let report = try await engine.reconcile(memberIDs: [ChangeCostGym.memberID(sample)], trigger: "bench freeze")
                cpu.append(processCPUSeconds() - before)
                guard report.failures.isEmpty, report.executed == ["removeGrant": 1] else {
                    throw ValidationError("the freeze of member \(sample) was not carried out as one removal: \(report)")
                }
                if let last, last.kisiReads != report.kisiReads || last.storeRowsRead != report.storeRowsRead {
                    print("  note: freeze \(sample) read differently from the one before: \(report)")
                }
                last = report
                print("  freeze \(sample): \(report) — CPU \(fmt(cpu.last! * 1000, 1)) ms")
            }
            let sorted = cpu.sorted()
            let median = sorted[sorted.count / 2]
            let report = last!

            // Full sweeps, read as the rolling sweep reads (no pacing: nothing waits here). The first finds
            // no assignment IDs kept (a first look); the second is every later one; the third a restarted
            // process's, which finds what the second kept in the sync state.
            var sweepReads: [Int] = []
            var steady = (seconds: 0.0, cpu: 0.0, planned: 0)
            for pass in 1...3 {
                // The third pass is a restarted process's: a new engine, finding what the last look kept.
                let engine = pass < 3 ? engine : SyncEngine(
                    client: client, repository: repository, ledger: GymStoreSyncLedger(repository: repository),
                    configuration: .init(logger: benchLogger))
                let meter = KisiCallMeter()
                let started = ContinuousClock.now
                let cpuBefore = processCPUSeconds()
                let sweep = try await engine.observeForSweep(pace: {}, onEstimate: { _ in }, meter: meter)
                let readSeconds = seconds(ContinuousClock.now - started)
                guard let applied = try await engine.applySweep(sweep, trigger: "bench sweep") else {
                    throw ValidationError("the bench sweep was overtaken by another run")
                }
                let cpuSeconds = processCPUSeconds() - cpuBefore
                print("  sweep \(pass): \(sweep.reads) reads in \(fmt(readSeconds, 1)) s, CPU \(fmt(cpuSeconds, 2)) s; \(applied)")
                sweepReads.append(sweep.reads)
                if pass == 2 { steady = (readSeconds, cpuSeconds, applied.planned) }
            }
            await database.shutdown()
            return "| \(count) | \(count + foreign) | \(fmt(median * 1000, 1)) ms / \(fmt(sorted.last! * 1000, 1)) ms | \(report.kisiReads) | \(report.kisiWrites) | \(report.storeRowsRead) | \(sweepReads[0]) / \(sweepReads[1]) / \(sweepReads[2]) | \(fmt(steady.seconds, 1)) s | \(fmt(steady.cpu, 2)) s | \(steady.planned) |"
        } catch {
            await database.shutdown()
            throw error
        }
    }
}

/// User CPU + system CPU of this process so far, in seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// The bench gym at scale, with IDs derived from the member's number so that the child sandbox can
/// seed the matching Kisi organization without being told every ID.
enum ChangeCostGym {
    static let unlimitedGroupID = 900_001
    static let oldTownGroupID = 900_002

    static func memberID(_ index: Int) -> UUID { uuid(prefix: "00000000", index) }
    static func subscriptionUUID(_ index: Int) -> UUID { uuid(prefix: "00000001", index) }
    static func kisiUserID(_ index: Int) -> Int { 10_000_000 + index }
    static func kisiAssignmentID(_ index: Int) -> Int { 20_000_000 + index }
    static func email(_ index: Int) -> String { "member\(index).cost@bench.example" }
    static func isUnlimited(_ index: Int) -> Bool { index % 2 == 0 }

    static func uuid(prefix: String, _ index: Int) -> UUID {
        UUID(uuidString: prefix + "-0000-4000-8000-" + String(format: "%012X", index))!
    }

    struct Seeded {
        func subscriptionID(_ index: Int) -> UUID { ChangeCostGym.subscriptionUUID(index) }
    }

    /// Members, one active subscription each (alternating the two plans), and every Kisi link, in
    /// multi-row INSERTs of 500 rows.
    static func fill(_ database: GymDatabase, gym: BenchGym, members count: Int) async throws -> Seeded {
        guard let sql = database.database as? any SQLDatabase else { throw ValidationError("the database does not speak SQL") }
        try await database.repository.setKisiGroupLink(planID: gym.unlimited.id, groupID: unlimitedGroupID)
        try await database.repository.setKisiGroupLink(planID: gym.oldTown.id, groupID: oldTownGroupID)
        let now = Date()
        let start = "\(gym.today.adding(days: -30))"
        let paidThrough = "\(gym.today.adding(days: 30))"
        for first in stride(from: 0, to: count, by: 500) {
            let range = first..<min(first + 500, count)
            let members = sql.insert(into: "members")
                .columns("id", "first_name", "last_name", "email", "email_key", "search_text", "created_at", "updated_at")
            let subscriptions = sql.insert(into: "subscriptions")
                .columns("id", "member_id", "plan_id", "start_date", "paid_through", "created_at", "updated_at")
            let links = sql.insert(into: "kisi_links").columns("id", "kind", "local_id", "kisi_id", "created_at", "updated_at")
            for index in range {
                let email = Self.email(index)
                members.values([memberID(index), "Member\(index)", "Cost", email, email, "member\(index) cost \(email)", now, now])
                subscriptions.values([
                    subscriptionUUID(index), memberID(index), isUnlimited(index) ? gym.unlimited.id : gym.oldTown.id, start, paidThrough,
                    now, now,
                ])
                links.values([UUID(), "member", memberID(index), kisiUserID(index), now, now])
            }
            try await members.run()
            try await subscriptions.run()
            try await links.run()
        }
        return Seeded()
    }

    /// The Kisi organization of such a gym: the demo seed plus a user per member and two marked groups.
    static func sandboxSeed(members count: Int, foreign: Int = 0, unlimited: UUID, oldTown: UUID, windows: [AccessWindow]) -> SandboxSeed {
        var seed = SandboxSeed.demoSeed()
        var organization = seed.organizations[0]
        organization.groups = (organization.groups ?? []) + [
            .init(id: unlimitedGroupID, name: "Unlimited", description: ManagedGroupMarker.description(planID: unlimited),
                  placeId: nil, lockIds: [5001, 5002, 5003, 5011]),
            .init(id: oldTownGroupID, name: "Old Town basic", description: ManagedGroupMarker.description(planID: oldTown),
                  placeId: 1001, lockIds: [5001, 5002]),
        ]
        var assignments = organization.roleAssignments ?? []
        organization.users.reserveCapacity(organization.users.count + count)
        assignments.reserveCapacity(assignments.count + count)
        for index in 0..<count {
            organization.users.append(.init(
                id: kisiUserID(index), name: "Member\(index) Cost", email: email(index),
                metadata: [memberIDMetadataKey: .string(memberID(index).uuidString)]))
            assignments.append(.init(
                id: kisiAssignmentID(index), userId: kisiUserID(index), groupId: isUnlimited(index) ? unlimitedGroupID : oldTownGroupID,
                validFrom: windows[isUnlimited(index) ? 0 : 1].from, validUntil: windows[isUnlimited(index) ? 0 : 1].until))
        }
        // Tenants and staff of the same organization: users BooGYMan must never read in bulk.
        for index in 0..<foreign {
            organization.users.append(.init(id: 30_000_000 + index, name: "Tenant\(index) Other", email: "tenant\(index)@other.example"))
        }
        organization.roleAssignments = assignments
        seed.organizations[0] = organization
        return seed
    }
}

/// `boogyman-bench change-cost-sandbox`: the Kisi side of `change-cost`, in its own process. Prints
/// `PORT <n>` once the seeded sandbox listens, then serves until it is terminated.
struct ChangeCostSandbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "change-cost-sandbox", abstract: "The seeded sandbox of change-cost (started by it).", shouldDisplay: false)

    @Option var members: Int
    @Option var foreign: Int = 0
    @Option(help: "The grants' windows, Unlimited's then Old Town's: from,until,from,until in seconds since 1970.")
    var windows: String
    @Option var unlimited: String
    @Option var oldTown: String
    @Option var today: String

    func run() async throws {
        guard let unlimited = UUID(uuidString: unlimited), let oldTown = UUID(uuidString: oldTown), let today = LocalDate(today) else {
            throw ValidationError("--unlimited, --old-town and --today must be a UUID, a UUID and a date")
        }
        let bounds = windows.split(separator: ",").compactMap { Double($0) }.map { Date(timeIntervalSince1970: $0) }
        guard bounds.count == 4 else { throw ValidationError("--windows needs four numbers") }
        let seed = ChangeCostGym.sandboxSeed(
            members: members, foreign: foreign, unlimited: unlimited, oldTown: oldTown,
            windows: [AccessWindow(from: bounds[0], until: bounds[1]), AccessWindow(from: bounds[2], until: bounds[3])])
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: seed, requestsPerSecond: 0, logger: benchLogger))
        try await sandbox.withRunningServer { port in
            FileHandle.standardOutput.write(Data("PORT \(port)\n".utf8))  // unbuffered: the parent waits for it
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}

/// The child process running ``ChangeCostSandbox``; stopped by its process ID.
final class ChildSandbox: @unchecked Sendable {
    private var process: Process?
    var pid: Int32 { process?.processIdentifier ?? 0 }

    func start(members: Int, foreign: Int = 0, unlimited: UUID, oldTown: UUID, today: LocalDate, windows: [AccessWindow]) throws -> Int {
        let process = Process()
        // This very executable, by its real path (the link names whoever reads it).
        process.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        process.arguments = [
            "change-cost-sandbox", "--members", String(members), "--foreign", String(foreign),
            "--windows", windows.flatMap { [$0.from, $0.until] }.map { String($0.timeIntervalSince1970) }.joined(separator: ","), "--unlimited", unlimited.uuidString, "--old-town", oldTown.uuidString,
            "--today", "\(today)",
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        self.process = process
        var text = ""
        while !text.contains("\n") {
            let data = output.fileHandleForReading.availableData
            guard !data.isEmpty else { throw ValidationError("the sandbox process ended before listening") }
            text += String(decoding: data, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first, line.hasPrefix("PORT "), let port = Int(line.dropFirst(5)) else {
            throw ValidationError("the sandbox process said \(text)")
        }
        return port
    }

    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}
