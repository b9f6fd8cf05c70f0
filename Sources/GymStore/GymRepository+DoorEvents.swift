import FluentKit
import GymCore
import Foundation
import SQLKit

/// A door event Kisi reported (`lock.unlock`, allowed or denied), kept so that the door activity feed,
/// the dashboard's check-ins and a member's recent entries come from the database every replica
/// shares, instead of each open page asking Kisi (whose event queries are limited to one a second).
public struct DoorEvent: Sendable, Equatable {
    /// Local sequence: a feed asks for events after the last one it showed.
    public var id: Int?
    /// Kisi's event UUID; a redelivered webhook does not count twice.
    public var kisiUUID: String
    public var occurredAt: Date
    public var lockID: Int?
    public var lockName: String?
    public var placeID: Int?
    public var kisiUserID: Int?
    public var actorName: String?
    public var success: Bool
    /// Kisi's own words, e.g. "Ana was denied access to Old Town entrance".
    public var message: String?

    public init(
        id: Int? = nil, kisiUUID: String, occurredAt: Date, lockID: Int?, lockName: String?, placeID: Int?, kisiUserID: Int?,
        actorName: String?, success: Bool, message: String?
    ) {
        self.id = id
        self.kisiUUID = kisiUUID
        self.occurredAt = occurredAt
        self.lockID = lockID
        self.lockName = lockName
        self.placeID = placeID
        self.kisiUserID = kisiUserID
        self.actorName = actorName
        self.success = success
        self.message = message
    }
}

extension GymRepository {
    /// How long door events are kept.
    public static let doorEventRetention: TimeInterval = 90 * 86_400

    /// Stores a door event once; returns false when Kisi's UUID was already stored (a redelivery).
    @discardableResult
    public func recordDoorEvent(_ event: DoorEvent) async throws -> Bool {
        if try await DoorEventRow.query(on: database).filter(\.$kisiUUID == event.kisiUUID).first() != nil { return false }
        let row = DoorEventRow(event)
        do {
            try await row.create(on: database)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            return false  // the same delivery, raced on another replica
        }
        // Old events go as new ones come: no separate clean-up job to forget.
        if (row.id ?? 0) % 500 == 0 {
            try await DoorEventRow.query(on: database)
                .filter(\.$occurredAt < event.occurredAt.addingTimeInterval(-Self.doorEventRetention)).delete()
        }
        return true
    }

    /// Events with a local ID above `afterID`, oldest first: what a live feed has not shown yet.
    public func doorEvents(afterID: Int, limit: Int = 200) async throws -> [DoorEvent] {
        try await DoorEventRow.query(on: database).filter(\.$id > afterID).sort(\.$id, .ascending).limit(limit).all().map(\.domain)
    }

    /// The local ID of the newest event, 0 when none: where a live feed starts.
    public func lastDoorEventID() async throws -> Int {
        try await DoorEventRow.query(on: database).sort(\.$id, .descending).first()?.id ?? 0
    }

    /// Each member's last door event (opened or refused): who comes to the door, for the attendance
    /// page's churn list and the order of a long sync. An event counts for a member through the Kisi
    /// user linked to them (one aggregate query over the events' user index) or, when its Kisi user is
    /// linked to no member, through the actor it names (see ``doorEventsByActor()``): Kisi reports a door
    /// event whether or not BooGYMan has linked that Kisi user yet, and a member adopted later, held
    /// for review, or seeded without a Kisi user would otherwise look as if they never came.
    public func lastDoorEventPerMember() async throws -> [UUID: Date] {
        let rows = try await sqlDatabase.raw("""
            SELECT l.local_id AS member_id, MAX(d.occurred_at) AS last_at
            FROM door_events d JOIN kisi_links l ON l.kind = \(bind: KisiLinkRow.memberKind) AND l.kisi_id = d.kisi_user_id
            GROUP BY l.local_id
            """).all()
        var last = [UUID: Date](minimumCapacity: rows.count)
        for row in rows {
            last[try row.decode(column: "member_id", as: UUID.self)] = try row.decode(column: "last_at", as: Date.self)
        }
        for (memberID, at) in try await doorEventsByActor() where last[memberID].map({ at > $0 }) ?? true {
            last[memberID] = at
        }
        return last
    }

