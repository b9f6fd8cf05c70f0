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
@testable import KisiSandbox
import Logging
import Testing

/// A small gym connected to a Kisi sandbox, served by the admin UI with a sync engine but without the
/// background sync service: each test runs the sync itself where the service would, so what the admin
/// UI does and what the sync then does can be told apart.
struct KisiAdminGym: Sendable {
    let sandbox: KisiSandbox
    let repository: GymRepository
    let engine: SyncEngine
    let client: any TestClientProtocol
    let member: Member
    let planID: UUID

    static let memberEmail = "ana.twice@example.com"

    func browser(_ email: String) async throws -> AdminBrowser {
        let browser = AdminBrowser(client: client, repository: repository)
        try await browser.signIn(email)
        return browser
    }

    /// Runs the sync for the access changes recorded after `changeID`, as the sync service's poll would.
    func syncChanges(after changeID: Int) async throws -> SyncReport {
        let members = Set(try await repository.accessChanges(after: changeID).compactMap(\.memberID))
        return try await engine.reconcile(memberIDs: members, trigger: "changes after #\(changeID)")
    }

    func lastChangeID() async throws -> Int {
        var last = 0
        while let newest = try await repository.accessChanges(after: last).last?.id { last = newest }
        return last
    }

    /// The member's role assignments in Kisi, in the plan's group.
    func assignments(userID: Int) async throws -> [KisiRoleAssignment] {
        let groupID = try #require(try await repository.kisiLinks().groups[.plan(planID)])
        return try await engine.client.allRoleAssignments(
            filter: KisiRoleAssignmentFilter(assignee: .user(id: userID), appliesTo: .group(id: groupID))).collect()
    }

    /// Runs `body` with an owner, a front-desk account and one member, Ana, whose subscription to
    /// "Old Town" (lock 5001 of the demo organization's place 1001) is active.
    static func run(mode: KisiUserCreationMode, _ body: @Sendable (KisiAdminGym) async throws -> Void) async throws {
        let logger = {
            var logger = Logger(label: "boogyman.admin-adoption-tests")
            logger.logLevel = .warning
            return logger
        }()
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(seed: .demoSeed(), requestsPerSecond: 0, logger: logger))
        try await sandbox.withRunningServer { kisiPort in
            let masterKey = MasterKey.generate()
            let configuration = AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteInMemory, masterKey: masterKey)
            let database = try await GymServer.openDatabase(configuration, logger: logger)
            let repository = database.repository
            let hash = StaffPasswords.hash(AdminBrowser.password)
            _ = try await repository.createStaff(email: AdminBrowser.ownerEmail, name: "Olga Owner", role: .owner, passwordHash: hash)
            _ = try await repository.createStaff(email: AdminBrowser.deskEmail, name: "Dan Desk", role: .frontDesk, passwordHash: hash)
            try await repository.saveKisiSettings(
                KisiSettings(apiKey: SandboxSeed.demoAPIKey, organizationID: 1, baseURL: "http://127.0.0.1:\(kisiPort)", userCreationMode: mode),
                masterKey: masterKey)
            let engine = try #require(try await KisiConnection.engine(repository: repository, masterKey: masterKey, logger: logger))

