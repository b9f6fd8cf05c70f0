import Foundation
import Testing

@testable import KisiAPI

@Suite("Kisi client: pagination")
struct KisiPaginationTests {
    @Test("X-Collection-Range parses start-end/total and */total and rejects malformed values")
    func collectionRangeParsing() {
        #expect(KisiCollectionRange(header: "0-99/1234") == KisiCollectionRange(start: 0, end: 99, total: 1234))
        #expect(KisiCollectionRange(header: "10-19/15") == KisiCollectionRange(start: 10, end: 19, total: 15))
        #expect(KisiCollectionRange(header: "*/0") == KisiCollectionRange(start: nil, end: nil, total: 0))
        #expect(KisiCollectionRange(header: " */42 ")?.total == 42)
        #expect(KisiCollectionRange(header: "") == nil)
        #expect(KisiCollectionRange(header: "0-9") == nil)
        #expect(KisiCollectionRange(header: "a-b/c") == nil)
        #expect(KisiCollectionRange(header: "9-0/10") == nil)
        #expect(KisiCollectionRange(header: "0-9/-1") == nil)
    }

    @Test("allUsers pages with limit 100 and stops on total and item count, not on the range's end")
    func pagesUntilTotal() async throws {
        let clock = VirtualClock()
        // 250 users. Kisi's documented quirk: `end` is offset + limit - 1 even past the total.
        let transport = FakeTransport(clock: clock) { request, _ in
            let offset = Int(request.queryItems["offset"] ?? "0")!
            let limit = Int(request.queryItems["limit"] ?? "0")!
            let upper = min(offset + limit, 250)
            return .json(200, usersJSON(offset..<upper), headers: ["X-Collection-Range": "\(offset)-\(offset + limit - 1)/250"])
        }
        let client = makeClient(clock: clock, transport: transport)

        let users = try await client.allUsers().collect()

        #expect(users.count == 250)
        #expect(users.map(\.id) == Array(0..<250))
        #expect(transport.requests.map { $0.queryItems["offset"] } == ["0", "100", "200"])
        #expect(transport.requests.allSatisfy { $0.queryItems["limit"] == "100" })
    }

    @Test("Every list endpoint asks for its documented maximum page size")
    func pageSizesPerEndpoint() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.json(200, "[]", headers: ["X-Collection-Range": "*/0"])])
        let client = makeClient(clock: clock, transport: transport)

        _ = try await client.allUsers().collect()
        _ = try await client.allGroups().collect()
        _ = try await client.allGroupLocks(groupID: 3).collect()
        _ = try await client.allRoleAssignments().collect()
        _ = try await client.allPlaces().collect()
        _ = try await client.allLocks(filter: .init(placeID: 2)).collect()
        _ = try await client.allIntegrations().collect()

        let limits = transport.requests.map { "\($0.pathWithoutQuery)=\($0.queryItems["limit"] ?? "-")" }
        #expect(limits == [
            "/users=100", "/groups=250", "/group_locks=250", "/role_assignments=250", "/places=250", "/locks=250",
            "/integrations=250",
        ])
        #expect(transport.requests[2].queryItems["group_id"] == "3")
        #expect(transport.requests[5].queryItems["place_id"] == "2")
    }

    @Test("An empty list answered with */0 ends after one request")
    func emptyList() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.json(200, "[]", headers: ["X-Collection-Range": "*/0"])])
        let client = makeClient(clock: clock, transport: transport)

        let groups = try await client.allGroups().collect()

        #expect(groups.isEmpty)
        #expect(transport.requests.count == 1)
    }

    @Test("Without X-Collection-Range a short page ends the list")
    func shortPageWithoutHeader() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock) { request, _ in
            request.queryItems["offset"] == "0" ? .json(200, usersJSON(0..<100)) : .json(200, usersJSON(100..<130))
        }
        let client = makeClient(clock: clock, transport: transport)

        let users = try await client.allUsers().collect()

        #expect(users.count == 130)
        #expect(transport.requests.count == 2)
    }

    @Test("A list larger than the 20,000 offset ceiling fails with paginationCeiling before yielding anything")
    func ceilingUpFront() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock) { request, _ in
            let offset = Int(request.queryItems["offset"] ?? "0")!
            return .json(200, usersJSON(offset..<(offset + 100)), headers: ["X-Collection-Range": "\(offset)-\(offset + 99)/25000"])
        }
        let client = makeClient(clock: clock, transport: transport)

        var yielded = 0
        await #expect(throws: KisiError.paginationCeiling(operation: "fetchUsers", total: 25_000, reachable: 20_100)) {
            for try await _ in client.allUsers() { yielded += 1 }
        }
        #expect(yielded == 0)
        #expect(transport.requests.count == 1)
    }

    @Test("A list of exactly 20,100 users is read completely and never asks for an offset above 20,000")
    func ceilingExactlyReachable() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock) { request, _ in
            let offset = Int(request.queryItems["offset"] ?? "0")!
            return .json(
                200, minimalUsersJSON(offset..<min(offset + 100, 20_100)),
                headers: ["X-Collection-Range": "\(offset)-\(offset + 99)/20100"]
            )
        }
        let client = makeClient(clock: clock, transport: transport, requestsPerSecond: 1000)

        var count = 0
        for try await page in client.allUsers().pages { count += page.items.count }

        #expect(count == 20_100)
        #expect(transport.requests.compactMap { Int($0.queryItems["offset"] ?? "") }.max() == 20_000)
    }

    @Test("A list that grows past the ceiling while being read yields up to offset 20,000, then fails")
    func ceilingReachedWhileReading() async throws {
        let clock = VirtualClock()
        // The first page says 20,000; later pages carry no total and keep coming full.
        let transport = FakeTransport(clock: clock) { request, index in
            let offset = Int(request.queryItems["offset"] ?? "0")!
            let headers = index == 0 ? ["X-Collection-Range": "0-99/20000"] : [:]
            return .json(200, minimalUsersJSON(offset..<(offset + 100)), headers: headers)
        }
        let client = makeClient(clock: clock, transport: transport, requestsPerSecond: 1000)

        var count = 0
        await #expect(throws: KisiError.paginationCeiling(operation: "fetchUsers", total: 20_101, reachable: 20_100)) {
            for try await _ in client.allUsers() { count += 1 }
        }
        #expect(count == 20_100)
        #expect(transport.requests.compactMap { Int($0.queryItems["offset"] ?? "") }.max() == 20_000)
    }
}
