import Foundation

/// Why a member may or may not open a door right now.
public enum AccessReason: String, Hashable, Sendable, Codable, CaseIterable {
    case active
    case frozen
    case cancelled
    case ended
    case notStarted = "not_started"
    case pastDue = "past_due"
    case noSubscription = "no_subscription"
    /// Staff blocked the member; overrides every subscription.
    case blocked
    /// A studio door that the member's active plan opens only around booked classes, and no booked
    /// class's window is open now. Given for doors only: the plan itself stays active (it still opens
    /// the club's entrance).
    case notBooked = "not_booked"

    public var grantsAccess: Bool { self == .active }

    /// What the front desk tells the member.
    public var explanation: String {
        switch self {
        case .active: "Subscription is active."
        case .frozen: "Subscription is frozen."
        case .cancelled: "Subscription was cancelled."
        case .ended: "Subscription has ended."
        case .notStarted: "Subscription has not started yet."
        case .pastDue: "Payment is overdue beyond the grace period."
        case .noSubscription: "No subscription covers this door."
        case .blocked: "Blocked by staff."
        case .notBooked: "This studio opens only around the member's booked classes; none is open now."
        }
    }

    /// When no subscription grants access, the most actionable explanation wins: a frozen or
    /// unpaid subscription can be fixed at the desk, a future one will start by itself, and
    /// cancelled or ended ones are history.
    var denialPriority: Int {
        switch self {
        case .active: 0
        // An active plan covers the studio: booking a class is all it takes.
        case .notBooked: 1
        case .frozen: 2
        case .pastDue: 3
        case .notStarted: 4
        case .cancelled: 5
        case .ended: 6
        case .noSubscription: 7
        // Never derived from a subscription (the block is applied over the whole decision), so
        // this only states that nothing outranks it.
        case .blocked: -1
        }
    }
}

/// A half-open interval of instants `[from, until)` during which a grant is valid.
public struct AccessWindow: Hashable, Sendable {
    public var from: Date
    public var until: Date

    public init(from: Date, until: Date) {
        self.from = from
        self.until = until
    }

    public func contains(_ instant: Date) -> Bool { from <= instant && instant < until }
}

/// A door: one Kisi lock, at a club entrance or at a studio.
public struct Door: Hashable, Sendable {
    public var lockID: Int
    public var clubID: UUID
    public var studioID: UUID?

    public init(lockID: Int, clubID: UUID, studioID: UUID? = nil) {
        self.lockID = lockID
        self.clubID = clubID
        self.studioID = studioID
    }
}

/// The access rule's answer for one member and one plan.
public struct PlanAccess: Hashable, Sendable {
    public var planID: UUID
    public var reason: AccessReason
    /// While `reason` is `.active`: the grant that holds now, merged across back-to-back subscriptions.
    public var window: AccessWindow?
    /// The next grant that will begin by itself (a future start, the end of a planned freeze).
    public var upcoming: AccessWindow?
    /// True when access holds only thanks to the plan's past-due grace days.
    public var inGracePeriod: Bool
    public var subscriptionIDs: [UUID]
    public var lockIDs: [Int]
}

/// What the access rule derives from a plan and the layout at one instant, whatever the member: the
/// plan's zone, the club-local date and the plan's locks.
public struct PlanAccessContext: Sendable {
    public let plan: Plan
    public let zone: TimeZone
    public let today: LocalDate
    public let lockIDs: [Int]

    public init(plan: Plan, layout: GymLayout, at instant: Date) {
        self.plan = plan
        self.zone = layout.timeZone(of: plan)
        self.today = LocalDate(containing: instant, in: zone)
        self.lockIDs = layout.lockIDs(of: plan)
    }
}

/// The access rule's answer for one door.
public struct DoorAccess: Hashable, Sendable {
    public var door: Door
    public var reason: AccessReason
    /// Plans currently opening this door.
    public var grantingPlanIDs: [UUID]
    public var window: AccessWindow?
    /// At a studio opened only for booked classes: the booked class whose window is open now (the door
    /// is allowed) or, when none is, the member's next one.
    public var classWindow: ClassDoorWindow?
    /// `classWindow` as the front desk says it, in the club's zone: "Spinning: booked class Tue
    /// 18:00–19:00, door open 17:45–19:15".
    public var classExplanation: String?

