import FluentKit
import Foundation
import GymCore

// Row types of studio classes, occurrences, bookings and plan class rules (migrations 018 and 019).

final class StudioClassRow: Model, @unchecked Sendable {
    static let schema = "studio_classes"
    @ID(key: .id) var id: UUID?
    @Parent(key: "studio_id") var studio: StudioRow
    @Field(key: "name") var name: String
    @OptionalField(key: "instructor") var instructor: String?
    @Field(key: "capacity") var capacity: Int
    @Field(key: "start_time") var startTime: String
    @Field(key: "duration_minutes") var durationMinutes: Int
    @OptionalField(key: "weekday") var weekday: Int?
    @OptionalField(key: "valid_from") var validFrom: String?
    @OptionalField(key: "valid_until") var validUntil: String?
    @OptionalField(key: "one_off_date") var oneOffDate: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    init() {}

    func toDomain() throws -> StudioClass {
        guard let time = LocalTime(startTime) else { throw StoreError.corrupt("class start time \"\(startTime)\"") }
        let recurrence: ClassRecurrence
        if let oneOffDate {
            recurrence = .once(date: try localDate(oneOffDate, "class date"))
        } else if let weekday, let day = Weekday(rawValue: weekday), let validFrom {
            recurrence = .weekly(
                weekday: day, validFrom: try localDate(validFrom, "class valid_from"),
                validUntil: try validUntil.map { try localDate($0, "class valid_until") })
        } else {
            throw StoreError.corrupt("class \(id?.uuidString ?? "?") has neither a date nor a weekday and valid_from")
        }
        return StudioClass(
            id: try requireID(), studioID: $studio.id, name: name, instructor: instructor, capacity: capacity, startTime: time,
            durationMinutes: durationMinutes, recurrence: recurrence)
    }

    func apply(_ studioClass: StudioClass) {
        id = studioClass.id
        $studio.id = studioClass.studioID
        name = studioClass.name
        instructor = studioClass.instructor
        capacity = studioClass.capacity
        startTime = studioClass.startTime.description
        durationMinutes = studioClass.durationMinutes
        switch studioClass.recurrence {
        case .weekly(let day, let from, let until):
            weekday = day.rawValue
            validFrom = from.description
            validUntil = until?.description
            oneOffDate = nil
        case .once(let date):
            weekday = nil
            validFrom = nil
            validUntil = nil
            oneOffDate = date.description
        }
    }
}

final class ClassOccurrenceRow: Model, @unchecked Sendable {
    static let schema = "class_occurrences"
    @ID(key: .id) var id: UUID?
    @Field(key: "class_id") var classID: UUID
    @Field(key: "date") var date: String
    @OptionalField(key: "cancelled_at") var cancelledAt: Date?
    @OptionalField(key: "cancel_reason") var cancelReason: String?
    @OptionalField(key: "cancelled_by") var cancelledBy: String?
    init() {}

    var cancellation: OccurrenceCancellation? {
        guard let cancelledAt else { return nil }
        return OccurrenceCancellation(reason: cancelReason, cancelledAt: cancelledAt, cancelledBy: cancelledBy ?? "unknown")
    }
}

final class ClassBookingRow: Model, @unchecked Sendable {
    static let schema = "class_bookings"
    @ID(key: .id) var id: UUID?
    @Field(key: "occurrence_id") var occurrenceID: UUID
    @Field(key: "class_id") var classID: UUID
    @Field(key: "occurrence_date") var occurrenceDate: String
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "plan_id") var planID: UUID
    @Field(key: "status") var status: String
    @Field(key: "booked_at") var bookedAt: Date
    @Field(key: "booked_by") var bookedBy: String
    @OptionalField(key: "promoted_at") var promotedAt: Date?
    @OptionalField(key: "cancelled_at") var cancelledAt: Date?
    init() {}

    func toDomain() throws -> ClassBooking {
        guard let status = BookingStatus(rawValue: status) else { throw StoreError.corrupt("booking status \"\(status)\"") }
        return ClassBooking(
            id: try requireID(), classID: classID, occurrenceDate: try localDate(occurrenceDate, "booking date"), memberID: memberID,
            planID: planID, status: status, bookedAt: bookedAt, promotedAt: promotedAt, cancelledAt: cancelledAt, bookedBy: bookedBy)
    }
}

final class PlanClassRuleRow: Model, @unchecked Sendable {
    static let schema = "plan_class_rules"
    @ID(key: .id) var id: UUID?
    @Field(key: "plan_id") var planID: UUID
    @Field(key: "studio_id") var studioID: UUID
    @Field(key: "allowance") var allowance: String
    @OptionalField(key: "allowance_count") var allowanceCount: Int?
    @Field(key: "door_mode") var doorMode: String
    @Field(key: "position") var position: Int
    init() {}

    func toDomain() throws -> PlanClassRule {
        let allowance: ClassAllowance
        switch (self.allowance, allowanceCount) {
        case ("unlimited", _): allowance = .unlimited
        case ("per_week", let count?): allowance = .perWeek(count)
        case ("per_month", let count?): allowance = .perMonth(count)
        default: throw StoreError.corrupt("class allowance \"\(self.allowance)\"")
        }
        guard let mode = StudioDoorMode(rawValue: doorMode) else { throw StoreError.corrupt("studio door mode \"\(doorMode)\"") }
        return PlanClassRule(planID: planID, studioID: studioID, allowance: allowance, doorMode: mode)
    }

    func apply(_ rule: PlanClassRule, position: Int) {
        planID = rule.planID
        studioID = rule.studioID
        switch rule.allowance {
        case .unlimited: allowance = "unlimited"; allowanceCount = nil
        case .perWeek(let count): allowance = "per_week"; allowanceCount = count
        case .perMonth(let count): allowance = "per_month"; allowanceCount = count
        }
        doorMode = rule.doorMode.rawValue
        self.position = position
    }
}
