import Foundation
import Hummingbird
import NIOCore

/// A submitted `application/x-www-form-urlencoded` form.
struct FormData: Sendable {
    var values: [String: String]

    static let maximumBytes = 64 * 1024

    static func read(_ request: Request) async throws -> FormData {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maximumBytes)
        } catch is NIOTooManyBytesError {
            // The client's mistake (or a probe), not the server's: 413 with a message, not a logged 500.
            throw HTTPError(.contentTooLarge, message: "The form is larger than the \(maximumBytes / 1024) KB this server accepts. Shorten the text and send it again.")
        }
        return FormData(encoded: String(buffer: buffer))
    }

    init(encoded: String) {
        var values: [String: String] = [:]
        for pair in encoded.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            let key = decode(parts[0])
            // Repeated keys (multi-selects) are joined with commas; the forms use them only for IDs.
            let value = parts.count > 1 ? decode(parts[1]) : ""
            if let existing = values[key] { values[key] = existing + "," + value } else { values[key] = value }
        }
        self.values = values
    }

    subscript(_ key: String) -> String? { values[key] }

    /// The trimmed value, or `nil` when missing or blank.
    func text(_ key: String) -> String? {
        guard let value = values[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }
}
