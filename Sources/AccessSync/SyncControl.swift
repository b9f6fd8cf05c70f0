import Foundation
import GymCore
import GymStore

/// Everything the web and admin code may ask of Kisi, in one narrow door.
///
/// Writes are never made here: they are handed to the replica holding the sync lease (through the
/// database: the access change log for "look at this member again", `sync_commands` for unlocks and
/// invitations) and carried out by its fenced executor, serialized with its runs and paced with them.
/// This replica waits for the answer with a deadline. Reads for pages (places, locks, door events,
/// Kisi users) are made here, through the connection's paced client.
public protocol SyncControl: Sendable {
    /// Whether Kisi is connected (on this replica's last look at the stored settings).
    var isConnected: Bool { get }
    /// The sync's options of the connection in force (how Kisi users are created), nil while not connected.
    func options() async -> SyncOptions?

    // MARK: Planning (reads only)

    /// Every action a full reconcile would take now, with its reason; changes nothing.
    func dryRun() async throws -> [SyncAction]
    /// Revocations the mass-revocation brake holds for staff's decision.
    func heldRevocations() async throws -> [HeldRevocation]
    /// What "disconnect and revoke all managed access" would remove.
    func managedAccessRevocations() async throws -> [SyncAction]

    // MARK: Requests to the leader

    /// Approves the held revocations; the leader carries them out at its next poll. Returns how many.
    func approveHeldRevocations() async throws -> Int
    /// Withdraws an approval: nothing held is revoked.
    func rejectHeldRevocations() async throws
    /// Waits (up to `wait`) until the leader has applied the access change log through `changeID`
    /// (a block, an unblock, a "Resync now"), and says how it went for `memberID`.
    func memberSynced(_ memberID: UUID, throughChange changeID: Int, since: Date, wait: Duration) async -> MemberSyncOutcome
    /// Opens a door through the leader. Throws ``KisiProblem`` when Kisi refused or nobody could ask it in time.
    func unlock(_ request: SyncCommand.UnlockRequest) async throws -> SyncCommandAnswer
    /// Has Kisi e-mail the invitation again through the leader; ``InvitationOutcome/queued`` when the leader
    /// is busy with a sync step past `wait` (it sends it right after).
    func resendInvitation(_ request: SyncCommand.InvitationRequest, wait: Duration) async throws -> InvitationOutcome
    /// Asks the leader to revoke all managed access and then forget the connection.
    func requestDisconnectRevokingAccess(requestedBy: String) async throws
    /// Forgets the connection at once, leaving Kisi as it is.
    func disconnectLeavingAccess() async throws

    // MARK: Reads for pages, paced with the sync

    func organization() async throws -> KisiOrganizationSummary
    func places() async throws -> [KisiPlaceSummary]
    func locks() async throws -> [KisiLockSummary]
    /// What the connected key may do, found out from Kisi (its user, role assignments and roles); a
    /// discovery Kisi does not allow or answer is said in the result's lines, not thrown.
    func keyRights() async throws -> KisiKeyRights
    /// What the connected key may do as kept with the connection: found out from Kisi once per key (within
    /// a page's deadline) and kept in the sync state. Nil while not connected or when Kisi could not say.
    func connectionRights() async -> KisiKeyRights?
    /// Kisi's integrations; ``KisiProblem/Kind/forbidden`` when the key may not list them.
    func integrations() async throws -> [KisiIntegrationSummary]
    /// Unlock attempts in `[from, to]` (of one Kisi user when given), oldest first, from Kisi's event sets.
    func unlockEvents(from: Date, to: Date, kisiUserID: Int?) async throws -> [DoorEvent]
    /// Kisi users whose e-mail is `email` (case-insensitively), by ID.
    func kisiUsers(email: String) async throws -> [KisiUserSummary]
    /// One Kisi user, or nil when Kisi does not know it.
    func kisiUser(id: Int) async throws -> KisiUserSummary?
    /// One page of the organization's Kisi users (one Kisi request), oldest first as Kisi lists them.
    func kisiUsers(offset: Int, limit: Int) async throws -> KisiUserPage
}

/// How a member's change reached Kisi, as far as the page can wait for it.
public enum MemberSyncOutcome: Sendable, Equatable {
    /// The leader applied it; Kisi confirmed every write for the member.
    case applied
    /// The leader applied it but something is still owed: a refused write (retried by itself), a held
    /// revocation, a paused sync. The words say what.
    case incomplete(String)
    /// Not applied within the wait (no leader, or a busy one): the change log still carries it.
    case later(String)
    /// Kisi is not connected.
    case notConnected
}

public enum InvitationOutcome: Sendable, Equatable {
    case sent(String)
    /// Queued for the leader, which sends it once its current sync step ends.
    case queued
}
