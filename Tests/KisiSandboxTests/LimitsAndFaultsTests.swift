import AsyncHTTPClient
import Foundation
import Hummingbird
import Testing
@testable import KisiSandbox

@Suite("Rate limits and faults")
struct LimitsAndFaultsTests {
    @Test("More than 5 requests in a second get 429 with an Error body and Retry-After, and stats never exceed 5")
    func rateLimit() async throws {
        try await withSandbox(rateLimit: 5, eventSetsRateLimit: 1) { _, kisi in
            // Sent at once, so all eight land inside one second even on a slow, busy machine.
            let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                for _ in 0..<8 { group.addTask { try await kisi.call(.get, "/organization") } }
                return try await group.reduce(into: [Reply]()) { $0.append($1) }
            }
            let statuses = replies.map(\.status)
            let limited = replies.first { $0.status == .tooManyRequests }
            #expect(statuses.filter { $0 == .ok }.count == 5)
            let r = try #require(limited)
            #expect(r.json?["code"]?.string == "000429")
            #expect(r.headers[HTTPFields.Element.Name("Retry-After")!] == "1")
            try await Task.sleep(for: .milliseconds(1100))
            #expect(try await kisi.call(.post, "/event_sets", #"{"event_set":{}}"#).status == .ok)
            #expect(try await kisi.call(.post, "/event_sets", #"{"event_set":{}}"#).status == .tooManyRequests)
            let stats = try await kisi.control(.get, "stats")
            #expect(stats.json?["keys"]?[demoKey]?["max_per_second"]?.int == 5)
        }
    }

    @Test("Injected 429 bursts, 503s and latency apply to Kisi routes but not to control routes")
    func burstsErrorsLatency() async throws {
        try await withSandbox { _, kisi in
            try await kisi.control(.post, "faults", #"{"rate_limit_burst":2}"#)
            #expect(try await kisi.call(.get, "/organization").status == .tooManyRequests)
            #expect(try await kisi.control(.get, "faults").status == .ok)
            #expect(try await kisi.call(.get, "/organization").status == .tooManyRequests)
            #expect(try await kisi.call(.get, "/organization").status == .ok)

            try await kisi.control(.post, "faults", #"{"error_rate":1}"#)
            let e = try await kisi.call(.post, "/users", #"{"user":{"email":"never@example.com"}}"#)
            #expect(e.status == .serviceUnavailable)
            try await kisi.control(.delete, "faults")
            #expect(try await kisi.call(.get, "/users?email=never%40example.com").count == 0)

            try await kisi.control(.post, "faults", #"{"latency_ms":300}"#)
            let start = ContinuousClock.now
            _ = try await kisi.call(.get, "/organization")
            #expect(ContinuousClock.now - start >= .milliseconds(300))
        }
    }

    @Test("A dropped connection applies nothing; a lost response applies the change")
    func droppedAndLost() async throws {
        try await withSandbox { _, kisi in
            try await kisi.control(.post, "faults", #"{"drop_rate":1}"#)
            await #expect(throws: (any Error).self) {
                try await kisi.call(.post, "/users", #"{"user":{"email":"dropped@example.com"}}"#)
            }
            try await kisi.control(.post, "faults", #"{"lost_response_rate":1}"#)
            await #expect(throws: (any Error).self) {
                try await kisi.call(.post, "/users", #"{"user":{"email":"lost@example.com"}}"#)
            }
            try await kisi.control(.delete, "faults")
            #expect(try await kisi.call(.get, "/users?email=dropped%40example.com").count == 0)
            #expect(try await kisi.call(.get, "/users?email=lost%40example.com").count == 1)
        }
    }

    @Test("Control routes need the admin key, and reset and seed replace the data")
    func controlRoutes() async throws {
        try await withSandbox { _, kisi in
            #expect(try await kisi.call(.post, "/_sandbox/reset", key: nil).status == .unauthorized)
            _ = try await kisi.createUser("temp@example.com")
            try await kisi.control(.post, "reset")
            #expect(try await kisi.call(.get, "/users?email=temp%40example.com").count == 0)
            let seed = #"{"organizations":[{"id":9,"name":"Other Gym","users":[{"name":"Boss","email":"boss@other.example","organization_role":"owner","api_keys":["other-key"]}],"places":[{"id":1,"name":"Only","locks":[{"id":2,"name":"Door"}]}]}]}"#
            #expect(try await kisi.control(.post, "seed", seed).status == .ok)
            #expect(try await kisi.call(.get, "/organization").status == .unauthorized)
            #expect(try await kisi.call(.get, "/organization", key: "other-key").json?["name"]?.string == "Other Gym")
            let state = try await kisi.control(.get, "state")
            #expect(state.json?["organizations"]?.array?.count == 1)
        }
    }

    @Test("State persists to a JSON file and is loaded on start")
    func persistence() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kisi-sandbox-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await withSandbox(persistencePath: path) { _, kisi in
            _ = try await kisi.createUser("persisted@example.com")
        }
        try await withSandbox(persistencePath: path) { _, kisi in
            let found = try await kisi.call(.get, "/users?email=persisted%40example.com")
            #expect(found.count == 1)
        }
    }
}

@Suite("Embedding")
struct EmbeddingTests {
    @Test("withRunningServer starts the sandbox on a free port and stops it afterwards")
    func runningServer() async throws {
        let sandbox = try KisiSandbox(configuration: SandboxConfiguration(requestsPerSecond: 0))
        let name = try await sandbox.withRunningServer { port in
            #expect(port > 0)
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/organization")
            request.headers.add(name: "Authorization", value: "KISI-LOGIN \(SandboxSeed.demoAPIKey)")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            return JSONValue.decode(Data(buffer: body))?["name"]?.string
        }
        #expect(name == "BooGYMan Demo Gym")
    }

    @Test("The demo seed round-trips through its JSON form")
    func seedRoundTrip() throws {
        let data = try SandboxSeed.demoSeed().encoded()
        let decoded = try SandboxSeed.decode(data)
        #expect(decoded.organizations.first?.places?.flatMap(\.locks).map(\.id).count == 12)
        #expect(decoded.organizations.first?.users.first?.apiKeys == [SandboxSeed.demoAPIKey])
    }
}
