import Foundation
@testable import GymAdmin
import GymStore
import Testing

@Suite("Admin UI: latency sparkline")
struct LatencySparklineTests {
    @Test("The sparkline spans the hour ending now: a point a minute at its place, the highest p95 at the top, the latest p95 as the figure")
    func sparklineData() throws {
        let now = Date(timeIntervalSince1970: 1_796_003_600)
        let history = PropagationHistory(points: [
            .init(minute: now.addingTimeInterval(-3_600), p95Milliseconds: 5_000),  // an hour ago: outside the window
            .init(minute: now.addingTimeInterval(-1_800), p95Milliseconds: 2_000),
            .init(minute: now.addingTimeInterval(-60), p95Milliseconds: 1_000),
        ])
        let data = try #require(AdminRoutes.latencySparkline(history, now: now))
        #expect(data["count"] as? Int == 2)
        #expect(data["p95"] as? String == "1.0 s")
        #expect(data["p95ms"] as? Int == 1_000)
        let marks = try #require(data["marks"] as? [[String: Any]])
        #expect(marks.map { $0["ms"] as? Int } == [2_000, 1_000])
        // Half an hour ago sits mid-width; the highest point touches the top padding, half of it halfway down.
        #expect(marks[0]["x"] as? String == "120" && marks[0]["y"] as? String == "3")
        #expect(marks[1]["y"] as? String == "20")
        #expect(data["points"] as? String == "120,3 \(marks[1]["x"]!),20")
        #expect(AdminRoutes.latencySparkline(PropagationHistory(), now: now) == nil)
    }

    @Test("The dashboard draws the stored history as a polyline with the p95 beside it")
    func dashboardShowsTheSparkline() async throws {
        try await withAdminServer { browser in
            let now = Date()
            let summary = PropagationSummary(
                windowSeconds: 3600, samples: 4, p50Milliseconds: 600, p95Milliseconds: 1_400, maxMilliseconds: 1_900, updatedAt: now)
            try await browser.repository.syncState.set(.propagation, summary)
            let earlier = PropagationSummary(
                windowSeconds: 3600, samples: 2, p50Milliseconds: 500, p95Milliseconds: 900, maxMilliseconds: 900,
                updatedAt: now.addingTimeInterval(-600))
            try await browser.repository.syncState.set(.propagationHistory, PropagationHistory().adding(earlier).adding(summary))
            _ = try await browser.signIn(AdminBrowser.ownerEmail)
            let dashboard = try await browser.get("/admin")
            let trend = section(dashboard.body, id: "latency-trend", tag: "figure")
            #expect(trend.contains("<polyline class=\"trend\""))
            #expect(trend.contains("data-count=\"2\""))
            #expect(trend.contains("data-ms=\"900\"") && trend.contains("data-ms=\"1400\""))
            #expect(trend.contains("id=\"latency-p95\" data-ms=\"1400\">1.4 s</strong>"))
        }
    }
}
