import Foundation
import GymCore
import GymStore
import KisiAPI
import KisiSandbox
import Logging
import Testing
@testable import AccessSync

// What one member's change costs must follow the change, not the gym: the same gym at two sizes,
// synced in full, then one member frozen; the change-driven run is compared by what it read.

@Suite("cost of a change")
struct ChangeCostTests {
    /// What the change-driven run after one freeze read and did.
    struct FreezeCost: Equatable, CustomStringConvertible {
        var kisiReads: Int
        var storeRowsRead: Int
        var executed: [String: Int]
        var description: String { "Kisi reads \(kisiReads), store rows \(storeRowsRead), executed \(executed)" }
    }

    /// A gym of `memberCount` members, each with an active subscription (even: all clubs, odd: Old
    /// Town), synced in full; then member 1 is frozen and the change reconciled alone.
    static func oneFreeze(memberCount: Int) async throws -> FreezeCost {
        var logger = Logger(label: "change-cost-tests")
        logger.logLevel = .warning
        let database = try GymDatabase(location: .sqliteInMemory, logger: logger)
        try await database.migrate()
        do {
            let cost = try await oneFreeze(memberCount: memberCount, repository: database.repository, logger: logger)
            await database.shutdown()
            return cost
        } catch {
            await database.shutdown()
            throw error
        }
    }

    static func oneFreeze(memberCount: Int, repository: GymRepository, logger: Logger) async throws -> FreezeCost {
        let zone = TimeZone(identifier: "Europe/Bucharest")!
        let today = LocalDate(containing: Date(), in: zone)
        let oldTownClub = try await repository.createClub(ClubDraft(
            name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1001, kisiLockIDs: [5001, 5002]))
        let floreasca = try await repository.createClub(ClubDraft(
            name: "Floreasca", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1002, kisiLockIDs: [5011]))
        let unlimited = try await repository.createPlan(PlanDraft(name: "Unlimited", clubIDs: [oldTownClub.id, floreasca.id]))
        let oldTown = try await repository.createPlan(PlanDraft(name: "Old Town basic", clubIDs: [oldTownClub.id]))
        let drafts = (0..<memberCount).map { MemberDraft(firstName: "Member\($0)", lastName: "Cost", email: "member\($0)@change-cost.example") }
        let members = try await repository.importMembers(drafts, skipInvalid: false).imported.sorted { $0.email.value < $1.email.value }
        #expect(members.count == memberCount)
        var subscriptionOf: [UUID: Subscription] = [:]
        for (index, member) in members.enumerated() {
            subscriptionOf[member.id] = try await repository.createSubscription(SubscriptionDraft(
                memberID: member.id, planID: index % 2 == 0 ? unlimited.id : oldTown.id, startDate: today.adding(days: -30),
                paidThrough: today.adding(days: 30)))
        }

        let member = members[1]
        let subscription = try #require(subscriptionOf[member.id])
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: .demoSeed(), requestsPerSecond: 0, logger: logger))
        return try await sandbox.withRunningServer { port in
            let ledger = GymStoreSyncLedger(repository: repository)
            let engine = SyncEngine(
                client: engineClient(port: port), repository: repository, ledger: ledger, configuration: .init(logger: logger))
            let full = try await engine.reconcileAll()
            #expect(full.failures.isEmpty, "\(full.failures)")
            #expect(full.executed["createGrant"] == memberCount)

            // The first change-driven run after groups were made reads them and their doors again;
            // later runs reuse what it read. Measured is such a later run.
            let warmUp = try await engine.reconcile(memberIDs: [members[0].id])
            #expect(warmUp.planned == 0, "\(warmUp)")
            _ = try await repository.freeze(subscription.id, span: DateSpan(first: today, last: today.adding(days: 13)), reason: "Holiday")
            let report = try await engine.reconcile(memberIDs: [member.id])
            #expect(report.failures.isEmpty, "\(report.failures)")
            return FreezeCost(kisiReads: report.kisiReads, storeRowsRead: report.storeRowsRead, executed: report.executed)
        }
    }

    @Test("one member's freeze reads as much of Kisi and of the database in a gym of 400 members as in one of 50")
    func freezeCostDoesNotGrowWithTheGym() async throws {
        let small = try await Self.oneFreeze(memberCount: 50)
        let large = try await Self.oneFreeze(memberCount: 400)
        #expect(small.executed == ["removeGrant": 1], "\(small)")
        #expect(small == large, "50 members: \(small); 400 members: \(large)")
        // Kisi: the member's user (by ID) and its role assignments. Database: the layout (two clubs, two
        // plans), the member and their subscription, and the links twice (two group links and the
        // member's user link: by member, then by the Kisi users read, to learn who else owns them).
        #expect(small.kisiReads == 2, "\(small)")
        #expect(small.storeRowsRead == 4 + 1 + 1 + 2 * 3, "\(small)")
    }
}
