import Foundation
import GymCore
import GymStore
import Hummingbird

// Reading path and query parameters the same way on every API route: bad values are 400s (or 404s for
// path IDs), never crashes.

extension APIContext {
    /// Who acts, as the audit log names API clients: the token's name.
    var actor: String { "api:" + (token?.name ?? "unknown token") }

    /// The `:id` path parameter. Anything that is not a UUID cannot name a row: 404, like an unknown ID.
    func id(_ entity: String) throws -> UUID {
        let raw = parameters.get("id") ?? ""
        guard let id = UUID(uuidString: raw) else {
            // Quoted back only while short: the path may be as long as the server accepts.
            let named = raw.unicodeScalars.count <= 64 ? " with ID \(raw)" : " with that ID"
            throw APIError(.notFound, code: "not_found", message: "There is no \(entity)\(named).")
        }
        return id
    }
}

extension Request {
    /// `limit` and `offset`, and with `cursor: true` (the lists that page by key) the `cursor` a
    /// previous page handed out as `next_cursor`.
    func pageRequest(cursor acceptsCursor: Bool = false) throws -> PageRequest {
        let limit = try intParameter("limit", in: 1...PageRequest.maximumLimit) ?? 50
        let offset = try intParameter("offset", in: 0...PageRequest.maximumOffset) ?? 0
        var cursor: PageCursor?
        if acceptsCursor, let token = uri.queryParameters.get("cursor") {
            guard let parsed = PageCursor(token: String(token)) else { throw APIError.badCursor }
            cursor = parsed
        }
        return PageRequest(limit: limit, offset: offset, cursor: cursor)
    }

    /// A free-text query parameter (`formParameter`), refused with 400 when longer than
    /// ``TextLimits/query`` or when it holds control characters.
    func textParameter(_ name: String) throws -> String? {
        guard let value = formParameter(name) else { return nil }
        if value.unicodeScalars.count > TextLimits.query {
            throw APIError.badParameter(name, "must be at most \(TextLimits.query) characters")
        }
        if Validate.containsControlCharacters(value) { throw APIError.badParameter(name, "must not contain control characters") }
        return value
    }

    /// A free-text query parameter decoded the way HTML forms, `URLSearchParams` and most HTTP
    /// clients encode it: `+` is a space (a literal plus arrives as `%2B`). Hummingbird's
    /// `queryParameters` keeps `+` as is, so `q=ana+pop` would search for "ana+pop".
    func formParameter(_ name: String) -> String? {
        guard let query = uri.query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts[0] == name else { continue }
            let raw = parts.count > 1 ? parts[1].replacingOccurrences(of: "+", with: " ") : ""
            return raw.removingPercentEncoding ?? raw
        }
        return nil
    }

    /// An integer query parameter within `range`. Checked here, before any arithmetic: an offset
    /// near `Int.max` once overflowed `offset + limit` and stopped the whole process.
    func intParameter(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let raw = uri.queryParameters.get(name) else { return nil }
        guard let value = Int(raw), range.contains(value) else {
            throw APIError.badParameter(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func boolParameter(_ name: String) throws -> Bool? {
        guard let raw = uri.queryParameters.get(name) else { return nil }
        switch raw { case "true", "1": return true
        case "false", "0": return false
        default: throw APIError.badParameter(name, "must be true or false")
        }
    }

    func uuidParameter(_ name: String) throws -> UUID? {
        guard let raw = uri.queryParameters.get(name) else { return nil }
        guard let value = UUID(uuidString: raw) else { throw APIError.badParameter(name, "must be a UUID") }
        return value
    }

    func instantParameter(_ name: String) throws -> Date? {
        guard let raw = uri.queryParameters.get(name) else { return nil }
        guard let value = LocalDate.instant(iso8601: raw) else {
            let years = LocalDate.supportedYears
            throw APIError.badParameter(
                name, "must be an ISO 8601 instant on a real date in the years \(years.lowerBound) to \(years.upperBound), such as 2026-12-31T22:00:00Z")
        }
        return value
    }
}
