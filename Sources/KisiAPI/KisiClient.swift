import AsyncHTTPClient
import Foundation
import Logging
import OpenAPIAsyncHTTPClient
import OpenAPIRuntime

/// Typed client for Kisi's REST API (https://api.kisi.io).
///
/// Built like swift-openapi-generator's "curated client" example: the request/response types and the raw
/// client are generated from Kisi's OpenAPI document (`Sources/KisiAPI/Generated`, internal), and this
/// hand-written façade exposes only hand-written domain types (``KisiUser``, ``KisiGroup``, ...).
///
/// Every request carries `Authorization: KISI-LOGIN <key>`, JSON `Accept`/`Content-Type` and the
/// integration headers; is paced per API key (``Configuration/requestsPerSecond``, shared by all clients
/// of the process that use the key); and is retried according to ``KisiRetryPolicy``. Errors are
/// ``KisiError``. Lists are paged with the endpoint's maximum `limit`; the `all…` methods return an
/// `AsyncSequence` over every item.
public struct KisiClient: Sendable {
    public let configuration: Configuration
    let client: Client
    let middleware: KisiMiddleware

    /// Page sizes: each endpoint's maximum `limit` in Kisi's document.
    enum PageSize {
        static let users = 100
        static let groups = 250
        static let groupLocks = 250
        static let roleAssignments = 250
        static let places = 250
        static let locks = 250
        static let integrations = 250
    }

