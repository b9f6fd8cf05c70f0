import AsyncHTTPClient
import Foundation
import KisiAPI
import KisiSandbox
import Logging
import NIOCore
import Testing

// Real-socket tests: every test starts its own KisiSandbox on a free port and talks to it through a
// KisiClient with the default AsyncHTTPClient transport (real connections, real clock, real pacing).
// Every test uses a fresh API key, because the client's per-key rate limiter is process-wide.

// MARK: - Harness

/// A sandbox running on a free port, plus helpers to build clients and read `/_sandbox/stats`.
struct LiveSandbox: Sendable {
    let sandbox: KisiSandbox
    let port: Int
    /// The demo owner's API key in this sandbox.
    let key: String

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    func client(
        key: String? = nil,
        requestsPerSecond: Int = 5,
        retryPolicy: KisiRetryPolicy = .default,
        requestDeadline: Duration = .seconds(10)
    ) -> KisiClient {
        KisiClient(
            configuration: .init(
                apiKey: KisiAPIKey(key ?? self.key),
                baseURL: baseURL,
                integrationIdentifier: "BooGYMan-tests",
                requestDeadline: requestDeadline,
                requestsPerSecond: requestsPerSecond,
                retryPolicy: retryPolicy,
                logger: quietLogger
            )
        )
    }

    /// `GET /_sandbox/stats`.
    func stats() async throws -> SandboxStats {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/_sandbox/stats")
        request.headers.add(name: "X-Sandbox-Admin-Key", value: "sandbox-admin")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 32 << 20)
        #expect(response.status.code == 200)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
        return try SandboxStats(object)
    }
}

/// The parts of `GET /_sandbox/stats` the tests look at.
struct SandboxStats: Sendable {
    struct Key: Sendable {
        var accepted: Int
        var rejected: Int
        var maxPerSecond: Int
        /// Unix seconds of every accepted request.
        var acceptedAt: [Double]
    }

    var total: Int
    var byStatus: [Int: Int]
    var keys: [String: Key]

    init(_ json: [String: Any]) throws {
        let requests = try #require(json["requests"] as? [String: Any])
        total = try #require(requests["total"] as? Int)
        var byStatus: [Int: Int] = [:]
        for (status, count) in (requests["by_status"] as? [String: Any]) ?? [:] {
            byStatus[Int(status) ?? -1] = count as? Int ?? 0
        }
        self.byStatus = byStatus
        var keys: [String: Key] = [:]
        for (secret, value) in (json["keys"] as? [String: Any]) ?? [:] {
            let entry = try #require(value as? [String: Any])
            keys[secret] = Key(
                accepted: try #require(entry["accepted"] as? Int),
                rejected: try #require(entry["rejected"] as? Int),
                maxPerSecond: try #require(entry["max_per_second"] as? Int),
                acceptedAt: ((entry["accepted_at"] as? [Any]) ?? []).compactMap { ($0 as? Double) ?? ($0 as? Int).map(Double.init) }
            )
        }
        self.keys = keys
    }

    func key(_ secret: String) -> Key { keys[secret] ?? Key(accepted: 0, rejected: 0, maxPerSecond: 0, acceptedAt: []) }
}

/// The largest number of timestamps inside any half-open one-second window `[t, t + 1)`.
func maxInAnySecond(_ timestamps: [Double]) -> Int {
    let sorted = timestamps.sorted()
    var best = 0
    var start = 0
    for end in sorted.indices {
        while sorted[end] - sorted[start] >= 1.0 { start += 1 }
        best = max(best, end - start + 1)
    }
    return best
}

let quietLogger = Logger(label: "kisi-live-test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Starts a sandbox (demo seed with a fresh owner key unless `seed` is given) and runs `body` against it.
func withLiveSandbox<T: Sendable>(
    key: String = uniqueKey(),
    seed: SandboxSeed? = nil,
    requestsPerSecond: Int = 5,
    _ body: @Sendable (LiveSandbox) async throws -> T
) async throws -> T {
    let sandbox = try KisiSandbox(configuration: SandboxConfiguration(
        seed: seed ?? SandboxSeed.demoSeed(apiKey: key),
        requestsPerSecond: requestsPerSecond,
        logger: quietLogger
    ))
    return try await sandbox.withRunningServer { port in
        try await body(LiveSandbox(sandbox: sandbox, port: port, key: key))
    }
}

/// Retries fast, so fault tests take well under a second of backoff.
let shortRetries = KisiRetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(50), maxBackoff: .milliseconds(100))

