import Foundation
import GymCore

/// Plans the Kisi calls (and local link/review writes) that bring `observed` to `desired`.
///
/// Deterministic (same input in any order → same output, sorted by `SyncAction.executionOrder`),
/// minimal (nothing when Kisi already matches; validity compared at whole seconds), and it never
/// touches a group BooGYMan does not manage (linked from one managed-group key and carrying that key's
/// marker),
/// nor a user that is not linked to a member (only that user's assignments inside managed groups).
public func plan(desired: DesiredState, observed: ObservedState) -> [SyncAction] {
    Planner.plan(desired: desired, observed: observed)
}

public enum Planner {
    public static func plan(desired: DesiredState, observed: ObservedState) -> [SyncAction] {
        var run = PlanRun(desired: desired, observed: observed)
        run.planAll()
        return run.actions.sorted(by: SyncAction.executionOrder)
    }

    /// Kisi stores validity at whole seconds; two instants in the same second are the same.
    public static func sameSecond(_ lhs: Date?, _ rhs: Date?) -> Bool {
        switch (lhs, rhs) {
        case (nil, nil): true
        case let (l?, r?): wholeSeconds(l) == wholeSeconds(r)
        default: false
        }
    }

    static func wholeSeconds(_ date: Date) -> Int64 { Int64(floor(date.timeIntervalSince1970)) }
}

private struct PlanRun {
    let desired: DesiredState
    let observed: ObservedState
    var actions: [SyncAction] = []

    // Indices over the (unordered) observed input.
    let groupsByID: [Int: ObservedGroup]
    let usersByID: [Int: ObservedUser]
    let locksByGroup: [Int: [ObservedGroupLock]]
    let assignmentsByGroup: [Int: [ObservedRoleAssignment]]
    let desiredGroupsByKey: [ManagedGroupKey: DesiredGroup]
    /// Plan ID → the keys of the groups the plan should have.
    let desiredKeysByPlan: [UUID: [ManagedGroupKey]]
    /// Member ID → position in `desired.users`: the set of current members and the way to their names,
    /// without copying 100,000 users into a second dictionary.
    let memberIndex: [UUID: Int]
    /// Group key → member ID → position of the grant in `desired.grants`.
    let grantsByGroup: [ManagedGroupKey: [UUID: Int]]

    // Resolution results.
    var managed: [ManagedGroupKey: ObservedGroup] = [:]
    var blockedGroups: Set<ManagedGroupKey> = []
    var targetGroup: [ManagedGroupKey: GroupRef] = [:]
    var resolvedUser: [UUID: UserRef] = [:]
    var userToMember: [Int: UUID] = [:]
    var protectedUserIDs: Set<Int> = []
    /// Member ID → the group whose grant the member's invitation carries.
    var inviteGrantGroup: [UUID: ManagedGroupKey] = [:]
    var emittedReviews: Set<ReviewKey> = []
    /// Unlinked groups carrying a key's marker, held for review (see `planAll`).
    var heldMarkedGroups: [(groupID: Int, key: ManagedGroupKey)] = []
    /// Unlinked groups carrying the marker of a key whose linked group is in place: copies left by a
    /// scope change or a create whose run stopped half-way. BooGYMan made them, so it deletes them.
    var supersededGroups: [(groupID: Int, key: ManagedGroupKey)] = []
    let openReviews: Set<ReviewKey>
    /// Kisi user ID → a deleted member linked to it (smallest member ID when several).
    let deletedMemberOfUser: [Int: UUID]

