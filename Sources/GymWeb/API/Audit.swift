import Foundation
import GymCore
import GymStore
import Hummingbird

// The audit log: every write BooGYMan made (or meant to make) to Kisi, as JSON pages and as CSV.

/// One Kisi write as the API shows it. Optional fields without a value are left out.
struct AuditEntryBody: ResponseEncodable, Sendable {
    let id: Int
    let createdAt: Date
    let finishedAt: Date?
    let action: String
    let kisiObjectType: String?
    let kisiObjectID: Int?
    let memberID: UUID?
    let planID: UUID?
    let trigger: String?
    let actor: String
    let reason: String
    let requestJSON: String?
    let status: String
    let kisiStatus: Int?
    let kisiCode: String?
    let error: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, createdAt = "created_at", finishedAt = "finished_at", action, kisiObjectType = "kisi_object_type"
        case kisiObjectID = "kisi_object_id", memberID = "member_id", planID = "plan_id", trigger, actor, reason
        case requestJSON = "request_json", status, kisiStatus = "kisi_status", kisiCode = "kisi_code", error
    }

    init(_ write: KisiWrite) {
        id = write.id
        createdAt = write.createdAt
        finishedAt = write.finishedAt
        action = write.action
        kisiObjectType = write.kisiObjectType
        kisiObjectID = write.kisiObjectID
        memberID = write.memberID
        planID = write.planID
        trigger = write.trigger
        actor = write.actor
        reason = write.reason
        requestJSON = write.requestJSON
        status = write.status.rawValue
        kisiStatus = write.kisiStatus
        kisiCode = write.kisiCode
        error = write.error
    }
}

/// RFC 4180 CSV of the audit log: a header row, CRLF line ends, and fields quoted (with quotes
/// doubled) when they contain a comma, a quote, CR or LF. Text that a spreadsheet would run as a
/// formula (starting with `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'`.
public enum AuditCSV {
    /// Rows beyond this are not exported; narrow the filters to reach older ones.
    public static let maximumRows = 100_000
    public static let batchSize = 1_000
    static let columns = AuditEntryBody.CodingKeys.allCases.map(\.rawValue)
    public static let header = columns.joined(separator: ",") + "\r\n"

    /// The CSV file streamed in keyset batches, newest first, starting with `first` (read before answering,
    /// so a failing query is still a proper error response), up to ``maximumRows``.
    public static func body(repository: GymRepository, filter: KisiWriteFilter, first: [KisiWrite]) -> ResponseBody {
        ResponseBody { writer in
            try await writer.write(ByteBuffer(string: header))
            var batch = first
            var written = 0
            while !batch.isEmpty {
                let rows = batch.prefix(maximumRows - written)
                try await writer.write(ByteBuffer(string: rows.map(row).joined()))
                written += rows.count
                guard written < maximumRows, batch.count == batchSize, let last = batch.last else { break }
                batch = try await repository.kisiWrites(filter, before: last.id, limit: batchSize)
            }
            try await writer.finish(nil)
        }
    }

    public static func row(_ write: KisiWrite) -> String {
        let instant = { (date: Date) in date.formatted(.iso8601) }
        let fields: [String?] = [
            String(write.id), instant(write.createdAt), write.finishedAt.map(instant), text(write.action),
            write.kisiObjectType.map(text), write.kisiObjectID.map(String.init), write.memberID?.uuidString, write.planID?.uuidString,
            write.trigger.map(text), text(write.actor), text(write.reason), write.requestJSON.map(text), write.status.rawValue,
            write.kisiStatus.map(String.init), write.kisiCode.map(text), write.error.map(text),
        ]
        return fields.map { quoted($0 ?? "") }.joined(separator: ",") + "\r\n"
    }

    /// Free text, defused for spreadsheets.
    static func text(_ value: String) -> String {
        guard let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return value }
        return "'" + value
    }

    static func quoted(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension GymRoutes {
    func addAuditRoutes(to api: RouterGroup<APIContext>) {
        api.get("audit") { request, _ in
            let filter = try request.kisiWriteFilter()
            return ListResponse(try await repository.auditEntries(filter, try request.pageRequest(cursor: true)), AuditEntryBody.init)
        }
        api.get("audit.csv") { request, _ in
            let filter = try request.kisiWriteFilter()
            let repository = self.repository
            // Read the first batch and the count before answering, so a failure is still a proper error response.
            let total = try await repository.kisiWrites(filter, PageRequest(limit: 1)).total
            let first = try await repository.kisiWrites(filter, before: nil, limit: AuditCSV.batchSize)
            let body = AuditCSV.body(repository: repository, filter: filter, first: first)
            var headers: HTTPFields = [
                .contentType: "text/csv; charset=utf-8",
                .contentDisposition: "attachment; filename=\"boogyman-audit.csv\"",
            ]
            headers[.init("X-Total-Count")!] = String(total)
            return Response(status: .ok, headers: headers, body: body)
        }
    }
}

extension Request {
    /// The audit log's filters: `member_id`, `plan_id`, `action`, `status`, `from`, `until`.
    func kisiWriteFilter() throws -> KisiWriteFilter {
        var filter = KisiWriteFilter(memberID: try uuidParameter("member_id"), planID: try uuidParameter("plan_id"))
        if let action = try textParameter("action"), !action.isEmpty { filter.action = action }
        if let raw = uri.queryParameters.get("status") {
            guard let status = KisiWriteStatus(rawValue: raw) else {
                throw APIError.badParameter("status", "must be one of " + KisiWriteStatus.allCases.map(\.rawValue).joined(separator: ", "))
            }
            filter.status = status
        }
        filter.from = try instantParameter("from")
        filter.until = try instantParameter("until")
        if let from = filter.from, let until = filter.until, until < from {
            throw APIError.badParameter("until", "must not be before from")
        }
        return filter
    }
}