            let zone = TimeZone(identifier: "Europe/Bucharest")!
            let today = LocalDate(containing: Date(), in: zone)
            let club = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: zone.identifier, kisiPlaceID: 1001, kisiLockIDs: [5001]))
            let plan = try await repository.createPlan(PlanDraft(name: "Old Town", clubIDs: [club.id]))
            let member = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Twice", email: memberEmail))
            _ = try await repository.createSubscription(SubscriptionDraft(
                memberID: member.id, planID: plan.id, startDate: today.adding(days: -10), paidThrough: today.adding(days: 30)))

            let router = Router(context: APIContext.self)
            let bell = SyncCommandBell()
            AdminRoutes(
                repository: repository, control: liveControl(repository, engine: engine, masterKey: masterKey, bell: bell),
                configuration: AdminConfiguration(masterKey: masterKey)
            ).register(on: router)
            // The admin UI's Kisi writes (invitations) are carried out by the sync leader's command loop.
            try await withCommandLeader(repository, engine: engine, bell: bell) {
                try await Application(router: router, logger: logger).test(.live) { client in
                    try await body(KisiAdminGym(sandbox: sandbox, repository: repository, engine: engine, client: client, member: member, planID: plan.id))
                }
            }
            await database.shutdown()
        }
    }

    /// Two Kisi users with Ana's e-mail, and the review the sync holds for them. Returns the users' IDs
    /// and the review.
    func duplicateEmailReview() async throws -> (first: Int, second: Int, review: GymStore.HeldReview) {
        let first = try await engine.client.createUser(KisiUserCreate(
            email: Self.memberEmail, name: "Ana Twice", sendEmails: false, confirm: true)).id
        let second = await sandbox.store.insertUserSharingEmail(Self.memberEmail, name: "Ana T.")
        _ = try await engine.reconcileAll()
        let review = try #require(try await repository.openHeldReviews().first { $0.kind.hasPrefix("duplicate_kisi_email:") })
        #expect(review.memberID == member.id)
        return (first, second, review)
    }
}

extension SandboxStore {
    /// A Kisi user whose e-mail another user of the organization already has. Kisi's API refuses such a
    /// user (sandbox Decision 13), so the test puts it straight into the store: this is the situation the
    /// sync's duplicate-e-mail review exists for, and BooGYMan must not pick one of the two on its own.
    func insertUserSharingEmail(_ email: String, name: String, organizationID: Int = 1) -> Int {
        let instant = now()
        let user = UserRecord(
            id: nextId(), organizationId: organizationID, name: name, email: email.lowercased(), image: nil, notes: nil, metadata: [:],
            accessEnabled: true, passwordFlowEnabled: false, confirmed: true, lastAccessedAt: nil, createdAt: instant, updatedAt: instant)
        state.users[user.id] = user
        return user.id
    }
}

@Suite("Admin UI: Kisi user adoption")
struct KisiAdoptionTests {
    @Test("A duplicate-e-mail review shows both Kisi users; linking one gives the member that user after a sync run and closes the review")
    func linkingOneOfTwoUsersResolvesTheReview() async throws {
        try await KisiAdminGym.run(mode: .managed) { gym in
            let (first, second, review) = try await gym.duplicateEmailReview()
            #expect(try await gym.repository.kisiLinks().users[gym.member.id] == nil, "the sync does not guess")

            let owner = try await gym.browser(AdminBrowser.ownerEmail)
            let dashboard = try await owner.get("/admin")
            #expect(dashboard.body.contains("href=\"/admin/kisi/adoption\""))
            let page = try await owner.get("/admin/kisi/adoption")
            #expect(page.status == .ok)
            #expect(page.body.contains("Several Kisi users have the member&#39;s e-mail") || page.body.contains("Several Kisi users have the member's e-mail"))
            #expect(page.body.contains("data-user-id=\"\(first)\""))
            #expect(page.body.contains("data-user-id=\"\(second)\""))
            #expect(page.body.contains("Link to Kisi user #\(first)"))
            #expect(page.body.contains("Link to Kisi user #\(second)"))
            #expect(page.body.contains("href=\"/admin/members/\(gym.member.id)\""))
            let csrf = try #require(page.csrf)

            // An ID Kisi does not list with Ana's e-mail is not on offer.
            let unknown = try await owner.post("/admin/kisi/adoption/\(review.id)", ["csrf": csrf, "decision": "link", "user_id": "999999"])
            #expect(unknown.status == .notFound)
            #expect(try await owner.post("/admin/kisi/adoption/\(UUID())", ["csrf": csrf, "decision": "link", "user_id": "\(second)"]).status == .notFound)
            #expect(try await gym.repository.kisiLinks().users[gym.member.id] == nil)

            let before = try await gym.lastChangeID()
            let decided = try await owner.post("/admin/kisi/adoption/\(review.id)", ["csrf": csrf, "decision": "link", "user_id": "\(second)"])
            #expect(decided.status == .seeOther)
            #expect(try await owner.get(try #require(decided.location)).body.contains("Decision saved"))
            #expect(try await gym.repository.kisiLinks().users[gym.member.id] == second)
            let journal = try await gym.repository.kisiWrites(KisiWriteFilter(memberID: gym.member.id, action: GymRepository.staffLinkUserAction)).items
            #expect(journal.count == 1)
            #expect(journal.first?.actor == "staff:\(AdminBrowser.ownerEmail)")
            #expect(journal.first?.kisiObjectID == second)
            #expect(journal.first?.status == .succeeded)
            let changes = try await gym.repository.accessChanges(after: before)
            #expect(changes.map(\.memberID) == [gym.member.id], "the decision asks the sync to re-plan Ana")
            // The decision itself leaves the review to the sync, which closes it once the ambiguity is gone.
            #expect(try await gym.repository.heldReview(id: review.id)?.resolvedAt == nil)

            let report = try await gym.syncChanges(after: before)
            #expect(report.failures.isEmpty)
            #expect(try await gym.repository.heldReview(id: review.id)?.resolvedAt != nil)
            #expect(try await gym.assignments(userID: second).count == 1, "the chosen user holds Ana's door access")
            #expect(try await gym.assignments(userID: first).isEmpty)
            #expect(try await gym.engine.client.user(id: second).metadata[memberIDMetadataKey] == .string(gym.member.id.uuidString))
            let after = try await owner.get("/admin/kisi/adoption")
            #expect(!after.body.contains("id=\"review-\(review.id)\""))
            #expect(after.body.contains("data-member-id=\"\(gym.member.id)\""), "Ana's user is listed as adopted, not created")
        }
    }

