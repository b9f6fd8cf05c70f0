import Foundation
import GymCore

/// Reads members from CSV: a header row naming the columns (any order, case-insensitive), then one
/// member per record. Quoted fields may hold separators, quotes ("") and line breaks (RFC 4180).
public enum MemberCSV {
    public static let columns = ["first_name", "last_name", "email", "phone", "notes"]
    static let requiredColumns = ["first_name", "last_name", "email"]

    public struct Row: Sendable {
        /// Line of the file where the record starts (the header is line 1).
        public var line: Int
        public var draft: MemberDraft
    }

    public struct LineProblem: Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }

        public init(line: Int, message: String) {
            self.line = line
            self.message = message
        }
    }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case badHeader(String)
        case problems([LineProblem])

        public var description: String {
            switch self {
            case .badHeader(let message): "header row: \(message)"
            case .problems(let problems): problems.map(\.description).joined(separator: "\n")
            }
        }
    }

    /// Parses every record; rows that cannot become a draft are returned as problems. The text may
    /// use `,`, `;` or tabs and the header the spellings exports use ("First Name", "E-mail"); see
    /// ``SpreadsheetCSV``.
    public static func parse(_ text: String) throws(ParseError) -> Parsed {
        try parse(SpreadsheetCSV.table(text))
    }

    /// Parses a file's bytes: UTF-8 (with or without a byte-order mark), else Windows-1250 or -1252.
    public static func parse(_ data: Data, forcedEncoding: SpreadsheetCSV.Encoding? = nil) throws(ParseError) -> Parsed {
        try parse(SpreadsheetCSV.table(data, forcedEncoding: forcedEncoding))
    }

    static func parse(_ table: SpreadsheetCSV.Table) throws(ParseError) -> Parsed {
        let records = table.records
        guard let header = records.first, !(header.fields.count == 1 && header.fields[0].isEmpty) else { throw .badHeader("the file is empty") }
        let map: SpreadsheetCSV.ColumnMap
        do {
            map = try SpreadsheetCSV.mapColumns(
                header.fields, spellings: SubscriptionCSV.memberSpellings, required: requiredColumns, order: columns)
        } catch {
            throw .badHeader(error.message)
        }
        let count = header.fields.count

        var rows: [Row] = []
        var problems: [LineProblem] = []
        for record in records.dropFirst() {
            if let error = record.error {
                problems.append(LineProblem(line: record.line, message: error))
                continue
            }
            if record.fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            guard record.fields.count == count else {
                problems.append(LineProblem(line: record.line, message: "has \(record.fields.count) field(s), the header has \(count)"))
                continue
            }
            let value = { (column: String) -> String? in map.indexes[column].map { record.fields[$0] } }
            rows.append(Row(line: record.line, draft: MemberDraft(
                firstName: value("first_name") ?? "", lastName: value("last_name") ?? "", email: value("email") ?? "",
                phone: value("phone"), notes: value("notes"))))
        }
        return Parsed(rows: rows, problems: problems, summary: "\(table.encoding), \(table.separatorName)-separated; columns: \(map.summary)")
    }

    public struct Parsed: Sendable {
        public var rows: [Row]
        public var problems: [LineProblem]
        /// What was read: "Windows-1250, semicolon-separated; columns: Vorname → first_name, …".
        public var summary: String
    }
}
