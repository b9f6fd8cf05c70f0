import Crypto
import Foundation

/// The names rows carry in the `sync_state` table. They are what existing databases hold: never rename one.
/// Nothing outside this file spells them; callers name an entry (``SyncStateEntry``) instead.
private enum SyncStateKey: String {
    case lastFullReconcileAt = "last_full_reconcile_at"
    case lastProcessedChangeID = "last_processed_change_id"
    case pausedReason = "paused_reason"
    case brakeHeld = "brake_held_json"
    case brakeApproved = "brake_approved_json"
    case propagation = "propagation_json"
    case propagationHistory = "propagation_history_json"
    case deferredActions = "deferred_actions"
    case retry = "retry_json"
    case kisiChangeReported = "kisi_change_reported"
    case kisiSelfUserID = "kisi_self_user_id"
    case kisiWebhookIntegrationID = "kisi_webhook_integration_id"
    case disconnectRequested = "kisi_disconnect_requested"
    case disconnectOutcome = "kisi_disconnect_outcome"
    case runProgress = "run_progress_json"
    case kisiKeyRights = "kisi_key_rights_json"
    case sweep = "sweep_json"
    case allMembersVerifiedAt = "all_members_verified_at"
    case bigGroupAssignmentIDs = "big_group_assignment_ids_json"
}

/// One entry of the sync's small durable state, with its value's type and how that value is stored as text.
public struct SyncStateEntry<Value: Sendable>: Sendable {
    fileprivate let key: SyncStateKey
    /// Nil stores nothing: the entry is removed (an empty retry state, say).
    fileprivate let encode: @Sendable (Value) -> String?
    /// Nil for text that is not a value of this entry: read as absent rather than failing the reader.
    fileprivate let decode: @Sendable (String) -> Value?

    fileprivate init(
        _ key: SyncStateKey, encode: @escaping @Sendable (Value) -> String?, decode: @escaping @Sendable (String) -> Value?
    ) {
        self.key = key
        self.encode = encode
        self.decode = decode
    }

    /// The key's text, for logs and error messages.
    public var name: String { key.rawValue }
}

extension SyncStateEntry where Value == String {
    fileprivate init(text key: SyncStateKey) {
        self.init(key, encode: { $0 }, decode: { $0 })
    }

    /// Why the sync is paused (e.g. "Kisi rejected the API key (401)"); absent while running.
    public static var pausedReason: Self { Self(text: .pausedReason) }
    /// Set by the Kisi webhook when an event could not be traced to one member or plan (e.g. a role
    /// assignment made by hand): the sync runs a full reconcile at its next poll and clears it.
    public static var kisiChangeReported: Self { Self(text: .kisiChangeReported) }
    /// Set by an owner disconnecting Kisi with "revoke all managed access" (the text says who and when).
    /// The replica leading the sync stops syncing, removes every managed grant, forgets the connection and
    /// clears it; the owner's request thus runs where the Kisi writes are fenced.
    public static var disconnectRequested: Self { Self(text: .disconnectRequested) }
    /// What the last such request came to, in plain words, for the settings page.
    public static var disconnectOutcome: Self { Self(text: .disconnectOutcome) }
}

extension SyncStateEntry where Value == Int {
    fileprivate init(decimal key: SyncStateKey) {
        self.init(key, encode: { String($0) }, decode: { Int($0) })
    }

    /// The ID of the last access change the sync has applied.
    public static var lastProcessedChangeID: Self { Self(decimal: .lastProcessedChangeID) }
    /// How many actions the leading sync has set aside (see `SyncYield`).
    public static var deferredActions: Self { Self(decimal: .deferredActions) }
    /// The Kisi user behind BooGYMan's API key: events it caused are BooGYMan's own.
    public static var kisiSelfUserID: Self { Self(decimal: .kisiSelfUserID) }
    /// The ID of the `event_webhook` integration BooGYMan registered with Kisi.
    public static var kisiWebhookIntegrationID: Self { Self(decimal: .kisiWebhookIntegrationID) }
}

