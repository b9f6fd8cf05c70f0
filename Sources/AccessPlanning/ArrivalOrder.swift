import Foundation

/// Orders a long run's grants member by member, those most likely at the door soon first.
///
/// A gym's first sync with Kisi is hours of writes at Kisi's 5 requests/second. In the plain
/// ``SyncAction/executionOrder(_:_:)`` every member's Kisi user is created before anyone's grant, so
/// nobody can open a door until the whole gym has a user. Here, inside the `grant` priority, the
/// groups and their doors still come first (every grant needs them), then each member's own actions
/// together (user, then grants), members by `rank` (lower first; members without a rank last, by ID).
/// The other priorities keep the plain order: revocations still come before everything.
public struct ArrivalOrder: Sendable, Equatable {
    /// Member ID → position in the queue, 0 first.
    public var rank: [UUID: Int]

    public init(rank: [UUID: Int]) {
        self.rank = rank
    }

    public func sorted(_ actions: [SyncAction]) -> [SyncAction] {
        actions.sorted(by: inOrder)
    }

    public func inOrder(_ lhs: SyncAction, _ rhs: SyncAction) -> Bool {
        guard lhs.priority == .grant, rhs.priority == .grant else { return SyncAction.executionOrder(lhs, rhs) }
        let (l, r) = (memberKey(lhs), memberKey(rhs))
        switch (l, r) {
        case (nil, nil): return SyncAction.executionOrder(lhs, rhs)
        case (nil, _?): return true  // groups and doors before any member's grant
        case (_?, nil): return false
        case let (l?, r?):
            if l.rank != r.rank { return l.rank < r.rank }
            if l.member != r.member { return l.member.uuidString < r.member.uuidString }
            return SyncAction.executionOrder(lhs, rhs)
        }
    }

    /// The member an action of the `grant` priority belongs to, with that member's rank; nil for the
    /// groups and their doors.
    private func memberKey(_ action: SyncAction) -> (rank: Int, member: UUID)? {
        switch action.kind {
        case .linkUser, .createUser, .inviteUser, .createGrant, .updateGrantValidity:
            guard let memberID = action.memberID else { return nil }
            return (rank[memberID] ?? Int.max, memberID)
        default:
            return nil
        }
    }

    /// Ranks members by how soon they are likely at the door, from what the gym knows:
    ///
    /// 1. members seen at a door within `recentDays` (the most recent first): regulars come back;
    /// 2. members whose access starts within `startWindowDays` of `now`, before or after (the nearest
    ///    first): a new member comes in on the first days, and someone who bought yesterday expects it;
    /// 3. members seen at a door before that (the most recent first);
    /// 4. everyone else (not ranked: last, by ID).
    ///
    /// - Parameters:
    ///   - lastCheckIns: member → their last door event.
    ///   - accessStarts: member → the start of their earliest access (a grant's `valid_from`).
    public static func rank(
        lastCheckIns: [UUID: Date], accessStarts: [UUID: Date], now: Date, recentDays: Double = 14, startWindowDays: Double = 7
    ) -> [UUID: Int] {
        let recent = now.addingTimeInterval(-recentDays * 86_400)
        let window = startWindowDays * 86_400
        var keyed: [(tier: Int, distance: TimeInterval, member: UUID)] = []
        keyed.reserveCapacity(lastCheckIns.count + accessStarts.count)
        var seen = Set<UUID>()
        for (member, checkIn) in lastCheckIns where checkIn >= recent {
            keyed.append((0, now.timeIntervalSince(checkIn), member))
            seen.insert(member)
        }
        for (member, start) in accessStarts where !seen.contains(member) {
            let distance = abs(start.timeIntervalSince(now))
            guard distance <= window else { continue }
            keyed.append((1, distance, member))
            seen.insert(member)
        }
        for (member, checkIn) in lastCheckIns where !seen.contains(member) {
            keyed.append((2, now.timeIntervalSince(checkIn), member))
        }
        keyed.sort { ($0.tier, $0.distance, $0.member.uuidString) < ($1.tier, $1.distance, $1.member.uuidString) }
        var ranks = [UUID: Int](minimumCapacity: keyed.count)
        for (position, entry) in keyed.enumerated() { ranks[entry.member] = position }
        return ranks
    }
}
