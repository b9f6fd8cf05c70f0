import FluentKit
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

    /// Each member's last door event (opened or refused) through the Kisi user linked to them: who comes
    /// to the door, for the order of a long sync. One aggregate query over the events' user index.
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
        return last
    }

    /// Events from `since` on, newest first, optionally of one Kisi user.
    public func doorEvents(since: Date, kisiUserID: Int? = nil, limit: Int = 200) async throws -> [DoorEvent] {
        var query = DoorEventRow.query(on: database).filter(\.$occurredAt >= since)
        if let kisiUserID { query = query.filter(\.$kisiUserID == kisiUserID) }
        return try await query.sort(\.$occurredAt, .descending).sort(\.$id, .descending).limit(limit).all().map(\.domain)
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
