import Foundation
import GymCore
import GymStore
import Hummingbird
import Testing

// The classes, bookings and class-rules routes over HTTP. The server runs on the real clock, so the
// classes are in 2027 (Tuesdays from 2027-01-05), after any day these tests run on.

@Suite("Classes and bookings API")
struct ClassAPITests {
    /// A Spinning studio (lock 31) in the gym's club, a class pass with 2 classes a week opening it
    /// only for booked classes, a Tuesday 18:00 class with `capacity` places, and `members` members
    /// holding the pass.
    struct ClassGym {
        let studio: String
        let plan: String
        let classID: String
        let members: [String]
    }

    func makeClassGym(_ api: APIClient, capacity: Int = 1, members count: Int = 2) async throws -> ClassGym {
        let gym = try await api.makeGym()
        let studio = try await api.post("/api/v1/studios", #"{"club_id":"\#(gym.club)","name":"Spinning studio","kisi_lock_ids":[31]}"#)
        let studioID = try #require(studio.string("id"))
        let plan = try await api.post("/api/v1/plans", #"{"name":"Spinning pass","club_ids":["\#(gym.club)"]}"#)
        let planID = try #require(plan.string("id"))
        let rules = try await api.request(
            .put, "/api/v1/plans/\(planID)/class-rules",
            json: #"{"rules":[{"studio_id":"\#(studioID)","allowance":"per_week","count":2,"door_mode":"booked_classes"}]}"#)
        #expect(rules.status == .ok)
        let created = try await api.post("/api/v1/classes", """
            {"studio_id":"\(studioID)","name":"Spinning","instructor":"Ioana","capacity":\(capacity),"start_time":"18:00",
             "duration_minutes":60,"weekday":"tuesday","valid_from":"2027-01-01"}
            """)
        #expect(created.status == .created)
        let classID = try #require(created.string("id"))
        var members: [String] = []
        for index in 0..<count {
            let member = try await api.post("/api/v1/members", #"{"first_name":"Rider","last_name":"No\#(index)","email":"rider\#(index)@example.com"}"#)
            let memberID = try #require(member.string("id"))
            let sold = try await api.post("/api/v1/subscriptions", #"{"member_id":"\#(memberID)","plan_id":"\#(planID)","start_date":"2026-01-01","paid_through":"2027-12-31"}"#)
            #expect(sold.status == .created)
            members.append(memberID)
        }
        return ClassGym(studio: studioID, plan: planID, classID: classID, members: members)
    }

    @Test("Book, waitlist, roster, door window, cancel with promotion, cancel the occurrence")
    func bookingLifecycle() async throws {
        try await withServer { api in
            let gym = try await makeClassGym(api)
            let classPath = "/api/v1/classes/\(gym.classID)"

            let first = try await api.post("\(classPath)/bookings", #"{"member_id":"\#(gym.members[0])","date":"2027-01-05"}"#)
            #expect(first.status == .created)
            #expect(first.string("status") == "booked")
            let second = try await api.post("\(classPath)/bookings", #"{"member_id":"\#(gym.members[1])","date":"2027-01-05"}"#)
            #expect(second.string("status") == "waitlisted")
            let again = try await api.post("\(classPath)/bookings", #"{"member_id":"\#(gym.members[0])","date":"2027-01-05"}"#)
            #expect(again.status == .conflict)
            #expect(again.errorCode == "booking_refused")
            let full = try await api.post("\(classPath)/bookings", #"{"member_id":"\#(gym.members[1])","date":"2027-01-12","waitlist":false}"#)
            #expect(full.status == .created)
            let refused = try await api.post("\(classPath)/bookings", #"{"member_id":"\#(gym.members[0])","date":"2027-01-12","waitlist":false}"#)
            #expect(refused.status == .conflict)
            #expect(refused.errorCode == "conflict")

            let roster = try await api.get("\(classPath)/roster?date=2027-01-05")
            #expect(roster.status == .ok)
            let places = roster.json["places"] as? [[String: Any]] ?? []
            let waitlist = roster.json["waitlist"] as? [[String: Any]] ?? []
            #expect(places.map { $0["member_name"] as? String } == ["Rider No0"])
            #expect(waitlist.map { $0["member_id"] as? String } == [gym.members[1]])
            let occurrence = roster.json["occurrence"] as? [String: Any] ?? [:]
            #expect(occurrence["starts_at"] as? String == "2027-01-05T16:00:00Z")
            #expect(occurrence["places_left"] as? Int == 0)

            let listed = try await api.get("/api/v1/bookings?member_id=\(gym.members[0])")
            let items = listed.json["items"] as? [[String: Any]] ?? []
            let window = items.first?["door_window"] as? [String: Any]
            #expect(window?["explanation"] as? String == "Spinning studio: booked class Tue 18:00–19:00, door open 17:45–19:15")
            #expect(window?["opens_at"] as? String == "2027-01-05T15:45:00Z")
            #expect(window?["kisi_lock_ids"] as? [Int] == [31])

            // The access rule opens the studio door in the window only, and says why.
            func studioDoor(at instant: String) async throws -> [String: Any]? {
                let access = try await api.get("/api/v1/members/\(gym.members[0])/access?at=\(instant)")
                #expect(access.status == .ok)
                return (access.json["doors"] as? [[String: Any]])?.first { $0["lock_id"] as? Int == 31 }
            }
            let inWindow = try await studioDoor(at: "2027-01-05T16:30:00Z")
            #expect(inWindow?["allowed"] as? Bool == true)
            #expect(inWindow?["explanation"] as? String == "Spinning studio: booked class Tue 18:00–19:00, door open 17:45–19:15.")
            #expect((inWindow?["class_window"] as? [String: Any])?["door_closes_at"] as? String == "2027-01-05T17:15:00Z")
            let atNoon = try await studioDoor(at: "2027-01-05T10:00:00Z")
            #expect(atNoon?["allowed"] as? Bool == false)
            #expect(atNoon?["reason"] as? String == "not_booked")
            #expect((atNoon?["class_window"] as? [String: Any])?["date"] as? String == "2027-01-05")

            let firstID = try #require(first.string("id"))
            let cancelled = try await api.post("/api/v1/bookings/\(firstID)/cancel", "")
            #expect(cancelled.status == .ok)
            let promoted = cancelled.json["promoted"] as? [String: Any]
            #expect(promoted?["member_id"] as? String == gym.members[1])
            #expect(promoted?["status"] as? String == "promoted")
            #expect(try await api.post("/api/v1/bookings/\(firstID)/cancel", "").status == .conflict)

            let week = try await api.get("/api/v1/class-occurrences?studio_id=\(gym.studio)&from=2027-01-04&until=2027-01-17")
            let occurrences = week.json["items"] as? [[String: Any]] ?? []
            #expect(occurrences.map { $0["date"] as? String } == ["2027-01-05", "2027-01-12"])
            #expect(occurrences.map { $0["booked"] as? Int } == [1, 1])

            let cancelledClass = try await api.post("\(classPath)/cancel-occurrence", #"{"date":"2027-01-05","reason":"Instructor ill"}"#)
            #expect(cancelledClass.status == .ok)
            let cancellation = (cancelledClass.json["occurrence"] as? [String: Any])?["cancellation"] as? [String: Any]
            #expect(cancellation?["reason"] as? String == "Instructor ill")
            #expect((cancelledClass.json["places"] as? [Any])?.isEmpty == true)
            let afterwards = try await api.get("/api/v1/bookings?member_id=\(gym.members[1])&date=2027-01-05")
            #expect((afterwards.json["items"] as? [[String: Any]])?.map { $0["status"] as? String } == ["cancelled"])

            // Every change reached the audit log.
            let audit = try await api.get("/api/v1/audit?action=book_class")
            #expect(audit.json["total"] as? Int == 3)
        }
    }

    @Test("Bad input is refused with the documented errors and changes nothing")
    func badInput() async throws {
        try await withServer { api in
            let gym = try await makeClassGym(api)
            let before = try await api.snapshot()
            let bookingsBefore = try await api.repository.bookings().total
            let classPath = "/api/v1/classes/\(gym.classID)"

            let badClass = try await api.post("/api/v1/classes", """
                {"studio_id":"\(gym.studio)","name":"","capacity":0,"start_time":"24:00","duration_minutes":60,"weekday":"funday"}
                """)
            #expect(badClass.status == .unprocessableContent)
            #expect(Set(badClass.errorFields.keys) == ["start_time", "weekday"])
            let badCapacity = try await api.post("/api/v1/classes", """
                {"studio_id":"\(gym.studio)","name":"","capacity":0,"start_time":"18:00","duration_minutes":60,"date":"2027-01-05"}
                """)
            #expect(Set(badCapacity.errorFields.keys) == ["name", "capacity"])
            let otherDay = try await api.post("\(classPath)/bookings", #"{"member_id":"\#(gym.members[0])","date":"2027-01-06"}"#)
            #expect(otherDay.status == .unprocessableContent)
            #expect(otherDay.errorFields["date"] != nil)
            let noMember = try await api.post("\(classPath)/bookings", #"{"member_id":"\#(UUID())","date":"2027-01-05"}"#)
            #expect(noMember.errorFields["member_id"] != nil)
            #expect(try await api.post("/api/v1/classes/nope/bookings", #"{"member_id":"\#(gym.members[0])","date":"2027-01-05"}"#).status == .notFound)
            #expect(try await api.get("\(classPath)/roster?date=2027-01-06").status == .notFound)
            #expect(try await api.get("\(classPath)/roster?date=2027-02-30").status == .badRequest)
            #expect(try await api.get("/api/v1/class-occurrences?from=2027-01-01&until=2027-03-01").status == .badRequest)
            #expect(try await api.get("/api/v1/class-occurrences?from=2027-01-10&until=2027-01-01").status == .badRequest)
            #expect(try await api.get("/api/v1/bookings?from=tomorrow").status == .badRequest)

            let badRules = try await api.request(
                .put, "/api/v1/plans/\(gym.plan)/class-rules",
                json: #"{"rules":[{"studio_id":"\#(gym.studio)","allowance":"per_week","door_mode":"always"},{"studio_id":"\#(gym.studio)","allowance":"sometimes","door_mode":"all_day"}]}"#)
            #expect(badRules.status == .unprocessableContent)
            #expect(Set(badRules.errorFields.keys) == ["rules[0].count", "rules[0].door_mode", "rules[1].allowance"])
            let allDayOutside = try await api.request(
                .put, "/api/v1/plans/\(gym.plan)/class-rules",
                json: #"{"rules":[{"studio_id":"\#(gym.studio)","allowance":"unlimited","door_mode":"all_day"}]}"#)
            #expect(allDayOutside.errorFields["rules[0].door_mode"] != nil)
            let cancelBad = try await api.post("\(classPath)/cancel-occurrence", #"{"date":"2027-01-05","reason":"\#(String(repeating: "x", count: 501))"}"#)
            #expect(cancelBad.errorFields["reason"] != nil)

            #expect(try await api.snapshot() == before)
            #expect(try await api.repository.bookings().total == bookingsBefore)
            let rules = try await api.get("/api/v1/plans/\(gym.plan)/class-rules")
            #expect((rules.json["items"] as? [[String: Any]])?.first?["door_mode"] as? String == "booked_classes")
            #expect(try await api.repository.occurrences(span: DateSpan(first: LocalDate("2027-01-04")!, last: LocalDate("2027-01-10")!)).first?.occurrence.isCancelled == false)
        }
    }

    @Test("A class can be read, changed and deleted while nobody booked it")
    func classCrud() async throws {
        try await withServer { api in
            let gym = try await makeClassGym(api)
            let path = "/api/v1/classes/\(gym.classID)"
            let read = try await api.get(path)
            #expect(read.string("recurrence") == "weekly")
            #expect(read.string("weekday") == "tuesday")
            let patched = try await api.patch(path, #"{"start_time":"19:30","instructor":null,"valid_until":"2027-06-30"}"#)
            #expect(patched.status == .ok)
            #expect(patched.string("start_time") == "19:30")
            #expect(patched.json["instructor"] == nil)
            #expect(patched.string("valid_until") == "2027-06-30")
            let listed = try await api.get("/api/v1/classes?studio_id=\(gym.studio)")
            #expect(listed.json["total"] as? Int == 1)
            _ = try await api.post("\(path)/bookings", #"{"member_id":"\#(gym.members[0])","date":"2027-01-05"}"#)
            #expect(try await api.patch(path, #"{"start_time":"20:00"}"#).status == .conflict)
            #expect(try await api.delete(path).status == .conflict)
            let oneOff = try await api.post("/api/v1/classes", """
                {"studio_id":"\(gym.studio)","name":"Charity ride","capacity":30,"start_time":"10:00","duration_minutes":90,"date":"2027-02-14"}
                """)
            let oneOffID = try #require(oneOff.string("id"))
            #expect(oneOff.string("recurrence") == "once")
            #expect(try await api.get("/api/v1/classes/\(oneOffID)/roster").json["occurrence"].flatMap { ($0 as? [String: Any])?["date"] as? String } == "2027-02-14")
            #expect(try await api.delete("/api/v1/classes/\(oneOffID)").status == .noContent)
            #expect(try await api.get("/api/v1/classes/\(oneOffID)").status == .notFound)
        }
    }
}
