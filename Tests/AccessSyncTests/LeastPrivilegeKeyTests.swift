import Foundation
import GymCore
import GymStore
import KisiAPI
import KisiSandbox
import Logging
import Testing

@testable import AccessSync

/// The sync with keys of less than an organization administrator: what converges, and that nothing is
/// asked of Kisi that the key may not do (the sandbox counts every 403 it answers).
@Suite("The sync with a least-privilege Kisi key", .serialized)
struct LeastPrivilegeKeyTests {
    static var quietLogger: Logger {
        var logger = Logger(label: "least-privilege-tests")
        logger.logLevel = .critical
        return logger
    }

    /// `GET /_sandbox/stats`' count of answers with `status`.
    static func answers(status: Int, _ env: EngineEnvironment) async throws -> Int {
        let root = try JSONSerialization.jsonObject(with: try await env.control("stats")) as? [String: Any]
        let byStatus = (root?["requests"] as? [String: Any])?["by_status"] as? [String: Any]
        return byStatus?[String(status)] as? Int ?? 0
    }

    /// `env`'s gym synced by an engine holding `key` instead of the owner's.
    static func engine(_ env: EngineEnvironment, key: SandboxAPIKey) -> SyncEngine {
        SyncEngine(
            client: engineClient(port: env.port, apiKey: key.secret), repository: env.repository, ledger: env.ledger,
            configuration: .init(logger: quietLogger))
    }

    @Test("An access manager's key brings a small gym in step: Kisi's oracle agrees with the access rule for every member, a second run writes nothing, and no call is refused")
    func accessManagerConverges() async throws {
        try await withEngineEnvironment(.gymStore) { env in
            let key = try await env.sandbox.createAPIKey(.accessManager())
            let engine = Self.engine(env, key: key)
            let first = try await engine.reconcileAll()
            #expect(first.failures.isEmpty, "\(first.failures)")
            #expect(!first.isPaused, "\(first.pausedReason ?? "")")
            #expect((first.executed["createGrant"] ?? 0) == 9, "\(first.executed)")
            try await env.expectOracleAgrees()

            let second = try await engine.reconcileAll()
            #expect(second.executedTotal == 0, "\(second.executed)")
            #expect(try await engine.dryRun().isEmpty)

            // A change reaches Kisi through the access manager's key as well.
            let member = env.gym.members[0]
            let subscription = try #require(env.gym.subscriptionOf[member.id])
            _ = try await env.repository.freeze(
                subscription.id, span: DateSpan(first: env.gym.today, last: env.gym.today.adding(days: 6)), reason: "Holiday")
            let third = try await engine.reconcileAll()
            #expect(third.failures.isEmpty, "\(third.failures)")
            try await env.expectOracleAgrees()

            // What the pages read with it stays within its rights too (its events, organization-wide).
            let control = LiveSyncControl(engines: CurrentSyncEngine(engine), repository: env.repository, masterKey: nil)
            let rights = try #require(await control.connectionRights())
            #expect(rights.reach == .wholeOrganization && !rights.canRegisterWebhook && rights.unlock == .organization)
            _ = try await control.unlockEvents(from: Date().addingTimeInterval(-3600), to: Date(), kisiUserID: nil)

            #expect(try await Self.answers(status: 403, env) == 0, "no call outside the access manager's rights")
        }
    }

