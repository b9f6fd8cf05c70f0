import ArgumentParser
import AsyncHTTPClient
import FluentKit
import Foundation
import GymCore
import GymStore
import Logging
import NIOCore
import NIOHTTP1
import SQLKit

/// The member list, search, subscriptions and audit log (JSON API and admin pages) of a big gym on
/// PostgreSQL: fills a database with `--members` members (about 1.3 subscriptions each, 5% frozen
/// once) and `--audit-rows` audit entries in a few bulk SQL statements, starts the real server
/// binary on it and measures each route's latency, one request at a time.
///
/// With `--baseline-server` (a `boogyman` binary built from an earlier commit) it first reverts
/// migration 015 on the filled database and measures the baseline, then starts `--server`, which
/// applies 015 again at start-up (its duration is reported), and measures that: before and after
/// on the same data in one run.
struct APIScale: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-scale",
        abstract: "p95 of the list, search, subscriptions and audit routes and admin pages on a big PostgreSQL database."
    )

    @Option(help: "Members in the database.")
    var members: Int = 100_000

    @Option(help: "Audit-log (Kisi journal) entries in the database.")
    var auditRows: Int = 1_000_000

    @Option(help: "PostgreSQL database to fill (empty, or filled by an earlier run with the same sizes).")
    var postgresURL: String

    @Option(help: "The boogyman binary measured.")
    var server: String = ".build/debug/boogyman"

    @Option(help: "A boogyman binary of an earlier commit, measured first without migration 015.")
    var baselineServer: String?

    @Option(help: "Measured requests per route (after 3 unmeasured ones).")
    var requests: Int = 60

    @Option(help: "Port the servers listen on.")
    var port: Int = 18_480

    mutating func validate() throws {
        guard members >= 1_000 else { throw ValidationError("--members must be at least 1000") }
        guard auditRows >= 1_000 else { throw ValidationError("--audit-rows must be at least 1000") }
        guard requests >= 1 else { throw ValidationError("--requests must be positive") }
        guard postgresURL.hasPrefix("postgres://") || postgresURL.hasPrefix("postgresql://") else {
            throw ValidationError("--postgres-url must be a postgres:// URL")
        }
    }

    func run() async throws {
        let logger = Logger(label: "boogyman-bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let database = try GymDatabase(location: .postgres(url: postgresURL), logger: logger)
        let fixture: Fixture
        do {
            try await database.migrate()
            fixture = try await ScaleFixture(database: database, members: members, auditRows: auditRows).prepare()
            if baselineServer != nil { try await database.revertListIndexes() }
        } catch {
            await database.shutdown()
            throw error
        }
        await database.shutdown()

        var results: [(label: String, timings: [String: RouteTiming])] = []
        if let baselineServer {
            results.append(("baseline", try await measure(binary: baselineServer, label: "baseline", fixture: fixture, cursors: false)))
        }
        results.append(("current", try await measure(binary: server, label: "current", fixture: fixture, cursors: true)))
        report(results)
    }

    func measure(binary: String, label: String, fixture: Fixture, cursors: Bool) async throws -> [String: RouteTiming] {
        let process = try ServerProcess(binary: binary, databaseURL: postgresURL, port: port, label: label)
        defer { process.stop() }
        let started = ContinuousClock.now
        try await process.waitUntilReady()
        print("\(label): \(binary) ready after \(fmtSeconds(ContinuousClock.now - started)) (start-up, migrations included)")
        let client = ScaleClient(port: port, token: fixture.token, cookie: fixture.sessionCookie)
        var timings: [String: RouteTiming] = [:]
        for route in routes(fixture) {
            if route.needsCursor && !cursors { continue }
            timings[route.name] = try await time(route, client: client)
            let timing = timings[route.name]!
            print("  \(route.name.padding(toLength: 44, withPad: " ", startingAt: 0)) p50 \(fmtMs(timing.p50))  p95 \(fmtMs(timing.p95))  max \(fmtMs(timing.max))")
        }
        return timings
    }

    /// One request at a time: warm-up, then `requests` measured ones. Cursor routes follow each
    /// page's `next_cursor`, so they measure pages ever deeper into the list.
    func time(_ route: ScaleRoute, client: ScaleClient) async throws -> RouteTiming {
        var latencies: [Double] = []
        var cursor: String?
        for i in 0..<(requests + 3) {
            var path = route.path(i)
            if route.needsCursor, let cursor { path += "&cursor=" + cursor }
            let start = ContinuousClock.now
            let (status, body) = try await client.get(path, admin: route.admin)
            let elapsed = seconds(ContinuousClock.now - start)
            guard status == 200 else {
                throw ValidationError("\(route.name): GET \(path) answered \(status): \(String(decoding: body.prefix(300), as: UTF8.self))")
            }
            if route.needsCursor {
                let json = try JSONSerialization.jsonObject(with: body) as? [String: Any]
                cursor = json?["next_cursor"] as? String
            }
            if i >= 3 { latencies.append(elapsed) }
        }
        latencies.sort()
        return RouteTiming(p50: percentile(latencies, 0.50), p95: percentile(latencies, 0.95), max: latencies.last ?? 0)
    }

    func routes(_ fixture: Fixture) -> [ScaleRoute] {
        let memberIDs = fixture.sampleMemberIDs
        let terms = ["popescu", "ana", "ionescu maria", "dumitr", "0721", "escu", ".4242@", "nobody-here"]
        func offset(below count: Int) -> Int { Int.random(in: 0..<max(1, count - 50)) }
        let plan = fixture.planIDs[0]
        return [
            ScaleRoute("API members, first page") { _ in "/api/v1/members?limit=50" },
            ScaleRoute("API members, random offset") { _ in "/api/v1/members?limit=50&offset=\(offset(below: fixture.members))" },
            ScaleRoute("API members, cursor pages", needsCursor: true) { _ in "/api/v1/members?limit=50" },
            ScaleRoute("API members search") { i in "/api/v1/members?limit=50&q=\(terms[i % terms.count].addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" },
            ScaleRoute("API subscriptions, first page") { _ in "/api/v1/subscriptions?limit=50" },
            ScaleRoute("API subscriptions, random offset") { _ in "/api/v1/subscriptions?limit=50&offset=\(offset(below: fixture.subscriptions))" },
            ScaleRoute("API subscriptions, cursor pages", needsCursor: true) { _ in "/api/v1/subscriptions?limit=50" },
            ScaleRoute("API subscriptions of a member") { i in "/api/v1/subscriptions?member_id=\(memberIDs[i % memberIDs.count])" },
            ScaleRoute("API subscriptions of a plan, random offset") { _ in
                "/api/v1/subscriptions?limit=50&plan_id=\(plan)&offset=\(offset(below: fixture.subscriptions / fixture.planIDs.count))"
            },
            ScaleRoute("API audit, first page") { _ in "/api/v1/audit?limit=50" },
            ScaleRoute("API audit, random offset") { _ in "/api/v1/audit?limit=50&offset=\(offset(below: fixture.auditRows))" },
            ScaleRoute("API audit, cursor pages", needsCursor: true) { _ in "/api/v1/audit?limit=50" },
            ScaleRoute("API audit of a member") { i in "/api/v1/audit?limit=50&member_id=\(memberIDs[i % memberIDs.count])" },
            ScaleRoute("API audit by action") { i in "/api/v1/audit?limit=50&action=\(["deleteGrant", "createUser", "block_member"][i % 3])" },
            ScaleRoute("API audit, failed") { _ in "/api/v1/audit?limit=50&status=failed" },
            ScaleRoute("admin members", admin: true) { _ in "/admin/members" },
            ScaleRoute("admin members search", admin: true) { i in
                "/admin/members/rows?q=\(terms[i % terms.count].addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
            },
            ScaleRoute("admin subscriptions", admin: true) { _ in "/admin/subscriptions" },
            ScaleRoute("admin subscriptions of a plan", admin: true) { _ in "/admin/subscriptions?plan_id=\(plan)" },
            ScaleRoute("admin audit", admin: true) { _ in "/admin/audit" },
            ScaleRoute("admin audit by action", admin: true) { i in "/admin/audit?action=\(["deleteGrant", "createUser", "block_member"][i % 3])" },
        ]
    }

    func report(_ results: [(label: String, timings: [String: RouteTiming])]) {
        print("\n| route | " + results.map { "\($0.label) p50 | \($0.label) p95" }.joined(separator: " | ") + " |")
        print("| --- | " + results.map { _ in "---: | ---:" }.joined(separator: " | ") + " |")
        guard let names = results.last?.timings.keys else { return }
        let order = routes(Fixture.placeholder).map(\.name).filter { names.contains($0) }
        for name in order {
            let cells = results.map { result -> String in
                guard let timing = result.timings[name] else { return "n/a | n/a" }
                return "\(fmtMs(timing.p50)) | \(fmtMs(timing.p95))"
            }
            print("| \(name) | " + cells.joined(separator: " | ") + " |")
        }
    }
}

