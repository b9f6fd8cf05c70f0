import AccessSync
import Foundation
import GymCore
import GymStore
import KisiAPI

/// Kisi's door events in the gym's own words: which member, at which club and door, let in or refused
/// and why. Read by the dashboard (today's check-ins), the member page (recent door events) and the
/// door activity feed.
extension AdminRoutes {
    /// Runs what a page reads from Kisi under the page's deadline; the Kisi calls are cancelled when it passes.
    func withKisiDeadline<T: Sendable>(_ what: String, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withDeadline(configuration.kisiPageDeadline, what, work)
    }

    /// Whether Kisi sends its events to this BooGYMan (a webhook is registered): then door events come
    /// from the `door_events` table every replica shares, and pages cost Kisi nothing. Without a
    /// webhook (no public address) pages ask Kisi's event sets instead.
    func doorEventsArriveByWebhook() async -> Bool {
        guard let masterKey = configuration.masterKey,
              (try? await repository.syncState(SyncStateKeys.kisiWebhookIntegrationID)) ?? nil != nil,
              let settings = try? await repository.kisiSettings(masterKey: masterKey)
        else { return false }
        return settings.instanceURL != nil && settings.webhookSecret != nil
    }

    /// A stored door event in the shape Kisi's event sets give, so both sources are described alike.
    static func kisiEvent(_ event: DoorEvent) -> KisiEvent {
        KisiEvent(
            uuid: event.kisiUUID, type: "lock.unlock", success: event.success, message: event.message,
            actorType: event.kisiUserID == nil ? nil : "User", actorID: event.kisiUserID, actorName: event.actorName,
            objectType: "Lock", objectID: event.lockID, objectName: event.lockName, placeID: event.placeID,
            errorMessage: event.success ? nil : event.message, createdAt: event.occurredAt)
    }

    /// Unlock attempts from `from` on, from the stored webhook events or from Kisi.
    func unlockEvents(from: Date, kisiUserID: Int? = nil, client: KisiClient) async throws -> [KisiEvent] {
        if await doorEventsArriveByWebhook() {
            return try await repository.doorEvents(since: from, kisiUserID: kisiUserID, limit: 50_000).map(Self.kisiEvent)
        }
        let instant = now()
        return try await withKisiDeadline("door events") {
            var query = Self.doorEventQuery(from: from, to: instant)
            if let kisiUserID {
                query.actorType = "User"
                query.actorID = kisiUserID
            }
            return try await client.allEvents(query).collect()
        }
    }

    /// The rows of the dashboard's "Today's check-ins": per club, the doors Kisi opened and refused since
    /// midnight in the club's own time zone, or the problem when Kisi is not connected or did not answer.
    func checkInsToday(layout: GymLayout) async -> [String: Any] {
        let clubs = layout.clubs.values.sorted { $0.name < $1.name }
        guard !clubs.isEmpty else { return ["problem": "No clubs yet."] }
        let client: KisiClient?
        do { client = try await storedClient() } catch { return ["problem": "BooGYMan could not read the Kisi connection."] }
        guard let client else { return ["problem": "Kisi is not connected."] }
        let instant = now()
        let midnights = Dictionary(uniqueKeysWithValues: clubs.map { club in
            (club.id, LocalDate(containing: instant, in: club.timeZone).startOfDay(in: club.timeZone))
        })
        let directory = DoorDirectory(layout: layout)
        do {
            var counts: [UUID: (opened: Int, denied: Int)] = [:]
            // The earliest midnight covers every club; each event then counts only from its own club's midnight.
            for event in try await unlockEvents(from: midnights.values.min() ?? instant, client: client) {
                guard let clubID = directory.clubID(of: event), let midnight = midnights[clubID], let at = event.createdAt, at >= midnight
                else { continue }
                if event.success == false { counts[clubID, default: (0, 0)].denied += 1 } else { counts[clubID, default: (0, 0)].opened += 1 }
            }
            return ["hasRows": true, "rows": clubs.map { club -> [String: Any] in
                ["club": club.name, "checkIns": counts[club.id]?.opened ?? 0, "denied": counts[club.id]?.denied ?? 0]
            }]
        } catch {
            return ["problem": Self.plainWords(error)]
        }
    }

    /// How far back the member page looks for the member's door events.
    static let memberEventsLookback: TimeInterval = 30 * 86_400
    static let memberEventsShown = 10

