import Foundation
import HTTPTypes
import Logging
import OpenAPIRuntime

@testable import KisiAPI

/// A virtual clock: `sleep(until:)` returns at once and moves time forward, so backoff, pacing and
/// `Retry-After` waits cost no real time and every timestamp is deterministic.
final class VirtualClock: KisiClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Duration = .zero
    private var sleepLog: [Duration] = []
    let wallOrigin: Date

    init(wallOrigin: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
        self.wallOrigin = wallOrigin
    }

    func now() -> Duration {
        lock.withLock { current }
    }

    func sleep(until deadline: Duration) async throws {
        try Task.checkCancellation()
        lock.withLock {
            sleepLog.append(deadline - current)
            if deadline > current { current = deadline }
        }
        await Task.yield()
    }

    func wallClockNow() -> Date {
        wallOrigin.addingTimeInterval(seconds(now()))
    }

    /// Every requested sleep, as a duration from the time it was requested.
    var sleeps: [Duration] {
        lock.withLock { sleepLog }
    }
}

func seconds(_ duration: Duration) -> Double {
    let (s, atto) = duration.components
    return Double(s) + Double(atto) / 1e18
}

/// One request as the fake transport received it.
struct RecordedRequest: Sendable {
    var request: HTTPRequest
    var body: [UInt8]?
    var baseURL: URL
    var operationID: String
    var sentAt: Duration

    var path: String { request.path ?? "" }
    var pathWithoutQuery: String { String(path.split(separator: "?", maxSplits: 1).first ?? "") }

    var queryItems: [String: String] {
        guard let query = URLComponents(string: "http://x" + path)?.queryItems else { return [:] }
        var items: [String: String] = [:]
        for item in query { items[item.name] = item.value ?? "" }
        return items
    }

    var jsonBody: [String: Any]? {
        guard let body else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
    }

    func header(_ name: String) -> String? {
        request.headerFields[HTTPField.Name(name)!]
    }
}

/// What the fake transport answers.
enum FakeReply: Sendable {
    case response(status: Int, body: String?, headers: [String: String])
    case failure(any Error & Sendable)

    static func json(_ status: Int = 200, _ body: String, headers: [String: String] = [:]) -> FakeReply {
        .response(status: status, body: body, headers: headers)
    }

    static func empty(_ status: Int, headers: [String: String] = [:]) -> FakeReply {
        .response(status: status, body: nil, headers: headers)
    }
}

/// A deterministic `ClientTransport`: records every request (with the virtual send time) and answers
/// from a handler. No network.
final class FakeTransport: ClientTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [RecordedRequest] = []
    private let clock: VirtualClock
    private let handler: @Sendable (RecordedRequest, Int) -> FakeReply

    /// `handler(request, index)`: `index` counts requests from 0.
    init(clock: VirtualClock, handler: @escaping @Sendable (RecordedRequest, Int) -> FakeReply) {
        self.clock = clock
        self.handler = handler
    }

    /// Answers from a script, one reply per request; the last reply repeats.
    convenience init(clock: VirtualClock, script: [FakeReply]) {
        self.init(clock: clock) { _, index in script[min(index, script.count - 1)] }
    }

    var requests: [RecordedRequest] {
        lock.withLock { recorded }
    }

    func send(
        _ request: HTTPRequest,
        body: HTTPBody?,
        baseURL: URL,
        operationID: String
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var bytes: [UInt8]? = nil
        if let body { bytes = try await [UInt8](collecting: body, upTo: 1 << 20) }
        let record = RecordedRequest(
            request: request, body: bytes, baseURL: baseURL, operationID: operationID, sentAt: clock.now()
        )
        let index = lock.withLock {
            recorded.append(record)
            return recorded.count - 1
        }
        switch handler(record, index) {
        case .failure(let error):
            throw error
        case .response(let status, let body, let headers):
            var fields = HTTPFields()
            if body != nil { fields[.contentType] = "application/json" }
            for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
            let response = HTTPResponse(status: .init(code: status), headerFields: fields)
            return (response, body.map { HTTPBody($0) })
        }
    }
}

/// A connection-level failure after the request may have been written (e.g. connection reset).
struct FakeConnectionReset: Error, CustomStringConvertible {
    var description: String { "connection reset by peer" }
}

/// Captures log records (for the key-leak and deprecation tests).
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) {
        lock.withLock { lines.append(line) }
    }

    var all: [String] {
        lock.withLock { lines }
    }

    var logger: Logger {
        var logger = Logger(label: "kisi-test") { _ in CapturingLogHandler(capture: self) }
        logger.logLevel = .trace
        return logger
    }
}

struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        capture.append("\(event.level) \(event.message) \(rendered)")
    }
}

/// A fresh key per test: the per-key rate limiter registry is process-wide.
func uniqueKey() -> String { "test-secret-\(UUID().uuidString)" }

func makeClient(
    key: String = uniqueKey(),
    clock: VirtualClock,
    transport: FakeTransport,
    requestsPerSecond: Int = 5,
    retryPolicy: KisiRetryPolicy = .default,
    logger: Logger = Logger(label: "kisi-test", factory: { _ in SwiftLogNoOpLogHandler() }),
    identifier: String? = "BooGYMan",
    contact: String? = "ops@boogyman.example"
) -> KisiClient {
    KisiClient(
        configuration: .init(
            apiKey: KisiAPIKey(key),
            baseURL: URL(string: "https://kisi.test")!,
            integrationIdentifier: identifier,
            integrationContact: contact,
            requestsPerSecond: requestsPerSecond,
            retryPolicy: retryPolicy,
            logger: logger,
            clock: clock
        ),
        transport: transport
    )
}

// MARK: - JSON fixtures

func userJSON(id: Int, email: String = "", name: String = "Member") -> String {
    let email = email.isEmpty ? "user\(id)@example.com" : email
    return """
        {"id":\(id),"resource_type":"User","name":"\(name)","email":"\(email)","created_at":"2024-01-02T03:04:05Z",
        "updated_at":"2024-01-02T03:04:05.123Z","metadata":{"member_id":"m-\(id)","visits":3},"image":null,
        "otp_required_for_login":false,"password_flow_enabled":false,"access_enabled":true,"last_accessed_at":null,
        "scim_access_enabled":true,"notes":null,"organization_id":7,"confirmed":true,"groups_count":1}
        """
}

func usersJSON(_ ids: Range<Int>) -> String {
    "[" + ids.map { userJSON(id: $0) }.joined(separator: ",") + "]"
}

/// `[{"id":0},...]`: the smallest valid user list (the ceiling tests read 20,100 users).
func minimalUsersJSON(_ ids: Range<Int>) -> String {
    "[" + ids.map { #"{"id":\#($0)}"# }.joined(separator: ",") + "]"
}

let errorJSON401 = #"{"error":"Wrong email address or password.","code":"afc516"}"#
