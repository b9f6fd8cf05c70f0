import Foundation

/// Reads the CSV files spreadsheets export: the text encoding, the separator, RFC 4180 records and
/// header names as people spell them.
///
/// Why not a CSV library: the two maintained Swift ones in reach (CSV.swift, SwiftCSV) take the
/// separator and the encoding as given and report neither the line a record started on nor a record
/// that does not parse, and an import must name every bad row by its line. What spreadsheets add to
/// RFC 4180 is small (a byte-order mark, `;` or tab separators, a legacy Windows code page) and is
/// handled here in one place, tested with real exports (Tests/GymAppTests/SubscriptionCSVTests.swift),
/// without a dependency to build and keep up to date.
public enum SpreadsheetCSV {
    /// The text encodings an export arrives in. Excel writes the user's Windows code page unless
    /// told "CSV UTF-8"; Central European installations (Romanian, Polish, Czech, Hungarian) use
    /// Windows-1250, Western ones Windows-1252.
    public enum Encoding: String, Sendable, CaseIterable, CustomStringConvertible {
        case utf8 = "UTF-8"
        case utf8WithBOM = "UTF-8 with BOM"
        case windows1250 = "Windows-1250"
        case windows1252 = "Windows-1252"

        public var description: String { rawValue }

        /// Parses `utf-8`, `windows-1250`, `cp1252` and the like (for a command-line override).
        public init?(name: String) {
            switch name.lowercased().replacingOccurrences(of: "_", with: "-") {
            case "utf-8", "utf8": self = .utf8
            case "windows-1250", "cp1250", "win1250": self = .windows1250
            case "windows-1252", "cp1252", "win1252", "latin1", "iso-8859-1": self = .windows1252
            default: return nil
            }
        }
    }

    /// One record of the file: where it starts (the header is line 1) and its fields.
    public struct Record: Sendable, Equatable {
        public var line: Int
        public var fields: [String]
        /// Why the record could not be read as it stands (an unclosed quote, a stray quote).
        public var error: String?
    }

    /// A file read into records, with what was detected.
    public struct Table: Sendable {
        public var encoding: Encoding
        public var separator: Character
        public var records: [Record]

        /// "comma", "semicolon" or "tab", for reports.
        public var separatorName: String { SpreadsheetCSV.name(of: separator) }
    }

    // MARK: Text encoding

    /// The file's text: UTF-8 (with or without a byte-order mark) when the bytes are valid UTF-8,
    /// otherwise the Windows code page whose letters fit the file better (see ``guessCodePage(_:)``),
    /// or the one `forced` names.
    public static func decode(_ data: Data, forced: Encoding? = nil) -> (text: String, encoding: Encoding) {
        let bytes = [UInt8](data)
        let hasBOM = bytes.starts(with: [0xEF, 0xBB, 0xBF])
        switch forced {
        case .windows1250?, .windows1252?:
            return (decode(bytes, table: forced == .windows1250 ? windows1250 : windows1252), forced!)
        case .utf8?, .utf8WithBOM?:
            let body = hasBOM ? Array(bytes.dropFirst(3)) : bytes
            return (String(decoding: body, as: UTF8.self), hasBOM ? .utf8WithBOM : .utf8)
        case nil:
            break
        }
        if hasBOM, let text = String(validating: bytes.dropFirst(3), as: UTF8.self) { return (text, .utf8WithBOM) }
        if let text = String(validating: bytes, as: UTF8.self) { return (text, .utf8) }
        let page = guessCodePage(bytes)
        return (decode(bytes, table: page == .windows1250 ? windows1250 : windows1252), page)
    }

    /// Windows-1250 or Windows-1252 for bytes that are not UTF-8. Both agree on ASCII and on many
    /// letters (é, ä, ö, ü, ß, á, í, ó, î, â); they differ on the rest. Each decoding scores one
    /// point per letter a member's name plausibly holds and loses one per character no name holds
    /// (a byte the code page leaves undefined, `ª`, `º`, `£`, `¥`, `¹`, `³`, `Þ`, `þ`, `Ð`, `ð`). A
    /// Romanian export with ş, ţ or Ş (0xBA, 0xFE, 0xAA), a Polish one with ł or ą, goes to 1250; a
    /// tie (a file with only è or ñ, which 1250 reads as č or ń) goes to 1252, the more common one.
    /// The import names the encoding it used, and `--encoding` overrides the guess.
    public static func guessCodePage(_ bytes: [UInt8]) -> Encoding {
        func score(_ table: [UInt16]) -> Int {
            var total = 0
            for byte in bytes where byte >= 0x80 {
                let code = table[Int(byte) - 0x80]
                guard let scalar = Unicode.Scalar(code), code != 0xFFFD, !implausibleInNames.contains(scalar) else {
                    total -= 1
                    continue
                }
                if scalar.properties.isAlphabetic { total += 1 }
            }
            return total
        }
        return score(windows1250) > score(windows1252) ? .windows1250 : .windows1252
    }

