import GymCore

/// Reads members from CSV: a header row naming the columns (any order, case-insensitive), then one
/// member per record. Quoted fields may hold commas, quotes ("") and line breaks (RFC 4180).
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

    /// Parses every record; rows that cannot become a draft are returned as problems.
    public static func parse(_ text: String) throws(ParseError) -> (rows: [Row], problems: [LineProblem]) {
        let records = records(in: text)
        guard let header = records.first else { throw .badHeader("the file is empty") }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let missing = requiredColumns.filter { !names.contains($0) }
        if !missing.isEmpty { throw .badHeader("missing column(s) \(missing.joined(separator: ", ")); expected \(columns.joined(separator: ","))") }
        let unknown = names.filter { !columns.contains($0) }
        if !unknown.isEmpty { throw .badHeader("unknown column(s) \(unknown.joined(separator: ", "))") }
        if Set(names).count != names.count { throw .badHeader("a column is named twice") }

        var rows: [Row] = []
        var problems: [LineProblem] = []
        for record in records.dropFirst() {
            if let error = record.error {
                problems.append(LineProblem(line: record.line, message: error))
                continue
            }
            if record.fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            guard record.fields.count == names.count else {
                problems.append(LineProblem(line: record.line, message: "has \(record.fields.count) field(s), the header has \(names.count)"))
                continue
            }
            let value = { (column: String) -> String? in names.firstIndex(of: column).map { record.fields[$0] } }
            rows.append(Row(line: record.line, draft: MemberDraft(
                firstName: value("first_name") ?? "", lastName: value("last_name") ?? "", email: value("email") ?? "",
                phone: value("phone"), notes: value("notes"))))
        }
        return (rows, problems)
    }

    struct Record {
        var line: Int
        var fields: [String]
        var error: String?
    }

    static func records(in text: String) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var line = 1
        var recordLine = 1
        var error: String?
        var characters = Array(text.replacingOccurrences(of: "\r\n", with: "\n"))[...]
        if characters.first == "\u{FEFF}" { characters = characters.dropFirst() }

        func endRecord() {
            fields.append(field)
            records.append(Record(line: recordLine, fields: fields, error: error))
            fields = []
            field = ""
            error = nil
        }

        var index = characters.startIndex
        while index < characters.endIndex {
            let character = characters[index]
            if inQuotes {
                if character == "\"" {
                    let next = characters.index(after: index)
                    if next < characters.endIndex, characters[next] == "\"" {
                        field.append("\"")
                        index = next
                    } else {
                        inQuotes = false
                    }
                } else {
                    if character == "\n" { line += 1 }
                    field.append(character)
                }
            } else {
                switch character {
                case ",":
                    fields.append(field)
                    field = ""
                case "\n":
                    endRecord()
                    line += 1
                    recordLine = line
                case "\"" where field.isEmpty:
                    inQuotes = true
                case "\"":
                    error = error ?? "a quote appears inside an unquoted field"
                    field.append(character)
                default:
                    field.append(character)
                }
            }
            index = characters.index(after: index)
        }
        if inQuotes { error = "a quoted field is never closed" }
        if !field.isEmpty || !fields.isEmpty || error != nil { endRecord() }
        return records
    }
}
