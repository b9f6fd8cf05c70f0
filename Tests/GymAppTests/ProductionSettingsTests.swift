import Foundation
import GymApp
import GymStore
import GymWeb
import Hummingbird
import HummingbirdTesting
import KisiSandbox
import Logging
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Secrets from files, the log format, the demo's master key and `kisi connect` without the key on the
/// command line: what an operator deploying BooGYMan relies on.
@Suite("Production settings")
struct ProductionSettingsTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("boogyman-production-\(UUID().uuidString)")

    func write(_ name: String, _ text: String) throws -> String {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test("Every secret variable may come from the file its _FILE variant names, trailing line break dropped")
    func secretsFromFiles() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let key = MasterKey.generate()
        let environment = [
            "BOOGYMAN_MASTER_KEY_FILE": try write("master-key", key.base64 + "\n"),
            "BOOGYMAN_DATABASE_FILE": try write("database", "postgres://gym:s3cret@db.example:5432/gym\n"),
            "BOOGYMAN_METRICS_TOKEN_FILE": try write("metrics-token", "0123456789abcdef0123\n"),
        ]
        let configuration = try AppConfiguration.resolve(environment: environment)
        #expect(configuration.masterKey?.base64 == key.base64)
        #expect("\(configuration.database)".contains("db.example"))
        guard case .postgres = configuration.database else {
            Issue.record("BOOGYMAN_DATABASE_FILE was not read as a PostgreSQL URL")
            return
        }
        #expect(configuration.metricsToken == "0123456789abcdef0123")
        #expect(Set(AppConfiguration.secretVariables) == ["BOOGYMAN_MASTER_KEY", "BOOGYMAN_DATABASE", "BOOGYMAN_METRICS_TOKEN"])
        // A flag still wins over the file.
        #expect("\(try AppConfiguration.resolve(database: ":memory:", environment: environment).database)" != "\(configuration.database)")
    }

    @Test("A secret set both directly and as a file, an unreadable file or an empty one is refused, naming the variable but not the value")
    func badSecretFiles() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let key = MasterKey.generate().base64
        let keyFile = try write("master-key", key)
        let cases: [([String: String], String)] = [
            (["BOOGYMAN_MASTER_KEY": key, "BOOGYMAN_MASTER_KEY_FILE": keyFile], "not both"),
            (["BOOGYMAN_MASTER_KEY_FILE": folder.appendingPathComponent("missing").path], "cannot be read"),
            (["BOOGYMAN_METRICS_TOKEN_FILE": try write("empty", "\n")], "empty"),
            (["BOOGYMAN_METRICS_TOKEN": "short"], "at least 16"),
            (["BOOGYMAN_LOG_FORMAT": "xml"], "text or json"),
        ]
        for (environment, expected) in cases {
            do {
                _ = try AppConfiguration.resolve(environment: environment)
                Issue.record("accepted \(environment.keys.sorted())")
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
                #expect(!"\(error)".contains(key))
                #expect(environment.keys.contains { "\(error)".contains($0) }, "\(error)")
            }
        }
        #expect(try AppConfiguration.resolve(environment: ["BOOGYMAN_LOG_FORMAT": "JSON"]).logFormat == .json)
        #expect(try AppConfiguration.resolve(environment: [:]).logFormat == .text)
    }

    @Test("JSON logs are one object per line with time, level, label, message and metadata, secrets redacted and line breaks escaped")
    func jsonLogLines() throws {
        let lines = LockedLines()
        var logger = Logger(label: "boogyman.test") { label in JSONLogHandler(label: label, write: { lines.append($0) }) }
        logger[metadataKey: "request_id"] = "req-1"
        logger.info("member \"Ana\"\nsaved", metadata: [
            "password": "hunter22hunter", "api_key": "kisi-secret", "member_id": "42", "token": "7",
        ])
        logger.warning("nested", metadata: ["kisi": ["status": "503", "attempts": ["1", "2"]]])
        let written = lines.all
        #expect(written.count == 2)
        for line in written {
            #expect(line.hasSuffix("\n"))
            #expect(line.dropLast().contains("\n") == false)
        }
        let first = try #require(try JSONSerialization.jsonObject(with: Data(written[0].utf8)) as? [String: Any])
        #expect(Set(first.keys) == ["time", "level", "label", "message", "metadata"])
        #expect(first["level"] as? String == "info")
        #expect(first["label"] as? String == "boogyman.test")
        #expect(first["message"] as? String == "member \"Ana\"\nsaved")
        let time = try #require(first["time"] as? String)
        #expect(time.count == 24 && time.hasSuffix("Z") && time.contains("T"), "\(time)")
        let metadata = try #require(first["metadata"] as? [String: String])
        // A lease's fencing token is not a secret; only keys that name one are redacted.
        #expect(metadata == ["request_id": "req-1", "member_id": "42", "token": "7", "password": "<redacted>", "api_key": "<redacted>"])
        #expect(!written[0].contains("hunter22hunter") && !written[0].contains("kisi-secret"))
        let second = try #require(try JSONSerialization.jsonObject(with: Data(written[1].utf8)) as? [String: Any])
        let nested = try #require((second["metadata"] as? [String: Any])?["kisi"] as? [String: Any])
        #expect(nested["attempts"] as? [String] == ["1", "2"])
    }

    @Test("The demo keeps a generated master key in a 0600 file beside its database, and serve's configuration with that file opens the stored Kisi key")
    func demoKeyReopensWithServe() async throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let databasePath = folder.appendingPathComponent("demo.sqlite").path
        let (key, stored) = try DemoMasterKey.resolve(configured: nil, databasePath: databasePath)
        let keyFile = try #require(stored)
        #expect(keyFile == DemoMasterKey.filePath(forDatabase: databasePath))
        let permissions = try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? Int
        #expect(permissions == 0o600)

        var logger = Logger(label: "boogyman.production-tests")
        logger.logLevel = .warning
        let demo = try await GymServer.openDatabase(AppConfiguration(database: .sqliteFile(path: databasePath)), logger: logger)
        try await demo.repository.saveKisiSettings(
            KisiSettings(apiKey: SandboxSeed.demoAPIKey, organizationID: 1, baseURL: "http://127.0.0.1:9292"), masterKey: key)
        await demo.shutdown()

        // What `BOOGYMAN_MASTER_KEY_FILE=<file> boogyman serve --database <demo database>` resolves and opens.
        let serve = try AppConfiguration.resolve(database: databasePath, environment: ["BOOGYMAN_MASTER_KEY_FILE": keyFile])
        let reopened = try await GymServer.openDatabase(serve, logger: logger)
        let settings = try await reopened.repository.kisiSettings(masterKey: try #require(serve.masterKey))
        await reopened.shutdown()
        #expect(settings?.apiKey == SandboxSeed.demoAPIKey)
        #expect(settings?.organizationID == 1)

        // With BOOGYMAN_MASTER_KEY set the demo uses it and leaves no key file (a stale one goes).
        let configured = MasterKey.generate()
        let (used, none) = try DemoMasterKey.resolve(configured: configured, databasePath: databasePath)
        #expect(used.base64 == configured.base64)
        #expect(none == nil)
        #expect(!FileManager.default.fileExists(atPath: keyFile))
    }

    @Test("A demo run without BOOGYMAN_MASTER_KEY says where its key is; after it stops, boogyman serve with that file reports Kisi connected, and without it not")
    func demoBinaryThenServe() async throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let databasePath = folder.appendingPathComponent("demo.sqlite").path
        let port = try unusedPort(), sandboxPort = try unusedPort()
        let output = folder.appendingPathComponent("demo.out")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = try #require(CommandLineRun.binary, "build the boogyman product first (swift build)")
        process.arguments = [
            "demo", "--database", databasePath, "--port", String(port), "--sandbox-port", String(sandboxPort), "--members", "4",
        ]
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BOOGYMAN_") }
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        var printed = ""
        for _ in 0..<1200 where !printed.contains("Press Ctrl-C") && process.isRunning {
            try await Task.sleep(for: .milliseconds(100))
            printed = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        }
        let ready = await HealthProbe.problem(url: HealthProbe.url(host: "0.0.0.0", port: port))
        process.interrupt()
        process.waitUntilExit()
        #expect(printed.contains("Press Ctrl-C"), "\(printed)")
        #expect(ready == nil, "\(ready ?? "")")
        let keyFile = DemoMasterKey.filePath(forDatabase: databasePath)
        #expect(printed.contains("BOOGYMAN_MASTER_KEY_FILE=\(keyFile) boogyman serve --database \(databasePath)"), "\(printed)")

        var logger = Logger(label: "boogyman.production-tests")
        logger.logLevel = .warning
        let serve = try AppConfiguration.resolve(database: databasePath, environment: ["BOOGYMAN_MASTER_KEY_FILE": keyFile])
        let database = try await GymServer.openDatabase(serve, logger: logger)
        let settings = try? await database.repository.kisiSettings(masterKey: try #require(serve.masterKey))
        await database.shutdown()
        #expect(settings?.apiKey == SandboxSeed.demoAPIKey, "the demo's database does not open with its key file")
        #expect(settings?.baseURL == "http://127.0.0.1:\(sandboxPort)")

        // And the real thing: `serve` on the demo's database, with and without the key file.
        let token = try #require(
            printed.split(separator: "\n").first { $0.contains("API token:") }?.split(separator: " ").last.map(String.init))
        #expect(try await serveReportsKisiConnected(database: databasePath, token: token, environment: ["BOOGYMAN_MASTER_KEY_FILE": keyFile]) == true)
        #expect(try await serveReportsKisiConnected(database: databasePath, token: token, environment: [:]) == false)
    }

    /// Starts `boogyman serve` on `database`, reads `connected` from `GET /api/v1/sync/status` once the
    /// server answers and its Kisi supervisor had time to read the stored connection, then stops it.
    func serveReportsKisiConnected(database: String, token: String, environment: [String: String]) async throws -> Bool? {
        let port = try unusedPort()
        let process = Process()
        process.executableURL = try #require(CommandLineRun.binary)
        process.arguments = ["serve", "--database", database, "--port", String(port)]
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BOOGYMAN_") }.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            // Killed, not interrupted: with the demo's sandbox gone, a graceful stop waits out the
            // Kisi client's retries, and only the status matters here.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/v1/sync/status")!)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.timeoutInterval = 3
        var connected: Bool?
        // The supervisor reads the stored connection at start and then every 2 s: ask until it says
        // connected, or for 6 s after the first answer.
        var firstAnswer: ContinuousClock.Instant?
        for _ in 0..<300 where process.isRunning {
            if let (data, response) = try? await URLSession.shared.data(for: request), (response as? HTTPURLResponse)?.statusCode == 200 {
                connected = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["connected"] as? Bool
                if connected == true { break }
                firstAnswer = firstAnswer ?? .now
                if let firstAnswer, ContinuousClock.now - firstAnswer > .seconds(6) { break }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return connected
    }

    @Test("kisi connect reads the API key from standard input when --api-key is absent, refuses an empty one, and still takes --api-key")
    func kisiConnectFromStandardInput() async throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let databasePath = folder.appendingPathComponent("gym.sqlite").path
        let masterKey = MasterKey.generate()
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: .demoSeed(), requestsPerSecond: 0))
        try await sandbox.withRunningServer { kisiPort in
            let base = ["kisi", "connect", "--database", databasePath, "--base-url", "http://127.0.0.1:\(kisiPort)"]
            let environment = ["BOOGYMAN_MASTER_KEY": masterKey.base64]
            let empty = try runBinary(base, environment: environment, input: "\n")
            #expect(empty.status != 0)
            #expect(empty.stderr.contains("no Kisi API key given"), "\(empty.stderr)")
            let wrong = try runBinary(base, environment: environment, input: "not-a-kisi-key\n")
            #expect(wrong.status != 0)
            #expect(!wrong.stderr.contains("not-a-kisi-key") && !wrong.stdout.contains("not-a-kisi-key"))
            let connected = try runBinary(base, environment: environment, input: SandboxSeed.demoAPIKey + "\n")
            #expect(connected.status == 0, "\(connected.stderr)")
            #expect(connected.stdout.contains("Connected to Kisi organization 1"))
            #expect(connected.stdout.contains("anywhere in the organization"), "it says what the key may do: \(connected.stdout)")
            // A place administrator's key works too, and the command says how far it reaches.
            let placeKey = try await sandbox.createAPIKey(.placeAdministrator(of: [1001, 1002]))
            let limited = try runBinary(base + ["--api-key", placeKey.secret], environment: environment, input: "")
            #expect(limited.status == 0, "\(limited.stderr)")
            #expect(limited.stdout.contains("administers places Old Town and Floreasca"), "\(limited.stdout)")
            #expect(limited.stdout.contains("It cannot register a webhook"), "\(limited.stdout)")
            // --api-key still works and then nothing is read from standard input.
            let flagged = try runBinary(base + ["--api-key", SandboxSeed.demoAPIKey], environment: environment, input: "ignored\n")
            #expect(flagged.status == 0, "\(flagged.stderr)")
        }
        var logger = Logger(label: "boogyman.production-tests")
        logger.logLevel = .warning
        let database = try await GymServer.openDatabase(AppConfiguration(database: .sqliteFile(path: databasePath)), logger: logger)
        let settings = try await database.repository.kisiSettings(masterKey: masterKey)
        await database.shutdown()
        #expect(settings?.apiKey == SandboxSeed.demoAPIKey)
    }

    @Test("boogyman --version prints the version")
    func version() throws {
        let run = try runBinary(["--version"], environment: [:], input: "")
        #expect(run.status == 0)
        #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == BuildInfo.version)
    }

    @Test("The health probe asks the loopback address when the server listens on every interface")
    func healthURL() {
        #expect(HealthProbe.url(host: "0.0.0.0", port: 8080) == "http://127.0.0.1:8080/readyz")
        #expect(HealthProbe.url(host: "::", port: 81, path: "/healthz") == "http://127.0.0.1:81/healthz")
        #expect(HealthProbe.url(host: "::1", port: 8080) == "http://[::1]:8080/readyz")
        #expect(HealthProbe.url(host: "10.0.0.5", port: 9000) == "http://10.0.0.5:9000/readyz")
    }
}

/// Collects log lines written from any task.
final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

/// Runs the real binary with only the given `BOOGYMAN_*` variables and `input` on standard input.
private func runBinary(_ arguments: [String], environment: [String: String], input: String) throws -> CommandLineRun {
    let process = Process()
    process.executableURL = try #require(CommandLineRun.binary, "build the boogyman product first (swift build)")
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BOOGYMAN_") }.merging(environment) { $1 }
    let stdin = Pipe(), out = Pipe(), err = Pipe()
    process.standardInput = stdin
    process.standardOutput = out
    process.standardError = err
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandLineRun(
        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
}

/// A port nothing listens on right now (the OS picks it; the socket is closed before use).
private func unusedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    try withUnsafeMutablePointer(to: &address) { pointer in
        try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            guard bind(fd, raw, length) == 0, getsockname(fd, raw, &length) == 0 else { throw UnusedPortError() }
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

private struct UnusedPortError: Error {}