    @Test("A place administrator's key with a plan outside its places: the refused writes name the missing right, are owed without pausing the sync, and are not tried again before the next full reconcile")
    func placeKeyOutsideItsPlaces() async throws {
        try await withEngineEnvironment(.gymStore) { env in
            let key = try await env.sandbox.createAPIKey(.placeAdministrator(of: [1001, 1002]))
            let repository = env.repository
            let cluj = try await repository.createClub(ClubDraft(
                name: "Cluj Centru", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1003, kisiLockIDs: [5021]))
            let clujPass = try await repository.createPlan(PlanDraft(name: "Cluj pass", clubIDs: [cluj.id]))
            let student = try await repository.createMember(MemberDraft(firstName: "Ioana", lastName: "Cluj", email: "ioana@cluj.example"))
            _ = try await repository.createSubscription(SubscriptionDraft(
                memberID: student.id, planID: clujPass.id, startDate: env.gym.today.adding(days: -3), paidThrough: env.gym.today.adding(days: 30)))

            let engine = Self.engine(env, key: key)
            let service = SyncService(engine: engine, repository: repository, ledger: env.ledger, logger: Self.quietLogger)
            _ = await service.fullReconcile(trigger: "start")
            #expect(try await engine.pausedReason() == nil, "a refused write does not pause the sync")
            let refusedAtStart = try await Self.answers(status: 403, env)
            #expect(refusedAtStart > 0)
            let journal = try await env.journal().filter { $0.kisiStatus == 403 }
            #expect(journal.allSatisfy { ($0.error ?? "").contains("lacks the") }, "\(journal.map(\.error))")

            // The rest of the sync went on: Old Town basic (odd members) is a group of a place the key administers.
            let links = try await env.ledger.links()
            for (index, member) in env.gym.members.enumerated() where index < 8 && index % 2 == 1 {
                let userID = try #require(links.users[member.id])
                #expect(try await env.oracle(userID: userID, lockID: 5001), "\(member.fullName) gets into Old Town")
            }

            // Owed, visibly: the plan outside the key's places waits with the right it lacks.
            let owed = try await env.ledger.syncState.get(.retry) ?? SyncRetryState()
            let entry = try #require(owed.plans[clujPass.id.uuidString], "\(owed)")
            #expect(entry.lastError.contains("groups_write"), "\(entry.lastError)")
            #expect(entry.nextAttemptAt >= Date().addingTimeInterval(500), "a refusal waits for the next full reconcile, not a minute")

            // Past the ordinary backoff's longest wait, nothing refused is asked of Kisi again.
            _ = try await service.retryOwedWork(now: Date().addingTimeInterval(90))
            #expect(try await Self.answers(status: 403, env) == refusedAtStart)
            // The next full reconcile (or a new key) tries once more, and the entry stays owed.
            _ = try await service.retryOwedWork(now: Date().addingTimeInterval(700))
            let later = try await env.ledger.syncState.get(.retry) ?? SyncRetryState()
            #expect(later.plans[clujPass.id.uuidString]?.attempts ?? 0 >= 2)
        }
    }

    @Test("Owed work refused for lack of rights waits ten minutes, with what could not be done because of it; Kisi's own trouble keeps the short backoff, and a recovery does not hurry the refusals")
    func refusalsWaitForRights() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let plan = UUID(), member = UUID(), other = UUID()
        let failures = [
            SyncFailure(action: "createGroup", memberID: nil, planID: plan, reason: "plan", error: "refused", kisiStatus: 403),
            SyncFailure(action: "inviteUser", memberID: member, planID: plan, reason: "invitation", error: "group not known"),
            SyncFailure(action: "updateUser", memberID: member, planID: nil, reason: "name", error: "user not known"),
            SyncFailure(action: "createUser", memberID: other, planID: nil, reason: "user", error: "503", kisiStatus: 503, transient: true),
        ]
        let state = SyncRetryBookkeeping.record(SyncRetryState(), failures: failures, scope: .full, now: now, policy: SyncRetryPolicy(), random: { 1 })
        #expect(state.plans[plan.uuidString]?.nextAttemptAt == now.addingTimeInterval(600))
        #expect(state.members[member.uuidString]?.nextAttemptAt == now.addingTimeInterval(600), "its invitation waits on the refused group, its update on the invitation")
        #expect(state.members[other.uuidString]?.nextAttemptAt == now.addingTimeInterval(1))

        let later = now.addingTimeInterval(30)
        let expedited = SyncRetryBookkeeping.expedite(state, now: later)
        #expect(expedited.members[other.uuidString]?.nextAttemptAt == now.addingTimeInterval(1))
        #expect(expedited.plans[plan.uuidString]?.nextAttemptAt == now.addingTimeInterval(600))
        #expect(SyncRetryBookkeeping.due(expedited, now: later).plans.isEmpty)
    }
}
