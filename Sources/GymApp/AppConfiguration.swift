import AccessSync
import Foundation
import GymStore
import GymWeb
import Logging

/// Everything `boogyman serve` needs, from flags first, then environment, then defaults.
public struct AppConfiguration: Sendable {
    public static let defaultHost = "127.0.0.1"
    public static let defaultPort = 8080
    public static let defaultDatabase = "boogyman.sqlite"

    public var host: String
    public var port: Int
    public var database: DatabaseLocation
    public var logLevel: Logger.Level
    /// `text` (one readable line per message) or `json` (one JSON object per line, for log collectors):
    /// `BOOGYMAN_LOG_FORMAT`.
    public var logFormat: LogFormat
    /// Seals the Kisi API key in the database (AES-GCM). Without it BooGYMan runs without Kisi.
    public var masterKey: MasterKey?
    /// This replica's name in the sync lease and `GET /api/v1/sync/status`: `BOOGYMAN_REPLICA_ID`, else host:pid.
    public var replicaID: String
    /// How long the sync lease lasts without a heartbeat (`BOOGYMAN_SYNC_LEASE_TTL`, seconds, default 15).
    public var syncLeaseTTL: Duration
    /// How often the leader renews it and the others try to take it (`BOOGYMAN_SYNC_HEARTBEAT`, seconds, default 3).
    public var syncHeartbeat: Duration
    /// How long after the last full look at Kisi the rolling sweep reads everything BooGYMan manages
    /// again (`BOOGYMAN_SYNC_SWEEP_INTERVAL`, seconds, default 600).
    public var syncSweepInterval: Duration
    /// The share of the key's Kisi requests the sweep may take while changes wait
    /// (`BOOGYMAN_SYNC_SWEEP_SHARE`, percent from 1 to 100, default 20).
    public var syncSweepShare: Double
    /// Marks the admin UI's cookies `Secure`; turn on when BooGYMan is reached over HTTPS.
    public var secureCookies: Bool
    /// Reverse proxies whose `X-Forwarded-For` names the client (`BOOGYMAN_TRUSTED_PROXIES`, comma-separated
    /// addresses and CIDR blocks); empty means the socket's peer is the client.
    public var trustedProxies: TrustedProxies
    /// When set, `GET /metrics` answers only requests with `Authorization: Bearer <token>`
    /// (`BOOGYMAN_METRICS_TOKEN` or `BOOGYMAN_METRICS_TOKEN_FILE`).
    public var metricsToken: String?

    /// The variables holding secrets. Each may instead name a file holding the value in `<NAME>_FILE`
    /// (container platforms mount secrets as files), so the value stays out of the environment.
    public static let secretVariables = ["BOOGYMAN_MASTER_KEY", "BOOGYMAN_DATABASE", "BOOGYMAN_METRICS_TOKEN"]

    public init(
        host: String = defaultHost, port: Int = defaultPort, database: DatabaseLocation, logLevel: Logger.Level = .info,
        logFormat: LogFormat = .text, masterKey: MasterKey? = nil, replicaID: String = SyncLeadership.replicaID(), syncLeaseTTL: Duration = .seconds(15),
        syncHeartbeat: Duration = .seconds(3), secureCookies: Bool = false, trustedProxies: TrustedProxies = TrustedProxies(),
        metricsToken: String? = nil, syncSweepInterval: Duration = .seconds(600), syncSweepShare: Double = 0.2
    ) {
        self.syncSweepInterval = syncSweepInterval
        self.syncSweepShare = syncSweepShare
        self.host = host
        self.port = port
        self.database = database
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.masterKey = masterKey
        self.replicaID = replicaID
        self.syncLeaseTTL = syncLeaseTTL
        self.syncHeartbeat = syncHeartbeat
        self.secureCookies = secureCookies
        self.trustedProxies = trustedProxies
        self.metricsToken = metricsToken
    }

    /// The value of a secret variable: `NAME` itself, or the contents of the file `NAME_FILE` names
    /// (one trailing line break dropped, as `echo` and editors leave one). Setting both is refused, so
    /// a stale value cannot silently win. Errors name the variable and the file, never the value.
    public static func secret(_ name: String, environment: [String: String]) throws -> String? {
        let direct = environment[name].flatMap { $0.isEmpty ? nil : $0 }
        guard let path = environment[name + "_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) else { return direct }
        guard direct == nil else { throw ConfigurationError("set \(name) or \(name)_FILE, not both") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("\(name)_FILE names \(path), which cannot be read")
        }
        guard var text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError("\(name)_FILE names \(path), which is not UTF-8 text")
        }
        if text.hasSuffix("\r\n") {
            text.removeLast(1)  // "\r\n" is one Character
        } else if text.hasSuffix("\n") {
            text.removeLast()
        }
        guard !text.isEmpty else { throw ConfigurationError("\(name)_FILE names \(path), which is empty") }
        return text
    }

