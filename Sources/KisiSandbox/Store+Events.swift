import Foundation

enum EventSets {
    /// Filter fields echoed by the EventSet schema (besides interval and place_id).
    static let filterKeys = [
        "event_actor_id", "event_actor_type", "event_authenticated_by_id", "event_authenticated_by_type",
        "event_object_id", "event_object_type", "event_place_id", "event_success", "event_sequence",
        "event_type", "event_uuid",
    ]
    static let maxWidth: TimeInterval = 90 * 86_400
    static let defaultPageSize = 50
    /// Not documented; the sandbox caps a page at 250 like most list endpoints.
    static let maxPageSize = 250

    /// ISO-8601 intervals: `start/end`, `start/duration`, `duration/end`.
    static func parseInterval(_ s: String) -> (Date, Date)? {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { return nil }
        if let a = KisiTime.parse(parts[0]) {
            if let b = KisiTime.parse(parts[1]) { return (a, b) }
            if let d = parseDuration(parts[1]) { return (a, a.addingTimeInterval(d)) }
        } else if let d = parseDuration(parts[0]), let b = KisiTime.parse(parts[1]) {
            return (b.addingTimeInterval(-d), b)
        }
        return nil
    }

    /// `PnYnMnWnDTnHnMnS` with years as 365 days and months as 30 days.
    static func parseDuration(_ s: String) -> TimeInterval? {
        guard s.hasPrefix("P"), s.count > 1 else { return nil }
        var total: Double = 0, number = "", inTime = false, sawUnit = false
        for ch in s.dropFirst() {
            if ch == "T" { inTime = true; continue }
            if ch.isNumber || ch == "." || ch == "," { number.append(ch == "," ? "." : ch); continue }
            guard let n = Double(number) else { return nil }
            number = ""
            sawUnit = true
            switch (ch, inTime) {
            case ("Y", false): total += n * 365 * 86_400
            case ("M", false): total += n * 30 * 86_400
            case ("W", false): total += n * 7 * 86_400
            case ("D", false): total += n * 86_400
            case ("H", true): total += n * 3600
            case ("M", true): total += n * 60
            case ("S", true): total += n
            default: return nil
            }
        }
        return number.isEmpty && sawUnit ? total : nil
    }
}