struct RouteTiming: Sendable {
    var p50: Double
    var p95: Double
    var max: Double
}

struct ScaleRoute {
    let name: String
    let admin: Bool
    let needsCursor: Bool
    let path: (Int) -> String

    init(_ name: String, admin: Bool = false, needsCursor: Bool = false, path: @escaping (Int) -> String) {
        self.name = name
        self.admin = admin
        self.needsCursor = needsCursor
        self.path = path
    }
}

/// What the measured routes need from the filled database.
struct Fixture: Sendable {
    var members: Int
    var subscriptions: Int
    var auditRows: Int
    var planIDs: [UUID]
    var sampleMemberIDs: [UUID]
    var token: String
    var sessionCookie: String

    /// For listing route names only.
    static let placeholder = Fixture(
        members: 1_000, subscriptions: 1_000, auditRows: 1_000, planIDs: [UUID()], sampleMemberIDs: [UUID()], token: "", sessionCookie: "")
}

/// Fills the database with bulk `INSERT … SELECT … generate_series` statements: a few seconds
/// for 100,000 members where the repository's one-transaction-per-member path would take many
/// minutes. The rows look like what the repository writes (same columns, lower-cased search text).
struct ScaleFixture {
    let database: GymDatabase
    let members: Int
    let auditRows: Int