    /// Resolves each setting: an explicit flag wins over `BOOGYMAN_*` variables, which win over defaults.
    public static func resolve(
        host: String? = nil, port: Int? = nil, database: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> AppConfiguration {
        let resolvedPort: Int
        if let port {
            resolvedPort = port
        } else if let text = environment["BOOGYMAN_PORT"] {
            guard let value = Int(text), (0...65535).contains(value) else {
                throw ConfigurationError("BOOGYMAN_PORT must be a port number, got \"\(text)\"")
            }
            resolvedPort = value
        } else {
            resolvedPort = defaultPort
        }
        let levelText = environment["BOOGYMAN_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
            throw ConfigurationError("BOOGYMAN_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical")
        }
        let formatText = (environment["BOOGYMAN_LOG_FORMAT"] ?? "").lowercased()
        guard let format = formatText.isEmpty ? .text : LogFormat(rawValue: formatText) else {
            throw ConfigurationError("BOOGYMAN_LOG_FORMAT must be text or json, got \"\(formatText)\"")
        }
        var masterKey: MasterKey?
        if let text = try secret("BOOGYMAN_MASTER_KEY", environment: environment) {
            do {
                masterKey = try MasterKey(base64: text)
            } catch {
                throw ConfigurationError("BOOGYMAN_MASTER_KEY must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`): \(error)")
            }
        }
        func seconds(_ name: String, default value: Double) throws -> Duration {
            guard let text = environment[name], !text.isEmpty else { return .milliseconds(Int(value * 1000)) }
            guard let number = Double(text), number > 0, number <= 3600 else {
                throw ConfigurationError("\(name) must be a number of seconds between 0 and 3600, got \"\(text)\"")
            }
            return .milliseconds(Int(number * 1000))
        }
        let ttl = try seconds("BOOGYMAN_SYNC_LEASE_TTL", default: 15)
        let heartbeat = try seconds("BOOGYMAN_SYNC_HEARTBEAT", default: 3)
        // A heartbeat must land well before the lease runs out, or a healthy leader would lose it.
        guard heartbeat * 2 <= ttl else {
            throw ConfigurationError("BOOGYMAN_SYNC_HEARTBEAT must be at most half of BOOGYMAN_SYNC_LEASE_TTL")
        }
        let sweepInterval = try seconds("BOOGYMAN_SYNC_SWEEP_INTERVAL", default: 600)
        let shareText = environment["BOOGYMAN_SYNC_SWEEP_SHARE"] ?? ""
        let sweepPercent = shareText.isEmpty ? 20 : Double(shareText)
        guard let sweepPercent, sweepPercent >= 1, sweepPercent <= 100 else {
            throw ConfigurationError("BOOGYMAN_SYNC_SWEEP_SHARE must be a percentage from 1 to 100, got \"\(shareText)\"")
        }
        let secureText = (environment["BOOGYMAN_SECURE_COOKIES"] ?? "").lowercased()
        guard ["", "0", "1", "true", "false", "yes", "no"].contains(secureText) else {
            throw ConfigurationError("BOOGYMAN_SECURE_COOKIES must be true or false, got \"\(secureText)\"")
        }
        let trustedProxies: TrustedProxies
        do {
            trustedProxies = try TrustedProxies(parsing: environment["BOOGYMAN_TRUSTED_PROXIES"] ?? "")
        } catch {
            throw ConfigurationError("BOOGYMAN_TRUSTED_PROXIES must list IP addresses or CIDR blocks separated by commas: \(error)")
        }
        let metricsToken = try secret("BOOGYMAN_METRICS_TOKEN", environment: environment)
        if let metricsToken, metricsToken.count < 16 || metricsToken.contains(where: { !$0.isASCII || $0.isWhitespace }) {
            throw ConfigurationError("BOOGYMAN_METRICS_TOKEN must be at least 16 visible ASCII characters (e.g. `openssl rand -hex 32`)")
        }
        // Checked even when --database wins, so a broken secret file is found at once, not at the next deploy.
        let environmentDatabase = try secret("BOOGYMAN_DATABASE", environment: environment)
        return AppConfiguration(
            host: host ?? environment["BOOGYMAN_HOST"] ?? defaultHost,
            port: resolvedPort,
            database: DatabaseLocation(parsing: database ?? environmentDatabase ?? defaultDatabase),
            logLevel: level,
            logFormat: format,
            masterKey: masterKey,
            replicaID: SyncLeadership.replicaID(environment: environment),
            syncLeaseTTL: ttl,
            syncHeartbeat: heartbeat,
            secureCookies: ["1", "true", "yes"].contains(secureText),
            trustedProxies: trustedProxies,
            metricsToken: metricsToken,
            syncSweepInterval: sweepInterval,
            syncSweepShare: sweepPercent / 100)
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension DatabaseLocation {
    /// True for PostgreSQL, where several replicas may run and must share Kisi's rate limit.
    public var isShared: Bool {
        if case .postgres = self { return true }
        return false
    }

    /// True when other processes can open this database (every kind but in-memory SQLite): their Kisi
    /// requests are paced together through it (`boogyman kisi connect` then `serve` on one SQLite
    /// file share the key's five requests a second, as replicas on PostgreSQL do).
    public var pacesKisiTogether: Bool {
        if case .sqliteInMemory = self { return false }
        return true
    }
}
