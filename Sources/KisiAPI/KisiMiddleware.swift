import AsyncHTTPClient
import Foundation
import HTTPTypes
import Logging
import Metrics
import OpenAPIRuntime

/// How an operation may be retried.
enum KisiOperationKind: Sendable, Equatable {
    /// GET: retried on 5xx, timeouts and connection errors.
    case read
    /// PATCH / DELETE: idempotent, retried like reads.
    case idempotentWrite
    /// A POST that creates something: never retried once it may have reached Kisi.
    case create
    /// `POST /locks/{id}/unlock`: never retried once it may have reached Kisi.
    case unlock

    static func of(operationID: String, method: HTTPRequest.Method) -> KisiOperationKind {
        if operationID == "unlockLock" { return .unlock }
        switch method {
        case .get, .head: return .read
        case .patch, .delete, .put: return .idempotentWrite
        default: return .create
        }
    }

    var retriesAfterPossibleDelivery: Bool {
        self == .read || self == .idempotentWrite
    }
}

/// Logs `Deprecation` / `Sunset` once per operation per process.
final class KisiDeprecationLog: @unchecked Sendable {
    static let shared = KisiDeprecationLog()
    private let lock = NSLock()
    private var seen: Set<String> = []

    /// True the first time it is called for `operationID`.
    func shouldLog(_ operationID: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return seen.insert(operationID).inserted
    }
}

/// Kisi's error bodies: `{"error": "...", "code": "..."}` and `{"errors": {"field": ["..."]}}`.
struct KisiErrorBody: Sendable, Hashable {
    var message: String?
    var code: String?
    var fields: [String: [String]]?

    var isKisiEnvelope: Bool { message != nil || code != nil || fields != nil }

    init(message: String? = nil, code: String? = nil, fields: [String: [String]]? = nil) {
        self.message = message
        self.code = code
        self.fields = fields
    }

    init(bytes: [UInt8]) {
        guard !bytes.isEmpty,
            let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        else { return }
        if let error = object["error"] as? String { message = error }
        if let code = object["code"] as? String {
            self.code = code
        } else if let code = object["code"] as? Int {
            self.code = String(code)
        }
        if let errors = object["errors"] as? [String: Any] {
            var map: [String: [String]] = [:]
            for (field, value) in errors {
                if let list = value as? [Any] {
                    map[field] = list.map { "\($0)" }
                } else {
                    map[field] = ["\(value)"]
                }
            }
            fields = map
        } else if let errors = object["errors"] as? [Any] {
            fields = ["base": errors.map { "\($0)" }]
        }
    }
}

/// Everything between the generated client and the transport: headers and authentication, pacing per API
/// key, retries, error mapping, metrics, logging and deprecation warnings.
struct KisiMiddleware: ClientMiddleware {
    let apiKey: KisiAPIKey
    let integrationIdentifier: String?
    let integrationContact: String?
    let retryPolicy: KisiRetryPolicy
    let clock: any KisiClock
    let logger: Logger
    let limiter: KisiRateLimiter
    let eventSetLimiter: KisiRateLimiter
    let deprecationLog: KisiDeprecationLog
    let sharedPacer: (any KisiSharedPacer)?
    let requestsPerSecond: Int

    /// Largest error body read into memory.
    static let maxErrorBodyBytes = 64 * 1024

