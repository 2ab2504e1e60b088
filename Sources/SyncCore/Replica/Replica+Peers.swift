import GRDB

/// What a replica remembers of one peer it syncs with (for a device: the server).
public struct PeerCursor: Codable, Equatable, Sendable {
    /// The peer's name (e.g. the server's URL).
    public var peer: String
    /// The receipt: the highest local version of this replica the peer has durably stored.
    public var acknowledged: Int64
    /// The peer's cursor after the last pull: what to ask for next.
    public var pulled: Int64
    /// When the last sync with the peer completed (wall-clock milliseconds), if ever.
    public var lastSyncMillis: UInt64?
    /// The peer's clock minus this replica's wall clock at the last sync, in milliseconds.
    public var clockOffsetMillis: Int64?
    /// The epoch of the peer's store at the last sync (a server restored from a backup has a new one).
    public var storeEpoch: String? = nil
    /// The server's receipt at which this replica found itself restored from an older copy and
    /// began to pull everything again, its own writes included (pulls otherwise leave them out: it
    /// has them, unless it lost them); negative once that pull reached the end, 0 if never.
    public var ownPullMark: Int64 = 0

    /// True while that pull goes on.
    public var pullOwn: Bool { ownPullMark > 0 }
}

extension Replica {
    /// The cursor kept for `peer` (zeros for a peer never synced with).
    public func peerCursor(_ peer: String) throws(SyncCoreError) -> PeerCursor {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM peer_cursors WHERE peer = ?", arguments: [peer]) else {
                return PeerCursor(peer: peer, acknowledged: 0, pulled: 0, lastSyncMillis: nil, clockOffsetMillis: nil)
            }
            return PeerCursor(
                peer: peer, acknowledged: row["acknowledged"], pulled: row["pulled"],
                lastSyncMillis: (row["last_sync_millis"] as Int64?).map { UInt64(max(0, $0)) },
                clockOffsetMillis: row["clock_offset_millis"], storeEpoch: row["store_epoch"], ownPullMark: row["pull_own"])
        }
    }

    /// Records progress with `peer`; cursors only move forward, so a late or repeated response
    /// cannot make the replica send or fetch less than it must.
    public func recordPeerCursor(_ cursor: PeerCursor) throws(SyncCoreError) {
        try write { context in
            try context.db.execute(
                sql: """
                    INSERT INTO peer_cursors (peer, acknowledged, pulled, last_sync_millis, clock_offset_millis, store_epoch)
                    VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(peer) DO UPDATE SET
                        acknowledged = max(acknowledged, excluded.acknowledged),
                        pulled = max(pulled, excluded.pulled),
                        last_sync_millis = IFNULL(excluded.last_sync_millis, last_sync_millis),
                        clock_offset_millis = IFNULL(excluded.clock_offset_millis, clock_offset_millis),
                        store_epoch = IFNULL(excluded.store_epoch, store_epoch)
                    """,
                arguments: [
                    cursor.peer, cursor.acknowledged, cursor.pulled, cursor.lastSyncMillis.map { Int64(clamping: $0) },
                    cursor.clockOffsetMillis, cursor.storeEpoch,
                ])
        }
    }

    /// Pulls everything from `peer` again, this replica's own writes included (`pullOwn` until
    /// a pull reaches the end): restored from an older copy, it lacks what it wrote and synced after
    /// the copy was taken.
    /// `receipt` is the server's receipt that showed it.
    public func startPullingOwn(_ peer: String, receipt: Int64) throws(SyncCoreError) {
        try write { context in
            try context.db.execute(
                sql: "UPDATE peer_cursors SET pulled = 0, pull_own = ? WHERE peer = ?", arguments: [max(1, receipt), peer])
        }
    }

    /// Ends the pull `startPullingOwn` began.
    public func finishPullingOwn(_ peer: String) throws(SyncCoreError) {
        try write { context in
            try context.db.execute(sql: "UPDATE peer_cursors SET pull_own = -pull_own WHERE peer = ? AND pull_own > 0", arguments: [peer])
        }
    }

    /// Starts over with `peer`, whose store is now `epoch` (restored from a backup): nothing of this
    /// replica counts as received there, and everything there is to be pulled again. Both sides'
    /// merges are idempotent, so sending and receiving again loses and duplicates nothing.
    public func restartPeer(_ peer: String, storeEpoch epoch: String?) throws(SyncCoreError) {
        try write { context in
            try context.db.execute(
                sql: "UPDATE peer_cursors SET acknowledged = 0, pulled = 0, store_epoch = ? WHERE peer = ?", arguments: [epoch, peer])
        }
    }

    /// How many rows changed here after local version `acknowledged` (what still waits for a receipt).
    public func pendingRowCount(after acknowledged: Int64) throws(SyncCoreError) -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM change_log WHERE lv > ?", arguments: [acknowledged]) ?? 0 }
    }

    /// This replica's own writes held past local version `after` (what the server has not
    /// acknowledged yet), one entry per row with how many of its columns they are, in local-version
    /// order. Reads only the clocks of the rows changed since then, through each table's local-version
    /// index: a county device that pulled half a million changes answers in a fraction of a second.
    public func ownWrites(after: Int64) throws(SyncCoreError) -> OwnWrites {
        try read { db in
            let through = try Self.newestLocalVersion(db)
            var found: [OwnWrite] = []
            for table in Schema.all {
                let rows = try Row.fetchCursor(
                    db.cachedStatement(sql: "SELECT id, _clock FROM \(table.name) WHERE _lv > ?"), arguments: [after])
                while let row = try rows.next() {
                    let clocks = try ColumnClocks(row, at: 1, count: table.columns.count)
                    var count = 0
                    var first = Int64.max
                    for clock in clocks.entries where clock.localVersion > after {
                        guard let version = clock.version, isOwn(version) else { continue }
                        count += 1
                        first = min(first, clock.localVersion)
                    }
                    if count > 0 { found.append(OwnWrite(table: table.name, rowID: row[0], columns: count, firstLocalVersion: first)) }
                }
            }
            return OwnWrites(rows: found.sorted { $0.firstLocalVersion < $1.firstLocalVersion }, through: through)
        }
    }

    /// How many of this replica's own column changes after local version `acknowledged` still wait
    /// for a receipt (changes pulled from the peer are not counted: they are never pushed back).
    public func pendingOwnChanges(after acknowledged: Int64) throws(SyncCoreError) -> Int {
        try ownWrites(after: acknowledged).rows.reduce(0) { $0 + $1.columns }
    }
}

