import AccessSync
import ArgumentParser
import Foundation
import GymAdmin
import GymApp
import GymCore
import GymStore
import KisiAPI
import KisiSandbox

@main
struct Boogyman: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boogyman",
        abstract: "Gym management that keeps Kisi doors in step with who has paid.",
        version: BuildInfo.version,
        subcommands: [
            Serve.self, Demo.self, Migrate.self, Token.self, Admin.self, Import.self, Kisi.self, Sync.self, Sandbox.self, Health.self,
        ])
}

/// Flags shared by every command that touches the database.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "SQLite file path, :memory:, or postgres:// URL. Default: $BOOGYMAN_DATABASE, else boogyman.sqlite.")
    var database: String?

    func configuration(host: String? = nil, port: Int? = nil) throws -> AppConfiguration {
        try AppConfiguration.resolve(host: host, port: port, database: database)
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Migrate the database, then serve the API until SIGINT/SIGTERM.")

    @OptionGroup var options: DatabaseOptions
    @Option(help: "Address to listen on. Default: $BOOGYMAN_HOST, else 127.0.0.1.") var host: String?
    @Option(help: "Port to listen on. Default: $BOOGYMAN_PORT, else 8080.") var port: Int?

    func run() async throws {
        try await GymServer.serve(try options.configuration(host: host, port: port))
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations and exit.")

    @OptionGroup var options: DatabaseOptions

    func run() async throws {
        let configuration = try options.configuration()
        let logger = GymServer.makeLogger(level: configuration.logLevel)
        let database = try await GymServer.openDatabase(configuration, logger: logger)
        let applied = try await database.appliedMigrations()
        await database.shutdown()
        print("\(configuration.database) is at migration \(applied.last ?? "none") (\(applied.count) applied).")
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage API tokens.", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API token and print it once.")

        @OptionGroup var options: DatabaseOptions
        @Option(help: "Who or what uses the token, e.g. \"front desk tablet\".") var name: String

        func run() async throws {
            let configuration = try options.configuration()
            let database = try await GymServer.openDatabase(configuration, logger: GymServer.makeLogger(level: .warning))
            let (token, secret) = try await database.repository.createAPIToken(name: name)
            await database.shutdown()
            print(secret)
            FileHandle.standardError.write(Data("Created API token \"\(token.name)\" (\(token.id)). It is shown only now; store it safely.\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List API tokens: ID, name, creation and last use (never the secrets).")

        @OptionGroup var options: DatabaseOptions
        @Flag(help: "Also list revoked tokens.") var includeRevoked = false

        func run() async throws {
            let database = try await GymServer.openDatabase(try options.configuration(), logger: GymServer.makeLogger(level: .warning))
            let tokens: [APIToken]
            do {
                tokens = try await database.repository.apiTokens(includingRevoked: includeRevoked)
            } catch {
                await database.shutdown()
                throw error
            }
            await database.shutdown()
            print(Self.table(tokens))
        }

        static func table(_ tokens: [APIToken]) -> String {
            guard !tokens.isEmpty else { return "No API tokens." }
            func when(_ date: Date?) -> String {
                date.map { $0.formatted(.iso8601).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC") } ?? "-"
            }
            var rows = [["ID", "NAME", "CREATED", "LAST USED", "REVOKED"]]
            rows += tokens.map { [$0.id.uuidString, $0.name, when($0.createdAt), $0.lastUsedAt == nil ? "never" : when($0.lastUsedAt), when($0.revokedAt)] }
            let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
            return rows.map { row in
                row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                    .trimmingCharacters(in: .whitespaces)
            }.joined(separator: "\n")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an API token by its ID or name; requests with it are refused from then on.",
            discussion: "A name shared by several live tokens is refused: revoke those by ID (see `boogyman token list`).")

        @OptionGroup var options: DatabaseOptions
        @Argument(help: "The token's ID or exact name.") var token: String

        func run() async throws {
            let database = try await GymServer.openDatabase(try options.configuration(), logger: GymServer.makeLogger(level: .warning))
            let revoked: APIToken
            do {
                revoked = try await database.repository.revokeAPIToken(idOrName: token)
            } catch let error as StoreError {
                await database.shutdown()
                throw ValidationError("\(error)")
            } catch {
                await database.shutdown()
                throw error
            }
            await database.shutdown()
            print("Revoked API token \"\(revoked.name)\" (\(revoked.id)).")
        }
    }
}

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage staff accounts of the admin web UI.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a staff account for the admin web UI (/admin).",
            discussion: "Without --password the password is read from the terminal without echo, or as the first line of standard input.")

        @OptionGroup var options: DatabaseOptions
        @Option(help: "The staff member's e-mail address; it is the sign-in name.") var email: String
        @Option(help: "The staff member's name as pages show it.") var name: String
        @Option(help: "owner, manager or front_desk.") var role: String
        @Option(help: "The password (at least \(StaffPasswords.minimumLength) characters). Prefer the prompt: flags end up in shell history.")
        var password: String?

        func run() async throws {
            guard let staffRole = StaffRole(rawValue: role) else { throw ValidationError("--role must be owner, manager or front_desk") }
            let secret = try password ?? Self.readPassword()
            if let problem = StaffPasswords.problem(with: secret, email: email) { throw ValidationError("the password \(problem)") }
            let database = try await GymServer.openDatabase(try options.configuration(), logger: GymServer.makeLogger(level: .warning))
            let account: StaffAccount
            do {
                account = try await database.repository.createStaff(email: email, name: name, role: staffRole, passwordHash: StaffPasswords.hash(secret))
            } catch let errors as FieldErrors {
                await database.shutdown()
                throw ValidationError("\(errors)")
            } catch {
                await database.shutdown()
                throw error
            }
            await database.shutdown()
            print("Created \(account.role.title.lowercased()) account \(account.email) (\(account.name)). Sign in at /admin.")
        }

        static func readPassword() throws -> String {
            if isatty(STDIN_FILENO) != 0, let typed = getpass("Password: ") {
                return String(cString: typed)
            }
            guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password given on standard input") }
            return line
        }
    }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Import data from files.", subcommands: [Members.self, Subscriptions.self])

    struct Members: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import members from a CSV file with a header row.",
            discussion: "Columns: \(MemberCSV.columns.joined(separator: ",")) (first_name, last_name and email required). Every row is checked first; if any is bad, nothing is imported unless --skip-invalid is given.")

        @OptionGroup var options: DatabaseOptions
        @Argument(help: "The CSV file.") var file: String
        @Flag(help: "Import the valid rows and report the invalid ones instead of importing nothing.") var skipInvalid = false

        @Option(help: "The file's text encoding: utf-8, windows-1250 or windows-1252 (default: UTF-8 when the bytes are UTF-8, else the Windows code page that fits).")
        var encoding: String?

        func run() async throws {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw ValidationError("cannot read \(file)")
            }
            let forced = try Import.encoding(encoding)
            let parsed: MemberCSV.Parsed
            do {
                parsed = try MemberCSV.parse(data, forcedEncoding: forced)
            } catch {
                throw ValidationError("\(file): \(error)")
            }
            print("Read \(file) as \(parsed.summary).")
            let configuration = try options.configuration()
            let database = try await GymServer.openDatabase(configuration, logger: GymServer.makeLogger(level: .warning))
            let result: MemberImportResult
            do {
                // A file with unparseable rows is still validated whole, so one run reports every bad row.
                let dryRun = !parsed.problems.isEmpty && !skipInvalid
                result = try await database.repository.importMembers(parsed.rows.map(\.draft), skipInvalid: skipInvalid, dryRun: dryRun)
            } catch {
                await database.shutdown()
                throw error
            }
            await database.shutdown()

            var problems = parsed.problems
            for (index, errors) in result.problems {
                problems.append(MemberCSV.LineProblem(line: parsed.rows[index].line, message: errors.description))
            }
            problems.sort { $0.line < $1.line }
            for problem in problems { FileHandle.standardError.write(Data("\(file): \(problem)\n".utf8)) }

            if !problems.isEmpty && !skipInvalid {
                print("Imported nothing: \(problems.count) bad row(s). Fix them, or rerun with --skip-invalid to import the \(parsed.rows.count - result.problems.count) good row(s).")
                throw ExitCode(1)
            }
            print("Imported \(result.imported.count) member(s); skipped \(problems.count) bad row(s).")
        }
    }

    static func encoding(_ name: String?) throws -> SpreadsheetCSV.Encoding? {
        guard let name else { return nil }
        guard let encoding = SpreadsheetCSV.Encoding(name: name) else {
            throw ValidationError("--encoding must be utf-8, windows-1250 or windows-1252")
        }
        return encoding
    }

    struct Subscriptions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import members with their subscriptions (plan, start, end, paid-through, freeze, cancellation) from a spreadsheet's CSV.",
            discussion: """
                Columns (any order; "First Name", "E-mail", "Start Date" and similar spellings are understood): \(SubscriptionCSV.columns.joined(separator: ", ")). \
                first_name, last_name and email are required; a row naming a plan (by name) needs start_date and paid_through (or an end_date, \
                taken as paid to its end). Several rows with one e-mail are one member with several subscriptions; a member who exists \
                already gets the subscriptions. Dates: 2026-03-01 or 01.03.2026. Separator (comma, semicolon, tab) and encoding (UTF-8, \
                with or without BOM, else Windows-1250/1252) are detected and printed. Every row is checked first; if any is bad, nothing \
                is imported unless --skip-invalid is given. --dry-run prints what would happen to door access and Kisi users and writes nothing. \
                The import never writes to Kisi: the running sync grants door access from the new subscriptions.
                """)

        @OptionGroup var options: DatabaseOptions
        @Argument(help: "The CSV file.") var file: String
        @Flag(help: "Check everything and print the outcome (door access, Kisi users) without writing.") var dryRun = false
        @Flag(help: "Import the valid rows and report the invalid ones instead of importing nothing.") var skipInvalid = false
        @Option(help: "The file's text encoding: utf-8, windows-1250 or windows-1252 (default: detected).") var encoding: String?

        func run() async throws {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw ValidationError("cannot read \(file)")
            }
            let parsed: SubscriptionCSV.Parsed
            do {
                parsed = try SubscriptionCSV.parse(data, forcedEncoding: try Import.encoding(encoding))
            } catch {
                throw ValidationError("\(file): header row: \(error)")
            }
            print(SubscriptionImportReport.readLine(file: file, parsed))
            let database = try await GymServer.openDatabase(try options.configuration(), logger: GymServer.makeLogger(level: .warning))
            let result: SubscriptionImportResult
            do {
                result = try await database.repository.importSubscriptions(
                    parsed.rows, earlierProblems: parsed.problems, skipInvalid: skipInvalid, dryRun: dryRun)
            } catch {
                await database.shutdown()
                throw error
            }
            await database.shutdown()
            for problem in result.problems { FileHandle.standardError.write(Data("\(file): \(problem)\n".utf8)) }
            if !result.written && !dryRun {
                print("Imported nothing: \(result.problems.count) bad row(s). Fix them, or rerun with --skip-invalid to import the rest.")
                print("The good rows alone would give:")
                for line in SubscriptionImportReport.accessLines(result.access) { print("  " + line) }
                throw ExitCode(1)
            }
            for line in SubscriptionImportReport.outcomeLines(result, dryRun: dryRun) { print(line) }
            if dryRun && !result.problems.isEmpty && !skipInvalid { throw ExitCode(1) }
        }
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a demo gym synced live to a built-in Kisi sandbox: a fresh SQLite file, three clubs, five plans, 300 members.")

    @Option(help: "SQLite file for the demo; replaced on every run.") var database = "boogyman-demo.sqlite"
    @Option(help: "Address to listen on.") var host = AppConfiguration.defaultHost
    @Option(help: "Port to listen on.") var port = AppConfiguration.defaultPort
    @Option(help: "Port of the built-in Kisi sandbox.") var sandboxPort = 9292
    @Option(help: "How many members to create.") var members = 300
    @Option(help: "Password of the demo's owner account (default: random, printed at start).") var adminPassword: String?
    @Flag(inversion: .prefixedNo, help: "Connect the sandbox at start; with --no-connect-kisi, connect it in the admin UI's Settings instead.")
    var connectKisi = true
    @Option(help: ArgumentHelp(
        "Connect with the key of a Kisi user holding this role instead of the organization owner's: administrator, access_manager, or place_administrator (of Old Town and Floreasca, two of the demo's three places). It cannot register a webhook unless administrator; door activity is then read from event sets.",
        valueName: "role"))
    var kisiRole: String?

    func run() async throws {
        guard !database.hasPrefix("postgres") else { throw ValidationError("the demo always uses a fresh SQLite file") }
        let role = try kisiRole.map { text in
            guard let role = DemoKisiRole(rawValue: text) else {
                throw ValidationError("--kisi-role must be \(DemoKisiRole.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard connectKisi else { throw ValidationError("--kisi-role connects Kisi; leave out --no-connect-kisi") }
            return role
        }
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        var settings = try AppConfiguration.resolve(host: host, port: port, database: database)
        // BOOGYMAN_MASTER_KEY if set; else a fresh key kept beside the database, so `serve` can open it later.
        let (masterKey, keyFile) = try DemoMasterKey.resolve(configured: settings.masterKey, databasePath: database)
        settings.masterKey = masterKey
        let configuration = settings
        let logger = GymServer.makeLogger(level: configuration.logLevel)
        let gym = try await GymServer.openDatabase(configuration, logger: logger)
        let today = LocalDate(containing: Date(), in: TimeZone(identifier: "Europe/Bucharest")!)
        let summary = try await DemoGym.seed(gym.repository, today: today, memberCount: members)
        let (_, secret) = try await gym.repository.createAPIToken(name: "demo")
        let ownerPassword = adminPassword ?? MasterKey.generate().base64.filter { $0.isLetter || $0.isNumber }.prefix(16).description
        if let problem = StaffPasswords.problem(with: ownerPassword) { throw ValidationError("--admin-password \(problem)") }
        let owner = try await gym.repository.createStaff(
            email: "owner@demo-gym.example", name: "Demo Owner", role: .owner, passwordHash: StaffPasswords.hash(ownerPassword))

        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: .demoSeed(), logger: logger))
        try await sandbox.withRunningServer(host: "127.0.0.1", port: sandboxPort) { sandboxPort in
            let kisiURL = "http://127.0.0.1:\(sandboxPort)"
            let base = "http://\(host):\(port)"
            // The sandbox sends its events to the demo's webhook, as Kisi would to a gym's public address.
            var keyRights = ""
            if let role {
                let outcome = try await role.connect(
                    sandbox: sandbox, kisiURL: kisiURL, instanceURL: base, repository: gym.repository, masterKey: masterKey, logger: logger)
                keyRights = "  Kisi key:    \(role.secret) (\(role.rawValue)): " + outcome.keyRights.joined(separator: " ") + "\n"
            } else if connectKisi {
                try await gym.repository.saveKisiSettings(
                    KisiSettings(
                        apiKey: SandboxSeed.demoAPIKey, organizationID: 1, baseURL: kisiURL, instanceURL: base, userCreationMode: .invitations),
                    masterKey: masterKey)
            }
            let connection = connectKisi
                ? keyRights + """
                  BooGYMan creates each member's Kisi user and door grant at Kisi's 5 requests/second: the
                  first full sync takes about two minutes; afterwards changes reach Kisi within seconds.
                """
                : """
                  Not connected yet: in the admin UI open Settings and connect with API key \(SandboxSeed.demoAPIKey),
                  Kisi address \(kisiURL) and public address \(base).
                """
            // Written unbuffered: piped output would otherwise hide the token until the server stops.
            FileHandle.standardOutput.write(Data("""
                BooGYMan demo gym: \(summary.clubs) clubs, \(summary.studios) studios, \(summary.plans) plans, \
                \(summary.members) members, \(summary.subscriptions) subscriptions (data in \(database)).
                Kisi: a built-in sandbox on \(kisiURL) (demo organization, places 1001-1003, locks 5001-5024).
                \(connection)
                  API token:   \(secret)
                  Members:     curl -H 'Authorization: Bearer \(secret)' '\(base)/api/v1/members?q=popescu'
                  Door access: curl -H 'Authorization: Bearer \(secret)' \(base)/api/v1/members/<id>/access
                  Sync status: curl -H 'Authorization: Bearer \(secret)' \(base)/api/v1/sync/status
                  Kisi's view: curl -H 'X-Sandbox-Admin-Key: sandbox-admin' '\(kisiURL)/_sandbox/oracle?user_id=<kisi user>&lock_id=5001'
                  API spec:    \(base)/api/v1/openapi.yaml
                Admin UI: \(base)/admin  (owner: \(owner.email) / password: \(ownerPassword))
                \(keyFile.map { "Master key: in \($0); after the demo, `BOOGYMAN_MASTER_KEY_FILE=\($0) boogyman serve --database \(database)` keeps Kisi connected." } ?? "Master key: from BOOGYMAN_MASTER_KEY.")
                Press Ctrl-C to stop.

                """.utf8))
            try await GymServer.application(configuration, database: gym, followsStoredKisiConnection: true, logger: logger).runService()
        }
    }
}

