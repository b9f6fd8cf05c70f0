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
    /// The Kisi places the API key administers when it is a place administrator's key; nil when it
    /// manages the whole organization (an administrator's or access manager's key) or nothing is known.
    /// With places, a plan whose doors span several places gets one place-scoped group per place of the
    /// key, and doors elsewhere are left out (see ``DesiredState/build(layout:members:subscriptions:at:options:)``).
    public var keyPlaceIDs: Set<Int>?

    public init(userCreationMode: UserCreationMode = .managedUsers, keyPlaceIDs: Set<Int>? = nil) {
        self.userCreationMode = userCreationMode
        self.keyPlaceIDs = keyPlaceIDs
    }
}

/// The Kisi role every BooGYMan grant uses ("Door access").
public let groupBasicRoleID = "group_basic"

/// The key under which BooGYMan writes the member ID into a Kisi user's `metadata`.
public let memberIDMetadataKey = "boogyman_member_id"

/// The ownership marker BooGYMan writes into the description of every Kisi group it manages.
///
/// One line per kind of ``ManagedGroupKey``, stable and parseable; `<UUID>` is in `UUID.uuidString` form (upper case):
/// - `Managed by BooGYMan (plan <UUID>). Changes here are overwritten.` (a plan's group; the text every
///   installation has written since the first release, so it must never change);
/// - `Managed by BooGYMan (plan <UUID> at place <place ID>). Changes here are overwritten.`;
/// - `Managed by BooGYMan (classes of studio <UUID>, slot <n>). Changes here are overwritten.`
/// Parsing accepts either case of the UUID and any surrounding text, so a description staff extended by
/// hand is still recognised (and then rewritten to the exact marker).
public enum ManagedGroupMarker {
    static let lead = "Managed by BooGYMan ("
    static let planPrefix = lead + "plan "
    static let classesPrefix = lead + "classes of studio "
    static let suffix = "). Changes here are overwritten."

    /// The exact description of the group managed for `planID` (a whole plan's group).
    public static func description(planID: UUID) -> String {
        description(for: .plan(planID))
    }

    /// The exact description of the group managed under `key`.
    public static func description(for key: ManagedGroupKey) -> String {
        switch key {
        case .plan(let id): planPrefix + id.uuidString + suffix
        case let .planAtPlace(id, placeID): planPrefix + id.uuidString + " at place \(placeID)" + suffix
        case let .studioClasses(id, slot): classesPrefix + id.uuidString + ", slot \(slot)" + suffix
        }
    }

    /// The plan ID named by a whole plan's marker in `description`, or nil when it carries none (or the
    /// marker of another kind of group).
    public static func planID(in description: String?) -> UUID? {
        if case .plan(let id) = key(in: description) { return id }
        return nil
    }

    /// The managed-group key named by the marker in `description`, or nil when it carries none.
    public static func key(in description: String?) -> ManagedGroupKey? {
        guard let description else { return nil }
        var searchFrom = description.startIndex
        while let leadRange = description.range(of: lead, range: searchFrom..<description.endIndex) {
            if let key = key(atMarker: description[leadRange.lowerBound...]) { return key }
            searchFrom = leadRange.upperBound
        }
        return nil
    }

