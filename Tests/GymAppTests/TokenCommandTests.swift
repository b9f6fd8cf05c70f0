import Foundation
import Testing

@Suite("boogyman token list and revoke")
struct TokenCommandTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("boogyman-tokens-\(UUID().uuidString)")
    var database: String { folder.appendingPathComponent("gym.sqlite").path }

    @Test("Tokens are listed without secrets, revoked by name or ID, and an ambiguous name is refused")
    func listAndRevoke() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let tablet = try CommandLineRun.run(["token", "create", "--database", database, "--name", "front desk tablet"])
        #expect(tablet.status == 0)
        let secret = tablet.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.hasPrefix("bgm_"))
        for _ in 0..<2 { #expect(try CommandLineRun.run(["token", "create", "--database", database, "--name", "twin"]).status == 0) }

        let listed = try CommandLineRun.run(["token", "list", "--database", database])
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("front desk tablet"))
        #expect(listed.stdout.contains("never"))
        #expect(!listed.stdout.contains(secret))
        let twinIDs = listed.stdout.split(separator: "\n").filter { $0.contains(" twin ") }.map { String($0.prefix(36)) }
        #expect(twinIDs.count == 2)

        let ambiguous = try CommandLineRun.run(["token", "revoke", "--database", database, "twin"])
        #expect(ambiguous.status != 0)
        #expect(ambiguous.stderr.contains("revoke one by its ID"))
        #expect(try CommandLineRun.run(["token", "revoke", "--database", database, "front desk tablet"]).status == 0)
        #expect(try CommandLineRun.run(["token", "revoke", "--database", database, try #require(twinIDs.first)]).status == 0)

        let after = try CommandLineRun.run(["token", "list", "--database", database])
        #expect(!after.stdout.contains("front desk tablet"))
        #expect(after.stdout.split(separator: "\n").filter { $0.contains(" twin ") }.count == 1)
        let all = try CommandLineRun.run(["token", "list", "--database", database, "--include-revoked"])
        #expect(all.stdout.split(separator: "\n").count == 4)
        #expect(try CommandLineRun.run(["token", "revoke", "--database", database, "front desk tablet"]).status != 0)
    }

    @Test("admin create refuses a common password and one equal to the e-mail's local part")
    func adminCreateChecksPasswords() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let common = try CommandLineRun.run([
            "admin", "create", "--database", database, "--email", "boss@gym.example", "--name", "Ana Boss", "--role", "owner",
            "--password", "Password2026!",
        ])
        #expect(common.status != 0)
        #expect(common.stderr.contains("most common"))
        let local = try CommandLineRun.run([
            "admin", "create", "--database", database, "--email", "ana.boss.gym@gym.example", "--name", "Ana Boss", "--role", "owner",
            "--password", "Ana.Boss.Gym",
        ])
        #expect(local.status != 0)
        #expect(local.stderr.contains("e-mail"))
    }
}
