import Crypto
import Foundation
import GymStore
import Hummingbird

/// `Idempotency-Key` on POSTs of the JSON API, as payment APIs do: a client that did not hear the
/// answer (timeout, dropped connection) sends the same request with the same key again and gets the
/// first answer back, status and body, instead of selling a second subscription.
///
/// - Keys belong to the token that sent them and live for ``lifetime``.
/// - A key sent again with another method, path or body answers 422 `idempotency_key_reused`.
/// - While the first request runs, a duplicate answers 409 `idempotency_key_in_progress`: the key's
///   row is inserted before the work starts, under a unique key, so two copies cannot both run.
/// - Only successful (2xx) answers are kept. A failed request did nothing, so its key is freed and
///   the client may retry it, corrected or not.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = APIContext
    static let header = HTTPFields.Element.Name("Idempotency-Key")!
    static let replayedHeader = HTTPFields.Element.Name("Idempotent-Replayed")!
    static let lifetime: TimeInterval = 24 * 3600
    static let maximumKeyLength = 255

    let repository: GymRepository
    let now: @Sendable () -> Date

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        guard request.method == .post, let key = request.headers[Self.header] else { return try await next(request, context) }
        guard (1...Self.maximumKeyLength).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
            throw APIError(
                .badRequest, code: "bad_idempotency_key",
                message: "Idempotency-Key must be 1 to \(Self.maximumKeyLength) visible ASCII characters, e.g. a UUID.")
        }
        guard let token = context.token else { throw APIError.unauthorized }
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        var hasher = SHA256()
        hasher.update(data: Data("\(request.method.rawValue) \(request.uri.path)?\(request.uri.query ?? "")\n".utf8))
        hasher.update(data: Data(buffer: body))
        let requestHash = hasher.finalize().map { String(format: "%02x", $0) }.joined()

        switch try await repository.claimIdempotencyKey(tokenID: token.id, key: key, requestHash: requestHash, lifetime: Self.lifetime, now: now()) {
        case .mismatch:
            throw APIError(
                .unprocessableContent, code: "idempotency_key_reused",
                message: "This Idempotency-Key was already used with a different request; use a new key for a new request.")
        case .inProgress:
            throw APIError(
                .conflict, code: "idempotency_key_in_progress",
                message: "A request with this Idempotency-Key is still being handled; retry once it has answered.")
        case .replay(let answer):
            var headers: HTTPFields = [Self.replayedHeader: "true"]
            if let contentType = answer.contentType { headers[.contentType] = contentType }
            return Response(
                status: HTTPResponse.Status(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        case .claimed:
            let response: Response
            do {
                response = try await next(request, context)
            } catch {
                try? await repository.releaseIdempotentRequest(tokenID: token.id, key: key)
                throw error
            }
            guard (200..<300).contains(response.status.code) else {
                try? await repository.releaseIdempotentRequest(tokenID: token.id, key: key)
                return response
            }
            let collector = CollectingWriter()
            try await response.body.write(collector.sink)
            let bytes = collector.sink.buffer
            let answer = IdempotentAnswer(
                status: response.status.code, contentType: response.headers[.contentType], body: String(buffer: bytes))
            try await repository.completeIdempotentRequest(tokenID: token.id, key: key, answer: answer)
            return Response(status: response.status, headers: response.headers, body: .init(byteBuffer: bytes))
        }
    }
}

/// Gathers a response body in memory; API answers are small JSON documents.
struct CollectingWriter {
    final class Sink: ResponseBodyWriter {
        var buffer = ByteBuffer()
        func write(_ buffer: ByteBuffer) async throws {
            var buffer = buffer
            self.buffer.writeBuffer(&buffer)
        }
        func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
    let sink = Sink()
}
