import Foundation
import KisiAPI
import KisiSandbox
import Logging
import Testing
@testable import AccessSync

/// A managed group with more grants than any one listing reaches: Kisi stops at offset 20,000. The
/// observer is given a ceiling of 500 here, so that 2,000 grants stand for a group of 80,000.
@Suite("Kisi observation: a group past the offset ceiling")
struct BigGroupObservationTests {
    static let groupID = 700_001
    static let members = 2_000
    static func userID(_ index: Int) -> Int { 1_000_000 + index }

    static func seed() -> SandboxSeed {
        var seed = SandboxSeed.demoSeed()
        var organization = seed.organizations[0]
        organization.groups = (organization.groups ?? []) + [
            .init(id: groupID, name: "Everyone", description: nil, placeId: nil, lockIds: [5001])
        ]
        var assignments = organization.roleAssignments ?? []
        for index in 0..<members {
            // Names in no particular order, so that neither end of the sorted list follows the IDs.
            organization.users.append(.init(
                id: userID(index), name: "Member \(String(format: "%05d", (index * 7_919) % members))", email: "big\(index)@group.example"))
            assignments.append(.init(id: 5_000_000 + index, userId: userID(index), groupId: groupID))
        }
        organization.roleAssignments = assignments
        seed.organizations[0] = organization
        return seed
    }

    @Test("every grant of the group is read without an offset past the ceiling: both ends, then known IDs, then holders one by one")
    func readsTheWholeGroup() async throws {
        var logger = Logger(label: "big-group-tests")
        logger.logLevel = .warning
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: Self.seed(), requestsPerSecond: 0, logger: logger))
        try await sandbox.withRunningServer { port in
            let client = engineClient(port: port)
            let holders = Set((0..<Self.members).map(Self.userID))
            let everyAssignment = Set((0..<Self.members).map { 5_000_000 + $0 })

            // After a restart nothing is remembered: 3 pages from each end (750 + 750), then the 500 in
            // the middle one holder at a time.
            let first = KisiObserver(client: client, maximumOffset: 500)
            let cold = try await first.readGroupAssignments(
                groupID: Self.groupID, hints: .init(holders: [Self.groupID: holders]))
            #expect(Set(cold.map(\.id)) == everyAssignment)
            #expect(first.meter.reads == 3 + 3 + 500)

            // Later the middle is read by the IDs seen last time, 250 a call; a grant removed since is
            // simply absent, and its holder is then looked up on their own.
            let removed = cold.first { $0.userID == Self.userID(1_234) }!
            _ = try await client.deleteRoleAssignment(id: removed.id)
            let second = KisiObserver(client: client, maximumOffset: 500)
            let warm = try await second.readGroupAssignments(
                groupID: Self.groupID, hints: .init(holders: [Self.groupID: holders], knownAssignmentIDs: [Self.groupID: Set(cold.map(\.id))]))
            #expect(Set(warm.map(\.id)) == everyAssignment.subtracting([removed.id]))
            #expect(second.meter.reads == 3 + 3 + 2)

            // A group within one listing's reach is read in one pass, as before.
            let small = KisiObserver(client: client, maximumOffset: 20_000)
            let whole = try await small.readGroupAssignments(groupID: Self.groupID, hints: .init())
            #expect(whole.count == Self.members - 1)
            #expect(small.meter.reads == 8)
        }
    }
}