    /// The last door event of each member named by events whose Kisi user is linked to no member:
    /// the actor's name is the member's e-mail (Kisi names a user without a name by e-mail) or the
    /// full name of exactly one member ("Ana Popescu", letter case and spacing aside). Two members of
    /// one name are told apart only by their Kisi users, so such a name counts for neither. An event
    /// carrying a Kisi user counts only for a member who has no Kisi user of their own yet: it may be
    /// the one the sync will link, whereas a member linked to another Kisi user is someone else.
    ///
    /// One aggregate query over the unlinked events (one row per actor name), then the members those
    /// names may be, found by e-mail and last name through their indexes, a few hundred names a query.
    func doorEventsByActor() async throws -> [UUID: Date] {
        let sql = try sqlDatabase
        let rows = try await sql.raw("""
            SELECT d.actor_name AS actor, CASE WHEN d.kisi_user_id IS NULL THEN 1 ELSE 0 END AS anonymous,
                MAX(d.occurred_at) AS last_at
            FROM door_events d
            LEFT JOIN kisi_links l ON l.kind = \(bind: KisiLinkRow.memberKind) AND l.kisi_id = d.kisi_user_id
            WHERE l.kisi_id IS NULL AND d.actor_name IS NOT NULL
            GROUP BY d.actor_name, CASE WHEN d.kisi_user_id IS NULL THEN 1 ELSE 0 END
            """).all()
        guard !rows.isEmpty else { return [:] }
        /// Per normalized actor: the last event without a Kisi user, and the last with an unlinked one.
        var actors: [String: (anonymous: Date?, unlinked: Date?)] = [:]
        var spellings = Set<String>()
        for row in rows {
            let written = try row.decode(column: "actor", as: String.self)
            let actor = DoorEventActor.key(written)
            guard !actor.isEmpty else { continue }
            spellings.insert(written)
            let at = try row.decode(column: "last_at", as: Date.self)
            var entry = actors[actor] ?? (nil, nil)
            if try row.decode(column: "anonymous", as: Int.self) == 1 {
                entry.anonymous = max(entry.anonymous ?? at, at)
            } else {
                entry.unlinked = max(entry.unlinked ?? at, at)
            }
            actors[actor] = entry
        }
        let candidates = try await membersNamed(by: Array(spellings))
        let linked = try await membersWithKisiUser(Array(Set(candidates.values)))
        var last: [UUID: Date] = [:]
        for (actor, entry) in actors {
            guard let memberID = candidates[actor] else { continue }
            let unlinked = linked.contains(memberID) ? nil : entry.unlinked
            guard let at = [entry.anonymous, unlinked].compactMap({ $0 }).max() else { continue }
            last[memberID] = max(last[memberID] ?? at, at)
        }
        return last
    }

    /// The one member each actor names, by e-mail or by a full name no other member has, keyed by the
    /// actor's ``DoorEventActor/key(_:)``; actors naming nobody or several members are left out.
    func membersNamed(by actors: [String]) async throws -> [String: UUID] {
        let keys = Set(actors.map(DoorEventActor.key))
        let emails = keys.filter { $0.contains("@") }.sorted()
        let names = actors.filter { !$0.contains("@") }
        var found: [String: UUID] = [:]
        let chunk = 400
        for start in stride(from: 0, to: emails.count, by: chunk) {
            let part = Array(emails[start..<min(start + chunk, emails.count)])
            for row in try await MemberRow.query(on: database).filter(\.$emailKey ~~ part).all() {
                if let id = row.id { found[row.emailKey] = id }
            }
        }
        // A member's last name is one of the name's word-suffixes ("Van Damme" of "Jean Van Damme"); the
        // last-name index finds every member who may bear the name, and the full name then decides.
        var lastNames = Set<String>()
        for name in names {
            let words = name.split(whereSeparator: \.isWhitespace)
            for start in 1..<max(words.count, 1) { lastNames.insert(words[start...].joined(separator: " ")) }
        }
        var byName: [String: Set<UUID>] = [:]
        let wanted = Set(names.map(DoorEventActor.key))
        let surnames = Array(lastNames)
        for start in stride(from: 0, to: surnames.count, by: chunk) {
            let part = Array(surnames[start..<min(start + chunk, surnames.count)])
            // Names are stored as typed: the suffixes are asked as Kisi wrote them and capitalized too.
            let spellings = Array(Set(part + part.map(\.capitalized)))
            for row in try await MemberRow.query(on: database).filter(\.$lastName ~~ spellings).all() {
                let key = DoorEventActor.key(row.firstName + " " + row.lastName)
                if wanted.contains(key), let id = row.id { byName[key, default: []].insert(id) }
            }
        }
        for (name, ids) in byName where ids.count == 1 { found[name] = ids.first }
        return found
    }

