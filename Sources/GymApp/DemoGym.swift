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
    }

    public static func seed(_ repository: GymRepository, today: LocalDate, memberCount: Int = 300) async throws -> Summary {
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
        for index in 0..<memberCount {
            let first = firstNames[random.next(below: firstNames.count)]
            let last = lastNames[random.next(below: lastNames.count)]
            let email = "\(first).\(last).\(index + 1)@example.com".lowercased()
            let phone = "+40 7\(random.next(below: 10))\(random.next(below: 10)) \(100 + random.next(below: 900)) \(100 + random.next(below: 900))"
            let member = try await repository.createMember(MemberDraft(firstName: first, lastName: last, email: email, phone: phone))
            let plan = plans[weightedPlanIndex(&random)]
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
        return Summary(clubs: 3, studios: 6, plans: plans.count, members: memberCount, subscriptions: subscriptions)
    }

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
