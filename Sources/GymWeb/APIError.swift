import Foundation
import GymCore
import GymStore
import Hummingbird

/// An error as API clients see it: `{"error": {"status", "code", "message", "fields"}}`.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var fields: [String: [String]]?

    public init(_ status: HTTPResponse.Status, code: String, message: String, fields: [String: [String]]? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
    }

    static func malformedJSON(_ detail: String) -> APIError {
        APIError(.badRequest, code: "malformed_json", message: "The request body is not valid JSON: \(detail)")
    }

    static func badParameter(_ name: String, _ problem: String) -> APIError {
        APIError(.badRequest, code: "bad_parameter", message: "Query parameter \(name) \(problem).")
    }

    /// A `cursor` that is not a `next_cursor` this list handed out.
    static let badCursor = badParameter("cursor", "must be the next_cursor of an earlier page of the same list")

    static func validation(_ errors: FieldErrors) -> APIError {
        APIError(.unprocessableContent, code: "validation_failed", message: "Some fields are invalid: \(errors).", fields: errors.fields)
    }

    static let unauthorized = APIError(
        .unauthorized, code: "unauthorized",
        message: "Send a valid API token as 'Authorization: Bearer <token>'; create one with 'boogyman token create --name NAME'.")

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = ErrorEnvelope(error: .init(status: status.code, code: code, message: message, fields: fields))
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"boogyman\"" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: try JSONCoding.encoder.encode(body))))
    }

    /// Translates the domain's and the store's errors into API errors.
    static func from(_ error: any Error) -> APIError? {
        switch error {
        case let error as APIError: return error
        case let error as FieldErrors: return .validation(error)
        case StoreError.notFound(let entity, let id):
            return APIError(.notFound, code: "not_found", message: "There is no \(entity) with ID \(id).")
        case StoreError.conflict(let message):
            return APIError(.conflict, code: "conflict", message: message.prefix(1).uppercased() + message.dropFirst() + ".")
        case is PageCursor.Mismatch:
            return .badCursor
        default: return nil
        }
    }
}

struct ErrorEnvelope: Encodable {
    struct Detail: Encodable {
        let status: Int
        let code: String
        let message: String
        let fields: [String: [String]]?
    }
    let error: Detail
}

/// Turns thrown domain and store errors into JSON error responses, and hides anything unexpected
/// behind a plain 500 (details go to the log, not to the client).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            if let apiError = APIError.from(error) {
                return try apiError.response(from: request, context: context)
            }
            if let httpError = error as? any HTTPResponseError {
                return try APIError(httpError.status, code: "http_\(httpError.status.code)", message: httpError.status.reasonPhrase)
                    .response(from: request, context: context)
            }
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            return try APIError(.internalServerError, code: "internal_error", message: "Something went wrong on our side; the change was not applied.")
                .response(from: request, context: context)
        }
    }
}

extension Request {
    /// Decodes a JSON body. Syntax errors are 400; missing or mistyped fields are 422 with the
    /// field named, the same shape as any other validation failure.
    /// `whenEmpty` is what an empty body means, for actions whose every field is optional.
    func decodeJSON<T: Decodable>(_ type: T.Type, context: some RequestContext, whenEmpty: T? = nil) async throws -> T {
        let buffer = try await body.collect(upTo: context.maxUploadSize)
        let data = Data(buffer: buffer)
        if data.isEmpty {
            if let whenEmpty { return whenEmpty }
            throw APIError.malformedJSON("the body is empty")
        }
        do {
            return try JSONCoding.decoder.decode(T.self, from: data)
        } catch let error as DecodingError {
            throw Self.apiError(for: error)
        }
    }

    static func apiError(for error: DecodingError) -> APIError {
        func field(_ path: [any CodingKey]) -> String {
            path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return .malformedJSON(context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription)
        case .dataCorrupted(let context):
            return .validation(FieldErrors(field: field(context.codingPath), context.debugDescription))
        case .keyNotFound(let key, let context):
            return .validation(FieldErrors(field: field(context.codingPath + [key]), "is required"))
        case .valueNotFound(_, let context) where context.codingPath.isEmpty:
            // A body of `null` is not an object; there is no field to blame.
            return .malformedJSON("expected a JSON object")
        case .valueNotFound(_, let context):
            return .validation(FieldErrors(field: field(context.codingPath), "is required"))
        case .typeMismatch(let type, let context):
            if context.codingPath.isEmpty { return .malformedJSON("expected a JSON object") }
            return .validation(FieldErrors(field: field(context.codingPath), "must be \(describe(type))"))
        @unknown default:
            return .malformedJSON("\(error)")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type, is String?.Type: "a string"
        case is Int.Type, is Int?.Type, is JSONInteger.Type: "an integer"
        case is Bool.Type, is Bool?.Type: "true or false"
        case is [Int].Type, is [JSONInteger].Type: "an array of integers"
        case is [UUID].Type: "an array of IDs"
        default: "of type \(type)"
        }
    }
}
