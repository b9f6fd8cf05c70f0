import Foundation
import GymCore
import GymStore
import KisiAPI
import Testing
@testable import AccessSync

/// What a yield check saw of the published progress while the run was under way.
actor ProgressSightings {
    var seen: [SyncRunProgress] = []
    func add(_ progress: SyncRunProgress?) { if let progress { seen.append(progress) } }
}

@Suite("SyncEngine: progress and order of a long run", .serialized)
struct RunProgressTests {
    @Test("a full reconcile publishes its progress while it runs, keeps it while its work is set aside, and clears it when done",
          arguments: LedgerKind.allCases)
    func publishesAndClears(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind) { env in
            #expect(try await env.ledger.syncState.get(.runProgress) == nil)
            let sightings = ProgressSightings()
            let checks = Counter()
            let ledger = env.ledger
            let yieldOnFifthCheck = SyncYield(interval: .zero) {
                await sightings.add(try? await ledger.syncState.get(.runProgress))
                return await checks.increment() >= 5
            }
            let before = Date()
            let first = try await env.engine.reconcileAll(trigger: "initial", yield: yieldOnFifthCheck)
            #expect(first.deferred > 0)

            let during = await sightings.seen
            #expect(!during.isEmpty)
            #expect(during.allSatisfy { $0.trigger == "initial" && $0.planned == first.planned })
            #expect(during.first?.done == 0, "published before the first action")
            // Set aside, it still says how far the run has come, and when it should end at Kisi's rate.
            let setAside = try #require(try await env.ledger.syncState.get(.runProgress))
            #expect(setAside.done == first.executedTotal)
            #expect(setAside.planned == first.planned)
            #expect(setAside.estimatedFinishAt > setAside.updatedAt)
            #expect(try await env.ledger.syncState.get(.lastFullReconcileAt) == nil, "not done while work is set aside")

            let resumed = try #require(try await env.engine.resumeDeferred())
            #expect(resumed.failures.isEmpty)
            #expect(try await env.ledger.syncState.get(.runProgress) == nil)
            // The last full reconcile is when its last set-aside action was done, not when it started.
            let finished = try #require(try await env.ledger.syncState.get(.lastFullReconcileAt))
            #expect(finished >= before.addingTimeInterval(-1))
            #expect(finished >= first.startedAt.addingTimeInterval(-1))

            // A run with nothing to do leaves no progress behind either.
            #expect(try await env.engine.reconcileAll().planned == 0)
            #expect(try await env.ledger.syncState.get(.runProgress) == nil)
        }
    }

    @Test("a first sync gives the member last seen at a door their user and grant before anyone else's", arguments: [LedgerKind.gymStore])
    func recentVisitorFirst(ledgerKind: LedgerKind) async throws {
        try await withEngineEnvironment(ledgerKind) { env in
            // Member 5 was at the door an hour ago through a Kisi user linked to them before this sync.
            let regular = env.gym.members[5]
            let userID = try await env.client.createUser(KisiUserCreate(
                email: regular.email.value, name: regular.fullName, sendEmails: false, confirm: true, metadata: [:])).id
            try await env.repository.setKisiUserLink(memberID: regular.id, userID: userID)
            _ = try await env.repository.recordDoorEvent(DoorEvent(
                kisiUUID: "regular-visit", occurredAt: Date().addingTimeInterval(-3_600), lockID: 5001, lockName: nil, placeID: 1001,
                kisiUserID: userID, actorName: nil, success: false, message: "no access yet"))

            let report = try await env.engine.reconcileAll()
            #expect(report.failures.isEmpty)
            let journal = try await env.journal()
            let grants = journal.filter { $0.action == "createGrant" }
            #expect(grants.first?.memberID == regular.id)
            // Every other member's grant follows their own user: each member's users and grants sit together.
            let memberWrites = journal.filter { ["createUser", "createGrant"].contains($0.action) }.compactMap(\.memberID)
            var finished = Set<UUID>()
            var current: UUID?
            for memberID in memberWrites where memberID != current {
                #expect(!finished.contains(memberID), "a member's writes are split")
                if let current { finished.insert(current) }
                current = memberID
            }
            try await env.expectOracleAgrees()
        }
    }
}
