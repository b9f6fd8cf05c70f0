import AccessSync
import Foundation
import GymStore
import Hummingbird
import NIOCore

/// Door activity: a page with a live feed of Kisi's `lock.unlock` events as check-ins (member, club,
/// door, opened or refused and why), sent as Server-Sent Events.
extension AdminRoutes {
    /// How often the stream asks Kisi for new events (the pace the Kisi wizard names for keys without a webhook).
    static let activityPollInterval: Duration = KisiKeyRights.eventSetPollInterval
    /// A stream ends after this long and the browser's EventSource reconnects by itself, so no
    /// request outlives a shutdown by more than this.
    static let activityStreamLifetime: TimeInterval = 120
    /// How far back the feed starts.
    static let activityLookback: TimeInterval = 3600

    func addActivityRoutes(to admin: RouterGroup<AdminContext>) {
        admin.get("activity") { request, context in
            let session = try require(request, context)
            var data: [String: Any] = ["connected": control.isConnected || configuration.masterKey != nil]
            // The filters pick among the gym's own clubs; the page filters the live feed as it arrives.
            data["clubs"] = try await repository.layout().clubs.values.map(\.name).sorted()
            if let source = await doorActivitySource() { data["source"] = source }
            return try page("activity", request, context, session: session, active: "activity", data)
        }
        admin.get("activity/stream") { request, context in
            _ = try require(request, context)
            // Without Kisi the stored events are all there is (those kept before a disconnection, or a
            // demo's history): the last hour of them, rather than a page waiting for Kisi forever.
            guard await kisiConnectionStored() else { return storedActivityStream() }
            let control = self.control
            let now = self.now
            let logger = context.logger
            let repository = self.repository
            if await doorEventsArriveByWebhook() { return storedActivityStream() }
            let body = ResponseBody { writer in
                var seen = Set<String>()
                var since = now().addingTimeInterval(-Self.activityLookback)
                let started = now()
                var memberNames: [UUID: String] = [:]
                while now().timeIntervalSince(started) < Self.activityStreamLifetime, !Task.isCancelled {
                    let until = now()
                    do {
                        let events = try await control.unlockEvents(from: since, to: until, kisiUserID: nil)
                        // Kept, so the charts and the churn list count what the feed shows.
                        _ = try? await repository.recordNewDoorEvents(events)
                        // Read each round, so a member linked or a door mapped meanwhile shows by name.
                        let directory = DoorDirectory(layout: try await repository.layout(), links: try await repository.kisiLinks())
                        for event in events where !seen.contains(event.kisiUUID) {
                            seen.insert(event.kisiUUID)
                            let line = await Self.checkIn(event, directory: directory, repository: repository, names: &memberNames)
                            try await writer.write(ByteBuffer(string: line))
                        }
                        // Overlap the windows a little: Kisi may record an event a moment after it happened.
                        since = until.addingTimeInterval(-30)
                    } catch let problem as KisiProblem {
                        logger.info("door activity feed: Kisi failed", metadata: ["error": "\(problem.detail)"])
                        try await writer.write(ByteBuffer(string: "event: problem\ndata: \(Self.jsonString(["message": problem.plainWords]))\n\n"))
                    }
                    // A comment line keeps proxies from closing an idle stream.
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    try await Task.sleep(for: Self.activityPollInterval)
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [
                .contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store",
            ], body: body)
        }
    }

    /// The live feed from the events Kisi's webhook delivered (any replica may have received them):
    /// the last hour, then whatever arrives, read from the database every second.
    func storedActivityStream() -> Response {
        let repository = self.repository
        let now = self.now
        let body = ResponseBody { writer in
            let started = now()
            // The newest ID first, then the hour before it: an event arriving in between is shown, not skipped.
            var lastID = try await repository.lastDoorEventID()
            var pending = Array(try await repository.doorEvents(since: now().addingTimeInterval(-Self.activityLookback), limit: 500).reversed())
            var memberNames: [UUID: String] = [:]
            var lastKeepAlive = started
            while now().timeIntervalSince(started) < Self.activityStreamLifetime, !Task.isCancelled {
                if pending.isEmpty { pending = try await repository.doorEvents(afterID: lastID) }
                if !pending.isEmpty {
                    let directory = DoorDirectory(layout: try await repository.layout(), links: try await repository.kisiLinks())
                    for stored in pending {
                        if let id = stored.id, id > lastID { lastID = id }
                        let line = await Self.checkIn(stored, directory: directory, repository: repository, names: &memberNames)
                        try await writer.write(ByteBuffer(string: line))
                    }
                    pending = []
                }
                if now().timeIntervalSince(lastKeepAlive) >= 15 {
                    lastKeepAlive = now()
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                }
                try await Task.sleep(for: .seconds(1))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store"], body: body)
    }

    /// One event as a check-in for the feed, naming the member when the Kisi user is one; `names`
    /// keeps the names already read for the life of the stream.
    static func checkIn(
        _ event: DoorEvent, directory: DoorDirectory, repository: GymRepository, names: inout [UUID: String]
    ) async -> String {
        var member: (id: UUID, name: String)?
        if let memberID = directory.memberID(of: event) {
            if names[memberID] == nil { names[memberID] = (try? await repository.member(memberID))?.fullName }
            if let name = names[memberID] { member = (memberID, name) }
        }
        return serverSentEvent(event, directory: directory, member: member)
    }

    /// One check-in for the browser: the member (or Kisi's name for someone who is not one), the club and
    /// studio, Kisi's door name, opened or denied with Kisi's reason. The page inserts the fields as
    /// text, never as markup.
    static func serverSentEvent(_ event: DoorEvent, directory: DoorDirectory, member: (id: UUID, name: String)?) -> String {
        let door = directory.describe(event)
        var fields: [String: String] = [
            "at": door.at,
            "who": member?.name ?? event.actorName ?? "someone",
            "club": door.place,
            "door": door.door,
            "outcome": door.opened ? "opened" : "denied",
            "reason": door.reason ?? "",
        ]
        if let member { fields["memberID"] = member.id.uuidString }
        if let club = directory.clubID(of: event).flatMap({ directory.layout.clubs[$0] }) { fields["clubName"] = club.name }
        return "event: door\nid: \(event.kisiUUID)\ndata: \(jsonString(fields))\n\n"
    }

    static func jsonString(_ fields: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
