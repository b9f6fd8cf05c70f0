import Metrics
import Prometheus

/// The process's metrics backend: swift-metrics has exactly one per process, so it is bootstrapped once,
/// on first use, and every server in the process exposes the same registry at `GET /metrics`.
///
/// Names follow Prometheus's conventions whatever the recording code calls them: counters end in
/// `_total`, timers are histograms in seconds ending in `_seconds`, and every metric BooGYMan records
/// has a `# HELP` line (``help``). The sync's gauges exist from the start (0 until the sync reports), so
/// a dashboard or alert never sees them missing.
public enum GymMetrics {
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(ConventionalPrometheusFactory(registry: registry))
        for gauge in syncGauges { registry.makeGauge(descriptor: descriptor(gauge)).set(to: 0.0) }
        registry.makeGauge(descriptor: descriptor("boogyman_build_info"), labels: [("version", BuildInfo.version)]).set(to: 1.0)
        return registry
    }()

    /// Gauges the Kisi sync refreshes after every run; present (at 0) before its first.
    static let syncGauges = ["boogyman_sync_queue_depth", "boogyman_sync_deferred_actions", "boogyman_sync_paused"]

    /// The `# HELP` text of every metric BooGYMan records, by exposed name.
    public static let help: [String: String] = [
        "http_requests_total": "HTTP requests answered, by method, route template and status code.",
        "http_request_duration_seconds": "Time from an HTTP request's arrival to its answer being ready to send, by method, route template and status code.",
        "kisi_requests_total":
            "Requests sent to Kisi (each attempt), by Kisi operation, method and status (HTTP code, timeout, transport_error or cancelled).",
        "kisi_request_duration_seconds": "Duration of each request to Kisi, by Kisi operation, method and status.",
        "boogyman_sync_queue_depth": "Committed gym changes the Kisi sync has not processed yet.",
        "boogyman_sync_deferred_actions": "Kisi actions set aside to be retried (owed work).",
        "boogyman_sync_paused": "1 while the Kisi sync is paused and needs staff (e.g. held mass revocations), else 0.",
        "boogyman_sync_propagation_duration_seconds": "Time from a gym change's commit to Kisi confirming the matching change.",
        "boogyman_build_info": "Always 1; the version label names the running BooGYMan.",
    ]

    /// The exposed name with its help text, as swift-prometheus takes them.
    static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help[name] ?? "")
    }

    /// Everything recorded so far, in Prometheus's text exposition format.
    @Sendable public static func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// The exposed name for what code records as `label` with the given kind.
    static func conventionalName(_ label: String, kind: Kind) -> String {
        var name = String(label.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" ? $0 : "_" })
        switch kind {
        case .counter where !name.hasSuffix("_total"): name += "_total"
        case .timer where !name.hasSuffix("_seconds"): name += "_seconds"
        default: break
        }
        return name
    }

    enum Kind { case counter, timer, gauge, histogram }
}

/// What `boogyman --version` prints and `boogyman_build_info` reports.
public enum BuildInfo {
    public static let version = "0.9.0"
}

/// swift-prometheus's factory gives every metric an empty help text and keeps names as recorded; this
/// one renames by convention (``GymMetrics/conventionalName(_:kind:)``) and adds the help text, and
/// otherwise hands everything to the registry and swift-prometheus's own factory.
struct ConventionalPrometheusFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry
    let base: PrometheusMetricsFactory

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        self.base = PrometheusMetricsFactory(registry: registry)
    }

    func descriptor(_ label: String, _ kind: GymMetrics.Kind) -> MetricNameDescriptor {
        GymMetrics.descriptor(GymMetrics.conventionalName(label, kind: kind))
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        return registry.makeCounter(descriptor: descriptor(label, .counter), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        return registry.makeCounter(descriptor: descriptor(label, .counter), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else {
            return registry.makeGauge(descriptor: descriptor(label, .gauge), labels: dimensions)
        }
        return registry.makeValueHistogram(descriptor: descriptor(label, .histogram), labels: dimensions, buckets: base.defaultValueHistogramBuckets)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        return registry.makeGauge(descriptor: descriptor(label, .gauge), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        return registry.makeDurationHistogram(descriptor: descriptor(label, .timer), labels: dimensions, buckets: base.defaultDurationHistogramBuckets)
    }

    func destroyCounter(_ handler: any CounterHandler) { base.destroyCounter(handler) }
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { base.destroyFloatingPointCounter(handler) }
    func destroyRecorder(_ handler: any RecorderHandler) { base.destroyRecorder(handler) }
    func destroyMeter(_ handler: any MeterHandler) { base.destroyMeter(handler) }
    func destroyTimer(_ handler: any TimerHandler) { base.destroyTimer(handler) }
}