    var sql: any SQLDatabase { database.database as! any SQLDatabase }

    func prepare() async throws -> Fixture {
        let existingMembers = try await count("members")
        if existingMembers == 0 {
            try await fill()
        } else {
            let existingAudit = try await count("kisi_writes")
            guard existingMembers == members, existingAudit >= auditRows else {
                throw ValidationError("the database holds \(existingMembers) members and \(existingAudit) audit entries; use an empty one")
            }
            print("reusing the filled database: \(existingMembers) members, \(existingAudit) audit entries")
        }
        let repository = database.repository
        let planIDs = try await repository.plans(includeArchived: false, PageRequest(limit: 50)).items.map(\.id)
        struct IDRow: Decodable { let id: UUID }
        let sample = try await sql.raw("SELECT id FROM members ORDER BY random() LIMIT 200").all(decoding: IDRow.self).map(\.id)
        let token = try await repository.createAPIToken(name: "api-scale \(UUID().uuidString.prefix(8))").secret
        let staff = try await repository.createStaff(
            email: "bench-\(UUID().uuidString.prefix(8).lowercased())@gym.example", name: "Bench Manager", role: .owner,
            passwordHash: "not-used: the bench signs in with a session")
        let session = try await repository.createStaffSession(staffID: staff.id, lifetime: 6 * 3600).secret
        return Fixture(
            members: members, subscriptions: try await count("subscriptions"), auditRows: try await count("kisi_writes"),
            planIDs: planIDs, sampleMemberIDs: sample, token: token, sessionCookie: session)
    }

    func count(_ table: String) async throws -> Int {
        struct Row: Decodable { let n: Int }
        return try await sql.raw("SELECT count(*)::bigint AS n FROM \(ident: table)").first(decoding: Row.self)?.n ?? 0
    }

