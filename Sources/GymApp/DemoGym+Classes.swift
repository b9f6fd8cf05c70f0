import Foundation
import GymCore
import GymStore

/// The demo's class timetable: weekly classes in four studios, the plans' class rules (Old Town basic
/// opens the Spinning studio only for booked classes), bookings of this week and the next (some classes
/// full with a waitlist, one cancelled), and studio door events for the classes already held, so their
/// rosters show check-ins and no-shows.
extension DemoGym {
    struct ClassStudios {
        var spinning: Studio
        var yoga: Studio
        var pool: Studio
        var climbing: Studio
    }

    /// A weekly class of the demo: days (1 = Monday), local start, minutes, places, instructor.
    struct DemoSlot {
        var name: String
        var days: [Int]
        var start: String
        var minutes: Int
        var capacity: Int
        var instructor: String
    }

    static let spinningSlots = [
        DemoSlot(name: "Morning spin", days: [1, 2, 3, 4, 5], start: "07:00", minutes: 45, capacity: 15, instructor: "Ioana Marin"),
        DemoSlot(name: "Spinning", days: [1, 2, 3, 4, 5], start: "18:00", minutes: 60, capacity: 15, instructor: "Radu Stan"),
        DemoSlot(name: "HIIT ride", days: [1, 3], start: "19:30", minutes: 45, capacity: 12, instructor: "Andrei Popa"),
        DemoSlot(name: "Weekend ride", days: [6], start: "10:00", minutes: 60, capacity: 15, instructor: "Ioana Marin"),
    ]
    static let yogaSlots = [
        DemoSlot(name: "Vinyasa flow", days: [1, 3, 5], start: "08:00", minutes: 60, capacity: 18, instructor: "Elena Dumitru"),
        DemoSlot(name: "Yin yoga", days: [2, 4], start: "19:00", minutes: 75, capacity: 16, instructor: "Maria Stoica"),
        DemoSlot(name: "Hatha", days: [6], start: "09:30", minutes: 60, capacity: 18, instructor: "Elena Dumitru"),
        DemoSlot(name: "Restorative yoga", days: [7], start: "18:00", minutes: 60, capacity: 14, instructor: "Maria Stoica"),
    ]
    static let poolSlots = [
        DemoSlot(name: "Aqua fit", days: [2, 4], start: "07:30", minutes: 45, capacity: 12, instructor: "Victor Lazar"),
        DemoSlot(name: "Swim technique", days: [6], start: "11:00", minutes: 60, capacity: 8, instructor: "Cosmin Barbu"),
    ]
    static let climbingSlots = [
        DemoSlot(name: "Bouldering basics", days: [1, 3], start: "18:30", minutes: 90, capacity: 10, instructor: "Vlad Munteanu"),
        DemoSlot(name: "Lead climbing", days: [6], start: "14:00", minutes: 120, capacity: 8, instructor: "Vlad Munteanu"),
    ]

