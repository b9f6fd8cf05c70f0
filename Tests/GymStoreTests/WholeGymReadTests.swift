import Foundation
import GymCore
import GymStore
import Testing

@Suite("Whole-gym reads for a full sync")
struct WholeGymReadTests {
    @Test("Keyset pages of any size read every member and subscription once, sorted by ID, with their freezes", arguments: DatabaseKind.available)
    func keysetPages(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let club = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest"))
            let plan = try await repository.createPlan(PlanDraft(name: "Gold", clubIDs: [club.id]))
            let start = try #require(LocalDate("2026-01-01"))
            var frozen: Set<UUID> = []
            var memberIDs: Set<UUID> = []
            var subscriptionIDs: Set<UUID> = []
            for n in 0..<7 {
                let member = try await repository.createMember(MemberDraft(firstName: "M", lastName: "\(n)", email: "w\(n)@gym.example"))
                let subscription = try await repository.createSubscription(SubscriptionDraft(
                    memberID: member.id, planID: plan.id, startDate: start, endDate: nil, paidThrough: start.adding(days: 60)))
                memberIDs.insert(member.id)
                subscriptionIDs.insert(subscription.id)
                if n % 3 == 0 {
                    _ = try await repository.freeze(subscription.id, span: DateSpan(first: start.adding(days: 10), last: start.adding(days: 20)))
                    frozen.insert(subscription.id)
                }
            }
            // The database's own order (one page holds everything) is what every page size must reproduce.
            let members = try await repository.allMembers(pageSize: 1_000).map(\.id)
            let subscriptions = try await repository.allSubscriptions(pageSize: 1_000).map(\.id)
            #expect(members.count == 7 && Set(members) == memberIDs)
            #expect(subscriptions.count == 7 && Set(subscriptions) == subscriptionIDs)
            // 1 and 3 leave a partial last page, 7 an exactly full one, 8 a single short page.
            for pageSize in [1, 3, 7, 8] {
                let paged = try await repository.allMembers(pageSize: pageSize)
                #expect(paged.map(\.id) == members, "members in pages of \(pageSize)")
                let pagedSubscriptions = try await repository.allSubscriptions(pageSize: pageSize)
                #expect(pagedSubscriptions.map(\.id) == subscriptions, "subscriptions in pages of \(pageSize)")
                #expect(Set(pagedSubscriptions.filter { !$0.freezes.isEmpty }.map(\.id)) == frozen)
            }
        }
    }
}