    static let implausibleInNames: Set<Unicode.Scalar> = ["ª", "º", "£", "¥", "¹", "³", "Þ", "þ", "Ð", "ð", "¼", "½", "¾", "¿", "¡", "ƒ", "ˆ", "˜"]

    static func decode(_ bytes: [UInt8], table: [UInt16]) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes {
            if byte < 0x80 {
                scalars.append(Unicode.Scalar(byte))
            } else {
                scalars.append(Unicode.Scalar(table[Int(byte) - 0x80]) ?? "\u{FFFD}")
            }
        }
        return String(scalars)
    }

    /// Bytes 0x80–0xFF of Windows-1250 (U+FFFD where the code page defines nothing).
    static let windows1250: [UInt16] = [
        0x20AC, 0xFFFD, 0x201A, 0xFFFD, 0x201E, 0x2026, 0x2020, 0x2021, 0xFFFD, 0x2030, 0x0160, 0x2039, 0x015A, 0x0164, 0x017D, 0x0179,
        0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0xFFFD, 0x2122, 0x0161, 0x203A, 0x015B, 0x0165, 0x017E, 0x017A,
        0x00A0, 0x02C7, 0x02D8, 0x0141, 0x00A4, 0x0104, 0x00A6, 0x00A7, 0x00A8, 0x00A9, 0x015E, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x017B,
        0x00B0, 0x00B1, 0x02DB, 0x0142, 0x00B4, 0x00B5, 0x00B6, 0x00B7, 0x00B8, 0x0105, 0x015F, 0x00BB, 0x013D, 0x02DD, 0x013E, 0x017C,
        0x0154, 0x00C1, 0x00C2, 0x0102, 0x00C4, 0x0139, 0x0106, 0x00C7, 0x010C, 0x00C9, 0x0118, 0x00CB, 0x011A, 0x00CD, 0x00CE, 0x010E,
        0x0110, 0x0143, 0x0147, 0x00D3, 0x00D4, 0x0150, 0x00D6, 0x00D7, 0x0158, 0x016E, 0x00DA, 0x0170, 0x00DC, 0x00DD, 0x0162, 0x00DF,
        0x0155, 0x00E1, 0x00E2, 0x0103, 0x00E4, 0x013A, 0x0107, 0x00E7, 0x010D, 0x00E9, 0x0119, 0x00EB, 0x011B, 0x00ED, 0x00EE, 0x010F,
        0x0111, 0x0144, 0x0148, 0x00F3, 0x00F4, 0x0151, 0x00F6, 0x00F7, 0x0159, 0x016F, 0x00FA, 0x0171, 0x00FC, 0x00FD, 0x0163, 0x02D9,
    ]

    /// Bytes 0x80–0xFF of Windows-1252 (U+FFFD where the code page defines nothing).
    static let windows1252: [UInt16] = [
        0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
        0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
    ] + (0xA0...0xFF).map { UInt16($0) }

    // MARK: Separator and records

    /// Reads a whole file: encoding, separator, records.
    public static func table(_ data: Data, forcedEncoding: Encoding? = nil) -> Table {
        let (text, encoding) = decode(data, forced: forcedEncoding)
        return table(text, encoding: encoding)
    }

    /// Reads text that is already decoded (a JSON string, say); `encoding` is only reported.
    public static func table(_ text: String, encoding: Encoding = .utf8) -> Table {
        var text = text
        var encoding = encoding
        if text.unicodeScalars.first == "\u{FEFF}" {
            text.unicodeScalars.removeFirst()
            if encoding == .utf8 { encoding = .utf8WithBOM }
        }
        let separator = detectSeparator(text)
        return Table(encoding: encoding, separator: separator, records: records(in: text, separator: separator))
    }

    /// The separator of the header line: whichever of `,` `;` and tab it holds most often outside
    /// quotes (a comma on a tie or when it holds none). A German or Romanian Excel writes `;` because
    /// the comma is its decimal mark; "Text (Tab delimited)" writes tabs.
    public static func detectSeparator(_ text: String) -> Character {
        var counts: [Character: Int] = [",": 0, ";": 0, "\t": 0]
        var inQuotes = false
        for character in text {
            if character == "\"" { inQuotes.toggle() }
            if inQuotes { continue }
            if character == "\n" || character == "\r\n" || character == "\r" { break }
            if counts[character] != nil { counts[character, default: 0] += 1 }
        }
        let best = [";", "\t"].max { counts[$0]! < counts[$1]! }!
        return counts[best]! > counts[","]! ? best : ","
    }

    /// RFC 4180 records with `separator`: quoted fields may hold the separator, quotes (`""`) and
    /// line breaks; CRLF, LF and lone CR all end a record. Blank lines are kept as records with one
    /// empty field (callers skip them) so that line numbers stay true.
    public static func records(in text: String, separator: Character) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var line = 1
        var recordLine = 1
        var error: String?
        // Swift treats "\r\n" as one Character; a lone "\r" (old Mac exports) ends a line too.
        var characters = Array(text)[...]
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
            let isLineBreak = character == "\n" || character == "\r\n" || character == "\r"
            if inQuotes {
                if character == "\"" {
                    let next = characters.index(after: index)
                    if next < characters.endIndex, characters[next] == "\"" {
                        field.append("\"")
                        index = next
                    } else {
                        inQuotes = false
                    }
                } else if isLineBreak {
                    line += 1
                    field.append("\n")
                } else {
                    field.append(character)
                }
            } else if character == separator {
                fields.append(field)
                field = ""
            } else if isLineBreak {
                endRecord()
                line += 1
                recordLine = line
            } else if character == "\"" && field.isEmpty {
                inQuotes = true
            } else if character == "\"" {
                error = error ?? "a quote appears inside an unquoted field"
                field.append(character)
            } else {
                field.append(character)
            }
            index = characters.index(after: index)
        }
        if inQuotes { error = "a quoted field is never closed" }
        if !field.isEmpty || !fields.isEmpty || error != nil { endRecord() }
        return records
    }

    static func name(of separator: Character) -> String {
        switch separator {
        case ",": "comma"
        case ";": "semicolon"
        case "\t": "tab"
        default: "\"\(separator)\""
        }
    }

    // MARK: Header names

    /// A header cell as compared with the known spellings: lower-cased, without spaces, `_`, `-`
    /// and `.`, so "First Name", "first_name", "FirstName" and "E-mail" meet "firstname" and "email".
    public static func headerKey(_ header: String) -> String {
        String(header.lowercased().unicodeScalars.filter { !" _-.\t\u{A0}".unicodeScalars.contains($0) })
    }

    /// What each header cell was understood as.
    public struct ColumnMap: Sendable, Equatable {
        /// Canonical column → its index in the record.
        public var indexes: [String: Int]
        /// (header as written, canonical column), in the file's order.
        public var understood: [(header: String, column: String)]

        public static func == (lhs: ColumnMap, rhs: ColumnMap) -> Bool {
            lhs.indexes == rhs.indexes && lhs.understood.map(\.header) == rhs.understood.map(\.header)
                && lhs.understood.map(\.column) == rhs.understood.map(\.column)
        }

        /// "First Name → first_name, E-mail → email", for reports.
        public var summary: String {
            understood.map { $0.header == $0.column ? $0.column : "\($0.header) → \($0.column)" }.joined(separator: ", ")
        }
    }

    /// Matches header cells to canonical columns through `spellings` (canonical → accepted spellings,
    /// compared with ``headerKey(_:)``; the canonical name itself is always accepted). Throws a
    /// message naming missing, unknown or repeated columns.
    public static func mapColumns(
        _ header: [String], spellings: [String: [String]], required: [String], order: [String]
    ) throws(HeaderProblem) -> ColumnMap {
        var lookup: [String: String] = [:]
        for (column, names) in spellings {
            for name in names + [column] { lookup[headerKey(name)] = column }
        }
        var map = ColumnMap(indexes: [:], understood: [])
        var unknown: [String] = []
        var repeated: [String] = []
        for (index, cell) in header.enumerated() {
            let written = cell.trimmingCharacters(in: .whitespaces)
            guard let column = lookup[headerKey(written)] else {
                // Shortened: a file that is not CSV at all has one very long "header".
                let shown = written.count > 40 ? written.prefix(40) + "…" : written
                unknown.append(written.isEmpty ? "(an empty header cell in column \(index + 1))" : "\"\(shown)\"")
                continue
            }
            if map.indexes[column] != nil { repeated.append(column) }
            map.indexes[column] = index
            map.understood.append((written, column))
        }
        let missing = required.filter { map.indexes[$0] == nil }
        var messages: [String] = []
        if !missing.isEmpty { messages.append("missing column(s) \(missing.joined(separator: ", "))") }
        if !unknown.isEmpty { messages.append("unknown column(s) \(unknown.joined(separator: ", "))") }
        if !repeated.isEmpty { messages.append("column(s) named twice: \(repeated.joined(separator: ", "))") }
        if !messages.isEmpty {
            throw HeaderProblem(message: messages.joined(separator: "; ") + "; expected " + order.joined(separator: ", "))
        }
        return map
    }

    public struct HeaderProblem: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }

        public init(message: String) {
            self.message = message
        }
    }

    // MARK: Dates

    /// A calendar date as spreadsheets write it: `2026-03-01`, or day first with dots (`1.3.2026`,
    /// `01.03.2026`, the German and Romanian form). Slashes are refused: `03/01/2026` is 1 March in
    /// Bucharest and 3 January in New York, and a wrong guess would move door access by months.
    public static func date(_ text: String) -> LocalDate? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let date = LocalDate(trimmed) { return date }
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].count == 4, (1...2).contains(parts[0].count), (1...2).contains(parts[1].count),
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let day = Int(parts[0]), let month = Int(parts[1]), let year = Int(parts[2])
        else { return nil }
        return LocalDate(year: year, month: month, day: day)
    }
}
