import Foundation
import GymStore
import Hummingbird
import KisiAPI
import NIOCore

/// Door activity: a page with a live feed of Kisi's `lock.unlock` events, sent as Server-Sent Events.
extension AdminRoutes {
    /// How often the stream asks Kisi for new events; Kisi allows one event query per second per key.
    static let activityPollInterval: Duration = .seconds(4)
    /// A stream ends after this long and the browser's EventSource reconnects by itself, so no
    /// request outlives a shutdown by more than this.
    static let activityStreamLifetime: TimeInterval = 120
    /// How far back the feed starts.
    static let activityLookback: TimeInterval = 3600

    func addActivityRoutes(to admin: RouterGroup<AdminContext>) {
        admin.get("activity") { request, context in
            let session = try require(request, context)
            return try page("activity", request, context, session: session, active: "activity", ["connected": sync != nil || configuration.masterKey != nil])
        }
        admin.get("activity/stream") { request, context in
            _ = try require(request, context)
            guard let client = try await storedClient() else { throw AdminError.badRequest("Kisi is not connected.") }
            let now = self.now
            let logger = context.logger
            let body = ResponseBody { writer in
                var seen = Set<String>()
                var since = now().addingTimeInterval(-Self.activityLookback)
                let started = now()
                while now().timeIntervalSince(started) < Self.activityStreamLifetime, !Task.isCancelled {
                    let until = now()
                    do {
                        let events = try await Self.doorEvents(client, from: since, to: until)
                        for event in events where !seen.contains(event.uuid) {
                            seen.insert(event.uuid)
                            try await writer.write(ByteBuffer(string: Self.serverSentEvent(event)))
                        }
                        // Overlap the windows a little: Kisi may record an event a moment after it happened.
                        since = until.addingTimeInterval(-30)
                    } catch let error as KisiError {
                        logger.info("door activity feed: Kisi failed", metadata: ["error": "\(error)"])
                        try await writer.write(ByteBuffer(string: "event: problem\ndata: \(Self.jsonString(["message": Self.plainWords(error)]))\n\n"))
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

    static func doorEvents(_ client: KisiClient, from: Date, to: Date) async throws -> [KisiEvent] {
        var page = try await client.createEventSet(KisiEventQuery(from: from, to: to, eventTypes: ["lock.unlock"]))
        var events = page.events
        var attempts = 0
        // Kisi collects large sets in the background; a few short waits cover the feed's small windows.
        while page.status == .inProgress, attempts < 5 {
            attempts += 1
            try await Task.sleep(for: .milliseconds(500))
            page = try await client.eventSet(id: page.eventSetID)
            events = page.events
        }
        return events.sorted { ($0.createdAt ?? .distantPast) < ($1.createdAt ?? .distantPast) }
    }

    /// One event for the browser; the page inserts its fields as text, never as markup.
    static func serverSentEvent(_ event: KisiEvent) -> String {
        let fields: [String: String] = [
            "at": event.createdAt.map(readable) ?? "",
            "door": event.objectName ?? event.objectID.map { "Lock \($0)" } ?? "a door",
            "who": event.actorName ?? event.actorEmail ?? "someone",
            "outcome": event.success == false ? "denied" : "opened",
            "message": event.message ?? "",
        ]
        return "event: door\nid: \(event.uuid)\ndata: \(jsonString(fields))\n\n"
    }

    static func jsonString(_ fields: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
