import Foundation
import GymStore
import SQLKit
import Testing

/// Makes the lease `name` expire now, as if its holder had stopped renewing it a TTL ago (instead of
/// sleeping through a short TTL, which a busy test machine can stretch past a test's next step).
func expireLease(_ database: GymDatabase, _ name: String) async throws {
    try await (database.database as! any SQLDatabase)
        .raw("UPDATE sync_leases SET expires_at_ms = expires_at_ms - 3600000 WHERE name = \(bind: name)").run()
}

/// The sync lease that lets one replica of several lead the Kisi sync, and the fence that stops the
/// others from writing. Runs on SQLite and, when configured, on PostgreSQL.
struct LeaseTests {
    static let name = "kisi_sync"

    @Test("The first replica to ask takes the free lease with token 1; others are refused while it runs", arguments: DatabaseKind.available)
    func acquire(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            #expect(try await repository.lease(name: Self.name) == nil)
            let lease = try #require(try await repository.acquireLease(name: Self.name, holder: "replica-a", ttl: .seconds(15)))
            #expect(lease.holder == "replica-a")
            #expect(lease.token == 1)
            #expect(lease.expiresAtMs - lease.heartbeatAtMs == 15_000)
            #expect(try await repository.acquireLease(name: Self.name, holder: "replica-b", ttl: .seconds(15)) == nil)
            // Not even the holder itself re-takes a running lease: a restarted process must not reuse a
            // term it cannot prove it owns; it renews with the token instead.
            #expect(try await repository.acquireLease(name: Self.name, holder: "replica-a", ttl: .seconds(15)) == nil)
            let status = try #require(try await repository.leaseStatus(name: Self.name))
            #expect(status.live && status.lease == lease)
        }
    }

    @Test("Renewing with the current token extends the lease and keeps the token", arguments: DatabaseKind.available)
    func renew(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let lease = try #require(try await repository.acquireLease(name: Self.name, holder: "replica-a", ttl: .seconds(10)))
            try await Task.sleep(for: .milliseconds(50))
            let renewed = try #require(try await repository.renewLease(name: Self.name, holder: "replica-a", token: lease.token, ttl: .seconds(15)))
            #expect(renewed.token == lease.token)
            #expect(renewed.expiresAtMs > lease.expiresAtMs)
            #expect(renewed.heartbeatAtMs >= lease.heartbeatAtMs)
            // Another holder, or the holder with a stale token, cannot renew.
            #expect(try await repository.renewLease(name: Self.name, holder: "replica-b", token: lease.token, ttl: .seconds(15)) == nil)
            #expect(try await repository.renewLease(name: Self.name, holder: "replica-a", token: lease.token + 1, ttl: .seconds(15)) == nil)
        }
    }

    @Test("An expired lease is taken over with a higher token, and the old holder can no longer renew it", arguments: DatabaseKind.available)
    func expiryTakeover(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let old = try #require(try await repository.acquireLease(name: Self.name, holder: "replica-a", ttl: .seconds(30)))
            #expect(try await repository.acquireLease(name: Self.name, holder: "replica-b", ttl: .seconds(15)) == nil)
            try await expireLease(database, Self.name)
            #expect(try await repository.leaseStatus(name: Self.name)?.live == false)
            let new = try #require(try await repository.acquireLease(name: Self.name, holder: "replica-b", ttl: .seconds(15)))
            #expect(new.holder == "replica-b")
            #expect(new.token == old.token + 1)
            #expect(try await repository.renewLease(name: Self.name, holder: "replica-a", token: old.token, ttl: .seconds(15)) == nil)
            #expect(try await repository.lease(name: Self.name)?.holder == "replica-b")
        }
    }

    @Test("Released on shutdown, the lease is free for the next replica at once", arguments: DatabaseKind.available)
    func release(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let lease = try #require(try await repository.acquireLease(name: Self.name, holder: "replica-a", ttl: .seconds(15)))
            try await repository.releaseLease(name: Self.name, holder: "replica-a", token: lease.token)
            let next = try #require(try await repository.acquireLease(name: Self.name, holder: "replica-b", ttl: .seconds(15)))
            #expect(next.token == 2)
        }
    }

    @Test("Two replicas racing for a free lease: exactly one wins", arguments: DatabaseKind.available)
    func race(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let winners = try await withThrowingTaskGroup(of: SyncLease?.self) { group in
                for replica in 0..<8 {
                    group.addTask { try await repository.acquireLease(name: Self.name, holder: "replica-\(replica)", ttl: .seconds(15)) }
                }
                var winners: [SyncLease] = []
                for try await lease in group { if let lease { winners.append(lease) } }
                return winners
            }
            #expect(winners.count == 1)
        }
    }

    @Test("A write under a taken-over lease is refused with a fencing error and journals nothing", arguments: DatabaseKind.available)
    func fencedWriteRefused(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let old = try #require(try await repository.acquireLease(name: Self.name, holder: "replica-a", ttl: .seconds(30)))
            // While current, the fenced write and the fenced cursor move go through.
            let id = try await repository.beginKisiWrite(action: "createUser", reason: "test", fence: old.fence)
            #expect(id > 0)
            try await repository.setSyncState("last_processed_change_id", "7", fence: old.fence)

            try await expireLease(database, Self.name)
            let new = try #require(try await repository.acquireLease(name: Self.name, holder: "replica-b", ttl: .seconds(15)))
            let before = try await tableCounts(database)["kisi_writes"]
            do {
                _ = try await repository.beginKisiWrite(action: "createUser", reason: "test", fence: old.fence)
                Issue.record("a write under a stale lease was journalled")
            } catch let error as FencingError {
                #expect(error.fence == old.fence)
                #expect(error.current?.token == new.token)
                #expect("\(error)".contains("replica-b"))
            }
            await #expect(throws: FencingError.self) {
                try await repository.setSyncState("last_processed_change_id", "99", fence: old.fence)
            }
            #expect(try await tableCounts(database)["kisi_writes"] == before)
            #expect(try await repository.syncState("last_processed_change_id") == "7")
            // The new holder writes.
            _ = try await repository.beginKisiWrite(action: "createUser", reason: "test", fence: new.fence)
        }
    }

    @Test("A lease that expired without a takeover fences writes until it is renewed", arguments: DatabaseKind.available)
    func expiredLeaseFences(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let lease = try #require(try await repository.acquireLease(name: Self.name, holder: "replica-a", ttl: .milliseconds(100)))
            try await Task.sleep(for: .milliseconds(250))
            await #expect(throws: FencingError.self) {
                _ = try await repository.beginKisiWrite(action: "createUser", reason: "test", fence: lease.fence)
            }
            _ = try #require(try await repository.renewLease(name: Self.name, holder: "replica-a", token: lease.token, ttl: .seconds(15)))
            _ = try await repository.beginKisiWrite(action: "createUser", reason: "test", fence: lease.fence)
        }
    }

    @Test("Kisi request slots are handed out an interval apart to every caller of one key", arguments: DatabaseKind.available)
    func sharedRateSlots(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let bucket = GymRepository.kisiRateBucket(apiKey: "secret-key", scope: "all")
            #expect(!bucket.contains("secret-key"))
            // A long interval, so that the slots cannot be confused however slow the machine.
            let interval = Duration.seconds(10)
            let clock = ContinuousClock()
            var calls: [(before: ContinuousClock.Instant, wait: Duration, after: ContinuousClock.Instant)] = []
            for _ in 0..<4 {
                let before = clock.now
                let wait = try await repository.reserveKisiRateSlot(key: bucket, interval: interval)
                calls.append((before, wait, clock.now))
            }
            #expect(calls[0].wait == .zero)
            for (index, call) in calls.enumerated() {
                // Slot n is n intervals after the first, less the time that passed between the first query and
                // this one: within what the clock saw around both calls, however long the database took (the
                // database counts whole milliseconds on its own clock, hence a few milliseconds either side).
                let longest = interval * index - (call.before - calls[0].after) + .milliseconds(5)
                let shortest = interval * index - (call.after - calls[0].before) - .milliseconds(5)
                #expect(call.wait <= longest && call.wait >= shortest, "slot \(index): wait \(call.wait), expected \(shortest)…\(longest)")
            }
            // Another key has its own bucket.
            let other = GymRepository.kisiRateBucket(apiKey: "other-key", scope: "all")
            #expect(try await repository.reserveKisiRateSlot(key: other, interval: interval) == .zero)
        }
    }
}

@Suite struct SingleWriterLockTests {
    @Test("A second server on the same SQLite file is refused with a message naming the file and the holder's PID")
    func secondWriterRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("boogyman-lock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("gym.sqlite").path
        var first: SingleWriterLock? = try SingleWriterLock(databasePath: path)
        #expect(first?.lockPath == path + ".lock")
        do {
            _ = try SingleWriterLock(databasePath: path)
            Issue.record("a second lock on the same file was granted")
        } catch let error as SingleWriterLockError {
            #expect(error.holderPID == ProcessInfo.processInfo.processIdentifier)
            #expect(error.description.contains(path))
            #expect(error.description.contains("process \(ProcessInfo.processInfo.processIdentifier)"))
            #expect(error.description.contains("PostgreSQL"))
        }
        // Another file is independent.
        let other = try SingleWriterLock(databasePath: directory.appendingPathComponent("other.sqlite").path)
        _ = other
        // Once the first server is gone, the file can be served again.
        first = nil
        _ = first
        _ = try SingleWriterLock(databasePath: path)
    }
}