/// Asserts that `body` throws a KisiError and returns it.
func kisiError<T: Sendable>(_ body: () async throws -> T) async -> KisiError? {
    do {
        let value = try await body()
        Issue.record("expected a KisiError, got \(value)")
        return nil
    } catch let error as KisiError {
        return error
    } catch {
        Issue.record("expected a KisiError, got \(type(of: error)): \(error)")
        return nil
    }
}

func elapsedSeconds(since start: ContinuousClock.Instant) -> Double {
    let (s, atto) = (ContinuousClock.now - start).components
    return Double(s) + Double(atto) / 1e18
}

// MARK: - Operations end to end

@Suite("Kisi client against a live sandbox: every operation end to end")
struct LiveOperationTests {
    /// End-to-end tests make many calls: the sandbox's limit is lifted and the client paces at 1000/s.
    func fastClient(_ live: LiveSandbox) -> KisiClient { live.client(requestsPerSecond: 1000) }

    @Test("The organization, the current user and the current login describe the demo owner's key")
    func organizationUserLogin() async throws {
        try await withLiveSandbox(requestsPerSecond: 0) { live in
            let client = fastClient(live)

            let organization = try await client.organization()
            #expect(organization.id == 1)
            #expect(organization.name == "BooGYMan Demo Gym")
            #expect(organization.domain == "boogyman-demo")
            #expect(organization.timeZone == "Europe/Bucharest")
            #expect(organization.placesCount == 3)
            #expect(organization.ownerUserID == 1)

            let user = try await client.currentUser()
            #expect(user.id == 1)
            #expect(user.name == "Gym Owner")
            #expect(user.email == "owner@boogyman.example")
            #expect(user.organizationID == 1)

            let login = try await client.currentLogin()
            #expect(login.type == "api")
            #expect(login.userID == 1)
            #expect(login.userEmail == "owner@boogyman.example")
        }
    }

    @Test("Users are created, fetched, found by exact e-mail, patched and deleted")
    func usersLifecycle() async throws {
        try await withLiveSandbox(requestsPerSecond: 0) { live in
            let client = fastClient(live)

            let created = try await client.createUser(KisiUserCreate(
                email: "Zoe.Member@Example.com", name: "Zoe Member", sendEmails: false, confirm: true,
                notes: "Joined at the desk", metadata: ["member_id": .string("m-42"), "visits": .int(3)]
            ))
            #expect(created.email == "zoe.member@example.com")
            #expect(created.name == "Zoe Member")
            #expect(created.accessEnabled)
            #expect(created.confirmed == true)
            #expect(created.metadata == ["member_id": .string("m-42"), "visits": .int(3)])
            #expect(created.organizationID == 1)

            let fetched = try await client.user(id: created.id)
            #expect(fetched == created)

            let byEmail = try await client.users(filter: KisiUserFilter(email: "ZOE.member@example.com"))
            #expect(byEmail.items.map(\.id) == [created.id])
            #expect(byEmail.total == 1)
            #expect(try await client.user(email: "zoe.member@example.com")?.id == created.id)
            #expect(try await client.user(email: "nobody@example.com") == nil)

            let everyone = try await client.users()
            #expect(everyone.total == 6)
            #expect(everyone.items.map(\.id).prefix(5) == [1, 2, 3, 4, 5])

            try await client.updateUser(id: created.id, KisiUserPatch(name: "Zoe M.", accessEnabled: false, notes: "Suspended"))
            let patched = try await client.user(id: created.id)
            #expect(patched.name == "Zoe M.")
            #expect(patched.accessEnabled == false)
            #expect(patched.notes == "Suspended")
            #expect(patched.email == "zoe.member@example.com")
            #expect(patched.metadata == ["member_id": .string("m-42"), "visits": .int(3)])

            #expect(try await client.deleteUser(id: created.id) == .deleted)
            let gone = await kisiError { try await client.user(id: created.id) }
            #expect(gone == .notFound(code: "000404", message: "User not found."))
            #expect(try await client.user(email: "zoe.member@example.com") == nil)
        }
    }