    @Test("A decision on a review that is already resolved changes nothing")
    func decisionOnResolvedReviewChangesNothing() async throws {
        try await KisiAdminGym.run(mode: .managed) { gym in
            let (first, second, review) = try await gym.duplicateEmailReview()
            let owner = try await gym.browser(AdminBrowser.ownerEmail)
            let stalePage = try await owner.get("/admin/kisi/adoption")
            let csrf = try #require(stalePage.csrf)
            let before = try await gym.lastChangeID()
            #expect(try await owner.post("/admin/kisi/adoption/\(review.id)", ["csrf": csrf, "decision": "link", "user_id": "\(second)"]).status == .seeOther)
            _ = try await gym.syncChanges(after: before)
            #expect(try await gym.repository.heldReview(id: review.id)?.resolvedAt != nil)

            // The other button of the page shown before, pressed late.
            let writes = try await gym.repository.kisiWrites(KisiWriteFilter()).total
            let lastChange = try await gym.lastChangeID()
            let late = try await owner.post("/admin/kisi/adoption/\(review.id)", ["csrf": csrf, "decision": "link", "user_id": "\(first)"])
            #expect(late.status == .conflict)
            #expect(late.body.contains("Already decided"))
            #expect(late.body.contains("Nothing was changed"))
            #expect(try await gym.repository.kisiLinks().users[gym.member.id] == second)
            #expect(try await gym.repository.kisiWrites(KisiWriteFilter()).total == writes)
            #expect(try await gym.lastChangeID() == lastChange)
        }
    }

    @Test("Front desk may not open the Kisi users page nor decide a review")
    func frontDeskIsRefused() async throws {
        try await withAdminServer { browser in
            try await browser.signIn(AdminBrowser.deskEmail)
            let dashboard = try await browser.get("/admin")
            #expect(!dashboard.body.contains("href=\"/admin/kisi/adoption\""))
            #expect(try await browser.get("/admin/kisi/adoption").status == .forbidden)
            let decision = try await browser.post("/admin/kisi/adoption/\(UUID())", ["csrf": try #require(dashboard.csrf), "decision": "unlink"])
            #expect(decision.status == .forbidden)
        }
    }
}
