import Foundation
import GymStore
import KisiAPI

/// What the connected API key may do in Kisi, as staff read it. GymAdmin sees Kisi only through
/// AccessSync, so this is its face of ``KisiKeyCapabilities``: plain-word lines for the wizard and
/// `kisi connect`, and the few facts its health checks branch on.
public struct KisiKeyRights: Sendable, Equatable, Codable {
    /// How far the key reaches, for the health check's verdict.
    public enum Reach: Sendable, Equatable, Codable {
        /// Users, groups, their doors and access rights anywhere in the organization (an organization
        /// administrator or access manager).
        case wholeOrganization
        /// Place-scoped groups of these places only (a place administrator).
        case places([KisiPlaceSummary])
        /// Door access cannot be managed with this key at all.
        case none
        /// Kisi did not let BooGYMan find out (discovery failed or the roles could not be read).
        case unknown
    }

    /// Where the key holds one right (to unlock doors, to read events), with the places named.
    public enum PlaceReach: Sendable, Equatable, Codable {
        case organization
        case places([KisiPlaceSummary])
        case none

        public func covers(placeID: Int) -> Bool {
            switch self {
            case .organization: return true
            case .places(let places): return places.contains { $0.id == placeID }
            case .none: return false
            }
        }

        init(_ scope: KisiRightScope, names: (Int) -> String) {
            switch scope {
            case .organization: self = .organization
            case .places(let ids): self = .places(ids.map { KisiPlaceSummary(id: $0, name: names($0)) })
            case .none: self = .none
            }
        }
    }

    public var reach: Reach
    /// Where the key may unlock doors (Kisi's `locks_unlock`); nil when unknown, and Kisi then decides per door.
    public var unlock: PlaceReach?
    /// Where the key may read door events (`events_read`); nil when unknown.
    public var readEvents: PlaceReach?
    /// True when Kisi could not be asked (a failure, not Kisi's answer): such rights are not kept.
    public var discoveryFailed: Bool
    /// The key's organization roles in Kisi's words, lowercased ("administrator", "access manager").
    public var organizationRoleNames: [String]
    /// Kisi's permission names the door sync needs and the key lacks everywhere (`groups_write`, ...).
    public var missingSyncPermissions: [String]
    /// Whether the key may register BooGYMan's event webhook (`integrations_write` organization-wide).
    public var canRegisterWebhook: Bool
    /// Sentence by sentence, what the key lets BooGYMan do.
    public var lines: [String]

    public init(
        reach: Reach, organizationRoleNames: [String] = [], missingSyncPermissions: [String] = [], canRegisterWebhook: Bool,
        unlock: PlaceReach? = nil, readEvents: PlaceReach? = nil, discoveryFailed: Bool = false, lines: [String]
    ) {
        self.reach = reach
        self.unlock = unlock
        self.readEvents = readEvents
        self.discoveryFailed = discoveryFailed
        self.organizationRoleNames = organizationRoleNames
        self.missingSyncPermissions = missingSyncPermissions
        self.canRegisterWebhook = canRegisterWebhook
        self.lines = lines
    }

    public var managesWholeOrganization: Bool { reach == .wholeOrganization }

    /// How often door activity is read from Kisi's event sets when no webhook delivers it: the admin
    /// UI's live feed asks at this pace (Kisi allows one event query per second per key).
    public static let eventSetPollInterval: Duration = .seconds(4)

    /// The rights as discovery found them, in plain words at ``eventSetPollInterval``.
    public init(_ capabilities: KisiKeyCapabilities) {
        let reach: Reach
        if !capabilities.rolesKnown {
            reach = .unknown
        } else if capabilities.managesWholeOrganization {
            reach = .wholeOrganization
        } else if !capabilities.administeredPlaceIDs.isEmpty {
            reach = .places(capabilities.administeredPlaceIDs.map {
                KisiPlaceSummary(id: $0, name: capabilities.placeName($0) ?? "place \($0)")
            })
        } else {
            reach = .none
        }
        let names = { (id: Int) in capabilities.placeName(id) ?? "place \(id)" }
        self.init(
            reach: reach, organizationRoleNames: capabilities.organizationRoles.map { $0.roleName.lowercased() },
            missingSyncPermissions: capabilities.missingSyncPermissions, canRegisterWebhook: capabilities.registerWebhook,
            // Roles Kisi would not list say nothing of these rights: unknown, not missing.
            unlock: capabilities.rolesKnown ? PlaceReach(capabilities.unlock, names: names) : nil,
            readEvents: capabilities.rolesKnown ? PlaceReach(capabilities.readEvents, names: names) : nil,
            lines: capabilities.plainWords(eventPollingInterval: Self.eventSetPollInterval))
    }

    /// When discovery itself failed: the key works (the organization was read), what it may do is unknown.
    public static func undiscovered(because problem: KisiProblem) -> KisiKeyRights {
        KisiKeyRights(
            reach: .unknown, canRegisterWebhook: false, discoveryFailed: true,
            lines: ["BooGYMan could not tell what this key may do (\(problem.plainWords))."])
    }

