import Foundation
import GymCore

/// Booked class windows as Kisi grants (see README, "Booked windows in Kisi").
///
/// Kisi allows one role assignment per user and group. A studio that some plan opens only for booked
/// classes gets two managed groups holding its locks, `.studioClasses(studio, slot: 1)` and `slot: 2`;
/// a member's next two windows in the studio are grants in them, valid from the window's opening to its
/// closing. The next window is then in Kisi before it begins even when BooGYMan is down between two
/// classes.
///
/// Which window goes in which slot decides the writes. A booking's slot follows its **ordinal**: how many
/// bookings holding a place the member has in the studio before it, in class order, past ones included.
/// Bookings alternate slots, so when a class ends the window after it keeps its slot and only the ended
/// slot is rewritten (one `PATCH` to the booking after next): about one write per booking for a member who
/// books every week. A cancelled booking shifts the ordinals after it, which may rewrite both slots once.
public enum ClassWindowGrants {
    /// Groups per windowed studio: the next window and the one after it.
    public static let slots = 2

    /// The studios some plan in `layout` opens only for booked classes, with locks of their own, by ID.
    public static func windowedStudios(layout: GymLayout, rules: [PlanClassRule]) -> [Studio] {
        let ids = Set(rules.filter { $0.doorMode == .bookedClasses && layout.plans[$0.planID] != nil }.map(\.studioID))
        return ids.compactMap { layout.studios[$0] }.filter { !$0.kisiLockIDs.isEmpty }.sorted { $0.id < $1.id }
    }

    /// The slot each window goes in: its ordinal's parity (`ordinals[bookingID]`, 0 when unknown), the
    /// later of two windows that would share a slot moved to the other one. `windows` are one member's
    /// windows in one studio, sorted by opening, at most ``slots`` of them.
    public static func slots(for windows: [ClassDoorWindow], ordinals: [UUID: Int]) -> [Int] {
        var taken: [Int] = []
        for window in windows.prefix(slots) {
            var slot = (ordinals[window.bookingID] ?? 0) % slots + 1
            if taken.contains(slot) { slot = (1...slots).first { !taken.contains($0) } ?? slot }
            taken.append(slot)
        }
        return taken
    }

    /// `desired` with booked classes applied:
    /// - the doors of a studio a plan opens only for booked classes leave that plan's groups (its club's
    ///   entrance stays);
    /// - each windowed studio gets its ``slots`` class groups, scoped to its club's Kisi place;
    /// - each member's windows (``ClassAccessRule/doorWindows(memberID:block:subscriptions:bookings:layout:rules:at:perStudio:)``,
    ///   the next two per studio) become grants in the slots ``slots(for:ordinals:)`` picks, and such a
    ///   member needs a Kisi user.
    /// Windows of members `desired` does not list, or of studios no longer windowed, are ignored.
    public static func applying(
        to desired: DesiredState, layout: GymLayout, rules: [PlanClassRule], windows: [UUID: [ClassDoorWindow]], ordinals: [UUID: Int]
    ) -> DesiredState {
        var result = desired
        let entrances = Set(layout.clubs.values.flatMap(\.kisiLockIDs))
        var windowedLocks: [UUID: Set<Int>] = [:]
        for rule in rules where rule.doorMode == .bookedClasses {
            windowedLocks[rule.planID, default: []].formUnion(layout.studios[rule.studioID]?.kisiLockIDs ?? [])
        }
        result.groups = desired.groups.map { group in
            guard let planID = group.key.planID, let locks = windowedLocks[planID]?.subtracting(entrances), !locks.isEmpty else { return group }
            var trimmed = group
            trimmed.lockIDs = group.lockIDs.filter { !locks.contains($0) }
            trimmed.lockLabels = group.lockLabels.filter { !locks.contains($0.key) }
            return trimmed
        }

        let studios = windowedStudios(layout: layout, rules: rules)
        let labels = DesiredState.lockLabels(layout: layout)
        for studio in studios {
            let club = layout.clubs[studio.clubID]
            for slot in 1...slots {
                let key = ManagedGroupKey.studioClasses(studio.id, slot: slot)
                let locks = studio.kisiLockIDs.sorted()
                result.groups.append(DesiredGroup(
                    key: key, name: "\(studio.name) classes · \(slot)", description: ManagedGroupMarker.description(for: key),
                    scope: GroupScope(placeID: club?.kisiPlaceID), lockIDs: locks,
                    lockLabels: Dictionary(uniqueKeysWithValues: locks.map { ($0, labels[$0] ?? "lock \($0)") })))
            }
        }

        let windowed = Set(studios.map(\.id))
        // Names of the members with windows only: a whole gym's users are many more than its bookers.
        var names: [UUID: String] = [:]
        names.reserveCapacity(windows.count)
        for user in desired.users where windows[user.memberID] != nil { names[user.memberID] = user.name }
        var withGrants = Set<UUID>()
        for (memberID, memberWindows) in windows.sorted(by: { $0.key < $1.key }) {
            guard let name = names[memberID] else { continue }
            for (studioID, inStudio) in Dictionary(grouping: memberWindows, by: \.studioID) where windowed.contains(studioID) {
                let sorted = inStudio.sorted { ($0.opensAt, $0.bookingID.uuidString) < ($1.opensAt, $1.bookingID.uuidString) }.prefix(slots)
                let zone = layout.studios[studioID].flatMap { layout.clubs[$0.clubID]?.timeZone } ?? TimeZone(identifier: "UTC")!
                let studioName = layout.studios[studioID]?.name ?? "studio"
                for (window, slot) in zip(sorted, slots(for: Array(sorted), ordinals: ordinals)) {
                    result.grants.append(DesiredGrant(
                        memberID: memberID, groupKey: .studioClasses(studioID, slot: slot), window: window.window,
                        isAhead: window.opensAt > desired.evaluatedAt, memberName: name, planName: studioName,
                        timeZone: zone))
                    withGrants.insert(memberID)
                }
            }
        }
        result.users = desired.users.map { user in
            guard withGrants.contains(user.memberID), !user.needsKisiUser else { return user }
            var user = user
            user.needsKisiUser = true
            return user
        }
        // Through the initializer again: it keeps groups and grants in the order the planner expects.
        return DesiredState(
            evaluatedAt: result.evaluatedAt, options: result.options, groups: result.groups, users: result.users, grants: result.grants,
            denials: result.denials, retiredPlans: result.retiredPlans)
    }
}
