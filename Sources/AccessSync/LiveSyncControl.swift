import Foundation
import GymCore
import GymStore
import KisiAPI
import Logging

/// ``SyncControl`` for a running BooGYMan: writes go to the sync leader through the database (the same
/// path whether the leader is this process or another replica), reads use the connection's paced client.
public struct LiveSyncControl: SyncControl {
    public struct Configuration: Sendable {
        /// An unlock nobody claimed within this is dropped: a door must not open long after the click.
        public var unlockClaimDeadline: Duration
        /// How long a page waits for a command's answer (a claim plus one Kisi call with its deadline).
        public var answerDeadline: Duration
        /// How long a queued invitation stays valid when the leader is busy or away.
        public var invitationLifetime: Duration
        /// How often the answer is looked for.
        public var answerPollInterval: Duration
        /// Pace this replica's reads through the database with the other replicas (PostgreSQL, SQLite files).
        public var sharedPacing: Bool
        /// How long a page waits for Kisi to say what a key may do, the first time the key is used.
        public var rightsDiscoveryDeadline: Duration

        public init(
            unlockClaimDeadline: Duration = .seconds(5), answerDeadline: Duration = .seconds(10), invitationLifetime: Duration = .seconds(600),
            answerPollInterval: Duration = .milliseconds(20), sharedPacing: Bool = false, rightsDiscoveryDeadline: Duration = .seconds(3)
        ) {
            self.rightsDiscoveryDeadline = rightsDiscoveryDeadline
            self.unlockClaimDeadline = unlockClaimDeadline
            self.answerDeadline = answerDeadline
            self.invitationLifetime = invitationLifetime
            self.answerPollInterval = answerPollInterval
            self.sharedPacing = sharedPacing
        }
    }

    public let engines: CurrentSyncEngine
    public let repository: GymRepository
    let masterKey: MasterKey?
    public let bell: SyncCommandBell
    public let configuration: Configuration
    let logger: Logger

    public init(
        engines: CurrentSyncEngine, repository: GymRepository, masterKey: MasterKey?, bell: SyncCommandBell = SyncCommandBell(),
        configuration: Configuration = Configuration(), logger: Logger = Logger(label: "boogyman.sync-control")
    ) {
        self.engines = engines
        self.repository = repository
        self.masterKey = masterKey
        self.bell = bell
        self.configuration = configuration
        self.logger = logger
    }

    public var isConnected: Bool { engines.engine != nil }

    public func options() async -> SyncOptions? {
        guard let engine = engines.engine else { return nil }
        // As runs plan: with a place administrator's key, its places (so previews show its place groups).
        return await engine.runOptions()
    }

    func engine() throws(KisiProblem) -> SyncEngine {
        guard let engine = engines.engine else { throw KisiProblem.notConnected }
        return engine
    }

    /// The client of the connection in force; while this replica has not adopted one yet (or follows no
    /// stored connection), one built from the stored settings.
    func client() async throws -> KisiClient {
        if let engine = engines.engine { return engine.client }
        guard let masterKey, let settings = try await repository.kisiSettings(masterKey: masterKey) else { throw KisiProblem.notConnected }
        return try KisiConnector.client(settings: settings, repository: repository, logger: logger, sharedPacing: configuration.sharedPacing)
    }

    // MARK: Planning

    public func dryRun() async throws -> [SyncAction] { try await engine().dryRun() }

    public func heldRevocations() async throws -> [HeldRevocation] {
        guard let engine = engines.engine else { return [] }
        return try await engine.heldRevocations()
    }

    public func managedAccessRevocations() async throws -> [SyncAction] { try await engine().managedAccessRevocations() }

    // MARK: Requests to the leader

    public func approveHeldRevocations() async throws -> Int { try await engine().approveHeldRevocations() }

    public func rejectHeldRevocations() async throws {
        try await repository.syncState.set(.brakeApproved, nil)
    }

    public func memberSynced(_ memberID: UUID, throughChange changeID: Int, since: Date, wait: Duration) async -> MemberSyncOutcome {
        guard isConnected else { return .notConnected }
        let clock = ContinuousClock()
        let deadline = clock.now + wait
        var applied = false
        while !Task.isCancelled {
            let processed = (try? await repository.syncState.get(.lastProcessedChangeID)) ?? 0
            if processed >= changeID {
                applied = true
                break
            }
            guard clock.now < deadline else { break }
            try? await Task.sleep(for: configuration.answerPollInterval * 2)
        }
        guard applied else { return .later("The sync has not reached this change yet; Kisi follows within seconds.") }
        do {
            if let paused = try await repository.syncState.get(.pausedReason) {
                return .incomplete("The sync is paused: \(paused)")
            }
            let failed = try await repository.kisiWrites(
                KisiWriteFilter(memberID: memberID, status: .failed, from: since), PageRequest(limit: 1)).items
            if let failure = failed.first {
                return .incomplete("Kisi refused a change (\(failure.action): \(failure.error ?? "failed")); it is retried by itself.")
            }
            if try await heldRevocations().contains(where: { $0.memberID == memberID }) {
                return .incomplete("The mass-revocation brake holds this member's revocation for a manager's approval.")
            }
        } catch {
            return .later("BooGYMan could not read how the sync went (\(error)).")
        }
        return .applied
    }