    func fill() async throws {
        let repository = database.repository
        let started = ContinuousClock.now
        var clubIDs: [UUID] = []
        for name in ["Victoriei", "Floreasca", "Cluj Centru"] {
            clubIDs.append(try await repository.createClub(ClubDraft(name: name, timeZoneIdentifier: "Europe/Bucharest")).id)
        }
        for (index, name) in ["All clubs", "Victoriei only", "Floreasca only", "Cluj only"].enumerated() {
            let clubs = index == 0 ? clubIDs : [clubIDs[index - 1]]
            _ = try await repository.createPlan(PlanDraft(name: name, clubIDs: clubs, pastDueGraceDays: 3))
        }
        let firstNames = [
            "Ana", "Maria", "Elena", "Ioana", "Andreea", "Cristina", "Mihaela", "Alexandra", "Diana", "Raluca", "Irina", "Bianca",
            "Ion", "Andrei", "Mihai", "Alexandru", "Gabriel", "Stefan", "Bogdan", "Cristian", "Vlad", "Radu", "Adrian", "Dan",
        ]
        let lastNames = [
            "Popescu", "Ionescu", "Popa", "Pop", "Radu", "Dumitru", "Stan", "Stoica", "Gheorghe", "Matei", "Ciobanu", "Rusu",
            "Munteanu", "Constantin", "Marin", "Florea", "Dinu", "Tudor", "Lazar", "Moldovan", "Barbu", "Nistor", "Toma", "Dobre",
            "Serban", "Ene", "Mocanu", "Cristea", "Ilie", "Neagu", "Dumitrescu", "Georgescu", "Stanciu", "Nedelcu", "Sandu",
            "Vasilescu", "Oprea", "Diaconu", "Zamfir", "Dragomir", "Preda", "Enache", "Voicu", "Manole", "Bucur", "Andrei",
            "Ungureanu", "Craciun", "Avram", "Iordache",
        ]
        func array(_ values: [String]) -> String { "ARRAY[" + values.map { "'\($0)'" }.joined(separator: ",") + "]" }
        // Name pairs repeat like real ones; the e-mail (with the row number) and phone number are unique.
        try await sql.raw("""
            INSERT INTO members (id, first_name, last_name, email, email_key, phone, search_text, created_at, updated_at)
            SELECT gen_random_uuid(), f, l, e, lower(e), p, lower(f || ' ' || l || ' ' || e || ' ' || p), now(), now()
            FROM (
                SELECT i, (\(unsafeRaw: array(firstNames)))[1 + i % \(literal: firstNames.count)] AS f,
                       (\(unsafeRaw: array(lastNames)))[1 + (i / \(literal: firstNames.count) + i * 7) % \(literal: lastNames.count)] AS l
                FROM generate_series(1, \(literal: members)) AS i
            ) AS names,
            LATERAL (SELECT lower(f || '.' || l || '.' || i || '@members.example') AS e,
                            '+40 7' || lpad(((i::bigint * 7919) % 100000000)::text, 8, '0') AS p) AS contact
            """).run()
        // Every member has one subscription (one in ten cancelled); every third one an earlier, ended one.
        try await sql.raw("""
            WITH m AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM members),
                 p AS (SELECT id, row_number() OVER (ORDER BY name) AS k FROM plans WHERE NOT archived)
            INSERT INTO subscriptions (id, member_id, plan_id, start_date, end_date, paid_through, cancel_effective_date, cancel_reason, created_at, updated_at)
            SELECT gen_random_uuid(), m.id, p.id, to_char(date '2025-01-01' + (m.n * 37 % 700)::int, 'YYYY-MM-DD'), NULL,
                   to_char(date '2026-12-31', 'YYYY-MM-DD'),
                   CASE WHEN m.n % 10 = 0 THEN to_char(date '2026-06-01' + (m.n % 200)::int, 'YYYY-MM-DD') END,
                   CASE WHEN m.n % 10 = 0 THEN 'moving away' END, now(), now()
            FROM m JOIN p ON p.k = 1 + m.n % (SELECT count(*) FROM p)
            UNION ALL
            SELECT gen_random_uuid(), m.id, p.id, to_char(date '2023-01-01' + (m.n * 13 % 360)::int, 'YYYY-MM-DD'),
                   to_char(date '2023-12-31' + (m.n * 13 % 360)::int, 'YYYY-MM-DD'), to_char(date '2023-12-31' + (m.n * 13 % 360)::int, 'YYYY-MM-DD'),
                   NULL, NULL, now(), now()
            FROM m JOIN p ON p.k = 1 + (m.n / 3) % (SELECT count(*) FROM p)
            WHERE m.n % 3 = 0
            """).run()
        try await sql.raw("""
            INSERT INTO subscription_freezes (id, subscription_id, first_day, last_day, reason)
            SELECT gen_random_uuid(), id, '2026-08-01', '2026-08-14', 'holiday' FROM subscriptions WHERE random() < 0.05
            """).run()
        // The journal: a year of sync writes, newest last, spread over every member; 2% failed.
        let actions = ["createGrant", "deleteGrant", "createUser", "updateGrant", "deleteGrant", "createGrant", "block_member"]
        try await sql.raw("""
            WITH m AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM members)
            INSERT INTO kisi_writes (created_at, finished_at, action, kisi_object_type, kisi_object_id, member_id, trigger, actor, reason,
                                     request_json, status, kisi_status, kisi_code, error)
            SELECT now() - make_interval(secs => (\(literal: auditRows) - i) * 30.0), now() - make_interval(secs => (\(literal: auditRows) - i) * 30.0 - 0.2),
                   a, CASE WHEN a = 'createUser' THEN 'User' WHEN a = 'block_member' THEN NULL ELSE 'RoleAssignment' END,
                   CASE WHEN a = 'block_member' THEN NULL ELSE 100000 + i END, m.id, 'change #' || i,
                   CASE WHEN a = 'block_member' THEN 'staff:owner@gym.example' ELSE 'sync' END, 'subscription changed',
                   CASE WHEN a = 'block_member' THEN NULL ELSE '{"role_assignment":{"user_id":' || (100000 + i) || '}}' END,
                   CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'succeeded' END,
                   CASE WHEN a = 'block_member' THEN NULL WHEN i % 50 = 0 THEN 422 ELSE 200 END,
                   CASE WHEN i % 50 = 0 THEN 'invalid' END, CASE WHEN i % 50 = 0 THEN 'Kisi refused the grant' END
            FROM generate_series(1, \(literal: auditRows)) AS i
            JOIN m ON m.n = 1 + (i::bigint * 7919) % \(literal: members),
            LATERAL (SELECT (\(unsafeRaw: array(actions)))[1 + i % \(literal: actions.count)] AS a) AS chosen
            """).run()
        try await sql.raw("ANALYZE").run()
        print("filled \(members) members, \(try await count("subscriptions")) subscriptions, \(auditRows) audit entries in \(fmtSeconds(ContinuousClock.now - started))")
    }
}

