import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes

public enum SecurityHeaders {
    /// Each header with the value it gets unless the response already chose one.
    public static let fields: [(HTTPField.Name, String)] = [
        (HTTPField.Name("X-Content-Type-Options")!, "nosniff"),
        (HTTPField.Name("Referrer-Policy")!, "same-origin"),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
        (.contentSecurityPolicy, "frame-ancestors 'none'"),
    ]
}

/// Adds the headers that tell browsers not to guess content types, not to leak our URLs (which
/// carry member IDs) to other sites, and not to show any of our answers inside another site's frame.
///
/// Added to the router first, so it wraps everything: JSON, CSV, the admin UI's pages and assets,
/// error responses and unmatched paths (the router's middleware also wraps its 404 responder).
/// A response that already sets one of these headers keeps its own value.
public struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
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
        for (name, value) in SecurityHeaders.fields where response.headers[name] == nil {
            response.headers[name] = value
        }
        return response
    }
}

/// The same headers for the answers the HTTP server writes itself, before any router sees the
/// request: a request line or header block too large or malformed to parse is answered 400 by the
/// server's connection handler. Installed in the channel pipeline (`.http1(additionalChannelHandlers:)`),
/// it sees every response head on its way out.
public final class SecurityHeadersChannelHandler: ChannelOutboundHandler, RemovableChannelHandler {
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    public init() {}

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(var head) = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        for (name, value) in SecurityHeaders.fields where head.headerFields[name] == nil {
            head.headerFields[name] = value
        }
        context.write(wrapOutboundOut(.head(head)), promise: promise)
    }
}
