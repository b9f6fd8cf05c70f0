import Foundation

/// An e-mail address checked for the shape mail servers accept, compared case-insensitively.
///
/// The original spelling is kept for display; `normalized` (lower-cased, trimmed) is what uniqueness
/// and Kisi matching use.
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    public init?(_ raw: String) {
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard EmailAddress.isWellFormed(trimmed) else { return nil }
        self.value = trimmed
    }

    public var normalized: String { value.lowercased() }
    public var description: String { value }

    public static func == (lhs: EmailAddress, rhs: EmailAddress) -> Bool { lhs.normalized == rhs.normalized }
    public func hash(into hasher: inout Hasher) { hasher.combine(normalized) }

    /// A deliberately plain check: one `@`, a local part of allowed characters, a domain of dotted
    /// labels. Quoted local parts and IP literals are rejected; no gym member has one.
    static func isWellFormed(_ text: String) -> Bool {
        guard text.utf8.count <= 254, text.allSatisfy(\.isASCII) else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let local = parts[0], domain = parts[1]
        guard !local.isEmpty, local.count <= 64, !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..")
        else { return false }
        let localAllowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~.-")
        guard local.allSatisfy(localAllowed.contains) else { return false }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        let labelAllowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
        for label in labels {
            guard !label.isEmpty, label.count <= 63, !label.hasPrefix("-"), !label.hasSuffix("-"),
                  label.allSatisfy(labelAllowed.contains)
            else { return false }
        }
        return labels.last!.count >= 2 && !labels.last!.allSatisfy(\.isNumber)
    }
}
