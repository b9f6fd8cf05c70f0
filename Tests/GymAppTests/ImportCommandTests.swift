import Foundation
import Testing

/// Runs the real `boogyman` binary, as staff would.
struct CommandLineRun {
    let status: Int32
    let stdout: String
    let stderr: String

    static var binary: URL? {
        // The test bundle sits in the build folder next to the products.
        let buildFolder = Bundle.main.bundleURL.deletingLastPathComponent()
        let candidates = [Bundle.main.bundleURL, buildFolder].map { $0.appendingPathComponent("boogyman") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    static func run(_ arguments: [String]) throws -> CommandLineRun {
        let process = Process()
        process.executableURL = try #require(binary, "build the boogyman product first (swift build)")
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandLineRun(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}

@Suite("boogyman import members")
struct ImportCommandTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("boogyman-import-\(UUID().uuidString)")

    func write(_ name: String, _ text: String) throws -> String {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test("A file with bad rows imports nothing and names every bad line; --skip-invalid imports the rest")
    func allOrNothing() throws {
        let database = folder.appendingPathComponent("gym.sqlite").path
        let csv = try write("members.csv", """
            first_name,last_name,email,phone
            Ana,Popescu,ana@example.com,+40 721 000 111
            Ion,Ionescu,not-an-email,
            Maria,Pop,maria@example.com
            Elena,Stan,ANA@example.com,
            Radu,Matei,radu@example.com,

            """)
        defer { try? FileManager.default.removeItem(at: folder) }

        let refused = try CommandLineRun.run(["import", "members", csv, "--database", database])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("line 3: email"), "\(refused.stderr)")
        #expect(refused.stderr.contains("line 4: has 3 field(s)"), "\(refused.stderr)")
        #expect(refused.stderr.contains("line 5: email"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("line 2"))
        #expect(refused.stdout.contains("Imported nothing: 3 bad row(s)"))

        let skipped = try CommandLineRun.run(["import", "members", csv, "--skip-invalid", "--database", database])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(skipped.stdout.contains("Imported 2 member(s); skipped 3 bad row(s)."))

        let again = try CommandLineRun.run(["import", "members", csv, "--skip-invalid", "--database", database])
        #expect(again.stdout.contains("Imported 0 member(s); skipped 5 bad row(s)."), "\(again.stdout)")
    }

    @Test("A file whose header lacks a required column is refused")
    func badHeader() throws {
        let csv = try write("bad.csv", "name,email\nAna,ana@example.com\n")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try CommandLineRun.run(["import", "members", csv, "--database", folder.appendingPathComponent("gym.sqlite").path])
        #expect(run.status != 0)
        #expect(run.stderr.contains("missing column(s) first_name, last_name"), "\(run.stderr)")
    }
}
