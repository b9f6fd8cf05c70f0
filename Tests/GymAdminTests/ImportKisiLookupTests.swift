import AccessSync
import Foundation
import GymApp
import GymCore
import GymStore
import GymWeb
import Hummingbird
import HummingbirdTesting
import KisiAPI
import KisiSandbox
import Logging
import Testing

@Suite("POST /api/v1/imports with Kisi connected")
struct ImportKisiLookupTests {
    @Test("A small dry run asks Kisi (reads only) which members' Kisi users would be adopted and which created, and writes nothing anywhere")
    func dryRunLooksUpKisiUsers() async throws {
        let logger = {
            var logger = Logger(label: "boogyman.import-kisi-tests")
            logger.logLevel = .warning
            return logger
        }()
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: .demoSeed(), requestsPerSecond: 0, logger: logger))
        try await sandbox.withRunningServer { kisiPort in
            let masterKey = MasterKey.generate()
            let database = try await GymServer.openDatabase(
                AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteInMemory, masterKey: masterKey), logger: logger)
            let repository = database.repository
            try await repository.saveKisiSettings(
                KisiSettings(apiKey: SandboxSeed.demoAPIKey, organizationID: 1, baseURL: "http://127.0.0.1:\(kisiPort)", userCreationMode: .managed),
                masterKey: masterKey)
            let engine = try #require(try await KisiConnection.engine(repository: repository, masterKey: masterKey, logger: logger))
            let club = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1001, kisiLockIDs: [5001]))
            _ = try await repository.createPlan(PlanDraft(name: "Old Town", clubIDs: [club.id]))
            let (_, token) = try await repository.createAPIToken(name: "tests")
            // Someone the gym's old system and Kisi both know: the sync will adopt this user.
            let existing = try await engine.client.createUser(KisiUserCreate(email: "known@example.com", name: "Known Person", sendEmails: false, confirm: true))
            let usersBefore = try await engine.client.users(offset: 0, limit: 1).total
            let writesBefore = try await repository.kisiWrites(KisiWriteFilter(), PageRequest(limit: 1)).total

            let router = GymRoutes(database: database, control: liveControl(repository, engine: engine, masterKey: masterKey)).router()
            try await Application(router: router, logger: logger).test(.live) { client in
                let csv = "first_name,last_name,email,plan,start_date,paid_through\\n"
                    + "Known,Person,KNOWN@example.com,Old Town,2020-01-01,2099-12-31\\n"
                    + "New,Person,new@example.com,Old Town,2020-01-01,2099-12-31\\n"
                    + "Unpaid,Person,unpaid@example.com,Old Town,2020-01-01,2020-12-31\\n"
                let reply = try await client.execute(
                    uri: "/api/v1/imports", method: .post,
                    headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                    body: ByteBuffer(string: #"{"dry_run": true, "csv": "\#(csv)"}"#)
                ) { response in (response.status, Data(buffer: response.body)) }
                #expect(reply.0 == .ok, "\(String(decoding: reply.1, as: UTF8.self))")
                let json = try #require(try JSONSerialization.jsonObject(with: reply.1) as? [String: Any])
                let access = try #require(json["access"] as? [String: Any])
                #expect(access["kisi_lookup"] as? String == "looked_up")
                #expect(access["kisi_users_needed"] as? Int == 2, "the unpaid member needs no Kisi user")
                #expect(access["kisi_users_adopted"] as? Int == 1)
                #expect(access["kisi_users_created"] as? Int == 1)
                #expect(access["members_without_access"] as? [String: Int] == ["past_due": 1])
            }
            #expect(try await repository.member(email: "known@example.com") == nil, "a dry run writes no member")
            #expect(try await engine.client.users(offset: 0, limit: 1).total == usersBefore, "nor any Kisi user")
            #expect(try await engine.client.user(id: existing.id).metadata[memberIDMetadataKey] == nil)
            #expect(try await repository.kisiWrites(KisiWriteFilter(), PageRequest(limit: 1)).total == writesBefore)
            await database.shutdown()
        }
    }
}
