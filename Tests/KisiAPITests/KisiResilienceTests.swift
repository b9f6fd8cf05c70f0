import Foundation
import Testing

@testable import KisiAPI

@Suite("Kisi client: rate limits, retries and errors")
struct KisiResilienceTests {
    // MARK: 429

    @Test("A 429 with Retry-After in seconds waits that long, then the request succeeds")
    func retryAfterSeconds() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(
            clock: clock,
            script: [.json(429, #"{"error":"Too many requests","code":"ffffff"}"#, headers: ["Retry-After": "3"]), .json(200, userJSON(id: 1))]
        )
        let client = makeClient(clock: clock, transport: transport)

        let user = try await client.user(id: 1)

        #expect(user.id == 1)
        #expect(transport.requests.count == 2)
        let gap = transport.requests[1].sentAt - transport.requests[0].sentAt
        #expect(gap >= .seconds(3))
        #expect(gap < .seconds(4))
    }

    @Test("A 429 with Retry-After as an HTTP date waits until that date")
    func retryAfterHTTPDate() async throws {
        let clock = VirtualClock(wallOrigin: Date(timeIntervalSince1970: 1_700_000_000))  // 2023-11-14T22:13:20Z
        let transport = FakeTransport(
            clock: clock,
            script: [.empty(429, headers: ["Retry-After": "Tue, 14 Nov 2023 22:13:25 GMT"]), .json(200, userJSON(id: 1))]
        )
        let client = makeClient(clock: clock, transport: transport)

        _ = try await client.user(id: 1)

        let gap = transport.requests[1].sentAt - transport.requests[0].sentAt
        #expect(gap >= .seconds(5))
        #expect(gap < .seconds(6))
    }

    @Test("A 429 without Retry-After backs off for at least one second")
    func retryWithoutHeader() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.empty(429), .empty(429), .json(200, userJSON(id: 1))])
        let client = makeClient(clock: clock, transport: transport)

        _ = try await client.user(id: 1)

        #expect(transport.requests.count == 3)
        #expect(transport.requests[1].sentAt - transport.requests[0].sentAt >= .seconds(1))
        #expect(transport.requests[2].sentAt - transport.requests[1].sentAt >= .seconds(1))
    }

    @Test("A 429 also pauses other clients that use the same key")
    func rateLimitPausesSharedKey() async throws {
        let clock = VirtualClock()
        let key = uniqueKey()
        let transport = FakeTransport(clock: clock) { _, index in
            index == 0 ? .empty(429, headers: ["Retry-After": "10"]) : .json(200, userJSON(id: 1))
        }
        let first = makeClient(key: key, clock: clock, transport: transport)
        let second = makeClient(key: key, clock: clock, transport: transport)

        _ = try await first.user(id: 1)
        _ = try await second.user(id: 1)

        #expect(transport.requests.count == 3)
        #expect(transport.requests[2].sentAt >= .seconds(10))
    }

    @Test("A create answered with 429 is retried (the server did not apply it)")
    func createRetriedOn429() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.empty(429, headers: ["Retry-After": "1"]), .json(200, userJSON(id: 4))])
        let client = makeClient(clock: clock, transport: transport)

        let user = try await client.createUser(.init(email: "user4@example.com"))

        #expect(user.id == 4)
        #expect(transport.requests.count == 2)
    }

    @Test("Repeated 429s end in rateLimited with Kisi's code once the retry budget is spent")
    func rateLimitedAfterRetries() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(
            clock: clock, script: [.json(429, #"{"error":"slow down","code":"abc429"}"#, headers: ["Retry-After": "2"])]
        )
        let client = makeClient(clock: clock, transport: transport, retryPolicy: .init(maxRateLimitRetries: 2))

        await #expect(throws: KisiError.rateLimited(retryAfter: .seconds(2), code: "abc429")) {
            _ = try await client.user(id: 1)
        }
        #expect(transport.requests.count == 3)
    }

    @Test("A Retry-After longer than the policy allows fails at once")
    func retryAfterTooLong() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.empty(429, headers: ["Retry-After": "3600"])])
        let client = makeClient(clock: clock, transport: transport)

        await #expect(throws: KisiError.rateLimited(retryAfter: .seconds(3600), code: nil)) {
            _ = try await client.organization()
        }
        #expect(transport.requests.count == 1)
    }

    // MARK: 5xx, timeouts, connection errors

    @Test("A GET is retried on 503 and 500 with backoff and then succeeds")
    func getRetriedOn5xx() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(
            clock: clock, script: [.empty(503), .json(500, #"{"error":"oops","code":"ffffff"}"#), .json(200, userJSON(id: 1))]
        )
        let client = makeClient(clock: clock, transport: transport)

        let user = try await client.user(id: 1)

        #expect(user.id == 1)
        #expect(transport.requests.count == 3)
        #expect(transport.requests[1].sentAt - transport.requests[0].sentAt >= .milliseconds(250))
        #expect(transport.requests[2].sentAt - transport.requests[1].sentAt >= .milliseconds(500))
    }

    @Test("A GET gives up after maxAttempts and reports the server error with its code")
    func getGivesUp() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.json(503, #"{"error":"Controller unavailable","code":"fac001"}"#)])
        let client = makeClient(clock: clock, transport: transport, retryPolicy: .init(maxAttempts: 3))

        await #expect(throws: KisiError.server(status: 503, code: "fac001", message: "Controller unavailable")) {
            _ = try await client.lock(id: 1)
        }
        #expect(transport.requests.count == 3)
    }

    @Test("A GET is retried after a connection error; a persistent one becomes a transport error")
    func getRetriedOnConnectionError() async throws {
        let clock = VirtualClock()
        let flaky = FakeTransport(clock: clock, script: [.failure(FakeConnectionReset()), .json(200, userJSON(id: 1))])
        let broken = FakeTransport(clock: clock, script: [.failure(FakeConnectionReset())])

        _ = try await makeClient(clock: clock, transport: flaky).user(id: 1)
        await #expect(throws: KisiError.transport(description: "connection reset by peer")) {
            _ = try await makeClient(clock: clock, transport: broken).user(id: 1)
        }
        #expect(flaky.requests.count == 2)
        #expect(broken.requests.count == KisiRetryPolicy.default.maxAttempts)
    }

    @Test("A create is not retried after a connection error: the outcome is unknown")
    func createNotRetriedOnConnectionError() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.failure(FakeConnectionReset()), .json(200, userJSON(id: 1))])
        let client = makeClient(clock: clock, transport: transport)

        await #expect(throws: KisiError.outcomeUnknown(operation: "createRoleAssignment", cause: "connection reset by peer")) {
            _ = try await client.createRoleAssignment(.groupAccess(userID: 1, groupID: 2))
        }
        #expect(transport.requests.count == 1)
    }

    @Test("Every create operation and unlock report outcomeUnknown instead of retrying")
    func allCreatesAreNotRetried() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.failure(FakeConnectionReset())])
        let client = makeClient(clock: clock, transport: transport)

        let calls: [(String, @Sendable () async throws -> Void)] = [
            ("createUser", { _ = try await client.createUser(.init(email: "a@b.c")) }),
            ("createGroup", { _ = try await client.createGroup(.init(name: "g")) }),
            ("createGroupLock", { _ = try await client.createGroupLock(groupID: 1, lockID: 2) }),
            ("createRoleAssignment", { _ = try await client.createRoleAssignment(.legacy(userID: 1, groupID: 2, roleID: "group_basic")) }),
            ("createInvite", { _ = try await client.createInvite(.group(id: 1, invitee: .user(email: "a@b.c", name: "A"))) }),
            ("createIntegration", { _ = try await client.createEventWebhook(.init(name: "w", url: "https://x.example")) }),
            ("createEventSet", { _ = try await client.createEventSet(.init(interval: "P1D/2024-01-02T00:00:00Z")) }),
            ("unlockLock", { _ = try await client.unlock(lockID: 3) }),
        ]
        for (operation, call) in calls {
            let before = transport.requests.count
            await #expect(throws: KisiError.outcomeUnknown(operation: operation, cause: "connection reset by peer")) {
                try await call()
            }
            #expect(transport.requests.count == before + 1, "\(operation) must be sent exactly once")
        }
    }

    @Test("A create answered by a 502/503/504 without a Kisi error body is outcomeUnknown and not retried")
    func createGatewayErrorIsUnknown() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.empty(504)])
        let client = makeClient(clock: clock, transport: transport)

        await #expect(throws: KisiError.outcomeUnknown(operation: "createUser", cause: "HTTP 504 without a Kisi error body")) {
            _ = try await client.createUser(.init(email: "a@b.c"))
        }
        #expect(transport.requests.count == 1)
    }

    @Test("A create answered by a 5xx with a Kisi error body is a server error, not retried")
    func createServerErrorWithBody() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.json(503, #"{"error":"Please retry","code":"fbc000"}"#)])
        let client = makeClient(clock: clock, transport: transport)

        await #expect(throws: KisiError.server(status: 503, code: "fbc000", message: "Please retry")) {
            _ = try await client.createGroup(.init(name: "g"))
        }
        #expect(transport.requests.count == 1)
    }

    @Test("A create whose connection was never established is retried")
    func createRetriedWhenNotSent() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(
            clock: clock,
            script: [.failure(KisiConnectionNotEstablished(reason: "connection refused")), .json(200, userJSON(id: 3))]
        )
        let client = makeClient(clock: clock, transport: transport)

        let user = try await client.createUser(.init(email: "user3@example.com"))

        #expect(user.id == 3)
        #expect(transport.requests.count == 2)
    }

    @Test("PATCH is retried after a 502")
    func patchRetried() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.empty(502), .empty(204)])
        let client = makeClient(clock: clock, transport: transport)

        try await client.updateUser(id: 4, .init(accessEnabled: false))

        #expect(transport.requests.count == 2)
        #expect((transport.requests[1].jsonBody?["user"] as? [String: Any])?["access_enabled"] as? Bool == false)
    }

    // MARK: DELETE

    @Test("DELETE answered 404 counts as already gone")
    func deleteNotFoundIsSuccess() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.json(404, #"{"error":"Not found","code":"000404"}"#)])
        let client = makeClient(clock: clock, transport: transport)

        let result = try await client.deleteRoleAssignment(id: 77)

        #expect(result == .alreadyGone)
        #expect(transport.requests.first?.request.method == .delete)
        #expect(transport.requests.first?.pathWithoutQuery == "/role_assignments/77")
    }

    @Test("DELETE retried after a lost response and then answered 404 is a success")
    func deleteRetriedThenGone() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.failure(FakeConnectionReset()), .empty(404)])
        let client = makeClient(clock: clock, transport: transport)

        let result = try await client.deleteUser(id: 5)

        #expect(result == .alreadyGone)
        #expect(transport.requests.count == 2)
    }

    @Test("DELETE answered 204 is deleted")
    func deleteNoContent() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.empty(204)])
        let client = makeClient(clock: clock, transport: transport)

        #expect(try await client.deleteGroupLock(id: 5) == .deleted)
        #expect(try await client.deleteIntegration(id: 6) == .deleted)
        #expect(try await client.deleteGroup(id: 7) == .deleted)
    }

    // MARK: Typed errors

    @Test("A 422 surfaces Kisi's field map")
    func validationFieldMap() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(
            clock: clock,
            script: [.json(422, #"{"errors":{"email":["can't be blank or invalid","has already been taken"],"name":["is too long"]}}"#)]
        )
        let client = makeClient(clock: clock, transport: transport)

        await #expect(
            throws: KisiError.validation(
                fields: ["email": ["can't be blank or invalid", "has already been taken"], "name": ["is too long"]], code: nil
            )
        ) {
            _ = try await client.createUser(.init(email: ""))
        }
        #expect(transport.requests.count == 1)
    }

    @Test("A 401 carries Kisi's error code and message")
    func unauthorizedCode() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.json(401, errorJSON401)])
        let client = makeClient(clock: clock, transport: transport)

        do {
            _ = try await client.organization()
            Issue.record("expected an error")
        } catch let error as KisiError {
            #expect(error == .unauthorized(code: "afc516", message: "Wrong email address or password."))
            #expect(error.code == "afc516")
            #expect(error.httpStatus == 401)
        }
        #expect(transport.requests.count == 1)
    }

    @Test("403, 404 and 409 map to forbidden, notFound and conflict with their codes; 400 is unexpected")
    func otherClientErrors() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock) { request, _ in
            switch request.pathWithoutQuery {
            case "/groups/1": return .json(403, #"{"error":"Access denied","code":"afc496"}"#)
            case "/groups/2": return .json(404, #"{"error":"The endpoint does not exist, please check your request.","code":"000404"}"#)
            case "/locks/3/unlock": return .json(409, #"{"error":"Door locked down","code":"fad001"}"#)
            default: return .json(400, #"{"error":"group_id is missing","code":"000400"}"#)
            }
        }
        let client = makeClient(clock: clock, transport: transport)

        await #expect(throws: KisiError.forbidden(code: "afc496", message: "Access denied")) { _ = try await client.group(id: 1) }
        await #expect(throws: KisiError.notFound(code: "000404", message: "The endpoint does not exist, please check your request.")) {
            _ = try await client.group(id: 2)
        }
        await #expect(throws: KisiError.conflict(code: "fad001", message: "Door locked down")) { _ = try await client.unlock(lockID: 3) }
        await #expect(throws: KisiError.unexpected(status: 400, code: "000400", description: "group_id is missing")) {
            _ = try await client.groupLocks(groupID: 0)
        }
    }

    @Test("An undecodable success body is an unexpected error, not a crash")
    func undecodableBody() async throws {
        let clock = VirtualClock()
        let transport = FakeTransport(clock: clock, script: [.json(200, #"{"name":"no id"}"#)])
        let client = makeClient(clock: clock, transport: transport)

        do {
            _ = try await client.user(id: 1)
            Issue.record("expected an error")
        } catch let error as KisiError {
            guard case .unexpected(let status, _, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(status == 200)
        }
    }

    // MARK: Secrets

    @Test("The API key never appears in descriptions of the configuration, the client, errors or in logs")
    func keyNeverPrinted() async throws {
        let key = "super-secret-login-\(UUID().uuidString)"
        let clock = VirtualClock()
        let logs = LogCapture()
        // A transport whose errors echo the request, including its headers, to prove redaction.
        let transport = FakeTransport(clock: clock) { request, index in
            switch index {
            case 0...4: return .failure(EchoError(text: "failed sending \(request.request.headerFields)"))
            case 5: return .json(401, #"{"error":"bad key \#(key)","code":"afc516"}"#)
            case 6: return .json(422, #"{"errors":{"email":["taken"]}}"#)
            default:
                return .json(
                    503, #"{"error":"down","code":"fac001"}"#, headers: ["Deprecation": "true", "Sunset": "Wed, 01 Jan 2031 00:00:00 GMT"]
                )
            }
        }
        let client = makeClient(key: key, clock: clock, transport: transport, logger: logs.logger)

        var errors: [any Error] = []
        let calls: [@Sendable () async throws -> Void] = [
            { _ = try await client.createUser(.init(email: "a@b.c")) },  // outcomeUnknown (request 0)
            { _ = try await client.user(id: 1) },  // transport error after 4 attempts (1...4)
            { _ = try await client.organization() },  // 401 (5)
            { _ = try await client.createUser(.init(email: "a@b.c")) },  // 422 (6)
            { _ = try await client.lock(id: 1) },  // 503 x4 (7...)
        ]
        for call in calls {
            do { try await call() } catch { errors.append(error) }
        }
        errors.append(KisiError.paginationCeiling(operation: "fetchUsers", total: 30_000, reachable: 20_100))
        errors.append(KisiError.rateLimited(retryAfter: .seconds(1), code: nil))

        #expect(errors.count == 7)
        var texts: [String] = [
            String(describing: client), String(reflecting: client), "\(client.configuration)",
            String(reflecting: client.configuration), String(describing: client.configuration.apiKey),
            String(reflecting: client.configuration.apiKey),
        ]
        var dumped = ""
        dump(client, to: &dumped)
        texts.append(dumped)
        for error in errors {
            texts.append(String(describing: error))
            texts.append(String(reflecting: error))
            texts.append(error.localizedDescription)
            var errorDump = ""
            dump(error, to: &errorDump)
            texts.append(errorDump)
        }
        texts.append(contentsOf: logs.all)
        #expect(!logs.all.isEmpty)
        for text in texts {
            #expect(!text.contains(key), "key leaked in: \(text)")
        }
        // The key did reach the transport (in the Authorization header) ...
        #expect(transport.requests.allSatisfy { $0.header("Authorization") == "KISI-LOGIN \(key)" })
        // ... and the redacted errors still say what went wrong.
        #expect(errors.contains { ($0 as? KisiError)?.code == "afc516" })
        #expect(errors.contains { if case .outcomeUnknown = $0 as? KisiError { true } else { false } })
    }

    @Test("Deprecation and Sunset headers are logged once per operation as a warning")
    func deprecationLoggedOnce() async throws {
        let clock = VirtualClock()
        let logs = LogCapture()
        let transport = FakeTransport(
            clock: clock,
            script: [.json(200, #"{"message":"Unlocked!"}"#, headers: ["Deprecation": "@1700000000", "Sunset": "Wed, 01 Jan 2031 00:00:00 GMT"])]
        )
        let client = makeClient(clock: clock, transport: transport, logger: logs.logger)

        for _ in 0..<3 { _ = try await client.unlock(lockID: 1) }

        // Once per operation per process (no other test sends Deprecation for unlockLock).
        let warnings = logs.all.filter { $0.hasPrefix("warning") && $0.contains("deprecated") }
        #expect(warnings.count == 1)
        let warning = try #require(warnings.first)
        #expect(warning.contains("kisi.sunset=Wed, 01 Jan 2031 00:00:00 GMT"))
        #expect(warning.contains("kisi.deprecation=@1700000000"))
        #expect(warning.contains("kisi.operation=unlockLock"))
    }
}

struct EchoError: Error, CustomStringConvertible {
    var text: String
    var description: String { text }
}
