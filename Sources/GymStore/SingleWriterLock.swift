import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Another process already serves the same SQLite file.
public struct SingleWriterLockError: Error, CustomStringConvertible, Sendable {
    public let databasePath: String
    public let lockPath: String
    /// The PID written by the process holding the lock, when it could be read.
    public let holderPID: Int32?
    public let reason: String?

    public var description: String {
        if let reason {
            return "cannot lock \(lockPath) for the SQLite database \(databasePath): \(reason)"
        }
        let who = holderPID.map { "process \($0)" } ?? "another process"
        return "the SQLite database \(databasePath) is already served by \(who) (lock file \(lockPath)). "
            + "SQLite allows one BooGYMan server per database file; stop the other one, or use PostgreSQL to run several replicas."
    }
}

/// An exclusive `flock` on `<database>.lock`, held for as long as this value lives (the kernel drops
/// it when the process dies, even on kill -9, so a crash never leaves a stale lock behind).
///
/// Two servers on one SQLite file would both run the Kisi sync without any lease between them;
/// SQLite has no shared lease table to fence them with, so the second one is refused instead.
public final class SingleWriterLock: Sendable {
    public let lockPath: String
    let descriptor: Int32

    /// Takes the lock or throws ``SingleWriterLockError`` naming the file and the holder's PID.
    public init(databasePath: String) throws {
        let lockPath = databasePath + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw SingleWriterLockError(
                databasePath: databasePath, lockPath: lockPath, holderPID: nil, reason: String(cString: strerror(errno)))
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let error = errno
            let holder = Self.readPID(fd)
            close(fd)
            if error == EWOULDBLOCK {
                throw SingleWriterLockError(databasePath: databasePath, lockPath: lockPath, holderPID: holder, reason: nil)
            }
            throw SingleWriterLockError(
                databasePath: databasePath, lockPath: lockPath, holderPID: nil, reason: String(cString: strerror(error)))
        }
        // The PID is only a hint for the message above; the lock itself is what excludes.
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.lockPath = lockPath
        self.descriptor = fd
    }

    static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