extension SyncStateEntry where Value == Date {
    /// When the last full reconcile finished (including the work it set aside), stored as ISO 8601
    /// text (whole seconds).
    public static var lastFullReconcileAt: Self {
        Self(.lastFullReconcileAt, encode: { $0.formatted(.iso8601) }, decode: { try? Date($0, strategy: .iso8601) })
    }
    /// Every managed member's Kisi user and grants were read at or after this instant, and acted on: the
    /// start of the last full observation (a full reconcile's or a rolling sweep's) whose plan was
    /// carried out in full. Stored like ``lastFullReconcileAt``.
    public static var allMembersVerifiedAt: Self {
        Self(.allMembersVerifiedAt, encode: { $0.formatted(.iso8601) }, decode: { try? Date($0, strategy: .iso8601) })
    }
}

extension SyncStateEntry where Value == [Int] {
    /// The role-assignment IDs staff approved for revocation, consumed by the next run.
    public static var brakeApproved: Self { .json(.brakeApproved) }
}

extension SyncStateEntry where Value == PropagationSummary {
    /// Propagation latency over the last hour, as the leading sync publishes it.
    public static var propagation: Self {
        .json(.propagation, dates: .iso8601, decodingDates: .iso8601)
    }
}

extension SyncStateEntry where Value == PropagationHistory {
    /// The p95 of ``propagation`` minute by minute over the last hour, for the dashboard's sparkline.
    public static var propagationHistory: Self {
        .json(.propagationHistory, dates: .iso8601, decodingDates: .iso8601)
    }
}

extension SyncStateEntry where Value == SyncRunProgress {
    /// How far the long run under way (a full reconcile and the work it set aside) has come; absent
    /// when none is under way.
    public static var runProgress: Self {
        .json(.runProgress, dates: .iso8601, decodingDates: .iso8601)
    }
}

extension SyncStateEntry where Value == [Int: [Int]] {
    /// Kisi group ID → the assignment IDs the last full observation saw in that group, for groups past
    /// Kisi's offset ceiling only (more than 20,250 grants): the next full observation, on this replica
    /// or the next leader, reads their middle by these IDs instead of one member at a time.
    public static var bigGroupAssignmentIDs: Self { .json(.bigGroupAssignmentIDs) }
}

extension SyncStateEntry where Value == SyncSweepStatus {
    /// Where the rolling sweep stands and when every member was last verified against Kisi.
    public static var sweep: Self {
        .json(.sweep, dates: .iso8601, decodingDates: .iso8601)
    }
}

/// The rolling sweep: the drift repair that re-reads everything BooGYMan manages in Kisi, paced so that
/// it takes no more than its share of the key's rate while changes wait (see the sync service).
public struct SyncSweepStatus: Codable, Sendable, Equatable {
    /// The sweep under way, while one is.
    public struct Pass: Codable, Sendable, Equatable {
        public var startedAt: Date
        public var updatedAt: Date
        /// `reading` Kisi (paced) or `applying` what the reads found (writes, under the sync's run lock).
        public var phase: String
        /// Kisi reads done so far, and about how many the whole pass takes (from the stored links and
        /// the first pages' totals; nil until they are known).
        public var reads: Int
        public var readsEstimated: Int?

        public init(startedAt: Date, updatedAt: Date, phase: String, reads: Int, readsEstimated: Int?) {
            self.startedAt = startedAt
            self.updatedAt = updatedAt
            self.phase = phase
            self.reads = reads
            self.readsEstimated = readsEstimated
        }

        enum CodingKeys: String, CodingKey {
            case startedAt = "started_at", updatedAt = "updated_at", phase, reads, readsEstimated = "reads_estimated"
        }
    }

    public var current: Pass?
    /// When the last pass that was acted on started and finished, and the Kisi reads it took.
    public var lastStartedAt: Date?
    public var lastFinishedAt: Date?
    public var lastReads: Int?