    init(configuration: KisiClient.Configuration) {
        apiKey = configuration.apiKey
        integrationIdentifier = configuration.integrationIdentifier
        integrationContact = configuration.integrationContact
        retryPolicy = configuration.retryPolicy
        clock = configuration.clock
        logger = configuration.logger
        limiter = KisiRateLimiterRegistry.limiter(
            for: configuration.apiKey,
            scope: "all",
            limit: configuration.requestsPerSecond,
            clock: configuration.clock
        )
        // Kisi documents a custom limit of 1 request/second for POST /event_sets.
        eventSetLimiter = KisiRateLimiterRegistry.limiter(
            for: configuration.apiKey,
            scope: "createEventSet",
            limit: 1,
            clock: configuration.clock
        )
        deprecationLog = .shared
        sharedPacer = configuration.sharedPacer
        requestsPerSecond = configuration.requestsPerSecond
    }

    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        baseURL: URL,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        request.headerFields[.authorization] = "KISI-LOGIN \(apiKey.secret)"
        request.headerFields[.accept] = "application/json"
        request.headerFields[.contentType] = "application/json"
        if let integrationIdentifier {
            request.headerFields[.kisiIntegrationIdentifier] = integrationIdentifier
        }
        if let integrationContact {
            request.headerFields[.kisiIntegrationContact] = integrationContact
        }

        // JSON request bodies are small; buffer them so that every attempt sends the same bytes.
        let bodyBytes: [UInt8]?
        if let body {
            bodyBytes = try await [UInt8](collecting: body, upTo: 16 * 1024 * 1024)
        } else {
            bodyBytes = nil
        }

        let kind = KisiOperationKind.of(operationID: operationID, method: request.method)
        // The path without the query: query strings can carry e-mail addresses.
        let path = request.path.map { String($0.split(separator: "?", maxSplits: 1).first ?? "") } ?? ""
        var logger = self.logger
        logger[metadataKey: "kisi.operation"] = "\(operationID)"
        logger[metadataKey: "kisi.method"] = "\(request.method.rawValue)"
        logger[metadataKey: "kisi.path"] = "\(path)"

