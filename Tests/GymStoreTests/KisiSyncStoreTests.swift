import Foundation
import GymCore
import GymStore
import SQLKit
import Testing

private let apiKey = "kisi-live-9f2c1d0e7b6a5f4e3d2c1b0a"
private let webhookSecret = "whsec-41b2c3d4e5f60718293a4b5c"

private func instant(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

/// The sealed columns of the settings row, read past the repository.
private func sealedSettingsColumns(_ database: GymDatabase) async throws -> [String] {
    struct Row: Decodable { let api_key_sealed: String; let webhook_secret_sealed: String? }
    let rows = try await (database.database as! any SQLDatabase)
        .raw("SELECT api_key_sealed, webhook_secret_sealed FROM kisi_settings").all(decoding: Row.self)
    return rows.flatMap { [$0.api_key_sealed, $0.webhook_secret_sealed].compactMap { $0 } }
}

@Suite("Kisi sync storage")
struct KisiSyncStoreTests {
    // MARK: Master key and settings

    @Test("A master key parses from 32 bytes of base64 and refuses anything else, clearly")
    func masterKeyParsing() throws {
        let key = MasterKey.generate()
        #expect(try MasterKey(base64: key.base64).base64 == key.base64)
        #expect(try MasterKey(base64: "  \(key.base64)\n").base64 == key.base64)
        #expect(MasterKey.generate().base64 != key.base64)
        #expect(throws: MasterKeyError.empty) { try MasterKey(base64: " ") }
        #expect(throws: MasterKeyError.notBase64) { try MasterKey(base64: "not base64!") }
        #expect(throws: MasterKeyError.wrongLength(bytes: 16)) { try MasterKey(base64: Data(count: 16).base64EncodedString()) }
        #expect(!"\(key)".contains(key.base64))
        #expect(!String(reflecting: key).contains(key.base64))
    }

    @Test("Kisi settings round-trip, are replaced by a second save and can be deleted", arguments: DatabaseKind.available)
    func settingsRoundTrip(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let key = MasterKey.generate()
            #expect(try await repository.kisiSettings(masterKey: key) == nil)

            let settings = KisiSettings(
                apiKey: apiKey, organizationID: 4711, baseURL: "https://sandbox.kisi.example", instanceURL: "https://gym.example.com",
                userCreationMode: .invitations, webhookSecret: webhookSecret)
            try await repository.saveKisiSettings(settings, masterKey: key)
            #expect(try await repository.kisiSettings(masterKey: key) == settings)

            // A second save replaces the single row; the defaults apply.
            let plain = KisiSettings(apiKey: " \(apiKey)-2\n")
            try await repository.saveKisiSettings(plain, masterKey: key)
            let stored = try #require(try await repository.kisiSettings(masterKey: key))
            #expect(stored.apiKey == "\(apiKey)-2")
            #expect(stored.baseURL == "https://api.kisi.io")
            #expect(stored.userCreationMode == .managed)
            #expect(stored.organizationID == nil && stored.instanceURL == nil && stored.webhookSecret == nil)
            #expect(try await tableCounts(database)["kisi_settings"] == 1)

            try await repository.deleteKisiSettings()
            #expect(try await repository.kisiSettings(masterKey: key) == nil)
        }
    }

    @Test("Settings sealed under one master key do not open under another, with a typed error", arguments: DatabaseKind.available)
    func wrongMasterKey(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let key = MasterKey.generate()
            try await repository.saveKisiSettings(KisiSettings(apiKey: apiKey, webhookSecret: webhookSecret), masterKey: key)
            let other = MasterKey.generate()
            do {
                _ = try await repository.kisiSettings(masterKey: other)
                Issue.record("expected MasterKeyError.wrongKey")
            } catch let error as MasterKeyError {
                #expect(error == .wrongKey)
                #expect("\(error)".contains("another master key"))
                #expect(!"\(error)".contains(apiKey) && !String(reflecting: error).contains(apiKey))
            }
            // Saving again under the new key re-seals, after which only the new key opens them.
            try await repository.saveKisiSettings(KisiSettings(apiKey: apiKey), masterKey: other)
            #expect(try await repository.kisiSettings(masterKey: other)?.apiKey == apiKey)
            await #expect(throws: MasterKeyError.wrongKey) { _ = try await repository.kisiSettings(masterKey: key) }
        }
    }

    @Test("The database holds only ciphertext: neither secret appears in the stored row", arguments: DatabaseKind.available)
    func ciphertextHidesTheKey(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let key = MasterKey.generate()
            try await repository.saveKisiSettings(KisiSettings(apiKey: apiKey, webhookSecret: webhookSecret), masterKey: key)
            let first = try await sealedSettingsColumns(database)
            #expect(first.count == 2)
            for sealed in first {
                #expect(!sealed.contains(apiKey) && !sealed.contains(webhookSecret))
                #expect(!sealed.contains(Data(apiKey.utf8).base64EncodedString()))
                #expect(!sealed.contains(key.base64))
                #expect(sealed.hasPrefix("v1:"))
            }
            // A fresh nonce each time: the same key sealed again gives other ciphertext.
            try await repository.saveKisiSettings(KisiSettings(apiKey: apiKey, webhookSecret: webhookSecret), masterKey: key)
            #expect(try await sealedSettingsColumns(database) != first)
        }
    }

    @Test("Descriptions, dumps and errors never show the API key or webhook secret", arguments: DatabaseKind.available)
    func secretsStayOutOfText(kind: DatabaseKind) async throws {
        let settings = KisiSettings(apiKey: apiKey, organizationID: 7, instanceURL: "https://gym.example.com", webhookSecret: webhookSecret)
        var dumped = ""
        dump(settings, to: &dumped)
        for text in ["\(settings)", String(describing: settings), String(reflecting: settings), dumped, "\([settings])"] {
            #expect(!text.contains(apiKey), "\(text)")
            #expect(!text.contains(webhookSecret), "\(text)")
        }
        #expect("\(settings)".contains("organizationID: 7"))
        #expect("\(settings)".contains("<redacted>"))

        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            var invalid = settings
            invalid.baseURL = "ftp://\(apiKey)"
            invalid.organizationID = -1
            do {
                try await repository.saveKisiSettings(invalid, masterKey: MasterKey.generate())
                Issue.record("expected FieldErrors")
            } catch let errors as FieldErrors {
                #expect(Set(errors.fields.keys) == ["base_url", "organization_id"])
                #expect(!"\(errors)".contains(apiKey) && !String(reflecting: errors).contains(apiKey))
            }
            #expect(try await tableCounts(database)["kisi_settings"] == 0)
            await expectFieldError("api_key") { try await repository.saveKisiSettings(KisiSettings(apiKey: "  "), masterKey: MasterKey.generate()) }
        }
    }

    // MARK: Links

    @Test("Links map plans to groups and members to users; one Kisi object links to one local object", arguments: DatabaseKind.available)
    func links(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let (planA, planB) = (UUID(), UUID())
            let memberA = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Links", email: "ana@links.example")).id
            let memberB = try await repository.createMember(MemberDraft(firstName: "Bo", lastName: "Links", email: "bo@links.example")).id
            #expect(try await repository.kisiLinks() == KisiLinks())
            try await repository.setKisiGroupLink(planID: planA, groupID: 100)
            try await repository.setKisiGroupLink(planID: planB, groupID: 101)
            try await repository.setKisiUserLink(memberID: memberA, userID: 100) // same number, other kind: fine
            try await repository.setKisiUserLink(memberID: memberB, userID: 9_000_000_001) // bigint
            #expect(try await repository.kisiLinks() == KisiLinks(groups: [.plan(planA): 100, .plan(planB): 101], users: [memberA: 100, memberB: 9_000_000_001]))

            await #expect(throws: StoreError.self) { try await repository.setKisiGroupLink(planID: planB, groupID: 100) }
            await #expect(throws: StoreError.self) { try await repository.setKisiUserLink(memberID: UUID(), userID: 100) }
            await expectFieldError("kisi_id") { try await repository.setKisiUserLink(memberID: memberA, userID: 0) }

            // Relinking replaces; re-setting the same link is harmless; nil removes.
            try await repository.setKisiGroupLink(planID: planA, groupID: 102)
            try await repository.setKisiGroupLink(planID: planA, groupID: 102)
            try await repository.setKisiGroupLink(planID: planB, groupID: 100) // freed by the relink
            try await repository.setKisiUserLink(memberID: memberB, userID: nil)
            try await repository.setKisiUserLink(memberID: UUID(), userID: nil) // nothing to remove
            #expect(try await repository.kisiLinks() == KisiLinks(groups: [.plan(planA): 102, .plan(planB): 100], users: [memberA: 100]))
            #expect(try await tableCounts(database)["kisi_links"] == 1)

            // A deleted member's link stays (the sync still takes their access away) until someone
            // re-joins with that Kisi user: then it is theirs.
            try await repository.deleteMember(memberA)
            #expect(try await repository.kisiLinks().users[memberA] == 100)
            let returning = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Back", email: "ana@links.example")).id
            try await repository.setKisiUserLink(memberID: returning, userID: 100)
            #expect(try await repository.kisiLinks().users == [returning: 100])
        }
    }

    @Test("Two plans racing for one Kisi group: exactly one gets it", arguments: DatabaseKind.available)
    func concurrentLinks(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { (database: GymDatabase) async throws in
            let repository = database.repository
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<6 {
                    group.addTask { (try? await repository.setKisiGroupLink(planID: UUID(), groupID: 555)) != nil }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            #expect(try await repository.kisiLinks().groups.count == 1)
        }
    }

    // MARK: Journal

    @Test("A write is pending once begun, leaves the unfinished list when it ends, and stays while unknown", arguments: DatabaseKind.available)
    func journalLifecycle(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let member = UUID()
            let create = try await repository.beginKisiWrite(
                action: "createUser", kisiObjectType: "User", memberID: member, trigger: "change #12", reason: "Ana Popescu bought Unlimited",
                requestJSON: #"{"user":{"email":"ana@example.com"}}"#)
            let grant = try await repository.beginKisiWrite(
                action: "createGrant", kisiObjectType: "RoleAssignment", memberID: member, planID: UUID(), reason: "Unlimited opens doors")
            let remove = try await repository.beginKisiWrite(action: "removeGrant", actor: "staff:Maria", reason: "Manual removal")
            #expect(try await repository.unfinishedKisiWrites().map(\.id) == [create, grant, remove])
            let pending = try #require(try await repository.unfinishedKisiWrites().first)
            #expect(pending.status == .pending && pending.finishedAt == nil)
            #expect(pending.actor == "sync" && pending.trigger == "change #12" && pending.memberID == member)
            #expect(pending.requestJSON == #"{"user":{"email":"ana@example.com"}}"#)

            try await repository.finishKisiWrite(id: create, status: .succeeded, kisiObjectID: 9_000_000_042, kisiStatus: 200)
            try await repository.finishKisiWrite(id: grant, status: .unknown, error: "timed out after 10 s")
            try await repository.finishKisiWrite(id: remove, status: .failed, kisiStatus: 422, kisiCode: "invalid", error: "Role assignment not found")
            #expect(try await repository.unfinishedKisiWrites().map(\.id) == [grant])

            let done = try await repository.kisiWrites(KisiWriteFilter(action: "createUser")).items
            #expect(done.count == 1)
            #expect(done[0].status == .succeeded && done[0].kisiObjectType == "User" && done[0].kisiObjectID == 9_000_000_042)
            #expect(done[0].kisiStatus == 200 && done[0].error == nil && done[0].finishedAt != nil)
            let failed = try #require(try await repository.kisiWrites(KisiWriteFilter(status: .failed)).items.first)
            #expect(failed.id == remove && failed.kisiCode == "invalid" && failed.actor == "staff:Maria")

            // An unknown write settles once the sync has checked Kisi; its old error goes.
            try await repository.finishKisiWrite(id: grant, status: .succeeded, kisiStatus: 200)
            #expect(try await repository.unfinishedKisiWrites().isEmpty)
            #expect(try await repository.kisiWrites(KisiWriteFilter(action: "createGrant")).items.first?.error == nil)

            await expectFieldError("status") { try await repository.finishKisiWrite(id: grant, status: .pending) }
            await #expect(throws: StoreError.self) { try await repository.finishKisiWrite(id: 999_999, status: .failed) }
            await expectFieldError("action") { _ = try await repository.beginKisiWrite(action: " ", reason: "x") }
        }
    }

    @Test("The journal filters by member, plan, action, status and time, pages newest first and counts by status", arguments: DatabaseKind.available)
    func journalFiltersAndPaging(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let (ana, ion, unlimited) = (UUID(), UUID(), UUID())
            var ids: [Int] = []
            for day in 1...9 {
                let id = try await repository.beginKisiWrite(
                    action: day.isMultiple(of: 3) ? "removeGrant" : "createGrant", memberID: day <= 5 ? ana : ion,
                    planID: day.isMultiple(of: 2) ? unlimited : nil, reason: "day \(day)", at: instant("2026-03-0\(day)T10:00:00Z"))
                if day != 9 {
                    try await repository.finishKisiWrite(id: id, status: day == 4 ? .failed : .succeeded, at: instant("2026-03-0\(day)T10:00:01Z"))
                }
                ids.append(id)
            }
            let all = try await repository.kisiWrites(KisiWriteFilter())
            #expect(all.total == 9)
            #expect(all.items.map(\.id) == ids.reversed())
            #expect(all.items.first?.createdAt == instant("2026-03-09T10:00:00Z"))
            #expect(all.items.last?.finishedAt == instant("2026-03-01T10:00:01Z"))

            #expect(try await repository.kisiWrites(KisiWriteFilter(memberID: ana)).total == 5)
            #expect(try await repository.kisiWrites(KisiWriteFilter(planID: unlimited)).items.map(\.reason) == ["day 8", "day 6", "day 4", "day 2"])
            #expect(try await repository.kisiWrites(KisiWriteFilter(action: "removeGrant")).items.map(\.reason) == ["day 9", "day 6", "day 3"])
            #expect(try await repository.kisiWrites(KisiWriteFilter(status: .failed)).items.map(\.reason) == ["day 4"])
            #expect(try await repository.kisiWrites(KisiWriteFilter(status: .pending)).items.map(\.reason) == ["day 9"])
            let window = KisiWriteFilter(from: instant("2026-03-03T10:00:00Z"), until: instant("2026-03-06T10:00:00Z"))
            #expect(try await repository.kisiWrites(window).items.map(\.reason) == ["day 5", "day 4", "day 3"])
            let combined = KisiWriteFilter(memberID: ion, planID: unlimited, action: "createGrant", status: .succeeded, from: instant("2026-03-01T00:00:00Z"))
            #expect(try await repository.kisiWrites(combined).items.map(\.reason) == ["day 8"])
            #expect(try await repository.kisiWrites(KisiWriteFilter(memberID: UUID())).total == 0)

            let page = try await repository.kisiWrites(KisiWriteFilter(), PageRequest(limit: 4, offset: 4))
            #expect(page.total == 9 && page.limit == 4 && page.offset == 4)
            #expect(page.items.map(\.reason) == ["day 5", "day 4", "day 3", "day 2"])

            // Keyset batches for export cover everything exactly once.
            var exported: [Int] = []
            var cursor: Int? = nil
            while true {
                let batch = try await repository.kisiWrites(KisiWriteFilter(), before: cursor, limit: 4)
                guard let last = batch.last else { break }
                exported += batch.map(\.id)
                cursor = last.id
            }
            #expect(exported == ids.reversed())

            let counts = try await repository.kisiWriteCounts(since: instant("2026-03-04T00:00:00Z"))
            #expect(counts == [.pending: 1, .succeeded: 4, .failed: 1, .unknown: 0, .skipped: 0])
        }
    }

    // MARK: Held reviews

    @Test("Held reviews are not duplicated while open, and resolving closes them", arguments: DatabaseKind.available)
    func heldReviews(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let member = UUID()
            let first = try await repository.holdForReview(kind: "ambiguousUser", memberID: member, kisiUserID: 77, detail: "Two Kisi users share ana@example.com")
            let again = try await repository.holdForReview(kind: "ambiguousUser", memberID: member, kisiUserID: 77, detail: "still ambiguous")
            #expect(again == first)
            let otherUser = try await repository.holdForReview(kind: "ambiguousUser", memberID: member, kisiUserID: 78, detail: "other user")
            let noMember = try await repository.holdForReview(kind: "unknownUser", kisiUserID: 77, detail: "No member for Kisi user 77")
            #expect(try await repository.holdForReview(kind: "unknownUser", kisiUserID: 77, detail: "again") == noMember)
            #expect(Set([first, otherUser, noMember]).count == 3)

            let open = try await repository.openHeldReviews()
            #expect(open.map(\.id) == [first, otherUser, noMember])
            #expect(open[0].detail == "Two Kisi users share ana@example.com")
            #expect(open[0].memberID == member && open[0].kisiUserID == 77 && open[0].resolvedAt == nil)
            #expect(open[2].memberID == nil)

            try await repository.resolveHeldReview(id: first, resolution: "Linked to Kisi user 77 by Maria")
            #expect(try await repository.openHeldReviews().map(\.id) == [otherUser, noMember])
            await #expect(throws: StoreError.self) { try await repository.resolveHeldReview(id: first, resolution: "again") }
            await #expect(throws: StoreError.notFound(entity: "held review", id: member)) {
                try await repository.resolveHeldReview(id: member, resolution: "x")
            }

            // Once resolved, the same problem may be held again.
            let reopened = try await repository.holdForReview(kind: "ambiguousUser", memberID: member, kisiUserID: 77, detail: "back again")
            #expect(reopened != first)
            #expect(try await tableCounts(database)["held_reviews"] == 4)
        }
    }

    @Test("Concurrent holds of the same review create one", arguments: DatabaseKind.available)
    func concurrentHolds(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { (database: GymDatabase) async throws in
            let repository = database.repository
            let member = UUID()
            let ids = try await withThrowingTaskGroup(of: UUID.self) { group in
                for index in 0..<6 {
                    group.addTask { try await repository.holdForReview(kind: "brake", memberID: member, detail: "attempt \(index)") }
                }
                return try await group.reduce(into: Set<UUID>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            #expect(try await repository.openHeldReviews().count == 1)
        }
    }

    // MARK: Sync state

    @Test("Sync state stores, replaces and removes typed values", arguments: DatabaseKind.available)
    func syncState(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let state = database.repository.syncState
            #expect(try await state.get(.lastProcessedChangeID) == nil)
            try await state.set(.lastProcessedChangeID, 41)
            try await state.set(.pausedReason, "Kisi rejected the API key (401)")
            try await state.set(.lastProcessedChangeID, 42)
            #expect(try await state.get(.lastProcessedChangeID) == 42)
            #expect(try await state.get(.pausedReason) == "Kisi rejected the API key (401)")
            let held = Array(repeating: ["member": "x", "grant": "1"], count: 2_000)
            try await state.set(.brakeHeld, held)
            #expect(try await state.get(SyncStateEntry<[[String: String]]>.brakeHeld) == held)
            try await state.set(.pausedReason, nil)
            try await state.set(.kisiChangeReported, nil)
            #expect(try await state.get(.pausedReason) == nil)
            #expect(try await tableCounts(database)["sync_state"] == 2)
        }
    }

    @Test("Typed sync state keeps the keys and the text that existing databases hold", arguments: DatabaseKind.available)
    func syncStateStoredText(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let state = repository.syncState
            let startedAt = Date(timeIntervalSince1970: 1_800_000_000)
            try await state.set(.lastProcessedChangeID, 42)
            try await state.set(.lastFullReconcileAt, startedAt)
            try await state.set(.brakeApproved, [77, 78])
            try await state.set(.kisiSelfUserID, 9)
            #expect(try await repository.syncState("last_processed_change_id") == "42")
            #expect(try await repository.syncState("last_full_reconcile_at") == "2027-01-15T08:00:00Z")
            #expect(try await repository.syncState("brake_approved_json") == "[77,78]")
            #expect(try await repository.syncState("kisi_self_user_id") == "9")
            // Written by an older release: read back as typed values.
            try await repository.setSyncState("deferred_actions", "17")
            try await repository.setSyncState("kisi_disconnect_requested", "Olga Owner at 10:00")
            #expect(try await state.get(.deferredActions) == 17)
            #expect(try await state.get(.lastFullReconcileAt) == startedAt)
            #expect(try await state.get(.disconnectRequested) == "Olga Owner at 10:00")
            // Nothing owed is no row at all; text that is not a value reads as absent.
            try await state.set(.retry, SyncRetryState())
            #expect(try await repository.syncState("retry_json") == nil)
            try await repository.setSyncState("kisi_webhook_integration_id", "not a number")
            #expect(try await state.get(.kisiWebhookIntegrationID) == nil)
        }
    }
}
