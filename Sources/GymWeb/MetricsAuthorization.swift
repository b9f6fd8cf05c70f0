import Crypto
import Foundation

/// Checks `GET /metrics`'s bearer token when `BOOGYMAN_METRICS_TOKEN` is set.
enum MetricsAuthorization {
    /// Compares SHA-256 digests, so the time taken says nothing about how much of the token matched.
    static func allows(_ header: String?, token: String) -> Bool {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return false }
        let given = SHA256.hash(data: Data(header.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8))
        let expected = SHA256.hash(data: Data(token.utf8))
        return given == expected
    }
}
