import Foundation
import Hummingbird
import NIOCore

/// `/_sandbox/…`: test and demo controls, protected by `X-Sandbox-Admin-Key`, never subject to faults or rate limits.
struct ControlRoutes {
    let sandbox: KisiSandbox

    func respond(to request: Request, context: SandboxContext) async throws -> Response {
        guard request.headers[.sandboxAdminKey] == sandbox.configuration.adminKey else {
            return SandboxResponder.json(.unauthorized, .object(["error": "Missing or wrong X-Sandbox-Admin-Key.", "code": "000401"]))
        }
        let path = request.uri.path.split(separator: "/").dropFirst().map(String.init)
        let query = SandboxResponder.query(request)
        let bodyData: Data
        if let buffer = try? await request.body.collect(upTo: 16 << 20) { bodyData = Data(buffer: buffer) } else { bodyData = Data() }
        let body = bodyData.isEmpty ? nil : JSONValue.decode(bodyData)
        let store = sandbox.store
        do {
            switch (request.method, path) {
            case (.post, ["reset"]):
                try await sandbox.reset()
                return ok(["reset": true])
            case (.post, ["seed"]):
                let seed: SandboxSeed
                do { seed = try SandboxSeed.decode(bodyData) } catch {
                    throw APIError.badRequest("invalid seed: \(error)")
                }
                do { try await sandbox.load(seed: seed) } catch {
                    throw APIError.badRequest("\(error)")
                }
                return ok(["seeded": true])
            case (.post, ["api_keys"]):
                guard case .object(let o)? = body else { throw APIError.badRequest("the body must be a JSON object") }
                func ints(_ key: String) throws(APIError) -> [Int] {
                    guard let raw = o[key], !raw.isNull else { return [] }
                    guard let array = raw.array, array.allSatisfy({ $0.int != nil }) else {
                        throw APIError.badRequest("\(key) must be an array of integers")
                    }
                    return array.compactMap(\.int)
                }
                for key in ["organization_id", "user_id"] where o[key].map({ !$0.isNull && $0.int == nil }) ?? false {
                    throw APIError.badRequest("\(key) must be an integer")
                }
                for key in ["email", "name", "role_id", "secret"] where o[key].map({ !$0.isNull && $0.string == nil }) ?? false {
                    throw APIError.badRequest("\(key) must be a string")
                }
                let request = SandboxKeyRequest(
                    organizationID: o["organization_id"]?.int, userID: o["user_id"]?.int, email: o["email"]?.string,
                    name: o["name"]?.string, roleID: o["role_id"]?.string, placeIDs: try ints("place_ids"),
                    groupIDs: try ints("group_ids"), secret: o["secret"]?.string
                )
                return SandboxResponder.json(.ok, try await store.createAPIKey(request).json)
            case (.get, ["clock"]):
                return SandboxResponder.json(.ok, await store.clockInfo())
            case (.post, ["clock"]):
                if let s = body?["now"]?.string {
                    guard let d = KisiTime.parse(s) else { throw APIError.badRequest("now is not a date-time") }
                    await store.setClock(to: d, frozen: body?["frozen"]?.bool ?? true)
                }
                if let v = body?["advance_seconds"] {
                    if case .double(let d) = v { await store.advanceClock(seconds: d) } else if let i = v.int {
                        await store.advanceClock(seconds: Double(i))
                    } else {
                        throw APIError.badRequest("advance_seconds must be a number")
                    }
                }
                if body?["real_time"]?.bool == true { await store.setClock(to: Date(), frozen: false) }
                return SandboxResponder.json(.ok, await store.clockInfo())
            case (.get, ["oracle"]):
                guard let userId = query["user_id"].flatMap(Int.init), let lockId = query["lock_id"].flatMap(Int.init) else {
                    throw APIError.badRequest("user_id and lock_id are required integers")
                }
                var at = await store.now()
                if let raw = query["at"], !raw.isEmpty {
                    guard let d = KisiTime.parse(raw) else { throw APIError.badRequest("at is not a date-time") }
                    at = d
                }
                let decision = await store.evaluateAccess(userId: userId, lockId: lockId, at: at)
                guard case .object(var o) = decision.json else { throw APIError.badRequest("internal") }
                o["at"] = .from(at)
                return SandboxResponder.json(.ok, .object(o))
            case (.post, ["tap"]):
                guard let userId = body?["user_id"]?.int, let lockId = body?["lock_id"]?.int else {
                    throw APIError.badRequest("user_id and lock_id are required integers")
                }
                let decision = try await store.tap(userId: userId, lockId: lockId)
                return SandboxResponder.json(.ok, decision.json)
            case (.post, let route) where route.count == 2 && route[0] == "locks":
                guard let lockId = Int(route[1]) else { throw APIError.lockNotFound }
                for key in ["locked_down", "online"] where body?[key].map({ $0.bool == nil }) ?? false {
                    throw APIError.badRequest("\(key) must be true or false")
                }
                let lock = try await store.setLockState(
                    lockId: lockId, lockedDown: body?["locked_down"]?.bool, online: body?["online"]?.bool)
                return SandboxResponder.json(.ok, lock)
            case (.get, ["faults"]):
                return SandboxResponder.json(.ok, try encodeFaults(await sandbox.faults.settings))
            case (.post, ["faults"]), (.put, ["faults"]):
                let settings: FaultSettings
                do { settings = try JSONDecoder().decode(FaultSettings.self, from: bodyData.isEmpty ? Data("{}".utf8) : bodyData) } catch {
                    throw APIError.badRequest("invalid fault settings: \(error)")
                }
                for share in [settings.errorRate, settings.dropRate, settings.lostResponseRate] where !(0...1).contains(share) {
                    throw APIError.badRequest("shares must be between 0 and 1")
                }
                await sandbox.setFaults(settings)
                return SandboxResponder.json(.ok, try encodeFaults(settings))
            case (.delete, ["faults"]):
                await sandbox.setFaults(FaultSettings())
                return SandboxResponder.json(.ok, try encodeFaults(FaultSettings()))
            case (.get, ["state"]):
                return SandboxResponder.json(.ok, await dumpState(organizationId: query["organization_id"].flatMap(Int.init)))
            case (.get, ["stats"]):
                return SandboxResponder.json(.ok, .object([
                    "requests": await sandbox.counter.json,
                    "keys": await sandbox.rateLimiter.statsJSON(),
                    "limits": .object([
                        "requests_per_second": .int(sandbox.configuration.requestsPerSecond),
                        "event_sets_per_second": .int(sandbox.configuration.eventSetsPerSecond),
                        "window": "sliding, 1 second, per user",
                    ]),
                ]))
            default:
                return SandboxResponder.response(APIError.unknownEndpoint)
            }
        } catch let error as APIError {
            return SandboxResponder.response(error)
        }
    }