    /// Which of `memberIDs` are linked to a Kisi user.
    func membersWithKisiUser(_ memberIDs: [UUID]) async throws -> Set<UUID> {
        var linked = Set<UUID>()
        let chunk = 400
        for start in stride(from: 0, to: memberIDs.count, by: chunk) {
            let part = Array(memberIDs[start..<min(start + chunk, memberIDs.count)])
            let rows = try await KisiLinkRow.query(on: database)
                .filter(\.$kind == KisiLinkRow.memberKind).filter(\.$localID ~~ part).all()
            linked.formUnion(rows.map(\.localID))
        }
        return linked
    }

    /// A member's door events from `since` on, newest first: those of their Kisi user and those that name
    /// them without a Kisi user linked to a member, as ``lastDoorEventPerMember()`` counts them.
    public func doorEvents(since: Date, member: Member, kisiUserID: Int?, limit: Int = 200) async throws -> [DoorEvent] {
        var events: [DoorEvent] = []
        if let kisiUserID { events = try await doorEvents(since: since, kisiUserID: kisiUserID, limit: limit) }
        // The actor keys that are the member's; the name counts only while no other member bears it.
        var keys: Set<String> = [member.email.normalized]
        if try await membersNamed(by: [member.fullName])[DoorEventActor.key(member.fullName)] == member.id {
            keys.insert(DoorEventActor.key(member.fullName))
        }
        // The actors' spellings as stored (one row each), so that every spelling of the member's key is
        // asked for exactly, as ``lastDoorEventPerMember()`` matches them.
        let actorRows = try await sqlDatabase.raw("""
            SELECT DISTINCT actor_name AS actor FROM door_events WHERE occurred_at >= \(bind: since) AND actor_name IS NOT NULL
            """).all()
        let spellings = try actorRows.map { try $0.decode(column: "actor", as: String.self) }.filter { keys.contains(DoorEventActor.key($0)) }
        let named = spellings.isEmpty ? [] : try await DoorEventRow.query(on: database).filter(\.$occurredAt >= since)
            .filter(\.$actorName ~~ spellings)
            .sort(\.$occurredAt, .descending).sort(\.$id, .descending).limit(limit).all().map(\.domain)
        // An event with a Kisi user of its own counts only while that user is linked to no member and the
        // member has none yet (it may be theirs); the member's own user's events are in already.
        let unlinkedUsers = Set(named.compactMap(\.kisiUserID))
        let linkedUsers = unlinkedUsers.isEmpty ? [] : Set(try await KisiLinkRow.query(on: database)
            .filter(\.$kind == KisiLinkRow.memberKind).filter(\.$kisiID ~~ Array(unlinkedUsers)).all().map(\.kisiID))
        events += named.filter { event in
            guard let user = event.kisiUserID else { return true }
            return kisiUserID == nil && !linkedUsers.contains(user)
        }
        var seen = Set<String>()
        return events.filter { seen.insert($0.kisiUUID).inserted }
            .sorted { ($0.occurredAt, $0.id ?? 0) > ($1.occurredAt, $1.id ?? 0) }.prefix(limit).map { $0 }
    }

