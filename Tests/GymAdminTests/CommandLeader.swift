import AccessSync
import Foundation
import GymStore
import Logging

/// A ``LiveSyncControl`` for `engine`'s connection (none: not connected).
func liveControl(_ repository: GymRepository, engine: SyncEngine? = nil, masterKey: MasterKey? = nil, bell: SyncCommandBell = SyncCommandBell()) -> LiveSyncControl {
    LiveSyncControl(engines: CurrentSyncEngine(engine), repository: repository, masterKey: masterKey, bell: bell)
}

/// Runs `body` while this process leads the sync's command loop for `engine`'s connection, under the
/// sync lease, as the leading replica does: staff's Kisi writes are then carried out, fenced and journalled.
func withCommandLeader<T: Sendable>(
    _ repository: GymRepository, engine: SyncEngine, bell: SyncCommandBell, _ body: () async throws -> T
) async throws -> T {
    guard let lease = try await repository.acquireLease(name: SyncLeadership.defaultLeaseName, holder: "test leader", ttl: .seconds(600)) else {
        throw StoreError.conflict("the sync lease is taken")
    }
    var logger = Logger(label: "boogyman.test-leader")
    logger.logLevel = .warning
    let fenced = SyncEngine(
        client: engine.client, repository: repository, ledger: GymStoreSyncLedger(repository: repository, fence: lease.fence),
        configuration: await engine.configuration)
    let processor = SyncCommandProcessor(engine: fenced, repository: repository, fence: lease.fence, bell: bell, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await processor.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}
