import AccessSync
import Foundation
import GymCore
import GymStore
import Hummingbird

// `/api/v1/imports`: members with their subscriptions from a spreadsheet's CSV, checked whole,
// with a dry run that tells the door-access outcome. As `boogyman import subscriptions`.

extension GymRoutes {
    /// A dry run looks up Kisi users by e-mail only for this many members: each look-up is one Kisi
    /// request at Kisi's 5 a second, so a bigger import is told what the sync will do instead.
    static let importKisiLookupLimit = 5
    /// The longest `csv` accepted (the document's `maxLength`), in code points: about 8,000 rows,
    /// well inside one request body.
    static let importMaximumLength = 1_000_000

    func addImportRoutes(to group: RouterGroup<APIContext>) {
        group.post { request, context in
            let body = try await request.decodeJSON(ImportRequest.self, context: context)
            if body.csv.unicodeScalars.count > Self.importMaximumLength {
                throw APIError.validation(FieldErrors(field: "csv", "must be at most \(Self.importMaximumLength) characters; split the file"))
            }
            if Validate.containsControlCharacters(body.csv, multiline: true) {
                throw APIError.validation(FieldErrors(field: "csv", "must not contain control characters (tab and line breaks are fine)"))
            }
            let parsed: SubscriptionCSV.Parsed
            do {
                parsed = try SubscriptionCSV.parse(body.csv)
            } catch {
                throw APIError.validation(FieldErrors(field: "csv", "header row: \(error)"))
            }
            let dryRun = body.dryRun ?? false
            let skipInvalid = body.skipInvalid ?? false
            let result = try await repository.importSubscriptions(
                parsed.rows, earlierProblems: parsed.problems, skipInvalid: skipInvalid, dryRun: dryRun, at: now())
            if !result.written && !dryRun {
                var errors = FieldErrors()
                for problem in result.problems.prefix(100) { errors.add("csv", problem.description) }
                if result.problems.count > 100 { errors.add("csv", "… and \(result.problems.count - 100) more bad row(s)") }
                throw APIError(
                    .unprocessableContent, code: "validation_failed",
                    message: "\(result.problems.count) bad row(s); nothing was imported. Fix them, or send skip_invalid: true to import the rest.",
                    fields: errors.fields)
            }
            var kisi: KisiLookup?
            if dryRun, let sync, !result.access.kisiUsersNeeded.isEmpty, result.access.kisiUsersNeeded.count <= Self.importKisiLookupLimit {
                kisi = await lookUpKisiUsers(result.access.kisiUsersNeeded, sync)
            }
            let report = ImportReport(parsed, result, dryRun: dryRun, kisi: kisi)
            return EditedResponse(status: result.written ? .created : .ok, response: report)
        }
    }

    /// How many of these e-mails Kisi holds a user for (read only; the sync adopts them later).
    /// Nil when Kisi did not answer: the report then says what the sync will do instead.
    func lookUpKisiUsers(_ emails: [EmailAddress], _ sync: any SyncControl) async -> KisiLookup? {
        var found = 0
        for email in emails {
            do {
                if try await !sync.kisiUsers(email: email.normalized).isEmpty { found += 1 }
            } catch {
                return nil
            }
        }
        return KisiLookup(adopted: found, created: emails.count - found)
    }
}

struct KisiLookup: Sendable {
    var adopted: Int
    var created: Int
}

// MARK: - JSON

struct ImportRequest: Decodable, Sendable {
    let csv: String
    let dryRun: Bool?
    let skipInvalid: Bool?
    enum CodingKeys: String, CodingKey { case csv, dryRun = "dry_run", skipInvalid = "skip_invalid" }
}

struct ImportReport: ResponseEncodable, Sendable {
    struct Column: Encodable, Sendable {
        let header: String
        let column: String
    }

    struct Problem: Encodable, Sendable {
        let line: Int
        let message: String
    }

    struct Access: Encodable, Sendable {
        let membersWithAccess: Int
        let membersWithUpcomingAccess: Int
        let membersWithoutAccess: [String: Int]
        let kisiUsersLinked: Int
        let kisiUsersNeeded: Int
        /// "looked_up" when Kisi was asked (then the two counts below), else "at_sync".
        let kisiLookup: String
        let kisiUsersAdopted: Int?
        let kisiUsersCreated: Int?
        enum CodingKeys: String, CodingKey {
            case membersWithAccess = "members_with_access", membersWithUpcomingAccess = "members_with_upcoming_access"
            case membersWithoutAccess = "members_without_access", kisiUsersLinked = "kisi_users_linked"
            case kisiUsersNeeded = "kisi_users_needed", kisiLookup = "kisi_lookup"
            case kisiUsersAdopted = "kisi_users_adopted", kisiUsersCreated = "kisi_users_created"
        }
    }

    let dryRun: Bool
    let written: Bool
    let encoding: String
    let separator: String
    let columns: [Column]
    let membersCreated: Int
    let membersExisting: Int
    let subscriptionsCreated: Int
    /// The members created, when `written`.
    let memberIDs: [UUID]
    let problems: [Problem]
    let access: Access

    enum CodingKeys: String, CodingKey {
        case dryRun = "dry_run", written, encoding, separator, columns, membersCreated = "members_created"
        case membersExisting = "members_existing", subscriptionsCreated = "subscriptions_created", memberIDs = "member_ids"
        case problems, access
    }

    init(_ parsed: SubscriptionCSV.Parsed, _ result: SubscriptionImportResult, dryRun: Bool, kisi: KisiLookup?) {
        self.dryRun = dryRun
        written = result.written
        encoding = parsed.encoding.rawValue
        separator = parsed.separatorName
        columns = parsed.columns.understood.map { Column(header: $0.header, column: $0.column) }
        membersCreated = result.newMembers.count
        membersExisting = result.existingMembers.count
        subscriptionsCreated = result.subscriptions.count
        memberIDs = result.written ? result.newMembers.map(\.id) : []
        problems = result.problems.map { Problem(line: $0.line, message: $0.message) }
        let outcome = result.access
        access = Access(
            membersWithAccess: outcome.membersWithAccess, membersWithUpcomingAccess: outcome.membersWithUpcomingAccess,
            membersWithoutAccess: Dictionary(uniqueKeysWithValues: outcome.membersWithoutAccess.map { ($0.key.rawValue, $0.value) }),
            kisiUsersLinked: outcome.kisiUsersLinked, kisiUsersNeeded: outcome.kisiUsersNeeded.count,
            kisiLookup: kisi == nil ? "at_sync" : "looked_up", kisiUsersAdopted: kisi?.adopted, kisiUsersCreated: kisi?.created)
    }
}
