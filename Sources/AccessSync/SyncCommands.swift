import Foundation
import GymStore
import KisiAPI
import Logging
import ServiceLifecycle
import Synchronization

/// A Kisi write staff asked for, carried out by the replica leading the sync (see ``SyncControl``).
public enum SyncCommand: Codable, Sendable, Equatable {
    /// Open a door now.
    case unlock(UnlockRequest)
    /// Have Kisi e-mail a member their invitation again.
    case resendInvitation(InvitationRequest)

    var kind: String {
        switch self {
        case .unlock: "unlock"
        case .resendInvitation: "resend_invitation"
        }
    }

    public struct UnlockRequest: Codable, Sendable, Equatable {
        public var lockID: Int
        /// Who, as the journal names them (`staff:<e-mail>`).
        public var actor: String
        public var reason: String

        public init(lockID: Int, actor: String, reason: String) {
            self.lockID = lockID
            self.actor = actor
            self.reason = reason
        }
    }

    /// Kisi's own invitation e-mail, again: the member's current grant in their plan's group, repeated.
    public struct InvitationRequest: Codable, Sendable, Equatable {
        public var memberID: UUID
        /// The plan the grant comes from; nil for a class booking's group.
        public var planID: UUID?
        public var kisiUserID: Int
        public var groupID: Int
        public var email: String
        public var name: String
        public var validFrom: Date
        public var validUntil: Date
        public var actor: String
        public var reason: String

        public init(
            memberID: UUID, planID: UUID?, kisiUserID: Int, groupID: Int, email: String, name: String, validFrom: Date, validUntil: Date,
            actor: String, reason: String
        ) {
            self.memberID = memberID
            self.planID = planID
            self.kisiUserID = kisiUserID
            self.groupID = groupID
            self.email = email
            self.name = name
            self.validFrom = validFrom
            self.validUntil = validUntil
            self.actor = actor
            self.reason = reason
        }
    }
}

/// How a command ended, as the leader stores it for the replica that asked.
public struct SyncCommandAnswer: Codable, Sendable, Equatable {
    /// nil when Kisi confirmed the write.
    public var problem: KisiProblem?
    /// What was done, in words for staff, e.g. "Kisi e-mailed the invitation (updated role assignment 812)."
    public var summary: String

    public init(problem: KisiProblem? = nil, summary: String) {
        self.problem = problem
        self.summary = summary
    }
}

/// Wakes the leader's command loop at once when a command is queued by this process, so that in a
/// single-process setup a command costs no polling delay. Commands from other replicas are found by
/// the loop's own polling.
public final class SyncCommandBell: Sendable {
    private let state = Mutex<(rung: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    public init() {}

    public func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns when rung (or at once if rung since the last wait), or after `timeout`.
    func wait(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.waitForRing() }
            await group.next()
            group.cancelAll()
            // A ring that lost the race to the timeout wakes the stored waiter, which then ends.
            self.cancelWaiter()
        }
    }

    private func waitForRing() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            cancelWaiter()
        }
    }

    private func cancelWaiter() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}

/// The leader's side of ``SyncCommand``s: claims queued commands under the term's lease and carries
/// them out with the term's fenced engine, so every staff-initiated Kisi write is journalled with the
/// leader's fencing token and paced with the sync's own calls.
///
/// Unlocks do not wait for a running sync step: opening a door touches no access right, so it cannot
/// collide with the sync's writes, and a door must open while a long reconcile runs. Invitations do:
/// they write the same role assignments the sync manages, so they run between its steps.
public struct SyncCommandProcessor: Service {
    public let engine: SyncEngine
    public let repository: GymRepository
    public let fence: LeaseFence
    public let bell: SyncCommandBell
    /// How often the database is asked for commands queued by other replicas.
    public var pollInterval: Duration
    public let logger: Logger

    public init(
        engine: SyncEngine, repository: GymRepository, fence: LeaseFence, bell: SyncCommandBell, pollInterval: Duration = .milliseconds(100),
        logger: Logger
    ) {
        self.engine = engine
        self.repository = repository
        self.fence = fence
        self.bell = bell
        self.pollInterval = pollInterval
        self.logger = logger
    }