    public init(
        door: Door, reason: AccessReason, grantingPlanIDs: [UUID], window: AccessWindow?, classWindow: ClassDoorWindow? = nil,
        classExplanation: String? = nil
    ) {
        self.door = door
        self.reason = reason
        self.grantingPlanIDs = grantingPlanIDs
        self.window = window
        self.classWindow = classWindow
        self.classExplanation = classExplanation
    }

    public var allowed: Bool { reason.grantsAccess }

    /// Why, in words: the booked class when there is one, else the reason's explanation.
    public var explanation: String {
        guard let classExplanation else { return reason.explanation }
        guard reason == .notBooked, let date = classWindow?.occurrenceDate else { return "\(classExplanation)." }
        return "\(reason.explanation) Next, on \(date.day) \(Self.monthNames[date.month - 1]): \(classExplanation)."
    }

    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
}

/// A member's booked classes as the access rule reads them: every plan's class rules and the member's
/// door windows (``ClassAccessRule/doorWindows(memberID:block:subscriptions:bookings:layout:rules:at:perStudio:)``
/// at the same instant: the open one and the next per studio).
public struct ClassAccess: Sendable {
    public var rules: [PlanClassRule]
    public var windows: [ClassDoorWindow]

    public init(rules: [PlanClassRule], windows: [ClassDoorWindow]) {
        self.rules = rules
        self.windows = windows
    }

    /// No plan has class rules: studio doors follow the subscriptions alone.
    public static let none = ClassAccess(rules: [], windows: [])
}

/// The access rule's full answer for one member at one instant.
public struct AccessDecision: Hashable, Sendable {
    public var memberID: UUID
    public var evaluatedAt: Date
    public var reason: AccessReason
    /// The span during which the member can get in through at least one door, when `reason` is `.active`.
    public var window: AccessWindow?
    public var plans: [PlanAccess]
    public var doors: [DoorAccess]
    /// The staff block behind a `.blocked` answer.
    public var block: MemberBlock?

    public var mayEnter: Bool { reason.grantsAccess }

    /// What the front desk tells the member; for a block, with staff's reason (never who blocked).
    public var explanation: String {
        guard reason == .blocked, let block else { return reason.explanation }
        let text = block.reason
        let closed = text.last.map { ".!?".contains($0) } ?? false
        return "Blocked by staff: \(text)\(closed ? "" : ".")"
    }
}

/// The physical side of a gym the access rule needs: which plan opens which doors in which zone.
public struct GymLayout: Sendable {
    public let clubs: [UUID: Club]
    public let studios: [UUID: Studio]
    public let plans: [UUID: Plan]

