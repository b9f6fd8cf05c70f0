import Foundation
import GymCore
import GymStore
import KisiSandbox
import Testing
@testable import AccessSync

// Booked class windows end to end: bookings in the store, the engine against the Kisi sandbox, and the
// sandbox's oracle ("may user U open lock L at time T") as the judge. Unlimited opens the Spinning
// studio (lock 5003) only for booked classes; one-off classes at 18:00 Bucharest on each of the next
// twelve days. A seeded walk of bookings, cancellations and class cancellations, each followed by a
// change-driven run (and now and then a full one), must leave Kisi opening the studio exactly in each
// member's next two windows, and the club entrance as before.

@Suite("Booked class windows against the Kisi sandbox", .serialized)
struct ClassWindowSyncTests {
    struct Booked {
        let id: UUID
        let memberID: UUID
        let classID: UUID
        let startsAt: Date
        var live = true
    }

    @Test("random bookings, cancellations and class cancellations converge to exactly the next two windows in the oracle",
          arguments: [11, 12] as [UInt64])
    func convergesInTheOracle(seed: UInt64) async throws {
        try await withEngineEnvironment(.gymStore) { env in
            let repository = env.repository
            let studio = try #require(try await repository.studios(clubID: nil, PageRequest(limit: 500)).items.first { $0.name == "Spinning" })
            _ = try await repository.setPlanClassRules(
                planID: env.gym.unlimited.id,
                [PlanClassRule(planID: env.gym.unlimited.id, studioID: studio.id, allowance: .unlimited, doorMode: .bookedClasses)],
                by: "test")
            let zone = EngineGym.zone
            var classes: [(id: UUID, startsAt: Date)] = []
            for offset in 1...12 {
                let date = env.gym.today.adding(days: offset)
                let created = try await repository.createClass(StudioClassDraft(
                    studioID: studio.id, name: "Ride \(offset)", capacity: 3, startTime: LocalTime("18:00")!, durationMinutes: 60, date: date))
                classes.append((created.id, date.instant(at: LocalTime("18:00")!, in: zone)))
            }
            // Members 0, 2, 4 and 6 hold Unlimited.
            let riders = stride(from: 0, to: 8, by: 2).map { env.gym.members[$0] }
            var rng = SeededGenerator(seed: seed)
            var booked: [Booked] = []
            var cancelledClasses = Set<UUID>()

            for step in 0..<24 {
                var touched = Set<UUID>()
                switch Int.random(in: 0..<10, using: &rng) {
                case 0..<6:
                    let rider = riders.randomElement(using: &rng)!
                    let pick = classes.randomElement(using: &rng)!
                    guard !cancelledClasses.contains(pick.id), !booked.contains(where: { $0.live && $0.memberID == rider.id && $0.classID == pick.id }),
                          booked.filter({ $0.live && $0.classID == pick.id }).count < 3
                    else { continue }
                    let booking = try await repository.book(
                        classID: pick.id, date: LocalDate(containing: pick.startsAt, in: zone), memberID: rider.id, waitlist: false, by: "test")
                    booked.append(Booked(id: booking.id, memberID: rider.id, classID: pick.id, startsAt: pick.startsAt))
                    touched.insert(rider.id)
                case 6..<9:
                    let live = booked.indices.filter { booked[$0].live }
                    guard let index = live.randomElement(using: &rng) else { continue }
                    _ = try await repository.cancelBooking(booked[index].id, by: "test")
                    booked[index].live = false
                    touched.insert(booked[index].memberID)
                default:
                    let live = booked.filter(\.live)
                    guard let pick = live.randomElement(using: &rng) else { continue }
                    _ = try await repository.cancelOccurrence(
                        classID: pick.classID, date: LocalDate(containing: pick.startsAt, in: zone), reason: "test", by: "test")
                    cancelledClasses.insert(pick.classID)
                    for index in booked.indices where booked[index].classID == pick.classID && booked[index].live {
                        booked[index].live = false
                        touched.insert(booked[index].memberID)
                    }
                }
                let report = step % 6 == 5
                    ? try await env.engine.reconcileAll()
                    : try await env.engine.reconcile(memberIDs: touched)
                #expect(report.failures.isEmpty, "seed \(seed) step \(step): \(report.failures)")
                try await Self.expectOracleAgrees(env, riders: riders, booked: booked, context: "seed \(seed) step \(step)")
            }
            #expect(booked.filter(\.live).count >= 2, "seed \(seed): the walk left too few bookings to judge")
            // A full reconcile after all that writes nothing more.
            let settled = try await env.engine.reconcileAll()
            #expect(settled.executed.isEmpty, "seed \(seed): \(settled.executed)")
        }
    }

