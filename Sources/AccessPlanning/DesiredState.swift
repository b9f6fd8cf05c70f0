import Foundation
import GymCore

/// How BooGYMan creates a Kisi user for a member who has none yet (a per-gym setting).
public enum UserCreationMode: String, Hashable, Sendable, Codable, CaseIterable {
    /// `POST /users` with `send_emails: false, confirm: true` (white-label, no Kisi e-mails), then one
    /// `POST /role_assignments` per grant.
    case managedUsers = "managed_users"
    /// `POST /invites` for the member's first grant (Kisi creates the user and e-mails them), then one
    /// `POST /role_assignments` per further grant.
    case invitations
}

public struct SyncOptions: Hashable, Sendable {
    public var userCreationMode: UserCreationMode

    public init(userCreationMode: UserCreationMode = .managedUsers) {
        self.userCreationMode = userCreationMode
    }
}

/// The Kisi role every BooGYMan grant uses ("Door access").
public let groupBasicRoleID = "group_basic"

/// The key under which BooGYMan writes the member ID into a Kisi user's `metadata`.
public let memberIDMetadataKey = "boogyman_member_id"

/// The ownership marker BooGYMan writes into the description of every Kisi group it manages.
///
/// Format (one line, stable, parseable): `Managed by BooGYMan (plan <UUID>). Changes here are overwritten.`
/// where `<UUID>` is the plan ID in `UUID.uuidString` form (upper case). Parsing accepts either case
/// and any surrounding text, so a description staff extended by hand is still recognised (and then
/// rewritten to the exact marker).
public enum ManagedGroupMarker {
    static let prefix = "Managed by BooGYMan (plan "
    static let suffix = "). Changes here are overwritten."

    /// The exact description of the group managed for `planID`.
    public static func description(planID: UUID) -> String {
        prefix + planID.uuidString + suffix
    }

    /// The plan ID named by the marker in `description`, or nil when the description carries none.
    public static func planID(in description: String?) -> UUID? {
        guard let description, let start = description.range(of: prefix) else { return nil }
        let rest = description[start.upperBound...]
        guard rest.count >= 36 else { return nil }
        let candidate = rest.prefix(36)
        guard rest.dropFirst(36).hasPrefix(")") else { return nil }
        return UUID(uuidString: String(candidate))
    }
}

/// The scope a Kisi group is created with. Immutable in Kisi once the group exists.
public enum GroupScope: Hashable, Sendable, Comparable, CustomStringConvertible {
    case organization
    case place(Int)

    /// `place_id` to send when creating the group; nil for organization scope.
    public var placeID: Int? {
        if case .place(let id) = self { return id }
        return nil
    }

    public init(placeID: Int?) {
        self = placeID.map(GroupScope.place) ?? .organization
    }

    public var description: String {
        switch self {
        case .organization: "organization-wide"
        case .place(let id): "place \(id)"
        }
    }
}

/// One Kisi group BooGYMan wants, for one plan.
public struct DesiredGroup: Hashable, Sendable {
    public var planID: UUID
    public var name: String
    public var description: String
    public var scope: GroupScope
    /// Kisi lock IDs of the plan's doors, sorted (`GymLayout.lockIDs(of:)`).
    public var lockIDs: [Int]
    /// Human description of each lock, for reasons ("studio Spinning in Old Town").
    public var lockLabels: [Int: String]
}

/// One member as Kisi should know them.
public struct DesiredUser: Hashable, Sendable {
    public var memberID: UUID
    public var email: EmailAddress
    public var name: String
    /// Keys BooGYMan owns in the user's metadata (other keys are left alone).
    public var metadata: [String: String]
    /// True when the member holds at least one grant now or ahead; only then is a Kisi user created.
    public var needsKisiUser: Bool
}

/// A (member, plan) pair; the unit of door access.
public struct MemberPlan: Hashable, Sendable, Comparable {
    public var memberID: UUID
    public var planID: UUID

    public init(memberID: UUID, planID: UUID) {
        self.memberID = memberID
        self.planID = planID
    }

    public static func < (lhs: MemberPlan, rhs: MemberPlan) -> Bool {
        (lhs.memberID, lhs.planID) < (rhs.memberID, rhs.planID)
    }
}