    /// The instant of the newest stored door event, nil when none: how fresh the stored door data is.
    public func latestDoorEventAt() async throws -> Date? {
        try await DoorEventRow.query(on: database).sort(\.$occurredAt, .descending).first()?.occurredAt
    }

    /// Stores the events not stored yet, one query to find which are new and one transaction to add
    /// them: what a page read from Kisi's event sets (no webhook) joins the stored history the charts
    /// and the churn list count. Returns how many were new.
    @discardableResult
    public func recordNewDoorEvents(_ events: [DoorEvent]) async throws -> Int {
        var unique: [String: DoorEvent] = [:]
        for event in events where !event.kisiUUID.isEmpty { unique[event.kisiUUID] = event }
        guard !unique.isEmpty else { return 0 }
        var known = Set<String>()
        let uuids = Array(unique.keys)
        for start in stride(from: 0, to: uuids.count, by: 400) {
            let part = Array(uuids[start..<min(start + 400, uuids.count)])
            known.formUnion(try await DoorEventRow.query(on: database).filter(\.$kisiUUID ~~ part).all().map(\.kisiUUID))
        }
        let fresh = unique.values.filter { !known.contains($0.kisiUUID) }.sorted { $0.occurredAt < $1.occurredAt }
        guard !fresh.isEmpty else { return 0 }
        do {
            try await recordDoorEvents(fresh)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            // Another replica or page stored some meanwhile: one at a time, each skipped when known.
            for event in fresh { try await recordDoorEvent(event) }
        }
        // Old events go as new ones come, as for the webhook's.
        try await DoorEventRow.query(on: database)
            .filter(\.$occurredAt < Date().addingTimeInterval(-Self.doorEventRetention)).delete()
        return fresh.count
    }

    /// Events from `since` on, newest first, optionally of one Kisi user.
    public func doorEvents(since: Date, kisiUserID: Int? = nil, limit: Int = 200) async throws -> [DoorEvent] {
        var query = DoorEventRow.query(on: database).filter(\.$occurredAt >= since)
        if let kisiUserID { query = query.filter(\.$kisiUserID == kisiUserID) }
        return try await query.sort(\.$occurredAt, .descending).sort(\.$id, .descending).limit(limit).all().map(\.domain)
    }
}

/// How a door event's actor is compared with members: letter case and spacing aside.
public enum DoorEventActor {
    public static func key(_ actor: String) -> String {
        actor.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}

final class DoorEventRow: Model, @unchecked Sendable {
    static let schema = "door_events"
    @ID(custom: .id, generatedBy: .database) var id: Int?
    @Field(key: "kisi_uuid") var kisiUUID: String
    @Field(key: "occurred_at") var occurredAt: Date
    @OptionalField(key: "lock_id") var lockID: Int?
    @OptionalField(key: "lock_name") var lockName: String?
    @OptionalField(key: "place_id") var placeID: Int?
    @OptionalField(key: "kisi_user_id") var kisiUserID: Int?
    @OptionalField(key: "actor_name") var actorName: String?
    @Field(key: "success") var success: Bool
    @OptionalField(key: "message") var message: String?
    @Field(key: "received_at") var receivedAt: Date
    init() {}

    init(_ event: DoorEvent) {
        kisiUUID = event.kisiUUID
        occurredAt = event.occurredAt
        lockID = event.lockID
        lockName = event.lockName.map { String($0.prefix(200)) }
        placeID = event.placeID
        kisiUserID = event.kisiUserID
        actorName = event.actorName.map { String($0.prefix(200)) }
        success = event.success
        message = event.message.map { String($0.prefix(500)) }
        receivedAt = Date()
    }

    var domain: DoorEvent {
        DoorEvent(
            id: id, kisiUUID: kisiUUID, occurredAt: occurredAt, lockID: lockID, lockName: lockName, placeID: placeID,
            kisiUserID: kisiUserID, actorName: actorName, success: success, message: message)
    }
}
