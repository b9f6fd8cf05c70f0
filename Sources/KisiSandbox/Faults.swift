import Foundation

/// Injected failures for the Kisi API routes (never for `/_sandbox/`).
public struct FaultSettings: Codable, Sendable, Equatable {
    /// Added delay before each request is handled.
    public var latencyMs: Int
    /// Share (0...1) of requests answered 503 without being applied.
    public var errorRate: Double
    /// The next N requests are answered 429.
    public var rateLimitBurst: Int
    /// Share (0...1) of requests whose connection is closed without a response, before anything is applied.
    public var dropRate: Double
    /// Share (0...1) of requests that are applied, after which the connection is closed without a response.
    public var lostResponseRate: Double

    public init(latencyMs: Int = 0, errorRate: Double = 0, rateLimitBurst: Int = 0, dropRate: Double = 0, lostResponseRate: Double = 0) {
        self.latencyMs = latencyMs
        self.errorRate = errorRate
        self.rateLimitBurst = rateLimitBurst
        self.dropRate = dropRate
        self.lostResponseRate = lostResponseRate
    }

    enum CodingKeys: String, CodingKey {
        case latencyMs = "latency_ms", errorRate = "error_rate", rateLimitBurst = "rate_limit_burst"
        case dropRate = "drop_rate", lostResponseRate = "lost_response_rate"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        latencyMs = try c.decodeIfPresent(Int.self, forKey: .latencyMs) ?? 0
        errorRate = try c.decodeIfPresent(Double.self, forKey: .errorRate) ?? 0
        rateLimitBurst = try c.decodeIfPresent(Int.self, forKey: .rateLimitBurst) ?? 0
        dropRate = try c.decodeIfPresent(Double.self, forKey: .dropRate) ?? 0
        lostResponseRate = try c.decodeIfPresent(Double.self, forKey: .lostResponseRate) ?? 0
    }
}

actor FaultInjector {
    enum Before: Sendable { case proceed, tooManyRequests, serverError, drop }

    private(set) var settings = FaultSettings()
    private var rng = SystemRandomNumberGenerator()

    func set(_ s: FaultSettings) { settings = s }

    var latency: Duration? { settings.latencyMs > 0 ? .milliseconds(settings.latencyMs) : nil }

    /// Decides the pre-handling fault for one request (each mode rolls independently, in this order).
    func before() -> Before {
        if settings.rateLimitBurst > 0 {
            settings.rateLimitBurst -= 1
            return .tooManyRequests
        }
        if roll(settings.dropRate) { return .drop }
        if roll(settings.errorRate) { return .serverError }
        return .proceed
    }

    func loseResponse() -> Bool { roll(settings.lostResponseRate) }

    private func roll(_ p: Double) -> Bool {
        guard p > 0 else { return false }
        return p >= 1 || Double.random(in: 0..<1, using: &rng) < p
    }
}
