import Foundation
import Testing
@testable import AccessPlanning
import GymCore

/// Booked classes in a simulated Kisi: the Spin plan opens the Spinning studio (lock 5003) only for
/// booked classes; Tuesday 18:00 and Thursday 07:00 classes, 60 minutes, in Old Town (Kisi place 1001).
private struct ClassWorld {
    static let tuesday = StudioClass(
        id: fixedID(600), studioID: Gym.spinning.id, name: "Spinning", capacity: 20, startTime: LocalTime("18:00")!, durationMinutes: 60,
        recurrence: .weekly(weekday: .tuesday, validFrom: day("2026-01-01"), validUntil: nil))
    static let thursday = StudioClass(
        id: fixedID(601), studioID: Gym.spinning.id, name: "Early spin", capacity: 20, startTime: LocalTime("07:00")!, durationMinutes: 60,
        recurrence: .weekly(weekday: .thursday, validFrom: day("2026-01-01"), validUntil: nil))
    static let rules = [PlanClassRule(planID: Gym.spin.id, studioID: Gym.spinning.id, allowance: .unlimited, doorMode: .bookedClasses)]

    static var subscriptions: [Subscription] {
        Gym.members.enumerated().map { index, member in
            Subscription(id: fixedID(700 + index), memberID: member.id, planID: Gym.spin.id, startDate: day("2026-01-01"),
                         paidThrough: day("2026-12-31"))
        }
    }

    var bookings: [BookedOccurrence] = []
    var nextBooking = 10_000

    mutating func book(_ member: Member, _ studioClass: StudioClass, on date: String) {
        nextBooking += 1
        let occurrence = studioClass.occurrence(on: day(date), in: bucharest)!
        bookings.append(BookedOccurrence(
            booking: ClassBooking(id: fixedID(nextBooking), classID: studioClass.id, occurrenceDate: occurrence.date, memberID: member.id,
                                  planID: Gym.spin.id, status: .booked, bookedAt: Date(timeIntervalSince1970: 0), bookedBy: "test"),
            occurrence: occurrence))
    }

    /// What the store answers: each member's next two windows, and each booking's ordinal (bookings
    /// holding a place the member has in the studio before it).
    func windows(at now: Date) -> (windows: [UUID: [ClassDoorWindow]], ordinals: [UUID: Int]) {
        var windows: [UUID: [ClassDoorWindow]] = [:]
        for member in Gym.members {
            let own = ClassAccessRule.doorWindows(
                memberID: member.id, block: nil, subscriptions: Self.subscriptions, bookings: bookings, layout: Gym.layout, rules: Self.rules,
                at: now)
            if !own.isEmpty { windows[member.id] = own }
        }
        var ordinals: [UUID: Int] = [:]
        let holding = bookings.filter(\.booking.status.holdsPlace)
        for entry in holding {
            ordinals[entry.booking.id] = holding.filter {
                $0.booking.memberID == entry.booking.memberID && $0.occurrence.studioID == entry.occurrence.studioID
                    && ($0.occurrence.startsAt, $0.booking.id.uuidString) < (entry.occurrence.startsAt, entry.booking.id.uuidString)
            }.count
        }
        return (windows, ordinals)
    }

    func desired(at now: Date) -> DesiredState {
        let base = DesiredState.build(layout: Gym.layout, members: Gym.members, subscriptions: Self.subscriptions, at: now)
        let (windows, ordinals) = windows(at: now)
        return ClassWindowGrants.applying(to: base, layout: Gym.layout, rules: Self.rules, windows: windows, ordinals: ordinals)
    }

    /// Each member's class grants in Kisi as (from, until), whatever the slot.
    static func classGrants(_ state: ObservedState) -> [UUID: Set<String>] {
        let classGroups = Set(state.groupLinks.filter { if case .studioClasses = $0.key { true } else { false } }.values)
        let members = Dictionary(uniqueKeysWithValues: state.userLinks.map { ($0.value, $0.key) })
        var result: [UUID: Set<String>] = [:]
        for assignment in state.roleAssignments where classGroups.contains(assignment.groupID) {
            guard let member = members[assignment.userID], let from = assignment.validFrom, let until = assignment.validUntil else { continue }
            result[member, default: []].insert("\(from.formatted(.iso8601))–\(until.formatted(.iso8601))")
        }
        return result
    }
}

