import Foundation
import GymCore
import GymStore
import Testing

@Suite("Sign-in throttling in the store")
struct SignInThrottleStoreTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("Of 40 concurrent wrong-password attempts for one account from one address exactly five are checked", arguments: DatabaseKind.available)
    func concurrentAttemptsAreCountedAtomically(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let limits = SignInLimits()
            let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        let answer = try await repository.admitStaffSignIn(
                            email: "desk@gym.example", clientAddress: "203.0.113.7", limits: limits, now: Self.start)
                        guard answer == .allowed else { return false }
                        // The password check (bcrypt) takes a while; others arrive meanwhile.
                        try await Task.sleep(for: .milliseconds(20))
                        try await repository.finishStaffSignIn(
                            email: "desk@gym.example", clientAddress: "203.0.113.7", succeeded: false, limits: limits, now: Self.start)
                        return true
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(admitted == 5)
            let sixth = try await repository.admitStaffSignIn(email: "DESK@gym.example ", clientAddress: "203.0.113.7", limits: limits, now: Self.start)
            #expect(sixth == .refused(.accountAndAddress, until: Self.start.addingTimeInterval(limits.window)))
            // Refused attempts counted nothing: five failures, from that one address, and only there.
            let lock = try #require(try await repository.staffSignInLock(email: "desk@gym.example", limits: limits, now: Self.start))
            #expect(lock == StaffSignInLock(everywhere: false, until: Self.start.addingTimeInterval(limits.window), failures: 5, addresses: ["203.0.113.7"]))
            #expect(try await repository.admitStaffSignIn(email: "desk@gym.example", clientAddress: "198.51.100.1", limits: limits, now: Self.start) == .allowed)
            // Once the window is over the address may try again.
            let later = Self.start.addingTimeInterval(limits.window + 1)
            #expect(try await repository.admitStaffSignIn(email: "desk@gym.example", clientAddress: "203.0.113.7", limits: limits, now: later) == .allowed)
        }
    }

    @Test("One address cannot lock an account for every address; many addresses can, and the owner sees which", arguments: DatabaseKind.available)
    func accountWideLockNeedsManyAddresses(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let limits = SignInLimits(perAccountAndAddress: 5, perAddress: 20, perAccount: 12, window: 900)
            func failFrom(_ address: String, times: Int) async throws -> [SignInAdmission] {
                var answers: [SignInAdmission] = []
                for _ in 0..<times {
                    let answer = try await repository.admitStaffSignIn(email: "owner@gym.example", clientAddress: address, limits: limits, now: Self.start)
                    if answer == .allowed {
                        try await repository.finishStaffSignIn(
                            email: "owner@gym.example", clientAddress: address, succeeded: false, limits: limits, now: Self.start)
                    }
                    answers.append(answer)
                }
                return answers
            }
            let attacker = try await failFrom("203.0.113.66", times: 100)
            #expect(attacker.filter { $0 == .allowed }.count == 5)
            #expect(try await repository.admitStaffSignIn(email: "owner@gym.example", clientAddress: "192.0.2.10", limits: limits, now: Self.start) == .allowed)
            try await repository.finishStaffSignIn(email: "owner@gym.example", clientAddress: "192.0.2.10", succeeded: true, limits: limits, now: Self.start)

            _ = try await failFrom("198.51.100.1", times: 5)
            let third = try await failFrom("198.51.100.2", times: 5)
            #expect(third.prefix(2).allSatisfy { $0 == .allowed })
            #expect(third[2] == .refused(.account, until: Self.start.addingTimeInterval(900)))
            #expect(try await repository.admitStaffSignIn(email: "owner@gym.example", clientAddress: "192.0.2.10", limits: limits, now: Self.start)
                == .refused(.account, until: Self.start.addingTimeInterval(900)))
            let lock = try #require(try await repository.staffSignInLock(email: "owner@gym.example", limits: limits, now: Self.start))
            #expect(lock.everywhere)
            #expect(lock.failures == 12)
            #expect(lock.addresses == ["198.51.100.1", "203.0.113.66", "198.51.100.2"])
            // Another account is not touched; the owner lifting the lock frees this one.
            #expect(try await repository.staffSignInLock(email: "desk@gym.example", limits: limits, now: Self.start) == nil)
            try await repository.clearStaffSignInFailures(email: "OWNER@gym.example")
            #expect(try await repository.staffSignInLock(email: "owner@gym.example", limits: limits, now: Self.start) == nil)
            #expect(try await repository.admitStaffSignIn(email: "owner@gym.example", clientAddress: "192.0.2.10", limits: limits, now: Self.start) == .allowed)
        }
    }

    @Test("One address guessing many accounts is stopped by the per-address limit", arguments: DatabaseKind.available)
    func perAddressLimit(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let limits = SignInLimits(perAccountAndAddress: 5, perAddress: 20, perAccount: 50, window: 900)
            for index in 0..<20 {
                let email = "staff\(index)@gym.example"
                #expect(try await repository.admitStaffSignIn(email: email, clientAddress: "2001:db8::66", limits: limits, now: Self.start) == .allowed)
                try await repository.finishStaffSignIn(email: email, clientAddress: "2001:db8::66", succeeded: false, limits: limits, now: Self.start)
            }
            #expect(try await repository.admitStaffSignIn(email: "new@gym.example", clientAddress: "2001:db8::66", limits: limits, now: Self.start)
                == .refused(.address, until: Self.start.addingTimeInterval(900)))
            #expect(try await repository.admitStaffSignIn(email: "new@gym.example", clientAddress: "2001:db8::67", limits: limits, now: Self.start) == .allowed)
        }
    }

    @Test("A successful sign-in clears its account's failures from that address and is not counted itself", arguments: DatabaseKind.available)
    func successClearsFailures(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let limits = SignInLimits(perAccountAndAddress: 5, perAddress: 6, perAccount: 50, window: 900)
            for _ in 0..<4 {
                #expect(try await repository.admitStaffSignIn(email: "desk@gym.example", clientAddress: "10.0.0.9", limits: limits, now: Self.start) == .allowed)
                try await repository.finishStaffSignIn(email: "desk@gym.example", clientAddress: "10.0.0.9", succeeded: false, limits: limits, now: Self.start)
            }
            #expect(try await repository.admitStaffSignIn(email: "desk@gym.example", clientAddress: "10.0.0.9", limits: limits, now: Self.start) == .allowed)
            try await repository.finishStaffSignIn(email: "desk@gym.example", clientAddress: "10.0.0.9", succeeded: true, limits: limits, now: Self.start)
            // Four failures remain on the address (limit 6); the success left none on the pair.
            for _ in 0..<2 {
                #expect(try await repository.admitStaffSignIn(email: "desk@gym.example", clientAddress: "10.0.0.9", limits: limits, now: Self.start) == .allowed)
                try await repository.finishStaffSignIn(email: "desk@gym.example", clientAddress: "10.0.0.9", succeeded: false, limits: limits, now: Self.start)
            }
            #expect(try await repository.admitStaffSignIn(email: "desk@gym.example", clientAddress: "10.0.0.9", limits: limits, now: Self.start)
                == .refused(.address, until: Self.start.addingTimeInterval(900)))
        }
    }
}

