import Foundation
import GymApp
import GymCore
import GymStore
import Logging
import Testing

@Suite("boogyman import subscriptions")
struct ImportSubscriptionsCommandTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("boogyman-import-subscriptions-\(UUID().uuidString)")

    /// A gym with one plan, "All clubs", in an SQLite file the command then opens.
    func gym() async throws -> String {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("gym.sqlite").path
        var logger = Logger(label: "boogyman.import-tests")
        logger.logLevel = .warning
        let database = try await GymServer.openDatabase(AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteFile(path: path)), logger: logger)
        let club = try await database.repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest", kisiLockIDs: [1]))
        _ = try await database.repository.createPlan(PlanDraft(name: "All clubs", clubIDs: [club.id]))
        await database.shutdown()
        return path
    }

    /// A Romanian Excel export: Windows-1250, semicolons, CRLF, a quoted note over two lines.
    func export(badRow: Bool) throws -> String {
        var lines = [
            "Prenume;Nume;E-mail;Notes;Abonament;Beginn;Bezahlt bis",
            "Ştefan;Ţăranu;stefan@example.com;\"Prefers\r\nmornings\";All clubs;01.01.2020;31.12.2099",
            "Ioana;Mureşan;ioana@example.com;;all clubs;01.01.2099;31.12.2099",
        ]
        if badRow { lines.append("Vlad;Dinu;vlad@example.com;;Gold;01.01.2026;31.12.2026") }
        // Encoded by hand, as Excel saves it, independently of the reader's own tables.
        let windows1250: [Unicode.Scalar: UInt8] = ["Ş": 0xAA, "Ţ": 0xDE, "ă": 0xE3, "ş": 0xBA]
        var bytes: [UInt8] = []
        for scalar in (lines.joined(separator: "\r\n") + "\r\n").unicodeScalars {
            if let byte = windows1250[scalar] {
                bytes.append(byte)
            } else {
                bytes.append(try #require(scalar.isASCII ? UInt8(scalar.value) : nil, "\(scalar) is not in the test's table"))
            }
        }
        let url = folder.appendingPathComponent(badRow ? "members-with-a-bad-row.csv" : "members.csv")
        try Data(bytes).write(to: url)
        return url.path
    }

    @Test("A Windows-1250 export: the dry run names encoding, separator and columns and writes nothing; a bad row refuses the file; the good file imports")
    func windowsExport() async throws {
        let database = try await gym()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bad = try export(badRow: true)
        let refused = try CommandLineRun.run(["import", "subscriptions", bad, "--database", database])
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("Read \(bad) as Windows-1250, semicolon-separated; columns: Prenume → first_name, Nume → last_name, E-mail → email"), "\(refused.stdout)")
        #expect(refused.stderr.contains("line 5: plan: no plan named \"Gold\""), "the quoted line break makes Ştefan's row two lines: \(refused.stderr)")
        #expect(refused.stdout.contains("Imported nothing: 1 bad row(s)."))

        let good = try export(badRow: false)
        let dry = try CommandLineRun.run(["import", "subscriptions", good, "--dry-run", "--database", database])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("Dry run, nothing written: the import would bring 2 new member(s) with 2 subscription(s)."), "\(dry.stdout)")
        #expect(dry.stdout.contains("Door access after the import: 1 member(s) may enter now, 1 from a later start."))

        let done = try CommandLineRun.run(["import", "subscriptions", good, "--database", database])
        #expect(done.status == 0, "\(done.stderr)")
        #expect(done.stdout.contains("Imported 2 new member(s) with 2 subscription(s)."), "\(done.stdout)")
        var logger = Logger(label: "boogyman.import-tests")
        logger.logLevel = .warning
        let reopened = try await GymServer.openDatabase(AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteFile(path: database)), logger: logger)
        let stefan = try await reopened.repository.member(email: "stefan@example.com")
        let notes = stefan?.notes
        await reopened.shutdown()
        #expect(stefan?.firstName == "Ştefan")
        #expect(stefan?.lastName == "Ţăranu")
        #expect(notes == "Prefers\nmornings")
    }

    @Test("boogyman import members reads a Windows-1252, semicolon-separated export with English header spellings and says so")
    func memberImportReadsSpreadsheets() async throws {
        let database = try await gym()
        defer { try? FileManager.default.removeItem(at: folder) }
        // "Hélène Müller" in Windows-1252: é 0xE9, è 0xE8, ü 0xFC.
        var bytes = Array("First Name;Last Name;E-mail;Phone Number\r\nH".utf8) + [0xE9] + Array("l".utf8) + [0xE8] + Array("ne;M".utf8)
        bytes += [0xFC] + Array("ller;helene@example.com;+33 6 12 34 56 78\r\n".utf8)
        let url = folder.appendingPathComponent("members-1252.csv")
        try Data(bytes).write(to: url)
        let run = try CommandLineRun.run(["import", "members", url.path, "--database", database])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("as Windows-1252, semicolon-separated; columns: First Name → first_name, Last Name → last_name, E-mail → email, Phone Number → phone."), "\(run.stdout)")
        #expect(run.stdout.contains("Imported 1 member(s)"))
        var logger = Logger(label: "boogyman.import-tests")
        logger.logLevel = .warning
        let reopened = try await GymServer.openDatabase(AppConfiguration(host: "127.0.0.1", port: 0, database: .sqliteFile(path: database)), logger: logger)
        let helene = try await reopened.repository.member(email: "helene@example.com")
        await reopened.shutdown()
        #expect(helene?.fullName == "Hélène Müller")
    }
}
