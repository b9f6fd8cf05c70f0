import Foundation
import Logging

/// How log lines are written to standard error (`BOOGYMAN_LOG_FORMAT`).
public enum LogFormat: String, Sendable, CaseIterable {
    /// swift-log's readable lines, for a terminal.
    case text
    /// One JSON object per line (`time`, `level`, `label`, `message`, `metadata`), for log collectors.
    case json
}

/// The process's logging backend. swift-log allows one bootstrap per process, so the first call wins;
/// every logger made afterwards, including those libraries make for themselves, writes in that format.
public enum GymLogging {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var bootstrapped: LogFormat?

    /// Sets the process's log format once; later calls change nothing and return the format in force.
    @discardableResult
    public static func bootstrap(_ format: LogFormat) -> LogFormat {
        lock.withLock {
            if let bootstrapped { return bootstrapped }
            if format == .json {
                LoggingSystem.bootstrap { label in JSONLogHandler(label: label) }
            }
            bootstrapped = format
            return format
        }
    }

    /// The format `BOOGYMAN_LOG_FORMAT` asks for; anything but `json` is text (configuration checks the
    /// value and refuses a wrong one before the first log line).
    public static func format(environment: [String: String] = ProcessInfo.processInfo.environment) -> LogFormat {
        LogFormat(rawValue: (environment["BOOGYMAN_LOG_FORMAT"] ?? "").lowercased()) ?? .text
    }
}

/// Writes each message as one line of JSON: `{"time", "level", "label", "message", "metadata"}`.
///
/// Values of metadata keys that name a secret (passwords, API keys and tokens, cookies, the master key) are
/// replaced by `"<redacted>"`: the code does not log secrets, and this keeps a slip from reaching the
/// log collector.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    let label: String
    let write: @Sendable (String) -> Void

    public init(label: String, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.init(label: label, metadataProvider: metadataProvider, write: JSONLogHandler.standardError)
    }

    /// `write` receives each line, newline included (tests collect them).
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let given = event.metadata { merged.merge(given) { _, new in new } }
        var line = "{\"time\":"
        line += Self.quoted(Self.timestamp(Date()))
        line += ",\"level\":" + Self.quoted(event.level.rawValue)
        line += ",\"label\":" + Self.quoted(label)
        line += ",\"message\":" + Self.quoted(event.message.description)
        line += ",\"metadata\":" + Self.object(merged)
        line += "}\n"
        write(line)
    }

    /// Metadata keys whose values are never written, compared lowercased.
    static let secretKeys: Set<String> = [
        "password", "secret", "api_key", "apikey", "authorization", "cookie", "set-cookie", "master_key", "api_token",
        "bearer", "metrics_token", "webhook_secret", "x-sandbox-admin-key",
    ]

    static func isSecret(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return secretKeys.contains(lowered) || lowered.hasSuffix("password") || lowered.hasSuffix("secret") || lowered.hasSuffix("api_key")
    }

    static func object(_ metadata: Logger.Metadata) -> String {
        let fields = metadata.sorted { $0.key < $1.key }.map { key, value in
            quoted(key) + ":" + (isSecret(key) ? quoted("<redacted>") : json(value))
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): quoted(text)
        case .stringConvertible(let convertible): quoted(convertible.description)
        case .dictionary(let dictionary): object(dictionary)
        case .array(let array): "[" + array.map(json).joined(separator: ",") + "]"
        }
    }

    /// A JSON string literal: quotes, backslashes and every control character escaped (a message or a
    /// member's name with a line break stays on its line).
    static func quoted(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-12-04T17:40:00.123Z`.
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!))
    }

    /// One `write` per line, so lines from concurrent tasks never interleave.
    @Sendable static func standardError(_ line: String) {
        FileHandle.standardError.write(Data(line.utf8))
    }
}