    /// Kisi opens the studio for each rider exactly in their next two live windows (15 minutes either side
    /// of the class), at no other booked class, and the club entrance as the subscription says.
    static func expectOracleAgrees(_ env: EngineEnvironment, riders: [Member], booked: [Booked], context: String) async throws {
        let links = try await env.ledger.links()
        for rider in riders {
            let own = booked.filter { $0.memberID == rider.id }.sorted { ($0.startsAt, $0.id.uuidString) < ($1.startsAt, $1.id.uuidString) }
            let next = Set(own.filter(\.live).prefix(2).map(\.id))
            // A class booked, cancelled and booked again is open through the live booking.
            let openStarts = Set(own.filter { next.contains($0.id) }.map(\.startsAt))
            guard let userID = links.users[rider.id] else {
                #expect(next.isEmpty, "\(context): \(rider.firstName) has windows but no Kisi user")
                continue
            }
            for booking in own {
                let during = try await oracle(env, userID: userID, at: booking.startsAt.addingTimeInterval(30 * 60))
                #expect(during == openStarts.contains(booking.startsAt), "\(context): \(rider.firstName) during the class at \(booking.startsAt), live \(booking.live)")
                // The access rule says the same of the windows Kisi holds, and opens every live booking's
                // window when its time comes (the sync moves the slots on as classes end).
                let verdict = try await env.repository.accessDecision(memberID: rider.id, at: booking.startsAt.addingTimeInterval(30 * 60))
                let ruleOpens = verdict.doors.first { $0.door.lockID == 5003 }?.allowed == true
                #expect(ruleOpens == own.contains { $0.live && $0.startsAt == booking.startsAt }, "\(context): the rule for \(rider.firstName) at \(booking.startsAt)")
                if next.contains(booking.id) { #expect(ruleOpens == during, "\(context): the rule and the oracle for \(rider.firstName) at \(booking.startsAt)") }
                let early = try await oracle(env, userID: userID, at: booking.startsAt.addingTimeInterval(-14 * 60))
                #expect(early == openStarts.contains(booking.startsAt), "\(context): \(rider.firstName) 14 minutes before the class at \(booking.startsAt)")
                let tooEarly = try await oracle(env, userID: userID, at: booking.startsAt.addingTimeInterval(-20 * 60))
                #expect(!tooEarly, "\(context): \(rider.firstName) 20 minutes before the class at \(booking.startsAt)")
            }
            // Between classes (10:00 the next morning) the studio stays shut; the entrance follows Unlimited.
            let morning = env.gym.today.adding(days: 1).instant(at: LocalTime("10:00")!, in: EngineGym.zone)
            #expect(try await oracle(env, userID: userID, at: morning) == false, "\(context): \(rider.firstName) in the studio between classes")
            let morningVerdict = try await env.repository.accessDecision(memberID: rider.id, at: morning)
            #expect(morningVerdict.doors.first { $0.door.lockID == 5003 }?.reason == .notBooked, "\(context): the rule for \(rider.firstName) between classes")
            #expect(try await oracle(env, userID: userID, lockID: 5001, at: morning), "\(context): \(rider.firstName) at the entrance")
        }
    }

    static func oracle(_ env: EngineEnvironment, userID: Int, lockID: Int = 5003, at instant: Date) async throws -> Bool {
        let at = instant.formatted(.iso8601)
        let data = try await env.control("oracle?user_id=\(userID)&lock_id=\(lockID)&at=\(at)")
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return object?["allowed"] as? Bool ?? false
    }
}