    @Test("Groups are created organization-scoped and place-scoped, listed by scope, patched and deleted")
    func groupsLifecycle() async throws {
        try await withLiveSandbox(requestsPerSecond: 0) { live in
            let client = fastClient(live)

            let orgGroup = try await client.createGroup(KisiGroupCreate(name: "Members", description: "All members"))
            #expect(orgGroup.isOrganizationScoped)
            #expect(orgGroup.name == "Members")
            #expect(orgGroup.description == "All members")

            let placeGroup = try await client.createGroup(KisiGroupCreate(name: "Old Town members", placeID: 1001))
            #expect(placeGroup.placeID == 1001)
            #expect(placeGroup.placeName == "Old Town")
            #expect(!placeGroup.isOrganizationScoped)

            #expect(try await client.group(id: orgGroup.id).name == "Members")
            #expect(try await client.group(id: 2003).placeID == 1003)

            let all = try await client.groups()
            #expect(all.items.map(\.id) == [2001, 2002, 2003, orgGroup.id, placeGroup.id])
            #expect(all.total == 5)
            let placeScoped = try await client.groups(filter: KisiGroupFilter(scope: .place))
            #expect(placeScoped.items.map(\.id) == [2003, placeGroup.id])
            let organizationScoped = try await client.groups(filter: KisiGroupFilter(scope: .organization))
            #expect(organizationScoped.items.map(\.id) == [2001, 2002, orgGroup.id])
            let inOldTown = try await client.groups(filter: KisiGroupFilter(placeID: 1001))
            #expect(inOldTown.items.map(\.id).contains(placeGroup.id))

            try await client.updateGroup(id: orgGroup.id, KisiGroupPatch(name: "Members (all clubs)", description: "Every member"))
            let patched = try await client.group(id: orgGroup.id)
            #expect(patched.name == "Members (all clubs)")
            #expect(patched.description == "Every member")
            #expect(patched.isOrganizationScoped)

            #expect(try await client.deleteGroup(id: orgGroup.id) == .deleted)
            #expect(try await client.deleteGroup(id: placeGroup.id) == .deleted)
            #expect(try await client.groups().items.map(\.id) == [2001, 2002, 2003])
        }
    }

    @Test("Doors are added to a group, listed and removed")
    func groupLocks() async throws {
        try await withLiveSandbox(requestsPerSecond: 0) { live in
            let client = fastClient(live)
            let group = try await client.createGroup(KisiGroupCreate(name: "Old Town members", placeID: 1001))

            let entrance = try await client.createGroupLock(groupID: group.id, lockID: 5001)
            let studio = try await client.createGroupLock(groupID: group.id, lockID: 5003)
            #expect(entrance.groupID == group.id)
            #expect(entrance.lockID == 5001)

            let page = try await client.groupLocks(groupID: group.id)
            #expect(page.items.map(\.lockID) == [5001, 5003])
            #expect(page.total == 2)
            #expect(try await client.allGroupLocks(groupID: 2001).collect().count == 12)
            #expect(try await client.group(id: group.id).locksCount == 2)

            #expect(try await client.deleteGroupLock(id: studio.id) == .deleted)
            #expect(try await client.groupLocks(groupID: group.id).items.map(\.id) == [entrance.id])
        }
    }

