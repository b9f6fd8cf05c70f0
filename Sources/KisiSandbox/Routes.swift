import Foundation
import Hummingbird
import NIOCore

/// Request context that keeps the channel, so fault injection can close a connection without answering.
struct SandboxContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// The Kisi API surface: method + path pattern → store operation. Handlers are one line; the store does the work.
struct Route: Sendable {
    typealias Handler = @Sendable (SandboxStore, APIRequest) async throws(APIError) -> Reply
    var method: HTTPRequest.Method
    var pattern: [String]
    var handler: Handler

    init(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        self.method = method
        self.pattern = path.split(separator: "/").map(String.init)
        self.handler = handler
    }

    /// Returns the `:id` capture ("" if none) when the path matches.
    func match(_ method: HTTPRequest.Method, _ components: [String]) -> String?? {
        guard method == self.method, components.count == pattern.count else { return nil }
        var id: String?
        for (p, c) in zip(pattern, components) {
            if p == ":id" { id = c } else if p != c { return nil }
        }
        return .some(id)
    }

    static let all: [Route] = [
        Route(.get, "organization") { s, r throws(APIError) in try await s.currentOrganization(r) },
        Route(.get, "user") { s, r throws(APIError) in try await s.currentUser(r) },
        Route(.get, "login") { s, r throws(APIError) in try await s.currentLogin(r) },

        Route(.get, "users") { s, r throws(APIError) in try await s.listUsers(r) },
        Route(.post, "users") { s, r throws(APIError) in try await s.createUser(r) },
        Route(.get, "users/:id") { s, r throws(APIError) in try await s.getUser(r) },
        Route(.patch, "users/:id") { s, r throws(APIError) in try await s.updateUser(r) },
        Route(.delete, "users/:id") { s, r throws(APIError) in try await s.deleteUser(r) },

        Route(.get, "groups") { s, r throws(APIError) in try await s.listGroups(r) },
        Route(.post, "groups") { s, r throws(APIError) in try await s.createGroup(r) },
        Route(.get, "groups/:id") { s, r throws(APIError) in try await s.getGroup(r) },
        Route(.patch, "groups/:id") { s, r throws(APIError) in try await s.updateGroup(r) },
        Route(.delete, "groups/:id") { s, r throws(APIError) in try await s.deleteGroup(r) },

        Route(.get, "group_locks") { s, r throws(APIError) in try await s.listGroupLocks(r) },
        Route(.post, "group_locks") { s, r throws(APIError) in try await s.createGroupLock(r) },
        Route(.get, "group_locks/:id") { s, r throws(APIError) in try await s.getGroupLock(r) },
        Route(.delete, "group_locks/:id") { s, r throws(APIError) in try await s.deleteGroupLock(r) },

        Route(.get, "role_assignments") { s, r throws(APIError) in try await s.listRoleAssignments(r) },
        Route(.post, "role_assignments") { s, r throws(APIError) in try await s.createRoleAssignment(r) },
        Route(.get, "role_assignments/:id") { s, r throws(APIError) in try await s.getRoleAssignment(r) },
        Route(.patch, "role_assignments/:id") { s, r throws(APIError) in try await s.updateRoleAssignment(r) },
        Route(.delete, "role_assignments/:id") { s, r throws(APIError) in try await s.deleteRoleAssignment(r) },

        Route(.get, "roles") { s, r throws(APIError) in await s.listRoles(r) },

        Route(.get, "places") { s, r throws(APIError) in try await s.listPlaces(r) },
        Route(.get, "places/:id") { s, r throws(APIError) in try await s.getPlace(r) },

        Route(.get, "locks") { s, r throws(APIError) in try await s.listLocks(r) },
        Route(.get, "locks/:id") { s, r throws(APIError) in try await s.getLock(r) },
        Route(.post, "locks/:id/unlock") { s, r throws(APIError) in try await s.unlock(r) },

        Route(.post, "invites") { s, r throws(APIError) in try await s.createInvite(r) },

        Route(.post, "event_sets") { s, r throws(APIError) in try await s.createEventSet(r) },
        Route(.get, "event_sets/:id") { s, r throws(APIError) in try await s.getEventSet(r) },

        Route(.get, "integrations") { s, r throws(APIError) in try await s.listIntegrations(r) },
        Route(.post, "integrations") { s, r throws(APIError) in try await s.createIntegration(r) },
        Route(.get, "integrations/:id") { s, r throws(APIError) in try await s.getIntegration(r) },
        Route(.delete, "integrations/:id") { s, r throws(APIError) in try await s.deleteIntegration(r) },
    ]
}

