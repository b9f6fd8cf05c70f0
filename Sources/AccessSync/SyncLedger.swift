import Foundation
import GymCore
import GymStore

/// One write to Kisi as journalled *before* the call: what, on which object, for whom, why.
public struct SyncWriteIntent: Sendable, Hashable {
    /// The action name, e.g. `createUser`, `createGrant`, `removeGrant` (``SyncActionKind/actionName``).
    public var action: String
    /// `group`, `group_lock`, `user`, `role_assignment`, `invite`.
    public var kisiObjectType: String
    /// The Kisi object written, when it exists before the call (updates, deletes).
    public var kisiObjectID: Int?
    public var memberID: UUID?
    public var planID: UUID?
    /// What caused the run, e.g. `full reconcile`, `change #123`.
    public var trigger: String
    /// Who: `sync` or a staff member's name.
    public var actor: String
    /// The planner's reason, in words for people.
    public var reason: String
    /// The request body about to be sent; never the API key or any other secret.
    public var requestJSON: String

    public init(
        action: String, kisiObjectType: String, kisiObjectID: Int? = nil, memberID: UUID? = nil, planID: UUID? = nil,
        trigger: String, actor: String, reason: String, requestJSON: String
    ) {
        self.action = action
        self.kisiObjectType = kisiObjectType
        self.kisiObjectID = kisiObjectID
        self.memberID = memberID
        self.planID = planID
        self.trigger = trigger
        self.actor = actor
        self.reason = reason
        self.requestJSON = requestJSON
    }
}

/// How a journalled write ended.
public struct SyncWriteOutcome: Sendable, Hashable {
    public var status: KisiWriteStatus
    public var kisiObjectType: String?
    /// The Kisi object written (e.g. the ID of the created user).
    public var kisiObjectID: Int?
    public var kisiStatus: Int?
    public var kisiCode: String?
    public var error: String?

    public init(
        status: KisiWriteStatus, kisiObjectType: String? = nil, kisiObjectID: Int? = nil, kisiStatus: Int? = nil,
        kisiCode: String? = nil, error: String? = nil
    ) {
        self.status = status
        self.kisiObjectType = kisiObjectType
        self.kisiObjectID = kisiObjectID
        self.kisiStatus = kisiStatus
        self.kisiCode = kisiCode
        self.error = error
    }
}

/// The durable side of the sync: links, the write journal, held reviews and small sync state.
///
/// The engine writes a journal entry *before* every Kisi write (``beginWrite(_:)``) and finishes it
/// after (``finishWrite(id:_:)``); an entry still `pending` (the process died mid-call) or `unknown`
/// (the response was lost) is listed by ``unfinishedWrites()`` and makes the next run look Kisi up
/// before writing the same thing again.
public protocol SyncLedger: Sendable {
    /// Stored links: managed-group key → Kisi group ID, member ID → Kisi user ID.
    func links() async throws -> KisiLinks
    /// Every group link, and the user links of these members and of these Kisi users: what a run
    /// about a few members needs, without loading the whole gym's links.
    func links(memberIDs: Set<UUID>, userIDs: Set<Int>) async throws -> KisiLinks
    /// Stores (or with nil drops) the link of a managed group to its Kisi group.
    func setGroupLink(key: ManagedGroupKey, groupID: Int?) async throws
    /// Stores (or with nil drops) the link of a member to their Kisi user.
    func setUserLink(memberID: UUID, userID: Int?) async throws

    /// Journals a write about to be sent; returns the entry's ID.
    func beginWrite(_ intent: SyncWriteIntent) async throws -> Int
    func finishWrite(id: Int, _ outcome: SyncWriteOutcome) async throws
    /// Entries whose outcome is not known: `pending` or `unknown`, oldest first.
    func unfinishedWrites() async throws -> [KisiWrite]

    /// Reviews open for staff.
    func openReviews() async throws -> [HeldReview]
    func holdForReview(_ review: HeldReview, kisiUserID: Int?) async throws
    func resolveReview(_ key: ReviewKey, resolution: String) async throws

    func syncState(_ key: String) async throws -> String?
    /// Stores a value; nil removes the key.
    func setSyncState(_ key: String, _ value: String?) async throws
}

extension SyncLedger {
    public func links(memberIDs: Set<UUID>, userIDs: Set<Int>) async throws -> KisiLinks {
        let all = try await links()
        return KisiLinks(groups: all.groups, users: all.users.filter { memberIDs.contains($0.key) || userIDs.contains($0.value) })
    }
}

/// A ``SyncLedger`` in memory, for tests and dry runs.
public actor InMemorySyncLedger: SyncLedger {
    public private(set) var storedLinks = KisiLinks()
    public private(set) var journal: [KisiWrite] = []
    public private(set) var reviews: [ReviewKey: HeldReview] = [:]
    public private(set) var resolved: [ReviewKey: String] = [:]
    public private(set) var state: [String: String] = [:]

    public init(links: KisiLinks = KisiLinks()) {
        self.storedLinks = links
    }

    public func links() -> KisiLinks { storedLinks }

    public func setGroupLink(key: ManagedGroupKey, groupID: Int?) {
        storedLinks.groups[key] = groupID
    }

    public func setUserLink(memberID: UUID, userID: Int?) {
        storedLinks.users[memberID] = userID
    }

    public func beginWrite(_ intent: SyncWriteIntent) -> Int {
        let id = journal.count + 1
        journal.append(KisiWrite(
            id: id, createdAt: Date(), action: intent.action, kisiObjectType: intent.kisiObjectType,
            kisiObjectID: intent.kisiObjectID, memberID: intent.memberID, planID: intent.planID, trigger: intent.trigger,
            actor: intent.actor, reason: intent.reason, requestJSON: intent.requestJSON, status: .pending))
        return id
    }

    public func finishWrite(id: Int, _ outcome: SyncWriteOutcome) {
        guard let index = journal.firstIndex(where: { $0.id == id }) else { return }
        journal[index].status = outcome.status
        journal[index].finishedAt = Date()
        if let type = outcome.kisiObjectType { journal[index].kisiObjectType = type }
        if let objectID = outcome.kisiObjectID { journal[index].kisiObjectID = objectID }
        journal[index].kisiStatus = outcome.kisiStatus
        journal[index].kisiCode = outcome.kisiCode
        journal[index].error = outcome.error
    }

    public func unfinishedWrites() -> [KisiWrite] {
        journal.filter { $0.status == .pending || $0.status == .unknown }
    }

    public func openReviews() -> [HeldReview] {
        reviews.values.sorted { $0.key < $1.key }
    }

    public func holdForReview(_ review: HeldReview, kisiUserID: Int?) {
        reviews[review.key] = review
        resolved[review.key] = nil
    }

    public func resolveReview(_ key: ReviewKey, resolution: String) {
        guard reviews.removeValue(forKey: key) != nil else { return }
        resolved[key] = resolution
    }

    public func syncState(_ key: String) -> String? { state[key] }

    public func setSyncState(_ key: String, _ value: String?) {
        state[key] = value
    }

    /// Test helper: corrupts or seeds the journal (e.g. an entry left `pending` by a crash).
    public func appendJournal(_ write: KisiWrite) {
        journal.append(write)
    }
}

extension SyncLedger {
    /// The sync state, typed, through this ledger (the live ledger's writes are fenced by the sync lease).
    public var syncState: SyncState {
        SyncState(read: { key in try await self.syncState(key) }, write: { key, value in try await self.setSyncState(key, value) })
    }
}