    @Test("Role assignments are created in the current and legacy shapes, filtered, fetched, patched and deleted")
    func roleAssignments() async throws {
        try await withLiveSandbox(requestsPerSecond: 0) { live in
            let client = fastClient(live)

            // Elena (4) gets Staff door access in the current shape; CleanCo (5) in the legacy shape.
            let current = try await client.createRoleAssignment(.groupAccess(userID: 4, groupID: 2001))
            #expect(current.roleID == "group_basic")
            #expect(current.assignee == .user(id: 4))
            #expect(current.appliesTo == .group(id: 2001))
            let legacy = try await client.createRoleAssignment(.legacy(userID: 5, groupID: 2001, roleID: "group_basic"))
            #expect(legacy.assignee == .user(id: 5))
            #expect(legacy.appliesTo == .group(id: 2001))

            let inStaff = try await client.roleAssignments(filter: KisiRoleAssignmentFilter(appliesTo: .group(id: 2001)))
            #expect(inStaff.items.map(\.id) == [3001, 3002, current.id, legacy.id])
            #expect(inStaff.total == 4)
            let ofElena = try await client.roleAssignments(filter: KisiRoleAssignmentFilter(assignee: .user(id: 4)))
            #expect(ofElena.items.map(\.id) == [3003, current.id])
            let elenaInStaff = try await client.roleAssignments(
                filter: KisiRoleAssignmentFilter(assignee: .user(id: 4), appliesTo: .group(id: 2001))
            )
            #expect(elenaInStaff.items.map(\.id) == [current.id])
            let legacyByUser = try await client.roleAssignments(filter: KisiRoleAssignmentFilter(legacyUserID: 5))
            #expect(legacyByUser.items.map(\.id) == [3004, legacy.id])
            let legacyByGroup = try await client.roleAssignments(filter: KisiRoleAssignmentFilter(legacyGroupID: 2001))
            #expect(legacyByGroup.items.map(\.id) == [3001, 3002, current.id, legacy.id])

            let fetched = try await client.roleAssignment(id: current.id)
            #expect(fetched.assignee == .user(id: 4))
            #expect(fetched.validFrom == nil)
            #expect(fetched.validUntil == nil)

            let from = Date(timeIntervalSince1970: 1_800_000_000)
            let until = Date(timeIntervalSince1970: 1_900_000_000)
            try await client.updateRoleAssignment(id: current.id, KisiRoleAssignmentPatch(validFrom: from, validUntil: until))
            let patched = try await client.roleAssignment(id: current.id)
            #expect(patched.validFrom == from)
            #expect(patched.validUntil == until)
            #expect(patched.roleID == "group_basic")

            #expect(try await client.deleteRoleAssignment(id: current.id) == .deleted)
            let gone = await kisiError { try await client.roleAssignment(id: current.id) }
            #expect(gone == .notFound(code: "000404", message: "RoleAssignment not found."))
            #expect(try await client.allRoleAssignments(filter: .init(appliesTo: .group(id: 2001))).collect().map(\.id) == [3001, 3002, legacy.id])
        }
    }

    @Test("Roles, places and locks are listed and fetched, and the owner's key unlocks a door")
    func rolesPlacesLocksUnlock() async throws {
        try await withLiveSandbox(requestsPerSecond: 0) { live in
            let client = fastClient(live)

            let roles = try await client.roles()
            #expect(Set(roles.map(\.id)) == ["owner", "administrator", "access_manager", "observer", "place_administrator", "group_basic", "group_manager"])
            #expect(roles.first { $0.id == "group_basic" }?.appliesTo == "Group")

            let places = try await client.places()
            #expect(places.items.map(\.id) == [1001, 1002, 1003])
            #expect(places.items.map(\.name) == ["Old Town", "Floreasca", "Cluj Centru"])
            #expect(places.total == 3)
            let floreasca = try await client.place(id: 1002)
            #expect(floreasca.name == "Floreasca")
            #expect(floreasca.address == "Calea Floreasca 100, București")

            let cluj = try await client.locks(filter: KisiLockFilter(placeID: 1003))
            #expect(cluj.items.map(\.id) == [5021, 5022, 5023, 5024])
            #expect(cluj.items.allSatisfy { $0.placeID == 1003 })
            #expect(try await client.allLocks().collect().count == 12)
            let pool = try await client.lock(id: 5012)
            #expect(pool.name == "Pool")
            #expect(pool.placeID == 1002)
            #expect(pool.online == true)

            #expect(try await client.unlock(lockID: 5001) == "Unlocked!")
            let unknown = await kisiError { try await client.unlock(lockID: 9999) }
            #expect(unknown == .notFound(code: "fad10e", message: "The door could not be found."))
        }
    }

