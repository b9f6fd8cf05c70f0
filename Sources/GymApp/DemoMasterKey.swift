import Foundation
import GymStore

/// The demo's master key. `BOOGYMAN_MASTER_KEY` (or `_FILE`) wins; without it the demo makes a random
/// key and keeps it in a file beside its database, readable by its owner only, so `serve` on the demo's
/// database after the demo stops can still open the stored Kisi key
/// (`BOOGYMAN_MASTER_KEY_FILE=<that file> boogyman serve --database <the demo's database>`).
public enum DemoMasterKey {
    /// Where the demo keeps a generated key for the database at `databasePath`.
    public static func filePath(forDatabase databasePath: String) -> String {
        databasePath + ".master-key"
    }

    /// The configured key, or a fresh one written to ``filePath(forDatabase:)`` (then `storedIn` names it).
    public static func resolve(configured: MasterKey?, databasePath: String) throws -> (key: MasterKey, storedIn: String?) {
        let path = filePath(forDatabase: databasePath)
        if let configured {
            // A key file from an earlier run would not open this run's database: do not leave it to mislead.
            try? FileManager.default.removeItem(atPath: path)
            return (configured, nil)
        }
        let key = MasterKey.generate()
        try writeOwnerOnly(key.base64 + "\n", to: path)
        return (key, path)
    }

    /// Replaces the file with one created 0600 from the start, so the key is never readable by others,
    /// not even for the moment between writing and a chmod.
    static func writeOwnerOnly(_ text: String, to path: String) throws {
        let temporary = path + ".\(ProcessInfo.processInfo.processIdentifier).tmp"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ConfigurationError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: Data(text.utf8))
            try handle.synchronize()
            try handle.close()
        } catch {
            unlink(temporary)
            throw ConfigurationError("cannot write \(temporary): \(error)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ConfigurationError("cannot move the demo's master key to \(path): \(reason)")
        }
    }
}
