import Foundation
import GymCore
import GymStore
import GymWeb
import Hummingbird
import Logging

/// Loads the session named by the cookie, if it is live. Pages decide for themselves whether they
/// need one (`AdminRoutes.require`), so the sign-in page and assets work without.
struct StaffSessionMiddleware: RouterMiddleware {
    typealias Context = AdminContext
    let repository: GymRepository
    let now: @Sendable () -> Date

    func handle(_ request: Request, context: AdminContext, next: (Request, AdminContext) async throws -> Response) async throws -> Response {
        var context = context
        if let secret = request.cookies[AdminRoutes.sessionCookie]?.value, !secret.isEmpty,
           let session = try await repository.staffSession(secret: secret, now: now()) {
            context.session = session
            context.sessionSecret = secret
            context.logger[metadataKey: "staff_id"] = "\(session.staff.id)"
        }
        return try await next(request, context)
    }
}

/// Turns failures into HTML pages (the JSON API's error middleware never sees admin errors) and
/// repository validation errors into plain messages.
struct AdminErrorMiddleware: RouterMiddleware {
    typealias Context = AdminContext
    let views: AdminViews

    func handle(_ request: Request, context: AdminContext, next: (Request, AdminContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch AdminError.signInRequired(let returnTo) {
            let target = "/admin/login?next=" + (returnTo.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
            return Response(status: .seeOther, headers: [.location: target])
        } catch {
            let (status, title, message) = Self.describe(error)
            if status == .internalServerError {
                context.logger.error("admin page failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            }
            var data: [String: Any] = ["title": title, "message": message, "status": status.code]
            if let session = context.session {
                data.merge(AdminRoutes.layoutData(session: session, csrf: context.csrfToken, active: "")) { current, _ in current }
            }
            do {
                return try views.page("error", data, status: status)
            } catch {
                return Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: message)))
            }
        }
    }

    static func describe(_ error: any Error) -> (HTTPResponse.Status, String, String) {
        switch error {
        case AdminError.forbidden:
            return (.forbidden, "Not allowed", "Your role does not allow this page or action. Ask the gym's owner if you need it.")
        case AdminError.csrfRejected:
            return (.forbidden, "Form expired", "The form was not sent from this site's current page (missing or wrong security token). Go back, reload the page and try again.")
        case AdminError.notFound:
            return (.notFound, "Not found", "There is no such page or record.")
        case AdminError.badRequest(let message):
            return (.badRequest, "Bad request", message)
        case let error as StoreError:
            switch error {
            case .notFound: return (.notFound, "Not found", "There is no such record; it may have been deleted.")
            case .conflict(let message): return (.conflict, "Conflict", message)
            case .corrupt: return (.internalServerError, "Server problem", "Stored data could not be read. The problem was logged.")
            }
        case let error as FieldErrors:
            return (.unprocessableContent, "Check the input", error.description)
        case let error as HTTPError:
            return (error.status, "Request failed", error.body ?? "The request could not be handled.")
        default:
            return (.internalServerError, "Server problem", "Something went wrong on the server. The problem was logged.")
        }
    }
}

/// Replaces the socket's peer with the client's address when the peer is a trusted reverse proxy:
/// behind a proxy every request comes from the proxy, and throttling by that address would make
/// one attacker lock out everyone.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = AdminContext
    let proxies: TrustedProxies

    func handle(_ request: Request, context: AdminContext, next: (Request, AdminContext) async throws -> Response) async throws -> Response {
        guard !proxies.ranges.isEmpty else { return try await next(request, context) }
        var context = context
        context.clientAddress = proxies.clientAddress(
            peer: context.clientAddress, forwardedFor: request.headers[values: HTTPFields.Element.Name("X-Forwarded-For")!])
        return try await next(request, context)
    }
}
