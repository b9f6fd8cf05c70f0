import Foundation

/// One row of a subscription import: a member, and the subscription they hold (if the row names a
/// plan). A member with several subscriptions (renewals, a second plan) appears on several rows
/// with the same e-mail. Dates are the club's calendar dates, as everywhere.
public struct SubscriptionImportRow: Sendable, Hashable {
    /// Line of the file where the row starts (the header is line 1); for the JSON API the same.
    public var line: Int
    public var member: MemberDraft
    /// The plan by name (case-insensitive); nil for a member without a subscription.
    public var planName: String?
    public var startDate: LocalDate?
    public var endDate: LocalDate?
    public var paidThrough: LocalDate?
    public var freeze: DateSpan?
    public var freezeReason: String?
    /// The first day without access, when the subscription is cancelled.
    public var cancellationDate: LocalDate?
    public var cancellationReason: String?

    public init(
        line: Int, member: MemberDraft, planName: String? = nil, startDate: LocalDate? = nil, endDate: LocalDate? = nil,
        paidThrough: LocalDate? = nil, freeze: DateSpan? = nil, freezeReason: String? = nil,
        cancellationDate: LocalDate? = nil, cancellationReason: String? = nil
    ) {
        self.line = line
        self.member = member
        self.planName = planName
        self.startDate = startDate
        self.endDate = endDate
        self.paidThrough = paidThrough
        self.freeze = freeze
        self.freezeReason = freezeReason
        self.cancellationDate = cancellationDate
        self.cancellationReason = cancellationReason
    }
}

/// A problem with one line of an import file.
public struct ImportLineProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }
}

/// Reads members with their subscriptions from a spreadsheet export (see ``SpreadsheetCSV``).
public enum SubscriptionCSV {
    /// The columns, in the order reports list them.
    public static let columns = [
        "first_name", "last_name", "email", "phone", "notes", "plan", "start_date", "end_date", "paid_through",
        "freeze_start", "freeze_end", "freeze_reason", "cancellation_date", "cancellation_reason",
    ]
    public static let requiredColumns = ["first_name", "last_name", "email"]

    /// Spellings of the member columns that exports use (compared without case, spaces, `_`, `-`, `.`).
    public static let memberSpellings: [String: [String]] = [
        "first_name": ["First Name", "Given Name", "Forename", "First", "Vorname", "Prenume"],
        "last_name": ["Last Name", "Surname", "Family Name", "Last", "Nachname", "Nume"],
        "email": ["E-mail", "Email Address", "E-mail Address", "Mail", "E-Mail-Adresse"],
        "phone": ["Phone Number", "Telephone", "Tel", "Mobile", "Mobile Phone", "Cell", "Telefon"],
        "notes": ["Note", "Comments", "Comment", "Remarks", "Notizen", "Bemerkungen"],
    ]

    public static let spellings: [String: [String]] = memberSpellings.merging([
        "plan": ["Plan Name", "Membership", "Membership Type", "Membership Plan", "Abonament", "Tarif"],
        "start_date": ["Start", "Starts", "Start Date", "Valid From", "From", "Begin", "Beginn"],
        "end_date": ["End", "Ends", "End Date", "Valid Until", "Valid To", "Until", "Expires", "Expiry", "Expiry Date", "Ende"],
        "paid_through": ["Paid Through", "Paid Until", "Paid To", "Paid Thru", "Bezahlt bis"],
        "freeze_start": ["Freeze From", "Frozen From", "Freeze Start Date", "Pause From", "Pause Start"],
        "freeze_end": ["Freeze Until", "Frozen Until", "Freeze End Date", "Pause Until", "Pause End"],
        "freeze_reason": ["Freeze Note", "Pause Reason"],
        "cancellation_date": ["Cancelled From", "Canceled From", "Cancellation", "Cancellation Effective", "Cancel Date", "Cancelled On"],
        "cancellation_reason": ["Cancel Reason", "Cancellation Note"],
    ]) { current, _ in current }

    /// What a file held: its rows, the lines that could not become rows, and what was detected.
    public struct Parsed: Sendable {
        public var rows: [SubscriptionImportRow]
        public var problems: [ImportLineProblem]
        public var encoding: SpreadsheetCSV.Encoding
        public var separatorName: String
        public var columns: SpreadsheetCSV.ColumnMap

        /// "UTF-8 with BOM, semicolon-separated; columns: Vorname → first_name, …", for reports.
        public var summary: String {
            "\(encoding), \(separatorName)-separated; columns: \(columns.summary)"
        }
    }

