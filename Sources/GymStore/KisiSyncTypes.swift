import Foundation
import GymCore

// The Kisi sync's stored state, as the rest of BooGYMan sees it.

/// How the sync creates Kisi users for members.
public enum KisiUserCreationMode: String, Sendable, CaseIterable, Codable {
    /// Users are created managed by the organization; no e-mail goes to the member.
    case managed
    /// Users are invited by e-mail and set up their own Kisi account.
    case invitations
}

/// How BooGYMan reaches Kisi. Stored with `apiKey` and `webhookSecret` sealed under the master key.
///
/// `description`, `debugDescription` and the mirror (`dump`) redact both secrets, so the settings
/// may be logged or interpolated into messages safely.
public struct KisiSettings: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public static let defaultBaseURL = "https://api.kisi.io"

    public var apiKey: String
    public var organizationID: Int?
    public var baseURL: String
    /// BooGYMan's own public URL, for Kisi webhooks; nil when webhooks are not set up.
    public var instanceURL: String?
    public var userCreationMode: KisiUserCreationMode
    public var webhookSecret: String?

    public init(
        apiKey: String, organizationID: Int? = nil, baseURL: String = KisiSettings.defaultBaseURL,
        instanceURL: String? = nil, userCreationMode: KisiUserCreationMode = .managed, webhookSecret: String? = nil
    ) {
        self.apiKey = apiKey
        self.organizationID = organizationID
        self.baseURL = baseURL
        self.instanceURL = instanceURL
        self.userCreationMode = userCreationMode
        self.webhookSecret = webhookSecret
    }

    public var description: String {
        let organization = organizationID.map(String.init) ?? "nil"
        let instance = instanceURL.map { "\"\($0)\"" } ?? "nil"
        let webhook = webhookSecret == nil ? "nil" : "<redacted>"
        return "KisiSettings(apiKey: <redacted>, organizationID: \(organization), baseURL: \"\(baseURL)\", "
            + "instanceURL: \(instance), userCreationMode: \(userCreationMode.rawValue), webhookSecret: \(webhook))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: [
            "apiKey": "<redacted>",
            "organizationID": organizationID as Any,
            "baseURL": baseURL,
            "instanceURL": instanceURL as Any,
            "userCreationMode": userCreationMode,
            "webhookSecret": (webhookSecret == nil ? nil : "<redacted>") as Any,
        ], displayStyle: .struct)
    }

    /// Field problems, without echoing secret values.
    func validate() throws {
        var errors = FieldErrors()
        if apiKey.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { errors.add("api_key", "is required") }
        if let organizationID, organizationID <= 0 { errors.add("organization_id", "must be a positive Kisi organization ID") }
        if !Self.isHTTPURL(baseURL) { errors.add("base_url", "must be an absolute http(s) URL such as \(Self.defaultBaseURL)") }
        if let instanceURL, !Self.isHTTPURL(instanceURL) {
            errors.add("instance_url", "must be an absolute http(s) URL such as https://gym.example.com")
        }
        if let webhookSecret, webhookSecret.isEmpty { errors.add("webhook_secret", "must not be empty; leave it out instead") }
        try errors.throwIfAny()
    }

    static func isHTTPURL(_ text: String) -> Bool {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "https" || scheme == "http", let host = components.host, !host.isEmpty
        else { return false }
        return true
    }
}

/// Which Kisi object stands for which local one: a managed group (a plan's, a plan's at one place, a
/// studio's classes') is one Kisi group, a member one Kisi user.
public struct KisiLinks: Sendable, Equatable {
    /// Managed-group key → Kisi group ID.
    public var groups: [ManagedGroupKey: Int]
    /// Member ID → Kisi user ID.
    public var users: [UUID: Int]

    public init(groups: [ManagedGroupKey: Int] = [:], users: [UUID: Int] = [:]) {
        self.groups = groups
        self.users = users
    }

    /// The Kisi groups of a plan (its whole group, or one per place), by key.
    public func groups(ofPlan planID: UUID) -> [ManagedGroupKey: Int] {
        groups.filter { $0.key.planID == planID }
    }
}

/// Where one write to Kisi stands.
public enum KisiWriteStatus: String, Sendable, CaseIterable, Codable {
    /// Recorded, about to be sent (or the process died while sending).
    case pending
    /// Kisi confirmed it.
    case succeeded
    /// Kisi refused it, or it could not be sent at all.
    case failed
    /// Sent, but the outcome is unknown (timeout, connection lost); the sync must check Kisi.
    case unknown
    /// Decided against (e.g. held by the brake, or nothing to do).
    case skipped
}

