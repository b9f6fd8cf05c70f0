import Foundation
import GymCore
import GymStore

/// The words `boogyman import subscriptions` prints about a file and its import.
public enum SubscriptionImportReport {
    /// What the reader detected and understood, before anything is checked against the gym.
    public static func readLine(file: String, _ parsed: SubscriptionCSV.Parsed) -> String {
        "Read \(file) as \(parsed.summary)."
    }

    /// The outcome: what was (or would be) written, and door access and Kisi users after it.
    public static func outcomeLines(_ result: SubscriptionImportResult, dryRun: Bool) -> [String] {
        let members = "\(result.newMembers.count) new member(s)"
            + (result.existingMembers.isEmpty ? "" : " and \(result.existingMembers.count) existing member(s)")
        var lines: [String] = []
        if result.written {
            lines.append("Imported \(members) with \(result.subscriptions.count) subscription(s)"
                         + (result.problems.isEmpty ? "." : "; skipped \(result.problems.count) bad row(s)."))
        } else if dryRun {
            lines.append("Dry run, nothing written: the import would bring \(members) with \(result.subscriptions.count) subscription(s)"
                         + (result.problems.isEmpty ? "." : " (\(result.problems.count) bad row(s) left out)."))
        }
        lines += accessLines(result.access)
        return lines
    }

    public static func accessLines(_ access: ImportAccessOutcome) -> [String] {
        var lines = ["Door access after the import: \(access.membersWithAccess) member(s) may enter now"
                     + (access.membersWithUpcomingAccess > 0 ? ", \(access.membersWithUpcomingAccess) from a later start" : "") + "."]
        let without = access.membersWithoutAccess.filter { $0.value > 0 }.sorted { $0.key.rawValue < $1.key.rawValue }
        if !without.isEmpty {
            lines.append("Without access: " + without.map { "\($0.value) \($0.key.rawValue.replacingOccurrences(of: "_", with: " "))" }.joined(separator: ", ") + ".")
        }
        let needed = access.kisiUsersNeeded.count
        lines.append("Kisi users: \(access.kisiUsersLinked) member(s) keep the Kisi user they are linked to; \(needed) need one, "
                     + "which the sync takes from Kisi when a Kisi user has their e-mail (adopted) or creates otherwise. "
                     + "The import itself writes nothing to Kisi.")
        return lines
    }
}