    /// - Parameters:
    ///   - configuration: key, base URL, pacing, retries, logger, clock.
    ///   - transport: the HTTP transport; nil = AsyncHTTPClient (`HTTPClient.shared`) with
    ///     ``Configuration/requestDeadline`` applied to every request. Tests pass a fake transport.
    public init(configuration: Configuration, transport: (any ClientTransport)? = nil) {
        self.configuration = configuration
        let middleware = KisiMiddleware(configuration: configuration)
        self.middleware = middleware
        let transport =
            transport
            ?? AsyncHTTPClientTransport(
                configuration: .init(client: .shared, timeout: .nanoseconds(Self.nanoseconds(configuration.requestDeadline)))
            )
        self.client = Client(
            serverURL: configuration.baseURL,
            configuration: .init(dateTranscoder: KisiDateTranscoder()),
            transport: transport,
            middlewares: [middleware]
        )
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    // MARK: - Organization, current user, login

    /// `GET /organization`: the organization of the API key (a cheap "test connection" call).
    public func organization() async throws -> KisiOrganization {
        try await perform("fetchCurrentOrganization") {
            switch try await client.fetchCurrentOrganization() {
            case .ok(let ok): return KisiOrganization(try ok.body.json)
            case let other: throw Self.unexpected("fetchCurrentOrganization", other)
            }
        }
    }

    /// `GET /user`: the user that owns the API key.
    public func currentUser() async throws -> KisiCurrentUser {
        try await perform("fetchCurrentUser") {
            switch try await client.fetchCurrentUser() {
            case .ok(let ok): return KisiCurrentUser(try ok.body.json)
            case let other: throw Self.unexpected("fetchCurrentUser", other)
            }
        }
    }

    /// `GET /login`: the login (API key) in use.
    public func currentLogin() async throws -> KisiLogin {
        try await perform("fetchCurrentLogin") {
            switch try await client.fetchCurrentLogin() {
            case .ok(let ok): return KisiLogin(try ok.body.json)
            case let other: throw Self.unexpected("fetchCurrentLogin", other)
            }
        }
    }

    // MARK: - Users

    /// One page of `GET /users` (`limit` is clamped to 1...100).
    public func users(filter: KisiUserFilter = .init(), offset: Int = 0, limit: Int = 100) async throws -> KisiPage<KisiUser> {
        let limit = Self.clamp(limit, max: PageSize.users)
        return try await perform("fetchUsers") {
            let query = Operations.FetchUsers.Input.Query(
                ids: idList(filter.ids), placeId: filter.placeID, email: filter.email, groupId: filter.groupID,
                query: filter.query, limit: limit, offset: offset
            )
            switch try await client.fetchUsers(query: query) {
            case .ok(let ok):
                return Self.page(try ok.body.json.map(KisiUser.init), offset, limit, ok.headers.xCollectionRange)
            case let other: throw Self.unexpected("fetchUsers", other)
            }
        }
    }

    /// Every user matching `filter`, 100 per request.
    public func allUsers(filter: KisiUserFilter = .init()) -> KisiPaginatedSequence<KisiUser> {
        paginate("fetchUsers", pageSize: PageSize.users) { offset, limit in
            try await self.users(filter: filter, offset: offset, limit: limit)
        }
    }

    /// `GET /users?email=`: the user with exactly this email (compared case-insensitively), if any.
    public func user(email: String) async throws -> KisiUser? {
        let page = try await users(filter: .init(email: email), offset: 0, limit: PageSize.users)
        return page.items.first { $0.email.caseInsensitiveCompare(email) == .orderedSame }
    }

    /// `GET /users/{id}`.
    public func user(id: Int) async throws -> KisiUser {
        try await perform("fetchUser") {
            switch try await client.fetchUser(path: .init(id: id)) {
            case .ok(let ok): return KisiUser(try ok.body.json)
            case let other: throw Self.unexpected("fetchUser", other)
            }
        }
    }

    /// `POST /users`. Not retried once sent: a lost response throws ``KisiError/outcomeUnknown(operation:cause:)``.
    public func createUser(_ input: KisiUserCreate) async throws -> KisiUser {
        try await perform("createUser") {
            switch try await client.createUser(body: .json(try input.request())) {
            case .ok(let ok): return KisiUser(try ok.body.json)
            case let other: throw Self.unexpected("createUser", other)
            }
        }
    }

    /// `PATCH /users/{id}` (e.g. `accessEnabled: false` to suspend access).
    public func updateUser(id: Int, _ patch: KisiUserPatch) async throws {
        try await perform("updateUser") {
            switch try await client.updateUser(path: .init(id: id), body: .json(try patch.request())) {
            case .noContent: return
            case .undocumented(let status, _) where (200..<300).contains(status): return
            case let other: throw Self.unexpected("updateUser", other)
            }
        }
    }

    /// `DELETE /users/{id}`; a 404 means "already gone" and is not an error.
    @discardableResult
    public func deleteUser(id: Int) async throws -> KisiDeletion {
        try await delete("deleteUser") {
            switch try await client.deleteUser(path: .init(id: id)) {
            case .noContent: return
            case .undocumented(let status, _) where (200..<300).contains(status): return
            case let other: throw Self.unexpected("deleteUser", other)
            }
        }
    }

    // MARK: - Groups

    /// One page of `GET /groups` (`limit` is clamped to 1...250; Kisi's default would be 10).
    public func groups(filter: KisiGroupFilter = .init(), offset: Int = 0, limit: Int = 250) async throws -> KisiPage<KisiGroup> {
        let limit = Self.clamp(limit, max: PageSize.groups)
        return try await perform("fetchGroups") {
            let query = Operations.FetchGroups.Input.Query(
                ids: idList(filter.ids), query: filter.query, limit: limit, offset: offset,
                scope: filter.scope.flatMap { .init(rawValue: $0.rawValue) }, placeId: filter.placeID.map(String.init),
                lockId: filter.lockID.map(String.init)
            )
            switch try await client.fetchGroups(query: query) {
            case .ok(let ok):
                return Self.page(try ok.body.json.map(KisiGroup.init), offset, limit, ok.headers.xCollectionRange)
            case let other: throw Self.unexpected("fetchGroups", other)
            }
        }
    }

    /// Every group matching `filter`, 250 per request.
    public func allGroups(filter: KisiGroupFilter = .init()) -> KisiPaginatedSequence<KisiGroup> {
        paginate("fetchGroups", pageSize: PageSize.groups) { offset, limit in
            try await self.groups(filter: filter, offset: offset, limit: limit)
        }
    }

    /// `GET /groups/{id}`.
    public func group(id: Int) async throws -> KisiGroup {
        try await perform("fetchGroup") {
            switch try await client.fetchGroup(path: .init(id: id)) {
            case .ok(let ok): return KisiGroup(try ok.body.json)
            case let other: throw Self.unexpected("fetchGroup", other)
            }
        }
    }

    /// `POST /groups` (organization-scoped when `placeID` is nil). Not retried once sent.
    public func createGroup(_ input: KisiGroupCreate) async throws -> KisiGroup {
        try await perform("createGroup") {
            switch try await client.createGroup(body: .json(input.request())) {
            case .ok(let ok): return KisiGroup(try ok.body.json)
            case let other: throw Self.unexpected("createGroup", other)
            }
        }
    }

    /// `PATCH /groups/{id}`.
    public func updateGroup(id: Int, _ patch: KisiGroupPatch) async throws {
        try await perform("updateGroup") {
            switch try await client.updateGroup(path: .init(id: id), body: .json(patch.request())) {
            case .noContent: return
            case .undocumented(let status, _) where (200..<300).contains(status): return
            case let other: throw Self.unexpected("updateGroup", other)
            }
        }
    }

    /// `DELETE /groups/{id}`; 404 = already gone.
    @discardableResult
    public func deleteGroup(id: Int) async throws -> KisiDeletion {
        try await delete("deleteGroup") {
            switch try await client.deleteGroup(path: .init(id: id)) {
            case .noContent: return
            case .undocumented(let status, _) where (200..<300).contains(status): return
            case let other: throw Self.unexpected("deleteGroup", other)
            }
        }
    }

    // MARK: - Group locks

    /// One page of `GET /group_locks?group_id=` (`limit` clamped to 1...250).
    public func groupLocks(groupID: Int, lockID: Int? = nil, offset: Int = 0, limit: Int = 250) async throws -> KisiPage<KisiGroupLock> {
        let limit = Self.clamp(limit, max: PageSize.groupLocks)
        return try await perform("fetchGroupLocks") {
            let query = Operations.FetchGroupLocks.Input.Query(groupId: groupID, lockId: lockID, limit: limit, offset: offset)
            switch try await client.fetchGroupLocks(query: query) {
            case .ok(let ok):
                return Self.page(try ok.body.json.map(KisiGroupLock.init), offset, limit, ok.headers.xCollectionRange)
            case let other: throw Self.unexpected("fetchGroupLocks", other)
            }
        }
    }

    /// Every door of a group.
    public func allGroupLocks(groupID: Int) -> KisiPaginatedSequence<KisiGroupLock> {
        paginate("fetchGroupLocks", pageSize: PageSize.groupLocks) { offset, limit in
            try await self.groupLocks(groupID: groupID, offset: offset, limit: limit)
        }
    }

    /// `POST /group_locks`: add a door to a group. Not retried once sent.
    public func createGroupLock(groupID: Int, lockID: Int) async throws -> KisiGroupLock {
        try await perform("createGroupLock") {
            let body = Components.Schemas.CreateGroupLockRequest(groupLock: .init(groupId: groupID, lockId: lockID))
            switch try await client.createGroupLock(body: .json(body)) {
            case .ok(let ok): return KisiGroupLock(try ok.body.json)
            case let other: throw Self.unexpected("createGroupLock", other)
            }
        }
    }

    /// `DELETE /group_locks/{id}`; 404 = already gone.
    @discardableResult
    public func deleteGroupLock(id: Int) async throws -> KisiDeletion {
        try await delete("deleteGroupLock") {
            switch try await client.deleteGroupLock(path: .init(id: id)) {
            case .noContent: return
            case .undocumented(let status, _) where (200..<300).contains(status): return
            case let other: throw Self.unexpected("deleteGroupLock", other)
            }
        }
    }

    // MARK: - Role assignments

    /// One page of `GET /role_assignments` (`limit` clamped to 1...250; Kisi's default would be 10).
    public func roleAssignments(
        filter: KisiRoleAssignmentFilter = .init(),
        offset: Int = 0,
        limit: Int = 250
    ) async throws -> KisiPage<KisiRoleAssignment> {
        let limit = Self.clamp(limit, max: PageSize.roleAssignments)
        return try await perform("fetchRoleAssignments") {
            typealias Query = Operations.FetchRoleAssignments.Input.Query
            var query = Query(ids: idList(filter.ids), query: filter.query, limit: limit, offset: offset, roleId: filter.roleID)
            if let assignee = filter.assignee {
                guard let type = Query.AssigneeTypePayload(rawValue: assignee.typeName) else {
                    throw KisiError.unexpected(status: nil, code: nil, description: "unsupported assignee type \(assignee.typeName)")
                }
                query.assigneeType = type
                query.assigneeId = assignee.id
            }
            if let appliesTo = filter.appliesTo {
                guard let type = Query.AppliesToTypePayload(rawValue: appliesTo.typeName) else {
                    throw KisiError.unexpected(status: nil, code: nil, description: "unsupported scope \(appliesTo.typeName)")
                }
                query.appliesToType = type
                query.appliesToId = appliesTo.id
            }
            query.userId = filter.legacyUserID.map(String.init)
            query.groupId = filter.legacyGroupID
            query.placeId = filter.legacyPlaceID
            query.sort = filter.sortByUserName.map { $0 == .ascending ? .user_name : ._hyphen_user_name }
            switch try await client.fetchRoleAssignments(query: query) {
            case .ok(let ok):
                return Self.page(try ok.body.json.map(KisiRoleAssignment.init), offset, limit, ok.headers.xCollectionRange)
            case let other: throw Self.unexpected("fetchRoleAssignments", other)
            }
        }
    }

    /// Every role assignment matching `filter`, 250 per request.
    public func allRoleAssignments(filter: KisiRoleAssignmentFilter = .init()) -> KisiPaginatedSequence<KisiRoleAssignment> {
        paginate("fetchRoleAssignments", pageSize: PageSize.roleAssignments) { offset, limit in
            try await self.roleAssignments(filter: filter, offset: offset, limit: limit)
        }
    }

    /// `GET /role_assignments/{id}`.
    public func roleAssignment(id: Int) async throws -> KisiRoleAssignment {
        try await perform("fetchRoleAssignment") {
            switch try await client.fetchRoleAssignment(path: .init(id: id)) {
            case .ok(let ok): return KisiRoleAssignment(try ok.body.json)
            case let other: throw Self.unexpected("fetchRoleAssignment", other)
            }
        }
    }

    /// `POST /role_assignments` in the current or the legacy body shape. Not retried once sent.
    public func createRoleAssignment(_ input: KisiRoleAssignmentCreate) async throws -> KisiRoleAssignment {
        try await perform("createRoleAssignment") {
            switch try await client.createRoleAssignment(body: .json(try input.request())) {
            case .ok(let ok): return KisiRoleAssignment(try ok.body.json)
            case let other: throw Self.unexpected("createRoleAssignment", other)
            }
        }
    }

    /// `PATCH /role_assignments/{id}` (e.g. move `validUntil`).
    public func updateRoleAssignment(id: Int, _ patch: KisiRoleAssignmentPatch) async throws {
        try await perform("updateRoleAssignment") {
            switch try await client.updateRoleAssignment(path: .init(id: id), body: .json(patch.request())) {
            case .noContent: return
            case .undocumented(let status, _) where (200..<300).contains(status): return
            case let other: throw Self.unexpected("updateRoleAssignment", other)
            }
        }
    }

    /// `DELETE /role_assignments/{id}`; 404 = already gone.
    @discardableResult
    public func deleteRoleAssignment(id: Int) async throws -> KisiDeletion {
        try await delete("deleteRoleAssignment") {
            switch try await client.deleteRoleAssignment(path: .init(id: id)) {
            case .noContent: return
            case .undocumented(let status, _) where (200..<300).contains(status): return
            case let other: throw Self.unexpected("deleteRoleAssignment", other)
            }
        }
    }

    // MARK: - Roles

    /// `GET /roles` (not paginated).
    public func roles() async throws -> [KisiRole] {
        try await perform("fetchRoles") {
            switch try await client.fetchRoles() {
            case .ok(let ok): return try ok.body.json.map(KisiRole.init)
            case let other: throw Self.unexpected("fetchRoles", other)
            }
        }
    }

    // MARK: - Places

    /// One page of `GET /places` (`limit` clamped to 1...250).
    public func places(filter: KisiPlaceFilter = .init(), offset: Int = 0, limit: Int = 250) async throws -> KisiPage<KisiPlace> {
        let limit = Self.clamp(limit, max: PageSize.places)
        return try await perform("fetchPlaces") {
            let query = Operations.FetchPlaces.Input.Query(ids: idList(filter.ids), query: filter.query, limit: limit, offset: offset)
            switch try await client.fetchPlaces(query: query) {
            case .ok(let ok):
                return Self.page(try ok.body.json.map(KisiPlace.init), offset, limit, ok.headers.xCollectionRange)
            case let other: throw Self.unexpected("fetchPlaces", other)
            }
        }
    }

    /// Every place, 250 per request.
    public func allPlaces(filter: KisiPlaceFilter = .init()) -> KisiPaginatedSequence<KisiPlace> {
        paginate("fetchPlaces", pageSize: PageSize.places) { offset, limit in
            try await self.places(filter: filter, offset: offset, limit: limit)
        }
    }

    /// `GET /places/{id}`.
    public func place(id: Int) async throws -> KisiPlace {
        try await perform("fetchPlace") {
            switch try await client.fetchPlace(path: .init(id: id)) {
            case .ok(let ok): return KisiPlace(try ok.body.json)
            case let other: throw Self.unexpected("fetchPlace", other)
            }
        }
    }

    // MARK: - Locks

    /// One page of `GET /locks` (`limit` clamped to 1...250).
    public func locks(filter: KisiLockFilter = .init(), offset: Int = 0, limit: Int = 250) async throws -> KisiPage<KisiLock> {
        let limit = Self.clamp(limit, max: PageSize.locks)
        return try await perform("fetchLocks") {
            let query = Operations.FetchLocks.Input.Query(
                ids: idList(filter.ids), query: filter.query, floorId: filter.floorID, placeId: filter.placeID,
                limit: limit, offset: offset
            )
            switch try await client.fetchLocks(query: query) {
            case .ok(let ok):
                return Self.page(try ok.body.json.map(KisiLock.init), offset, limit, ok.headers.xCollectionRange)
            case let other: throw Self.unexpected("fetchLocks", other)
            }
        }
    }

    /// Every door matching `filter` (e.g. of one place), 250 per request.
    public func allLocks(filter: KisiLockFilter = .init()) -> KisiPaginatedSequence<KisiLock> {
        paginate("fetchLocks", pageSize: PageSize.locks) { offset, limit in
            try await self.locks(filter: filter, offset: offset, limit: limit)
        }
    }

    /// `GET /locks/{id}`.
    public func lock(id: Int) async throws -> KisiLock {
        try await perform("fetchLock") {
            switch try await client.fetchLock(path: .init(id: id)) {
            case .ok(let ok): return KisiLock(try ok.body.json)
            case let other: throw Self.unexpected("fetchLock", other)
            }
        }
    }

    /// `POST /locks/{id}/unlock`; returns Kisi's message (`"Unlocked!"`). Never retried once sent (a lost
    /// response is ``KisiError/outcomeUnknown(operation:cause:)``); 409 = locked down, 503 = door offline.
    @discardableResult
    public func unlock(lockID: Int) async throws -> String {
        try await perform("unlockLock") {
            switch try await client.unlockLock(path: .init(id: lockID)) {
            case .ok(let ok): return (try ok.body.json).message ?? ""
            case .undocumented(let status, _) where (200..<300).contains(status): return ""
            case let other: throw Self.unexpected("unlockLock", other)
            }
        }
    }

    // MARK: - Invites

    /// `POST /invites` (e.g. ``KisiInviteCreate/group(id:invitee:roleID:validFrom:validUntil:notify:)``).
    /// Not retried once sent.
    public func createInvite(_ input: KisiInviteCreate) async throws -> KisiInvite {
        try await perform("createInvite") {
            switch try await client.createInvite(body: .json(try input.request())) {
            case .ok(let ok): return KisiInvite(try ok.body.json)
            case let other: throw Self.unexpected("createInvite", other)
            }
        }
    }

    // MARK: - Event sets

    /// `POST /event_sets` (Kisi allows one per second per key; the client paces it). The first page; when
    /// the status is `inProgress`, poll ``eventSet(id:cursor:limit:)`` until it is finished.
    public func createEventSet(_ query: KisiEventQuery) async throws -> KisiEventPage {
        try await perform("createEventSet") {
            switch try await client.createEventSet(body: .json(query.request())) {
            case .ok(let ok): return KisiEventPage(try ok.body.json)
            case let other: throw Self.unexpected("createEventSet", other)
            }
        }
    }

    /// `GET /event_sets/{id}?cursor=&limit=`: the page after `cursor` (nil = first page).
    public func eventSet(id: Int, cursor: String? = nil, limit: Int? = nil) async throws -> KisiEventPage {
        try await perform("fetchEventSet") {
            switch try await client.fetchEventSet(path: .init(id: id), query: .init(limit: limit, cursor: cursor)) {
            case .ok(let ok): return KisiEventPage(try ok.body.json)
            case let other: throw Self.unexpected("fetchEventSet", other)
            }
        }
    }

    // MARK: - Integrations (event webhooks)

    /// One page of `GET /integrations` (all types; filter on ``KisiIntegration/type``).
    public func integrations(offset: Int = 0, limit: Int = 250) async throws -> KisiPage<KisiIntegration> {
        let limit = Self.clamp(limit, max: PageSize.integrations)
        return try await perform("fetchIntegrations") {
            switch try await client.fetchIntegrations(query: .init(limit: limit, offset: offset)) {
            case .ok(let ok):
                return Self.page(try ok.body.json.map(KisiIntegration.init), offset, limit, ok.headers.xCollectionRange)
            case let other: throw Self.unexpected("fetchIntegrations", other)
            }
        }
    }

    /// Every integration, 250 per request.
    public func allIntegrations() -> KisiPaginatedSequence<KisiIntegration> {
        paginate("fetchIntegrations", pageSize: PageSize.integrations) { offset, limit in
            try await self.integrations(offset: offset, limit: limit)
        }
    }

    /// `POST /integrations` with `type: event_webhook`. Not retried once sent.
    public func createEventWebhook(_ input: KisiEventWebhookCreate) async throws -> KisiIntegration {
        try await perform("createIntegration") {
            switch try await client.createIntegration(body: .json(input.request())) {
            case .ok(let ok): return KisiIntegration(try ok.body.json)
            case let other: throw Self.unexpected("createIntegration", other)
            }
        }
    }

    /// `DELETE /integrations/{id}`; 404 = already gone.
    @discardableResult
    public func deleteIntegration(id: Int) async throws -> KisiDeletion {
        try await delete("deleteIntegration") {
            switch try await client.deleteIntegration(path: .init(id: id)) {
            case .noContent: return
            case .undocumented(let status, _) where (200..<300).contains(status): return
            case let other: throw Self.unexpected("deleteIntegration", other)
            }
        }
    }

    // MARK: - Plumbing

    /// Runs a generated-client call and turns every failure into a ``KisiError``.
    func perform<T: Sendable>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as KisiError {
            throw error
        } catch let error as ClientError {
            let underlying = KisiMiddleware.underlying(error)
            if let kisiError = underlying as? KisiError { throw kisiError }
            if underlying is CancellationError { throw underlying }
            throw KisiError.unexpected(
                status: error.response?.status.code,
                code: nil,
                description: middleware.redact("\(operation): \(error.causeDescription): \(underlying)")
            )
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw KisiError.unexpected(status: nil, code: nil, description: middleware.redact("\(operation): \(error)"))
        }
    }