@Suite("Webhook deliveries and idempotency keys in the store")
struct ReplayStoreTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("A Kisi event ID is taken once, even by concurrent copies, and forgotten after the time bound", arguments: DatabaseKind.available)
    func webhookDeliveriesAreTakenOnce(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let firsts = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        try await repository.recordKisiWebhookDelivery(eventUUID: "evt-1", type: "group_lock.destroy", keep: 3600, now: Self.start)
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(firsts == 1)
            #expect(try await repository.recordKisiWebhookDelivery(eventUUID: "evt-2", type: "lock.unlock", keep: 3600, now: Self.start))
            #expect(try await repository.recordKisiWebhookDelivery(eventUUID: "evt-1", type: "group_lock.destroy", keep: 3600, now: Self.start.addingTimeInterval(3599)) == false)
            try await repository.forgetKisiWebhookDelivery(eventUUID: "evt-2")
            #expect(try await repository.recordKisiWebhookDelivery(eventUUID: "evt-2", type: "lock.unlock", keep: 3600, now: Self.start))
            #expect(try await repository.recordKisiWebhookDelivery(eventUUID: "evt-1", type: "group_lock.destroy", keep: 3600, now: Self.start.addingTimeInterval(3601)))
        }
    }

    @Test("A change report waiting for the sync is not replaced by later ones", arguments: DatabaseKind.available)
    func changeReportsCoalesce(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            #expect(try await repository.setSyncStateIfAbsent("kisi_change_reported", "first"))
            #expect(try await repository.setSyncStateIfAbsent("kisi_change_reported", "second") == false)
            #expect(try await repository.syncState("kisi_change_reported") == "first")
            try await repository.setSyncState("kisi_change_reported", nil)
            #expect(try await repository.setSyncStateIfAbsent("kisi_change_reported", "third"))
        }
    }

    @Test("An idempotency key is claimed by one of concurrent duplicates, replays its answer, refuses another request and expires", arguments: DatabaseKind.available)
    func idempotencyKeys(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let token = UUID()
            let claims = try await withThrowingTaskGroup(of: IdempotencyClaim.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        try await repository.claimIdempotencyKey(tokenID: token, key: "sale-1", requestHash: "h1", lifetime: 86_400, now: Self.start)
                    }
                }
                return try await group.reduce(into: [IdempotencyClaim]()) { $0.append($1) }
            }
            #expect(claims.filter { $0 == .claimed }.count == 1)
            #expect(claims.filter { $0 == .inProgress }.count == 9)
            let answer = IdempotentAnswer(status: 201, contentType: "application/json; charset=utf-8", body: #"{"id":"x"}"#)
            try await repository.completeIdempotentRequest(tokenID: token, key: "sale-1", answer: answer)
            #expect(try await repository.claimIdempotencyKey(tokenID: token, key: "sale-1", requestHash: "h1", lifetime: 86_400, now: Self.start) == .replay(answer))
            #expect(try await repository.claimIdempotencyKey(tokenID: token, key: "sale-1", requestHash: "h2", lifetime: 86_400, now: Self.start) == .mismatch)
            // Keys belong to a token: another token's identical key is its own.
            #expect(try await repository.claimIdempotencyKey(tokenID: UUID(), key: "sale-1", requestHash: "h2", lifetime: 86_400, now: Self.start) == .claimed)
            #expect(try await repository.claimIdempotencyKey(tokenID: token, key: "sale-2", requestHash: "h1", lifetime: 86_400, now: Self.start) == .claimed)
            try await repository.releaseIdempotentRequest(tokenID: token, key: "sale-2")
            #expect(try await repository.claimIdempotencyKey(tokenID: token, key: "sale-2", requestHash: "h3", lifetime: 86_400, now: Self.start) == .claimed)
            let nextDay = Self.start.addingTimeInterval(86_401)
            #expect(try await repository.claimIdempotencyKey(tokenID: token, key: "sale-1", requestHash: "h2", lifetime: 86_400, now: nextDay) == .claimed)
        }
    }

    @Test("API tokens are listed with their last use, recorded at most once a minute, and revoked by ID or unique name", arguments: DatabaseKind.available)
    func tokensAreListedAndRevoked(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let (tablet, tabletSecret) = try await repository.createAPIToken(name: "front desk tablet")
            let (_, _) = try await repository.createAPIToken(name: "twin")
            let (twin, _) = try await repository.createAPIToken(name: "twin")
            #expect(try await repository.apiTokens().first { $0.id == tablet.id }?.lastUsedAt == nil)
            _ = try await repository.authenticate(secret: tabletSecret, now: Self.start)
            _ = try await repository.authenticate(secret: tabletSecret, now: Self.start.addingTimeInterval(30))
            let used = try #require(try await repository.apiTokens().first { $0.id == tablet.id }?.lastUsedAt)
            #expect(abs(used.timeIntervalSince(Self.start)) < 1)
            _ = try await repository.authenticate(secret: tabletSecret, now: Self.start.addingTimeInterval(61))
            let usedAgain = try #require(try await repository.apiTokens().first { $0.id == tablet.id }?.lastUsedAt)
            #expect(abs(usedAgain.timeIntervalSince(Self.start.addingTimeInterval(61))) < 1)

            await #expect(throws: StoreError.self) { try await repository.revokeAPIToken(idOrName: "twin") }
            await #expect(throws: StoreError.self) { try await repository.revokeAPIToken(idOrName: "nobody") }
            #expect(try await repository.revokeAPIToken(idOrName: twin.id.uuidString).id == twin.id)
            #expect(try await repository.revokeAPIToken(idOrName: "front desk tablet").id == tablet.id)
            #expect(try await repository.authenticate(secret: tabletSecret) == nil)
            #expect(try await repository.apiTokens().map(\.name) == ["twin"])
            let all = try await repository.apiTokens(includingRevoked: true)
            #expect(all.count == 3)
            let revoked: Set<UUID> = Set(all.filter { $0.revokedAt != nil }.map(\.id))
            #expect(revoked == [tablet.id, twin.id])
        }
    }
}
