import Foundation
@testable import GymAdmin
import Testing

@Suite("Admin UI: charts at phone width")
struct PhoneChartsTests {
    @Test("The week standing up has a column per weekday and a row per hour, with the same counts and shades as the wide one")
    func tallHeatMapTransposesTheWeek() {
        var week = [[Int]](repeating: [Int](repeating: 0, count: 24), count: 7)
        week[4][18] = 12  // Friday evening, the busiest
        week[0][7] = 3
        let tall = Charts.heatMapTall(week)
        let wide = Charts.heatMap(week)
        let tallCells = tall["cells"] as? [[String: Any]] ?? []
        let wideCells = wide["cells"] as? [[String: Any]] ?? []
        #expect(tallCells.count == 7 * 24)
        func cell(_ cells: [[String: Any]], _ weekday: String, _ hour: Int) -> [String: Any]? {
            cells.first { $0["weekday"] as? String == weekday && $0["hour"] as? Int == hour }
        }
        let friday = cell(tallCells, "Fri", 18)
        let monday = cell(tallCells, "Mon", 7)
        #expect(friday?["count"] as? Int == 12 && friday?["level"] as? Int == 5)
        #expect(monday?["level"] as? Int == cell(wideCells, "Mon", 7)?["level"] as? Int)
        // Friday is the fifth column, 18:00 the nineteenth row: weekdays across, hours down.
        #expect(friday?["x"] as? Int == 44 + 4 * 36 && friday?["y"] as? Int == 18 + 18 * 18)
        #expect(tall["width"] as? Int == 44 + 7 * 36 && tall["height"] as? Int == 18 + 24 * 18)
        #expect((tall["dayLabels"] as? [[String: Any]])?.map { $0["label"] as? String } == Charts.weekdays)
    }

    @Test("The hourly chart labels every third hour, and marks all but every sixth as minor for a phone")
    func hourlyLabelsThinOnAPhone() {
        let chart = Charts.hourly(today: [Int](repeating: 1, count: 24), typical: [Double](repeating: 1, count: 24), now: nil)
        let bars = chart["bars"] as? [[String: Any]] ?? []
        let labelled = bars.filter { $0["showLabel"] as? Bool == true }.compactMap { $0["hour"] as? Int }
        let major = bars.filter { $0["showLabel"] as? Bool == true && $0["minor"] as? Bool == false }.compactMap { $0["hour"] as? Int }
        #expect(labelled == [0, 3, 6, 9, 12, 15, 18, 21])
        #expect(major == [0, 6, 12, 18])
    }
}
