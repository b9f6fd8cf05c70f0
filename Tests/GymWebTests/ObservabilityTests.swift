import Foundation
import GymApp
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Metrics
import Testing

/// Request IDs, Prometheus naming and the metrics token, through the real application.
@Suite("Request IDs and metrics")
struct ObservabilityTests {
    static let requestID = HTTPField.Name("X-Request-ID")!

    func withApplication(metricsToken: String? = nil, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        var logger = Logger(label: "boogyman.observability-tests")
        logger.logLevel = .warning
        let configuration = AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteInMemory, metricsToken: metricsToken)
        let database = try await GymServer.openDatabase(configuration, logger: logger)
        try await GymServer.application(configuration, database: database, logger: logger).test(.live) { client in try await body(client) }
    }

    @Test("A sane X-Request-ID is echoed, a missing or unsafe one is replaced by a fresh UUID")
    func requestIDs() async throws {
        try await withApplication { client in
            let kept = try await client.execute(uri: "/healthz", method: .get, headers: [Self.requestID: "proxy-7f3a:42"])
            #expect(kept.headers[Self.requestID] == "proxy-7f3a:42")
            let fresh = try await client.execute(uri: "/healthz", method: .get)
            let generated = try #require(fresh.headers[Self.requestID])
            #expect(UUID(uuidString: generated) != nil)
            for unsafe in ["a b", String(repeating: "x", count: 129), "<script>", "id\"quoted"] {
                let replaced = try await client.execute(uri: "/api/v1/members", method: .get, headers: [Self.requestID: unsafe])
                #expect(replaced.status == .unauthorized)
                let id = try #require(replaced.headers[Self.requestID])
                #expect(id != unsafe && UUID(uuidString: id) != nil)
            }
            let unknown = try await client.execute(uri: "/no/such/page", method: .get)
            #expect(unknown.status == .notFound)
            #expect(unknown.headers[Self.requestID] != nil)
        }
    }

    @Test("/metrics follows Prometheus conventions: _total counters, _seconds histograms, HELP lines, sync gauges from the start, status without error_type")
    func prometheusNames() async throws {
        try await withApplication { client in
            _ = try await client.execute(uri: "/api/v1/members", method: .get)  // a 401
            _ = try await client.execute(uri: "/healthz", method: .get)
            Counter(label: "boogyman.test.dotted").increment()
            Metrics.Timer(label: "boogyman_test_wait").recordMilliseconds(3)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok)
            let text = String(buffer: metrics.body)
            for gauge in ["boogyman_sync_queue_depth", "boogyman_sync_deferred_actions", "boogyman_sync_paused"] {
                #expect(text.contains("\n\(gauge) ") || text.hasPrefix("\(gauge) ") || text.contains("# TYPE \(gauge) gauge"), "no \(gauge)")
            }
            #expect(text.contains("http_requests_total{"))
            #expect(text.contains(#"status="401""#))
            #expect(text.contains("http_request_duration_seconds_bucket{"))
            #expect(text.contains("boogyman_test_dotted_total"))
            #expect(text.contains("boogyman_test_wait_seconds_bucket"))
            #expect(text.contains(#"boogyman_build_info{version="\#(BuildInfo.version)"} 1"#))
            #expect(!text.contains("error_type") && !text.contains("hb_"))
            // Every family BooGYMan records has its HELP line; counters end in _total.
            let families = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ") }
            for family in families where !family[2].hasPrefix("boogyman_test_") {
                #expect(text.contains("# HELP \(family[2]) "), "no HELP for \(family[2])")
                if family[3] == "counter" { #expect(family[2].hasSuffix("_total"), "\(family[2])") }
                if family[3] == "histogram" { #expect(family[2].hasSuffix("_seconds"), "\(family[2])") }
            }
        }
    }

    @Test("With BOOGYMAN_METRICS_TOKEN, /metrics answers only its bearer")
    func metricsToken() async throws {
        let token = "metrics-0123456789abcdef"
        try await withApplication(metricsToken: token) { client in
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .unauthorized)
            let wrong = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(token)x"])
            #expect(wrong.status == .unauthorized)
            let right = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(right.status == .ok)
            #expect(String(buffer: right.body).contains("boogyman_sync_paused"))
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }
}