@Suite("Booked class windows as Kisi grants")
struct ClassWindowGrantsTests {
    @Test("a windowed studio's doors leave the plan's group; two class groups hold them in the club's place")
    func groups() {
        let world = ClassWorld()
        let desired = world.desired(at: instant("2026-02-02T08:00:00Z"))
        #expect(desired.groups.first { $0.key == .plan(Gym.spin.id) }?.lockIDs == [5001, 5002])
        let classGroups = desired.groups.filter { $0.planID == nil }
        #expect(classGroups.map(\.key) == [.studioClasses(Gym.spinning.id, slot: 1), .studioClasses(Gym.spinning.id, slot: 2)])
        #expect(classGroups.map(\.name) == ["Spinning classes · 1", "Spinning classes · 2"])
        #expect(classGroups.allSatisfy { $0.lockIDs == [5003] && $0.scope == .place(1001) })
        // Without a booked-classes rule the studio stays in the plan's group and no class group exists.
        let plain = ClassWindowGrants.applying(
            to: DesiredState.build(layout: Gym.layout, members: Gym.members, subscriptions: ClassWorld.subscriptions, at: instant("2026-02-02T08:00:00Z")),
            layout: Gym.layout, rules: [], windows: [:], ordinals: [:])
        #expect(plain.groups.first { $0.key == .plan(Gym.spin.id) }?.lockIDs == [5001, 5002, 5003])
        #expect(plain.groups.allSatisfy { $0.planID != nil })
    }

    @Test("a class window's grant is explained as the booked class with its door hours in club time, not as a subscription")
    func grantExplanation() {
        var world = ClassWorld()
        let member = Gym.members[0]
        world.book(member, ClassWorld.tuesday, on: "2026-02-03")
        let desired = world.desired(at: instant("2026-02-02T08:00:00Z"))
        let grant = desired.grants.first { $0.memberID == member.id && $0.planID == nil }
        #expect(grant?.explanation == "\(member.fullName) booked a class in Spinning on 2026-02-03: door open 17:45–19:15")
    }

    @Test("a weekly booker costs one Kisi write per class once both slots are filled")
    func weeklyBookerWrites() throws {
        var world = ClassWorld()
        let tuesdays = ["2026-02-03", "2026-02-10", "2026-02-17", "2026-02-24", "2026-03-03", "2026-03-10", "2026-03-17", "2026-03-24"]
        for date in tuesdays { world.book(Gym.ana, ClassWorld.tuesday, on: date) }
        var sim = KisiSimulator(state: ObservedState())
        sim.apply(plan(desired: world.desired(at: instant("2026-02-02T08:00:00Z")), observed: sim.state))
        #expect(sim.errors.isEmpty)
        #expect(ClassWorld.classGrants(sim.state)[Gym.ana.id] == ["2026-02-03T15:45:00Z–2026-02-03T17:15:00Z", "2026-02-10T15:45:00Z–2026-02-10T17:15:00Z"])

        var writesPerClass: [Int] = []
        for date in tuesdays {
            // Just after the class's window closed: the sweep after a class.
            let after = day(date).instant(at: LocalTime("19:30")!, in: bucharest)
            let actions = plan(desired: world.desired(at: after), observed: sim.state)
            writesPerClass.append(actions.filter { ["createGrant", "updateGrantValidity", "removeGrant"].contains($0.kind.name) }.count)
            #expect(actions.allSatisfy { $0.kind.name != "createGrant" }, "no new grant once both slots hold one: \(actions.kinds)")
            sim.apply(actions)
            #expect(sim.errors.isEmpty)
            #expect(plan(desired: world.desired(at: after), observed: sim.state).isEmpty)
        }
        // Six classes move their slot to the booking after next; the last two have none, so their grants go.
        #expect(writesPerClass == [1, 1, 1, 1, 1, 1, 1, 1])
        #expect(ClassWorld.classGrants(sim.state)[Gym.ana.id] == nil)
    }