        var failures = 0  // 5xx / transport failures so far
        var rateLimited = 0  // 429s so far
        while true {
            try Task.checkCancellation()
            // Leases are held until the response (or failure) arrives: see KisiRateLimiter.
            let isEventSetCreate = operationID == "createEventSet"
            if isEventSetCreate {
                try await eventSetLimiter.acquire()
            }
            do {
                try await limiter.acquire()
            } catch {
                if isEventSetCreate { await eventSetLimiter.release() }
                throw error
            }
            // The shared slot comes last, right before sending: a slot reserved and then held up by
            // a local wait could bunch up with the slots of other processes.
            if let sharedPacer {
                do {
                    if isEventSetCreate { try await sharedPacer.waitForTurn(scope: "createEventSet", requestsPerSecond: 1) }
                    try await sharedPacer.waitForTurn(scope: "all", requestsPerSecond: requestsPerSecond)
                } catch {
                    await limiter.release()
                    if isEventSetCreate { await eventSetLimiter.release() }
                    throw error
                }
            }

            let started = clock.now()
            let response: HTTPResponse
            let responseBody: HTTPBody?
            do {
                (response, responseBody) = try await next(request, bodyBytes.map { HTTPBody($0) }, baseURL)
                await limiter.release()
                if isEventSetCreate { await eventSetLimiter.release() }
            } catch {
                await limiter.release()
                if isEventSetCreate { await eventSetLimiter.release() }
                let underlying = Self.underlying(error)
                if underlying is CancellationError || Task.isCancelled {
                    record(operationID: operationID, method: request.method, status: "cancelled", since: started)
                    throw CancellationError()
                }
                let notSent = Self.certainlyNotSent(underlying)
                let status = Self.isTimeout(underlying) ? "timeout" : "transport_error"
                record(operationID: operationID, method: request.method, status: status, since: started)
                let cause = redact(Self.describe(underlying))
                failures += 1
                if (kind.retriesAfterPossibleDelivery || notSent) && failures < retryPolicy.maxAttempts {
                    let delay = retryPolicy.backoff(forRetry: failures - 1)
                    logger.warning(
                        "Kisi request failed, retrying",
                        metadata: ["kisi.error": "\(cause)", "kisi.attempt": "\(failures)", "kisi.backoff": "\(delay)"]
                    )
                    try await clock.sleep(until: clock.now() + delay)
                    continue
                }
                if !kind.retriesAfterPossibleDelivery && !notSent {
                    logger.error("Kisi request outcome unknown", metadata: ["kisi.error": "\(cause)"])
                    throw KisiError.outcomeUnknown(operation: operationID, cause: cause)
                }
                logger.error("Kisi request failed", metadata: ["kisi.error": "\(cause)"])
                throw KisiError.transport(description: cause)
            }

            let status = response.status.code
            record(operationID: operationID, method: request.method, status: String(status), since: started)
            logDeprecation(response, operationID: operationID, logger: logger)
            logger.debug(
                "Kisi response",
                metadata: ["kisi.status": "\(status)", "kisi.duration": "\(clock.now() - started)"]
            )

            if (200..<300).contains(status) {
                return (response, responseBody)
            }

            let errorBody = KisiErrorBody(bytes: await Self.collect(responseBody))
            let retryAfter = Self.retryAfter(response, now: clock.wallClockNow())

            if status == 429 {
                rateLimited += 1
                if let retryAfter, retryAfter > retryPolicy.maxRetryAfter {
                    throw KisiError.rateLimited(retryAfter: retryAfter, code: errorBody.code)
                }
                guard rateLimited <= retryPolicy.maxRateLimitRetries else {
                    logger.error("Kisi rate limit: giving up", metadata: ["kisi.429s": "\(rateLimited)"])
                    throw KisiError.rateLimited(retryAfter: retryAfter, code: errorBody.code)
                }
                let wait =
                    retryAfter
                    ?? max(retryPolicy.minimumRateLimitBackoff, retryPolicy.backoff(forRetry: rateLimited - 1))
                let resumeAt = clock.now() + wait
                // Every client of this key waits: the server counts per user.
                await limiter.pause(until: resumeAt)
                logger.warning(
                    "Kisi rate limit hit (429), waiting",
                    metadata: ["kisi.wait": "\(wait)", "kisi.retryAfterHeader": "\(retryAfter != nil)"]
                )
                try await clock.sleep(until: resumeAt)
                continue
            }

            if status >= 500 {
                failures += 1
                if kind.retriesAfterPossibleDelivery && failures < retryPolicy.maxAttempts {
                    var delay = retryPolicy.backoff(forRetry: failures - 1)
                    if let retryAfter, retryAfter <= retryPolicy.maxRetryAfter { delay = max(delay, retryAfter) }
                    logger.warning(
                        "Kisi server error, retrying",
                        metadata: ["kisi.status": "\(status)", "kisi.attempt": "\(failures)", "kisi.backoff": "\(delay)"]
                    )
                    try await clock.sleep(until: clock.now() + delay)
                    continue
                }
                if !kind.retriesAfterPossibleDelivery && !errorBody.isKisiEnvelope {
                    // A gateway error or an empty 5xx says nothing about whether Kisi applied the request.
                    logger.error("Kisi request outcome unknown", metadata: ["kisi.status": "\(status)"])
                    throw KisiError.outcomeUnknown(operation: operationID, cause: "HTTP \(status) without a Kisi error body")
                }
                throw KisiError.server(status: status, code: errorBody.code, message: errorBody.message.map(redact))
            }

            throw mapClientError(status: status, body: errorBody)
        }
    }

    // MARK: Error mapping

    func mapClientError(status: Int, body: KisiErrorBody) -> KisiError {
        let message = body.message.map(redact)
        switch status {
        case 401: return .unauthorized(code: body.code, message: message)
        case 403: return .forbidden(code: body.code, message: message)
        case 404: return .notFound(code: body.code, message: message)
        case 409: return .conflict(code: body.code, message: message)
        case 422:
            var fields = body.fields ?? [:]
            if fields.isEmpty, let message { fields = ["base": [message]] }
            return .validation(fields: fields, code: body.code)
        default:
            return .unexpected(status: status, code: body.code, description: message ?? "HTTP \(status)")
        }
    }

    /// Removes the API key from any text that leaves the client (error descriptions of lower layers).
    func redact(_ text: String) -> String {
        guard !apiKey.secret.isEmpty else { return text }
        return text.replacingOccurrences(of: apiKey.secret, with: "<redacted>")
    }

    // MARK: Metrics and logging

    /// One data point per HTTP attempt: `kisi_requests_total` and `kisi_request_duration_seconds`, with the
    /// dimensions operation (Kisi's operationId), method and status (HTTP code, `timeout`,
    /// `transport_error` or `cancelled`).
    func record(operationID: String, method: HTTPRequest.Method, status: String, since started: Duration) {
        let elapsed = clock.now() - started
        let dimensions = [("operation", operationID), ("method", method.rawValue), ("status", status)]
        Counter(label: "kisi_requests_total", dimensions: dimensions).increment()
        let (seconds, attoseconds) = elapsed.components
        Metrics.Timer(label: "kisi_request_duration_seconds", dimensions: dimensions)
            .recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    func logDeprecation(_ response: HTTPResponse, operationID: String, logger: Logger) {
        let deprecation = response.headerFields[.deprecation]
        let sunset = response.headerFields[.sunset]
        guard deprecation != nil || sunset != nil, deprecationLog.shouldLog(operationID) else { return }
        logger.warning(
            "Kisi endpoint is deprecated",
            metadata: [
                "kisi.deprecation": "\(deprecation ?? "-")",
                "kisi.sunset": "\(sunset ?? "-")",
            ]
        )
    }

    // MARK: Helpers

    static func underlying(_ error: any Error) -> any Error {
        var current: any Error = error
        for _ in 0..<4 {
            if let clientError = current as? ClientError {
                current = clientError.underlyingError
            } else {
                break
            }
        }
        return current
    }

    /// Errors that prove the request never left this process (safe to retry even a create).
    static func certainlyNotSent(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError {
            return [
                .connectTimeout, .getConnectionFromPoolTimeout, .tlsHandshakeTimeout, .socksHandshakeTimeout,
                .httpProxyHandshakeTimeout, .alreadyShutdown,
            ].contains(error)
        }
        if error is KisiConnectionNotEstablished { return true }
        return String(describing: type(of: error)) == "NIOConnectionError"
    }

    static func isTimeout(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError {
            return [.deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout].contains(error)
        }
        return false
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "HTTPClientError: \(error)" }
        return String(describing: error)
    }

    static func collect(_ body: HTTPBody?) async -> [UInt8] {
        guard let body else { return [] }
        return (try? await [UInt8](collecting: body, upTo: maxErrorBodyBytes)) ?? []
    }

    /// `Retry-After: <seconds>` or `Retry-After: <HTTP date>`.
    static func retryAfter(_ response: HTTPResponse, now: Date) -> Duration? {
        guard let value = response.headerFields[.retryAfter]?.trimmingCharacters(in: .whitespaces), !value.isEmpty
        else { return nil }
        if let seconds = Double(value), seconds.isFinite, seconds >= 0 {
            return .milliseconds(Int64((seconds * 1000).rounded(.up)))
        }
        if let date = parseHTTPDate(value) {
            let interval = max(0, date.timeIntervalSince(now))
            return .milliseconds(Int64((interval * 1000).rounded(.up)))
        }
        return nil
    }

    static func parseHTTPDate(_ value: String) -> Date? {
        // IMF-fixdate, plus the obsolete RFC 850 and asctime forms HTTP/1.1 recipients must accept.
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: value) { return date }
        }
        return nil
    }
}

/// Throw this from a custom ``OpenAPIRuntime/ClientTransport`` when the connection could not be
/// established, i.e. the request certainly did not reach Kisi: the client then retries even creates.
public struct KisiConnectionNotEstablished: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "connection not established: \(reason)" }
}

extension HTTPField.Name {
    static let kisiIntegrationIdentifier = Self("X-Kisi-Integration-Identifier")!
    static let kisiIntegrationContact = Self("X-Kisi-Integration-Contact")!
    static let deprecation = Self("Deprecation")!
    static let sunset = Self("Sunset")!
}