    @Test("A group invite creates the user and the group role assignment in one call")
    func groupInvite() async throws {
        try await withLiveSandbox(requestsPerSecond: 0) { live in
            let client = fastClient(live)
            #expect(try await client.user(email: "new.member@example.com") == nil)

            let invite = try await client.createInvite(.group(
                id: 2001, invitee: .user(email: "new.member@example.com", name: "New Member"),
                validUntil: Date(timeIntervalSince1970: 1_900_000_000), notify: false
            ))
            #expect(invite.target == .group(id: 2001))
            #expect(invite.inviteeType == "User")
            #expect(invite.inviteeEmail == "new.member@example.com")
            #expect(invite.roleID == "group_basic")
            #expect(invite.validUntil == Date(timeIntervalSince1970: 1_900_000_000))

            let user = try #require(try await client.user(email: "new.member@example.com"))
            #expect(user.id == invite.inviteeID)
            #expect(user.name == "New Member")
            let assignment = try await client.roleAssignment(id: try #require(invite.roleAssignmentID))
            #expect(assignment.assignee == .user(id: user.id))
            #expect(assignment.appliesTo == .group(id: 2001))
            #expect(assignment.roleID == "group_basic")
            #expect(assignment.validUntil == Date(timeIntervalSince1970: 1_900_000_000))
        }
    }

    @Test("An event set is created and its events are paged with the cursor, newest first")
    func eventSets() async throws {
        try await withLiveSandbox(requestsPerSecond: 0) { live in
            let client = fastClient(live)
            for lock in [5001, 5002, 5003] { try await client.unlock(lockID: lock) }

            let query = KisiEventQuery(from: Date().addingTimeInterval(-3600), to: Date().addingTimeInterval(3600), eventTypes: ["lock.unlock"])
            let first = try await client.createEventSet(query)
            #expect(first.status == .finished)
            #expect(first.events.map(\.objectID) == [5003, 5002, 5001])
            #expect(first.events.allSatisfy { $0.type == "lock.unlock" && $0.success == true })
            #expect(first.cursor == nil)

            let page1 = try await client.eventSet(id: first.eventSetID, limit: 2)
            #expect(page1.events.map(\.objectID) == [5003, 5002])
            let cursor = try #require(page1.cursor)
            let page2 = try await client.eventSet(id: first.eventSetID, cursor: cursor, limit: 2)
            #expect(page2.events.map(\.objectID) == [5001])
            #expect(page2.cursor == nil)
        }
    }

    @Test("allEvents follows the cursor past Kisi's first page of 50 and yields every event once")
    func allEventsAcrossPages() async throws {
        try await withLiveSandbox(requestsPerSecond: 0) { live in
            let client = fastClient(live)
            for _ in 0..<60 { try await client.unlock(lockID: 5001) }
            try await client.unlock(lockID: 5002)

            let query = KisiEventQuery(from: Date().addingTimeInterval(-3600), to: Date().addingTimeInterval(3600), eventTypes: ["lock.unlock"])
            let events = try await client.allEvents(query).collect()
            #expect(events.count == 61)
            #expect(Set(events.map(\.uuid)).count == 61)
            #expect(events.filter { $0.objectID == 5002 }.count == 1)
            // One set, its first page, and one more page of up to 250.
            #expect(try await live.stats().byStatus[200] == 61 + 2)
        }
    }

    @Test("Event webhook integrations are listed, created and deleted")
    func integrations() async throws {
        try await withLiveSandbox(requestsPerSecond: 0) { live in
            let client = fastClient(live)
            let empty = try await client.integrations()
            #expect(empty.items.isEmpty)
            #expect(empty.total == 0)

            let hook = try await client.createEventWebhook(KisiEventWebhookCreate(
                name: "BooGYMan door events", url: "http://127.0.0.1:9/kisi", enabledEvents: ["lock.unlock"], signatureKey: "s3cret"
            ))
            #expect(hook.type == "event_webhook")
            #expect(hook.name == "BooGYMan door events")
            #expect(hook.url == "http://127.0.0.1:9/kisi")
            #expect(hook.enabledEvents == ["lock.unlock"])
            #expect(hook.enabled == true)

            let listed = try await client.allIntegrations().collect()
            #expect(listed.map(\.id) == [hook.id])
            #expect(listed.map(\.type) == ["event_webhook"])

            #expect(try await client.deleteIntegration(id: hook.id) == .deleted)
            #expect(try await client.integrations().total == 0)
        }
    }
}

// MARK: - Pagination

@Suite("Kisi client against a live sandbox: pagination")
struct LivePaginationTests {
    @Test("allUsers reads 455 users in five pages of 100, each user exactly once")
    func manyPages() async throws {
        let key = uniqueKey()
        var seed = SandboxSeed.demoSeed(apiKey: key)
        for n in 1...450 {
            seed.organizations[0].users.append(.init(name: "Member \(n)", email: "member\(n)@boogyman.example"))
        }
        try await withLiveSandbox(key: key, seed: seed) { live in
            let client = live.client()

            var pageSizes: [Int] = []
            var totals: [Int?] = []
            for try await page in client.allUsers().pages {
                pageSizes.append(page.items.count)
                totals.append(page.total)
            }
            #expect(pageSizes == [100, 100, 100, 100, 55])
            #expect(totals == Array(repeating: 455, count: 5))

            let users = try await client.allUsers().collect()
            #expect(users.count == 455)
            #expect(Set(users.map(\.id)).count == 455)
            let emails = Set(users.map(\.email))
            #expect(emails.count == 455)
            #expect((1...450).allSatisfy { emails.contains("member\($0)@boogyman.example") })
            #expect(emails.contains("owner@boogyman.example"))
        }
    }

