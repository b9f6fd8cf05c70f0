import Metrics
import Prometheus

/// The process's metrics backend: swift-metrics has exactly one per process, so it is bootstrapped once,
/// on first use, and every server in the process exposes the same registry at `GET /metrics`.
public enum GymMetrics {
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    /// Everything recorded so far, in Prometheus's text exposition format.
    @Sendable public static func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