struct SandboxResponder: HTTPResponder {
    let sandbox: KisiSandbox

    func respond(to request: Request, context: SandboxContext) async throws -> Response {
        let path = request.uri.path
        if path == "/_sandbox" || path.hasPrefix("/_sandbox/") {
            return try await ControlRoutes(sandbox: sandbox).respond(to: request, context: context)
        }
        let (response, counted) = await kisi(request, context: context)
        if counted { await sandbox.counter.add(status: Int(response.status.code)) }
        return response
    }

    /// The order is: route match (404) → latency → auth (401) → rate limit (429) → injected faults → handler.
    private func kisi(_ request: Request, context: SandboxContext) async -> (Response, Bool) {
        let components = request.uri.path.split(separator: "/").map(String.init)
        var matched: (Route, String?)?
        for route in Route.all {
            if let id = route.match(request.method, components) { matched = (route, id); break }
        }
        guard let (route, pathId) = matched else { return (Self.response(APIError.unknownEndpoint), true) }

        if let latency = await sandbox.faults.latency { try? await Task.sleep(for: latency) }

        guard let caller = await authenticate(request) else { return (Self.response(APIError.unauthorized), true) }
        let secret = Self.secret(request) ?? ""
        let isEventSetCreate = request.method == .post && components == ["event_sets"]
        if let retry = await sandbox.rateLimiter.admit(userId: caller.userId, key: secret, isEventSetCreate: isEventSetCreate) {
            return (Self.tooManyRequests(retryAfter: retry), true)
        }
        switch await sandbox.faults.before() {
        case .proceed: break
        case .tooManyRequests: return (Self.tooManyRequests(retryAfter: 1), true)
        case .serverError:
            return (Self.response(APIError.error(.serviceUnavailable, "An unexpected issue occured.", code: "ffffff")), true)
        case .drop:
            try? await context.channel.close()
            return (Response(status: .internalServerError), false)
        }

        var body: JSONValue?
        if let buffer = try? await request.body.collect(upTo: 4 << 20), buffer.readableBytes > 0 {
            guard let parsed = JSONValue.decode(Data(buffer: buffer)) else {
                return (Self.response(APIError.badRequest("The request body is not valid JSON.")), true)
            }
            body = parsed
        }
        let apiRequest = APIRequest(caller: caller, pathId: pathId, query: Self.query(request), body: body)
        let response: Response
        do {
            response = Self.response(try await route.handler(sandbox.store, apiRequest))
        } catch {
            response = Self.response(error)
        }
        if await sandbox.faults.loseResponse() {
            // "Applied but response lost": the change above is kept; the client never hears about it.
            try? await context.channel.close()
            return (Response(status: .internalServerError), false)
        }
        return (response, true)
    }

    static func secret(_ request: Request) -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let prefix = "KISI-LOGIN "
        guard header.count > prefix.count, header.uppercased().hasPrefix(prefix) else { return nil }
        return String(header.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
    }

    private func authenticate(_ request: Request) async -> Caller? {
        guard let secret = Self.secret(request), !secret.isEmpty else { return nil }
        return await sandbox.store.authenticate(secret: secret)
    }

    /// Query string → first value per key, percent-decoded, `+` as space (Rails semantics).
    static func query(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for pair in (request.uri.query ?? "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s)
            }
            let key = decode(kv[0])
            if out[key] == nil { out[key] = kv.count > 1 ? decode(kv[1]) : "" }
        }
        return out
    }

    static func tooManyRequests(retryAfter: Int) -> Response {
        var e = APIError.error(.tooManyRequests, "Rate limit exceeded, please retry later.", code: "000429")
        e.headers[.retryAfter] = String(retryAfter)
        return response(e)
    }

    static func response(_ reply: Reply) -> Response {
        json(reply.status, reply.body, headers: reply.headers)
    }

    static func response(_ error: APIError) -> Response {
        json(error.status, error.body, headers: error.headers)
    }

    static func json(_ status: HTTPResponse.Status, _ body: JSONValue?, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        guard let body else { return Response(status: status, headers: headers) }
        let data = body.encoded()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