/// One write to Kisi: the sync's durable journal entry and its audit-log line.
public struct KisiWrite: Sendable, Equatable, Identifiable {
    public var id: Int
    public var createdAt: Date
    public var finishedAt: Date?
    /// What was done, e.g. `createUser`, `createGrant`, `removeGrant`, `updateGroup`.
    public var action: String
    public var kisiObjectType: String?
    public var kisiObjectID: Int?
    public var memberID: UUID?
    public var planID: UUID?
    /// What caused it, e.g. `change #123`, `full reconcile`, `webhook`, `staff:<name>`.
    public var trigger: String?
    /// Who did it: `sync`, or a staff member's or API token's name.
    public var actor: String
    /// Why, in words for people.
    public var reason: String
    /// The body about to be sent; never the API key.
    public var requestJSON: String?
    public var status: KisiWriteStatus
    /// Kisi's HTTP status, when it answered.
    public var kisiStatus: Int?
    /// Kisi's error code, when it gave one.
    public var kisiCode: String?
    public var error: String?
    /// The token of the sync lease the write was sent under (see ``LeaseFence``): which leader sent it.
    public var fencingToken: Int64?

    public init(
        id: Int, createdAt: Date, finishedAt: Date? = nil, action: String, kisiObjectType: String? = nil, kisiObjectID: Int? = nil,
        memberID: UUID? = nil, planID: UUID? = nil, trigger: String? = nil, actor: String, reason: String, requestJSON: String? = nil,
        status: KisiWriteStatus, kisiStatus: Int? = nil, kisiCode: String? = nil, error: String? = nil, fencingToken: Int64? = nil
    ) {
        self.fencingToken = fencingToken
        self.id = id
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.action = action
        self.kisiObjectType = kisiObjectType
        self.kisiObjectID = kisiObjectID
        self.memberID = memberID
        self.planID = planID
        self.trigger = trigger
        self.actor = actor
        self.reason = reason
        self.requestJSON = requestJSON
        self.status = status
        self.kisiStatus = kisiStatus
        self.kisiCode = kisiCode
        self.error = error
    }
}

/// Which Kisi writes to list; every criterion given must hold. `from` is inclusive, `until` exclusive.
public struct KisiWriteFilter: Sendable, Equatable {
    public var memberID: UUID?
    public var planID: UUID?
    public var action: String?
    public var status: KisiWriteStatus?
    public var from: Date?
    public var until: Date?

    public init(
        memberID: UUID? = nil, planID: UUID? = nil, action: String? = nil, status: KisiWriteStatus? = nil,
        from: Date? = nil, until: Date? = nil
    ) {
        self.memberID = memberID
        self.planID = planID
        self.action = action
        self.status = status
        self.from = from
        self.until = until
    }
}

/// Something the sync would not decide alone (e.g. a Kisi user it cannot match to one member, or
/// a revocation held by the brake), waiting for staff.
public struct HeldReview: Sendable, Equatable, Identifiable {
    public var id: UUID
    public var kind: String
    public var memberID: UUID?
    public var kisiUserID: Int?
    public var detail: String
    public var createdAt: Date
    public var resolvedAt: Date?
    public var resolution: String?

    public init(
        id: UUID, kind: String, memberID: UUID? = nil, kisiUserID: Int? = nil, detail: String, createdAt: Date,
        resolvedAt: Date? = nil, resolution: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.memberID = memberID
        self.kisiUserID = kisiUserID
        self.detail = detail
        self.createdAt = createdAt
        self.resolvedAt = resolvedAt
        self.resolution = resolution
    }
}