    public init(current: Pass? = nil, lastStartedAt: Date? = nil, lastFinishedAt: Date? = nil, lastReads: Int? = nil) {
        self.current = current
        self.lastStartedAt = lastStartedAt
        self.lastFinishedAt = lastFinishedAt
        self.lastReads = lastReads
    }

    enum CodingKeys: String, CodingKey {
        case current, lastStartedAt = "last_started_at", lastFinishedAt = "last_finished_at", lastReads = "last_reads"
    }
}

/// How far a long sync run has come and when it should finish: what the status API and the dashboard
/// show during a big gym's first sync (hours of writes at Kisi's 5 requests/second).
public struct SyncRunProgress: Codable, Sendable, Equatable {
    /// What started the run ("full reconcile", "startup", ...).
    public var trigger: String
    public var startedAt: Date
    /// When these figures were taken.
    public var updatedAt: Date
    /// Actions the run planned (Kisi writes, and the few local link writes among them).
    public var planned: Int
    public var done: Int
    public var failed: Int
    /// Kisi requests (or actions, see ``estimate(trigger:startedAt:now:planned:done:failed:workingSeconds:requests:since:)``)
    /// per second of the run's recent working time, or Kisi's own rate while too few are done to tell.
    public var writesPerSecond: Double
    public var estimatedFinishAt: Date

    /// Kisi's documented limit: the rate assumed until the run has shown its own.
    public static let kisiRateLimit = 5.0
    /// Below this many finished actions, or this much working time, the observed rate says too little.
    static let minimumSample = 10
    static let minimumSeconds = 5.0

    enum CodingKeys: String, CodingKey {
        case trigger, startedAt = "started_at", updatedAt = "updated_at", planned, done, failed
        case writesPerSecond = "writes_per_second", estimatedFinishAt = "estimated_finish_at"
    }

    public init(
        trigger: String, startedAt: Date, updatedAt: Date, planned: Int, done: Int, failed: Int, writesPerSecond: Double,
        estimatedFinishAt: Date
    ) {
        self.trigger = trigger
        self.startedAt = startedAt
        self.updatedAt = updatedAt
        self.planned = planned
        self.done = done
        self.failed = failed
        self.writesPerSecond = writesPerSecond
        self.estimatedFinishAt = estimatedFinishAt
    }

    /// The figures at `now`, after `workingSeconds` of work (time the run spent set aside for newer
    /// changes is not counted: it says nothing of the rate).
    ///
    /// The finish is the remaining work at the rate observed since `since` (an earlier sample of the
    /// same run, so that the estimate follows the run from one kind of work to the next), else over the
    /// whole run, else at Kisi's 5/s while the sample is too small. Work is counted in `requests`, the
    /// Kisi requests the plan usually takes (planned, and taken by the finished actions), when given:
    /// a user update reads the user before writing it, a link costs Kisi nothing; else in actions.
    public static func estimate(
        trigger: String, startedAt: Date, now: Date, planned: Int, done: Int, failed: Int, workingSeconds: Double,
        requests: (planned: Int, finished: Int)? = nil, since: (finished: Int, workingSeconds: Double)? = nil
    ) -> SyncRunProgress {
        let work = requests ?? (planned, done + failed)
        func rate(_ count: Int, _ seconds: Double) -> Double? {
            count >= minimumSample && seconds >= minimumSeconds ? Double(count) / seconds : nil
        }
        let rate = since.flatMap { rate(work.finished - $0.finished, workingSeconds - $0.workingSeconds) }
            ?? rate(work.finished, workingSeconds)
            ?? kisiRateLimit
        let remaining = max(work.planned - work.finished, 0)
        return SyncRunProgress(
            trigger: trigger, startedAt: startedAt, updatedAt: now, planned: planned, done: done, failed: failed,
            writesPerSecond: (rate * 100).rounded() / 100, estimatedFinishAt: now.addingTimeInterval(Double(remaining) / rate))
    }

