import Foundation
import Hummingbird

/// Who is calling: resolved from the `KISI-LOGIN` secret.
struct Caller: Sendable {
    var organizationId: Int
    var userId: Int
    var loginId: Int
    /// The caller's roles as of this request.
    var authority: Authority
}

/// A parsed Kisi API request, handed from the router to the store.
struct APIRequest: Sendable {
    var caller: Caller
    var pathId: String?
    var query: [String: String]
    var body: JSONValue?

    /// The `{"<wrapper>": {...}}` object every Kisi write requires.
    func wrapped(_ key: String) throws(APIError) -> [String: JSONValue] {
        guard let body else { throw APIError.badRequest("param is missing or the value is empty: \(key)") }
        guard let inner = body[key]?.object else {
            throw APIError.badRequest("param is missing or the value is empty: \(key)")
        }
        return inner
    }

    func id() throws(APIError) -> Int {
        // Non-numeric ids can't exist, so they're a plain 404 like an unknown numeric id.
        guard let s = pathId, let v = Int(s) else { throw APIError.notFound("Record") }
        return v
    }
}

/// A successful response.
struct Reply: Sendable {
    var status: HTTPResponse.Status
    var body: JSONValue?
    var headers: HTTPFields = [:]

    static func ok(_ body: JSONValue) -> Reply { Reply(status: .ok, body: body) }
    static let noContent = Reply(status: .noContent, body: nil)
}

/// A webhook delivery prepared by the store and performed by the deliverer.
struct WebhookJob: Sendable {
    var integrationId: Int
    var url: String
    var body: Data
    var signature: String?
}

/// All sandbox state, behind one actor so every request sees a consistent snapshot.
actor SandboxStore {
    var state: StoreState
    /// Set on every change; the persistence loop saves and clears it.
    var dirty = false
    let webhooks: AsyncStream<WebhookJob>.Continuation

    init(state: StoreState, webhooks: AsyncStream<WebhookJob>.Continuation) {
        self.state = state
        self.webhooks = webhooks
    }

    // MARK: Clock

    func now() -> Date {
        if let frozen = state.clockFrozenAt { return frozen }
        return Date().addingTimeInterval(state.clockOffsetSeconds)
    }

    func setClock(to date: Date, frozen: Bool) {
        if frozen {
            state.clockFrozenAt = date
        } else {
            state.clockFrozenAt = nil
            state.clockOffsetSeconds = date.timeIntervalSinceNow
        }
        dirty = true
    }

    func advanceClock(seconds: Double) {
        if let frozen = state.clockFrozenAt {
            state.clockFrozenAt = frozen.addingTimeInterval(seconds)
        } else {
            state.clockOffsetSeconds += seconds
        }
        dirty = true
    }

    func clockInfo() -> JSONValue {
        .object(["now": .from(now()), "frozen": .bool(state.clockFrozenAt != nil), "offset_seconds": .double(state.clockOffsetSeconds)])
    }

    // MARK: Whole-state operations

    func replace(with newState: StoreState) {
        state = newState
        dirty = true
    }

    func snapshot() -> StoreState { state }

    func takeDirty() -> StoreState? {
        guard dirty else { return nil }
        dirty = false
        return state
    }

    func nextId() -> Int {
        state.nextId += 1
        return state.nextId
    }

    // MARK: Auth

    func authenticate(secret: String) -> Caller? {
        guard let login = state.logins.values.first(where: { $0.secret == secret }),
              let user = state.users[login.userId]
        else { return nil }
        let usedAt = now()  // read the clock before mutating `state` (exclusivity)
        state.logins[login.id]?.lastUsedAt = usedAt
        return Caller(
            organizationId: user.organizationId,
            userId: user.id,
            loginId: login.id,
            authority: authority(userId: user.id, at: usedAt)
        )
    }

    // MARK: Lookups scoped to the caller's organization (anything else is a 404, as in Kisi)

    func user(_ id: Int, in org: Int) throws(APIError) -> UserRecord {
        guard let u = state.users[id], u.organizationId == org else { throw APIError.notFound("User") }
        return u
    }

    func group(_ id: Int, in org: Int) throws(APIError) -> GroupRecord {
        guard let g = state.groups[id], g.organizationId == org else { throw APIError.notFound("Group") }
        return g
    }

    func place(_ id: Int, in org: Int) throws(APIError) -> PlaceRecord {
        guard let p = state.places[id], p.organizationId == org else { throw APIError.notFound("Place") }
        return p
    }

    func lock(_ id: Int, in org: Int) throws(APIError) -> LockRecord {
        guard let l = state.locks[id], let p = state.places[l.placeId], p.organizationId == org else {
            throw APIError.lockNotFound
        }
        return l
    }

    func lockOrganization(_ lock: LockRecord) -> Int? { state.places[lock.placeId]?.organizationId }

    // MARK: Events

    /// Appends an event to the organization's stream and queues webhook deliveries for it.
    @discardableResult
    func record(
        _ type: String,
        org: Int,
        actorUserId: Int?,
        authenticatedBy: (type: String, id: Int?)?,
        objectType: String,
        objectId: Int,
        objectName: String,
        placeId: Int? = nil,
        success: Bool = true,
        code: (String, String)? = nil,
        message: String? = nil
    ) -> EventRecord {
        let actor = actorUserId.flatMap { state.users[$0] }
        let action = type.split(separator: ".").last.map(String.init) ?? type
        let event = EventRecord(
            uuid: UUID().uuidString.lowercased(),
            type: type,
            actorType: actor == nil ? nil : "User",
            actorId: actor?.id,
            actorName: actor?.name,
            actorEmail: actor?.email,
            authenticatedByType: authenticatedBy?.type,
            authenticatedById: authenticatedBy?.id,
            objectType: objectType,
            objectId: objectId,
            objectName: objectName,
            action: action,
            createdAt: now(),
            message: message,
            success: success,
            code: code?.0,
            sequence: state.nextSequence,
            organizationId: org,
            placeId: placeId,
            errorCode: code?.0,
            errorMessage: code?.1
        )
        state.nextSequence += 1
        state.events.append(event)
        dirty = true
        enqueueWebhooks(for: event)
        return event
    }

    /// Shorthand for changes made through the API by the caller's login.
    func recordChange(
        _ type: String, _ caller: Caller, objectType: String, objectId: Int, objectName: String, placeId: Int? = nil
    ) {
        record(
            type, org: caller.organizationId, actorUserId: caller.userId,
            authenticatedBy: (type: "Login", id: caller.loginId),
            objectType: objectType, objectId: objectId, objectName: objectName, placeId: placeId
        )
    }

    private func enqueueWebhooks(for event: EventRecord) {
        let hooks = state.integrations.values
            .filter { $0.organizationId == event.organizationId && $0.enabled }
            .filter { $0.enabledEvents.isEmpty || $0.enabledEvents.contains(event.type) }
            .sorted { $0.id < $1.id }
        guard !hooks.isEmpty else { return }
        let body = Serializers.event(event).encoded()
        for hook in hooks {
            let signature = hook.signatureKey.flatMap { $0.isEmpty ? nil : Webhooks.signature(body: body, key: $0) }
            webhooks.yield(WebhookJob(integrationId: hook.id, url: hook.url, body: body, signature: signature))
        }
    }
}
