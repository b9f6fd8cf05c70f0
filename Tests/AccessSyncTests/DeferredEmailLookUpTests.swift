import AccessSync
import Foundation
import GymStore
import KisiSandbox
import Logging
import Testing

/// The first sync of a big gym in an organization too big to list: the members' e-mails are looked up
/// just before each user would be created, not all before the first write.
@Suite("Deferred e-mail look-ups")
struct DeferredEmailLookUpTests {
    @Test(
        "with more unlinked members than the look-up limit, the first sync adopts the existing user just before creating and converges",
        arguments: [UserCreationMode.managedUsers, .invitations])
    func adoptsJustBeforeCreating(mode: UserCreationMode) async throws {
        var seed = SandboxSeed.demoSeed()
        // Past the offset ceiling, so the users are read by ID and e-mail, never listed.
        for n in 0..<20_150 { seed.organizations[0].users.append(.init(name: "Tenant \(n)", email: "tenant\(n)@building.example")) }
        seed.organizations[0].users.append(.init(name: "Member Three", email: "member3@engine-test.example"))
        try await withEngineEnvironment(.gymStore, options: SyncOptions(userCreationMode: mode), seed: seed) { env in
            let tenantID = try #require(try await env.users(withEmail: "member3@engine-test.example").first?["id"] as? Int)
            var configuration = SyncEngine.Configuration(options: SyncOptions(userCreationMode: mode), logger: Logger(label: "deferred-look-ups"))
            configuration.emailLookUpLimit = 2
            let engine = SyncEngine(client: env.client, repository: env.repository, ledger: env.ledger, configuration: configuration)

            // The observation looks up no e-mail: the plan creates every user, member 3's included.
            let planned = try await engine.dryRun()
            let creations = planned.filter { action in
                switch action.kind {
                case .createUser, .inviteUser: true
                default: false
                }
            }
            #expect(creations.count == 9, "members 0–8, none looked up: \(creations.count)")

            let first = try await engine.reconcileAll()
            #expect(first.failures.isEmpty, "\(first.failures)")
            #expect(first.recovered == 1, "member 3's user found by e-mail just before creating")
            #expect(try await env.ledger.links().users[env.gym.members[3].id] == tenantID)
            #expect(try await env.users(withEmail: "member3@engine-test.example").count == 1, "adopted, not duplicated")
            try await env.expectOracleAgrees()
            // The next look sees the links: nothing left to do, nothing looked up twice.
            let second = try await engine.reconcileAll()
            #expect(second.planned == 0, "\(second)")
            #expect(try await engine.dryRun().isEmpty)
        }
    }
}