struct Kisi: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Connect BooGYMan to a Kisi organization.", subcommands: [Connect.self, Disconnect.self])

    struct Connect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a Kisi API key against Kisi and store it, sealed with BOOGYMAN_MASTER_KEY.")

        @OptionGroup var options: DatabaseOptions
        @Option(help: "The Kisi API key (the login secret of an organization administrator, access manager or place administrator; the command says what it may do). Prefer the prompt (or one line on standard input): flags end up in shell history and the process list.")
        var apiKey: String?
        @Option(help: "Kisi's API address; a sandbox URL for tests.") var baseURL = KisiSettings.defaultBaseURL
        @Option(help: "Create Kisi users as managed users (no Kisi e-mails) or invite them.") var userCreation = "managed"
        @Option(help: "BooGYMan's public address, for Kisi webhooks.") var instanceURL: String?

        func run() async throws {
            let configuration = try options.configuration()
            guard let masterKey = configuration.masterKey else {
                throw ValidationError("set BOOGYMAN_MASTER_KEY (32 random bytes, base64: `openssl rand -base64 32`) to store the key sealed")
            }
            guard let mode = KisiUserCreationMode(rawValue: userCreation) else {
                throw ValidationError("--user-creation must be managed or invitations")
            }
            let apiKey = try apiKey ?? Self.readAPIKey()
            let logger = GymServer.makeLogger(level: .warning)
            let database = try await GymServer.openDatabase(configuration, logger: logger)
            let outcome: KisiConnectionOutcome
            do {
                // The admin UI's connect flow; paced with a running server's sync through the database.
                outcome = try await KisiConnector.connect(
                    KisiConnector.ConnectRequest(apiKey: apiKey, baseURL: baseURL, instanceURL: instanceURL, userCreationMode: mode),
                    repository: database.repository, masterKey: masterKey, logger: logger,
                    sharedPacing: configuration.database.pacesKisiTogether)
            } catch let problem as KisiProblem {
                await database.shutdown()
                throw ValidationError("Kisi did not accept the key: \(problem.plainWords) (\(problem.detail))")
            } catch {
                await database.shutdown()
                throw error
            }
            await database.shutdown()
            print("Connected to Kisi organization \(outcome.organization.id) \"\(outcome.organization.name)\". `boogyman serve` now keeps its doors in step.")
            // What the key may do, as the admin wizard says it: a limited key is no surprise later.
            for line in outcome.keyRights { print(line) }
        }

        /// The key from the terminal without echo, or the first line of standard input (`< key-file`, a pipe).
        static func readAPIKey() throws -> String {
            let typed: String?
            if isatty(STDIN_FILENO) != 0, let entered = getpass("Kisi API key: ") {
                typed = String(cString: entered)
            } else {
                typed = readLine(strippingNewline: true)
            }
            guard let key = typed?.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty else {
                throw ValidationError("no Kisi API key given: pass --api-key, type it at the prompt or send it as one line on standard input")
            }
            return key
        }
    }

    struct Disconnect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forget the Kisi connection. Access in Kisi stays as it is; nothing is revoked.")

        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let database = try await GymServer.openDatabase(try options.configuration(), logger: GymServer.makeLogger(level: .warning))
            do {
                try await database.repository.deleteKisiSettings()
            } catch {
                await database.shutdown()
                throw error
            }
            await database.shutdown()
            print("Disconnected from Kisi; door access in Kisi was left as it is.")
        }
    }
}

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reconcile Kisi with the gym's data once: show the plan (--dry-run) or apply it (--once).")

    @OptionGroup var options: DatabaseOptions
    @Flag(help: "Show every action with its reason and change nothing.") var dryRun = false
    @Flag(help: "Apply one full reconcile and exit.") var once = false

    func run() async throws {
        guard dryRun != once else { throw ValidationError("give exactly one of --dry-run or --once") }
        let configuration = try options.configuration()
        let logger = GymServer.makeLogger(level: configuration.logLevel)
        let database = try await GymServer.openDatabase(configuration, logger: logger)
        do {
            guard configuration.masterKey != nil else { throw KisiConnection.Problem.noMasterKey }
            guard let engine = try await KisiConnection.engine(
                repository: database.repository, masterKey: configuration.masterKey, logger: logger,
                sharedPacing: configuration.database.pacesKisiTogether)
            else {
                throw KisiConnection.Problem.notConnected
            }
            if dryRun {
                let actions = try await engine.dryRun()
                for action in actions {
                    print("[\(action.priority)] \(action.kind.actionName): \(action.reason)")
                }
                print("\(actions.count) action(s); nothing was changed.")
            } else {
                let report = try await KisiConnection.reconcileOnceUnderLease(engine: engine, repository: database.repository)
                print(report.description)
                if report.isPaused || !report.failures.isEmpty {
                    await database.shutdown()
                    throw ExitCode(1)
                }
            }
        } catch {
            await database.shutdown()
            throw error
        }
        await database.shutdown()
    }
}

