import Foundation
import KisiAPI
import KisiSandbox
import Testing

@testable import AccessSync

@Suite("A write Kisi refuses for lack of rights", .serialized)
struct RefusedWriteTests {
    /// The demo organization, with the engine's key (the demo key) belonging to a place administrator of
    /// Old Town and Floreasca instead of the owner: it may create users and place groups, not organization groups.
    static func placeAdministratorSeed() -> SandboxSeed {
        var seed = SandboxSeed.demoSeed(apiKey: "owner-key-not-used-by-the-engine")
        seed.organizations[0].users.append(.init(
            id: 70, name: "Gym Place Admin", email: "gym.admin@boogyman.example", apiKeys: [SandboxSeed.demoAPIKey]))
        seed.organizations[0].roleAssignments? += [.init(userId: 70, placeId: 1001), .init(userId: 70, placeId: 1002)]
        return seed
    }

    @Test("A 403 fails only that write, names the missing right in the report and the journal, and does not pause the run",
          arguments: LedgerKind.allCases)
    func refusedWriteDoesNotPause(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind, seed: Self.placeAdministratorSeed()) { env in
            let report = try await env.engine.reconcileAll()
            #expect(!report.isPaused, "\(report.pausedReason ?? "")")
            #expect(try await env.engine.pausedReason() == nil)
            // "Unlimited" spans two places: an organization group, which a place administrator may not create.
            let refused = report.failures.filter { $0.kisiStatus == 403 }
            #expect(refused.contains { $0.action == "createGroup" && $0.error.contains("groups_write") }, "\(report.failures)")
            #expect(refused.allSatisfy { $0.error.contains("lacks the") && !$0.transient })
            // The rest of the run went on: users were created.
            #expect((report.executed["createUser"] ?? 0) > 0, "\(report.executed)")
            let journal = try await env.journal()
            #expect(journal.contains { $0.status == .failed && $0.kisiStatus == 403 && ($0.error ?? "").contains("groups_write") })
            #expect(journal.allSatisfy { $0.status != .pending })

            // Still refused next time, still no pause.
            let again = try await env.engine.reconcileAll()
            #expect(!again.isPaused)
        }
    }
}