    private func ok(_ o: [String: JSONValue]) -> Response { SandboxResponder.json(.ok, .object(o)) }

    private func encodeFaults(_ f: FaultSettings) throws -> JSONValue {
        JSONValue.decode(try JSONEncoder().encode(f)) ?? .null
    }

    /// The organization's data in the API's own shapes, plus events and API keys (handy for tests).
    private func dumpState(organizationId: Int?) async -> JSONValue {
        let s = await sandbox.store.snapshot()
        let orgIds = s.organizations.keys.sorted().filter { organizationId == nil || $0 == organizationId }
        return .object(["now": .from(await sandbox.store.now()), "organizations": .array(orgIds.compactMap { oid -> JSONValue? in
            guard let o = s.organizations[oid] else { return nil }
            let placeIds = Set(s.places.values.filter { $0.organizationId == oid }.map(\.id))
            let groupIds = Set(s.groups.values.filter { $0.organizationId == oid }.map(\.id))
            return .object([
                "organization": Serializers.organization(o, in: s),
                "users": .array(s.users.values.filter { $0.organizationId == oid }.sorted { $0.id < $1.id }.map { Serializers.user($0, in: s) }),
                "api_keys": .array(s.logins.values.filter { $0.organizationId == oid }.sorted { $0.id < $1.id }.map {
                    .object(["id": .int($0.id), "user_id": .int($0.userId), "secret": .string($0.secret)])
                }),
                "places": .array(s.places.values.filter { $0.organizationId == oid }.sorted { $0.id < $1.id }.map { Serializers.place($0, in: s) }),
                "locks": .array(s.locks.values.filter { placeIds.contains($0.placeId) }.sorted { $0.id < $1.id }.map { Serializers.lock($0, in: s) }),
                "groups": .array(s.groups.values.filter { $0.organizationId == oid }.sorted { $0.id < $1.id }.map { Serializers.group($0, in: s) }),
                "group_locks": .array(s.groupLocks.values.filter { groupIds.contains($0.groupId) }.sorted { $0.id < $1.id }.map { Serializers.groupLock($0, in: s) }),
                "role_assignments": .array(s.roleAssignments.values.filter { $0.organizationId == oid }.sorted { $0.id < $1.id }.map { Serializers.roleAssignment($0, in: s) }),
                "integrations": .array(s.integrations.values.filter { $0.organizationId == oid }.sorted { $0.id < $1.id }.map { Serializers.integration($0, in: s) }),
                "events": .array(s.events.filter { $0.organizationId == oid }.map(Serializers.event)),
            ])
        })])
    }
}
