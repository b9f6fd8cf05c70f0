import AccessSync
import Foundation
import GymCore
import GymStore
import Hummingbird
import Logging

/// Builds BooGYMan's HTTP routes: health checks, the OpenAPI document and the JSON API.
public struct GymRoutes: Sendable {
    let database: GymDatabase
    /// The one door to Kisi (plans, held revocations); nil where the server runs without a Kisi sync.
    let control: (any SyncControl)?
    /// The control while Kisi is connected; read per request, as staff may connect or disconnect.
    var sync: (any SyncControl)? { control.flatMap { $0.isConnected ? $0 : nil } }
    /// The current instant; injected so tests can pin "today".
    let now: @Sendable () -> Date
    /// This replica's ID and the name of the sync lease, for `GET /api/v1/sync/status`.
    let replicaID: String
    let leaseName: String
    /// Renders the process's metrics in Prometheus's text format for `GET /metrics`; no route without it.
    let metricsExposition: (@Sendable () -> String)?
    /// When set, `GET /metrics` asks for `Authorization: Bearer <metricsToken>`.
    let metricsToken: String?
    /// The secret Kisi signs webhook deliveries with, read per delivery (another replica may have
    /// registered the webhook and stored a new one); no webhook route without it.
    let kisiWebhookSecret: (@Sendable () async throws -> String?)?

    public init(
        database: GymDatabase, control: (any SyncControl)? = nil, now: @escaping @Sendable () -> Date = { Date() },
        replicaID: String = SyncLeadership.replicaID(), leaseName: String = SyncLeadership.defaultLeaseName,
        metricsExposition: (@Sendable () -> String)? = nil, metricsToken: String? = nil,
        kisiWebhookSecret: (@Sendable () async throws -> String?)? = nil
    ) {
        self.database = database
        self.control = control
        self.now = now
        self.replicaID = replicaID
        self.leaseName = leaseName
        self.metricsExposition = metricsExposition
        self.metricsToken = metricsToken
        self.kisiWebhookSecret = kisiWebhookSecret
    }

    var repository: GymRepository { database.repository }

    public func router() -> Router<APIContext> {
        let router = Router(context: APIContext.self)
        // Outermost, so every answer carries the headers: API, admin pages, errors and 404s alike.
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: RequestLogMiddleware())
        // Outside the error middleware: counts each request with the status its answer really got.
        router.add(middleware: HTTPMetricsMiddleware())
        router.add(middleware: ErrorMiddleware())
        router.get("healthz") { _, _ in HealthBody(status: "ok") }
        if let metricsExposition {
            // Counts and timings only (requests, Kisi calls, sync queue and latency); no member data.
            let metricsToken = metricsToken
            router.get("metrics") { request, _ in
                if let metricsToken, !MetricsAuthorization.allows(request.headers[.authorization], token: metricsToken) {
                    throw APIError(.unauthorized, code: "unauthorized", message: "Send Authorization: Bearer <BOOGYMAN_METRICS_TOKEN>.")
                }
                return Response(
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
        addImportRoutes(to: api.group("imports"))
        addSyncRoutes(to: api.group("sync"))
        addAuditRoutes(to: api)
        addClassRoutes(to: api)
        return router
    }
}

struct HealthBody: ResponseEncodable, Sendable {
    let status: String
}
