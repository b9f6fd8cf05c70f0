import Foundation
import GymStore
import KisiAPI
import Logging

/// The one place a Kisi client is built from the stored settings, and the one connect flow (admin UI
/// wizard and `boogyman kisi connect` alike): check the key with Kisi, then store it sealed.
public enum KisiConnector {
    /// The name BooGYMan gives itself in Kisi's integration header.
    static let integrationIdentifier = "BooGYMan"

    /// A client for `settings`. With `sharedPacing`, requests are paced through the database
    /// (`kisi_rate_slots`) as well as in-process, so that several replicas and the CLI on one PostgreSQL
    /// stay within Kisi's limit for the key together.
    public static func client(
        settings: KisiSettings, repository: GymRepository, logger: Logger, sharedPacing: Bool
    ) throws(KisiProblem) -> KisiClient {
        guard let baseURL = URL(string: settings.baseURL), baseURL.scheme == "https" || baseURL.scheme == "http" else {
            throw KisiProblem(.invalid, "The stored Kisi address \(settings.baseURL) is not an http(s) address.")
        }
        return client(apiKey: settings.apiKey, baseURL: baseURL, repository: repository, logger: logger, sharedPacing: sharedPacing)
    }

    static func client(apiKey: String, baseURL: URL, repository: GymRepository, logger: Logger, sharedPacing: Bool) -> KisiClient {
        KisiClient(configuration: KisiClient.Configuration(
            apiKey: KisiAPIKey(apiKey), baseURL: baseURL, integrationIdentifier: integrationIdentifier, logger: logger,
            sharedPacer: sharedPacing ? DatabaseKisiPacer(repository: repository, apiKey: apiKey) : nil))
    }

    /// The engine for `settings`, its ledger unfenced: replicas use it to plan and read; the leader
    /// builds a fenced one over the same client for every write.
    public static func engine(
        settings: KisiSettings, repository: GymRepository, logger: Logger, sharedPacing: Bool
    ) throws(KisiProblem) -> SyncEngine {
        let client = try client(settings: settings, repository: repository, logger: logger, sharedPacing: sharedPacing)
        let mode: UserCreationMode = settings.userCreationMode == .invitations ? .invitations : .managedUsers
        return SyncEngine(
            client: client, repository: repository, ledger: GymStoreSyncLedger(repository: repository),
            configuration: SyncEngine.Configuration(
                options: SyncOptions(userCreationMode: mode), logger: logger, keyFingerprint: settings.keyFingerprint))
    }

    /// What staff give when connecting Kisi.
    public struct ConnectRequest: Sendable {
        public var apiKey: String
        public var baseURL: String
        public var instanceURL: String?
        public var userCreationMode: KisiUserCreationMode

        public init(apiKey: String, baseURL: String = KisiSettings.defaultBaseURL, instanceURL: String? = nil, userCreationMode: KisiUserCreationMode = .managed) {
            self.apiKey = apiKey
            self.baseURL = baseURL
            self.instanceURL = instanceURL
            self.userCreationMode = userCreationMode
        }
    }

    /// Checks the key with Kisi (`GET /organization`, paced with the running sync when `sharedPacing`),
    /// finds out what the key may do (its user, role assignments and roles) and stores it sealed with
    /// `masterKey`; the running servers adopt it within seconds. Nothing is stored when Kisi does not
    /// accept the key. A key whose rights cannot be found out is still stored: it works, and the outcome
    /// says that its rights are unknown.
    @discardableResult
    public static func connect(
        _ request: ConnectRequest, repository: GymRepository, masterKey: MasterKey, logger: Logger, sharedPacing: Bool
    ) async throws -> KisiConnectionOutcome {
        guard let baseURL = URL(string: request.baseURL), baseURL.scheme == "https" || baseURL.scheme == "http" else {
            throw KisiProblem(.invalid, "The Kisi address must be an http(s) address.")
        }
        if let instance = request.instanceURL, URL(string: instance).map({ $0.scheme == "https" || $0.scheme == "http" }) != true {
            throw KisiProblem(.invalid, "BooGYMan's public address must be an http(s) address.")
        }
        let client = client(apiKey: request.apiKey, baseURL: baseURL, repository: repository, logger: logger, sharedPacing: sharedPacing)
        let organization: KisiOrganization
        do {
            organization = try await client.organization()
        } catch {
            throw KisiProblem(error)
        }
        let rights = await KisiKeyRights.discover(with: client)
        try await repository.saveKisiSettings(
            KisiSettings(
                apiKey: request.apiKey, organizationID: organization.id, baseURL: request.baseURL, instanceURL: request.instanceURL,
                userCreationMode: request.userCreationMode),
            masterKey: masterKey)
        // Kept with the connection (the key as stored, trimmed), so pages know what the key may do without asking Kisi.
        if let stored = try? await repository.kisiSettings(masterKey: masterKey) {
            do {
                try await rights.keep(for: stored, in: repository)
            } catch {
                logger.warning("the Kisi key's rights could not be kept; they are found out again when needed", metadata: ["error": "\(error)"])
            }
        }
        return KisiConnectionOutcome(organization: KisiOrganizationSummary(id: organization.id, name: organization.name), rights: rights)
    }
}