    @Test("An empty result answered with */0 is one request and no items")
    func emptyList() async throws {
        try await withLiveSandbox { live in
            let client = live.client()

            let page = try await client.users(filter: KisiUserFilter(email: "nobody@boogyman.example"))
            #expect(page.items.isEmpty)
            #expect(page.total == 0)
            #expect(!page.hasMore)
            let all = try await client.allUsers(filter: KisiUserFilter(query: "no-such-member")).collect()
            #expect(all.isEmpty)
            #expect(try await client.allIntegrations().collect().isEmpty)

            let stats = try await live.stats()
            #expect(stats.total == 3)
            #expect(stats.byStatus == [200: 3])
        }
    }
}

// MARK: - Rate limit

@Suite("Kisi client against a live sandbox: the 5 requests/second limit")
struct LiveRateLimitTests {
    @Test("Two clients sharing one key, firing concurrently, are never rejected by the sandbox's limiter")
    func sameKeyConcurrently() async throws {
        try await withLiveSandbox { live in
            let first = live.client()
            let second = live.client()
            let start = ContinuousClock.now

            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in [first, second] {
                    group.addTask {
                        for i in 0..<8 {
                            if i.isMultiple(of: 2) { _ = try await client.lock(id: 5001) } else { _ = try await client.users(limit: 5) }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let elapsed = elapsedSeconds(since: start)

            let stats = try await live.stats()
            let key = stats.key(live.key)
            #expect(key.accepted == 16)
            #expect(key.rejected == 0)
            #expect(key.maxPerSecond <= 5)
            #expect(maxInAnySecond(key.acceptedAt) <= 5)
            #expect(stats.byStatus == [200: 16])
            // 16 requests at 5 per (1 s + margin) need at least three full windows.
            #expect(elapsed >= 3.0)
        }
    }

    @Test("Two keys of the same user are paced separately, so the sandbox rejects some requests, and every call still succeeds")
    func twoKeysOfOneUser() async throws {
        let ownerKey = uniqueKey()
        let secondKey = uniqueKey()
        var seed = SandboxSeed.demoSeed(apiKey: ownerKey)
        seed.organizations[0].users[0].apiKeys = [ownerKey, secondKey]
        try await withLiveSandbox(key: ownerKey, seed: seed) { live in
            let clients = [live.client(key: ownerKey), live.client(key: secondKey)]

            let results = try await withThrowingTaskGroup(of: [Int].self) { group in
                for client in clients {
                    group.addTask {
                        var ids: [Int] = []
                        for _ in 0..<6 { ids.append(try await client.organization().id) }
                        return ids
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(results == Array(repeating: 1, count: 12))

            // The quota is per user but the client paces per key: both keys start with a full window, so
            // up to 10 sends reach the sandbox in the first second and the excess is answered 429.
            let stats = try await live.stats()
            let owner = stats.key(ownerKey)
            let second = stats.key(secondKey)
            #expect(owner.accepted + second.accepted == 12)
            #expect(owner.rejected + second.rejected > 0)
            #expect(maxInAnySecond(owner.acceptedAt + second.acceptedAt) <= 5)
            #expect(stats.byStatus[429] == owner.rejected + second.rejected)
        }
    }

    @Test("Injected 429s with Retry-After: 1 are waited out and the call then succeeds")
    func injectedBurst() async throws {
        try await withLiveSandbox { live in
            await live.sandbox.setFaults(FaultSettings(rateLimitBurst: 3))
            let client = live.client()
            let start = ContinuousClock.now

            let organization = try await client.organization()

            let elapsed = elapsedSeconds(since: start)
            #expect(organization.name == "BooGYMan Demo Gym")
            #expect(elapsed >= 3.0)
            // Three waits of one second each; the bound only rules out waits far longer than asked
            // (a default backoff), with room for a machine busy with the whole suite starting at once.
            #expect(elapsed < 20.0)
            let stats = try await live.stats()
            #expect(stats.byStatus == [429: 3, 200: 1])
            #expect(stats.key(live.key).rejected == 0)
        }
    }
}

// MARK: - Faults

@Suite("Kisi client against a live sandbox: faults and errors")
struct LiveFaultTests {
    @Test("A GET answered 503 every time is retried, then fails with the server error and Kisi's code")
    func persistentServerError() async throws {
        try await withLiveSandbox { live in
            await live.sandbox.setFaults(FaultSettings(errorRate: 1.0))
            let client = live.client(retryPolicy: shortRetries)

            let failure = await kisiError { try await client.users() }

            #expect(failure == .server(status: 503, code: "ffffff", message: "An unexpected issue occured."))
            let stats = try await live.stats()
            #expect(stats.byStatus == [503: 3])
        }
    }

    @Test("A GET that meets 503s succeeds once the fault is cleared while it is retrying")
    func serverErrorThenCleared() async throws {
        try await withLiveSandbox { live in
            await live.sandbox.setFaults(FaultSettings(errorRate: 1.0))
            let policy = KisiRetryPolicy(maxAttempts: 8, initialBackoff: .milliseconds(250), maxBackoff: .milliseconds(250))
            let client = live.client(retryPolicy: policy)

            async let organization = client.organization()
            // Clear the fault as soon as the first 503 has been answered.
            while try await live.stats().byStatus[503, default: 0] == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            await live.sandbox.setFaults(FaultSettings())

            #expect(try await organization.id == 1)
            let stats = try await live.stats()
            #expect(stats.byStatus[200] == 1)
            #expect(stats.byStatus[503, default: 0] >= 1)
            #expect(stats.byStatus[503, default: 0] < 8)
        }
    }

    @Test("Latency above the request deadline fails with a transport timeout")
    func latencyAboveDeadline() async throws {
        try await withLiveSandbox { live in
            await live.sandbox.setFaults(FaultSettings(latencyMs: 15_000))
            let client = live.client(retryPolicy: KisiRetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(50)), requestDeadline: .milliseconds(300))
            let start = ContinuousClock.now

            let failure = await kisiError { try await client.organization() }

            let elapsed = elapsedSeconds(since: start)
            guard case .transport(let description) = failure else {
                Issue.record("expected .transport, got \(String(describing: failure))")
                return
            }
            #expect(description.contains("deadlineExceeded"))
            // Two attempts of 300 ms plus one short backoff. Had either attempt waited out the injected
            // 15 s, the two would take at least 15 s; the wide margin absorbs a machine busy with the
            // whole suite starting at once.
            #expect(elapsed >= 0.6)
            #expect(elapsed < 12.0)
        }
    }

    @Test("A GET whose connection is always dropped fails with a transport error after its retries")
    func droppedConnections() async throws {
        try await withLiveSandbox { live in
            await live.sandbox.setFaults(FaultSettings(dropRate: 1.0))
            let client = live.client(retryPolicy: shortRetries)

            let failure = await kisiError { try await client.lock(id: 5001) }

            guard case .transport = failure else {
                Issue.record("expected .transport, got \(String(describing: failure))")
                return
            }
            // Dropped requests are never answered, so the sandbox counts none, but the limiter admitted all three.
            let stats = try await live.stats()
            #expect(stats.total == 0)
            #expect(stats.key(live.key).accepted == 3)
        }
    }

    @Test("A createUser whose response is lost is outcomeUnknown, and the user exists so a look-up finds it")
    func lostResponseOnCreate() async throws {
        try await withLiveSandbox { live in
            await live.sandbox.setFaults(FaultSettings(lostResponseRate: 1.0))
            let client = live.client(retryPolicy: shortRetries)

            let failure = await kisiError {
                try await client.createUser(KisiUserCreate(email: "lost@boogyman.example", name: "Lost Response", sendEmails: false, confirm: true))
            }

            guard case .outcomeUnknown(let operation, _) = failure else {
                Issue.record("expected .outcomeUnknown, got \(String(describing: failure))")
                return
            }
            #expect(operation == "createUser")
            // Not retried: exactly one POST reached the sandbox.
            #expect(try await live.stats().key(live.key).accepted == 1)

            await live.sandbox.setFaults(FaultSettings())
            let found = try #require(try await client.user(email: "lost@boogyman.example"))
            #expect(found.name == "Lost Response")
            #expect(try await client.allUsers().collect().count == 6)
        }
    }

    @Test("A key whose user was deleted is unauthorized, and so is a key absent from a newly loaded seed")
    func revokedKey() async throws {
        let ownerKey = uniqueKey()
        let adminKey = uniqueKey()
        var seed = SandboxSeed.demoSeed(apiKey: ownerKey)
        seed.organizations[0].users.append(.init(
            id: 6, name: "Desk Admin", email: "admin@boogyman.example", organizationRole: "administrator", apiKeys: [adminKey]
        ))
        try await withLiveSandbox(key: ownerKey, seed: seed) { live in
            let owner = live.client()
            let admin = live.client(key: adminKey)
            #expect(try await admin.currentUser().email == "admin@boogyman.example")

            #expect(try await owner.deleteUser(id: 6) == .deleted)
            let revoked = await kisiError { try await admin.organization() }
            #expect(revoked == .unauthorized(code: "000401", message: "You need to sign in or sign up before continuing."))

            try await live.sandbox.load(seed: SandboxSeed.demoSeed(apiKey: uniqueKey()))
            let replaced = await kisiError { try await owner.organization() }
            #expect(replaced == .unauthorized(code: "000401", message: "You need to sign in or sign up before continuing."))
        }
    }

    @Test("Deleting an object that is already gone reports alreadyGone for users, groups, role assignments, group locks and integrations")
    func deleteTwice() async throws {
        try await withLiveSandbox(requestsPerSecond: 0) { live in
            let client = live.client(requestsPerSecond: 1000)
            let user = try await client.createUser(KisiUserCreate(email: "twice@boogyman.example"))
            let group = try await client.createGroup(KisiGroupCreate(name: "Twice"))
            let groupLock = try await client.createGroupLock(groupID: group.id, lockID: 5011)
            let assignment = try await client.createRoleAssignment(.groupAccess(userID: 2, groupID: group.id))
            let hook = try await client.createEventWebhook(KisiEventWebhookCreate(name: "Twice", url: "http://127.0.0.1:9/x"))

            #expect(try await client.deleteRoleAssignment(id: assignment.id) == .deleted)
            #expect(try await client.deleteRoleAssignment(id: assignment.id) == .alreadyGone)
            #expect(try await client.deleteGroupLock(id: groupLock.id) == .deleted)
            #expect(try await client.deleteGroupLock(id: groupLock.id) == .alreadyGone)
            #expect(try await client.deleteGroup(id: group.id) == .deleted)
            #expect(try await client.deleteGroup(id: group.id) == .alreadyGone)
            #expect(try await client.deleteUser(id: user.id) == .deleted)
            #expect(try await client.deleteUser(id: user.id) == .alreadyGone)
            #expect(try await client.deleteIntegration(id: hook.id) == .deleted)
            #expect(try await client.deleteIntegration(id: hook.id) == .alreadyGone)

            let stats = try await live.stats()
            #expect(stats.byStatus[204] == 5)
            #expect(stats.byStatus[404] == 5)
        }
    }

    @Test("Creating a user with an e-mail that is taken, in any case, fails validation on the email field")
    func duplicateEmail() async throws {
        try await withLiveSandbox { live in
            let client = live.client()

            let failure = await kisiError { try await client.createUser(KisiUserCreate(email: "ANA.Popescu@boogyman.example", name: "Ana again")) }

            #expect(failure == .validation(fields: ["email": ["has already been taken"]], code: nil))
            let users = try await client.allUsers().collect()
            #expect(users.count == 5)
        }
    }
}