    /// Whether a connection is stored, even if this replica has not adopted it yet (it was just made):
    /// the leader claims a command within seconds of adopting it.
    func connectionStored() async -> Bool {
        if isConnected { return true }
        guard let masterKey else { return false }
        return ((try? await repository.kisiSettings(masterKey: masterKey)) ?? nil) != nil
    }

    public func unlock(_ request: SyncCommand.UnlockRequest) async throws -> SyncCommandAnswer {
        guard await connectionStored() else { throw KisiProblem.notConnected }
        // A door the key may not open is not asked of Kisi (a page hides its button; a forced request lands here).
        if let refusal = await unlockRefusal(lockID: request.lockID) { throw KisiProblem(.forbidden, refusal) }
        let record = try await send(.unlock(request), requestedBy: request.actor, lifetime: configuration.unlockClaimDeadline)
        switch record.status {
        case .succeeded, .failed:
            let answer = try Self.answer(of: record)
            if let problem = answer.problem { throw problem }
            return answer
        case .expired, .pending:
            throw KisiProblem(.noLeader, "No BooGYMan server answered for the Kisi sync within seconds, so the door was not opened. Try again in a minute.")
        case .running:
            throw KisiProblem(.outcomeUnknown, "Kisi did not answer in time; the door may or may not have opened.")
        }
    }

    public func resendInvitation(_ request: SyncCommand.InvitationRequest, wait: Duration) async throws -> InvitationOutcome {
        guard await connectionStored() else { throw KisiProblem.notConnected }
        let record = try await send(
            .resendInvitation(request), requestedBy: request.actor, lifetime: configuration.invitationLifetime, wait: wait)
        switch record.status {
        case .succeeded, .failed:
            let answer = try Self.answer(of: record)
            if let problem = answer.problem { throw problem }
            return .sent(answer.summary)
        case .expired:
            throw KisiProblem(.noLeader, "No BooGYMan server ran the Kisi sync for ten minutes, so the invitation was not sent.")
        case .pending, .running:
            return .queued
        }
    }

    public func requestDisconnectRevokingAccess(requestedBy: String) async throws {
        guard isConnected else { throw KisiProblem.notConnected }
        // The leading replica does it, fenced like every sync write, after stopping its sync; revoking
        // from here could race a grant the running sync is about to make.
        try await repository.syncState.set(.disconnectOutcome, nil)
        try await repository.syncState.set(.disconnectRequested, requestedBy)
    }

    public func disconnectLeavingAccess() async throws {
        try await repository.deleteKisiSettings()
        // This replica stops at once; the others notice within their next look at the settings.
        engines.replace(with: nil)
    }

    /// Queues `command`, wakes a leader in this process, and waits until it is finished or `wait` passes.
    func send(_ command: SyncCommand, requestedBy: String, lifetime: Duration, wait: Duration? = nil) async throws -> SyncCommandRecord {
        let payload = String(decoding: try JSONEncoder().encode(command), as: UTF8.self)
        let expiresAt = Date().addingTimeInterval(Self.seconds(lifetime))
        let id = try await repository.enqueueSyncCommand(kind: command.kind, payload: payload, requestedBy: requestedBy, expiresAt: expiresAt)
        bell.ring()
        let clock = ContinuousClock()
        let deadline = clock.now + (wait ?? configuration.answerDeadline)
        while true {
            guard let record = try await repository.syncCommand(id) else {
                throw KisiProblem(.unexpected, "The request for the Kisi sync disappeared.")
            }
            if record.isFinished || clock.now >= deadline || Task.isCancelled { return record }
            // Unclaimed past its lifetime (and a second's grace for a claim in flight): no leader will run it
            // now, since a claim marks such commands expired first. Answer at once rather than at `deadline`.
            if record.status == .pending, Date() > expiresAt.addingTimeInterval(1) { return record }
            try? await Task.sleep(for: configuration.answerPollInterval)
        }
    }