/// One `group_basic` role assignment BooGYMan wants: a member in a plan's group for a window.
public struct DesiredGrant: Hashable, Sendable {
    public var memberID: UUID
    public var planID: UUID
    public var window: AccessWindow
    /// True when the window starts in the future (a subscription that has not started yet).
    public var isAhead: Bool
    // The explanation's parts rather than the sentence: a full reconcile has a grant per member, but only
    // the few that lead to an action are ever explained, and writing 100,000 sentences dominated planning.
    var memberName: String
    var planName: String
    var timeZone: TimeZone

    /// Why the grant exists, for action reasons, e.g. "Ana Pop's subscription to Unlimited is active
    /// from 2026-03-01 through 2026-03-31".
    public var explanation: String {
        let who = "\(memberName)'s subscription to \(planName)"
        guard isAhead else { return "\(who) is active \(DesiredState.spell(window, in: timeZone))" }
        return "\(who) starts on \(LocalDate(containing: window.from, in: timeZone)); access granted ahead, "
            + DesiredState.spell(window, in: timeZone)
    }

    public var key: MemberPlan { MemberPlan(memberID: memberID, planID: planID) }
}

/// What Kisi should hold, computed from the gym's data at one instant. Pure and deterministic.
public struct DesiredState: Hashable, Sendable {
    public var evaluatedAt: Date
    public var options: SyncOptions
    /// One per plan that should have a group, sorted by plan ID.
    public var groups: [DesiredGroup]
    /// Every (non-deleted) member, sorted by member ID.
    public var users: [DesiredUser]
    /// Sorted by member ID, then plan ID.
    public var grants: [DesiredGrant]
    /// For (member, plan) pairs with subscriptions but no grant: why access is off, e.g.
    /// "Ana Popescu's subscription to Unlimited was frozen from 2026-03-01".
    public var denials: [MemberPlan: String]
    /// Plans that still exist but need no group (archived, no live subscription), by ID → name; a
    /// managed group linked to a plan neither here nor in `groups` belongs to a deleted plan.
    public var retiredPlans: [UUID: String]

    public init(
        evaluatedAt: Date, options: SyncOptions = SyncOptions(), groups: [DesiredGroup] = [], users: [DesiredUser] = [],
        grants: [DesiredGrant] = [], denials: [MemberPlan: String] = [:], retiredPlans: [UUID: String] = [:]
    ) {
        self.retiredPlans = retiredPlans
        self.evaluatedAt = evaluatedAt
        self.options = options
        self.groups = groups.sorted { $0.planID < $1.planID }
        self.users = Self.sorted(users) { OrderKey($0.memberID) }
        self.grants = Self.sorted(grants) { OrderKey($0.memberID, $0.planID) }
        self.denials = denials
    }

