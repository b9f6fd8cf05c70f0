import AccessSync
import Foundation
import GymApp
import GymStore
import Testing

/// Settings and start-up checks for running one or several replicas.
struct ReplicaConfigurationTests {
    @Test("The replica ID, lease TTL and heartbeat come from the environment, with defaults of host:pid, 15 s and 3 s")
    func replicaSettings() throws {
        let defaults = try AppConfiguration.resolve(environment: [:])
        #expect(defaults.replicaID == "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)")
        #expect(defaults.syncLeaseTTL == .seconds(15))
        #expect(defaults.syncHeartbeat == .seconds(3))

        let set = try AppConfiguration.resolve(environment: [
            "BOOGYMAN_REPLICA_ID": "web-2", "BOOGYMAN_SYNC_LEASE_TTL": "10", "BOOGYMAN_SYNC_HEARTBEAT": "2.5",
        ])
        #expect(set.replicaID == "web-2")
        #expect(set.syncLeaseTTL == .seconds(10))
        #expect(set.syncHeartbeat == .milliseconds(2500))
    }

    @Test("A heartbeat that would not land well within the lease, or a TTL that is not a number, is refused with the variable's name")
    func badReplicaSettings() {
        #expect(throws: ConfigurationError.self) {
            try AppConfiguration.resolve(environment: ["BOOGYMAN_SYNC_LEASE_TTL": "4", "BOOGYMAN_SYNC_HEARTBEAT": "3"])
        }
        do {
            _ = try AppConfiguration.resolve(environment: ["BOOGYMAN_SYNC_LEASE_TTL": "soon"])
            Issue.record("a TTL that is not a number was accepted")
        } catch {
            #expect("\(error)".contains("BOOGYMAN_SYNC_LEASE_TTL"))
        }
    }

    @Test("serve refuses to start on an SQLite file another server holds, naming the file")
    func serveRefusesSecondWriter() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("boogyman-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("gym.sqlite").path
        let holder = try SingleWriterLock(databasePath: path)
        let configuration = AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteFile(path: path), logLevel: .critical)
        do {
            try await GymServer.serve(configuration)
            Issue.record("a second server started on \(path)")
        } catch let error as SingleWriterLockError {
            #expect(error.databasePath == path)
            #expect("\(error)".contains(path))
        }
        // Refused before touching the database: no file was created.
        #expect(!FileManager.default.fileExists(atPath: path))
        withExtendedLifetime(holder) {}
    }
}
