import Foundation

/// An e-mail address checked for the shape mail servers accept, compared case-insensitively.
///
/// The original spelling is kept for display; `normalized` (lower-cased, trimmed) is what uniqueness
/// and Kisi matching use.
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible {
    public let value: String
    /// Kept rather than computed: the sync compares hundreds of thousands of addresses per full reconcile.
    public let normalized: String

    public init?(_ raw: String) {
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard EmailAddress.isWellFormed(trimmed) else { return nil }
        self.value = trimmed
        self.normalized = trimmed.lowercased()
    }

    public var description: String { value }

    public static func == (lhs: EmailAddress, rhs: EmailAddress) -> Bool { lhs.normalized == rhs.normalized }
    public func hash(into hasher: inout Hasher) { hasher.combine(normalized) }

    /// A deliberately plain check: one `@`, a local part of allowed characters, a domain of dotted
    /// labels. Quoted local parts and IP literals are rejected; no gym member has one.
    static func isWellFormed(_ text: String) -> Bool {
        // On bytes: every allowed character is ASCII, and loading thousands of members checks each address.
        let bytes = Array(text.utf8)
        guard bytes.count <= 254, bytes.allSatisfy({ $0 < 0x80 }) else { return false }
        let parts = bytes.split(separator: UInt8(ascii: "@"), omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let local = parts[0], domain = parts[1]
        let dot = UInt8(ascii: "."), hyphen = UInt8(ascii: "-")
        guard !local.isEmpty, local.count <= 64, local.first != dot, local.last != dot,
              !zip(local, local.dropFirst()).contains(where: { $0 == dot && $1 == dot })
        else { return false }
        guard local.allSatisfy({ isAlphanumeric($0) || localSymbols.contains($0) }) else { return false }
        let labels = domain.split(separator: dot, omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        for label in labels {
            guard !label.isEmpty, label.count <= 63, label.first != hyphen, label.last != hyphen,
                  label.allSatisfy({ isAlphanumeric($0) || $0 == hyphen })
            else { return false }
        }
        let last = labels.last!
        return last.count >= 2 && !last.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
    }

    private static let localSymbols = Set("!#$%&'*+/=?^_`{|}~.-".utf8)

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
