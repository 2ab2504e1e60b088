import Dispatch
import Logging
import SyncCore
import SyncPostgres

/// The server's store of merged records: the embedded SQLite replica, or a PostgreSQL database
/// that several servers can share. Every accepted change goes through SyncCore's merge.
protocol SyncStore: Sendable {
    /// Merges a device's push durably, refusing what `sender` may not write or is otherwise
    /// invalid, one change at a time; writes `receipt` with it where the device directory lives in
    /// the same database.
    func apply(_ changes: Changeset, from sender: Sender, receipt: Receipt) async throws -> ApplyReport
    /// The changes after server sequence `cursor` under `scopes`, at most `maxChanges`, leaving out
    /// the sequence numbers in `skipping` (what the requesting device itself just pushed).
    func changes(since cursor: Int64, maxChanges: Int, scopes: [AreaPath], skipping: Set<Int64>) async throws -> ChangeBatch
    /// The newest server sequence number.
    func sequence() async throws -> Int64
    /// The site id the server's own writes (conflicts it notices) carry: no device may have it.
    var site: SiteID { get }
    /// The grids whose living records reference photo `sha256`.
    func photoGrids(_ sha256: String) async throws -> [String]
    /// Every photo hash referenced by a living record.
    func referencedPhotos() async throws -> [String]
    /// Whether `apply` writes the push's receipt itself (then the device directory need not).
    var writesReceipts: Bool { get }
    /// The named areas at or under `area` (all when nil), by path.
    func areas(under area: String?) async throws -> [AreaName]
    /// Whether `area` is named, has named areas below it, or holds living records.
    func knowsArea(_ area: String) async throws -> Bool
    /// Makes the area tree exactly `areas` (`Replica.importAreas`).
    func importAreas(_ areas: [AreaName]) async throws -> AreaImport
    /// Names one area.
    func putGrid(_ path: String, nameZh: String?, nameBo: String?) async throws
}

/// What a push earns its device: its receipt, and the time of its sync.
struct Receipt: Sendable {
    var device: String
    var acknowledged: Int64
    var nowMillis: Int64
}

/// The embedded store: a SyncCore replica whose local versions are the server's sequence numbers.
/// Pushes that arrive while it commits go in together with the next commit (`GroupCommitter`).
struct ReplicaStore: SyncStore {
    let replica: Replica
    let committer: GroupCommitter

    init(replica: Replica) {
        self.replica = replica
        // SQLite's work stays off the concurrency pool's few threads.
        self.committer = GroupCommitter { pushes in
            try await runBlocking { try replica.apply(batch: pushes.map { ($0.changes, $0.sender) }) }
        }
    }

    /// The receipt goes to the device registry's queue after the commit (`DeviceRegistry.recordSync`).
    func apply(_ changes: Changeset, from sender: Sender, receipt: Receipt) async throws -> ApplyReport {
        try await committer.apply(changes, from: sender)
    }

    func changes(since cursor: Int64, maxChanges: Int, scopes: [AreaPath], skipping: Set<Int64>) async throws -> ChangeBatch {
        let replica = replica
        return try await runBlocking { try replica.changes(since: cursor, maxChanges: maxChanges, scopes: scopes, skipping: skipping) }
    }

    func sequence() async throws -> Int64 { try replica.localVersion() }

    var site: SiteID { replica.site }

    func photoGrids(_ sha256: String) async throws -> [String] { try replica.gridsReferencing(photo: sha256) }

    func referencedPhotos() async throws -> [String] { try replica.referencedPhotos() }

    var writesReceipts: Bool { false }

    func areas(under area: String?) async throws -> [AreaName] { try replica.areas(under: area) }

    func knowsArea(_ area: String) async throws -> Bool { try replica.knowsArea(area) }

    func importAreas(_ areas: [AreaName]) async throws -> AreaImport { try replica.importAreas(areas) }

    func putGrid(_ path: String, nameZh: String?, nameBo: String?) async throws {
        try replica.putGrid(path, nameZh: nameZh, nameBo: nameBo)
    }
}

/// The PostgreSQL store: the pushes that arrive while a transaction commits go in together in the
/// next one (as on SQLite), with the receipts they earn; the database orders the transactions of
/// several servers, and numbers the change log in commit order.
struct PostgresSyncStore: SyncStore {
    let store: PostgresStore
    let committer: GroupCommitter

    init(store: PostgresStore) {
        self.store = store
        self.committer = GroupCommitter { pushes in
            try await store.apply(batch: pushes.map { ($0.changes, $0.sender) }) { connection in
                for receipt in pushes.compactMap(\.receipt) {
                    try await PostgresDeviceRegistry.recordSync(
                        receipt.device, acknowledged: receipt.acknowledged, nowMillis: receipt.nowMillis, on: connection,
                        client: store.client, logger: store.logger)
                }
            }
        }
    }

    func apply(_ changes: Changeset, from sender: Sender, receipt: Receipt) async throws -> ApplyReport {
        try await committer.apply(changes, from: sender, receipt: receipt)
    }

    func changes(since cursor: Int64, maxChanges: Int, scopes: [AreaPath], skipping: Set<Int64>) async throws -> ChangeBatch {
        try await store.changes(since: cursor, maxChanges: maxChanges, scopes: scopes, skipping: skipping)
    }

    func sequence() async throws -> Int64 { try await store.localVersion() }

    var site: SiteID { store.site }

    func photoGrids(_ sha256: String) async throws -> [String] { try await store.gridsReferencing(photo: sha256) }

    func referencedPhotos() async throws -> [String] { try await store.referencedPhotos() }

    var writesReceipts: Bool { true }

    func areas(under area: String?) async throws -> [AreaName] { try await store.areas(under: area) }

    func knowsArea(_ area: String) async throws -> Bool { try await store.knowsArea(area) }

    func importAreas(_ areas: [AreaName]) async throws -> AreaImport { try await store.importAreas(areas) }

    func putGrid(_ path: String, nameZh: String?, nameBo: String?) async throws {
        try await store.putGrid(path, nameZh: nameZh, nameBo: nameBo)
    }
}

extension DataFolder {
    /// The operator commands' logger: their output is their answer (an enrollment code, a
    /// listing), and what fails is thrown as one line.
    static var quietLogger: Logger {
        var logger = Logger(label: "gridsync-server")
        logger.logLevel = .critical
        return logger
    }

    /// Runs `body` with the store of records and the device directory `config` names: the data
    /// folder's SQLite files, or the PostgreSQL database (`init --store`).
    func withStores<T: Sendable>(
        _ config: ServerConfig, logger: Logger = DataFolder.quietLogger,
        syncRecordDelay: DispatchTimeInterval = .milliseconds(100),
        connections: Int = 4, _ body: @Sendable (any SyncStore, any DeviceDirectory) async throws -> T
    ) async throws -> T {
        if let database = config.database {
            let address = try PostgresAddress(database)
            return try await PostgresDatabase.withStore(
                address, newSite: .random(), maxDriftMillis: config.maxDriftMillis, connections: connections, logger: logger
            ) { store in
                let directory = try await PostgresDeviceRegistry.open(client: store.client, logger: logger)
                return try await body(PostgresSyncStore(store: store), directory)
            }
        }
        var storeConfig = Replica.Configuration()
        storeConfig.maxDriftMillis = config.maxDriftMillis
        let store = ReplicaStore(replica: try Replica(path: self.store.path, configuration: storeConfig))
        let registry = try DeviceRegistry(path: registry.path, syncRecordDelay: syncRecordDelay, logger: logger)
        return try await body(store, registry)
    }
}
