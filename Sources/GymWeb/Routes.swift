import AccessSync
import Foundation
import GymCore
import GymStore
import Hummingbird
import Logging

/// Builds BooGYMan's HTTP routes: health checks, the OpenAPI document and the JSON API.
public struct GymRoutes: Sendable {
    let database: GymDatabase
    /// The Kisi sync of the connection in force; read per request, as staff may connect or disconnect.
    let engines: CurrentSyncEngine
    var sync: SyncEngine? { engines.engine }
    /// The current instant; injected so tests can pin "today".
    let now: @Sendable () -> Date
    /// This replica's ID and the name of the sync lease, for `GET /api/v1/sync/status`.
    let replicaID: String
    let leaseName: String
    /// Renders the process's metrics in Prometheus's text format for `GET /metrics`; no route without it.
    let metricsExposition: (@Sendable () -> String)?
    /// The secret Kisi signs webhook deliveries with, read per delivery (another replica may have
    /// registered the webhook and stored a new one); no webhook route without it.
    let kisiWebhookSecret: (@Sendable () async throws -> String?)?

    public init(
        database: GymDatabase, sync: SyncEngine? = nil, engines: CurrentSyncEngine? = nil, now: @escaping @Sendable () -> Date = { Date() },
        replicaID: String = SyncLeadership.replicaID(), leaseName: String = SyncLeadership.defaultLeaseName,
        metricsExposition: (@Sendable () -> String)? = nil, kisiWebhookSecret: (@Sendable () async throws -> String?)? = nil
    ) {
        self.database = database
        self.engines = engines ?? CurrentSyncEngine(sync)
        self.now = now
        self.replicaID = replicaID
        self.leaseName = leaseName
        self.metricsExposition = metricsExposition
        self.kisiWebhookSecret = kisiWebhookSecret
    }

    var repository: GymRepository { database.repository }

