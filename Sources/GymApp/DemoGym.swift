import AccessSync
import Foundation
import GymCore
import GymStore
import KisiSandbox
import Logging

/// A realistic gym for `boogyman demo`: three clubs, their studios, five plans and a few hundred
/// members whose subscriptions cover every door-access situation the front desk meets.
///
/// Built through the repository, so the demo's data passes the same validation as real data.
/// Deterministic for a given `today`, so two demos look alike.
public enum DemoGym {
    public struct Summary: Sendable {
        public var clubs: Int
        public var studios: Int
        public var plans: Int
        public var members: Int
        public var subscriptions: Int
        /// Door events of the last weeks: check-ins and refusals at the clubs' doors, and members at the
        /// studio doors for the classes they booked.
        public var doorEvents: Int
    }

    /// Seeds the gym; door events are written up to `now` (the demo's start), none in its future.
    public static func seed(_ repository: GymRepository, today: LocalDate, now: Date = Date(), memberCount: Int = 300) async throws -> Summary {
        let bucharest = "Europe/Bucharest"
        let oldTown = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: bucharest, kisiPlaceID: 1001, kisiLockIDs: [5001, 5002]))
        let floreasca = try await repository.createClub(ClubDraft(name: "Floreasca", timeZoneIdentifier: bucharest, kisiPlaceID: 1002, kisiLockIDs: [5011]))
        let cluj = try await repository.createClub(ClubDraft(name: "Cluj Centru", timeZoneIdentifier: bucharest, kisiPlaceID: 1003, kisiLockIDs: [5021, 5022]))

        let spinning = try await repository.createStudio(StudioDraft(clubID: oldTown.id, name: "Spinning", kisiLockIDs: [5003]))
        let yoga = try await repository.createStudio(StudioDraft(clubID: oldTown.id, name: "Yoga", kisiLockIDs: [5004]))
        let pool = try await repository.createStudio(StudioDraft(clubID: floreasca.id, name: "Pool", kisiLockIDs: [5012]))
        let sauna = try await repository.createStudio(StudioDraft(clubID: floreasca.id, name: "Sauna", kisiLockIDs: [5013]))
        let climbing = try await repository.createStudio(StudioDraft(clubID: cluj.id, name: "Climbing wall", kisiLockIDs: [5023]))
        _ = try await repository.createStudio(StudioDraft(clubID: cluj.id, name: "Cardio floor"))

        let plans = [
            try await repository.createPlan(PlanDraft(
                name: "All clubs", clubIDs: [oldTown.id, floreasca.id, cluj.id],
                studioIDs: [spinning.id, yoga.id, pool.id, sauna.id, climbing.id], pastDueGraceDays: 7)),
            try await repository.createPlan(PlanDraft(name: "Old Town basic", clubIDs: [oldTown.id], pastDueGraceDays: 3)),
            try await repository.createPlan(PlanDraft(name: "Floreasca wellness", clubIDs: [floreasca.id], studioIDs: [pool.id, sauna.id], pastDueGraceDays: 5)),
            try await repository.createPlan(PlanDraft(name: "Yoga pass", studioIDs: [yoga.id])),
            try await repository.createPlan(PlanDraft(name: "Cluj student", clubIDs: [cluj.id], studioIDs: [climbing.id], pastDueGraceDays: 3)),
        ]

        var random = SeededRandom(seed: 2026)
        var subscriptions = 0
        var activeMembers: [UUID] = []
        var visitors: [Visitor] = []
        var namesTaken = Set<String>()
        var nameCount: [String: Int] = [:]
        var memberIDs: [UUID] = []
        for index in 0..<memberCount {
            // A few draws for a name no member has yet, as in most gyms of a few hundred; past the
            // 400 names the lists make, some share one (as in a big gym), and the door then tells
            // them apart by e-mail (see `event`).
            var first = "", last = ""
            for _ in 0..<8 {
                first = firstNames[random.next(below: firstNames.count)]
                last = lastNames[random.next(below: lastNames.count)]
                if !namesTaken.contains("\(first) \(last)") { break }
            }
            namesTaken.insert("\(first) \(last)")
            nameCount["\(first) \(last)", default: 0] += 1
            let email = "\(first).\(last).\(index + 1)@example.com".lowercased()
            let phone = "+40 7\(random.next(below: 10))\(random.next(below: 10)) \(100 + random.next(below: 900)) \(100 + random.next(below: 900))"
            let member = try await repository.createMember(MemberDraft(firstName: first, lastName: last, email: email, phone: phone))
            memberIDs.append(member.id)
            let planIndex = weightedPlanIndex(&random)
            let plan = plans[planIndex]
            visitors.append(Visitor(name: "\(first) \(last)", email: email, planIndex: planIndex, scenario: scenario(for: index)))
            switch scenario(for: index) {
            case .none:
                continue
            case .active:
                activeMembers.append(member.id)
                let start = today.adding(days: -random.next(below: 300))
                _ = try await repository.createSubscription(SubscriptionDraft(
                    memberID: member.id, planID: plan.id, startDate: start, paidThrough: today.adding(days: 1 + random.next(below: 30))))
            case .fixedTerm:
                let start = today.adding(days: -random.next(below: 60))
                _ = try await repository.createSubscription(SubscriptionDraft(
                    memberID: member.id, planID: plan.id, startDate: start, endDate: start.adding(days: 89), paidThrough: start.adding(days: 89)))
            case .ended:
                let start = today.adding(days: -200 - random.next(below: 100))
                _ = try await repository.createSubscription(SubscriptionDraft(
                    memberID: member.id, planID: plan.id, startDate: start, endDate: start.adding(days: 179), paidThrough: start.adding(days: 179)))
            case .cancelled:
                let sub = try await repository.createSubscription(SubscriptionDraft(
                    memberID: member.id, planID: plan.id, startDate: today.adding(days: -120), paidThrough: today.adding(days: 10)))
                _ = try await repository.cancel(sub.id, effectiveDate: today.adding(days: -random.next(below: 20)), reason: "Moved away")
            case .cancelsLater:
                let sub = try await repository.createSubscription(SubscriptionDraft(
                    memberID: member.id, planID: plan.id, startDate: today.adding(days: -90), paidThrough: today.adding(days: 20)))
                _ = try await repository.cancel(sub.id, effectiveDate: today.adding(days: 1 + random.next(below: 20)), reason: "Notice given")
            case .frozen:
                let sub = try await repository.createSubscription(SubscriptionDraft(
                    memberID: member.id, planID: plan.id, startDate: today.adding(days: -150), paidThrough: today.adding(days: 25)))
                let from = today.adding(days: -random.next(below: 7))
                _ = try await repository.freeze(sub.id, span: DateSpan(first: from, last: from.adding(days: 13)), reason: "Holiday")
            case .futureStart:
                let start = today.adding(days: 1 + random.next(below: 14))
                _ = try await repository.createSubscription(SubscriptionDraft(
                    memberID: member.id, planID: plan.id, startDate: start, paidThrough: start.adding(days: 29)))
            case .pastDue:
                _ = try await repository.createSubscription(SubscriptionDraft(
                    memberID: member.id, planID: plan.id, startDate: today.adding(days: -100), paidThrough: today.adding(days: -30)))
            case .inGrace:
                let graced = plans[0]
                _ = try await repository.createSubscription(SubscriptionDraft(
                    memberID: member.id, planID: graced.id, startDate: today.adding(days: -60), paidThrough: today.adding(days: -2)))
            case .renewed:
                let first = try await repository.createSubscription(SubscriptionDraft(
                    memberID: member.id, planID: plan.id, startDate: today.adding(days: -45), endDate: today.adding(days: 14),
                    paidThrough: today.adding(days: 14)))
                _ = try await repository.createSubscription(SubscriptionDraft(
                    memberID: member.id, planID: plan.id, startDate: first.endDate!.adding(days: 1), endDate: today.adding(days: 104),
                    paidThrough: today.adding(days: 104)))
                subscriptions += 1
            }
            subscriptions += 1
        }
        // One paying member the front desk stopped at the door: the block outranks the subscription.
        if activeMembers.count >= 3 {
            _ = try await repository.blockMember(id: activeMembers[2], reason: "Lent their card to a non-member", by: "staff:owner@demo-gym.example")
        }
        // Retire the student plan for new sales; its members keep their access.
        _ = try await repository.updatePlan(plans[4].id) { $0.isArchived = true }
        // The history of the first 2,000 members is enough for every chart; a 100,000-member demo (for
        // trying the sync at scale) would otherwise spend many minutes writing millions of check-ins.
        for index in visitors.indices where nameCount[visitors[index].name, default: 0] > 1 { visitors[index].sharesName = true }
        let events = doorEvents(Array(visitors.prefix(2_000)), today: today, now: now, timeZone: TimeZone(identifier: bucharest)!)
        try await repository.recordDoorEvents(events)
        // The class timetable with this week's and next week's bookings; like the door history, for the
        // first 2,000 members only.
        let studioEvents = try await seedClasses(
            repository, studios: ClassStudios(spinning: spinning, yoga: yoga, pool: pool, climbing: climbing), plans: plans,
            members: Array(zip(memberIDs, visitors).prefix(2_000)).map { (id: $0.0, visitor: $0.1) }, today: today, now: now,
            timeZone: TimeZone(identifier: bucharest)!)
        return Summary(
            clubs: 3, studios: 6, plans: plans.count, members: memberCount, subscriptions: subscriptions, doorEvents: events.count + studioEvents)
    }

    /// A seeded member as the door sees them.
    struct Visitor {
        var name: String
        var email: String
        var planIndex: Int
        var scenario: Scenario
        /// Another seeded member has the same name.
        var sharesName = false
    }

    /// How many days of door history the demo starts with: the dashboard's 30 days and the attendance
    /// page's four weeks, plus the members who stopped coming 20–40 days ago.
    static let historyDays = 35

    /// A door of the demo's Kisi organization, as the sandbox names it.
    struct Door {
        var lockID: Int
        var name: String
        var placeID: Int
    }

    static let entrances: [[Door]] = [
        [Door(lockID: 5001, name: "Old Town entrance", placeID: 1001), Door(lockID: 5002, name: "Old Town side door", placeID: 1001)],
        [Door(lockID: 5011, name: "Floreasca entrance", placeID: 1002)],
        [Door(lockID: 5021, name: "Cluj entrance", placeID: 1003), Door(lockID: 5022, name: "Cluj back door", placeID: 1003)],
    ]
    static let yogaStudio = Door(lockID: 5004, name: "Yoga studio", placeID: 1001)

    /// Door history for the last `historyDays` days up to `now`: members with door access come two to
    /// five times a week, most before work and after it, fewer at weekends (late mornings then); one in
    /// eight of the long-standing members stopped coming 20–40 days ago, so the attendance page's
    /// churn list has people who came and stopped; members without access who still try are refused,
    /// as are a few others (a phone without Bluetooth, a door tried outside the plan's clubs).
    ///
    /// The events name the member (`actor_name`) but no Kisi user: the demo's Kisi users are made by
    /// the first sync, after seeding. The store counts such an event for the one member of that name
    /// (``GymRepository/lastDoorEventPerMember()``); a member whose name another shares is named by
    /// e-mail, as Kisi names a user without a name. Deterministic for a given `today` and `now`.
    static func doorEvents(_ visitors: [Visitor], today: LocalDate, now: Date, timeZone: TimeZone) -> [DoorEvent] {
        var random = SeededRandom(seed: 4242)
        var events: [DoorEvent] = []
        events.reserveCapacity(visitors.count * historyDays / 2)
        let midnights = (0..<historyDays).map { today.adding(days: -$0) }.map { ($0, $0.startOfDay(in: timeZone)) }
        for visitor in visitors {
            let habit = 2 + random.next(below: 4)  // visits a week
            let homeClub: Int
            switch visitor.planIndex {
            case 1, 3: homeClub = 0  // Old Town basic; the Yoga pass's studio is in Old Town
            case 2: homeClub = 1
            case 4: homeClub = 2
            default: homeClub = random.next(below: 3)
            }
            let entitled: Bool
            var stoppedDaysAgo = 0
            var triesDaysAgo = 0..<0
            switch visitor.scenario {
            case .active:
                entitled = true
                if random.next(below: 8) == 0 { stoppedDaysAgo = 20 + random.next(below: 21) }
            case .fixedTerm, .renewed, .cancelsLater, .inGrace:
                entitled = true
            case .pastDue, .cancelled, .ended:
                // Came while they had access, then a few refusals in the last days.
                entitled = false
                triesDaysAgo = 0..<(1 + random.next(below: 10))
            case .frozen, .futureStart, .none:
                entitled = false
            }
            for (daysAgo, (day, midnight)) in midnights.enumerated() {
                let weekday = (day.daysSinceEpoch + 3) % 7  // 0 = Monday: 1970-01-01 was a Thursday
                let weekend = weekday >= 5
                let door: Door
                if visitor.planIndex == 3 {
                    door = yogaStudio
                } else {
                    // A member of every club mostly uses their own; now and then another.
                    let club = visitor.planIndex == 0 && random.next(below: 10) == 0 ? random.next(below: 3) : homeClub
                    let doors = entrances[club]
                    door = doors[random.next(below: 10) < 8 ? 0 : doors.count - 1]
                }
                let success: Bool
                let message: String?
                if entitled {
                    if daysAgo < stoppedDaysAgo { continue }
                    // Chance per day in thousandths: habit per week, halved at weekends.
                    let chance = habit * 1000 / 7 * (weekend ? 6 : 11) / 10
                    guard random.next(below: 1000) < chance else { continue }
                    success = random.next(below: 100) >= 2
                    message = success ? nil : "Too far from the door: the phone was outside the place's geofence."
                } else if triesDaysAgo.contains(daysAgo), random.next(below: 3) == 0 {
                    success = false
                    message = "Your access is no longer valid."
                } else {
                    continue
                }
                let hour = weekend ? weekendHours[random.next(below: weekendHours.count)] : weekdayHours[random.next(below: weekdayHours.count)]
                let at = midnight.addingTimeInterval(TimeInterval(hour * 3600 + random.next(below: 3600)))
                guard at <= now else { continue }
                if !success && random.next(below: 2) == 0 {
                    // A refused member often tries the door again a minute later.
                    events.append(event(visitor, door, at: at.addingTimeInterval(-60), success: false, message: message, random: &random))
                }
                events.append(event(visitor, door, at: at, success: success, message: message, random: &random))
            }
        }
        return events.sorted { $0.occurredAt < $1.occurredAt }
    }

    static func event(_ visitor: Visitor, _ door: Door, at: Date, success: Bool, message: String?, random: inout SeededRandom) -> DoorEvent {
        let uuid = String(format: "%016llx%016llx", random.nextValue(), random.nextValue())
        return DoorEvent(
            kisiUUID: "demo-" + uuid, occurredAt: at, lockID: door.lockID, lockName: door.name, placeID: door.placeID, kisiUserID: nil,
            actorName: visitor.sharesName ? visitor.email : visitor.name, success: success, message: success ? nil : message)
    }

    /// Local hours of visits, repeated by how busy they are: before work and after it on weekdays.
    static let weekdayHours = [6, 7, 7, 7, 8, 8, 8, 9, 10, 11, 12, 12, 13, 14, 15, 16, 17, 17, 18, 18, 18, 18, 19, 19, 19, 20, 20, 21]
    /// Weekends: late mornings and the afternoon.
    static let weekendHours = [8, 9, 9, 10, 10, 10, 11, 11, 11, 12, 12, 13, 15, 16, 16, 17, 17, 18, 19]

    enum Scenario { case none, active, fixedTerm, ended, cancelled, cancelsLater, frozen, futureStart, pastDue, inGrace, renewed }

    /// Mostly active members, and every other situation in realistic proportions.
    static func scenario(for index: Int) -> Scenario {
        switch index % 20 {
        case 0..<9: .active
        case 9: .fixedTerm
        case 10: .ended
        case 11: .cancelled
        case 12: .cancelsLater
        case 13: .frozen
        case 14: .futureStart
        case 15: .pastDue
        case 16: .inGrace
        case 17: .renewed
        case 18: .active
        default: .none
        }
    }

    static func weightedPlanIndex(_ random: inout SeededRandom) -> Int {
        // All clubs and Old Town basic sell best.
        [0, 0, 0, 1, 1, 1, 2, 2, 3, 4][random.next(below: 10)]
    }

    static let firstNames = [
        "Ana", "Andrei", "Ioana", "Mihai", "Elena", "Alexandru", "Maria", "Stefan", "Cristina", "Radu",
        "Diana", "Vlad", "Irina", "Bogdan", "Laura", "Cosmin", "Teodora", "Paul", "Simona", "Victor",
    ]
    static let lastNames = [
        "Popescu", "Ionescu", "Popa", "Dumitru", "Stan", "Stoica", "Gheorghe", "Matei", "Ciobanu", "Rusu",
        "Munteanu", "Constantin", "Marin", "Tudor", "Florea", "Dinu", "Barbu", "Nistor", "Lazar", "Moldovan",
    ]
}