    @Test("random bookings, cancellations and class cancellations over six weeks converge to exactly the next two windows",
          arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func modelBased(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        var world = ClassWorld()
        var sim = KisiSimulator(state: ObservedState())
        var now = instant("2026-02-02T06:00:00Z")
        let end = instant("2026-03-16T00:00:00Z")
        var cancelledOccurrences = Set<String>()
        var stepsWithTwoWindows = 0
        while now < end {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<5:  // a member books a coming class
                let member = Gym.members.randomElement(using: &rng)!
                let studioClass = Bool.random(using: &rng) ? ClassWorld.tuesday : ClassWorld.thursday
                let today = LocalDate(containing: now, in: bucharest)
                let dates = studioClass.recurrence.dates(in: DateSpan(first: today, last: today.adding(days: 21)))
                guard let date = dates.randomElement(using: &rng), let occurrence = studioClass.occurrence(on: date, in: bucharest),
                      occurrence.startsAt > now, !cancelledOccurrences.contains("\(studioClass.id)\(date)"),
                      !world.bookings.contains(where: { $0.booking.memberID == member.id && $0.booking.classID == studioClass.id
                          && $0.booking.occurrenceDate == date && $0.booking.status == .booked })
                else { break }
                world.book(member, studioClass, on: date.description)
            case 5..<7:  // a member cancels a coming booking
                let open = world.bookings.indices.filter { world.bookings[$0].booking.status == .booked && world.bookings[$0].occurrence.startsAt > now }
                if let index = open.randomElement(using: &rng) { world.bookings[index].booking.status = .cancelled }
            case 7:  // the gym cancels a coming class with its bookings
                let coming = world.bookings.filter { $0.occurrence.startsAt > now && $0.booking.status == .booked }
                if let pick = coming.randomElement(using: &rng) {
                    cancelledOccurrences.insert("\(pick.booking.classID)\(pick.booking.occurrenceDate)")
                    for index in world.bookings.indices where world.bookings[index].booking.classID == pick.booking.classID
                        && world.bookings[index].booking.occurrenceDate == pick.booking.occurrenceDate {
                        world.bookings[index].occurrence.cancellation = OccurrenceCancellation(reason: nil, cancelledAt: now, cancelledBy: "staff:x")
                        if world.bookings[index].booking.status == .booked { world.bookings[index].booking.status = .cancelled }
                    }
                }
            default:  // time passes
                now = now.addingTimeInterval(Double(Int.random(in: 1...72, using: &rng)) * 3600)
            }
            let desired = world.desired(at: now)
            sim.apply(plan(desired: desired, observed: sim.state))
            #expect(sim.errors.isEmpty, "seed \(seed): \(sim.errors)")
            #expect(plan(desired: desired, observed: sim.state).isEmpty, "seed \(seed): not converged at \(now)")

            // Kisi holds exactly each member's next two windows (from the bookings themselves, not the code under test).
            var expected: [UUID: Set<String>] = [:]
            for member in Gym.members {
                let coming = world.bookings.filter {
                    $0.booking.memberID == member.id && $0.booking.status == .booked && !$0.occurrence.isCancelled
                        && $0.occurrence.endsAt.addingTimeInterval(15 * 60) > now
                }.sorted { ($0.occurrence.startsAt, $0.booking.id.uuidString) < ($1.occurrence.startsAt, $1.booking.id.uuidString) }.prefix(2)
                for entry in coming {
                    let from = entry.occurrence.startsAt.addingTimeInterval(-15 * 60).formatted(.iso8601)
                    let until = entry.occurrence.endsAt.addingTimeInterval(15 * 60).formatted(.iso8601)
                    expected[member.id, default: []].insert("\(from)–\(until)")
                }
            }
            #expect(ClassWorld.classGrants(sim.state) == expected, "seed \(seed) at \(now)")
            if ClassWorld.classGrants(sim.state) != expected { return }
            if expected.values.contains(where: { $0.count == 2 }) { stepsWithTwoWindows += 1 }
        }
        // The walk did exercise both slots, not only an empty gym.
        #expect(stepsWithTwoWindows > 20, "seed \(seed): only \(stepsWithTwoWindows) steps with two windows")
    }
}