    public func router() -> Router<APIContext> {
        let router = Router(context: APIContext.self)
        // Outermost, so every answer carries the headers: API, admin pages, errors and 404s alike.
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: MetricsMiddleware())
        router.get("healthz") { _, _ in HealthBody(status: "ok") }
        if let metricsExposition {
            // Counts and timings only (requests, Kisi calls, sync queue and latency); no member data.
            router.get("metrics") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: metricsExposition())))
            }
        }
        router.get("readyz") { _, _ in
            do {
                try await database.ping()
                return HealthBody(status: "ok")
            } catch {
                throw APIError(.serviceUnavailable, code: "database_unreachable", message: "The database does not answer.")
            }
        }
        router.get("api/v1/openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }

        if let kisiWebhookSecret { addKisiWebhookRoute(to: router, secret: kisiWebhookSecret) }

        let api = router.group("api/v1").add(middleware: BearerTokenMiddleware(repository: repository))
            .add(middleware: IdempotencyMiddleware(repository: repository, now: now))
        addClubRoutes(to: api.group("clubs"))
        addStudioRoutes(to: api.group("studios"))
        addPlanRoutes(to: api.group("plans"))
        addMemberRoutes(to: api.group("members"))
        addSubscriptionRoutes(to: api.group("subscriptions"))
        addSyncRoutes(to: api.group("sync"))
        addAuditRoutes(to: api)
        return router
    }

    // MARK: Clubs

    func addClubRoutes(to group: RouterGroup<APIContext>) {
        group.get { request, _ in
            ListResponse(try await repository.clubs(try request.pageRequest()), ClubBody.init)
        }
        group.post { request, context in
            let body = try await request.decodeJSON(ClubCreate.self, context: context)
            return EditedResponse(status: .created, response: ClubBody(try await repository.createClub(body.draft)))
        }
        group.get(":id") { _, context in
            ClubBody(try await repository.club(try context.id("club")))
        }
        group.patch(":id") { request, context in
            let id = try context.id("club")
            let patch = try await request.decodeJSON(ClubPatch.self, context: context)
            return ClubBody(try await repository.updateClub(id) { patch.apply(to: &$0) })
        }
        group.delete(":id") { _, context in
            try await repository.deleteClub(try context.id("club"))
            return HTTPResponse.Status.noContent
        }
    }

    // MARK: Studios

    func addStudioRoutes(to group: RouterGroup<APIContext>) {
        group.get { request, _ in
            let clubID = try request.uuidParameter("club_id")
            return ListResponse(try await repository.studios(clubID: clubID, try request.pageRequest()), StudioBody.init)
        }
        group.post { request, context in
            let body = try await request.decodeJSON(StudioCreate.self, context: context)
            return EditedResponse(status: .created, response: StudioBody(try await repository.createStudio(body.draft)))
        }
        group.get(":id") { _, context in
            StudioBody(try await repository.studio(try context.id("studio")))
        }
        group.patch(":id") { request, context in
            let id = try context.id("studio")
            let patch = try await request.decodeJSON(StudioPatch.self, context: context)
            return StudioBody(try await repository.updateStudio(id) { patch.apply(to: &$0) })
        }
        group.delete(":id") { _, context in
            try await repository.deleteStudio(try context.id("studio"))
            return HTTPResponse.Status.noContent
        }
    }

    // MARK: Plans

    func addPlanRoutes(to group: RouterGroup<APIContext>) {
        group.get { request, _ in
            let includeArchived = try request.boolParameter("include_archived") ?? true
            let page = try await repository.plans(includeArchived: includeArchived, try request.pageRequest())
            let layout = try await repository.layout()
            return ListResponse(page) { PlanBody($0, layout: layout) }
        }
        group.post { request, context in
            let body = try await request.decodeJSON(PlanCreate.self, context: context)
            let plan = try await repository.createPlan(body.draft)
            return EditedResponse(status: .created, response: PlanBody(plan, layout: try await repository.layout()))
        }
        group.get(":id") { _, context in
            PlanBody(try await repository.plan(try context.id("plan")), layout: try await repository.layout())
        }
        group.patch(":id") { request, context in
            let id = try context.id("plan")
            let patch = try await request.decodeJSON(PlanPatch.self, context: context)
            let plan = try await repository.updatePlan(id) { patch.apply(to: &$0) }
            return PlanBody(plan, layout: try await repository.layout())
        }
        group.delete(":id") { _, context in
            try await repository.deletePlan(try context.id("plan"))
            return HTTPResponse.Status.noContent
        }
    }

    // MARK: Members

    func addMemberRoutes(to group: RouterGroup<APIContext>) {
        group.get { request, _ in
            let search = try request.textParameter("q")
            return ListResponse(try await repository.members(search: search, try request.pageRequest()), MemberBody.init)
        }
        group.post { request, context in
            let body = try await request.decodeJSON(MemberCreate.self, context: context)
            return EditedResponse(status: .created, response: MemberBody(try await repository.createMember(body.draft)))
        }
        group.get(":id") { _, context in
            MemberBody(try await repository.member(try context.id("member")))
        }
        group.patch(":id") { request, context in
            let id = try context.id("member")
            let patch = try await request.decodeJSON(MemberPatch.self, context: context)
            return MemberBody(try await repository.updateMember(id) { patch.apply(to: &$0) })
        }
        group.delete(":id") { _, context in
            try await repository.deleteMember(try context.id("member"))
            return HTTPResponse.Status.noContent
        }
        group.post(":id/block") { request, context in
            let id = try context.id("member")
            let body = try await request.decodeJSON(BlockRequest.self, context: context)
            return MemberBody(try await repository.blockMember(id: id, reason: body.reason, by: context.actor))
        }
        // No body to read: there is nothing to say about lifting a block.
        group.post(":id/unblock") { _, context in
            MemberBody(try await repository.unblockMember(id: try context.id("member"), by: context.actor))
        }
        group.get(":id/access") { request, context in
            let id = try context.id("member")
            let instant = try request.instantParameter("at") ?? now()
            return AccessBody(try await repository.accessDecision(memberID: id, at: instant))
        }
        group.get(":id/subscriptions") { request, context in
            let id = try context.id("member")
            _ = try await repository.member(id)
            return ListResponse(try await repository.subscriptions(memberID: id, planID: nil, try request.pageRequest()), SubscriptionBody.init)
        }
    }

    // MARK: Subscriptions

    func addSubscriptionRoutes(to group: RouterGroup<APIContext>) {
        group.get { request, _ in
            let memberID = try request.uuidParameter("member_id")
            let planID = try request.uuidParameter("plan_id")
            let page = try await repository.subscriptions(memberID: memberID, planID: planID, try request.pageRequest())
            return ListResponse(page, SubscriptionBody.init)
        }
        group.post { request, context in
            let body = try await request.decodeJSON(SubscriptionCreate.self, context: context)
            return EditedResponse(status: .created, response: SubscriptionBody(try await repository.createSubscription(body.draft)))
        }
        group.get(":id") { _, context in
            SubscriptionBody(try await repository.subscription(try context.id("subscription")))
        }
        group.patch(":id") { request, context in
            let id = try context.id("subscription")
            let patch = try await request.decodeJSON(SubscriptionPatch.self, context: context)
            return SubscriptionBody(try await repository.updateSubscription(id) { patch.apply(to: &$0) })
        }
        group.delete(":id") { _, context in
            try await repository.deleteSubscription(try context.id("subscription"))
            return HTTPResponse.Status.noContent
        }
        group.post(":id/freeze") { request, context in
            let id = try context.id("subscription")
            let body = try await request.decodeJSON(FreezeRequest.self, context: context)
            let span = DateSpan(first: body.startDate, last: body.endDate)
            return SubscriptionBody(try await repository.freeze(id, span: span, reason: body.reason))
        }
        group.post(":id/unfreeze") { request, context in
            let id = try context.id("subscription")
            let body = try await request.decodeJSON(UnfreezeRequest.self, context: context, whenEmpty: UnfreezeRequest(freezeID: nil, resumeOn: nil))
            let resumeOn = if let date = body.resumeOn { date } else { try await today(forSubscription: id) }
            return SubscriptionBody(try await repository.unfreeze(id, freezeID: body.freezeID, resumeOn: resumeOn))
        }
        group.post(":id/cancel") { request, context in
            let id = try context.id("subscription")
            let body = try await request.decodeJSON(CancelRequest.self, context: context, whenEmpty: CancelRequest(effectiveDate: nil, reason: nil))
            let effective = if let date = body.effectiveDate { date } else { try await today(forSubscription: id) }
            return SubscriptionBody(try await repository.cancel(id, effectiveDate: effective, reason: body.reason))
        }
    }

    /// "Today" as the subscription's club sees it.
    func today(forSubscription id: UUID) async throws -> LocalDate {
        let subscription = try await repository.subscription(id)
        let layout = try await repository.layout()
        let zone = layout.plans[subscription.planID].map(layout.timeZone(of:)) ?? TimeZone(identifier: "UTC")!
        return LocalDate(containing: now(), in: zone)
    }
}

struct HealthBody: ResponseEncodable, Sendable {
    let status: String
}

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
    func pageRequest() throws -> PageRequest {
        let limit = try intParameter("limit", in: 1...PageRequest.maximumLimit) ?? 50
        let offset = try intParameter("offset", in: 0...PageRequest.maximumOffset) ?? 0
        return PageRequest(limit: limit, offset: offset)
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
