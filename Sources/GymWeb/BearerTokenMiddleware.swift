import Foundation
import GymStore
import Hummingbird

/// Requires `Authorization: Bearer <token>` with a live API token on every API route.
struct BearerTokenMiddleware: RouterMiddleware {
    let repository: GymRepository

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            throw APIError.unauthorized
        }
        let secret = String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard let token = try await repository.authenticate(secret: secret) else { throw APIError.unauthorized }
        var context = context
        context.token = token
        return try await next(request, context)
    }
}