    /// The time left at `now` in words for staff: "less than a minute left", "about 12 min left",
    /// "about 10.8 h left".
    public func timeLeft(at now: Date) -> String {
        let seconds = max(estimatedFinishAt.timeIntervalSince(now), 0)
        let minutes = Int((seconds / 60).rounded())
        if seconds < 60 { return "less than a minute left" }
        if minutes <= 1 { return "about a minute left" }
        if minutes < 120 { return "about \(minutes) min left" }
        return "about \(String(format: "%.1f", seconds / 3_600)) h left"
    }
}

extension SyncStateEntry where Value == SyncRetryState {
    /// The work that failed and is owed, with when it is tried next; absent when nothing is owed.
    public static var retry: Self {
        Self(.retry, encode: { $0.encoded() }, decode: { SyncRetryState.decode($0) })
    }
}

extension SyncStateEntry where Value: Codable {
    /// Revocations held by the mass-revocation brake, awaiting approval, as JSON of the sync's own type.
    public static var brakeHeld: Self { .json(.brakeHeld) }
    /// What the connected API key may do in Kisi, as the last discovery found it (AccessSync's own type,
    /// carrying ``KisiSettings/keyFingerprint`` of the key it was found for, so another key's rights are never used).
    public static var kisiKeyRights: Self { .json(.kisiKeyRights, dates: .iso8601, decodingDates: .iso8601) }

    fileprivate static func json(
        _ key: SyncStateKey, dates: JSONEncoder.DateEncodingStrategy = .deferredToDate,
        decodingDates: JSONDecoder.DateDecodingStrategy = .deferredToDate
    ) -> Self {
        Self(
            key,
            encode: { value in
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                encoder.dateEncodingStrategy = dates
                return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) }
            },
            decode: { text in
                let decoder = JSONDecoder()
                decoder.dateDecodingStrategy = decodingDates
                return try? decoder.decode(Value.self, from: Data(text.utf8))
            })
    }
}

/// The sync's small durable state, typed: the change cursor, the brake's store, figures for the status
/// pages and messages between replicas. It reads and writes through a transport: the repository itself,
/// or the sync's ledger, whose writes are fenced by the sync lease.
public struct SyncState: Sendable {
    public typealias Read = @Sendable (String) async throws -> String?
    public typealias Write = @Sendable (String, String?) async throws -> Void

    private let read: Read
    private let write: Write

    public init(read: @escaping Read, write: @escaping Write) {
        self.read = read
        self.write = write
    }

    /// The entry's value; nil when absent or not readable as its type.
    public func get<Value>(_ entry: SyncStateEntry<Value>) async throws -> Value? {
        try await read(entry.key.rawValue).flatMap(entry.decode)
    }

    /// Stores the entry's value; nil removes it.
    public func set<Value>(_ entry: SyncStateEntry<Value>, _ value: Value?) async throws {
        try await write(entry.key.rawValue, value.flatMap(entry.encode))
    }
}

extension GymRepository {
    /// Sync state read and written directly, unfenced: for pages, the webhook and the connection flow.
    public var syncState: SyncState {
        SyncState(read: { key in try await self.syncState(key) }, write: { key, value in try await self.setSyncState(key, value) })
    }

    /// Stores `value` unless the entry holds one already; true if it was stored. One statement, so
    /// concurrent writers cannot both succeed.
    public func setSyncStateIfAbsent<Value>(_ entry: SyncStateEntry<Value>, _ value: Value, now: Date = Date()) async throws -> Bool {
        guard let text = entry.encode(value) else { return false }
        return try await setSyncStateIfAbsent(entry.key.rawValue, text, now: now)
    }
}

extension KisiSettings {
    /// A short SHA-256 fingerprint of the API key: tells whether what was learnt about a key (its rights)
    /// belongs to the key in force, without storing the key a second time.
    public var keyFingerprint: String {
        SHA256.hash(data: Data(apiKey.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
    }
}