    public func run() async throws {
        var lastCleanup = Date.distantPast
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                do {
                    for command in try await repository.claimSyncCommands(fence: fence) {
                        group.addTask { await carryOut(command) }
                    }
                    if Date().timeIntervalSince(lastCleanup) > 3600 {
                        lastCleanup = Date()
                        try await repository.deleteFinishedSyncCommands(before: Date().addingTimeInterval(-86_400))
                    }
                } catch is FencingError {
                    return  // the term is over; the next leader claims what waits
                } catch {
                    logger.warning("sync commands could not be read", metadata: ["error": "\(error)"])
                }
                await bell.wait(upTo: pollInterval)
            }
        }
    }

    func carryOut(_ record: SyncCommandRecord) async {
        let answer: SyncCommandAnswer
        do {
            let command = try JSONDecoder().decode(SyncCommand.self, from: Data(record.payload.utf8))
            answer = try await engine.perform(command, trigger: "staff request \(record.id.uuidString.prefix(8))")
        } catch {
            answer = SyncCommandAnswer(problem: KisiProblem(error), summary: "not carried out")
        }
        let encoded = (try? JSONEncoder().encode(answer)).map { String(decoding: $0, as: UTF8.self) }
        do {
            try await repository.finishSyncCommand(
                id: record.id, succeeded: answer.problem == nil, result: encoded, error: answer.problem?.detail)
        } catch {
            logger.error("the answer to a sync command could not be stored", metadata: ["command": "\(record.id)", "error": "\(error)"])
        }
    }
}

extension SyncEngine {
    /// Carries out one staff command through this engine's client and ledger (fenced on the leader).
    func perform(_ command: SyncCommand, trigger: String) async throws -> SyncCommandAnswer {
        switch command {
        case .unlock(let request): return try await unlock(request, trigger: trigger)
        case .resendInvitation(let request): return try await serialized { try await self.resendInvitation(request, trigger: trigger) }
        }
    }

    func unlock(_ request: SyncCommand.UnlockRequest, trigger: String) async throws -> SyncCommandAnswer {
        let writeID = try await ledger.beginWrite(SyncWriteIntent(
            action: "unlock_lock", kisiObjectType: "lock", kisiObjectID: request.lockID, trigger: trigger, actor: request.actor,
            reason: request.reason, requestJSON: "{}"))
        do {
            _ = try await client.unlock(lockID: request.lockID)
            try await ledger.finishWrite(id: writeID, SyncWriteOutcome(status: .succeeded))
            return SyncCommandAnswer(summary: "Kisi unlocked lock \(request.lockID).")
        } catch {
            try await finishFailed(writeID, error)
            return SyncCommandAnswer(problem: KisiProblem(error), summary: "The door did not unlock.")
        }
    }

    /// Kisi allows one role per user and group, so a member who holds the grant cannot be invited again;
    /// updating that assignment with `notify` makes Kisi e-mail them instead. A member without it (removed
    /// by hand in Kisi) gets a fresh Group invite, as the sync's first one was.
    func resendInvitation(_ request: SyncCommand.InvitationRequest, trigger: String) async throws -> SyncCommandAnswer {
        let held: KisiRoleAssignment?
        do {
            held = try await client.allRoleAssignments(filter: KisiRoleAssignmentFilter(assignee: .user(id: request.kisiUserID))).collect()
                .first { $0.appliesTo == .group(id: request.groupID) }
        } catch {
            return SyncCommandAnswer(problem: KisiProblem(error), summary: "Kisi did not send the invitation.")
        }
        let body: [String: Any] = held.map { ["role_assignment_id": $0.id, "notify": true] } ?? [
            "group_id": request.groupID, "email": request.email, "name": request.name, "role_id": groupBasicRoleID,
            "valid_from": request.validFrom.formatted(.iso8601), "valid_until": request.validUntil.formatted(.iso8601), "notify": true,
        ]
        let writeID = try await ledger.beginWrite(SyncWriteIntent(
            action: "resend_invite", kisiObjectType: held == nil ? "invite" : "role_assignment", kisiObjectID: held?.id,
            memberID: request.memberID, planID: request.planID, trigger: trigger, actor: request.actor, reason: request.reason,
            requestJSON: Self.sortedJSON(body)))
        do {
            if let held {
                try await client.updateRoleAssignment(id: held.id, KisiRoleAssignmentPatch(notify: true))
                try await ledger.finishWrite(id: writeID, SyncWriteOutcome(status: .succeeded))
                return SyncCommandAnswer(summary: "Kisi e-mails the invitation again (role assignment \(held.id)).")
            }
            let invite = try await client.createInvite(.group(
                id: request.groupID, invitee: .user(email: request.email, name: request.name), roleID: groupBasicRoleID,
                validFrom: request.validFrom, validUntil: request.validUntil, notify: true))
            try await ledger.finishWrite(id: writeID, SyncWriteOutcome(status: .succeeded, kisiObjectID: invite.id))
            return SyncCommandAnswer(summary: "Kisi invited the member again (invite \(invite.id)).")
        } catch {
            try await finishFailed(writeID, error)
            return SyncCommandAnswer(problem: KisiProblem(error), summary: "Kisi did not send the invitation.")
        }
    }

    private func finishFailed(_ writeID: Int, _ error: any Error) async throws {
        let kisi = error as? KisiError
        let status: KisiWriteStatus = if case KisiError.outcomeUnknown = error { .unknown } else { .failed }
        try await ledger.finishWrite(id: writeID, SyncWriteOutcome(
            status: status, kisiStatus: kisi?.httpStatus, kisiCode: kisi?.code, error: "\(error)"))
    }

    static func sortedJSON(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
