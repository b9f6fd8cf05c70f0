import Foundation

/// Which Kisi group BooGYMan manages for what: the identity of a managed group, in the stored links, the
/// planner and the executor. Here rather than in the sync's modules because the store keeps the links and
/// the planner (which imports only this module) decides them.
///
/// - `plan`: one organization- or place-scoped group for a whole plan (the usual case, and the only one
///   before keys could be limited to places);
/// - `planAtPlace`: one place-scoped group per Kisi place of a plan whose doors span several places, when
///   the API key administers places rather than the organization;
/// - `studioClasses`: a group for the classes booked in a studio, one per `slot` (a studio may run classes
///   whose windows overlap, and a member's grant holds one window per group).
public enum ManagedGroupKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    case plan(UUID)
    case planAtPlace(UUID, placeID: Int)
    case studioClasses(UUID, slot: Int)

    /// The plan whose doors the group opens; nil for a studio's class group.
    public var planID: UUID? {
        switch self {
        case .plan(let id), .planAtPlace(let id, _): id
        case .studioClasses: nil
        }
    }

    /// The plan or the studio the group belongs to.
    public var ownerID: UUID {
        switch self {
        case .plan(let id), .planAtPlace(let id, _), .studioClasses(let id, _): id
        }
    }

    /// The Kisi place a place group is bound to; nil when the key does not name one.
    public var placeID: Int? {
        if case .planAtPlace(_, let placeID) = self { return placeID }
        return nil
    }

    /// The stable text form stored in the group links: `plan:<UUID>`, `plan:<UUID>:place:<id>`,
    /// `studio-classes:<UUID>:slot:<n>` (UUIDs upper case, as `UUID.uuidString` writes them).
    public var storageKey: String {
        switch self {
        case .plan(let id): "plan:\(id.uuidString)"
        case let .planAtPlace(id, placeID): "plan:\(id.uuidString):place:\(placeID)"
        case let .studioClasses(id, slot): "studio-classes:\(id.uuidString):slot:\(slot)"
        }
    }

    /// Parses `storageKey`; nil for text that is not one (UUIDs in either case are accepted).
    public init?(storageKey text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch (parts.first, parts.count) {
        case ("plan", 2):
            guard let id = UUID(uuidString: parts[1]) else { return nil }
            self = .plan(id)
        case ("plan", 4):
            guard let id = UUID(uuidString: parts[1]), parts[2] == "place", let place = Int(parts[3]), String(place) == parts[3]
            else { return nil }
            self = .planAtPlace(id, placeID: place)
        case ("studio-classes", 4):
            guard let id = UUID(uuidString: parts[1]), parts[2] == "slot", let slot = Int(parts[3]), String(slot) == parts[3]
            else { return nil }
            self = .studioClasses(id, slot: slot)
        default:
            return nil
        }
    }

    public var description: String { storageKey }

    /// Plans before studios; one plan's organization group before its place groups, those by place.
    public static func < (lhs: ManagedGroupKey, rhs: ManagedGroupKey) -> Bool {
        lhs.order < rhs.order
    }

    private var order: (Int, UUID, Int, Int) {
        switch self {
        case .plan(let id): (0, id, 0, 0)
        case let .planAtPlace(id, placeID): (0, id, 1, placeID)
        case let .studioClasses(id, slot): (1, id, 0, slot)
        }
    }
}