    static func key(atMarker rest: Substring) -> ManagedGroupKey? {
        if rest.hasPrefix(planPrefix) {
            let body = rest.dropFirst(planPrefix.count)
            guard body.count >= 36, let id = UUID(uuidString: String(body.prefix(36))) else { return nil }
            let tail = body.dropFirst(36)
            if tail.hasPrefix(")") { return .plan(id) }
            guard tail.hasPrefix(" at place ") else { return nil }
            let digits = tail.dropFirst(" at place ".count).prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, tail.dropFirst(" at place ".count + digits.count).hasPrefix(")"),
                  let place = Int(digits) else { return nil }
            return .planAtPlace(id, placeID: place)
        }
        if rest.hasPrefix(classesPrefix) {
            let body = rest.dropFirst(classesPrefix.count)
            guard body.count >= 36, let id = UUID(uuidString: String(body.prefix(36))) else { return nil }
            let tail = body.dropFirst(36)
            guard tail.hasPrefix(", slot ") else { return nil }
            let digits = tail.dropFirst(", slot ".count).prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, tail.dropFirst(", slot ".count + digits.count).hasPrefix(")"),
                  let slot = Int(digits) else { return nil }
            return .studioClasses(id, slot: slot)
        }
        return nil
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

/// One Kisi group BooGYMan wants: a plan's, a plan's at one place, or a studio's classes'.
public struct DesiredGroup: Hashable, Sendable {
    public var key: ManagedGroupKey
    public var name: String
    public var description: String
    public var scope: GroupScope
    /// Kisi lock IDs of the plan's doors, sorted (`GymLayout.lockIDs(of:)`).
    public var lockIDs: [Int]
    /// Human description of each lock, for reasons ("studio Spinning in Old Town").
    public var lockLabels: [Int: String]

    public init(key: ManagedGroupKey, name: String, description: String, scope: GroupScope, lockIDs: [Int], lockLabels: [Int: String]) {
        self.key = key
        self.name = name
        self.description = description
        self.scope = scope
        self.lockIDs = lockIDs
        self.lockLabels = lockLabels
    }

    /// The plan whose doors the group opens; nil for a studio's class group.
    public var planID: UUID? { key.planID }
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

/// A (member, plan) pair: the unit the access rule decides (and denials explain).
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

/// A (member, managed group) pair: the unit of door access in Kisi, one grant each.
public struct MemberGroup: Hashable, Sendable {
    public var memberID: UUID
    public var groupKey: ManagedGroupKey

    public init(memberID: UUID, groupKey: ManagedGroupKey) {
        self.memberID = memberID
        self.groupKey = groupKey
    }
}

/// One `group_basic` role assignment BooGYMan wants: a member in a managed group for a window.
public struct DesiredGrant: Hashable, Sendable {
    public var memberID: UUID
    public var groupKey: ManagedGroupKey
    public var window: AccessWindow
    /// True when the window starts in the future (a subscription that has not started yet).
    public var isAhead: Bool
    // The explanation's parts rather than the sentence: a full reconcile has a grant per member, but only
    // the few that lead to an action are ever explained, and writing 100,000 sentences dominated planning.
    var memberName: String
    public internal(set) var planName: String
    var timeZone: TimeZone

    /// Why the grant exists, for action reasons, e.g. "Ana Pop's subscription to Unlimited is active
    /// from 2026-03-01 through 2026-03-31", or for a booked class's window (`planName` is then the
    /// studio's) "Ana Pop booked a class in Spinning on 2026-12-07: door open 09:45–11:15".
    public var explanation: String {
        if case .studioClasses = groupKey {
            let day = LocalDate(containing: window.from, in: timeZone)
            return "\(memberName) booked a class in \(planName) on \(day): door open "
                + "\(ClassDoorWindow.clock(window.from, timeZone))–\(ClassDoorWindow.clock(window.until, timeZone))"
        }
        let who = "\(memberName)'s subscription to \(planName)"
        guard isAhead else { return "\(who) is active \(DesiredState.spell(window, in: timeZone))" }
        return "\(who) starts on \(LocalDate(containing: window.from, in: timeZone)); access granted ahead, "
            + DesiredState.spell(window, in: timeZone)
    }

    public var key: MemberGroup { MemberGroup(memberID: memberID, groupKey: groupKey) }
    /// The plan the grant comes from; nil for a class booking's grant.
    public var planID: UUID? { groupKey.planID }

    /// A grant with its explanation's parts (the sentence is written only when asked for).
    public init(
        memberID: UUID, groupKey: ManagedGroupKey, window: AccessWindow, isAhead: Bool, memberName: String, planName: String,
        timeZone: TimeZone
    ) {
        self.memberID = memberID
        self.groupKey = groupKey
        self.window = window
        self.isAhead = isAhead
        self.memberName = memberName
        self.planName = planName
        self.timeZone = timeZone
    }
}

/// What Kisi should hold, computed from the gym's data at one instant. Pure and deterministic.
public struct DesiredState: Hashable, Sendable {
    public var evaluatedAt: Date
    public var options: SyncOptions
    /// One per managed group that should exist (a plan's, or one per place of a plan), sorted by key.
    public var groups: [DesiredGroup]
    /// Every (non-deleted) member, sorted by member ID.
    public var users: [DesiredUser]
    /// Sorted by member ID, then group key.
    public var grants: [DesiredGrant]
    /// For (member, plan) pairs with subscriptions but no grant: why access is off, e.g.
    /// "Ana Popescu's subscription to Unlimited was frozen from 2026-03-01".
    public var denials: [MemberPlan: String]
    /// Plans that still exist but need no group (archived, no live subscription), by ID → name; a
    /// managed group linked to a plan neither here nor in `groups` belongs to a deleted plan.
    public var retiredPlans: [UUID: String]
    /// Live plans that get no group because none of their doors lies in the places of a place
    /// administrator's key (``SyncOptions/keyPlaceIDs``), by ID → name: their groups, if an earlier key made
    /// some, are beyond this key's rights and left as they are rather than taken for a deleted plan's.
    public var plansOutOfReach: [UUID: String] = [:]

    public init(
        evaluatedAt: Date, options: SyncOptions = SyncOptions(), groups: [DesiredGroup] = [], users: [DesiredUser] = [],
        grants: [DesiredGrant] = [], denials: [MemberPlan: String] = [:], retiredPlans: [UUID: String] = [:]
    ) {
        self.retiredPlans = retiredPlans
        self.evaluatedAt = evaluatedAt
        self.options = options
        self.groups = groups.sorted { $0.key < $1.key }
        self.users = Self.sorted(users) { OrderKey($0.memberID) }
        self.grants = Self.sortedGrants(grants)
        self.denials = denials
    }

    /// Builds the desired Kisi state.
    ///
    /// - Groups: for each plan in `layout` that is not archived, or archived but still has a
    ///   subscription that is not over (not every subscription ended or cancelled as of `at`), the
    ///   plan's groups (see ``groups(of:layout:keyPlaceIDs:labels:)``): one, or with a place
    ///   administrator's key (`options.keyPlaceIDs`) one per place of the key when the plan's doors
    ///   span several places. Plans missing from `layout` are deleted plans and get no group.
    /// - Grants: per (member, plan) the access rule's window, in each of the plan's groups, when the plan access is `.active`; when it
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
        var outOfReach: [UUID: String] = [:]
        // Per plan that needs groups: its access context and the keys of its groups (usually one).
        var contexts: [UUID: (context: PlanAccessContext, keys: [ManagedGroupKey])] = [:]
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
            let planGroups = Self.groups(of: plan, layout: layout, keyPlaceIDs: options.keyPlaceIDs, labels: labels)
            contexts[plan.id] = (context, planGroups.map(\.key))
            groups += planGroups
            if planGroups.isEmpty, options.keyPlaceIDs != nil { outOfReach[plan.id] = plan.name }
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
            guard let entry = contexts[first.planID] else { continue }  // the plan needs no group
            let (context, groupKeys) = (entry.context, entry.keys)
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
                for groupKey in groupKeys {
                    grants.append(DesiredGrant(
                        memberID: member.id, groupKey: groupKey, window: window, isAhead: false,
                        memberName: member.fullName, planName: plan.name, timeZone: context.zone))
                }
                if !groupKeys.isEmpty { granted.insert(member.id) }
            } else if access.reason == .notStarted, let upcoming = access.upcoming {
                for groupKey in groupKeys {
                    grants.append(DesiredGrant(
                        memberID: member.id, groupKey: groupKey, window: upcoming, isAhead: true,
                        memberName: member.fullName, planName: plan.name, timeZone: context.zone))
                }
                if !groupKeys.isEmpty { granted.insert(member.id) }
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
        var desired = DesiredState(evaluatedAt: instant, options: options, groups: groups, users: users, grants: grants, denials: denials, retiredPlans: retired)
        desired.plansOutOfReach = outOfReach
        return desired
    }

    /// The groups a plan needs.
    ///
    /// With a key that manages the whole organization (`keyPlaceIDs` nil): one group (`.plan`) with all the
    /// plan's doors, scoped as ``scope(of:layout:)`` says. With a place administrator's key:
    /// - a plan whose doors all lie in one place keeps its one group (`.plan`, scoped to that place) when
    ///   the key administers the place, so switching keys changes nothing for it; none when it does not;
    /// - a plan whose doors span several places (or include doors of a club without a place) gets one
    ///   place-scoped group per place of the key holding some of its doors (`.planAtPlace`), named
    ///   "<plan> · <the place's clubs>", with that place's doors. Doors of other places, and of clubs
    ///   without a place, are in no group: the key may not give access there (the Key rights health check
    ///   names them).
    /// A plan without doors is placed by its clubs, the same way.
    public static func groups(of plan: Plan, layout: GymLayout, keyPlaceIDs: Set<Int>?, labels: [Int: String]) -> [DesiredGroup] {
        let locks = layout.lockIDs(of: plan)
        func group(_ key: ManagedGroupKey, name: String, scope: GroupScope, locks: [Int]) -> DesiredGroup {
            DesiredGroup(
                key: key, name: name, description: ManagedGroupMarker.description(for: key), scope: scope, lockIDs: locks,
                lockLabels: Dictionary(uniqueKeysWithValues: locks.map { ($0, labels[$0] ?? "lock \($0)") }))
        }
        let scope = scope(of: plan, layout: layout)
        guard let keyPlaceIDs else { return [group(.plan(plan.id), name: plan.name, scope: scope, locks: locks)] }
        if case .place(let place) = scope {
            return keyPlaceIDs.contains(place) ? [group(.plan(plan.id), name: plan.name, scope: scope, locks: locks)] : []
        }
        // The place of each door (nil: its club has none), and the plan's clubs' places for a plan without doors.
        var placeOfLock: [Int: Int?] = [:]
        var clubIDs = Set(plan.clubIDs)
        for studioID in plan.studioIDs {
            guard let studio = layout.studios[studioID] else { continue }
            clubIDs.insert(studio.clubID)
            for lock in studio.kisiLockIDs { placeOfLock[lock] = layout.clubs[studio.clubID]?.kisiPlaceID }
        }
        for clubID in clubIDs {
            guard let club = layout.clubs[clubID] else { continue }
            for lock in club.kisiLockIDs { placeOfLock[lock] = club.kisiPlaceID }
        }
        var locksByPlace: [Int: [Int]] = [:]
        for lock in locks {
            if let place = placeOfLock[lock] ?? nil { locksByPlace[place, default: []].append(lock) }
        }
        if locks.isEmpty {
            for clubID in clubIDs { if let place = layout.clubs[clubID]?.kisiPlaceID { locksByPlace[place, default: []] += [] } }
        }
        return locksByPlace.keys.filter(keyPlaceIDs.contains).sorted().map { place in
            let clubs = layout.clubs.values.filter { $0.kisiPlaceID == place }.map(\.name).sorted()
            let placeName = clubs.isEmpty ? "place \(place)" : clubs.joined(separator: " & ")
            return group(.planAtPlace(plan.id, placeID: place), name: "\(plan.name) · \(placeName)", scope: .place(place),
                         locks: locksByPlace[place]!.sorted())
        }
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

    /// Grants ordered by member, then group key; equal pairs keep their order.
    static func sortedGrants(_ grants: [DesiredGrant]) -> [DesiredGrant] {
        let keys = grants.map { OrderKey($0.memberID, $0.groupKey.ownerID) }
        func before(_ lhs: Int, _ rhs: Int) -> Bool {
            if keys[lhs] != keys[rhs] { return keys[lhs] < keys[rhs] }
            let (left, right) = (grants[lhs].groupKey, grants[rhs].groupKey)
            return left != right ? left < right : lhs < rhs
        }
        var isSorted = true
        for index in keys.indices.dropFirst() where before(index, index - 1) {
            isSorted = false
            break
        }
        if isSorted { return grants }
        return keys.indices.sorted(by: before).map { grants[$0] }
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
        case .active, .noSubscription, .blocked, .notBooked:
            return "\(who): \(reason.explanation)"
        }
    }
}
