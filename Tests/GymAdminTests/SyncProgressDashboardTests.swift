import Foundation
import GymStore
import Testing

@Suite("Dashboard: a long sync's progress bar")
struct SyncProgressDashboardTests {
    @Test("while a long run publishes its progress the dashboard shows a bar with done, planned and the time left; none after")
    func progressBar() async throws {
        try await withAdminServer { browser in
            try await browser.signIn(AdminBrowser.ownerEmail)
            #expect(!(try await browser.get("/admin").body.contains("sync-progress-bar")))

            // An hour into a 100,000-member first sync: 18,000 of 200,000 actions at 5 a second.
            let now = Date()
            let progress = SyncRunProgress.estimate(
                trigger: "start", startedAt: now.addingTimeInterval(-3_600), now: now, planned: 200_000, done: 17_990, failed: 10,
                workingSeconds: 3_600)
            try await browser.repository.syncState.set(.runProgress, progress)
            let page = try await browser.get("/admin")
            #expect(page.status == .ok)
            #expect(page.body.contains(#"<progress id="sync-progress-bar" max="100" value="9">"#))
            #expect(page.body.contains("18,000 of 200,000 Kisi changes · about 10.1 h left · 10 failed, retried later"))

            try await browser.repository.syncState.set(SyncStateEntry<SyncRunProgress>.runProgress, nil)
            #expect(!(try await browser.get("/admin").body.contains("sync-progress-bar")))
        }
    }
}
