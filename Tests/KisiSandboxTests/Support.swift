import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
@testable import KisiSandbox

let demoKey = SandboxSeed.demoAPIKey
let adminHeader = "sandbox-admin"

/// Runs a demo sandbox over real HTTP (AsyncHTTPClient against a live server on a free port).
func withSandbox(
    rateLimit: Int = 0,
    eventSetsRateLimit: Int = 0,
    seed: SandboxSeed = .demoSeed(),
    persistencePath: String? = nil,
    _ body: @Sendable (KisiSandbox, Kisi) async throws -> Void
) async throws {
    let sandbox = try KisiSandbox(configuration: SandboxConfiguration(
        seed: seed, persistencePath: persistencePath, requestsPerSecond: rateLimit, eventSetsPerSecond: eventSetsRateLimit,
        webhookTimeout: .seconds(2)
    ))
    try await sandbox.application().test(.ahc(.http)) { client in
        try await body(sandbox, Kisi(client: client))
    }
}

struct Reply: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var json: JSONValue?
    var rawBody: String

    var range: String? { headers[HTTPFields.Element.Name("X-Collection-Range")!] }
    var count: Int { json?.array?.count ?? -1 }
}

struct Kisi: Sendable {
    let client: any TestClientProtocol

    @discardableResult
    func call(
        _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil,
        key: String? = demoKey, headers extra: [String: String] = [:]
    ) async throws -> Reply {
        var headers: HTTPFields = [.contentType: "application/json", .accept: "application/json"]
        if let key { headers[.authorization] = "KISI-LOGIN \(key)" }
        for (k, v) in extra { if let name = HTTPFields.Element.Name(k) { headers[name] = v } }
        let response = try await client.executeRequest(
            uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }
        )
        let text = String(buffer: response.body)
        return Reply(status: response.status, headers: response.headers, json: JSONValue.decode(Data(text.utf8)), rawBody: text)
    }

    @discardableResult
    func control(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil) async throws -> Reply {
        try await call(method, "/_sandbox/" + uri, body, key: nil, headers: ["X-Sandbox-Admin-Key": adminHeader])
    }

    /// Creates a user and returns its id.
    func createUser(_ email: String, name: String = "Member") async throws -> Int {
        let r = try await call(.post, "/users", #"{"user":{"email":"\#(email)","name":"\#(name)","send_emails":false,"confirm":true}}"#)
        guard r.status == .ok, let id = r.json?["id"]?.int else { throw TestFailure("create user failed: \(r.status) \(r.rawBody)") }
        return id
    }

    func grant(user: Int, group: Int, from: String? = nil, until: String? = nil) async throws -> Int {
        let f = from.map { #","valid_from":"\#($0)""# } ?? ""
        let u = until.map { #","valid_until":"\#($0)""# } ?? ""
        let r = try await call(.post, "/role_assignments", #"{"role_assignment":{"applies_to_type":"Group","applies_to_id":\#(group),"assignee_type":"User","assignee_id":\#(user),"role_id":"group_basic"\#(f)\#(u)}}"#)
        guard r.status == .ok, let id = r.json?["id"]?.int else { throw TestFailure("grant failed: \(r.status) \(r.rawBody)") }
        return id
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func keys(_ v: JSONValue?) -> Set<String> { Set(v?.object?.keys.map { $0 } ?? []) }
