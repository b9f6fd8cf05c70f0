import Foundation
import GymCore
import GymStore

/// Check-ins (doors Kisi opened) per club, filed under each club's own local hours and days, from the
/// store's hourly counts. Pure: the dashboard's charts, the attendance page and their tests share it.
struct Attendance: Sendable {
    /// How far back the "typical day" and the week heat map look.
    static let typicalDays = 28
    /// How many days the daily chart shows, today included.
    static let dailyDays = 30

    struct Club: Sendable {
        var id: UUID
        var name: String
        var time: ClubTime
        /// Today's check-ins per local hour 0–23.
        var todayByHour: [Int]
        /// The average check-ins per local hour over the `typicalDays` days before today.
        var typicalByHour: [Double]
        /// Check-ins per local day, oldest first, the last one today.
        var byDay: [(day: LocalDate, count: Int)]
        /// Check-ins per weekday (0 = Monday) and local hour over the last `typicalDays` days, today excluded.
        var week: [[Int]]
        var deniedToday: Int
        var checkInsToday: Int { todayByHour.reduce(0, +) }
    }

    var clubs: [Club]

    /// The first instant the counts must cover for `build` at `now`: the earliest club's local midnight
    /// `max(typicalDays, dailyDays)` days ago.
    static func earliest(layout: GymLayout, now: Date) -> Date {
        let days = max(typicalDays, dailyDays)
        let zones = layout.clubs.values.map(\.timeZone)
        return zones.map { LocalDate(containing: now, in: $0).adding(days: -days).startOfDay(in: $0) }.min()
            ?? now.addingTimeInterval(-Double(days + 1) * 86_400)
    }

    static func build(counts: [DoorEventHourCount], directory: DoorDirectory, now: Date) -> Attendance {
        let layout = directory.layout
        var byClub: [UUID: [DoorEventHourCount]] = [:]
        for count in counts {
            let event = DoorEvent(
                kisiUUID: "", occurredAt: count.start, lockID: count.lockID, lockName: nil, placeID: count.placeID,
                kisiUserID: nil, actorName: nil, success: count.success, message: nil)
            guard let clubID = directory.clubID(of: event) else { continue }
            byClub[clubID, default: []].append(count)
        }
        let clubs = layout.clubs.values.sorted { $0.name < $1.name }.map { club -> Club in
            let time = ClubTime(club.timeZone)
            let today = LocalDate(containing: now, in: club.timeZone)
            let firstDaily = today.adding(days: -(dailyDays - 1))
            let firstTypical = today.adding(days: -typicalDays)
            var todayByHour = [Int](repeating: 0, count: 24)
            var typicalTotal = [Int](repeating: 0, count: 24)
            var daily = [Int](repeating: 0, count: dailyDays)
            var week = [[Int]](repeating: [Int](repeating: 0, count: 24), count: 7)
            var deniedToday = 0
            for count in byClub[club.id] ?? [] {
                let day = LocalDate(containing: count.start, in: club.timeZone)
                guard count.success else {
                    if day == today { deniedToday += count.count }
                    continue
                }
                let (hour, weekday) = time.hourAndWeekday(count.start)
                if day == today { todayByHour[hour] += count.count }
                if day >= firstTypical && day < today {
                    typicalTotal[hour] += count.count
                    week[weekday][hour] += count.count
                }
                let index = day.daysSinceEpoch - firstDaily.daysSinceEpoch
                if index >= 0 && index < dailyDays { daily[index] += count.count }
            }
            return Club(
                id: club.id, name: club.name, time: time, todayByHour: todayByHour,
                typicalByHour: typicalTotal.map { Double($0) / Double(typicalDays) },
                byDay: daily.enumerated().map { (firstDaily.adding(days: $0.offset), $0.element) },
                week: week, deniedToday: deniedToday)
        }
        return Attendance(clubs: clubs)
    }
}

/// Bar charts and heat maps drawn by the server as inline SVG: every mark carries its value in `data-`
/// attributes and a `<title>` tooltip, so the picture can be checked against the numbers behind it.
enum Charts {
    static let width = 720
    static let height = 160
    static let bottom = 20

    /// Today's check-ins per hour as bars, with the typical day as a line over them.
    static func hourly(today: [Int], typical: [Double], now hour: Int?) -> [String: Any] {
        let top = max(1, Double(today.max() ?? 0), typical.max() ?? 0)
        let plot = Double(height - bottom - 8)
        let step = Double(width) / 24
        let bars = today.enumerated().map { hour, count -> [String: Any] in
            let barHeight = Double(count) / top * plot
            return [
                "x": fmt(Double(hour) * step + 2), "y": fmt(Double(height - bottom) - barHeight), "width": fmt(step - 4),
                "height": fmt(barHeight), "hour": hour, "count": count, "label": String(format: "%02d:00", hour),
                "typical": fmt(typical[hour]), "showLabel": hour % 3 == 0,
                // Every third hour is labelled; on a phone only every sixth, or the labels run together.
                "minor": hour % 6 != 0,
                // The first label starts at its bar, so the chart's edge does not cut it.
                "label_x": fmt(hour == 0 ? 0 : Double(hour) * step + step / 2), "anchor": hour == 0 ? "start" : "middle",
            ]
        }
        let points = typical.enumerated().map { hour, value in
            "\(fmt(Double(hour) * step + step / 2)),\(fmt(Double(height - bottom) - value / top * plot))"
        }.joined(separator: " ")
        var data: [String: Any] = [
            "width": width, "height": height, "baseline": height - bottom, "labelY": height - 5, "bars": bars,
            "typicalPoints": points, "max": Int(top.rounded(.up)),
        ]
        if let hour { data["nowX"] = fmt(Double(hour) * step + step / 2) }
        return data
    }

