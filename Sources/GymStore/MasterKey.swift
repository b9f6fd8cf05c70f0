import Crypto
import Foundation

/// The 256-bit key BooGYMan seals its stored secrets (the Kisi API key, the webhook secret) with.
///
/// It lives outside the database (`BOOGYMAN_MASTER_KEY`, base64), so a copy of the database alone
/// does not reveal the secrets. Reading the environment is the caller's job; this type only checks
/// the text. Its `description` never shows the key.
public struct MasterKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The raw key bytes (kept as `Data`, which is `Sendable`; `SymmetricKey` is not).
    let bytes: Data
    var key: SymmetricKey { SymmetricKey(data: bytes) }

    /// Parses standard base64 (surrounding whitespace ignored) of exactly 32 bytes.
    public init(base64: String) throws(MasterKeyError) {
        let trimmed = base64.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .empty }
        guard let data = Data(base64Encoded: trimmed) else { throw .notBase64 }
        try self.init(rawBytes: data)
    }

    /// Uses 32 raw bytes as the key.
    public init(rawBytes: some ContiguousBytes) throws(MasterKeyError) {
        let bytes = rawBytes.withUnsafeBytes { Data($0) }
        guard bytes.count == 32 else { throw .wrongLength(bytes: bytes.count) }
        self.bytes = bytes
    }

    /// A fresh random key, e.g. for `boogyman master-key generate` or tests.
    public static func generate() -> MasterKey {
        try! MasterKey(rawBytes: SymmetricKey(size: .bits256))
    }

    /// The key as standard base64, the form `init(base64:)` reads. Handle with care: this *is* the secret.
    public var base64: String {
        bytes.base64EncodedString()
    }

    public var description: String { "MasterKey(redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// Why a master key cannot be used. Messages never contain key material.
public enum MasterKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text is empty.
    case empty
    /// The text is not standard base64.
    case notBase64
    /// The key does not have 32 bytes.
    case wrongLength(bytes: Int)
    /// The stored secrets were sealed under a different master key (or the stored ciphertext was
    /// altered): the key does not open them.
    case wrongKey

    public var description: String {
        switch self {
        case .empty: "the master key is empty; generate one with 32 random bytes, base64-encoded"
        case .notBase64: "the master key is not valid base64"
        case .wrongLength(let bytes): "the master key must be 32 bytes (256 bits), but has \(bytes)"
        case .wrongKey:
            "the master key does not open the stored Kisi secrets: they were saved under another master key "
                + "(restore that key, or save the Kisi settings again)"
        }
    }
}

/// AES-GCM sealing of one stored secret. The sealed text is base64 of the combined sealed box
/// (nonce ‖ ciphertext ‖ tag), prefixed with a format version; `purpose` is authenticated too, so a
/// sealed value copied into another column does not open.
enum SecretBox {
    static let prefix = "v1:"

    static func seal(_ plaintext: String, purpose: String, with masterKey: MasterKey) throws -> String {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: masterKey.key, authenticating: Data(purpose.utf8))
        guard let combined = box.combined else { throw StoreError.corrupt("sealing \(purpose) produced no data") }
        return prefix + combined.base64EncodedString()
    }

    static func open(_ sealed: String, purpose: String, with masterKey: MasterKey) throws -> String {
        guard sealed.hasPrefix(prefix), let combined = Data(base64Encoded: String(sealed.dropFirst(prefix.count))) else {
            throw StoreError.corrupt("\(purpose) is not a sealed secret")
        }
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.SealedBox(combined: combined)
        } catch {
            throw StoreError.corrupt("\(purpose) is not a sealed secret")
        }
        let plaintext: Data
        do {
            plaintext = try AES.GCM.open(box, using: masterKey.key, authenticating: Data(purpose.utf8))
        } catch {
            throw MasterKeyError.wrongKey
        }
        guard let text = String(data: plaintext, encoding: .utf8) else { throw StoreError.corrupt("\(purpose) is not UTF-8") }
        return text
    }
}
