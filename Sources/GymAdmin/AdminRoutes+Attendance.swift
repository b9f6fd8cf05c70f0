import AccessSync
import Foundation
import GymCore
import GymStore
import Hummingbird

/// The dashboard's pictures (check-ins per hour and per day, door health, sync latency) and the
/// attendance page (the week as a heat map, and the members who stopped coming).
extension AdminRoutes {
    func addAttendanceRoutes(to admin: RouterGroup<AdminContext>) {
        admin.get("attendance") { request, context in
            let session = try require(request, context, role: .manager)
            let days = try Self.churnDays(request)
            return try page("attendance", request, context, session: session, active: "attendance", try await attendanceData(churnDays: days))
        }
        // Exports keep UTC, as every export does: spreadsheets and other tools read it without guessing a zone.
        admin.get("attendance/churn.csv") { request, context in
            _ = try require(request, context, role: .manager)
            let days = try Self.churnDays(request)
            let layout = try await repository.layout()
            let rows = try await churnList(layout: layout, days: days)
            var csv = "member_id,name,email,phone,clubs,plans,last_check_in_utc,days_since\r\n"
            for row in rows {
                csv += [
                    row.member.id.uuidString, row.member.fullName, row.member.email.value, row.member.phone ?? "",
                    row.clubs.joined(separator: "; "), row.plans.joined(separator: "; "),
                    row.lastCheckIn.map { $0.formatted(.iso8601) } ?? "", row.daysSince.map(String.init) ?? "",
                ].map(Self.csvField).joined(separator: ",") + "\r\n"
            }
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/csv; charset=utf-8", .cacheControl: "no-store",
                    .contentDisposition: "attachment; filename=\"boogyman-churn-\(days)-days.csv\"",
                ],
                body: .init(byteBuffer: ByteBuffer(string: csv)))
        }
    }

    static let churnChoices = [14, 30]
    /// The page lists this many; the CSV holds them all.
    static let churnShown = 100

    static func churnDays(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters.get("days") else { return 14 }
        guard let days = Int(text), churnChoices.contains(days) else {
            throw AdminError.badRequest("The period must be 14 or 30 days.")
        }
        return days
    }

    /// A CSV field, quoted when it needs to be; a leading =, +, - or @ is defused so that a spreadsheet
    /// does not run a member's name as a formula.
    static func csvField(_ text: String) -> String {
        var value = text
        if let first = value.first, "=+-@".contains(first) { value = "'" + value }
        if value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return value
    }

    /// The check-ins of the last weeks per club, from the stored door events (one aggregate query).
    func attendance(layout: GymLayout) async throws -> Attendance {
        let instant = now()
        let counts = try await repository.doorEventHourCounts(
            from: Attendance.earliest(layout: layout, now: instant), to: instant.addingTimeInterval(1))
        return Attendance.build(counts: counts, directory: DoorDirectory(layout: layout), now: instant)
    }

    /// The dashboard's charts, one card per club: today per hour against a typical day, and 30 days.
    func attendancePictures(_ attendance: Attendance) -> [[String: Any]] {
        let instant = now()
        return attendance.clubs.map { club in
            let today = LocalDate(containing: instant, in: club.time.zone)
            let typicalToday = club.typicalByHour.reduce(0, +)
            return [
                "id": club.id.uuidString, "name": club.name, "zone": club.time.zone.identifier,
                "today": club.checkInsToday, "denied": club.deniedToday, "typical": Charts.fmt(typicalToday),
                "hourly": Charts.hourly(today: club.todayByHour, typical: club.typicalByHour, now: club.time.hourAndWeekday(instant).hour),
                "daily": Charts.daily(club.byDay, today: today),
                "monthTotal": club.byDay.map(\.count).reduce(0, +),
                // Mustache takes every number for true, so the empty month is said by a flag.
                "quiet": club.byDay.allSatisfy { $0.count == 0 },
                "oneInMonth": club.byDay.map(\.count).reduce(0, +) == 1,
            ]
        }
    }

    /// Every door of the gym with its state in Kisi, the doors needing attention (offline, locked down)
    /// first; or the problem when Kisi is not connected or did not answer within the page's deadline.
    func doorHealth(layout: GymLayout) async -> [String: Any] {
        let doors = layout.allDoors
        guard !doors.isEmpty else { return ["problem": "No doors are mapped to Kisi locks yet."] }
        let (catalog, problem) = await kisiCatalog()
        guard let catalog else { return ["problem": problem ?? "Kisi did not answer."] }
        let rows = doors.map { door -> (rank: Int, row: [String: Any]) in
            let lock = catalog.locks[door.lockID]
            let club = layout.clubs[door.clubID]?.name ?? "?"
            let place = door.studioID.flatMap { layout.studios[$0]?.name }.map { "\(club) · \($0)" } ?? club
            let (rank, state, label): (Int, String, String) = switch (lock, lock?.online, lock?.lockedDown) {
            case (nil, _, _): (0, "missing", "not in Kisi")
            case (_, false?, _): (1, "offline", "offline")
            case (_, _, true?): (2, "locked-down", "locked down")
            case (_, true?, _): (4, "online", "online")
            default: (3, "unknown", "state unknown")
            }
            return (rank, ["lockID": door.lockID, "name": lock?.name ?? "Lock \(door.lockID)", "place": place, "state": state, "label": label])
        }
        let sorted = rows.sorted { ($0.rank, $0.row["place"] as? String ?? "") < ($1.rank, $1.row["place"] as? String ?? "") }
        let attention = sorted.filter { $0.rank < 3 }.count
        return [
            "doors": sorted.map(\.row), "hasDoors": !sorted.isEmpty, "attention": attention, "allWell": attention == 0,
            "online": sorted.filter { $0.rank == 4 }.count, "total": sorted.count,
        ]
    }

    /// Change → Kisi latency as three bars on one scale (p50, p95, max), the p95 marked.
    static func latencyChart(_ summary: PropagationSummary) -> [String: Any] {
        let values = [("p50", summary.p50Milliseconds), ("p95", summary.p95Milliseconds), ("max", summary.maxMilliseconds)]
        let top = Double(max(1, values.compactMap(\.1).max() ?? 1))
        let width = 300.0
        let bars = values.enumerated().map { index, entry -> [String: Any] in
            let milliseconds = entry.1 ?? 0
            return [
                "name": entry.0, "ms": milliseconds, "y": index * 22 + 2, "width": Charts.fmt(Double(milliseconds) / top * width),
                "text": seconds(entry.1), "textY": index * 22 + 15, "isP95": entry.0 == "p95",
            ]
        }
        // Bars start after the 40-unit name column; each value is written just past the longest bar.
        return ["bars": bars, "width": Int(width) + 110, "height": 68, "labelX": Int(width) + 48]
    }

    /// The p95 of the last hour minute by minute as a sparkline: an SVG polyline over the hour ending
    /// at `now` (left edge an hour ago, right edge now), each point also a dot carrying its minute and
    /// milliseconds, and the latest p95 as a figure. Nil without a point in the hour.
    static func latencySparkline(_ history: PropagationHistory, now: Date) -> [String: Any]? {
        let points = history.pruned(before: now).points
        guard let latest = points.last else { return nil }
        let width = 240.0, height = 40.0, pad = 3.0
        let top = Double(max(1, points.map(\.p95Milliseconds).max() ?? 1))
        let start = now.addingTimeInterval(-PropagationHistory.window)
        let marks = points.map { point -> [String: Any] in
            let x = pad + point.minute.timeIntervalSince(start) / PropagationHistory.window * (width - 2 * pad)
            let y = height - pad - Double(point.p95Milliseconds) / top * (height - 2 * pad)
            return [
                "x": Charts.fmt(x), "y": Charts.fmt(y), "ms": point.p95Milliseconds,
                "minute": point.minute.formatted(.iso8601), "text": seconds(point.p95Milliseconds),
            ]
        }
        return [
            "width": Int(width), "height": Int(height),
            "points": marks.map { "\($0["x"]!),\($0["y"]!)" }.joined(separator: " "),
            "marks": marks, "count": points.count, "p95": seconds(latest.p95Milliseconds), "p95ms": latest.p95Milliseconds,
            // One point is a dot in an empty box, no trend: the line waits for a second minute.
            "drawn": points.count >= 2,
            "highest": seconds(Int(top)),
        ]
    }

    // MARK: Attendance page

    func attendanceData(churnDays: Int) async throws -> [String: Any] {
        let layout = try await repository.layout()
        let instant = now()
        let attendance = try await attendance(layout: layout)
        let churn = try await churnList(layout: layout, days: churnDays)
        let time = ClubTime.gym(layout)
        return [
            "clubs": attendance.clubs.map { club -> [String: Any] in
                let weekTotal = club.week.flatMap { $0 }.reduce(0, +)
                let busiest = club.week.enumerated().flatMap { day, hours in hours.enumerated().map { (day, $0.offset, $0.element) } }
                    .max { $0.2 < $1.2 }
                var row: [String: Any] = [
                    "id": club.id.uuidString, "name": club.name, "zone": club.time.zone.identifier, "heat": Charts.heatMap(club.week), "heatTall": Charts.heatMapTall(club.week),
                    "total": weekTotal, "oneTotal": weekTotal == 1,
                ]
                if let busiest, busiest.2 > 0 {
                    row["busiest"] = "\(Charts.weekdays[busiest.0]) \(String(format: "%02d:00", busiest.1))–\(String(format: "%02d:00", (busiest.1 + 1) % 24))"
                }
                return row
            },
            "churnDays": churnDays, "is14": churnDays == 14, "is30": churnDays == 30,
            "churn": churn.prefix(Self.churnShown).map { row -> [String: Any] in
                var data: [String: Any] = [
                    "id": row.member.id.uuidString, "name": row.member.fullName,
                    "avatar": ["initials": Self.initials(row.member), "hue": Self.avatarHue(row.member.id)],
                    "email": row.member.email.value, "clubs": row.clubs.joined(separator: ", "), "plans": row.plans.joined(separator: ", "),
                ]
                if let last = row.lastCheckIn {
                    data["last"] = time.value(last, now: instant)
                    data["daysSince"] = row.daysSince ?? 0
                }
                return data
            },
            "churnCount": churn.count, "more": churn.count > Self.churnShown, "shown": min(churn.count, Self.churnShown),
        ]
    }

    struct ChurnRow {
        var member: Member
        var clubs: [String]
        var plans: [String]
        var lastCheckIn: Date?
        var daysSince: Int?
    }

    /// Members whose subscription opens doors today but who have not checked in for `days` days (or
    /// never, as far as the stored door events go back). The last check-ins come
    /// from one aggregate query; the members are read a page at a time.
    func churnList(layout: GymLayout, days: Int) async throws -> [ChurnRow] {
        let instant = now()
        let lastSeen = try await repository.lastDoorEventPerMember()
        let cutoff = instant.addingTimeInterval(-Double(days) * 86_400)
        var rows: [ChurnRow] = []
        var cursor: PageCursor?
        repeat {
            let page = try await repository.members(search: nil, PageRequest(limit: PageRequest.maximumLimit, cursor: cursor))
            let subscriptions = try await repository.subscriptions(memberIDs: page.items.map(\.id))
            for member in page.items {
                if let last = lastSeen[member.id], last >= cutoff { continue }
                let decision = AccessRule.decide(member: member, subscriptions: subscriptions[member.id] ?? [], layout: layout, at: instant)
                guard decision.mayEnter else { continue }
                let plans = decision.plans.filter { $0.reason.grantsAccess }.compactMap { layout.plans[$0.planID] }
                var clubIDs = Set(plans.flatMap(\.clubIDs))
                for plan in plans { for studio in plan.studioIDs { if let club = layout.studios[studio]?.clubID { clubIDs.insert(club) } } }
                let last = lastSeen[member.id]
                rows.append(ChurnRow(
                    member: member, clubs: clubIDs.compactMap { layout.clubs[$0]?.name }.sorted(), plans: plans.map(\.name).sorted(),
                    lastCheckIn: last, daysSince: last.map { Int(instant.timeIntervalSince($0) / 86_400) }))
            }
            cursor = page.nextCursor
        } while cursor != nil
        // Those who came and stopped first, longest absent first: their visits dropped. Members with no
        // check-in stored at all follow (new, or never came since the events began to be kept).
        return rows.sorted {
            ($0.lastCheckIn == nil ? 1 : 0, $0.lastCheckIn ?? .distantPast, $0.member.lastName)
                < ($1.lastCheckIn == nil ? 1 : 0, $1.lastCheckIn ?? .distantPast, $1.member.lastName)
        }
    }

    /// Two letters for an avatar: first and last name's initials ("AP" for Ana Popescu).
    static func initials(_ member: Member) -> String {
        let letters = [member.firstName.first, member.lastName.first].compactMap { $0 }.map { String($0).uppercased() }
        return letters.joined()
    }

    /// A stable colour (one of eight) per member, so an avatar looks the same on every page.
    static func avatarHue(_ id: UUID) -> Int {
        Int(id.uuid.0 % 8)
    }
}