    init(desired: DesiredState, observed: ObservedState) {
        self.desired = desired
        self.observed = observed
        groupsByID = Dictionary(observed.groups.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var users = [Int: ObservedUser](minimumCapacity: observed.users.count)
        for user in observed.users where users[user.id] == nil { users[user.id] = user }
        usersByID = users
        locksByGroup = Dictionary(grouping: observed.groupLocks, by: \.groupID)
        assignmentsByGroup = Dictionary(grouping: observed.roleAssignments, by: \.groupID)
        desiredGroupsByKey = Dictionary(desired.groups.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        var keysByPlan: [UUID: [ManagedGroupKey]] = [:]
        for group in desired.groups { if let planID = group.planID { keysByPlan[planID, default: []].append(group.key) } }
        desiredKeysByPlan = keysByPlan
        var members = [UUID: Int](minimumCapacity: desired.users.count)
        for (position, user) in desired.users.enumerated() where members[user.memberID] == nil { members[user.memberID] = position }
        memberIndex = members
        var grants: [ManagedGroupKey: [UUID: Int]] = [:]
        for group in desired.groups { grants[group.key] = [UUID: Int](minimumCapacity: desired.grants.count / max(desired.groups.count, 1)) }
        for (position, grant) in desired.grants.enumerated() { grants[grant.groupKey, default: [:]][grant.memberID] = position }
        grantsByGroup = grants
        openReviews = Set(observed.heldReviews.map(\.key))
        var deleted: [Int: UUID] = [:]
        for (memberID, userID) in observed.userLinks where members[memberID] == nil {
            if let existing = deleted[userID], existing < memberID { continue }
            deleted[userID] = memberID
        }
        deletedMemberOfUser = deleted
    }

    mutating func planAll() {
        resolveGroups()
        resolveUsers()
        for group in desired.groups where !blockedGroups.contains(group.key) {
            planGroup(group)
        }
        for (key, group) in managed.sorted(by: { $0.key < $1.key })
        where desiredGroupsByKey[key] == nil {
            if let planID = key.planID, let successors = desiredKeysByPlan[planID], !successors.isEmpty {
                regroup(group, key: key, successors: successors)
            } else if let planID = key.planID, desired.plansOutOfReach[planID] != nil {
                // A live plan whose doors lie outside the key's places: Kisi would refuse any change here, and
                // the plan is not gone. Its members keep what an earlier key gave them; the Key rights check names it.
                continue
            } else {
                retireGroup(group, key: key)
            }
        }
        // A superseded copy holding a Kisi user staff must decide about waits for them, like any
        // unlinked marked group.
        for (groupID, key) in supersededGroups {
            guard let group = groupsByID[groupID],
                  (assignmentsByGroup[groupID] ?? []).contains(where: { protectedUserIDs.contains($0.userID) }) else { continue }
            hold(.unlinkedMarkedGroup, subject: String(groupID),
                 "Kisi group \"\(group.name)\" (#\(groupID)) is a leftover copy of the group of \(groupName(key)) and holds a Kisi user staff must decide about; staff should delete it",
                 plan: key.planID)
            heldMarkedGroups.append((groupID, key))
        }
        let heldIDs = Set(heldMarkedGroups.map(\.groupID))
        supersededGroups.removeAll { heldIDs.contains($0.groupID) }
        // A marked group held for review still opens its doors. The group itself is left to staff,
        // but access that ended goes.
        for (groupID, key) in heldMarkedGroups {
            let grants = grantsByGroup[key] ?? [:]
            for assignment in (assignmentsByGroup[groupID] ?? []).sorted(by: { $0.id < $1.id }) {
                let userID = assignment.userID
                if protectedUserIDs.contains(userID) { continue }
                if let memberID = userToMember[userID], grants[memberID] != nil { continue }
                emitRemoval(assignment, key: key)
            }
        }
        // A superseded copy goes as a whole once the plan's grants are in the linked group (deleting a
        // group is cleanup, after this run's grants): access that ended goes first, like any revocation.
        for (groupID, key) in supersededGroups {
            guard let group = groupsByID[groupID], let linked = managed[key] else { continue }
            let grants = grantsByGroup[key] ?? [:]
            let assignments = (assignmentsByGroup[groupID] ?? []).sorted(by: { $0.id < $1.id })
            for assignment in assignments {
                if let memberID = userToMember[assignment.userID], grants[memberID] != nil { continue }
                if protectedUserIDs.contains(assignment.userID) { continue }
                emitRemoval(assignment, key: key)
            }
            emit(.deleteGroup(groupID: groupID, cause: .superseded),
                 "Kisi group \"\(group.name)\" (#\(groupID)) is a leftover copy of the group of \(groupName(key)); its grants live in #\(linked.id)",
                 plan: key.planID)
        }
        for key in openReviews.subtracting(emittedReviews).sorted() {
            let review = observed.heldReviews.first { $0.key == key }
            emit(.resolveReview(key), "the ambiguity behind review \(key) no longer exists",
                 member: review?.memberID, plan: review?.planID)
        }
    }

    // MARK: Helpers

    mutating func emit(_ kind: SyncActionKind, _ reason: String, member: UUID? = nil, plan: UUID? = nil) {
        actions.append(SyncAction(kind, reason: reason, memberID: member, planID: plan))
    }

    mutating func hold(_ kind: ReviewKind, subject: String, _ message: String, member: UUID? = nil, plan: UUID? = nil) {
        let key = ReviewKey(kind: kind, subject: subject)
        guard emittedReviews.insert(key).inserted else { return }
        if openReviews.contains(key) { return }
        emit(.holdForReview(HeldReview(key: key, message: message, memberID: member, planID: plan)), message, member: member, plan: plan)
    }

    /// The group's name for reasons: "plan Unlimited", "plan All clubs · Old Town", "Yoga classes".
    func groupName(_ key: ManagedGroupKey) -> String {
        key.planID == nil ? bareName(key) : "plan \(bareName(key))"
    }

    /// The group's name alone: "Unlimited", "All clubs · Old Town".
    func bareName(_ key: ManagedGroupKey) -> String {
        if let group = desiredGroupsByKey[key] { return group.name }
        if let planID = key.planID, let retired = desired.retiredPlans[planID] { return retired }
        if let group = managed[key] { return group.name }
        return key.storageKey
    }

    func memberName(_ memberID: UUID) -> String {
        memberIndex[memberID].map { desired.users[$0].name } ?? "member \(memberID.uuidString)"
    }

    func userLabel(_ userID: Int) -> String {
        guard let user = usersByID[userID] else { return "Kisi user #\(userID)" }
        return "Kisi user \(user.name) <\(user.email)> (#\(userID))"
    }

    // MARK: Groups

    mutating func resolveGroups() {
        let linkCounts = Dictionary(observed.groupLinks.values.map { ($0, 1) }, uniquingKeysWith: +)
        for (key, groupID) in observed.groupLinks.sorted(by: { $0.key < $1.key }) {
            if groupsByID[groupID] == nil, observed.unreachableGroupIDs.contains(groupID) {
                // Made with a key that could see it; this one cannot check it, change it or remove it, so the
                // grants in it stay as they were (nobody who pays is locked out by the switch, but nobody
                // whose access ended is removed there either): staff must delete it in Kisi.
                hold(.unreachableGroup, subject: String(groupID),
                     "Kisi group #\(groupID) of \(groupName(key)) was made with an earlier Kisi key and this key may not see it, so BooGYMan can no longer check or remove its door access; the plan's members are kept in the groups this key may manage. Delete the group in Kisi's dashboard, or connect an organization administrator's key once and BooGYMan removes it",
                     plan: key.planID)
                blockedGroups.insert(key)
                continue
            }
            guard let group = groupsByID[groupID] else { continue }  // stale link: the group is gone
            if linkCounts[groupID, default: 0] > 1 {
                let plans = observed.groupLinks.filter { $0.value == groupID }.keys.map { groupName($0) }.sorted()
                hold(.groupLinkedToSeveralPlans, subject: String(groupID),
                     "Kisi group \"\(group.name)\" (#\(groupID)) is linked several times (\(plans.joined(separator: ", "))); BooGYMan leaves it alone until staff fix the links",
                     plan: nil)
                blockedGroups.insert(key)
                continue
            }
            if ManagedGroupMarker.key(in: group.description) == key {
                managed[key] = group
            } else {
                hold(.groupMarkerMismatch, subject: key.reviewSubject,
                     "Kisi group \"\(group.name)\" (#\(groupID)) is linked to \(groupName(key)) but its description lacks its BooGYMan marker; BooGYMan leaves it alone until staff confirm it",
                     plan: key.planID)
                blockedGroups.insert(key)
            }
        }

        let linked = Set(observed.groupLinks.values)
        var marked: [ManagedGroupKey: [ObservedGroup]] = [:]
        for group in observed.groups where !linked.contains(group.id) {
            if let key = ManagedGroupMarker.key(in: group.description) { marked[key, default: []].append(group) }
        }
        for (key, groups) in marked.sorted(by: { $0.key < $1.key }) {
            let groups = groups.sorted { $0.id < $1.id }
            // The key's linked group is in place: every other marked group of it is a leftover copy.
            // One whose assignments include a user staff must decide about waits for them.
            if managed[key] != nil {
                supersededGroups += groups.map { ($0.id, key) }
                continue
            }
            let wanted = desiredGroupsByKey[key] != nil && managed[key] == nil && !blockedGroups.contains(key)
            if wanted && groups.count == 1 {
                managed[key] = groups[0]
                emit(.linkGroup(key: key, groupID: groups[0].id),
                     "Kisi group \"\(groups[0].name)\" (#\(groups[0].id)) carries the BooGYMan marker of \(groupName(key)) but was not linked; adopting it",
                     plan: key.planID)
                continue
            }
            for group in groups {
                hold(.unlinkedMarkedGroup, subject: String(group.id),
                     "Kisi group \"\(group.name)\" (#\(group.id)) carries the BooGYMan marker of \(groupName(key)) but is not linked to it; staff should delete or relink it",
                     plan: key.planID)
                heldMarkedGroups.append((group.id, key))
            }
            if wanted { blockedGroups.insert(key) }
        }

        for group in desired.groups where !blockedGroups.contains(group.key) {
            if let existing = managed[group.key], existing.scope == group.scope {
                targetGroup[group.key] = .kisi(existing.id)
            } else {
                targetGroup[group.key] = .managed(group.key)
            }
        }
    }

    mutating func planGroup(_ group: DesiredGroup) {
        let planID = group.planID
        guard let existing = managed[group.key] else {
            let why: String
            if let linkedID = observed.groupLinks[group.key] {
                why = "Kisi group #\(linkedID) of \(groupName(group.key)) no longer exists; creating a \(group.scope) group"
            } else {
                why = "\(groupName(group.key)) has no Kisi group yet; creating a \(group.scope) group"
            }
            emit(.createGroup(key: group.key, name: group.name, description: group.description, placeID: group.scope.placeID), why, plan: planID)
            addAllLocks(group)
            planAssignments(groupID: nil, group: group, createMissing: true, accessLossOnly: false)
            return
        }

        if existing.scope != group.scope {
            emit(.createGroup(key: group.key, name: group.name, description: group.description, placeID: group.scope.placeID),
                 "\(groupName(group.key)) now needs a \(group.scope) group but Kisi group #\(existing.id) is \(existing.scope) and a group's scope cannot change; creating a replacement",
                 plan: planID)
            addAllLocks(group)
            // Access that ends goes now; everything else moves to the new group, then the old one goes.
            planAssignments(groupID: existing.id, group: group, createMissing: false, accessLossOnly: true)
            planAssignments(groupID: nil, group: group, createMissing: true, accessLossOnly: false)
            emit(.deleteGroup(groupID: existing.id, cause: .scopeChanged),
                 "Kisi group \"\(existing.name)\" (#\(existing.id)) was replaced by a \(group.scope) group for \(groupName(group.key))",
                 plan: planID)
            return
        }

        if existing.name != group.name || existing.description != group.description {
            let why = existing.name != group.name
                ? "plan renamed from \"\(existing.name)\" to \"\(group.name)\""
                : "restoring the BooGYMan description of the group of \(groupName(group.key))"
            emit(.updateGroup(groupID: existing.id, name: group.name, description: group.description), why, plan: planID)
        }

        let wantedLocks = Set(group.lockIDs)
        let observedLocks = Dictionary(grouping: locksByGroup[existing.id] ?? [], by: \.lockID)
        for (lockID, links) in observedLocks.sorted(by: { $0.key < $1.key }) {
            let links = links.sorted { $0.id < $1.id }
            if !wantedLocks.contains(lockID) {
                for link in links {
                    emit(.removeGroupLock(groupLockID: link.id, groupID: existing.id, lockID: lockID),
                         "group lock \(lockID) removed because it is no longer a door of \(groupName(group.key))", plan: planID)
                }
            } else {
                for link in links.dropFirst() {
                    emit(.removeGroupLock(groupLockID: link.id, groupID: existing.id, lockID: lockID),
                         "duplicate group lock \(lockID) in the group of \(groupName(group.key))", plan: planID)
                }
            }
        }
        for lockID in group.lockIDs where observedLocks[lockID] == nil {
            emit(.addGroupLock(group: .kisi(existing.id), lockID: lockID),
                 "group lock \(lockID) added because \(group.lockLabels[lockID] ?? "lock \(lockID)") is a door of \(groupName(group.key))",
                 plan: planID)
        }
        planAssignments(groupID: existing.id, group: group, createMissing: true, accessLossOnly: false)
    }

    mutating func addAllLocks(_ group: DesiredGroup) {
        for lockID in group.lockIDs {
            emit(.addGroupLock(group: .managed(group.key), lockID: lockID),
                 "group lock \(lockID) added because \(group.lockLabels[lockID] ?? "lock \(lockID)") is a door of \(groupName(group.key))",
                 plan: group.planID)
        }
    }

    /// Reconciles the role assignments of one group with its grants.
    ///
    /// - Parameters:
    ///   - groupID: the existing Kisi group, or nil for the group created in this run (no assignments yet).
    ///   - createMissing: create grants for entitled members without one, in `targetGroup[key]`.
    ///   - accessLossOnly: only remove assignments whose holder loses access (the group is about to be replaced).
    mutating func planAssignments(groupID: Int?, group: DesiredGroup, createMissing: Bool, accessLossOnly: Bool) {
        let planID = group.planID
        let grants = grantsByGroup[group.key] ?? [:]
        // By position in `desired.grants`: a flag per grant instead of a set of member IDs.
        var satisfied = [Bool](repeating: false, count: createMissing ? desired.grants.count : 0)
        var satisfiedCount = 0
        if let groupID, let assignments = assignmentsByGroup[groupID] {
            // The group's assignments ordered by (user, ID) through an index array: each user's run is
            // judged on its own without building a list per user, and nothing large is copied.
            let order = assignments.indices.sorted { (assignments[$0].userID, assignments[$0].id) < (assignments[$1].userID, assignments[$1].id) }
            var start = 0
            while start < order.count {
                let userID = assignments[order[start]].userID
                var end = start + 1
                while end < order.count, assignments[order[end]].userID == userID { end += 1 }
                defer { start = end }
                if protectedUserIDs.contains(userID) { continue }
                guard let memberID = userToMember[userID], let grantPosition = grants[memberID] else {
                    for position in order[start..<end] { emitRemoval(assignments[position], key: group.key) }
                    continue
                }
                if accessLossOnly { continue }
                let window = desired.grants[grantPosition].window
                // The usual case: one `group_basic` assignment with the right window.
                if end - start == 1 {
                    let only = assignments[order[start]]
                    if only.roleID == groupBasicRoleID, matches(only, window) {
                        if createMissing, !satisfied[grantPosition] {
                            satisfied[grantPosition] = true
                            satisfiedCount += 1
                        }
                        continue
                    }
                }
                let list = order[start..<end].map { assignments[$0] }
                let basics = list.filter { $0.roleID == groupBasicRoleID }
                    .sorted { (matches($0, window) ? 0 : 1, $0.id) < (matches($1, window) ? 0 : 1, $1.id) }
                if let keep = basics.first {
                    if createMissing, !satisfied[grantPosition] {
                        satisfied[grantPosition] = true
                        satisfiedCount += 1
                    }
                    if !matches(keep, window) {
                        let grant = desired.grants[grantPosition]
                        emit(.updateGrantValidity(assignmentID: keep.id, validFrom: window.from, validUntil: window.until),
                             "\(grant.explanation) (Kisi had \(spell(keep.validFrom)) – \(spell(keep.validUntil)))",
                             member: memberID, plan: planID)
                    }
                    for extra in basics.dropFirst() {
                        emit(.removeGrant(assignmentID: extra.id, userID: userID, groupID: groupID, cause: .duplicate),
                             "duplicate role assignment of \(memberName(memberID)) in the group of \(groupName(group.key)); keeping #\(keep.id)",
                             member: memberID, plan: planID)
                    }
                }
                for other in list where other.roleID != groupBasicRoleID {
                    emit(.removeGrant(assignmentID: other.id, userID: userID, groupID: groupID, cause: .wrongRole),
                         "\(memberName(memberID)) holds role \(other.roleID) in the group of \(groupName(group.key)); BooGYMan grants only \(groupBasicRoleID)",
                         member: memberID, plan: planID)
                }
            }
        }
        guard createMissing, let target = targetGroup[group.key], satisfiedCount < grants.count else { return }
        for (memberID, grantPosition) in grants where !satisfied[grantPosition] {
            guard let user = resolvedUser[memberID] else { continue }
            if inviteGrantGroup[memberID] == group.key { continue }  // the invite carries this grant
            let grant = desired.grants[grantPosition]
            emit(.createGrant(user: user, group: target, roleID: groupBasicRoleID, validFrom: grant.window.from, validUntil: grant.window.until),
                 grant.explanation, member: memberID, plan: planID)
        }
    }

    /// Removes an assignment whose holder has no grant in this group; an assignment whose validity
    /// already ended opens nothing, so its removal is cleanup (not counted by the brake).
    mutating func emitRemoval(_ assignment: ObservedRoleAssignment, key: ManagedGroupKey, cause override: RemovalCause? = nil, why overrideWhy: String? = nil) {
        let planID = key.planID
        var (cause, why, memberID) = removal(userID: assignment.userID, key: key)
        if let override { cause = override }
        if let overrideWhy { why = overrideWhy }
        if cause.losesAccess, let until = assignment.validUntil, until <= desired.evaluatedAt {
            cause = .expired
            why += " (the grant had already expired on \(spell(until)))"
        }
        emit(.removeGrant(assignmentID: assignment.id, userID: assignment.userID, groupID: assignment.groupID, cause: cause), why,
             member: memberID, plan: planID)
    }

    func removal(userID: Int, key: ManagedGroupKey) -> (RemovalCause, String, UUID?) {
        let bare = bareName(key)
        if let memberID = userToMember[userID] {
            let why = key.planID.flatMap { desired.denials[MemberPlan(memberID: memberID, planID: $0)] }
                ?? (key.planID != nil ? "\(memberName(memberID)) has no subscription to \(bare)" : "\(memberName(memberID)) has no booking in \(bare)")
            return (.accessEnded, why, memberID)
        }
        if let deleted = deletedMemberOfUser[userID] {
            return (.memberDeleted,
                    "\(userLabel(userID)) belonged to a deleted member; door access to \(bare) removed, Kisi user kept", deleted)
        }
        return (.notLinked,
                "\(userLabel(userID)) was added by hand to the BooGYMan group of \(groupName(key)) but is not linked to any member", nil)
    }

    func matches(_ assignment: ObservedRoleAssignment, _ window: AccessWindow) -> Bool {
        Planner.sameSecond(assignment.validFrom, window.from) && Planner.sameSecond(assignment.validUntil, window.until)
    }

    func spell(_ date: Date?) -> String {
        guard let date else { return "open" }
        return date.formatted(.iso8601)
    }

    /// A group of a plan that now has other groups (one organization group ⇄ one per place, after the key
    /// changed). Access that ends goes now, as in any group; entitled members keep this group's grant until
    /// the plan's new groups hold theirs: the group is deleted as cleanup, after this run's grants, and the
    /// executor leaves it when any action of the plan failed (``GroupDeletionCause/regrouped``).
    mutating func regroup(_ group: ObservedGroup, key: ManagedGroupKey, successors: [ManagedGroupKey]) {
        var keepsGroup = false
        for assignment in (assignmentsByGroup[group.id] ?? []).sorted(by: { $0.id < $1.id }) {
            if protectedUserIDs.contains(assignment.userID) {
                keepsGroup = true  // deleting the group would decide for staff
                continue
            }
            if let memberID = userToMember[assignment.userID], successors.contains(where: { grantsByGroup[$0]?[memberID] != nil }) {
                continue
            }
            emitRemoval(assignment, key: key)
        }
        // A new group waiting for staff (a held review) has no grants coming: the old one keeps the doors open.
        if keepsGroup || successors.contains(where: blockedGroups.contains) { return }
        let names = successors.sorted().map { "\"\(bareName($0))\"" }
        emit(.deleteGroup(groupID: group.id, cause: .regrouped),
             "Kisi group \"\(group.name)\" (#\(group.id)) is replaced by \(names.joined(separator: ", ")) for \(groupName(key)); deleted once their grants are in",
             plan: key.planID)
    }

    mutating func retireGroup(_ group: ObservedGroup, key: ManagedGroupKey) {
        let why = key.planID.flatMap { desired.retiredPlans[$0] }.map { "plan \($0) is archived and has no live subscription" }
            ?? (key.planID != nil ? "plan \(group.name) was deleted" : "\(group.name) is no longer needed")
        for assignment in (assignmentsByGroup[group.id] ?? []).sorted(by: { $0.id < $1.id }) {
            let memberID = userToMember[assignment.userID]
            let who = memberID.map(memberName) ?? userLabel(assignment.userID)
            emitRemoval(assignment, key: key, cause: .planRemoved, why: "\(who) loses access: \(why)")
        }
        emit(.deleteGroup(groupID: group.id, cause: .planRemoved),
             "Kisi group \"\(group.name)\" (#\(group.id)) deleted: \(why)", plan: key.planID)
    }

    // MARK: Users

    mutating func resolveUsers() {
        var claimedBy = [Int: UUID](minimumCapacity: observed.userLinks.count)
        var sharedUserIDs: Set<Int> = []
        for (memberID, userID) in observed.userLinks where memberIndex[memberID] != nil {
            if claimedBy.updateValue(memberID, forKey: userID) != nil { sharedUserIDs.insert(userID) }
        }
        // Only members without a usable link need these indices; in a gym that is in step there are none,
        // so they are built on first use rather than for every member at every run.
        var membersByEmailOnce: [String: [DesiredUser]]?
        var kisiByEmailOnce: [String: [ObservedUser]]?
        var actionableOnce: [UUID: [DesiredGrant]]?

        for user in desired.users {
            let memberID = user.memberID
            if let userID = observed.userLinks[memberID], let kisiUser = usersByID[userID] {
                if sharedUserIDs.contains(userID) {
                    let names = observed.userLinks.filter { $0.value == userID && memberIndex[$0.key] != nil }.keys
                        .map(memberName).sorted()
                    hold(.userLinkedToSeveralMembers, subject: memberID.uuidString,
                         "\(userLabel(userID)) is linked to several members (\(names.joined(separator: ", "))); staff must pick one",
                         member: memberID)
                    protectedUserIDs.insert(userID)
                    continue
                }
                if kisiUser.normalizedEmail != user.email.normalized {
                    hold(.linkedEmailMismatch, subject: memberID.uuidString,
                         "\(user.name)'s e-mail is \(user.email) but the linked \(userLabel(userID)) has another; staff must confirm the link",
                         member: memberID)
                    protectedUserIDs.insert(userID)
                    continue
                }
                resolvedUser[memberID] = .kisi(userID)
                userToMember[userID] = memberID
                updateUserIfNeeded(kisiUser, user)
                continue
            }

            // Plans whose grants can be acted on this run, per member, earliest first.
            if actionableOnce == nil {
                var actionable: [UUID: [DesiredGrant]] = [:]
                for grant in desired.grants where targetGroup[grant.groupKey] != nil {
                    actionable[grant.memberID, default: []].append(grant)
                }
                actionableOnce = actionable
            }
            let grants = (actionableOnce?[memberID] ?? []).sorted {
                $0.window.from != $1.window.from ? $0.window.from < $1.window.from : $0.groupKey < $1.groupKey
            }
            guard !grants.isEmpty else { continue }
            let membersByEmail = membersByEmailOnce ?? Dictionary(grouping: desired.users, by: { $0.email.normalized })
            membersByEmailOnce = membersByEmail
            let kisiByEmail = kisiByEmailOnce ?? Dictionary(grouping: observed.users, by: \.normalizedEmail)
            kisiByEmailOnce = kisiByEmail
            let stale = observed.userLinks[memberID].map { " (linked Kisi user #\($0) no longer exists)" } ?? ""
            if (membersByEmail[user.email.normalized]?.count ?? 0) > 1 {
                let names = membersByEmail[user.email.normalized]!.map(\.name).sorted()
                hold(.sharedMemberEmail, subject: memberID.uuidString,
                     "\(user.name) shares the e-mail \(user.email) with another member (\(names.joined(separator: ", "))); staff must fix it before BooGYMan links a Kisi user",
                     member: memberID)
                protectedUserIDs.formUnion((kisiByEmail[user.email.normalized] ?? []).map(\.id))
                continue
            }
            let candidates = (kisiByEmail[user.email.normalized] ?? []).sorted { $0.id < $1.id }
            if candidates.count > 1 {
                hold(.duplicateKisiEmail, subject: memberID.uuidString,
                     "\(candidates.count) Kisi users have \(user.name)'s e-mail \(user.email) (#\(candidates.map { String($0.id) }.joined(separator: ", #"))); staff must pick one",
                     member: memberID)
                protectedUserIDs.formUnion(candidates.map(\.id))
                continue
            }
            if let candidate = candidates.first {
                let metadataOwner = candidate.metadata[memberIDMetadataKey].flatMap(UUID.init(uuidString:))
                let claimant = claimedBy[candidate.id] ?? metadataOwner.flatMap { memberIndex[$0] != nil ? $0 : nil }
                if let claimant, claimant != memberID {
                    hold(.kisiUserClaimed, subject: memberID.uuidString,
                         "\(userLabel(candidate.id)) has \(user.name)'s e-mail but belongs to \(memberName(claimant)); staff must decide",
                         member: memberID)
                    protectedUserIDs.insert(candidate.id)
                    continue
                }
                emit(.linkUser(memberID: memberID, userID: candidate.id),
                     "adopting \(userLabel(candidate.id)) for \(user.name): same e-mail\(stale)", member: memberID)
                resolvedUser[memberID] = .kisi(candidate.id)
                userToMember[candidate.id] = memberID
                updateUserIfNeeded(candidate, user)
                continue
            }

            resolvedUser[memberID] = .member(memberID)
            switch desired.options.userCreationMode {
            case .managedUsers:
                emit(.createUser(memberID: memberID, email: user.email.value, name: user.name, metadata: user.metadata),
                     "\(user.name) needs door access and has no Kisi user\(stale); creating a managed user", member: memberID)
            case .invitations:
                let first = grants[0]
                inviteGrantGroup[memberID] = first.groupKey
                emit(.inviteUser(memberID: memberID, email: user.email.value, name: user.name, group: targetGroup[first.groupKey]!,
                                 roleID: groupBasicRoleID, validFrom: first.window.from, validUntil: first.window.until),
                     "\(user.name) needs door access and has no Kisi user\(stale); inviting them: \(first.explanation)",
                     member: memberID, plan: first.planID)
                emit(.updateUser(user: .member(memberID), name: user.name, metadata: user.metadata),
                     "recording BooGYMan member ID in the metadata of \(user.name)'s new Kisi user", member: memberID)
            }
        }
    }

    mutating func updateUserIfNeeded(_ kisiUser: ObservedUser, _ user: DesiredUser) {
        let metadataOK = user.metadata.allSatisfy { key, value in
            if kisiUser.metadata[key] == value { return true }  // the usual case, without parsing UUIDs
            if key == memberIDMetadataKey {
                return kisiUser.metadata[key].flatMap(UUID.init(uuidString:)) == UUID(uuidString: value)
            }
            return kisiUser.metadata[key] == value
        }
        guard kisiUser.name != user.name || !metadataOK else { return }
        let why = kisiUser.name != user.name
            ? "member renamed: Kisi user #\(kisiUser.id) is \"\(kisiUser.name)\", member is \"\(user.name)\""
            : "recording BooGYMan member ID in the metadata of \(user.name)'s Kisi user #\(kisiUser.id)"
        emit(.updateUser(user: .kisi(kisiUser.id), name: user.name, metadata: user.metadata), why, member: user.memberID)
    }
}