/// SplitMix64: tiny, fast and reproducible across platforms, unlike the system generator.
struct SeededRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func nextValue() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next(below bound: Int) -> Int { Int(nextValue() % UInt64(bound)) }
}

/// The Kisi role of the demo's API key (`boogyman demo --kisi-role`): the demo then connects with a key of
/// that role instead of the organization owner's, to try what a least-privilege key can and cannot do.
public enum DemoKisiRole: String, CaseIterable, Sendable {
    case administrator
    case accessManager = "access_manager"
    case placeAdministrator = "place_administrator"

    /// The places of the demo's place administrator: two of its three (Old Town and Floreasca), so that
    /// Cluj Centru shows what lies outside a key's places.
    public static let administeredPlaceIDs = [1001, 1002]

    /// A fixed secret, so that the key the demo prints can be pasted into the wizard of another demo.
    public var secret: String { "kisi-sandbox-demo-\(rawValue.replacingOccurrences(of: "_", with: "-"))-key" }

    /// What the sandbox makes: a new user of the demo organization holding the role, with its key.
    public var keyRequest: SandboxKeyRequest {
        switch self {
        case .administrator:
            SandboxKeyRequest(email: "administrator@boogyman.example", name: "Demo Administrator", roleID: rawValue, secret: secret)
        case .accessManager:
            .accessManager(email: "access.manager@boogyman.example", secret: secret)
        case .placeAdministrator:
            .placeAdministrator(of: Self.administeredPlaceIDs, email: "place.admin@boogyman.example", secret: secret)
        }
    }

    /// Makes the role's key in `sandbox` and connects BooGYMan with it through the one connect flow, so
    /// what the key may do is found out and kept as for any gym's key.
    public func connect(
        sandbox: KisiSandbox, kisiURL: String, instanceURL: String?, repository: GymRepository, masterKey: MasterKey, logger: Logger
    ) async throws -> KisiConnectionOutcome {
        let key = try await sandbox.createAPIKey(keyRequest)
        return try await KisiConnector.connect(
            KisiConnector.ConnectRequest(apiKey: key.secret, baseURL: kisiURL, instanceURL: instanceURL, userCreationMode: .invitations),
            repository: repository, masterKey: masterKey, logger: logger, sharedPacing: false)
    }
}
