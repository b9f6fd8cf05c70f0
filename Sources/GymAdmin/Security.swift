import Crypto
import Foundation
import GymStore
import HummingbirdBcrypt

/// Staff passwords: bcrypt, so a stolen database does not reveal them.
public enum StaffPasswords {
    /// Cost 10 (OWASP's minimum) keeps a sign-in under a second on the two-core machines gyms run.
    public static let cost: UInt8 = 10
    public static let minimumLength = 10
    /// bcrypt reads only the first 72 bytes; anything longer would be cut without a word, so a
    /// passphrase that differs only after byte 72 would unlock the account too.
    public static let maximumBytes = 72

    /// Problems with a new password, for the form or the command line; `nil` when it is acceptable.
    /// `email` is the account's sign-in name, which must not double as its password.
    public static func problem(with password: String, email: String? = nil) -> String? {
        if password.count < minimumLength { return "must be at least \(minimumLength) characters" }
        if password.utf8.count > maximumBytes {
            return "must be at most \(maximumBytes) bytes (bcrypt ignores the rest); this one has \(password.utf8.count)"
        }
        if let email {
            let address = email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            let localPart = address.split(separator: "@", maxSplits: 1).first.map(String.init) ?? address
            let lowered = password.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            if !address.isEmpty, lowered == address || lowered == localPart {
                return "must not be the e-mail address or its part before the @"
            }
        }
        if CommonPasswords.contains(password) { return "is one of the most common passwords; choose one nobody would guess" }
        return nil
    }

    public static func hash(_ password: String) -> String {
        Bcrypt.hash(password, cost: cost)
    }

    public static func verify(_ password: String, hash: String) -> Bool {
        Bcrypt.verify(password, hash: hash)
    }

    /// Checked against when the e-mail is unknown, so a sign-in takes as long whether or not the
    /// account exists and the timing does not reveal staff e-mails.
    static let decoyHash = Bcrypt.hash("decoy password that never matches", cost: cost)
}

/// Cross-site request forgery tokens. A session's token is derived from its cookie secret, so it
/// needs no storage, differs per session, and cannot be computed from a copy of the database
/// (which holds only the secret's SHA-256).
enum CSRF {
    static let fieldName = "csrf"

    static func token(forSession secret: String) -> String {
        SHA256.hash(data: Data(("boogyman-csrf:" + secret).utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A random token for the sign-in form (double-submit: cookie and hidden field must match).
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }

    /// Compares without stopping at the first difference, so timing does not leak the token.
    static func matches(_ given: String?, _ expected: String?) -> Bool {
        guard let given, let expected, !expected.isEmpty else { return false }
        let a = Array(given.utf8), b = Array(expected.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