    static func answer(of record: SyncCommandRecord) throws -> SyncCommandAnswer {
        guard let text = record.result, let answer = try? JSONDecoder().decode(SyncCommandAnswer.self, from: Data(text.utf8)) else {
            throw KisiProblem(.unexpected, "The Kisi sync gave no readable answer (\(record.error ?? "no details")).")
        }
        return answer
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    // MARK: Reads

    func read<T: Sendable>(_ work: (KisiClient) async throws -> T) async throws -> T {
        let client = try await client()
        do {
            return try await work(client)
        } catch {
            throw KisiProblem(error)
        }
    }

    public func organization() async throws -> KisiOrganizationSummary {
        try await read { client in
            let organization = try await client.organization()
            return KisiOrganizationSummary(id: organization.id, name: organization.name)
        }
    }

    public func places() async throws -> [KisiPlaceSummary] {
        try await read { client in try await client.allPlaces().collect().map { KisiPlaceSummary(id: $0.id, name: $0.name) } }
    }

    public func locks() async throws -> [KisiLockSummary] {
        try await read { client in try await client.allLocks().collect().map(KisiLockSummary.init) }
    }

    public func keyRights() async throws -> KisiKeyRights {
        let settings = await storedSettings()
        let rights = await KisiKeyRights.discover(with: try await client(for: settings))
        if let settings { try? await rights.keep(for: settings, in: repository) }
        return rights
    }

    public func connectionRights() async -> KisiKeyRights? {
        let settings = await storedSettings()
        if let settings, let kept = await KisiKeyRights.stored(for: settings, in: repository) { return kept }
        guard let client = try? await client(for: settings) else { return nil }
        let rights = await KisiKeyRights.discover(with: client, deadline: configuration.rightsDiscoveryDeadline)
        guard !rights.discoveryFailed else { return nil }
        if let settings { try? await rights.keep(for: settings, in: repository) }
        return rights
    }

    /// Why the connected key may not unlock `lockID`, or nil when it may (or its rights are unknown). The
    /// door's place is its club's, else Kisi's for a lock the gym's layout does not know.
    func unlockRefusal(lockID: Int) async -> String? {
        guard let rights = await connectionRights(), let unlock = rights.unlock, unlock != .organization else { return nil }
        if case .none = unlock { return rights.unlockRefusal(placeID: nil, placeName: nil) }
        if let layout = try? await repository.layout(), let door = layout.allDoors.first(where: { $0.lockID == lockID }),
           let club = layout.clubs[door.clubID], let placeID = club.kisiPlaceID {
            return rights.unlockRefusal(placeID: placeID, placeName: club.name)
        }
        let lock = try? await read { client in try await client.lock(id: lockID) }
        return rights.unlockRefusal(placeID: lock?.placeID, placeName: lock?.placeName)
    }

    /// The stored settings, when this replica can open them.
    func storedSettings() async -> KisiSettings? {
        guard let masterKey else { return nil }
        return (try? await repository.kisiSettings(masterKey: masterKey)) ?? nil
    }

    /// A client for the stored key when known (what is learnt about a key must come from that key, even in
    /// the seconds before this replica adopts it), else the connection in force.
    func client(for settings: KisiSettings?) async throws -> KisiClient {
        guard let settings else { return try await client() }
        return try KisiConnector.client(settings: settings, repository: repository, logger: logger, sharedPacing: configuration.sharedPacing)
    }

    public func integrations() async throws -> [KisiIntegrationSummary] {
        try await read { client in
            try await client.allIntegrations().collect().map { KisiIntegrationSummary(id: $0.id, type: $0.type, name: $0.name) }
        }
    }

    public func unlockEvents(from: Date, to: Date, kisiUserID: Int?) async throws -> [DoorEvent] {
        // The interval is sent in whole seconds, so its end is rounded up: rounded down, it would leave
        // out an unlock of the last second (the one a member just made at the desk).
        let end = Date(timeIntervalSince1970: to.timeIntervalSince1970.rounded(.up))
        var query = KisiEventQuery(from: from, to: end, eventTypes: ["lock.unlock"])
        if let kisiUserID {
            query.actorType = "User"
            query.actorID = kisiUserID
        }
        // A key limited to some places asks for each of its places by name (Kisi's `place_id` filter), so no
        // query reaches beyond what it may read; one that may read none is not sent at all.
        var queries = [query]
        if let rights = await connectionRights() {
            let gymPlaces = Set(((try? await repository.layout())?.clubs.values.compactMap(\.kisiPlaceID)) ?? [])
            if let places = rights.eventPlaceIDs(gymPlaceIDs: gymPlaces) {
                guard !places.isEmpty else { throw KisiProblem(.forbidden, rights.eventPollingWords) }
                queries = places.map { place in
                    var placed = query
                    placed.placeID = place
                    return placed
                }
            }
        }
        let chosen = queries
        return try await read { client in
            var events: [String: DoorEvent] = [:]
            for query in chosen {
                // Kisi collects large sets in the background; a few short waits cover a page's windows.
                for event in try await client.allEvents(query, maximumPolls: 5).collect().map(DoorEvent.init) { events[event.kisiUUID] = event }
            }
            return events.values.sorted { $0.occurredAt < $1.occurredAt }
        }
    }

    public func kisiUsers(email: String) async throws -> [KisiUserSummary] {
        try await read { client in
            try await client.allUsers(filter: KisiUserFilter(email: email)).collect()
                .filter { $0.email.caseInsensitiveCompare(email) == .orderedSame }
                .sorted { $0.id < $1.id }
                .map(KisiUserSummary.init)
        }
    }

    public func kisiUsers(offset: Int, limit: Int) async throws -> KisiUserPage {
        try await read { client in
            let page = try await client.users(offset: offset, limit: limit)
            return KisiUserPage(users: page.items.map(KisiUserSummary.init), offset: page.offset, limit: page.limit, total: page.total)
        }
    }

    public func kisiUser(id: Int) async throws -> KisiUserSummary? {
        try await read { client in
            do {
                return KisiUserSummary(try await client.user(id: id))
            } catch KisiError.notFound {
                return nil
            }
        }
    }
}
