import AsyncHTTPClient
import Foundation
import NIOCore

/// `boogyman health`: asks a running server's `/readyz` (or another URL) and says whether it answered
/// 200, for a container's HEALTHCHECK, where the runtime image has no curl.
public enum HealthProbe {
    /// The URL to ask: the server's port on the loopback address when it listens on all interfaces.
    public static func url(host: String, port: Int, path: String = "/readyz") -> String {
        let reachable = ["0.0.0.0", "::", "[::]", ""].contains(host) ? "127.0.0.1" : host
        let bracketed = reachable.contains(":") && !reachable.hasPrefix("[") ? "[\(reachable)]" : reachable
        return "http://\(bracketed):\(port)\(path)"
    }

    /// Nil when the server answered 200 within the timeout, else what went wrong.
    public static func problem(url: String, timeoutSeconds: Int64 = 3) async -> String? {
        do {
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeoutSeconds))
            guard response.status == .ok else { return "\(url) answered \(response.status.code)" }
            _ = try await response.body.collect(upTo: 64 * 1024)
            return nil
        } catch {
            return "\(url) did not answer: \(error)"
        }
    }
}