    public init(clubs: [Club], studios: [Studio], plans: [Plan]) {
        self.clubs = Dictionary(clubs.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.studios = Dictionary(studios.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.plans = Dictionary(plans.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Every door of the gym, sorted by lock ID.
    public var allDoors: [Door] {
        var doors: [Int: Door] = [:]
        for club in clubs.values {
            for lock in club.kisiLockIDs { doors[lock] = Door(lockID: lock, clubID: club.id) }
        }
        for studio in studios.values {
            for lock in studio.kisiLockIDs { doors[lock] = Door(lockID: lock, clubID: studio.clubID, studioID: studio.id) }
        }
        return doors.values.sorted { $0.lockID < $1.lockID }
    }

    /// The Kisi locks a plan opens: its clubs' entrances, its studios' doors and the entrances of
    /// the clubs those studios are in. Sorted, without duplicates.
    public func lockIDs(of plan: Plan) -> [Int] {
        var locks = Set<Int>()
        var clubIDs = Set(plan.clubIDs)
        for studioID in plan.studioIDs {
            guard let studio = studios[studioID] else { continue }
            locks.formUnion(studio.kisiLockIDs)
            clubIDs.insert(studio.clubID)
        }
        for clubID in clubIDs {
            locks.formUnion(clubs[clubID]?.kisiLockIDs ?? [])
        }
        return locks.sorted()
    }

    /// The zone a plan's calendar dates are read in: its first club's, else its first studio's club's.
    /// A plan spanning clubs in different zones follows the first one listed.
    public func timeZone(of plan: Plan) -> TimeZone {
        let clubID = plan.clubIDs.first ?? plan.studioIDs.lazy.compactMap { studios[$0]?.clubID }.first
        return clubID.flatMap { clubs[$0]?.timeZone } ?? TimeZone(identifier: "UTC")!
    }
}

/// The door-access rule: one pure function from subscriptions (and a staff block) and an instant to a
/// decision with reasons.
public enum AccessRule {
    /// Decides, for `member` at `instant`, which doors open and why, honouring a staff block.
    public static func decide(
        member: Member, subscriptions: [Subscription], layout: GymLayout, classes: ClassAccess = .none, at instant: Date
    ) -> AccessDecision {
        decide(memberID: member.id, block: member.block, subscriptions: subscriptions, layout: layout, classes: classes, at: instant)
    }

    /// Decides, for `memberID` at `instant`, which doors open and why.
    ///
    /// - Parameter block: a staff block; it closes every door with reason `.blocked`, whatever the
    ///   subscriptions say. Plans keep their subscription IDs and locks, so lifting it changes nothing else.
    /// - Parameter subscriptions: the member's subscriptions; others are ignored.
    /// - Parameter classes: the plans' class rules and the member's booked windows. A studio a plan opens
    ///   only for booked classes leaves that plan's locks; its doors open in the member's windows
    ///   (reason `.active`, with the class) and otherwise answer `.notBooked` while the plan is active.
    public static func decide(
        memberID: UUID, block: MemberBlock? = nil, subscriptions: [Subscription], layout: GymLayout, classes: ClassAccess = .none,
        at instant: Date
    ) -> AccessDecision {
        let decision = decideBySubscriptions(memberID: memberID, subscriptions: subscriptions, layout: layout, classes: classes, at: instant)
        guard let block else { return decision }
        return AccessDecision(
            memberID: memberID, evaluatedAt: instant, reason: .blocked, window: nil,
            plans: decision.plans.map { plan in
                PlanAccess(
                    planID: plan.planID, reason: .blocked, window: nil, upcoming: nil, inGracePeriod: false,
                    subscriptionIDs: plan.subscriptionIDs, lockIDs: plan.lockIDs)
            },
            doors: decision.doors.map { DoorAccess(door: $0.door, reason: .blocked, grantingPlanIDs: [], window: nil) },
            block: block)
    }

    static func decideBySubscriptions(
        memberID: UUID, subscriptions: [Subscription], layout: GymLayout, classes: ClassAccess = .none, at instant: Date
    ) -> AccessDecision {
        let own = subscriptions.filter { $0.memberID == memberID }
        let byPlan = Dictionary(grouping: own, by: \.planID)
        let classRules = classes.rules.filter { $0.doorMode == .bookedClasses }
        let plans: [PlanAccess] = byPlan.keys.sorted { $0 < $1 }.compactMap { planID in
            guard let plan = layout.plans[planID] else { return nil }
            var access = planAccess(plan: plan, subscriptions: byPlan[planID]!, layout: layout, at: instant)
            // The plan's own Kisi group leaves out the studios it opens only for booked classes.
            if classRules.contains(where: { $0.planID == planID }) {
                access.lockIDs = PlanClassRule.groupLockIDs(of: plan, layout: layout, rules: classRules)
            }
            return access
        }

        let doors = layout.allDoors.map { door in
            let covering = plans.filter { $0.lockIDs.contains(door.lockID) }
            let granting = covering.filter { $0.reason.grantsAccess }
            if granting.isEmpty, let studioID = door.studioID {
                let classPlans = plans.filter { plan in classRules.contains { $0.planID == plan.planID && $0.studioID == studioID } }
                if !classPlans.isEmpty {
                    return classDoor(
                        door, studioID: studioID, covering: covering, classPlans: classPlans, windows: classes.windows, layout: layout,
                        at: instant)
                }
            }
            if granting.isEmpty {
                let reason = covering.map(\.reason).min { $0.denialPriority < $1.denialPriority } ?? .noSubscription
                return DoorAccess(door: door, reason: reason, grantingPlanIDs: [], window: nil)
            }
            return DoorAccess(
                door: door, reason: .active, grantingPlanIDs: granting.map(\.planID),
                window: widest(granting.compactMap(\.window)))
        }

        let granting = plans.filter { $0.reason.grantsAccess }
        let reason = granting.isEmpty
            ? plans.map(\.reason).min { $0.denialPriority < $1.denialPriority } ?? .noSubscription
            : .active
        return AccessDecision(
            memberID: memberID, evaluatedAt: instant, reason: reason,
            window: widest(granting.compactMap(\.window)), plans: plans, doors: doors)
    }

    /// A studio door some of the member's plans open only for booked classes (and no plan opens all
    /// day now): open in a booked window, else `.notBooked` with the next window while such a plan is
    /// active, else the plans' most actionable reason.
    static func classDoor(
        _ door: Door, studioID: UUID, covering: [PlanAccess], classPlans: [PlanAccess], windows: [ClassDoorWindow], layout: GymLayout,
        at instant: Date
    ) -> DoorAccess {
        let inStudio = windows.filter { $0.studioID == studioID && $0.lockIDs.contains(door.lockID) }.sorted { $0.opensAt < $1.opensAt }
        let studioName = layout.studios[studioID]?.name ?? "Studio"
        let zone = layout.clubs[door.clubID]?.timeZone ?? TimeZone(identifier: "UTC")!
        if let open = inStudio.first(where: { $0.window.contains(instant) }) {
            let granting = open.planID.map { [$0] } ?? classPlans.filter { $0.reason.grantsAccess }.map(\.planID)
            return DoorAccess(
                door: door, reason: .active, grantingPlanIDs: granting, window: open.window, classWindow: open,
                classExplanation: open.explanation(studioName: studioName, zone: zone))
        }
        if classPlans.contains(where: { $0.reason.grantsAccess }) {
            let next = inStudio.first { $0.opensAt > instant }
            return DoorAccess(
                door: door, reason: .notBooked, grantingPlanIDs: [], window: nil, classWindow: next,
                classExplanation: next?.explanation(studioName: studioName, zone: zone))
        }
        let reason = (covering + classPlans).map(\.reason).min { $0.denialPriority < $1.denialPriority } ?? .noSubscription
        return DoorAccess(door: door, reason: reason, grantingPlanIDs: [], window: nil)
    }

    /// The rule for one plan: all the member's subscriptions of that plan, merged.
    public static func planAccess(
        plan: Plan, subscriptions: [Subscription], layout: GymLayout, at instant: Date
    ) -> PlanAccess {
        planAccess(PlanAccessContext(plan: plan, layout: layout, at: instant), subscriptions: subscriptions)
    }

    /// The rule for one plan, with what depends on the plan alone worked out beforehand: the same answer
    /// as ``planAccess(plan:subscriptions:layout:at:)``, for callers that evaluate many members' subscriptions
    /// of one plan at one instant.
    public static func planAccess(_ context: PlanAccessContext, subscriptions: [Subscription]) -> PlanAccess {
        let plan = context.plan
        let zone = context.zone
        let today = context.today
        let segments = subscriptions.count == 1
            // One subscription's days are already sorted and apart: freezes are cut out of one interval in order.
            ? accessDays(of: subscriptions[0], graceDays: plan.pastDueGraceDays)
            : merge(subscriptions.flatMap { accessDays(of: $0, graceDays: plan.pastDueGraceDays) })
        let lockIDs = context.lockIDs
        let subscriptionIDs = subscriptions.map(\.id).sorted { $0 < $1 }
        let upcoming = segments.first { $0.first > today }.map { window(of: $0, in: zone) }

        if let current = segments.first(where: { $0.contains(today) }) {
            let inGrace = !subscriptions.contains { sub in
                accessDays(of: sub, graceDays: 0).contains { $0.contains(today) }
            }
            return PlanAccess(
                planID: plan.id, reason: .active, window: window(of: current, in: zone), upcoming: upcoming,
                inGracePeriod: inGrace, subscriptionIDs: subscriptionIDs, lockIDs: lockIDs)
        }
        let denial = subscriptions.map { Self.reason(for: $0, on: today, graceDays: plan.pastDueGraceDays) }
            .min { $0.denialPriority < $1.denialPriority } ?? .noSubscription
        return PlanAccess(
            planID: plan.id, reason: denial, window: nil, upcoming: upcoming, inGracePeriod: false,
            subscriptionIDs: subscriptionIDs, lockIDs: lockIDs)
    }

    /// Why one subscription does or does not grant access on a club-local date.
    public static func reason(for subscription: Subscription, on day: LocalDate, graceDays: Int) -> AccessReason {
        let endedOn = subscription.endDate.map { $0.adding(days: 1) }
        let cancelledOn = subscription.cancellation?.effectiveDate
        switch (endedOn, cancelledOn) {
        case let (end?, cancel?) where day >= min(end, cancel):
            // Whichever cut access first is the true story.
            return cancel < end ? .cancelled : .ended
        case let (end?, _) where day >= end:
            return .ended
        case let (_, cancel?) where day >= cancel:
            return .cancelled
        default:
            break
        }
        if day < subscription.startDate { return .notStarted }
        if subscription.freezes.contains(where: { $0.span.contains(day) }) { return .frozen }
        if day > subscription.paidThrough.adding(days: max(graceDays, 0)) { return .pastDue }
        return .active
    }

    /// The club-local days on which a subscription opens doors, as sorted inclusive spans:
    /// from the start to the earliest of end, day before cancellation and paid-through plus grace,
    /// with freezes cut out.
    public static func accessDays(of subscription: Subscription, graceDays: Int) -> [DateSpan] {
        var last = subscription.paidThrough.adding(days: max(graceDays, 0))
        if let end = subscription.endDate { last = min(last, end) }
        if let cancel = subscription.cancellation?.effectiveDate { last = min(last, cancel.adding(days: -1)) }
        guard subscription.startDate <= last else { return [] }

        var spans: [DateSpan] = []
        var cursor = subscription.startDate
        for freeze in subscription.freezes.map(\.span).sorted(by: { $0.first < $1.first }) {
            if freeze.last < cursor { continue }
            if freeze.first > last { break }
            if freeze.first > cursor {
                spans.append(DateSpan(first: cursor, last: freeze.first.adding(days: -1)))
            }
            cursor = max(cursor, freeze.last.adding(days: 1))
        }
        if cursor <= last { spans.append(DateSpan(first: cursor, last: last)) }
        return spans
    }

    /// Joins overlapping and back-to-back spans, so a renewal that starts the day after the previous
    /// subscription ends yields one continuous grant.
    static func merge(_ spans: [DateSpan]) -> [DateSpan] {
        var merged: [DateSpan] = []
        for span in spans.sorted(by: { $0.first < $1.first }) {
            if let lastSpan = merged.last, span.first <= lastSpan.last.adding(days: 1) {
                merged[merged.count - 1].last = max(lastSpan.last, span.last)
            } else {
                merged.append(span)
            }
        }
        return merged
    }

    static func window(of span: DateSpan, in zone: TimeZone) -> AccessWindow {
        AccessWindow(from: span.first.startOfDay(in: zone), until: span.last.adding(days: 1).startOfDay(in: zone))
    }

    static func widest(_ windows: [AccessWindow]) -> AccessWindow? {
        guard let from = windows.map(\.from).min(), let until = windows.map(\.until).max() else { return nil }
        return AccessWindow(from: from, until: until)
    }
}
