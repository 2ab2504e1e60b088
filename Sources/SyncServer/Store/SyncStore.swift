import SyncCore

/// The server's store of merged records, behind an interface so that a PostgreSQL store can follow
/// the embedded SQLite one. Every accepted change goes through SyncCore's merge.
protocol SyncStore: Sendable {
    /// Merges pushed changes, refusing those `sender` may not write or otherwise invalid one by one.
    func apply(_ changes: Changeset, from sender: Sender) throws -> ApplyReport
    /// Merges the pushes of several devices in one durable transaction.
    func apply(batch: [(Changeset, Sender)]) throws -> [ApplyReport]
    /// The changes after server sequence `cursor` under `scopes`, at most `maxChanges`, leaving out
    /// the sequence numbers in `skipping` (what the requesting device itself just pushed).
    func changes(since cursor: Int64, maxChanges: Int, scopes: [AreaPath], skipping: Set<Int64>) throws -> ChangeBatch
    /// The newest server sequence number.
    func sequence() throws -> Int64
    /// The site id the server's own writes (conflicts it notices) carry: no device may have it.
    var site: SiteID { get }
    /// The grids whose records reference photo `sha256`.
    func photoGrids(_ sha256: String) throws -> [String]
}

/// The embedded store: a SyncCore replica whose local versions are the server's sequence numbers.
struct ReplicaStore: SyncStore {
    let replica: Replica

    func apply(_ changes: Changeset, from sender: Sender) throws -> ApplyReport { try replica.apply(changes, from: sender) }

    func apply(batch: [(Changeset, Sender)]) throws -> [ApplyReport] { try replica.apply(batch: batch) }

    func changes(since cursor: Int64, maxChanges: Int, scopes: [AreaPath], skipping: Set<Int64>) throws -> ChangeBatch {
        try replica.changes(since: cursor, maxChanges: maxChanges, scopes: scopes, skipping: skipping)
    }

    func sequence() throws -> Int64 { try replica.localVersion() }

    var site: SiteID { replica.site }

    func photoGrids(_ sha256: String) throws -> [String] { try replica.gridsReferencing(photo: sha256) }
}