extension SandboxStore {
    func createEventSet(_ r: APIRequest) throws(APIError) -> Reply {
        let readablePlaces = try readableEventPlaces(r.caller.authority)
        let body = try r.wrapped("event_set")
        var v = ValidationErrors()
        let now = now()
        var start = now.addingTimeInterval(-EventSets.maxWidth), end = now
        var intervalString = "\(KisiTime.format(start))/\(KisiTime.format(end))"
        if let raw = body["interval"]?.string, !raw.isEmpty {
            if let (a, b) = EventSets.parseInterval(raw) {
                (start, end, intervalString) = (a, b, raw)
                if b <= a { v.add("interval", "is invalid") }
                if b.timeIntervalSince(a) > EventSets.maxWidth { v.add("interval", "must not be longer than 90 days") }
            } else {
                v.add("interval", "is invalid")
            }
        }
        if body["place_id"].map({ !$0.isNull }) ?? false, body["event_place_id"].map({ !$0.isNull }) ?? false {
            v.add("place_id", "can't be combined with event_place_id")
        }
        try v.throwIfAny()
        var filters: [String: JSONValue] = [:]
        for key in EventSets.filterKeys + ["place_id"] { filters[key] = body[key] ?? .null }

        func list(_ key: String) -> Set<String>? {
            guard let s = filters[key]?.string, !s.isEmpty else { return nil }
            return Set(s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        let types = list("event_type"), uuids = list("event_uuid"), sequences = list("event_sequence")
        let placeFilter = filters["event_place_id"]?.int ?? filters["place_id"]?.int
        // A place role reads its places' events only: asking for another place is refused, asking for none
        // gives the events of its places (Decision 32).
        if let readablePlaces, let placeFilter { try require(readablePlaces.contains(placeFilter)) }
        let matching = state.events.filter { e in
            guard e.organizationId == r.caller.organizationId, e.createdAt >= start, e.createdAt < end else { return false }
            if let types, !types.contains(e.type) { return false }
            if let uuids, !uuids.contains(e.uuid) { return false }
            if let sequences, !sequences.contains(String(e.sequence)) { return false }
            if let placeFilter, e.placeId != placeFilter { return false }
            if let readablePlaces, !(e.placeId.map(readablePlaces.contains) ?? false) { return false }
            if let id = filters["event_actor_id"]?.int, e.actorId != id { return false }
            if let t = filters["event_actor_type"]?.string, e.actorType != t { return false }
            if let id = filters["event_authenticated_by_id"]?.int, e.authenticatedById != id { return false }
            if let t = filters["event_authenticated_by_type"]?.string, e.authenticatedByType != t { return false }
            if let id = filters["event_object_id"]?.int, e.objectId != id { return false }
            if let t = filters["event_object_type"]?.string, e.objectType != t { return false }
            if let b = filters["event_success"]?.bool, e.success != b { return false }
            return true
        }
        // Newest first, ties broken by sequence.
        let ordered = matching.sorted { ($0.createdAt, $0.sequence) > ($1.createdAt, $1.sequence) }
        let es = EventSetRecord(
            id: nextId(), organizationId: r.caller.organizationId, createdAt: now, interval: intervalString,
            filters: filters, eventUUIDs: ordered.map(\.uuid), creatorUserId: r.caller.userId
        )
        state.eventSets[es.id] = es
        dirty = true
        return .ok(eventSetPage(es, cursor: 0, limit: EventSets.defaultPageSize))
    }

    func getEventSet(_ r: APIRequest) throws(APIError) -> Reply {
        let readablePlaces = try readableEventPlaces(r.caller.authority)
        guard let es = state.eventSets[try r.id()], es.organizationId == r.caller.organizationId else {
            throw APIError.notFound("EventSet")
        }
        // A set made for a place role holds only what its maker may read; others with place roles may not page it.
        try require(readablePlaces == nil || es.creatorUserId == r.caller.userId)
        var limit = EventSets.defaultPageSize
        if let raw = r.query["limit"] {
            guard let l = Int(raw), l >= 1 else { throw APIError.badRequest("limit must be a positive integer") }
            limit = min(l, EventSets.maxPageSize)
        }
        var position = 0
        if let raw = r.query["cursor"], !raw.isEmpty {
            guard let p = Self.decodeCursor(raw), p >= 0, p <= es.eventUUIDs.count else {
                throw APIError.badRequest("cursor is invalid")
            }
            position = p
        }
        return .ok(eventSetPage(es, cursor: position, limit: limit))
    }

    private func eventSetPage(_ es: EventSetRecord, cursor: Int, limit: Int) -> JSONValue {
        let byUUID = Dictionary(state.events.map { ($0.uuid, $0) }, uniquingKeysWith: { a, _ in a })
        let end = min(es.eventUUIDs.count, cursor + limit)
        let page = cursor < end ? es.eventUUIDs[cursor..<end].compactMap { byUUID[$0] } : []
        let next = end < es.eventUUIDs.count ? Self.encodeCursor(end) : nil
        return Serializers.eventSet(es, events: page, cursor: next)
    }

    /// Cursors are opaque to clients; the sandbox uses base64 of the position.
    static func encodeCursor(_ p: Int) -> String { Data("p:\(p)".utf8).base64EncodedString() }
    static func decodeCursor(_ s: String) -> Int? {
        guard let d = Data(base64Encoded: s), let str = String(data: d, encoding: .utf8), str.hasPrefix("p:") else { return nil }
        return Int(str.dropFirst(2))
    }

    // MARK: Integrations (event webhooks)

    func listIntegrations(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.organizationAllows("integrations_read"))
        let q = r.query
        let ids = Listing.ids(q)
        let enabled = Listing.boolParam(q, "enabled")
        let items = state.integrations.values.filter { i in
            guard i.organizationId == r.caller.organizationId else { return false }
            if let ids, !ids.contains(i.id) { return false }
            if let enabled, i.enabled != enabled { return false }
            // Sandbox integrations are organization-scoped.
            if q["place_id"] != nil || q["group_id"] != nil || q["scope"] == "place" { return false }
            return Listing.matches(q, [i.name])
        }.sorted { $0.id < $1.id }
        return try Listing.page(items.map { Serializers.integrationSummary($0, in: state) }, query: q, spec: .standard)
    }

    func integration(_ r: APIRequest) throws(APIError) -> IntegrationRecord {
        guard let i = state.integrations[try r.id()], i.organizationId == r.caller.organizationId else {
            throw APIError.notFound("Integration")
        }
        return i
    }

    func getIntegration(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.organizationAllows("integrations_read"))
        return .ok(Serializers.integration(try integration(r), in: state))
    }

    func createIntegration(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.organizationAllows("integrations_write"))
        let body = try r.wrapped("integration")
        var v = ValidationErrors()
        let name = body["name"]?.string?.trimmingCharacters(in: .whitespaces) ?? ""
        if name.isEmpty { v.add("name", "can't be blank") }
        let type = body["type"]?.string ?? ""
        if type.isEmpty { v.add("type", "can't be blank") } else if type != "event_webhook" {
            let known = ["active_directory_user_import", "braxos_elevator", "jumpcloud_user_import", "rhombus_systems_camera"]
            v.add("type", known.contains(type) ? "is not supported by the sandbox" : "is not included in the list")
        }
        let url = body["url"]?.string ?? ""
        if url.isEmpty { v.add("url", "can't be blank") } else if
            URL(string: url).map({ ["http", "https"].contains($0.scheme ?? "") && $0.host != nil }) != true {
            v.add("url", "is invalid")
        }
        var events: [String] = []
        if let raw = body["enabled_events"], !raw.isNull {
            if let arr = raw.array, arr.allSatisfy({ $0.string != nil }) { events = arr.compactMap(\.string) } else {
                v.add("enabled_events", "must be an array of event types")
            }
        }
        try v.throwIfAny()
        let now = now()
        let i = IntegrationRecord(
            id: nextId(), organizationId: r.caller.organizationId, name: name, url: url,
            enabled: body["enabled"]?.bool ?? true, enabledEvents: events,
            signatureKey: body["signature_key"]?.string, createdAt: now, updatedAt: now
        )
        state.integrations[i.id] = i
        recordChange("integration.create", r.caller, objectType: "Integration", objectId: i.id, objectName: i.name)
        return .ok(Serializers.integration(i, in: state))
    }

    func deleteIntegration(_ r: APIRequest) throws(APIError) -> Reply {
        try require(r.caller.authority.organizationAllows("integrations_write"))
        let i = try integration(r)
        state.integrations[i.id] = nil
        recordChange("integration.destroy", r.caller, objectType: "Integration", objectId: i.id, objectName: i.name)
        return .noContent
    }
}