    public static func parse(_ data: Data, forcedEncoding: SpreadsheetCSV.Encoding? = nil) throws(SpreadsheetCSV.HeaderProblem) -> Parsed {
        try parse(SpreadsheetCSV.table(data, forcedEncoding: forcedEncoding))
    }

    public static func parse(_ text: String) throws(SpreadsheetCSV.HeaderProblem) -> Parsed {
        try parse(SpreadsheetCSV.table(text))
    }

    /// Turns records into rows; a date that does not read, a field count that differs from the
    /// header's, or a subscription without its dates is a problem of that line. Whether plans,
    /// e-mails and dates fit the gym is the repository's check (`importSubscriptions`).
    public static func parse(_ table: SpreadsheetCSV.Table) throws(SpreadsheetCSV.HeaderProblem) -> Parsed {
        guard let header = table.records.first, !(header.fields.count == 1 && header.fields[0].isEmpty) else {
            throw SpreadsheetCSV.HeaderProblem(message: "the file is empty")
        }
        let map = try SpreadsheetCSV.mapColumns(header.fields, spellings: spellings, required: requiredColumns, order: columns)
        var rows: [SubscriptionImportRow] = []
        var problems: [ImportLineProblem] = []
        for record in table.records.dropFirst() {
            if let error = record.error {
                problems.append(ImportLineProblem(line: record.line, message: error))
                continue
            }
            if record.fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            guard record.fields.count == header.fields.count else {
                problems.append(ImportLineProblem(
                    line: record.line, message: "has \(record.fields.count) field(s), the header has \(header.fields.count)"))
                continue
            }
            switch row(record, map) {
            case .success(let row): rows.append(row)
            case .failure(let problem): problems.append(problem)
            }
        }
        return Parsed(rows: rows, problems: problems, encoding: table.encoding, separatorName: table.separatorName, columns: map)
    }

    static func row(_ record: SpreadsheetCSV.Record, _ map: SpreadsheetCSV.ColumnMap) -> Result<SubscriptionImportRow, ImportLineProblem> {
        func text(_ column: String) -> String? {
            guard let index = map.indexes[column] else { return nil }
            let value = record.fields[index].trimmingCharacters(in: .whitespaces)
            return value.isEmpty ? nil : value
        }
        var messages: [String] = []
        func date(_ column: String) -> LocalDate? {
            guard let value = text(column) else { return nil }
            guard let date = SpreadsheetCSV.date(value) else {
                messages.append("\(column): \"\(value.prefix(40))\" is not a date (write 2026-03-01 or 01.03.2026)")
                return nil
            }
            return date
        }
        var row = SubscriptionImportRow(
            line: record.line,
            member: MemberDraft(
                firstName: text("first_name") ?? "", lastName: text("last_name") ?? "", email: text("email") ?? "",
                phone: text("phone"), notes: map.indexes["notes"].map { record.fields[$0] }),
            planName: text("plan"), startDate: date("start_date"), endDate: date("end_date"), paidThrough: date("paid_through"),
            freezeReason: text("freeze_reason"), cancellationDate: date("cancellation_date"), cancellationReason: text("cancellation_reason"))
        let freezeStart = date("freeze_start"), freezeEnd = date("freeze_end")
        if let freezeStart, let freezeEnd {
            row.freeze = DateSpan(first: freezeStart, last: freezeEnd)
        } else if (text("freeze_start") == nil) != (text("freeze_end") == nil) {
            messages.append("a freeze needs both freeze_start and freeze_end")
        }
        if row.planName == nil {
            let subscriptionColumns = ["start_date", "end_date", "paid_through", "freeze_start", "freeze_end", "cancellation_date"]
            if let stray = subscriptionColumns.first(where: { text($0) != nil }) {
                messages.append("\(stray) is given but plan is empty: name the plan, or leave the subscription's columns empty")
            }
        } else {
            if text("start_date") == nil { messages.append("start_date is required with a plan") }
            // A fixed-term subscription sold outright is paid to its end; an open-ended one must say.
            if row.paidThrough == nil, text("paid_through") == nil {
                if let end = row.endDate {
                    row.paidThrough = end
                } else {
                    messages.append("paid_through is required for a subscription without an end_date")
                }
            }
        }
        if !messages.isEmpty { return .failure(ImportLineProblem(line: record.line, message: messages.joined(separator: "; "))) }
        return .success(row)
    }
}
