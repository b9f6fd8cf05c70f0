import Hummingbird
import Metrics

/// Counts and times every answered request as `http_requests_total` and
/// `http_request_duration_seconds`, labelled with the method, the matched route's template (never the
/// raw path, so IDs do not multiply the series) and the status actually sent.
///
/// It sits outside the error middleware, so a thrown error is counted with the status its answer got;
/// there is no separate error counter (the status label says it).
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            // Timed to the answer's head: an event stream would otherwise count as one endless request.
            record(request, context: context, status: response.status.code, since: started)
            return response
        } catch {
            record(request, context: context, status: (error as? any HTTPResponseError)?.status.code ?? 500, since: started)
            throw error
        }
    }

    func record(_ request: Request, context: Context, status: Int, since started: ContinuousClock.Instant) {
        let dimensions = [
            ("method", request.method.rawValue),
            ("route", context.endpointPath ?? "unmatched"),
            ("status", String(status)),
        ]
        Counter(label: "http_requests_total", dimensions: dimensions).increment()
        Metrics.Timer(label: "http_request_duration_seconds", dimensions: dimensions)
            .recordInterval(since: started)
    }
}

extension Metrics.Timer {
    func recordInterval(since started: ContinuousClock.Instant) {
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