/// This replica's writes past a local version, read in one snapshot.
public struct OwnWrites: Sendable, Equatable {
    public var rows: [OwnWrite]
    /// The replica's local version in that snapshot: no write of its own up to here is left out.
    public var through: Int64
}

/// A row with writes of this replica that the server has not acknowledged.
public struct OwnWrite: Sendable, Equatable {
    public var table: String
    public var rowID: String
    /// How many of its columns hold this replica's unacknowledged writes.
    public var columns: Int
    /// The lowest local version among them.
    public var firstLocalVersion: Int64
}

extension Replica {
    /// The people seen writing here, by site id (hex): the actor of each event, whose one version
    /// names the site that wrote it. A conflict names the site whose value lost; this gives the
    /// person once one of their events has reached this replica.
    public func writerNames() throws(SyncCoreError) -> [String: String] {
        try read { db in
            var names: [String: String] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT actor, _clock FROM issue_events WHERE actor IS NOT NULL")
            while let row = try rows.next() {
                let clocks = try ColumnClocks(row, at: 1, count: Schema.issueEvents.columns.count)
                if let site = clocks.entries.lazy.compactMap(\.version).first?.site { names[site.hex] = row[0] }
            }
            return names
        }
    }
}

extension Replica {
    /// True when column `column` of row `rowID` of `table` holds a write of this replica made
    /// after local version `after` (a write restamped after the server refused it, say).
    public func hasOwnWrite(table: String, rowID: String, column: String, after: Int64) throws(SyncCoreError) -> Bool {
        guard let synced = Schema.table(named: table), let i = synced.index(of: column) else { return false }
        return try read { db in
            guard let row = try Self.loadRow(db, synced, id: rowID) else { return false }
            let clock = row.clocks.entries[i]
            return clock.localVersion > after && clock.version.map(isOwn) == true
        }
    }
}
