import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

enum Webhooks {
    /// `sha256=` + lowercase hex HMAC-SHA256 of the exact body bytes, keyed with the integration's signature_key.
    static func signature(body: Data, key: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(key.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }
}

/// Delivers queued webhook jobs and persists state. Runs as a service beside the HTTP server, so all
/// background work is owned by the application's service group (no unstructured tasks).
struct SandboxBackgroundService: Service {
    let jobs: AsyncStream<WebhookJob>
    let store: SandboxStore
    let timeout: Duration
    let persistencePath: String?
    let logger: Logger

    func run() async throws {
        // Both loops stop on graceful shutdown (or cancellation); state is persisted a final time afterwards.
        await cancelWhenGracefulShutdown { [self] in
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.deliverAll() }
                if let path = self.persistencePath {
                    group.addTask { await self.persistPeriodically(path: path) }
                }
            }
        }
        if let path = persistencePath { await saveIfDirty(path: path) }
    }

    private func deliverAll() async {
        for await job in jobs {
            if Task.isCancelled { break }
            await deliver(job)
        }
    }

    /// One attempt per event, sequential (keeps order), with a deadline. Kisi's retry policy is undocumented;
    /// the sandbox does not retry.
    func deliver(_ job: WebhookJob) async {
        var request = HTTPClientRequest(url: job.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "KisiSandbox-Webhooks")
        if let sig = job.signature { request.headers.add(name: "X-Signature", value: sig) }
        request.body = .bytes(ByteBuffer(data: job.body))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .init(timeout))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            if !(200..<300).contains(Int(response.status.code)) {
                logger.warning("webhook \(job.integrationId) answered \(response.status.code)")
            }
        } catch {
            logger.warning("webhook \(job.integrationId) delivery failed: \(error)")
        }
    }

    private func persistPeriodically(path: String) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            await saveIfDirty(path: path)
        }
    }

    func saveIfDirty(path: String) async {
        guard let state = await store.takeDirty() else { return }
        do {
            try Persistence.save(state, to: path)
        } catch {
            logger.error("could not persist sandbox state to \(path): \(error)")
        }
    }
}

enum Persistence {
    static func save(_ state: StoreState, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(state).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func load(from path: String) throws -> StoreState? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let decoder = JSONDecoder()
        return try decoder.decode(StoreState.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
