import AccessSync
import Foundation
import GymAdmin
import GymApp
import GymCore
import GymStore
import GymWeb
import Hummingbird
import HummingbirdTesting
import KisiAPI
import Logging
import Testing

@Suite("Admin UI: held revocations")
struct HeldRevocationTests {
    @Test("The dashboard lists revocations the brake holds; managers approve them or reject them, front desk may not")
    func approveAndReject() async throws {
        let logger = {
            var logger = Logger(label: "boogyman.admin-brake-tests")
            logger.logLevel = .warning
            return logger
        }()
        let configuration = AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteInMemory)
        let database = try await GymServer.openDatabase(configuration, logger: logger)
        let repository = database.repository
        let hash = StaffPasswords.hash(AdminBrowser.password)
        _ = try await repository.createStaff(email: AdminBrowser.ownerEmail, name: "Olga Owner", role: .owner, passwordHash: hash)
        _ = try await repository.createStaff(email: AdminBrowser.deskEmail, name: "Dan Desk", role: .frontDesk, passwordHash: hash)
        // An engine whose Kisi is never called: approving and listing held revocations only touch the database.
        let engine = SyncEngine(
            client: KisiClient(configuration: .init(apiKey: "unused", baseURL: URL(string: "http://127.0.0.1:9")!)),
            repository: repository, ledger: GymStoreSyncLedger(repository: repository))
        // What the engine stores when its brake trips (HeldRevocation's JSON).
        let held = #"[{"action":"delete_role_assignment","assignmentID":77,"userID":5,"groupID":9,"reason":"Ana's subscription ended"}]"#
        try await repository.syncState.set(.brakeHeld, try JSONDecoder().decode([HeldRevocation].self, from: Data(held.utf8)))
        #expect(try await engine.heldRevocations().map(\.assignmentID) == [77])

        let router = Router(context: APIContext.self)
        AdminRoutes(repository: repository, control: liveControl(repository, engine: engine)).register(on: router)
        try await Application(router: router, logger: logger).test(.live) { client in
            let desk = AdminBrowser(client: client, repository: repository)
            try await desk.signIn(AdminBrowser.deskEmail)
            let deskDashboard = try await desk.get("/admin")
            #expect(deskDashboard.body.contains("Ana&#39;s subscription ended"))
            #expect(try await desk.post("/admin/sync/approve", ["csrf": try #require(deskDashboard.csrf)]).status == .forbidden)

            let owner = AdminBrowser(client: client, repository: repository)
            try await owner.signIn(AdminBrowser.ownerEmail)
            let csrf = try await owner.sessionCSRF()
            #expect(try await owner.post("/admin/sync/approve", ["csrf": csrf]).status == .seeOther)
            #expect(try await repository.syncState.get(.brakeApproved) == [77])
            let rejected = try await owner.post("/admin/sync/reject", ["csrf": csrf])
            #expect(rejected.status == .seeOther)
            #expect(try await repository.syncState.get(.brakeApproved) == nil)
            #expect(try await owner.get(try #require(rejected.location)).body.contains("nobody loses access"))
        }
        await database.shutdown()
    }
}
