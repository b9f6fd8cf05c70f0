import Synchronization

/// The sync engine of the Kisi connection in force, shared by the routes and the sync service.
///
/// Staff connect, reconnect (a new key) and disconnect Kisi while BooGYMan runs, so nothing may keep
/// an engine for the life of the process: every user of the sync reads `engine` when it needs one.
/// `generation` grows with every replacement, so the running sync can tell it is driving an old one.
public final class CurrentSyncEngine: Sendable {
    private let state: Mutex<(engine: SyncEngine?, generation: Int)>

    public init(_ engine: SyncEngine? = nil) {
        state = Mutex((engine, 0))
    }

    /// The engine of the current connection, or nil while Kisi is not connected.
    public var engine: SyncEngine? { state.withLock { $0.engine } }

    public var generation: Int { state.withLock { $0.generation } }

    /// Both at once, so a caller never pairs an engine with a later generation.
    public var snapshot: (engine: SyncEngine?, generation: Int) { state.withLock { $0 } }

    public func replace(with engine: SyncEngine?) {
        state.withLock { $0 = (engine, $0.generation + 1) }
    }
}