    /// Check-ins per day, oldest first.
    static func daily(_ days: [(day: LocalDate, count: Int)], today: LocalDate) -> [String: Any] {
        let top = Double(max(1, days.map(\.count).max() ?? 0))
        let plot = Double(height - bottom - 8)
        let step = Double(width) / Double(max(days.count, 1))
        let bars = days.enumerated().map { index, entry -> [String: Any] in
            let barHeight = Double(entry.count) / top * plot
            let weekday = ClubTime.day(entry.day).prefix(3)
            return [
                "x": fmt(Double(index) * step + 1), "y": fmt(Double(height - bottom) - barHeight), "width": fmt(step - 2),
                "height": fmt(barHeight), "day": entry.day.description, "count": entry.count,
                "label": ClubTime.day(entry.day, now: today), "weekend": weekday == "Sat" || weekday == "Sun",
                "showLabel": index % 5 == (days.count - 1) % 5,
                // The last label (today) ends at the chart's edge instead of running past it.
                "label_x": fmt(index == days.count - 1 ? Double(width) : Double(index) * step + step / 2),
                "anchor": index == days.count - 1 ? "end" : "middle",
                "short": "\(entry.day.day)/\(entry.day.month)",
            ]
        }
        return ["width": width, "height": height, "labelY": height - 5, "bars": bars, "max": Int(top)]
    }

    static let weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    /// The week as a grid: a row per weekday, a column per hour, darker where more members came.
    static func heatMap(_ week: [[Int]]) -> [String: Any] {
        let cell = 26
        let left = 40
        let top = Double(max(1, week.flatMap { $0 }.max() ?? 0))
        var cells: [[String: Any]] = []
        for (weekday, hours) in week.enumerated() {
            for (hour, count) in hours.enumerated() {
                // Five shades keep the picture readable; zero stays blank.
                let level = count == 0 ? 0 : 1 + min(4, Int(Double(count) / top * 4.999))
                cells.append([
                    "x": left + hour * cell, "y": 18 + weekday * cell, "size": cell - 2, "weekday": weekdays[weekday],
                    "hour": hour, "count": count, "level": level,
                ])
            }
        }
        let hourLabels = stride(from: 0, to: 24, by: 3).map { ["x": left + $0 * cell + cell / 2 - 1, "label": String(format: "%02d", $0)] as [String: Any] }
        let dayLabels = weekdays.enumerated().map { ["y": 18 + $0.offset * cell + cell / 2 + 4, "label": $0.element] as [String: Any] }
        return [
            "width": left + 24 * cell, "height": 18 + 7 * cell, "cells": cells, "hourLabels": hourLabels, "dayLabels": dayLabels,
            "max": Int(top),
        ]
    }

    /// The same week standing up, for a phone: a column per weekday, a row per hour, so that the whole
    /// day fits a narrow screen at a readable size instead of 24 columns shrunk to a smudge.
    static func heatMapTall(_ week: [[Int]]) -> [String: Any] {
        let cellWidth = 36, cellHeight = 18
        let left = 44, top = 18
        let most = Double(max(1, week.flatMap { $0 }.max() ?? 0))
        var cells: [[String: Any]] = []
        for (weekday, hours) in week.enumerated() {
            for (hour, count) in hours.enumerated() {
                let level = count == 0 ? 0 : 1 + min(4, Int(Double(count) / most * 4.999))
                cells.append([
                    "x": left + weekday * cellWidth, "y": top + hour * cellHeight, "width": cellWidth - 2, "height": cellHeight - 2,
                    "weekday": weekdays[weekday], "hour": hour, "count": count, "level": level,
                ])
            }
        }
        let hourLabels = stride(from: 0, to: 24, by: 3).map {
            ["y": top + $0 * cellHeight + cellHeight / 2 + 4, "label": String(format: "%02d:00", $0)] as [String: Any]
        }
        let dayLabels = weekdays.enumerated().map { ["x": left + $0.offset * cellWidth + cellWidth / 2 - 1, "label": $0.element] as [String: Any] }
        return [
            "width": left + 7 * cellWidth, "height": top + 24 * cellHeight, "cells": cells, "hourLabels": hourLabels, "dayLabels": dayLabels,
            "max": Int(most),
        ]
    }

    /// A number for an SVG attribute: one decimal at most, no locale.
    static func fmt(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.1f", rounded)
    }
}