struct Sandbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the local Kisi sandbox: a stand-in for api.kisi.io that behaves like Kisi's OpenAPI document.")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 9292
    @Option(help: "Initial data: demo, or a seed JSON file.") var seed = "demo"
    @Option(help: "API key of the demo organization's owner (demo seed only).") var apiKey = SandboxSeed.demoAPIKey
    @Option(help: "Key for the /_sandbox/ control routes (header X-Sandbox-Admin-Key).") var adminKey = "sandbox-admin"
    @Option(help: "Keep the sandbox's data in this JSON file across restarts.") var persist: String?
    @Option(help: "Requests per second allowed per Kisi user, as Kisi does; 0 lifts the limit.") var rateLimit = 5

    func run() async throws {
        let initial: SandboxSeed
        if seed == "demo" {
            initial = SandboxSeed.demoSeed(apiKey: apiKey)
        } else {
            guard let data = FileManager.default.contents(atPath: seed) else { throw ValidationError("cannot read seed file \(seed)") }
            initial = try SandboxSeed.decode(data)
        }
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(
            seed: initial, adminKey: adminKey, persistencePath: persist, requestsPerSecond: rateLimit))
        var lines = ["Kisi sandbox on http://\(host):\(port) (control routes under /_sandbox/, header X-Sandbox-Admin-Key)"]
        for organization in initial.organizations {
            lines.append("Organization \(organization.id) \"\(organization.name)\"")
            for user in organization.users where !(user.apiKeys ?? []).isEmpty {
                lines.append("  API key of \(user.email): \((user.apiKeys ?? []).joined(separator: ", "))")
            }
            for place in organization.places ?? [] {
                let locks = place.locks.map { "\($0.id) \($0.name)" }.joined(separator: "; ")
                lines.append("  Place \(place.id) \(place.name): locks \(locks)")
            }
        }
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        try await sandbox.application(host: host, port: port).runService()
    }
}

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a running server whether it is ready (GET /readyz); exit status 0 if it answered 200, else 1.",
        discussion: "For a container's HEALTHCHECK: the server's address comes from $BOOGYMAN_HOST and $BOOGYMAN_PORT like serve's.")

    @Option(help: "Port of the server. Default: $BOOGYMAN_PORT, else 8080.") var port: Int?
    @Option(help: "Ask this URL instead, e.g. http://127.0.0.1:8080/healthz.") var url: String?
    @Option(help: "Seconds to wait for the answer.") var timeout: Int64 = 3

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let target: String
        if let url {
            target = url
        } else {
            let port = port ?? environment["BOOGYMAN_PORT"].flatMap { Int($0) } ?? AppConfiguration.defaultPort
            target = HealthProbe.url(host: environment["BOOGYMAN_HOST"] ?? AppConfiguration.defaultHost, port: port)
        }
        if let problem = await HealthProbe.problem(url: target, timeoutSeconds: max(1, timeout)) {
            FileHandle.standardError.write(Data("unhealthy: \(problem)\n".utf8))
            throw ExitCode(1)
        }
        print("ready: \(target)")
    }
}
