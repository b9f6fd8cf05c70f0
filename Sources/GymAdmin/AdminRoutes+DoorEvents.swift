import AccessSync
import Foundation
import GymCore
import GymStore
import Logging

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
              (try? await repository.syncState.get(.kisiWebhookIntegrationID)) != nil,
              let settings = try? await repository.kisiSettings(masterKey: masterKey)
        else { return false }
        return settings.instanceURL != nil && settings.webhookSecret != nil
    }

    /// Where door activity comes from when Kisi's event sets are polled (no webhook), in plain words: how
    /// often, and for which places when the key may read only some. Nil with a webhook or without Kisi.
    func doorActivitySource() async -> String? {
        guard await kisiConnectionStored(), !(await doorEventsArriveByWebhook()) else { return nil }
        guard let rights = await control.connectionRights() else { return KisiKeyRights(reach: .unknown, canRegisterWebhook: false, lines: []).eventPollingWords }
        return rights.eventPollingWords
    }

    /// Whether a Kisi connection is stored (this replica may not have adopted it yet).
    func kisiConnectionStored() async -> Bool {
        if control.isConnected { return true }
        guard let masterKey = configuration.masterKey else { return false }
        return ((try? await repository.kisiSettings(masterKey: masterKey)) ?? nil) != nil
    }

    /// Unlock attempts from `from` on, from the stored webhook events or from Kisi. What Kisi's event sets
    /// answer is stored as well, so the charts and the churn list, which count stored events, see it too.
    func unlockEvents(from: Date, kisiUserID: Int? = nil) async throws -> [DoorEvent] {
        if await doorEventsArriveByWebhook() {
            return try await repository.doorEvents(since: from, kisiUserID: kisiUserID, limit: 50_000)
        }
        let instant = now()
        let control = self.control
        let events = try await withKisiDeadline("door events") {
            try await control.unlockEvents(from: from, to: instant, kisiUserID: kisiUserID)
        }
        await storePolled(events)
        return events
    }

    /// Keeps door events read from Kisi's event sets; a failure costs the page nothing (Kisi keeps them).
    func storePolled(_ events: [DoorEvent]) async {
        do {
            try await repository.recordNewDoorEvents(events)
        } catch {
            Logger(label: "boogyman.admin").warning("door events read from Kisi were not stored", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    /// After this long without a stored door event while Kisi's webhook should deliver them, the
    /// dashboard says the door data may be stale: a club's doors see someone every day.
    static let doorDataStaleAfter: TimeInterval = 86_400

    /// Brings the stored door events up to now where it can, before the dashboard counts them: without a
    /// webhook, today's events are read from Kisi's event sets and stored. Returns the lines that say
    /// where the figures come from and, when nothing new can arrive or nothing has lately, how old they are.
    func refreshDoorData(layout: GymLayout) async -> (source: String?, stale: String?) {
        guard !layout.clubs.isEmpty else { return (nil, nil) }
        let instant = now()
        let time = ClubTime.gym(layout)
        func latestWords() async -> String {
            guard let latest = try? await repository.latestDoorEventAt() else { return "no door event is stored yet" }
            return "the latest is from \(time.text(latest, now: instant))"
        }
        guard await kisiConnectionStored() else {
            return (nil, "Kisi is not connected, so no new door events arrive: these figures count the door events stored until then; \(await latestWords()).")
        }
        if await doorEventsArriveByWebhook() {
            let latest = try? await repository.latestDoorEventAt()
            guard let latest, instant.timeIntervalSince(latest) < Self.doorDataStaleAfter else {
                return (nil, "No door event has arrived from Kisi's webhook for a day: \(await latestWords()). Check the webhook in Kisi's dashboard (Settings → Integrations).")
            }
            return (nil, nil)
        }
        let midnight = layout.clubs.values.map { LocalDate(containing: instant, in: $0.timeZone).startOfDay(in: $0.timeZone) }.min() ?? instant
        do {
            _ = try await unlockEvents(from: midnight)
            return (await doorActivitySource(), nil)
        } catch {
            // Not the source's words here: finding them may ask a Kisi that just failed to answer.
            return (nil, "Kisi did not answer for today's door events (\(Self.plainWords(error))): these figures count the door events stored so far; \(await latestWords()).")
        }
    }

    /// The rows of the dashboard's "Today's check-ins": per club, the doors Kisi opened and refused since
    /// midnight in the club's own time zone, counted from the stored door events as the charts beside
    /// them are, whether or not Kisi is connected.
    static func checkInsToday(_ attendance: Attendance, source: String?, stale: String?) -> [String: Any] {
        guard !attendance.clubs.isEmpty else { return ["problem": "No clubs yet."] }
        var data: [String: Any] = ["hasRows": true, "rows": attendance.clubs.map { club -> [String: Any] in
            ["club": club.name, "checkIns": club.checkInsToday, "denied": club.deniedToday]
        }]
        if let source { data["source"] = source }
        if let stale { data["stale"] = stale }
        return data
    }

    /// How far back the member page looks for the member's door events.
    static let memberEventsLookback: TimeInterval = 30 * 86_400
    static let memberEventsShown = 10

    /// The member's latest door events, newest first, or the problem: as Kisi recorded them for their Kisi
    /// user, with the stored events that name the member without one (a history from before their Kisi
    /// user was linked); without Kisi, the stored ones alone.
    func recentDoorEvents(member: Member, kisiUserID: Int?, layout: GymLayout) async -> [String: Any] {
        let instant = now()
        let since = instant.addingTimeInterval(-Self.memberEventsLookback)
        do {
            var events = try await repository.doorEvents(since: since, member: member, kisiUserID: kisiUserID, limit: Self.memberEventsShown)
            var problem: String?
            if let kisiUserID, await kisiConnectionStored(), !(await doorEventsArriveByWebhook()) {
                do {
                    let known = Set(events.map(\.kisiUUID))
                    events += try await unlockEvents(from: since, kisiUserID: kisiUserID).filter { !known.contains($0.kisiUUID) }
                } catch {
                    problem = "Kisi did not answer for the latest door events (\(Self.plainWords(error))); these are the stored ones."
                }
            }
            let directory = DoorDirectory(layout: layout)
            // Kisi's order is not documented, so the newest are picked here.
            let latest = events.sorted { $0.occurredAt > $1.occurredAt }.prefix(Self.memberEventsShown)
            var data: [String: Any] = [
                "hasRows": !latest.isEmpty, "lookbackDays": Int(Self.memberEventsLookback / 86_400),
                "rows": latest.map { event -> [String: Any] in
                    let door = directory.describe(event)
                    // Mustache shows an empty string as present, so missing text is left out.
                    var row: [String: Any] = ["at": door.at, "door": door.door, "opened": door.opened]
                    if !door.place.isEmpty { row["where"] = door.place }
                    if let reason = door.reason { row["reason"] = reason }
                    return row
                },
            ]
            if let problem { data["notice"] = problem }
            return data
        } catch {
            return ["problem": Self.plainWords(error)]
        }
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
    func clubID(of event: DoorEvent) -> UUID? {
        if let lock = event.lockID, let door = doors[lock] { return door.clubID }
        return event.placeID.flatMap { clubsByPlace[$0] }
    }

    func memberID(of event: DoorEvent) -> UUID? {
        event.kisiUserID.flatMap { membersByKisiUser[$0] }
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

    func describe(_ event: DoorEvent) -> Description {
        let clubID = clubID(of: event)
        let club = clubID.flatMap { layout.clubs[$0] }
        var place = club?.name ?? ""
        let door = event.lockName ?? event.lockID.map { "Lock \($0)" } ?? "a door"
        // A studio whose one door Kisi names like the studio reads once: "Floreasca · Pool", not "Floreasca · Pool · Pool".
        if let lock = event.lockID, let studio = doors[lock]?.studioID.flatMap({ layout.studios[$0] }),
           studio.name.caseInsensitiveCompare(door) != .orderedSame {
            place += " · " + studio.name
        }
        let opened = event.success
        var reason: String?
        if !opened { reason = event.message ?? "Kisi gave no reason." }
        return Description(
            at: (club.map { ClubTime($0.timeZone) } ?? .utc).text(event.occurredAt), place: place, door: door,
            opened: opened, reason: reason)
    }
}