/// `boogyman serve` as a child process, without Kisi (no master key), its output in a log file.
final class ServerProcess {
    let process = Process()
    let port: Int
    let logPath: String

    init(binary: String, databaseURL: String, port: Int, label: String) throws {
        self.port = port
        logPath = NSTemporaryDirectory() + "boogyman-api-scale-\(label).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--database", databaseURL, "--host", "127.0.0.1", "--port", String(port)]
        var environment = ProcessInfo.processInfo.environment
        environment["BOOGYMAN_MASTER_KEY"] = nil
        environment["BOOGYMAN_LOG_LEVEL"] = "warning"
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    /// Polls `/readyz` until it answers 200; migrations run before the server listens.
    func waitUntilReady(timeout: Duration = .seconds(900)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw ValidationError("the server stopped; see \(logPath)") }
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/readyz")
            request.method = .GET
            if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)), response.status == .ok { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("the server was not ready within \(timeout); see \(logPath)")
    }

    func stop() {
        guard process.isRunning else { return }
        process.interrupt()
        process.waitUntilExit()
    }
}

struct ScaleClient {
    let port: Int
    let token: String
    let cookie: String

    func get(_ path: String, admin: Bool) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .GET
        if admin {
            request.headers.add(name: "Cookie", value: "bgm_session=\(cookie)")
        } else {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), Data(body.readableBytesView))
    }
}

func fmtMs(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1000) }
func fmtSeconds(_ duration: Duration) -> String { String(format: "%.1f s", seconds(duration)) }
