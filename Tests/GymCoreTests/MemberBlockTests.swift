import Foundation
import Testing
@testable import GymCore

// A staff block over the access rule, in the Bucharest test gym on 2026-02-10 at noon local time.

@Suite("Member blocks")
struct MemberBlockTests {
    static let now = "2026-02-10T10:00:00Z"
    static let block = MemberBlock(reason: "Damaged the sauna door", blockedAt: instant("2026-02-09T08:00:00Z"), blockedBy: "staff:olga@gym.example")

    static func blocked(_ subscriptions: [Subscription], block: MemberBlock? = MemberBlockTests.block) -> AccessDecision {
        AccessRule.decide(memberID: member, block: block, subscriptions: subscriptions, layout: TestGym.layout, at: instant(now))
    }

    @Test("a blocked member with an active subscription gets no entry at any door, with reason blocked")
    func blockedBeatsActive() throws {
        let subscriptions = [sub("2026-01-01", end: "2026-02-28"), sub("2026-02-01", end: "2026-03-15", plan: TestGym.yoga.id)]
        #expect(decide(subscriptions, at: Self.now).mayEnter, "the fixture is active without the block")
        let decision = Self.blocked(subscriptions)
        #expect(decision.reason == .blocked)
        #expect(!decision.mayEnter)
        #expect(decision.window == nil)
        #expect(decision.block == Self.block)
        #expect(decision.doors.map(\.door.lockID) == TestGym.allLocks)
        for door in decision.doors {
            #expect(door.reason == .blocked, "lock \(door.door.lockID)")
            #expect(!door.allowed, "lock \(door.door.lockID)")
            #expect(door.grantingPlanIDs.isEmpty, "lock \(door.door.lockID)")
            #expect(door.window == nil, "lock \(door.door.lockID)")
        }
        // The plans are still listed, so staff see what the block overrides, but nothing is granted or ahead.
        #expect(Set(decision.plans.map(\.planID)) == [TestGym.gold.id, TestGym.yoga.id])
        for plan in decision.plans {
            #expect(plan.reason == .blocked)
            #expect(plan.window == nil)
            #expect(plan.upcoming == nil)
            #expect(!plan.inGracePeriod)
        }
        #expect(try #require(decision.plan(TestGym.gold.id)).lockIDs == [1, 2, 3])
    }

    static let everySubscriptionSituation: [[Subscription]] = [
        [],
        [sub("2026-01-01", end: "2026-02-28")],
        [sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-01", "2026-02-20")])],
        [sub("2026-01-01", paid: "2026-01-31")],
        [sub("2026-01-10", paid: "2026-02-08", plan: TestGym.spin.id)],  // within the spin plan's grace days
        [sub("2026-03-01", end: "2026-03-31")],
        [sub("2026-01-01", end: "2026-02-28", cancel: "2026-02-01")],
        [sub("2026-01-01", end: "2026-01-31")],
    ]

    @Test("a block takes precedence over every subscription reason", arguments: everySubscriptionSituation)
    func blockedBeatsEverything(subscriptions: [Subscription]) {
        let decision = Self.blocked(subscriptions)
        #expect(decision.reason == .blocked)
        #expect(decision.doors.allSatisfy { $0.reason == .blocked && !$0.allowed })
        #expect(decision.plans.allSatisfy { $0.reason == .blocked && $0.window == nil && $0.upcoming == nil })
    }

    @Test("lifting a block restores exactly what the subscriptions say", arguments: everySubscriptionSituation)
    func unblockRestores(subscriptions: [Subscription]) {
        var person = Member(id: member, firstName: "Ana", lastName: "Pop", email: EmailAddress("ana@example.com")!, block: Self.block)
        let layout = TestGym.layout
        #expect(AccessRule.decide(member: person, subscriptions: subscriptions, layout: layout, at: instant(Self.now)).reason == .blocked)
        person.block = nil
        let lifted = AccessRule.decide(member: person, subscriptions: subscriptions, layout: layout, at: instant(Self.now))
        #expect(lifted == decide(subscriptions, at: Self.now))
        #expect(lifted.block == nil)
        #expect(lifted.reason != .blocked)
    }

    @Test("the explanation gives staff's reason and never who blocked", arguments: [
        ("Damaged the sauna door", "Blocked by staff: Damaged the sauna door."),
        ("Card reported stolen.", "Blocked by staff: Card reported stolen."),
        ("Call the manager!", "Blocked by staff: Call the manager!"),
    ])
    func explanation(reason: String, expected: String) {
        let block = MemberBlock(reason: reason, blockedAt: instant("2026-02-09T08:00:00Z"), blockedBy: "staff:olga@gym.example")
        let decision = Self.blocked([sub("2026-01-01")], block: block)
        #expect(decision.explanation == expected)
        #expect(!decision.explanation.contains("olga"))
        #expect(AccessReason.blocked.explanation == "Blocked by staff.")
        #expect(decide([sub("2026-01-01", end: "2026-01-31")], at: Self.now).explanation == "Subscription has ended.")
    }

    @Test("a block needs a reason of at most 500 characters, trimmed, and someone who blocked", arguments: [
        ("", "staff:olga@gym.example", ["reason"]),
        (" \n\t ", "staff:olga@gym.example", ["reason"]),
        (String(repeating: "x", count: 501), "staff:olga@gym.example", ["reason"]),
        ("Fight in the changing room", "  ", ["blocked_by"]),
        ("", "", ["blocked_by", "reason"]),
    ])
    func validation(reason: String, by: String, fields: [String]) {
        #expect(throws: FieldErrors.self) { try MemberBlock.validated(reason: reason, blockedAt: Date(), blockedBy: by) }
        do {
            _ = try MemberBlock.validated(reason: reason, blockedAt: Date(), blockedBy: by)
        } catch {
            #expect(error.fields.keys.sorted() == fields)
        }
    }

    @Test("a valid block keeps the reason trimmed, up to 500 characters")
    func validBlock() throws {
        let at = instant("2026-02-09T08:00:00Z")
        let block = try MemberBlock.validated(reason: "  Damaged the sauna door\n", blockedAt: at, blockedBy: " staff:olga@gym.example ")
        #expect(block == MemberBlock(reason: "Damaged the sauna door", blockedAt: at, blockedBy: "staff:olga@gym.example"))
        let longest = String(repeating: "x", count: 500)
        #expect(try MemberBlock.validated(reason: longest, blockedAt: at, blockedBy: "api:desk").reason == longest)
    }
}
