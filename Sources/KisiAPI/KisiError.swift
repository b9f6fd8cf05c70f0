import Foundation

/// Every error a ``KisiClient`` call throws. `code` is Kisi's 6-character error code (`{"error", "code"}`
/// body) when the response had one. No case ever contains the API key.
public enum KisiError: Error, Sendable, Hashable {
    /// 401: the API key is missing, wrong, expired or revoked.
    case unauthorized(code: String?, message: String?)
    /// 403: the key's user may not do this.
    case forbidden(code: String?, message: String?)
    /// 404: the object does not exist or is not visible to the key (or the endpoint does not exist).
    case notFound(code: String?, message: String?)
    /// 409: e.g. unlocking a door that is locked down.
    case conflict(code: String?, message: String?)
    /// 422: validation failed; `fields` is Kisi's `{"errors": {"field": ["message", ...]}}` map.
    case validation(fields: [String: [String]], code: String?)
    /// 429 and the retry budget (``KisiRetryPolicy/maxRateLimitRetries``) is spent, or `Retry-After` asks
    /// for a longer wait than ``KisiRetryPolicy/maxRetryAfter``.
    case rateLimited(retryAfter: Duration?, code: String?)
    /// 5xx after retries (or at once for operations that are not retried).
    case server(status: Int, code: String?, message: String?)
    /// The request failed before a response arrived (connection error, timeout) after retries.
    case transport(description: String)
    /// A create (or unlock) may or may not have been applied: the response was lost (timeout, connection
    /// error after sending, or a 5xx without a Kisi error body). Look the object up before creating again.
    case outcomeUnknown(operation: String, cause: String)
    /// Listing would need an `offset` above Kisi's maximum of 20,000. Narrow the filter (place, group,
    /// query, email) so that the result has at most `reachable` items.
    case paginationCeiling(operation: String, total: Int, reachable: Int)
    /// Anything else: other 4xx statuses, undocumented 2xx statuses, undecodable bodies.
    case unexpected(status: Int?, code: String?, description: String)

    /// Kisi's error code, if the response carried one.
    public var code: String? {
        switch self {
        case .unauthorized(let code, _), .forbidden(let code, _), .notFound(let code, _), .conflict(let code, _):
            return code
        case .validation(_, let code), .rateLimited(_, let code):
            return code
        case .server(_, let code, _), .unexpected(_, let code, _):
            return code
        case .transport, .outcomeUnknown, .paginationCeiling:
            return nil
        }
    }

    /// The HTTP status behind the error, when there was a response.
    public var httpStatus: Int? {
        switch self {
        case .unauthorized: return 401
        case .forbidden: return 403
        case .notFound: return 404
        case .conflict: return 409
        case .validation: return 422
        case .rateLimited: return 429
        case .server(let status, _, _): return status
        case .unexpected(let status, _, _): return status
        case .transport, .outcomeUnknown, .paginationCeiling: return nil
        }
    }
}

extension KisiError: CustomStringConvertible, CustomDebugStringConvertible, LocalizedError {
    public var description: String {
        func suffix(_ code: String?, _ message: String?) -> String {
            var parts: [String] = []
            if let code { parts.append("code \(code)") }
            if let message { parts.append(message) }
            return parts.isEmpty ? "" : " (" + parts.joined(separator: ": ") + ")"
        }
        switch self {
        case .unauthorized(let code, let message):
            return "Kisi: unauthorized (401)" + suffix(code, message)
        case .forbidden(let code, let message):
            return "Kisi: forbidden (403)" + suffix(code, message)
        case .notFound(let code, let message):
            return "Kisi: not found (404)" + suffix(code, message)
        case .conflict(let code, let message):
            return "Kisi: conflict (409)" + suffix(code, message)
        case .validation(let fields, let code):
            let text = fields.keys.sorted().map { "\($0): \(fields[$0]!.joined(separator: ", "))" }.joined(separator: "; ")
            return "Kisi: validation failed (422)" + suffix(code, text.isEmpty ? nil : text)
        case .rateLimited(let retryAfter, let code):
            return "Kisi: rate limited (429)" + suffix(code, retryAfter.map { "retry after \($0)" })
        case .server(let status, let code, let message):
            return "Kisi: server error (\(status))" + suffix(code, message)
        case .transport(let description):
            return "Kisi: transport error: \(description)"
        case .outcomeUnknown(let operation, let cause):
            return "Kisi: outcome of \(operation) unknown (\(cause)); look the object up before retrying"
        case .paginationCeiling(let operation, let total, let reachable):
            return "Kisi: \(operation) has \(total) items but offset pagination reaches only \(reachable); narrow the filter"
        case .unexpected(let status, let code, let description):
            return "Kisi: unexpected response\(status.map { " (\($0))" } ?? "")" + suffix(code, description)
        }
    }

    public var debugDescription: String { description }
    public var errorDescription: String? { description }
}
