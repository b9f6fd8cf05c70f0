import AccessSync
import Foundation
import GymApp
import GymCore
import GymStore
import GymWeb
import Hummingbird
import KisiAPI
import KisiSandbox
import Logging
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The whole path over real sockets: BooGYMan registers its signed webhook with the sandbox, someone
/// deletes a member's door grant by hand in "Kisi's dashboard" (another administrator's key), the sandbox
/// delivers the event, and BooGYMan restores the grant within seconds, long before its periodic reconcile.
@Suite("Kisi webhooks")
struct KisiWebhookTests {
    static let handEditorKey = "kisi-sandbox-hand-editor-key"

    @Test("A grant deleted by hand in Kisi comes back within seconds through the signed webhook, unsigned deliveries change nothing, and card taps arrive as door events once each")
    func handDeletedGrantIsRestored() async throws {
        let logger = {
            var logger = Logger(label: "boogyman.webhook-tests")
            logger.logLevel = .warning
            return logger
        }()
        var seed = SandboxSeed.demoSeed()
        seed.organizations[0].users.append(SandboxSeed.User(
            id: 60, name: "Dashboard Admin", email: "admin@boogyman.example", organizationRole: "administrator",
            apiKeys: [Self.handEditorKey]))
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: seed, requestsPerSecond: 0, logger: logger))
        try await sandbox.withRunningServer { kisiPort in
            let kisi = "http://127.0.0.1:\(kisiPort)"
            let port = try freePort()
            let masterKey = MasterKey.generate()
            let configuration = AppConfiguration(
                host: "127.0.0.1", port: port, database: .sqliteInMemory, logLevel: .warning, masterKey: masterKey)
            let database = try await GymServer.openDatabase(configuration, logger: logger)
            let repository = database.repository
            try await repository.saveKisiSettings(
                KisiSettings(apiKey: SandboxSeed.demoAPIKey, organizationID: 1, baseURL: kisi, instanceURL: "http://127.0.0.1:\(port)/"),
                masterKey: masterKey)
            let engine = try #require(try await KisiConnection.engine(repository: repository, masterKey: masterKey, logger: logger))
            let secret = try #require(await KisiConnection.ensureWebhook(
                engine: engine, repository: repository, masterKey: masterKey, logger: logger))
            // Registered once, at this instance's address; asking again reuses it.
            #expect(await KisiConnection.ensureWebhook(engine: engine, repository: repository, masterKey: masterKey, logger: logger) == secret)
            let integrations = try await kisiJSON(kisi, "/integrations", key: SandboxSeed.demoAPIKey) as? [[String: Any]] ?? []
            #expect(integrations.filter { $0["name"] as? String == "BooGYMan (http://127.0.0.1:\(port)/webhooks/kisi)" }.count == 1)

            let today = LocalDate(containing: Date(), in: TimeZone(identifier: "Europe/Bucharest")!)
            let club = try await repository.createClub(ClubDraft(
                name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1001, kisiLockIDs: [5001]))
            let plan = try await repository.createPlan(PlanDraft(name: "Old Town basic", clubIDs: [club.id]))
            let member = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Hook", email: "ana.hook@example.com"))
            _ = try await repository.createSubscription(SubscriptionDraft(
                memberID: member.id, planID: plan.id, startDate: today.adding(days: -3), paidThrough: today.adding(days: 30)))

            let app = GymServer.application(configuration, database: database, sync: engine, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await app.runService() }
                let userID = try #require(try await waitFor { try await repository.kisiLinks().users[member.id] })
                #expect(try await waitFor { try await allowed(kisi, userID: userID) ? true : nil } == true)

                // Unsigned and mis-signed deliveries are refused and record nothing.
                let changesBefore = try await repository.accessChanges(after: 0, limit: 10_000).count
                let event = #"{"type":"role_assignment.destroy","actor_type":"User","actor_id":60,"object_type":"RoleAssignment","object_id":1}"#
                #expect(try await post("http://127.0.0.1:\(port)/webhooks/kisi", event, signature: nil) == 401)
                #expect(try await post("http://127.0.0.1:\(port)/webhooks/kisi", event, signature: KisiWebhookSignature.sign(
                    body: Data(event.utf8), secret: "not-the-secret")) == 401)
                #expect(try await repository.accessChanges(after: 0, limit: 10_000).count == changesBefore)

                // The hand deletion: another administrator removes the member's grant in Kisi.
                let assignments = try await kisiJSON(
                    kisi, "/role_assignments?assignee_type=User&assignee_id=\(userID)", key: Self.handEditorKey) as? [[String: Any]] ?? []
                let assignmentID = try #require(assignments.first?["id"] as? Int)
                #expect(try await kisiDelete(kisi, "/role_assignments/\(assignmentID)", key: Self.handEditorKey) == 204)
                #expect(try await allowed(kisi, userID: userID) == false)

                // The periodic full reconcile is 10 minutes away: only the webhook can bring it back this soon.
                let clock = ContinuousClock()
                let deleted = clock.now
                #expect(try await waitFor { try await allowed(kisi, userID: userID) ? true : nil } == true)
                #expect(clock.now - deleted < .seconds(30))
                let restored = try await repository.kisiWrites(KisiWriteFilter(memberID: member.id, action: "createGrant"))
                #expect(restored.items.count == 2)
                #expect(restored.items.first?.trigger?.hasPrefix("changes") == true)

                // Door events: a card at the member's door opens it, one at a door of no plan is denied;
                // both reach BooGYMan through the webhook and are kept once each.
                #expect(try await tap(kisi, userID: userID, lockID: 5001))
                #expect(try await tap(kisi, userID: userID, lockID: 5011) == false)
                let doorEvents = try #require(try await waitFor {
                    let found = try await repository.doorEvents(since: Date().addingTimeInterval(-600), kisiUserID: userID)
                    return found.count == 2 ? found : nil
                })
                #expect(doorEvents.map(\.lockID) == [5011, 5001])
                #expect(doorEvents.map(\.success) == [false, true])
                #expect(doorEvents[0].message?.contains("denied") == true)
                let redelivered = #"{"uuid":"\#(doorEvents[1].kisiUUID)","type":"lock.unlock","actor_type":"User","actor_id":\#(userID),"object_type":"Lock","object_id":5001,"success":true,"created_at":"\#(Date().formatted(.iso8601))"}"#
                #expect(try await post("http://127.0.0.1:\(port)/webhooks/kisi", redelivered, signature: KisiWebhookSignature.sign(
                    body: Data(redelivered.utf8), secret: secret)) == 204)
                #expect(try await repository.doorEvents(since: Date().addingTimeInterval(-600), kisiUserID: userID).count == 2)
                group.cancelAll()
            }
        }
    }
}

