import Foundation
import Testing
@testable import GymCore

// Decisions for one member in the Bucharest test gym. Every scenario sits in January–March 2026,
// before the spring-forward on 2026-03-29, so local midnight of day D is (D-1)T22:00:00Z: e.g.
// 2026-01-01 starts at 2025-12-31T22:00:00Z and a subscription ending 2026-02-28 ends at
// 2026-02-28T22:00:00Z. "Now" is usually 10:00Z, which is noon in Bucharest.

@Suite("AccessRule decisions")
struct AccessDecisionTests {
    struct DecisionCase: Sendable, CustomTestStringConvertible {
        var label: String
        var subscriptions: [Subscription]
        var at: String
        var reason: AccessReason
        var window: ExpectedWindow? = nil
        var upcoming: ExpectedWindow? = nil
        var inGrace = false
        /// The single plan the scenario is about; nil when the member should have no plan at all.
        var plan: UUID? = TestGym.gold.id
        var testDescription: String { "\(label) at \(at)" }
    }

    static let gold = TestGym.gold.id
    static let spin = TestGym.spin.id

    static let decisionCases: [DecisionCase] = [
        // MARK: Plain subscription (January–February)
        .init(label: "before the first day", subscriptions: [sub("2026-01-01", end: "2026-02-28")], at: "2025-12-31T21:59:59Z",
              reason: .notStarted, upcoming: .init("2025-12-31T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "at the first instant", subscriptions: [sub("2026-01-01", end: "2026-02-28")], at: "2025-12-31T22:00:00Z",
              reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "at the last instant", subscriptions: [sub("2026-01-01", end: "2026-02-28")], at: "2026-02-28T21:59:59Z",
              reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "at local midnight after the end date", subscriptions: [sub("2026-01-01", end: "2026-02-28")], at: "2026-02-28T22:00:00Z",
              reason: .ended),

        // MARK: Same plan, several subscriptions
        .init(label: "back-to-back renewal, during the first", subscriptions: [sub("2026-01-01", end: "2026-01-31"), sub("2026-02-01", end: "2026-02-28")],
              at: "2026-01-20T10:00:00Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "back-to-back renewal, during the second", subscriptions: [sub("2026-01-01", end: "2026-01-31"), sub("2026-02-01", end: "2026-02-28")],
              at: "2026-02-20T10:00:00Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "back-to-back renewal, across the seam", subscriptions: [sub("2026-02-01", end: "2026-02-28"), sub("2026-01-01", end: "2026-01-31")],
              at: "2026-01-31T22:00:00Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "overlapping subscriptions", subscriptions: [sub("2026-01-01", end: "2026-02-15"), sub("2026-02-01", end: "2026-03-15")],
              at: "2026-02-10T10:00:00Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-03-15T22:00:00Z")),
        .init(label: "a subscription nested in a longer one", subscriptions: [sub("2026-01-01", end: "2026-12-31"), sub("2026-02-01", end: "2026-02-10")],
              at: "2026-02-05T10:00:00Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-12-31T22:00:00Z")),
        .init(label: "a one-day gap between renewals, before it", subscriptions: [sub("2026-01-01", end: "2026-01-31"), sub("2026-02-02", end: "2026-02-28")],
              at: "2026-01-20T10:00:00Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-01-31T22:00:00Z"),
              upcoming: .init("2026-02-01T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "a one-day gap between renewals, on the gap day", subscriptions: [sub("2026-01-01", end: "2026-01-31"), sub("2026-02-02", end: "2026-02-28")],
              at: "2026-02-01T10:00:00Z", reason: .notStarted, upcoming: .init("2026-02-01T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "a one-day gap between renewals, after it", subscriptions: [sub("2026-01-01", end: "2026-01-31"), sub("2026-02-02", end: "2026-02-28")],
              at: "2026-02-02T10:00:00Z", reason: .active, window: .init("2026-02-01T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "both subscriptions over", subscriptions: [sub("2026-01-01", end: "2026-01-15"), sub("2026-01-20", end: "2026-01-31", cancel: "2026-01-25")],
              at: "2026-02-10T10:00:00Z", reason: .cancelled),
        .init(label: "a renewal after the grace days joins the grace-extended window",
              subscriptions: [sub("2026-01-01", paid: "2026-01-31", plan: spin), sub("2026-02-04", end: "2026-02-28", plan: spin)],
              at: "2026-02-02T10:00:00Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-02-28T22:00:00Z"), inGrace: true, plan: spin),
        .init(label: "once the renewal has started, no longer in grace",
              subscriptions: [sub("2026-01-01", paid: "2026-01-31", plan: spin), sub("2026-02-04", end: "2026-02-28", plan: spin)],
              at: "2026-02-05T10:00:00Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-02-28T22:00:00Z"), plan: spin),
        .init(label: "a paid renewal overlapping an unpaid subscription is not grace",
              subscriptions: [sub("2026-01-01", paid: "2026-01-31", plan: spin), sub("2026-02-01", end: "2026-02-28", plan: spin)],
              at: "2026-02-02T10:00:00Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-02-28T22:00:00Z"), plan: spin),
        .init(label: "another subscription of the plan active during a freeze",
              subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-01", "2026-02-07")]), sub("2026-02-05", end: "2026-03-15")],
              at: "2026-02-06T10:00:00Z", reason: .active, window: .init("2026-02-04T22:00:00Z", "2026-03-15T22:00:00Z")),

        // MARK: Freezes (subscription 2026-01-01 through 2026-02-28)
        .init(label: "inside a freeze", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-01", "2026-02-07")])],
              at: "2026-02-03T10:00:00Z", reason: .frozen, upcoming: .init("2026-02-07T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "before a planned freeze", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-01", "2026-02-07")])],
              at: "2026-01-20T10:00:00Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-01-31T22:00:00Z"),
              upcoming: .init("2026-02-07T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "the last second before a freeze", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-01", "2026-02-07")])],
              at: "2026-01-31T21:59:59Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-01-31T22:00:00Z"),
              upcoming: .init("2026-02-07T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "the first second of a freeze", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-01", "2026-02-07")])],
              at: "2026-01-31T22:00:00Z", reason: .frozen, upcoming: .init("2026-02-07T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "the last second of a freeze", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-01", "2026-02-07")])],
              at: "2026-02-07T21:59:59Z", reason: .frozen, upcoming: .init("2026-02-07T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "the first second after a freeze", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-01", "2026-02-07")])],
              at: "2026-02-07T22:00:00Z", reason: .active, window: .init("2026-02-07T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "a freeze overlapping the start, before the start", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2025-12-20", "2026-01-05")])],
              at: "2025-12-25T10:00:00Z", reason: .notStarted, upcoming: .init("2026-01-05T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "a freeze overlapping the start, after the start", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2025-12-20", "2026-01-05")])],
              at: "2026-01-03T10:00:00Z", reason: .frozen, upcoming: .init("2026-01-05T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "a freeze overlapping the start, once it is over", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2025-12-20", "2026-01-05")])],
              at: "2026-01-06T10:00:00Z", reason: .active, window: .init("2026-01-05T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "a freeze on the last days, before it", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-20", "2026-02-28")])],
              at: "2026-02-10T10:00:00Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-02-19T22:00:00Z")),
        .init(label: "a freeze on the last days, during it", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-20", "2026-02-28")])],
              at: "2026-02-25T10:00:00Z", reason: .frozen),
        .init(label: "a freeze on the last days, after the end", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-20", "2026-02-28")])],
              at: "2026-03-01T10:00:00Z", reason: .ended),
        .init(label: "two freezes, before both", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-01", "2026-02-07"), ("2026-01-10", "2026-01-12")])],
              at: "2026-01-05T10:00:00Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-01-09T22:00:00Z"),
              upcoming: .init("2026-01-12T22:00:00Z", "2026-01-31T22:00:00Z")),
        .init(label: "two freezes, in the first", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-01", "2026-02-07"), ("2026-01-10", "2026-01-12")])],
              at: "2026-01-11T10:00:00Z", reason: .frozen, upcoming: .init("2026-01-12T22:00:00Z", "2026-01-31T22:00:00Z")),
        .init(label: "two freezes, between them", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-01", "2026-02-07"), ("2026-01-10", "2026-01-12")])],
              at: "2026-01-20T10:00:00Z", reason: .active, window: .init("2026-01-12T22:00:00Z", "2026-01-31T22:00:00Z"),
              upcoming: .init("2026-02-07T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "two freezes, in the second", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-01", "2026-02-07"), ("2026-01-10", "2026-01-12")])],
              at: "2026-02-03T10:00:00Z", reason: .frozen, upcoming: .init("2026-02-07T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "back-to-back freezes act as one", subscriptions: [sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-01", "2026-02-03"), ("2026-02-04", "2026-02-07")])],
              at: "2026-02-02T10:00:00Z", reason: .frozen, upcoming: .init("2026-02-07T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "frozen to the end, renewal upcoming", subscriptions: [sub("2026-01-01", end: "2026-01-31", freezes: [("2026-01-25", "2026-01-31")]), sub("2026-02-01", end: "2026-02-28")],
              at: "2026-01-27T10:00:00Z", reason: .frozen, upcoming: .init("2026-01-31T22:00:00Z", "2026-02-28T22:00:00Z")),
        .init(label: "frozen beyond the paid days, nothing upcoming", subscriptions: [sub("2026-01-01", paid: "2026-02-03", freezes: [("2026-02-01", "2026-02-07")])],
              at: "2026-02-03T10:00:00Z", reason: .frozen),

        // MARK: Cancellation (subscription 2026-01-01 through 2026-02-28)
        .init(label: "a cancellation in the past", subscriptions: [sub("2026-01-01", end: "2026-02-28", cancel: "2026-02-01")],
              at: "2026-02-10T10:00:00Z", reason: .cancelled),
        .init(label: "a cancellation in the future", subscriptions: [sub("2026-01-01", end: "2026-02-28", cancel: "2026-02-15")],
              at: "2026-02-10T10:00:00Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-02-14T22:00:00Z")),
        .init(label: "the last second before a cancellation", subscriptions: [sub("2026-01-01", end: "2026-02-28", cancel: "2026-02-15")],
              at: "2026-02-14T21:59:59Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-02-14T22:00:00Z")),
        .init(label: "the cancellation's first instant", subscriptions: [sub("2026-01-01", end: "2026-02-28", cancel: "2026-02-15")],
              at: "2026-02-14T22:00:00Z", reason: .cancelled),
        .init(label: "cancelled on the start date, before it", subscriptions: [sub("2026-01-01", end: "2026-02-28", cancel: "2026-01-01")],
              at: "2025-12-31T10:00:00Z", reason: .notStarted),
        .init(label: "cancelled on the start date, from its first instant", subscriptions: [sub("2026-01-01", end: "2026-02-28", cancel: "2026-01-01")],
              at: "2025-12-31T22:00:00Z", reason: .cancelled),
        .init(label: "cancelled after the natural end", subscriptions: [sub("2026-01-01", end: "2026-02-28", cancel: "2026-03-05")],
              at: "2026-03-10T10:00:00Z", reason: .ended),
        .init(label: "cancelled the day after the end date", subscriptions: [sub("2026-01-01", end: "2026-02-28", cancel: "2026-03-01")],
              at: "2026-03-10T10:00:00Z", reason: .ended),
        .init(label: "cancelled before the natural end", subscriptions: [sub("2026-01-01", end: "2026-02-28", cancel: "2026-02-27")],
              at: "2026-03-10T10:00:00Z", reason: .cancelled),
        .init(label: "cancelled, with a renewal to come", subscriptions: [sub("2026-01-01", cancel: "2026-01-15"), sub("2026-02-01", end: "2026-02-28")],
              at: "2026-01-20T10:00:00Z", reason: .notStarted, upcoming: .init("2026-01-31T22:00:00Z", "2026-02-28T22:00:00Z")),

        // MARK: Past due (open-ended, paid through 2026-01-31)
        .init(label: "the last paid second without grace", subscriptions: [sub("2026-01-01", paid: "2026-01-31")],
              at: "2026-01-31T21:59:59Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-01-31T22:00:00Z")),
        .init(label: "the first unpaid second without grace", subscriptions: [sub("2026-01-01", paid: "2026-01-31")],
              at: "2026-01-31T22:00:00Z", reason: .pastDue),
        .init(label: "the last paid day with three grace days", subscriptions: [sub("2026-01-01", paid: "2026-01-31", plan: spin)],
              at: "2026-01-31T10:00:00Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-02-03T22:00:00Z"), plan: spin),
        .init(label: "the first grace day", subscriptions: [sub("2026-01-01", paid: "2026-01-31", plan: spin)],
              at: "2026-01-31T22:00:00Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-02-03T22:00:00Z"), inGrace: true, plan: spin),
        .init(label: "the last grace second", subscriptions: [sub("2026-01-01", paid: "2026-01-31", plan: spin)],
              at: "2026-02-03T21:59:59Z", reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-02-03T22:00:00Z"), inGrace: true, plan: spin),
        .init(label: "the first second after the grace days", subscriptions: [sub("2026-01-01", paid: "2026-01-31", plan: spin)],
              at: "2026-02-03T22:00:00Z", reason: .pastDue, plan: spin),
        .init(label: "grace days never outlast the end date", subscriptions: [sub("2026-01-01", end: "2026-01-31", plan: spin)],
              at: "2026-02-01T10:00:00Z", reason: .ended, plan: spin),
        .init(label: "a new subscription with nothing paid yet lives on grace", subscriptions: [sub("2026-02-01", paid: "2026-01-31", plan: spin)],
              at: "2026-02-02T10:00:00Z", reason: .active, window: .init("2026-01-31T22:00:00Z", "2026-02-03T22:00:00Z"), inGrace: true, plan: spin),

        // MARK: No subscription
        .init(label: "a member without subscriptions", subscriptions: [], at: "2026-02-10T10:00:00Z", reason: .noSubscription, plan: nil),
        .init(label: "only someone else's subscription", subscriptions: [sub("2026-01-01", memberID: stranger)],
              at: "2026-02-10T10:00:00Z", reason: .noSubscription, plan: nil),
        .init(label: "a subscription to a plan the gym does not have", subscriptions: [sub("2026-01-01", plan: fixedID(399))],
              at: "2026-02-10T10:00:00Z", reason: .noSubscription, plan: nil),
    ]

    @Test("a decision gives the expected reason, window and upcoming window", arguments: decisionCases)
    func decision(_ testCase: DecisionCase) throws {
        let decision = decide(testCase.subscriptions, at: testCase.at)
        #expect(decision.memberID == member)
        #expect(decision.evaluatedAt == instant(testCase.at))
        #expect(decision.reason == testCase.reason)
        #expect(decision.mayEnter == (testCase.reason == .active))
        #expect(decision.window.spelled == testCase.window)

        guard let planID = testCase.plan else {
            #expect(decision.plans.isEmpty)
            #expect(decision.doors.allSatisfy { $0.reason == .noSubscription && !$0.allowed })
            return
        }
        #expect(decision.plans.map(\.planID) == [planID])
        let plan = try #require(decision.plan(planID))
        #expect(plan.reason == testCase.reason)
        #expect(plan.window.spelled == testCase.window)
        #expect(plan.upcoming.spelled == testCase.upcoming)
        #expect(plan.inGracePeriod == testCase.inGrace)
        #expect(Set(plan.subscriptionIDs) == Set(testCase.subscriptions.map(\.id)))

        // Doors of the plan follow it; every other door has no subscription.
        let locks = try #require(TestGym.expectedLocks[planID])
        #expect(plan.lockIDs == locks)
        for door in decision.doors {
            let covered = locks.contains(door.door.lockID)
            #expect(door.reason == (covered ? testCase.reason : .noSubscription), "lock \(door.door.lockID)")
            #expect(door.grantingPlanIDs == (covered && testCase.reason == .active ? [planID] : []), "lock \(door.door.lockID)")
            #expect(door.window.spelled == (covered ? testCase.window : nil), "lock \(door.door.lockID)")
        }
    }

    /// Every reason but `blocked`, which comes from staff rather than from a subscription (MemberBlockTests),
    /// and `not_booked`, which a studio door gets from booked classes (StudioClassTests).
    static let subscriptionReasons = AccessReason.allCases.filter { $0 != .blocked && $0 != .notBooked }

    @Test("every access reason a subscription can give is produced by at least one decision case", arguments: subscriptionReasons)
    func everyReasonReachable(reason: AccessReason) {
        let producing = Self.decisionCases.filter { $0.reason == reason }
        #expect(!producing.isEmpty, "no table case expects \(reason)")
        // Re-run them here so reachability does not rest on the table's claims alone.
        for testCase in producing {
            #expect(decide(testCase.subscriptions, at: testCase.at).reason == reason, "\(testCase.label)")
        }
    }

    // MARK: Several plans

    /// A subscription that, on 2026-02-10 (at noon in Bucharest), has the given reason.
    static func subscription(_ reason: AccessReason, plan: UUID) -> Subscription? {
        switch reason {
        case .active: sub("2026-01-01", end: "2026-02-28", plan: plan)
        case .frozen: sub("2026-01-01", end: "2026-02-28", freezes: [("2026-02-01", "2026-02-20")], plan: plan)
        case .pastDue: sub("2026-01-01", paid: "2026-01-31", plan: plan)
        case .notStarted: sub("2026-03-01", end: "2026-03-31", plan: plan)
        case .cancelled: sub("2026-01-01", end: "2026-02-28", cancel: "2026-02-01", plan: plan)
        case .ended: sub("2026-01-01", end: "2026-01-31", plan: plan)
        case .noSubscription, .blocked, .notBooked: nil
        }
    }

    /// The front desk's order when nothing grants access: most actionable first.
    static let denialOrder: [AccessReason] = [.frozen, .pastDue, .notStarted, .cancelled, .ended, .noSubscription]

    static let reasonPairs: [(AccessReason, AccessReason)] = subscriptionReasons.flatMap { first in
        subscriptionReasons.map { (first, $0) }
    }

    static func expectedCombination(_ first: AccessReason, _ second: AccessReason) -> AccessReason {
        if first == .active || second == .active { return .active }
        return denialOrder.firstIndex(of: first)! < denialOrder.firstIndex(of: second)! ? first : second
    }

    @Test("with two plans, an active one wins, else the most actionable denial", arguments: reasonPairs)
    func twoPlans(goldReason: AccessReason, yogaReason: AccessReason) {
        let subscriptions = [
            Self.subscription(goldReason, plan: TestGym.gold.id), Self.subscription(yogaReason, plan: TestGym.yoga.id),
        ].compactMap { $0 }
        let decision = decide(subscriptions, at: "2026-02-10T10:00:00Z")
        let combined = Self.expectedCombination(goldReason, yogaReason)
        #expect(decision.reason == combined)
        // Gold alone opens Pipera (3), yoga alone its studio (10), both the Unirii entrance (1, 2).
        #expect(decision.door(3)?.reason == goldReason)
        #expect(decision.door(10)?.reason == yogaReason)
        #expect(decision.door(1)?.reason == combined)
        #expect(decision.door(2)?.reason == combined)
        #expect(decision.door(4)?.reason == .noSubscription)
        #expect(decision.door(11)?.reason == .noSubscription)
    }

    @Test("within one plan, an active subscription wins, else the most actionable denial", arguments: reasonPairs)
    func onePlanTwoSubscriptions(first: AccessReason, second: AccessReason) {
        let subscriptions = [
            Self.subscription(first, plan: TestGym.gold.id), Self.subscription(second, plan: TestGym.gold.id),
        ].compactMap { $0 }
        let decision = decide(subscriptions, at: "2026-02-10T10:00:00Z")
        #expect(decision.reason == Self.expectedCombination(first, second))
        #expect(decision.plans.count == (subscriptions.isEmpty ? 0 : 1))
    }

    struct DoorCase: Sendable, CustomTestStringConvertible {
        var label: String
        var subscriptions: [Subscription]
        var at = "2026-02-10T10:00:00Z"
        var reason: AccessReason
        var window: ExpectedWindow?
        /// Per lock: reason, names of granting plans, window.
        var doors: [Int: (AccessReason, [String], ExpectedWindow?)]
        var testDescription: String { label }
    }

    static let goldWindow = ExpectedWindow("2025-12-31T22:00:00Z", "2026-02-28T22:00:00Z")
    static let yogaFebMarch = ExpectedWindow("2026-01-31T22:00:00Z", "2026-03-15T22:00:00Z")
    static let both = ExpectedWindow("2025-12-31T22:00:00Z", "2026-03-15T22:00:00Z")
    static let planNames = [TestGym.gold.id: "Gold", TestGym.yoga.id: "Yoga", TestGym.spin.id: "Spin"]

    static let doorCases: [DoorCase] = [
        .init(label: "gold active, yoga frozen: doors split by plan",
              subscriptions: [sub("2026-01-01", end: "2026-02-28"),
                              sub("2026-01-01", end: "2026-03-31", freezes: [("2026-02-01", "2026-02-20")], plan: TestGym.yoga.id)],
              reason: .active, window: goldWindow,
              doors: [1: (.active, ["Gold"], goldWindow), 2: (.active, ["Gold"], goldWindow), 3: (.active, ["Gold"], goldWindow),
                      4: (.noSubscription, [], nil), 10: (.frozen, [], nil), 11: (.noSubscription, [], nil)]),
        .init(label: "a studio plan opens its club's entrance but not the other club",
              subscriptions: [sub("2026-02-01", end: "2026-03-15", plan: TestGym.yoga.id)],
              reason: .active, window: yogaFebMarch,
              doors: [1: (.active, ["Yoga"], yogaFebMarch), 2: (.active, ["Yoga"], yogaFebMarch), 3: (.noSubscription, [], nil),
                      4: (.noSubscription, [], nil), 10: (.active, ["Yoga"], yogaFebMarch), 11: (.noSubscription, [], nil)]),
        .init(label: "two active plans: a shared door spans both windows",
              subscriptions: [sub("2026-01-01", end: "2026-02-28"), sub("2026-02-01", end: "2026-03-15", plan: TestGym.yoga.id)],
              reason: .active, window: both,
              doors: [1: (.active, ["Gold", "Yoga"], both), 2: (.active, ["Gold", "Yoga"], both), 3: (.active, ["Gold"], goldWindow),
                      4: (.noSubscription, [], nil), 10: (.active, ["Yoga"], yogaFebMarch), 11: (.noSubscription, [], nil)]),
        .init(label: "gold ended, yoga not started: the shared door says not started",
              subscriptions: [sub("2026-01-01", end: "2026-01-31"), sub("2026-03-01", end: "2026-03-31", plan: TestGym.yoga.id)],
              reason: .notStarted, window: nil,
              doors: [1: (.notStarted, [], nil), 2: (.notStarted, [], nil), 3: (.ended, [], nil),
                      4: (.noSubscription, [], nil), 10: (.notStarted, [], nil), 11: (.noSubscription, [], nil)]),
        .init(label: "spin in grace, yoga past due: the shared door opens through spin",
              subscriptions: [sub("2026-01-01", paid: "2026-02-08", plan: TestGym.spin.id), sub("2026-01-01", paid: "2026-02-08", plan: TestGym.yoga.id)],
              reason: .active, window: .init("2025-12-31T22:00:00Z", "2026-02-11T22:00:00Z"),
              doors: [1: (.active, ["Spin"], .init("2025-12-31T22:00:00Z", "2026-02-11T22:00:00Z")),
                      2: (.active, ["Spin"], .init("2025-12-31T22:00:00Z", "2026-02-11T22:00:00Z")),
                      3: (.noSubscription, [], nil), 4: (.noSubscription, [], nil), 10: (.pastDue, [], nil),
                      11: (.active, ["Spin"], .init("2025-12-31T22:00:00Z", "2026-02-11T22:00:00Z"))]),
        .init(label: "all three plans, only gold denied",
              subscriptions: [sub("2026-01-01", end: "2026-02-28", cancel: "2026-02-01"),
                              sub("2026-02-01", end: "2026-03-15", plan: TestGym.yoga.id),
                              sub("2026-02-01", end: "2026-03-15", plan: TestGym.spin.id)],
              reason: .active, window: yogaFebMarch,
              doors: [1: (.active, ["Yoga", "Spin"], yogaFebMarch), 2: (.active, ["Yoga", "Spin"], yogaFebMarch), 3: (.cancelled, [], nil),
                      4: (.noSubscription, [], nil), 10: (.active, ["Yoga"], yogaFebMarch), 11: (.active, ["Spin"], yogaFebMarch)]),
    ]

    @Test("each door's decision follows the plans that cover it", arguments: doorCases)
    func doors(_ testCase: DoorCase) {
        let decision = decide(testCase.subscriptions, at: testCase.at)
        #expect(decision.reason == testCase.reason)
        #expect(decision.window.spelled == testCase.window)
        #expect(decision.doors.map(\.door.lockID) == TestGym.allLocks)
        for door in decision.doors {
            guard let (reason, planNames, window) = testCase.doors[door.door.lockID] else {
                Issue.record("no expectation for lock \(door.door.lockID)")
                continue
            }
            #expect(door.reason == reason, "lock \(door.door.lockID)")
            #expect(door.allowed == (reason == .active), "lock \(door.door.lockID)")
            #expect(Set(door.grantingPlanIDs.compactMap { Self.planNames[$0] }) == Set(planNames), "lock \(door.door.lockID)")
            #expect(door.grantingPlanIDs.count == planNames.count, "lock \(door.door.lockID)")
            #expect(door.window.spelled == window, "lock \(door.door.lockID)")
        }
    }
}
