import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Gives every HTTP request an ID, puts it in the request's log metadata (`request_id`) and in the
/// answer's `X-Request-ID`, and logs one line per answered request.
///
/// A reverse proxy's or client's own `X-Request-ID` is kept when it is sane (1–128 characters of
/// letters, digits and `-_.:@`), so one ID follows a request through the proxy's logs and ours;
/// anything else is replaced, never echoed into logs or headers.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    static var headerName: HTTPField.Name { HTTPField.Name("X-Request-ID")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id = Self.acceptableID(request.headers[Self.headerName]) ?? UUID().uuidString.lowercased()
        var context = context
        context.logger[metadataKey: "request_id"] = .string(id)
        // Hummingbird's own per-connection counter would be a second, unrelated ID on every line.
        context.logger[metadataKey: "hb.request.id"] = nil
        let started = ContinuousClock.now
        do {
            var response = try await next(request, context)
            response.headers[Self.headerName] = id
            log(request, status: response.status.code, since: started, logger: context.logger)
            return response
        } catch {
            // Errors are answered further in (ErrorMiddleware); one escaping here is Hummingbird's own.
            log(request, status: (error as? any HTTPResponseError)?.status.code ?? 500, since: started, logger: context.logger)
            throw error
        }
    }

    static func acceptableID(_ text: String?) -> String? {
        guard let text, (1...128).contains(text.utf8.count) else { return nil }
        let allowed = text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "@"): true
            default: false
            }
        }
        return allowed ? text : nil
    }

    /// The path without its query (a query may hold a member's name or e-mail); probes log at debug
    /// level so a health check every few seconds does not drown the rest.
    func log(_ request: Request, status: Int, since started: ContinuousClock.Instant, logger: Logger) {
        let path = request.uri.path
        let level: Logger.Level = ["/healthz", "/readyz", "/metrics"].contains(path) ? .debug : .info
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.log(level: level, "request", metadata: [
            "method": .string(request.method.rawValue),
            "path": .string(path),
            "status": .stringConvertible(status),
            "duration_ms": .string(String(format: "%.1f", milliseconds)),
        ])
    }
}