/// A port nothing listens on right now (the OS picks it; the socket is closed before use).
private func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    try withUnsafeMutablePointer(to: &address) { pointer in
        try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            guard bind(fd, raw, length) == 0, getsockname(fd, raw, &length) == 0 else { throw PortError() }
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

private struct PortError: Error {}

/// Polls every 100 ms for up to 30 s until `value` is non-nil.
private func waitFor<T: Sendable>(_ value: () async throws -> T?) async throws -> T? {
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(30)
    while clock.now < deadline {
        if let found = try await value() { return found }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await value()
}

private func allowed(_ kisi: String, userID: Int) async throws -> Bool {
    var request = URLRequest(url: URL(string: "\(kisi)/_sandbox/oracle?user_id=\(userID)&lock_id=5001")!)
    request.setValue("sandbox-admin", forHTTPHeaderField: "X-Sandbox-Admin-Key")
    let (data, _) = try await URLSession.shared.data(for: request)
    return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["allowed"] as? Bool ?? false
}

private func kisiJSON(_ kisi: String, _ path: String, key: String) async throws -> Any {
    var request = URLRequest(url: URL(string: kisi + path)!)
    request.setValue("KISI-LOGIN \(key)", forHTTPHeaderField: "Authorization")
    request.setValue("application/json", forHTTPHeaderField: "Accept")
    let (data, _) = try await URLSession.shared.data(for: request)
    return try JSONSerialization.jsonObject(with: data)
}

private func kisiDelete(_ kisi: String, _ path: String, key: String) async throws -> Int {
    var request = URLRequest(url: URL(string: kisi + path)!)
    request.httpMethod = "DELETE"
    request.setValue("KISI-LOGIN \(key)", forHTTPHeaderField: "Authorization")
    let (_, response) = try await URLSession.shared.data(for: request)
    return (response as? HTTPURLResponse)?.statusCode ?? 0
}

private func post(_ url: String, _ body: String, signature: String?) async throws -> Int {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = "POST"
    request.httpBody = Data(body.utf8)
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    if let signature { request.setValue(signature, forHTTPHeaderField: "X-Signature") }
    let (_, response) = try await URLSession.shared.data(for: request)
    return (response as? HTTPURLResponse)?.statusCode ?? 0
}

/// A card tap at a Kisi reader, through the sandbox's control API; returns whether the door opened.
private func tap(_ kisi: String, userID: Int, lockID: Int) async throws -> Bool {
    var request = URLRequest(url: URL(string: "\(kisi)/_sandbox/tap")!)
    request.httpMethod = "POST"
    request.setValue("sandbox-admin", forHTTPHeaderField: "X-Sandbox-Admin-Key")
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    request.httpBody = Data(#"{"user_id":\#(userID),"lock_id":\#(lockID)}"#.utf8)
    let (data, _) = try await URLSession.shared.data(for: request)
    return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["allowed"] as? Bool ?? false
}