    /// Builds the desired Kisi state.
    ///
    /// - Groups: one per plan in `layout` that is not archived, or archived but still has a
    ///   subscription that is not over (not every subscription ended or cancelled as of `at`).
    ///   Plans missing from `layout` are deleted plans and get no group.
    /// - Grants: per (member, plan) the access rule's window when the plan access is `.active`; when it
    ///   is `.notStarted` and an `upcoming` window exists, that window ahead of time. Frozen, cancelled,
    ///   ended and past-due plan access yields no grant (the assignment is removed), and so does
    ///   every plan of a member staff blocked (`Member.block`), whatever the subscriptions say.
    /// - Users: every member; `needsKisiUser` when the member has a grant.
    /// Subscriptions of unknown members or plans are ignored.
    public static func build(
        layout: GymLayout, members: [Member], subscriptions: [Subscription], at instant: Date,
        options: SyncOptions = SyncOptions()
    ) -> DesiredState {
        var membersByID = [UUID: Int](minimumCapacity: members.count)
        for (position, member) in members.enumerated() where membersByID[member.id] == nil { membersByID[member.id] = position }
        // Subscriptions by position, ordered by (member, plan): each (member, plan) pair is one run of
        // consecutive positions, with no array or dictionary per pair. Unknown members and plans are left out.
        var relevant: [Int] = []
        relevant.reserveCapacity(subscriptions.count)
        var keys: [OrderKey] = []
        keys.reserveCapacity(subscriptions.count)
        for (position, subscription) in subscriptions.enumerated() {
            keys.append(OrderKey(subscription.memberID, subscription.planID))
            if membersByID[subscription.memberID] != nil && layout.plans[subscription.planID] != nil { relevant.append(position) }
        }
        relevant.sort { lhs, rhs in keys[lhs] != keys[rhs] ? keys[lhs] < keys[rhs] : lhs < rhs }
        let labels = lockLabels(layout: layout)

        var groups: [DesiredGroup] = []
        var retired: [UUID: String] = [:]
        var contexts: [UUID: PlanAccessContext] = [:]
        for plan in layout.plans.values {
            let context = PlanAccessContext(plan: plan, layout: layout, at: instant)
            if plan.isArchived {
                let live = relevant.contains { position in
                    let sub = subscriptions[position]
                    guard sub.planID == plan.id else { return false }
                    let reason = AccessRule.reason(for: sub, on: context.today, graceDays: plan.pastDueGraceDays)
                    return reason != .ended && reason != .cancelled
                }
                if !live {
                    retired[plan.id] = plan.name
                    continue
                }
            }
            contexts[plan.id] = context
            let locks = context.lockIDs
            groups.append(DesiredGroup(
                planID: plan.id, name: plan.name, description: ManagedGroupMarker.description(planID: plan.id),
                scope: scope(of: plan, layout: layout), lockIDs: locks,
                lockLabels: Dictionary(uniqueKeysWithValues: locks.map { ($0, labels[$0] ?? "lock \($0)") })))
        }

        var grants: [DesiredGrant] = []
        grants.reserveCapacity(relevant.count)
        var denials: [MemberPlan: String] = [:]
        var granted = Set<UUID>(minimumCapacity: relevant.count)
        var start = 0
        while start < relevant.count {
            let runKey = keys[relevant[start]]
            var end = start + 1
            while end < relevant.count, keys[relevant[end]] == runKey { end += 1 }
            defer { start = end }
            let first = subscriptions[relevant[start]]
            guard let context = contexts[first.planID] else { continue }  // the plan needs no group
            let key = MemberPlan(memberID: first.memberID, planID: first.planID)
            let plan = context.plan
            let member = members[membersByID[first.memberID]!]
            if let block = member.block {
                denials[key] = "\(member.fullName) is blocked by staff: \(block.reason)"
                continue
            }
            let subs = relevant[start..<end].map { subscriptions[$0] }
            let access = AccessRule.planAccess(context, subscriptions: subs)
            if access.reason == .active, let window = access.window {
                grants.append(DesiredGrant(
                    memberID: member.id, planID: plan.id, window: window, isAhead: false,
                    memberName: member.fullName, planName: plan.name, timeZone: context.zone))
                granted.insert(member.id)
            } else if access.reason == .notStarted, let upcoming = access.upcoming {
                grants.append(DesiredGrant(
                    memberID: member.id, planID: plan.id, window: upcoming, isAhead: true,
                    memberName: member.fullName, planName: plan.name, timeZone: context.zone))
                granted.insert(member.id)
            } else {
                let who = "\(member.fullName)'s subscription to \(plan.name)"
                denials[key] = denial(who: who, reason: access.reason, subscriptions: subs, plan: plan, today: context.today)
            }
        }

        var users: [DesiredUser] = []
        users.reserveCapacity(members.count)
        for member in members {
            users.append(DesiredUser(
                memberID: member.id, email: member.email, name: member.fullName,
                metadata: [memberIDMetadataKey: member.id.uuidString], needsKisiUser: granted.contains(member.id)))
        }
        return DesiredState(evaluatedAt: instant, options: options, groups: groups, users: users, grants: grants, denials: denials, retiredPlans: retired)
    }

    /// Organization scope unless every lock of the plan belongs to one Kisi place. A club's locks
    /// belong to its `kisiPlaceID`; a studio's locks to its club's. A lock whose club has no place ID
    /// forces organization scope. A plan without locks is place-scoped when all its clubs (direct and
    /// via studios) share one place, else organization-scoped.
    public static func scope(of plan: Plan, layout: GymLayout) -> GroupScope {
        var clubIDs = Set(plan.clubIDs)
        var lockPlaces: [Int?] = []
        for studioID in plan.studioIDs {
            guard let studio = layout.studios[studioID] else { continue }
            clubIDs.insert(studio.clubID)
            let place = layout.clubs[studio.clubID]?.kisiPlaceID
            lockPlaces += studio.kisiLockIDs.map { _ in place }
        }
        let clubs = clubIDs.compactMap { layout.clubs[$0] }
        for club in clubs { lockPlaces += club.kisiLockIDs.map { _ in club.kisiPlaceID } }
        let places = lockPlaces.isEmpty ? clubs.map(\.kisiPlaceID) : lockPlaces
        guard let first = places.first, let place = first, places.allSatisfy({ $0 == place }) else { return .organization }
        return .place(place)
    }

