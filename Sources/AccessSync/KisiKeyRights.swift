import Foundation
import KisiAPI

/// What the connected API key may do in Kisi, as staff read it. GymAdmin sees Kisi only through
/// AccessSync, so this is its face of ``KisiKeyCapabilities``: plain-word lines for the wizard and
/// `kisi connect`, and the few facts its health checks branch on.
public struct KisiKeyRights: Sendable, Equatable {
    /// How far the key reaches, for the health check's verdict.
    public enum Reach: Sendable, Equatable {
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

    public var reach: Reach
    /// The key's organization roles in Kisi's words, lowercased ("administrator", "access manager").
    public var organizationRoleNames: [String]
    /// Kisi's permission names the door sync needs and the key lacks everywhere (`groups_write`, ...).
    public var missingSyncPermissions: [String]
    /// Whether the key may register BooGYMan's event webhook (`integrations_write` organization-wide).
    public var canRegisterWebhook: Bool
    /// Sentence by sentence, what the key lets BooGYMan do.
    public var lines: [String]

    public init(reach: Reach, organizationRoleNames: [String] = [], missingSyncPermissions: [String] = [], canRegisterWebhook: Bool, lines: [String]) {
        self.reach = reach
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
        self.init(
            reach: reach, organizationRoleNames: capabilities.organizationRoles.map { $0.roleName.lowercased() },
            missingSyncPermissions: capabilities.missingSyncPermissions, canRegisterWebhook: capabilities.registerWebhook,
            lines: capabilities.plainWords(eventPollingInterval: Self.eventSetPollInterval))
    }

    /// When discovery itself failed: the key works (the organization was read), what it may do is unknown.
    public static func undiscovered(because problem: KisiProblem) -> KisiKeyRights {
        KisiKeyRights(
            reach: .unknown, canRegisterWebhook: false,
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
