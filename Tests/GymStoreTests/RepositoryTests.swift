import Foundation
import GymCore
import GymStore
import Testing

/// A small gym to build tests on.
struct Fixture {
    let club: Club
    let studio: Studio
    let plan: Plan
    let member: Member

    static func make(_ repository: GymRepository) async throws -> Fixture {
        let club = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 7, kisiLockIDs: [11, 12]))
        let studio = try await repository.createStudio(StudioDraft(clubID: club.id, name: "Yoga", kisiLockIDs: [13]))
        let plan = try await repository.createPlan(PlanDraft(name: "Unlimited", clubIDs: [club.id], studioIDs: [studio.id], pastDueGraceDays: 3))
        let member = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Popescu", email: "Ana.Popescu@Example.com", phone: "+40 721 000 111"))
        return Fixture(club: club, studio: studio, plan: plan, member: member)
    }
}

func date(_ text: String) -> LocalDate { LocalDate(text)! }

func expectFieldError(_ field: String, _ operation: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async {
    do {
        try await operation()
        Issue.record("expected a validation error on \(field)", sourceLocation: sourceLocation)
    } catch let errors as FieldErrors {
        #expect(errors.fields[field] != nil, "errors were \(errors)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected FieldErrors on \(field), got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("Repository")
struct RepositoryTests {
    @Test("Migrations apply once, in numbered order, and applying them again changes nothing", arguments: DatabaseKind.available)
    func migrationsAreIdempotent(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            try await database.migrate()
            let applied = try await database.appliedMigrations()
            #expect(applied == ["001_create_gym_layout", "002_create_members", "003_create_subscriptions", "004_create_access_changes", "005_create_api_tokens", "006_create_kisi_sync", "007_create_staff_access", "008_create_replica_coordination", "009_add_member_blocks", "010_add_staff_disabling", "011_create_door_events", "012_create_sign_in_counters_and_webhook_deliveries", "013_create_idempotency_keys", "015_add_list_indexes", "016_create_sync_commands", "017_key_group_links", "018_create_studio_classes", "019_create_class_bookings"])
        }
    }

    @Test("A club, studio and plan round-trip with their Kisi lock IDs", arguments: DatabaseKind.available)
    func layoutRoundTrips(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let fixture = try await Fixture.make(repository)
            #expect(try await repository.club(fixture.club.id) == fixture.club)
            #expect(try await repository.studio(fixture.studio.id) == fixture.studio)
            #expect(try await repository.plan(fixture.plan.id) == fixture.plan)
            let layout = try await repository.layout()
            #expect(layout.lockIDs(of: fixture.plan) == [11, 12, 13])
            #expect(layout.timeZone(of: fixture.plan).identifier == "Europe/Bucharest")
        }
    }

    @Test("Every change that can affect door access is logged in order with its member and plan", arguments: DatabaseKind.available)
    func accessChangesAreLogged(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let fixture = try await Fixture.make(repository)
            let subscription = try await repository.createSubscription(SubscriptionDraft(
                memberID: fixture.member.id, planID: fixture.plan.id, startDate: date("2026-01-01"), paidThrough: date("2026-12-31")))
            _ = try await repository.freeze(subscription.id, span: DateSpan(first: date("2026-03-01"), last: date("2026-03-10")))
            _ = try await repository.cancel(subscription.id, effectiveDate: date("2026-06-01"))
            let changes = try await repository.accessChanges()
            #expect(changes.map(\.subject) == [.club, .studio, .plan, .member, .subscription, .subscription, .subscription])
            #expect(changes.map(\.action) == [.created, .created, .created, .created, .created, .frozen, .cancelled])
            #expect(changes.map(\.id) == changes.map(\.id).sorted())
            #expect(changes[4].memberID == fixture.member.id)
            #expect(changes[4].planID == fixture.plan.id)
            #expect(try await repository.unprocessedAccessChangeCount() == 7)
            try await repository.markAccessChangesProcessed(through: changes[3].id)
            #expect(try await repository.unprocessedAccessChangeCount() == 3)
            #expect(try await repository.accessChanges(after: changes[5].id).map(\.action) == [.cancelled])
        }
    }

    @Test("A duplicate e-mail differing only in case is rejected and leaves the database unchanged", arguments: DatabaseKind.available)
    func duplicateEmailIsRejected(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            _ = try await Fixture.make(repository)
            let before = try await tableCounts(database)
            await expectFieldError("email") {
                _ = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Other", email: "ANA.POPESCU@example.COM"))
            }
            #expect(try await tableCounts(database) == before)
        }
    }

    @Test("Changing a member's e-mail to another member's is rejected, to their own in other case is allowed", arguments: DatabaseKind.available)
    func emailChangeChecksUniqueness(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let fixture = try await Fixture.make(repository)
            let other = try await repository.createMember(MemberDraft(firstName: "Ion", lastName: "Ionescu", email: "ion@example.com"))
            await expectFieldError("email") { _ = try await repository.updateMember(other.id) { $0.email = "ana.popescu@example.com" } }
            let renamed = try await repository.updateMember(fixture.member.id) { $0.email = "ANA.popescu@example.com" }
            #expect(renamed.email.value == "ANA.popescu@example.com")
            #expect(try await repository.member(email: "ion@EXAMPLE.com")?.id == other.id)
        }
    }

    @Test("Two concurrent sign-ups with one e-mail create exactly one member", arguments: DatabaseKind.available)
    func concurrentDuplicateSignUps(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { (database: GymDatabase) async throws in
            let repository = database.repository
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<6 {
                    group.addTask {
                        (try? await repository.createMember(MemberDraft(firstName: "Same", lastName: "\(index)", email: "same@example.com"))) != nil
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            #expect(try await repository.members().total == 1)
            #expect(try await repository.accessChanges().count == 1)
        }
    }

    @Test("A plan naming unknown clubs or studios is rejected per field and nothing is written", arguments: DatabaseKind.available)
    func planWithUnknownReferences(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let fixture = try await Fixture.make(repository)
            let before = try await tableCounts(database)
            await expectFieldError("club_ids") { _ = try await repository.createPlan(PlanDraft(name: "Ghost", clubIDs: [UUID()])) }
            await expectFieldError("studio_ids") { _ = try await repository.updatePlan(fixture.plan.id) { $0.studioIDs = [UUID()] } }
            await expectFieldError("past_due_grace_days") { _ = try await repository.updatePlan(fixture.plan.id) { $0.pastDueGraceDays = -1 } }
            #expect(try await tableCounts(database) == before)
            #expect(try await repository.plan(fixture.plan.id) == fixture.plan)
        }
    }

    @Test("A Kisi lock belongs to one door only", arguments: DatabaseKind.available)
    func lockBelongsToOneDoor(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let fixture = try await Fixture.make(repository)
            await expectFieldError("kisi_lock_ids") {
                _ = try await repository.createStudio(StudioDraft(clubID: fixture.club.id, name: "Sauna", kisiLockIDs: [12]))
            }
            await expectFieldError("kisi_lock_ids") {
                _ = try await repository.createClub(ClubDraft(name: "Other", timeZoneIdentifier: "UTC", kisiLockIDs: [13]))
            }
            // A club may keep its own locks when edited.
            let renamed = try await repository.updateClub(fixture.club.id) { $0.name = "Old Town Centre" }
            #expect(renamed.kisiLockIDs == [11, 12])
        }
    }

    @Test("Selling a subscription checks member, plan and dates, all reported together", arguments: DatabaseKind.available)
    func subscriptionValidation(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let fixture = try await Fixture.make(repository)
            let before = try await tableCounts(database)
            do {
                _ = try await repository.createSubscription(SubscriptionDraft(
                    memberID: UUID(), planID: UUID(), startDate: date("2026-05-01"), endDate: date("2026-04-30"), paidThrough: date("2026-05-31")))
                Issue.record("expected validation errors")
            } catch let errors as FieldErrors {
                #expect(Set(errors.fields.keys) == ["member_id", "plan_id", "end_date"])
            }
            _ = try await repository.updatePlan(fixture.plan.id) { $0.isArchived = true }
            await expectFieldError("plan_id") {
                _ = try await repository.createSubscription(SubscriptionDraft(
                    memberID: fixture.member.id, planID: fixture.plan.id, startDate: date("2026-05-01"), paidThrough: date("2026-05-31")))
            }
            var after = try await tableCounts(database)
            after["access_changes", default: 0] -= 1 // the archive itself
            #expect(after == before)
        }
    }

    @Test("Freezes may not overlap, and unfreezing ends an ongoing freeze or drops a future one", arguments: DatabaseKind.available)
    func freezeAndUnfreeze(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let fixture = try await Fixture.make(repository)
            let subscription = try await repository.createSubscription(SubscriptionDraft(
                memberID: fixture.member.id, planID: fixture.plan.id, startDate: date("2026-01-01"), paidThrough: date("2026-12-31")))
            let march = DateSpan(first: date("2026-03-01"), last: date("2026-03-20"))
            let july = DateSpan(first: date("2026-07-01"), last: date("2026-07-14"))
            _ = try await repository.freeze(subscription.id, span: march, reason: "Injury")
            _ = try await repository.freeze(subscription.id, span: july)
            let before = try await repository.subscription(subscription.id)
            await expectFieldError("start_date") {
                _ = try await repository.freeze(subscription.id, span: DateSpan(first: date("2026-03-15"), last: date("2026-04-02")))
            }
            #expect(try await repository.subscription(subscription.id) == before)

            let resumed = try await repository.unfreeze(subscription.id, resumeOn: date("2026-03-10"))
            #expect(resumed.freezes.map(\.span) == [DateSpan(first: date("2026-03-01"), last: date("2026-03-09")), july])
            #expect(resumed.freezes.first?.reason == "Injury")
            let dropped = try await repository.unfreeze(subscription.id, resumeOn: date("2026-05-01"))
            #expect(dropped.freezes.map(\.span) == [DateSpan(first: date("2026-03-01"), last: date("2026-03-09"))])
            await expectFieldError("freeze_id") { _ = try await repository.unfreeze(subscription.id, resumeOn: date("2026-08-01")) }
        }
    }

    @Test("The access decision follows the stored subscription through freeze and cancellation", arguments: DatabaseKind.available)
    func accessDecisionFollowsStoredData(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let fixture = try await Fixture.make(repository)
            let noon = { (day: String) in ISO8601DateFormatter().date(from: "\(day)T10:00:00Z")! }
            #expect(try await repository.accessDecision(memberID: fixture.member.id, at: noon("2026-02-01")).reason == .noSubscription)
            let subscription = try await repository.createSubscription(SubscriptionDraft(
                memberID: fixture.member.id, planID: fixture.plan.id, startDate: date("2026-01-01"), paidThrough: date("2026-12-31")))
            let active = try await repository.accessDecision(memberID: fixture.member.id, at: noon("2026-02-01"))
            #expect(active.reason == .active)
            #expect(active.doors.filter(\.allowed).map(\.door.lockID) == [11, 12, 13])
            #expect(active.window?.until == ISO8601DateFormatter().date(from: "2027-01-03T22:00:00Z"))
            _ = try await repository.freeze(subscription.id, span: DateSpan(first: date("2026-02-01"), last: date("2026-02-10")))
            #expect(try await repository.accessDecision(memberID: fixture.member.id, at: noon("2026-02-01")).reason == .frozen)
            _ = try await repository.cancel(subscription.id, effectiveDate: date("2026-02-01"))
            #expect(try await repository.accessDecision(memberID: fixture.member.id, at: noon("2026-02-05")).reason == .cancelled)
            await #expect(throws: StoreError.notFound(entity: "member", id: fixture.club.id)) {
                _ = try await repository.accessDecision(memberID: fixture.club.id, at: Date())
            }
        }
    }

    @Test("A block keeps the member out, is logged for the sync and the audit log, survives edits and lifts cleanly", arguments: DatabaseKind.available)
    func blockAndUnblock(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let fixture = try await Fixture.make(repository)
            _ = try await repository.createSubscription(SubscriptionDraft(
                memberID: fixture.member.id, planID: fixture.plan.id, startDate: date("2026-01-01"), paidThrough: date("2026-12-31")))
            let noon = ISO8601DateFormatter().date(from: "2026-02-01T10:00:00Z")!
            #expect(try await repository.accessDecision(memberID: fixture.member.id, at: noon).reason == .active)
            let changes = try await repository.accessChanges().count
            let at = ISO8601DateFormatter().date(from: "2026-02-01T09:30:15Z")!.addingTimeInterval(0.123_456)

            let blocked = try await repository.blockMember(id: fixture.member.id, reason: "  Damaged the sauna door\n", by: "staff:olga@gym.example", at: at)
            let expected = MemberBlock(reason: "Damaged the sauna door", blockedAt: ISO8601DateFormatter().date(from: "2026-02-01T09:30:15Z")!, blockedBy: "staff:olga@gym.example")
            #expect(blocked.block == expected)
            #expect(try await repository.member(fixture.member.id) == blocked, "read back exactly as returned")
            let decision = try await repository.accessDecision(memberID: fixture.member.id, at: noon)
            #expect(decision.reason == .blocked)
            #expect(decision.doors.allSatisfy { !$0.allowed && $0.reason == .blocked })
            #expect(decision.explanation == "Blocked by staff: Damaged the sauna door.")
            let logged = try await repository.accessChanges()
            #expect(logged.count == changes + 1)
            #expect(logged.last.map { [$0.subject.rawValue, $0.action.rawValue] } == ["member", "updated"])
            #expect(logged.last?.memberID == fixture.member.id)
            let audit = try await repository.kisiWrites(KisiWriteFilter(memberID: fixture.member.id)).items
            #expect(audit.map(\.action) == ["block_member"])
            #expect(audit.first?.actor == "staff:olga@gym.example")
            #expect(audit.first?.status == .succeeded)
            #expect(audit.first?.finishedAt != nil)
            #expect(try await repository.unfinishedKisiWrites().isEmpty, "the sync never looks a block up in Kisi")

            // Editing the member's details neither lifts nor changes the block.
            let edited = try await repository.updateMember(fixture.member.id) { $0.notes = "Prefers mornings" }
            #expect(edited.block == expected)
            #expect(try await repository.member(fixture.member.id).block == expected)

            // Blocking again replaces the reason and who, and keeps the start of the block.
            let again = try await repository.blockMember(id: fixture.member.id, reason: "Card reported stolen", by: "api:desk", at: at.addingTimeInterval(3600))
            #expect(again.block == MemberBlock(reason: "Card reported stolen", blockedAt: expected.blockedAt, blockedBy: "api:desk"))
            #expect(try await repository.kisiWrites(KisiWriteFilter(memberID: fixture.member.id)).items.map(\.action) == ["block_member", "block_member"])

            let unblocked = try await repository.unblockMember(id: fixture.member.id, by: "staff:mara@gym.example")
            #expect(unblocked.block == nil)
            #expect(unblocked.notes == "Prefers mornings")
            #expect(try await repository.member(fixture.member.id).block == nil)
            #expect(try await repository.accessDecision(memberID: fixture.member.id, at: noon).reason == .active)
            let lifted = try await repository.kisiWrites(KisiWriteFilter(memberID: fixture.member.id)).items.first
            #expect(lifted?.action == "unblock_member")
            #expect(lifted?.actor == "staff:mara@gym.example")
            #expect(lifted?.reason.contains("Card reported stolen") == true)

            let counts = try await tableCounts(database)
            #expect(try await repository.unblockMember(id: fixture.member.id, by: "staff:mara@gym.example") == unblocked)
            #expect(try await tableCounts(database) == counts, "unblocking a member who is not blocked writes nothing")
        }
    }

    @Test("A block needs a reason of at most 500 characters and a known member; a refused block writes nothing", arguments: DatabaseKind.available)
    func refusedBlocks(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let fixture = try await Fixture.make(repository)
            let before = try await tableCounts(database)
            await expectFieldError("reason") { _ = try await repository.blockMember(id: fixture.member.id, reason: " \n ", by: "staff:olga@gym.example") }
            await expectFieldError("reason") {
                _ = try await repository.blockMember(id: fixture.member.id, reason: String(repeating: "x", count: 501), by: "staff:olga@gym.example")
            }
            await #expect(throws: StoreError.notFound(entity: "member", id: fixture.club.id)) {
                _ = try await repository.blockMember(id: fixture.club.id, reason: "Fight in the changing room", by: "staff:olga@gym.example")
            }
            await #expect(throws: StoreError.notFound(entity: "member", id: fixture.club.id)) {
                _ = try await repository.unblockMember(id: fixture.club.id, by: "staff:olga@gym.example")
            }
            #expect(try await tableCounts(database) == before)
            #expect(try await repository.member(fixture.member.id) == fixture.member)
        }
    }

    @Test("Deleting is refused while something depends on the row, and archiving keeps sold subscriptions", arguments: DatabaseKind.available)
    func deletionRules(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let fixture = try await Fixture.make(repository)
            _ = try await repository.createSubscription(SubscriptionDraft(
                memberID: fixture.member.id, planID: fixture.plan.id, startDate: date("2026-01-01"), paidThrough: date("2026-12-31")))
            let before = try await tableCounts(database)
            await #expect(throws: StoreError.self) { try await repository.deletePlan(fixture.plan.id) }
            await #expect(throws: StoreError.self) { try await repository.deleteClub(fixture.club.id) }
            await #expect(throws: StoreError.self) { try await repository.deleteStudio(fixture.studio.id) }
            #expect(try await tableCounts(database) == before)

            try await repository.deleteMember(fixture.member.id)
            let after = try await tableCounts(database)
            #expect(after["members"] == 0)
            #expect(after["subscriptions"] == 0)
            #expect(try await repository.accessChanges().last.map { [$0.subject.rawValue, $0.action.rawValue] } == ["member", "deleted"])
            try await repository.deletePlan(fixture.plan.id)
            try await repository.deleteStudio(fixture.studio.id)
            try await repository.deleteClub(fixture.club.id)
            await #expect(throws: StoreError.notFound(entity: "club", id: fixture.club.id)) { try await repository.deleteClub(fixture.club.id) }
        }
    }

    @Test("Member search is case-insensitive, matches every word and pages with a total", arguments: DatabaseKind.available)
    func memberSearch(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            for index in 0..<12 {
                _ = try await repository.createMember(MemberDraft(firstName: index.isMultiple(of: 2) ? "Maria" : "Ion", lastName: "Pop\(index)", email: "m\(index)@Gym.example"))
            }
            #expect(try await repository.members(search: "MARIA").total == 6)
            #expect(try await repository.members(search: "maria pop1").items.map(\.lastName) == ["Pop10"])
            #expect(try await repository.members(search: "gym.EXAMPLE").total == 12)
            let page = try await repository.members(search: nil, PageRequest(limit: 5, offset: 10))
            #expect(page.total == 12)
            #expect(page.items.count == 2)
            #expect(try await repository.members(search: "nobody").total == 0)
        }
    }

    @Test("A member import is all or nothing unless invalid rows may be skipped", arguments: DatabaseKind.available)
    func memberImport(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            _ = try await Fixture.make(repository)
            let drafts = [
                MemberDraft(firstName: "Good", lastName: "One", email: "good1@example.com"),
                MemberDraft(firstName: "Bad", lastName: "Mail", email: "not-an-email"),
                MemberDraft(firstName: "Taken", lastName: "Mail", email: "ana.popescu@example.com"),
                MemberDraft(firstName: "Good", lastName: "Two", email: "good2@example.com"),
                MemberDraft(firstName: "Twice", lastName: "Again", email: "GOOD2@example.com"),
            ]
            let before = try await tableCounts(database)
            let refused = try await repository.importMembers(drafts, skipInvalid: false)
            #expect(refused.imported.isEmpty)
            #expect(refused.problems.keys.sorted() == [1, 2, 4])
            #expect(try await tableCounts(database) == before)

            let partial = try await repository.importMembers(drafts, skipInvalid: true)
            #expect(partial.imported.map(\.lastName) == ["One", "Two"])
            #expect(try await repository.members().total == 3)
        }
    }

    @Test("API tokens are stored hashed, authenticate while live and stop when revoked", arguments: DatabaseKind.available)
    func apiTokens(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let (token, secret) = try await repository.createAPIToken(name: "front desk")
            #expect(secret.hasPrefix("bgm_"))
            #expect(try await repository.authenticate(secret: secret)?.id == token.id)
            #expect(try await repository.authenticate(secret: secret + "x") == nil)
            #expect(try await repository.authenticate(secret: "") == nil)
            let stored = try await tokenHashes(database)
            #expect(!stored.contains(secret))
            #expect(stored.allSatisfy { $0.count == 64 })
            try await repository.revokeAPIToken(token.id)
            #expect(try await repository.authenticate(secret: secret) == nil)
        }
    }
}