    /// One or two UUIDs as integers in the order of `UUID`'s `<` (byte by byte): sorting 100,000 members,
    /// grants or subscriptions then compares integers instead of calling `UUID`'s `<` millions of times.
    struct OrderKey: Comparable {
        var first: (UInt64, UInt64)
        var second: (UInt64, UInt64)

        init(_ id: UUID, _ then: UUID? = nil) {
            first = Self.halves(id)
            second = then.map(Self.halves) ?? (0, 0)
        }

        static func halves(_ id: UUID) -> (UInt64, UInt64) {
            withUnsafeBytes(of: id.uuid) { bytes in
                (UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                 UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
        }

        static func == (lhs: OrderKey, rhs: OrderKey) -> Bool { lhs.first == rhs.first && lhs.second == rhs.second }
        static func < (lhs: OrderKey, rhs: OrderKey) -> Bool { (lhs.first.0, lhs.first.1, lhs.second.0, lhs.second.1) < (rhs.first.0, rhs.first.1, rhs.second.0, rhs.second.1) }
    }

    /// `items` ordered by their keys; equal keys keep their order (as `sorted` does).
    static func sorted<Item>(_ items: [Item], by key: (Item) -> OrderKey) -> [Item] {
        let keys = items.map(key)
        var isSorted = true
        for index in keys.indices.dropFirst() where keys[index] < keys[index - 1] {
            isSorted = false
            break
        }
        if isSorted { return items }
        let order = keys.indices.sorted { keys[$0] != keys[$1] ? keys[$0] < keys[$1] : $0 < $1 }
        return order.map { items[$0] }
    }

    static func lockLabels(layout: GymLayout) -> [Int: String] {
        var labels: [Int: String] = [:]
        for door in layout.allDoors {
            let club = layout.clubs[door.clubID]?.name ?? "unknown club"
            if let studioID = door.studioID {
                labels[door.lockID] = "studio \(layout.studios[studioID]?.name ?? "?") in \(club)"
            } else {
                labels[door.lockID] = "entrance of club \(club)"
            }
        }
        return labels
    }

    /// "from 2026-01-01 through 2026-03-31" in the plan's zone (the window's end is exclusive).
    static func spell(_ window: AccessWindow, in zone: TimeZone) -> String {
        let first = LocalDate(containing: window.from, in: zone)
        let last = LocalDate(containing: window.until.addingTimeInterval(-1), in: zone)
        return "from \(first) through \(last)"
    }

    static func denial(who: String, reason: AccessReason, subscriptions: [Subscription], plan: Plan, today: LocalDate) -> String {
        switch reason {
        case .frozen:
            let spans = subscriptions.flatMap(\.freezes).map(\.span).filter { $0.contains(today) }.sorted { $0.first < $1.first }
            if let span = spans.first { return "\(who) was frozen from \(span.first) through \(span.last)" }
            return "\(who) is frozen"
        case .cancelled:
            let dates = subscriptions.compactMap(\.cancellation?.effectiveDate).filter { $0 <= today }
            if let date = dates.max() { return "\(who) was cancelled effective \(date)" }
            return "\(who) was cancelled"
        case .ended:
            let dates = subscriptions.compactMap(\.endDate).filter { $0 < today }
            if let date = dates.max() { return "\(who) ended on \(date)" }
            return "\(who) has ended"
        case .pastDue:
            let paid = subscriptions.map(\.paidThrough).max().map { "\($0)" } ?? "?"
            return "\(who) is past due: paid through \(paid), \(plan.pastDueGraceDays) grace day(s) over"
        case .notStarted:
            return "\(who) has not started yet"
        case .active, .noSubscription, .blocked:
            return "\(who): \(reason.explanation)"
        }
    }
}
