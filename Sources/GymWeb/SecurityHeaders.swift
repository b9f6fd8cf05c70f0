import HTTPTypes
import Hummingbird

/// Adds the headers that tell browsers not to guess content types, not to leak our URLs (which
/// carry member IDs) to other sites, and not to show any of our answers inside another site's frame.
///
/// Added to the router first, so it wraps everything: JSON, CSV, the admin UI's pages and assets,
/// error responses and unmatched paths (the router's middleware also wraps its 404 responder).
/// A response that already sets one of these headers keeps its own value.
public struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    public static var headers: [(HTTPField.Name, String)] {
        [
            (HTTPField.Name("X-Content-Type-Options")!, "nosniff"),
            (HTTPField.Name("Referrer-Policy")!, "same-origin"),
            (HTTPField.Name("X-Frame-Options")!, "DENY"),
            (.contentSecurityPolicy, "frame-ancestors 'none'"),
        ]
    }

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            // Errors nothing below turned into a response yet (none should reach here, but the
            // framework's own ones, such as a too-large body, would).
            response = try error.response(from: request, context: context)
        }
        for (name, value) in Self.headers where response.headers[name] == nil {
            response.headers[name] = value
        }
        return response
    }
}