    /// Discovers the rights of `client`'s key within `deadline`; never throws: a failure is said in the lines.
    static func discover(with client: KisiClient, deadline: Duration = .seconds(10)) async -> KisiKeyRights {
        do {
            return KisiKeyRights(try await withDeadline(deadline, "Kisi") { try await client.discoverKeyCapabilities() })
        } catch {
            return .undiscovered(because: KisiProblem(error))
        }
    }
}

// MARK: - Unlocking and door events within the key's rights

extension KisiKeyRights {
    /// Why staff cannot unlock a door of Kisi place `placeID` with this key, in plain words, or nil when
    /// they can (or when the key's rights are unknown: Kisi then decides, and its refusal is shown).
    public func unlockRefusal(placeID: Int?, placeName: String?) -> String? {
        guard let unlock else { return nil }
        switch unlock {
        case .organization:
            return nil
        case .none:
            return "This Kisi key may not unlock doors."
        case .places(let places):
            guard let placeID else {
                return "This Kisi key may unlock doors at \(Self.list(places.map(\.name))) only, and Kisi does not say where this door is."
            }
            if places.contains(where: { $0.id == placeID }) { return nil }
            return "This Kisi key may not unlock doors at \(placeName ?? "place \(placeID)")."
        }
    }

    /// The places whose event sets door activity is read from: nil for the whole organization (or when
    /// unknown), else the key's places among `gymPlaceIDs` (the clubs' places; all of the key's places when
    /// none is among them). Empty when the key may read no events at all.
    public func eventPlaceIDs(gymPlaceIDs: Set<Int>) -> [Int]? {
        switch readEvents {
        case nil, .organization?: return nil
        case .none?: return []
        case .places(let places)?:
            let ids = places.map(\.id)
            let gyms = ids.filter(gymPlaceIDs.contains)
            return gyms.isEmpty ? ids : gyms
        }
    }

    /// "Door activity is read every 4 seconds from Kisi's event sets, …" when no webhook delivers it.
    public var eventPollingWords: String {
        let every = "Door activity is read every \(Self.eventSetPollInterval.components.seconds) s from Kisi's event sets"
        switch readEvents {
        case .places(let places)?: return "\(every), for \(Self.list(places.map(\.name))) only (the places this Kisi key may read)."
        case .none?: return "This Kisi key may not read door events, so BooGYMan shows no door activity."
        case nil, .organization?: return "\(every)."
        }
    }

    /// "a", "a and b", "a, b and c".
    static func list(_ items: [String]) -> String {
        items.count < 2 ? items.joined() : items.dropLast().joined(separator: ", ") + " and " + items[items.count - 1]
    }
}

// MARK: - Kept with the connection

/// The rights as stored in the sync state, with the fingerprint of the key they were found for.
public struct StoredKisiKeyRights: Sendable, Equatable, Codable {
    public var keyFingerprint: String
    public var discoveredAt: Date
    public var rights: KisiKeyRights

    public init(keyFingerprint: String, discoveredAt: Date, rights: KisiKeyRights) {
        self.keyFingerprint = keyFingerprint
        self.discoveredAt = discoveredAt
        self.rights = rights
    }
}

extension KisiKeyRights {
    /// The rights last found for `settings`' key, or nil when none were kept for that key.
    static func stored(for settings: KisiSettings, in repository: GymRepository) async -> KisiKeyRights? {
        guard let stored = try? await repository.syncState.get(SyncStateEntry<StoredKisiKeyRights>.kisiKeyRights),
              stored.keyFingerprint == settings.keyFingerprint
        else { return nil }
        return stored.rights
    }

    /// Keeps these rights for `settings`' key, unless discovery failed (then nothing is known to keep).
    func keep(for settings: KisiSettings, in repository: GymRepository, now: Date = Date()) async throws {
        guard !discoveryFailed else { return }
        try await repository.syncState.set(
            SyncStateEntry<StoredKisiKeyRights>.kisiKeyRights,
            StoredKisiKeyRights(keyFingerprint: settings.keyFingerprint, discoveredAt: now, rights: self))
    }
}

extension KisiConnector {
    /// What `settings`' key may do: as kept with the connection (unless `refresh`), else found out with
    /// `client` (the same key's) within `deadline` and kept. When Kisi cannot say, what was kept, or nil.
    public static func keyRights(
        for settings: KisiSettings, client: KisiClient, repository: GymRepository, deadline: Duration = .seconds(10), refresh: Bool = false
    ) async -> KisiKeyRights? {
        let kept = await KisiKeyRights.stored(for: settings, in: repository)
        if let kept, !refresh { return kept }
        let rights = await KisiKeyRights.discover(with: client, deadline: deadline)
        guard !rights.discoveryFailed else { return kept }
        try? await rights.keep(for: settings, in: repository)
        return rights
    }
}

/// What connecting Kisi found: the organization the key belongs to and what the key may do there.
public struct KisiConnectionOutcome: Sendable, Equatable {
    public var organization: KisiOrganizationSummary
    public var rights: KisiKeyRights

    public init(organization: KisiOrganizationSummary, rights: KisiKeyRights) {
        self.organization = organization
        self.rights = rights
    }

    /// The key's rights in plain words, one sentence a line.
    public var keyRights: [String] { rights.lines }
    public var managesWholeOrganization: Bool { rights.managesWholeOrganization }
    public var missingSyncPermissions: [String] { rights.missingSyncPermissions }
}