    /// The member's latest door events as Kisi recorded them for their Kisi user, newest first, or the problem.
    func recentDoorEvents(kisiUserID: Int, layout: GymLayout) async -> [String: Any] {
        let client: KisiClient?
        do { client = try await storedClient() } catch { return ["problem": "BooGYMan could not read the Kisi connection."] }
        guard let client else { return ["problem": "Kisi is not connected."] }
        let instant = now()
        do {
            let events = try await unlockEvents(from: instant.addingTimeInterval(-Self.memberEventsLookback), kisiUserID: kisiUserID, client: client)
            let directory = DoorDirectory(layout: layout)
            // Kisi's order is not documented, so the newest are picked here.
            let latest = events.sorted { ($0.createdAt ?? .distantPast) > ($1.createdAt ?? .distantPast) }.prefix(Self.memberEventsShown)
            return ["hasRows": !latest.isEmpty, "lookbackDays": Int(Self.memberEventsLookback / 86_400), "rows": latest.map { event -> [String: Any] in
                let door = directory.describe(event)
                // Mustache shows an empty string as present, so missing text is left out.
                var row: [String: Any] = ["at": door.at, "door": door.door, "opened": door.opened]
                if !door.place.isEmpty { row["where"] = door.place }
                if let reason = door.reason { row["reason"] = reason }
                return row
            }]
        } catch {
            return ["problem": Self.plainWords(error)]
        }
    }

    /// Unlock attempts between two instants. The interval is sent in whole seconds, so its end is rounded
    /// up: rounded down, it would leave out an unlock of the last second (the one a member just made at
    /// the desk).
    static func doorEventQuery(from: Date, to: Date) -> KisiEventQuery {
        let end = Date(timeIntervalSince1970: (to.timeIntervalSince1970).rounded(.up))
        return KisiEventQuery(from: from, to: end, eventTypes: ["lock.unlock"])
    }

    /// An instant in a club's own time zone, e.g. `2026-03-01 14:05:12+02:00`, or UTC when no club is known.
    static func readable(_ date: Date, in timeZone: TimeZone?) -> String {
        guard let timeZone else { return readable(date) }
        let style = Date.ISO8601FormatStyle(
            dateSeparator: .dash, dateTimeSeparator: .space, timeSeparator: .colon, timeZoneSeparator: .colon,
            includingFractionalSeconds: false, timeZone: timeZone)
        return date.formatted(style)
    }
}

/// The gym's names for Kisi's ids: a lock is a club entrance or a studio door, a place is a club, a Kisi
/// user is a member.
struct DoorDirectory: Sendable {
    let layout: GymLayout
    let doors: [Int: Door]
    let clubsByPlace: [Int: UUID]
    let membersByKisiUser: [Int: UUID]

    init(layout: GymLayout, links: KisiLinks = KisiLinks()) {
        self.layout = layout
        self.doors = Dictionary(layout.allDoors.map { ($0.lockID, $0) }, uniquingKeysWith: { first, _ in first })
        var clubsByPlace: [Int: UUID] = [:]
        for club in layout.clubs.values { if let place = club.kisiPlaceID { clubsByPlace[place] = club.id } }
        self.clubsByPlace = clubsByPlace
        self.membersByKisiUser = Dictionary(links.users.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
    }

    /// The club of the event's door; a door Kisi knows but the layout does not still counts for the club
    /// whose Kisi place it is in.
    func clubID(of event: KisiEvent) -> UUID? {
        if let lock = event.objectID, let door = doors[lock] { return door.clubID }
        return event.placeID.flatMap { clubsByPlace[$0] }
    }

    func memberID(of event: KisiEvent) -> UUID? {
        guard event.actorType == nil || event.actorType == "User", let user = event.actorID else { return nil }
        return membersByKisiUser[user]
    }

    struct Description {
        var at: String
        /// Club, and studio when the door is a studio's; empty when the door is not one of the gym's.
        var place: String
        var door: String
        var opened: Bool
        /// Kisi's own words for a refusal, e.g. "Your access is no longer valid."
        var reason: String?
    }

    func describe(_ event: KisiEvent) -> Description {
        let clubID = clubID(of: event)
        let club = clubID.flatMap { layout.clubs[$0] }
        var place = club?.name ?? ""
        if let lock = event.objectID, let studio = doors[lock]?.studioID.flatMap({ layout.studios[$0] }) {
            place += " · " + studio.name
        }
        let door = event.objectName ?? event.objectID.map { "Lock \($0)" } ?? "a door"
        let opened = event.success != false
        var reason: String?
        if !opened { reason = event.errorMessage ?? event.message ?? event.errorCode.map { "Kisi code \($0)" } ?? "Kisi gave no reason." }
        return Description(
            at: event.createdAt.map { AdminRoutes.readable($0, in: club?.timeZone) } ?? "", place: place, door: door,
            opened: opened, reason: reason)
    }
}
