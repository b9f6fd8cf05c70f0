import Foundation
import GymApp
import GymCore
import GymStore
import Logging
import Testing

@Suite("Demo gym")
struct DemoGymTests {
    @Test("The demo gym shows every reason the access rule can give")
    func demoCoversEveryReason() async throws {
        var logger = Logger(label: "boogyman.demo-tests")
        logger.logLevel = .warning
        let database = try GymDatabase(location: .sqliteInMemory, logger: logger)
        try await database.migrate()
        let zone = TimeZone(identifier: "Europe/Bucharest")!
        let today = LocalDate(2026, 11, 29)
        let summary = try await DemoGym.seed(database.repository, today: today, memberCount: 60)
        #expect(summary.clubs == 3)
        #expect(summary.plans == 5)
        let noon = today.startOfDay(in: zone).addingTimeInterval(12 * 3600)
        var reasons = Set<AccessReason>()
        for member in try await database.repository.members(search: nil, PageRequest(limit: 500)).items {
            reasons.insert(try await database.repository.accessDecision(memberID: member.id, at: noon).reason)
        }
        await database.shutdown()
        // `not_booked` is a studio door's answer, never a member's.
        #expect(reasons == Set(AccessReason.allCases).subtracting([.notBooked]))
    }
}

extension LocalDate {
    init(_ year: Int, _ month: Int, _ day: Int) { self.init(year: year, month: month, day: day)! }
}
