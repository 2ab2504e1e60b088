import SyncCore
import SyncPostgres

/// The server's store of merged records: the embedded SQLite replica, or a PostgreSQL database
/// that several servers can share. Every accepted change goes through SyncCore's merge.
protocol SyncStore: Sendable {
    /// Merges a device's push durably, refusing what `sender` may not write or is otherwise
    /// invalid, one change at a time.
    func apply(_ changes: Changeset, from sender: Sender) async throws -> ApplyReport
    /// The changes after server sequence `cursor` under `scopes`, at most `maxChanges`, leaving out
    /// the sequence numbers in `skipping` (what the requesting device itself just pushed).
    func changes(since cursor: Int64, maxChanges: Int, scopes: [AreaPath], skipping: Set<Int64>) async throws -> ChangeBatch
    /// The newest server sequence number.
    func sequence() async throws -> Int64
    /// The site id the server's own writes (conflicts it notices) carry: no device may have it.
    var site: SiteID { get }
    /// The grids whose living records reference photo `sha256`.
    func photoGrids(_ sha256: String) async throws -> [String]
}

/// The embedded store: a SyncCore replica whose local versions are the server's sequence numbers.
/// Pushes that arrive while it commits go in together with the next commit (`GroupCommitter`).
struct ReplicaStore: SyncStore {
    let replica: Replica
    let committer: GroupCommitter

    init(replica: Replica) {
        self.replica = replica
        self.committer = GroupCommitter { batch in try replica.apply(batch: batch) }
    }

    func apply(_ changes: Changeset, from sender: Sender) async throws -> ApplyReport {
        try await committer.apply(changes, from: sender)
    }

    func changes(since cursor: Int64, maxChanges: Int, scopes: [AreaPath], skipping: Set<Int64>) async throws -> ChangeBatch {
        let replica = replica
        return try await runBlocking { try replica.changes(since: cursor, maxChanges: maxChanges, scopes: scopes, skipping: skipping) }
    }

    func sequence() async throws -> Int64 { try replica.localVersion() }

    var site: SiteID { replica.site }

    func photoGrids(_ sha256: String) async throws -> [String] { try replica.gridsReferencing(photo: sha256) }
}

/// The PostgreSQL store: each push is its own transaction (the database orders concurrent ones,
/// from this server or another), its change log numbered in commit order.
struct PostgresSyncStore: SyncStore {
    let store: PostgresStore

    func apply(_ changes: Changeset, from sender: Sender) async throws -> ApplyReport {
        try await store.apply(batch: [(changes, sender)])[0]
    }

    func changes(since cursor: Int64, maxChanges: Int, scopes: [AreaPath], skipping: Set<Int64>) async throws -> ChangeBatch {
        try await store.changes(since: cursor, maxChanges: maxChanges, scopes: scopes, skipping: skipping)
    }

    func sequence() async throws -> Int64 { try await store.localVersion() }

    var site: SiteID { store.site }

    func photoGrids(_ sha256: String) async throws -> [String] { try await store.gridsReferencing(photo: sha256) }
}