    /// Seeds the timetable, the class rules and bookings from two days ago to six days ahead; returns
    /// how many studio door events it stored for the classes already held.
    /// `members` are the seeded members with how the door names them; only those whose plans include a
    /// studio's classes book them, so every booking passes the same rules as the front desk's.
    static func seedClasses(
        _ repository: GymRepository, studios: ClassStudios, plans: [Plan], members: [(id: UUID, visitor: Visitor)], today: LocalDate, now: Date,
        timeZone: TimeZone
    ) async throws -> Int {
        let (allClubs, oldTownBasic, wellness, yogaPass, student) = (plans[0], plans[1], plans[2], plans[3], plans[4])
        _ = try await repository.setPlanClassRules(planID: allClubs.id, [
            PlanClassRule(planID: allClubs.id, studioID: studios.spinning.id, allowance: .unlimited, doorMode: .allDay),
            PlanClassRule(planID: allClubs.id, studioID: studios.yoga.id, allowance: .unlimited, doorMode: .allDay),
            PlanClassRule(planID: allClubs.id, studioID: studios.pool.id, allowance: .unlimited, doorMode: .allDay),
            PlanClassRule(planID: allClubs.id, studioID: studios.climbing.id, allowance: .unlimited, doorMode: .allDay),
        ], by: demoActor)
        // The club membership that opens the Spinning studio only around the classes a member booked.
        _ = try await repository.setPlanClassRules(planID: oldTownBasic.id, [
            PlanClassRule(planID: oldTownBasic.id, studioID: studios.spinning.id, allowance: .perMonth(8), doorMode: .bookedClasses),
        ], by: demoActor)
        _ = try await repository.setPlanClassRules(planID: wellness.id, [
            PlanClassRule(planID: wellness.id, studioID: studios.pool.id, allowance: .unlimited, doorMode: .allDay),
        ], by: demoActor)
        _ = try await repository.setPlanClassRules(planID: yogaPass.id, [
            PlanClassRule(planID: yogaPass.id, studioID: studios.yoga.id, allowance: .perWeek(3), doorMode: .allDay),
        ], by: demoActor)
        _ = try await repository.setPlanClassRules(planID: student.id, [
            PlanClassRule(planID: student.id, studioID: studios.climbing.id, allowance: .perWeek(2), doorMode: .allDay),
        ], by: demoActor)

        // The timetable began last month, so earlier weeks have classes too.
        let validFrom = today.startOfWeek.adding(days: -28)
        var classes: [(StudioClass, Studio)] = []
        for (studio, slots) in [(studios.spinning, spinningSlots), (studios.yoga, yogaSlots), (studios.pool, poolSlots), (studios.climbing, climbingSlots)] {
            for slot in slots {
                for day in slot.days {
                    let created = try await repository.createClass(StudioClassDraft(
                        studioID: studio.id, name: slot.name, instructor: slot.instructor, capacity: slot.capacity, startTime: LocalTime(slot.start)!,
                        durationMinutes: slot.minutes, weekday: Weekday(rawValue: day)!, validFrom: validFrom))
                    classes.append((created, studio))
                }
            }
        }

        // Who may book each studio: active members whose plan has a rule for it.
        let studioPlans: [UUID: Set<Int>] = [
            studios.spinning.id: [0, 1], studios.yoga.id: [0, 3], studios.pool.id: [0, 2], studios.climbing.id: [0, 4],
        ]
        let bookers = members.filter { $0.visitor.scenario == .active }
        let span = DateSpan(first: today.adding(days: -2), last: today.adding(days: 6))
        let occurrences = classes.flatMap { studioClass, studio in studioClass.occurrences(in: span, zone: timeZone).map { ($0, studio) } }
            .sorted { $0.0.startsAt < $1.0.startsAt }
        let layout = try await repository.layout()
        // One transaction for every booking: a commit each would cost the demo's start seconds.
        let studioEvents = try await repository.inOneTransaction { repository in
            var random = SeededRandom(seed: 1717)
            var studioEvents: [DoorEvent] = []
            for (index, (occurrence, studio)) in occurrences.enumerated() {
                let eligible = bookers.filter { studioPlans[studio.id]?.contains($0.visitor.planIndex) == true }
                guard !eligible.isEmpty else { continue }
                // Evening classes fill up (some with a waitlist), early and weekend ones less.
                let popular = occurrence.startTime.hour >= 17 || occurrence.name == "Vinyasa flow"
                let share = popular ? 70 + random.next(below: 55) : 20 + random.next(below: 30)
                let wanted = min(eligible.count, occurrence.capacity * share / 100)
                var chosen = Set<Int>()
                while chosen.count < wanted { chosen.insert(random.next(below: eligible.count)) }
                // Booked a day or two ahead; a class already held was booked before it began.
                let bookedAt = min(now, occurrence.startsAt).addingTimeInterval(-TimeInterval(86_400 + random.next(below: 86_400)))
                var booked: [(id: UUID, visitor: Visitor)] = []
                for (order, pick) in chosen.sorted().enumerated() {
                    let member = eligible[pick]
                    do {
                        let booking = try await repository.book(
                            classID: occurrence.classID, date: occurrence.date, memberID: member.id, by: demoActor,
                            at: bookedAt.addingTimeInterval(TimeInterval(order * 97)))
                        if booking.status != .waitlisted { booked.append(member) }
                    } catch is BookingRefused {
                        continue  // blocked, or the plan's allowance is used up: as at the front desk
                    }
                }
                // Members of a class already held came through the studio door, most of them.
                if occurrence.startsAt < now, let lock = studio.kisiLockIDs.first {
                    for member in booked where random.next(below: 100) < 82 {
                        let at = occurrence.startsAt.addingTimeInterval(-TimeInterval(60 * (2 + random.next(below: 14))))
                        guard at <= now else { continue }
                        let door = Door(lockID: lock, name: "\(studio.name) studio", placeID: layout.clubs[studio.clubID]?.kisiPlaceID ?? 0)
                        studioEvents.append(event(member.visitor, door, at: at, success: true, message: nil, random: &random))
                    }
                }
                // The instructor of one class next week is ill: the gym cancelled it.
                if index == occurrences.count * 3 / 4 {
                    _ = try await repository.cancelOccurrence(
                        classID: occurrence.classID, date: occurrence.date, reason: "Instructor ill", by: demoActor, at: min(now, occurrence.startsAt))
                }
            }
            return studioEvents
        }
        try await repository.recordDoorEvents(studioEvents)
        return studioEvents.count
    }

    static let demoActor = "staff:owner@demo-gym.example"
}