/// Work the sync owes Kisi because a write or a run failed (5xx, timeout, lost response, a read that
/// did not answer): each member, plan or whole run is retried by itself with backoff until it goes
/// through. Kept in `sync_state` so that it survives a restart, a new leader inherits it, and every
/// replica's status page shows "retrying".
public struct SyncRetryState: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        /// Failed attempts so far (the first failure counts as one).
        public var attempts: Int
        public var firstFailedAt: Date
        public var nextAttemptAt: Date
        public var lastError: String
        /// A revocation is among the failed work: it is retried before everything else.
        public var revocation: Bool

        public init(attempts: Int, firstFailedAt: Date, nextAttemptAt: Date, lastError: String, revocation: Bool) {
            self.attempts = attempts
            self.firstFailedAt = firstFailedAt
            self.nextAttemptAt = nextAttemptAt
            self.lastError = lastError
            self.revocation = revocation
        }
    }

    /// Members whose actions failed, by member ID (UUID text: JSON objects need string keys).
    public var members: [String: Entry]
    /// Plans whose group actions failed, by plan ID.
    public var plans: [String: Entry]
    /// A full reconcile is owed: a run failed as a whole, or a failure concerned no one member or plan.
    public var full: Entry?
    /// Access changes could not be processed (a read failed); they stay queued and are retried with backoff.
    public var changes: Entry?

    public init(members: [String: Entry] = [:], plans: [String: Entry] = [:], full: Entry? = nil, changes: Entry? = nil) {
        self.members = members
        self.plans = plans
        self.full = full
        self.changes = changes
    }

    public var isEmpty: Bool { members.isEmpty && plans.isEmpty && full == nil && changes == nil }

    var allEntries: [Entry] { Array(members.values) + Array(plans.values) + [full, changes].compactMap { $0 } }

    /// The earliest planned retry, if any work is owed.
    public var nextAttemptAt: Date? { allEntries.map(\.nextAttemptAt).min() }
    /// The most attempts any owed work has taken.
    public var maxAttempts: Int { allEntries.map(\.attempts).max() ?? 0 }
    /// The error of the most recently failed attempt.
    public var lastError: String? { allEntries.max { $0.nextAttemptAt < $1.nextAttemptAt }?.lastError }
    /// When the oldest owed work first failed.
    public var oldestFailureAt: Date? { allEntries.map(\.firstFailedAt).min() }

    public static func decode(_ text: String?) -> SyncRetryState {
        guard let text, let data = text.data(using: .utf8) else { return SyncRetryState() }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return (try? decoder.decode(SyncRetryState.self, from: data)) ?? SyncRetryState()
    }

    public func encoded() -> String? {
        guard !isEmpty else { return nil }
        // Milliseconds: backoff waits start at half a second, which ISO 8601 text would round away.
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// Propagation latency over a recent window: from an access change's commit to the end of the sync run
/// that carried it to Kisi. Kept in `sync_state` so every replica and page reads the same figures.
public struct PropagationSummary: Codable, Sendable, Equatable {
    public var windowSeconds: Int
    public var samples: Int
    public var p50Milliseconds: Int?
    public var p95Milliseconds: Int?
    public var maxMilliseconds: Int?
    public var updatedAt: Date

    public init(windowSeconds: Int, samples: Int, p50Milliseconds: Int?, p95Milliseconds: Int?, maxMilliseconds: Int?, updatedAt: Date) {
        self.windowSeconds = windowSeconds
        self.samples = samples
        self.p50Milliseconds = p50Milliseconds
        self.p95Milliseconds = p95Milliseconds
        self.maxMilliseconds = maxMilliseconds
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case windowSeconds = "window_seconds", samples, p50Milliseconds = "p50_ms", p95Milliseconds = "p95_ms"
        case maxMilliseconds = "max_ms", updatedAt = "updated_at"
    }
}

/// One change of a member ⇄ Kisi user link decided by staff (see ``GymRepository/decideKisiUserLinks(_:alsoAffected:actor:trigger:at:)``).
public struct KisiUserLinkChange: Sendable, Equatable {
    public var memberID: UUID
    /// The Kisi user to link; nil removes the member's link.
    public var userID: Int?
    /// Why, in words for people: the journal line of this change.
    public var reason: String

    public init(memberID: UUID, userID: Int?, reason: String) {
        self.memberID = memberID
        self.userID = userID
        self.reason = reason
    }
}

/// A member linked to a Kisi user that BooGYMan did not create or invite: adopted by e-mail by the sync,
/// or chosen by staff.
public struct AdoptedKisiUser: Sendable, Equatable {
    public var memberID: UUID
    public var memberName: String
    public var email: String
    public var kisiUserID: Int

    public init(memberID: UUID, memberName: String, email: String, kisiUserID: Int) {
        self.memberID = memberID
        self.memberName = memberName
        self.email = email
        self.kisiUserID = kisiUserID
    }
}