/// A Kisi failure as staff read it. GymAdmin and GymWeb see Kisi only through AccessSync, so this is
/// their face of `KisiError`: a kind to branch on and words for the front desk.
public struct KisiProblem: Error, CustomStringConvertible, Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case notConnected, rejectedKey, forbidden, notFound, lockdown, rateLimited, doorOffline, kisiTrouble, unreachable
        case outcomeUnknown, invalid, timedOut, noLeader, unexpected
    }

    public var kind: Kind
    /// Front-of-house words, e.g. "The door is offline, so Kisi cannot open it."
    public var plainWords: String
    /// Kisi's own answer, for logs and the journal.
    public var detail: String
    /// Kisi's field errors of a 422, e.g. `["assignee_id": ["has already been taken"]]`.
    public var fields: [String: [String]]

    public var description: String { plainWords }

    public init(_ kind: Kind, _ plainWords: String, detail: String? = nil, fields: [String: [String]] = [:]) {
        self.kind = kind
        self.plainWords = plainWords
        self.detail = detail ?? plainWords
        self.fields = fields
    }

    /// Any error of a Kisi call in staff's words.
    public init(_ error: any Error) {
        if let problem = error as? KisiProblem {
            self = problem
            return
        }
        if let late = error as? DeadlineExceeded {
            self.init(.timedOut, "Kisi did not answer within \(late.deadline.components.seconds) seconds. Try again in a minute.")
            return
        }
        guard let kisi = error as? KisiError else {
            self.init(.unreachable, "BooGYMan could not reach Kisi (\(error)).")
            return
        }
        let detail = "\(kisi)"
        switch kisi {
        case .unauthorized: self.init(.rejectedKey, "Kisi rejected the API key. Check it in Settings.", detail: detail)
        case .forbidden: self.init(.forbidden, "Kisi refused: the API key's user is not allowed to do this.", detail: detail)
        case .notFound: self.init(.notFound, "Kisi does not know this door or object.", detail: detail)
        case .conflict: self.init(.lockdown, "Kisi refused because the door is in lockdown.", detail: detail)
        case .rateLimited: self.init(.rateLimited, "Kisi asks BooGYMan to slow down. Try again in a few seconds.", detail: detail)
        case .server(let status, _, _) where status == 503:
            self.init(.doorOffline, "The door is offline, so Kisi cannot open it.", detail: detail)
        case .server: self.init(.kisiTrouble, "Kisi had a problem on its side. Try again in a minute.", detail: detail)
        case .transport: self.init(.unreachable, "BooGYMan could not reach Kisi. Check the internet connection.", detail: detail)
        case .outcomeUnknown:
            self.init(.outcomeUnknown, "Kisi did not answer in time; the action may or may not have happened.", detail: detail)
        case .validation(let fields, _):
            self.init(.invalid, "Kisi rejected the request as invalid (\(kisi)).", detail: detail, fields: fields)
        default: self.init(.unexpected, "Kisi answered unexpectedly (\(kisi)).", detail: detail)
        }
    }

    static let notConnected = KisiProblem(.notConnected, "Kisi is not connected.")
}

public struct KisiOrganizationSummary: Sendable, Equatable, Codable {
    public var id: Int
    public var name: String
}

public struct KisiPlaceSummary: Sendable, Equatable, Codable {
    public var id: Int
    public var name: String
}

public struct KisiLockSummary: Sendable, Equatable, Codable {
    public var id: Int
    public var name: String
    public var placeID: Int?
    public var placeName: String?
    public var online: Bool?
    public var lockedDown: Bool?
}

/// A Kisi user as the adoption page shows it.
public struct KisiUserSummary: Sendable, Equatable {
    public var id: Int
    public var name: String
    public var email: String
    public var createdAt: Date?
    public var confirmed: Bool?
    /// The member ID BooGYMan wrote into the user's metadata, when it did.
    public var memberIDInMetadata: UUID?
}

public struct KisiIntegrationSummary: Sendable, Equatable {
    public var id: Int
    public var type: String
    public var name: String
}

extension KisiLockSummary {
    init(_ lock: KisiLock) {
        self.init(id: lock.id, name: lock.name, placeID: lock.placeID, placeName: lock.placeName, online: lock.online, lockedDown: lock.lockedDown)
    }
}

extension KisiUserSummary {
    init(_ user: KisiUser) {
        // As the planner reads it (KisiObserver spells metadata values as text).
        let owner = user.metadata[memberIDMetadataKey].flatMap { $0 == .null ? nil : UUID(uuidString: $0.description) }
        self.init(id: user.id, name: user.name, email: user.email, createdAt: user.createdAt, confirmed: user.confirmed, memberIDInMetadata: owner)
    }
}

extension DoorEvent {
    /// An unlock attempt from Kisi's event sets, in the shape the webhook stores, so pages describe both alike.
    init(_ event: KisiEvent) {
        let byUser = event.actorType == nil || event.actorType == "User"
        var message = event.message
        if event.success == false {
            message = event.errorMessage ?? event.message ?? event.errorCode.map { "Kisi code \($0)" } ?? "Kisi gave no reason."
        }
        self.init(
            kisiUUID: event.uuid, occurredAt: event.createdAt ?? .distantPast, lockID: event.objectID, lockName: event.objectName,
            placeID: event.placeID, kisiUserID: byUser ? event.actorID : nil, actorName: event.actorName ?? event.actorEmail,
            success: event.success != false, message: message)
    }
}