    func delete(_ operation: String, _ body: () async throws -> Void) async throws -> KisiDeletion {
        do {
            try await perform(operation, body)
            return .deleted
        } catch KisiError.notFound {
            configuration.logger.debug("Kisi object already gone", metadata: ["kisi.operation": "\(operation)"])
            return .alreadyGone
        }
    }

    static func unexpected(_ operation: String, _ output: some Sendable) -> KisiError {
        // Non-2xx responses are turned into errors by the middleware, so this is an undocumented 2xx/3xx.
        if let status = Mirror(reflecting: output).children.first.flatMap({ child -> Int? in
            Mirror(reflecting: child.value).children.first { $0.label == "statusCode" }?.value as? Int
        }) {
            return .unexpected(status: status, code: nil, description: "\(operation): unexpected HTTP \(status)")
        }
        return .unexpected(status: nil, code: nil, description: "\(operation): unexpected response")
    }

    static func clamp(_ limit: Int, max maximum: Int) -> Int {
        Swift.min(Swift.max(limit, 1), maximum)
    }

    static func page<Item: Sendable>(_ items: [Item], _ offset: Int, _ limit: Int, _ range: String?) -> KisiPage<Item> {
        KisiPage(items: items, offset: offset, limit: limit, total: range.flatMap(KisiCollectionRange.init(header:))?.total)
    }

    func paginate<Item: Sendable>(
        _ operation: String,
        pageSize: Int,
        _ fetch: @escaping @Sendable (Int, Int) async throws -> KisiPage<Item>
    ) -> KisiPaginatedSequence<Item> {
        KisiPaginatedSequence(pages: KisiPageSequence(operation: operation, pageSize: pageSize, fetch: fetch))
    }
}

extension KisiClient: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "KisiClient(\(configuration))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["configuration": configuration], displayStyle: .struct)
    }
}
