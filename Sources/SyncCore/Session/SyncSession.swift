import Foundation

/// The device side of one sync with the server, with no I/O: it builds each request from the
/// replica and takes in each response. A transport sends the bytes and repeats on failure; because
/// merges are idempotent and cursors only move forward, a lost or repeated exchange is harmless.
public struct SyncSession: Sendable {
    /// The replica being synced.
    public let replica: Replica
    /// The peer's name under which cursors are kept (the server's URL).
    public let peer: String
    /// At most this many changes pushed per request.
    public var maxPushChanges: Int
    /// At most this many changes asked for per response.
    public var maxPullChanges: Int

    /// How far this session has found nothing of the device's own to push: local versions only
    /// grow, so a later write of its own lies past this mark and rows below it need no second look.
    private let scanned = ScanMark()

    /// A session of `replica` with `peer`.
    /// Pushes go in batches of up to 10,000 changes (~50 KB in changeset format 2, for a county's
    /// issues): fewer round trips on links of 1 s and more, and a compression window over more rows.
    public init(replica: Replica, peer: String, maxPushChanges: Int = 10_000, maxPullChanges: Int = 5000) {
        self.replica = replica
        self.peer = peer
        self.maxPushChanges = maxPushChanges
        self.maxPullChanges = maxPullChanges
    }

    /// The next request: changes not yet acknowledged (one bounded batch) and the pull cursor.
    public func nextRequest() throws(SyncCoreError) -> SyncRequest {
        let cursor = try replica.peerCursor(peer)
        // Only this device's own writes go up: everything else it holds came from the server. Batches
        // with none of its own (rows it pulled) are skipped here, so a device that pulled a county
        // does not spend round trips walking its receipt past them.
        var since = max(cursor.acknowledged, scanned.value)
        // Rows pulled from the server hold none of its writes: go straight to the first that does
        // (reading clocks only), or past everything when there is none.
        let writes = try replica.ownWrites(after: since)
        since = max(since, writes.rows.first.map { $0.firstLocalVersion - 1 } ?? writes.through)
        scanned.value = max(scanned.value, since)
        var own: [RowChanges] = []
        while true {
            let batch = try replica.changes(since: since, maxChanges: maxPushChanges)
            own = batch.changeset.rows.compactMap { row -> RowChanges? in
                let mine = row.changes.filter { replica.isOwn($0.version) }
                return mine.isEmpty ? nil : RowChanges(table: row.table, rowID: row.rowID, grid: row.grid, changes: mine)
            }
            let moved = batch.cursor > since
            if own.isEmpty { scanned.value = max(scanned.value, batch.cursor) }
            since = max(since, batch.cursor)
            scanned.pushCut = !own.isEmpty && batch.hasMore
            if !own.isEmpty || !batch.hasMore || !moved { break }
        }
        scanned.pushThrough = since
        // In the order changeset format 2 sends rows, which the server's rejections count in.
        let changes = ChangesetEncoding.canonical(Changeset(rows: own))
        scanned.pushed = changes
        return SyncRequest(pullCursor: cursor.pulled, pushThrough: since, maxPullChanges: maxPullChanges, changes: changes)
    }

    /// True when the next request must ask for this replica's own writes too (header
    /// `GridSync-Pull: own`, protocol.md §4.3): it was restored from an older copy.
    public func pullsOwnWrites() throws(SyncCoreError) -> Bool { try replica.peerCursor(peer).pullOwn }

    /// What one exchange achieved.
    public struct Outcome: Sendable {
        /// Pushed changes the server refused.
        public var rejections: [SyncRejection]
        /// What merging the pulled changes did here.
        public var applied: ApplyReport
        /// True when another exchange is needed: more to push or more to pull.
        public var needsAnotherRound: Bool
        /// True when the server had acknowledged more of this site than this replica holds: it was
        /// restored from an older copy (or copied). Its own receipt then only counts what it sent.
        public var restoredFromACopy: Bool = false
        /// Changes the server refused as stamped too far ahead (this device's clock ran ahead),
        /// restamped with the server's time and sent again in the next round: not refusals.
        public var restampedAfterClockSkew = 0
        /// True when the server's store was restored from a backup: this exchange started the
        /// sync over from the beginning.
        public var serverRestored: Bool = false
    }

    /// Takes in the server's response to the last request: learns the server's time, merges what was
    /// pulled, and records the receipt and the cursor.
    /// `restoredHint`: the server said this replica reuses local versions it had acknowledged
    /// (`GridSync-Replica: restored`).
    public func handle(
        _ response: SyncResponse, wallMillis: UInt64, storeEpoch: String? = nil, restoredHint: Bool = false
    ) throws(SyncCoreError) -> Outcome {
        let before = try replica.peerCursor(peer)
        if let storeEpoch, let known = before.storeEpoch, storeEpoch != known {
            // The server's store was restored from a backup: its cursor and receipt belong to
            // another life of it. Start over: send everything of ours, pull everything again.
            _ = try replica.learnServerTime(response.serverTimeMillis)
            try replica.restartPeer(peer, storeEpoch: storeEpoch)
            scanned.value = 0
            return Outcome(rejections: [], applied: ApplyReport(), needsAnotherRound: true, serverRestored: true)
        }
        let offset = try replica.learnServerTime(response.serverTimeMillis)
        // What this replica refuses is quarantined, not dropped: the cursor then moves on safely.
        let report = try replica.applyFromServer(response.changes)
        // The receipt this replica keeps is what it sent and the server answered for: at most the
        // request's push-through. A replica restored from an older copy reuses local versions the
        // server acknowledged before; taking the server's higher receipt would skip its new writes.
        let restored = response.receipt > (try replica.localVersion()) || restoredHint
        try replica.recordPeerCursor(
            PeerCursor(
                peer: peer, acknowledged: min(response.receipt, scanned.pushThrough), pulled: response.cursor,
                lastSyncMillis: wallMillis, clockOffsetMillis: offset, storeEpoch: storeEpoch))
        var pullAgain = false
        if restored && abs(before.ownPullMark) != response.receipt {
            // It lacks what it wrote and synced after its copy was taken: pull everything again,
            // its own writes included (`pullsOwnWrites`).
            try replica.startPullingOwn(peer, receipt: response.receipt)
            pullAgain = true
        } else if before.pullOwn && !response.hasMore {
            try replica.finishPullingOwn(peer)
        }
        // Another round when the server has more, when the push was cut by its batch size and the
        // server acknowledged it (a receipt that does not move would only repeat the push), or when
        // merging wrote conflicts.
        let pushCut = scanned.pushCut && response.receipt > before.acknowledged
        // Writes the server refused as stamped too far ahead were restamped when its time was
        // learned above: they are new writes now, sent again in this same sync.
        // Only a refused change whose column now holds a newer write of this replica (past what
        // was pushed) was restamped; any other clock-skew refusal stays a refusal.
        let pushed = scanned.pushed
        var rejections: [SyncRejection] = []
        var restamped = 0
        for rejection in response.rejections {
            if rejection.code == "clock_skew", rejection.row < pushed.rows.count,
                rejection.change < pushed.rows[rejection.row].changes.count
            {
                let row = pushed.rows[rejection.row]
                if try replica.hasOwnWrite(
                    table: row.table, rowID: row.rowID, column: row.changes[rejection.change].column, after: scanned.pushThrough)
                {
                    restamped += 1
                    continue
                }
            }
            rejections.append(rejection)
        }
        // Conflicts noticed while merging are new records of this replica: send them in this sync,
        // so that a sync ends with nothing of its own waiting.
        return Outcome(
            rejections: rejections, applied: report,
            needsAnotherRound: response.hasMore || pushCut || report.conflictsFound > 0 || pullAgain || restamped > 0,
            restoredFromACopy: restored, restampedAfterClockSkew: restamped)
    }
}

/// A local version remembered across the requests of one session.
final class ScanMark: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Int64 = 0
    private var cut = false
    private var through: Int64 = 0

    var value: Int64 {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }

    /// The push-through of the last request built: the most a receipt of its answer may cover.
    var pushThrough: Int64 {
        get { lock.withLock { through } }
        set { lock.withLock { through = newValue } }
    }

    /// True when the last request's push stopped at its batch size with more of the device's own to send.
    var pushCut: Bool {
        get { lock.withLock { cut } }
        set { lock.withLock { cut = newValue } }
    }

    private var lastPush = Changeset(rows: [])
    /// What the last request built pushed (rejections name its rows and changes by position).
    var pushed: Changeset {
        get { lock.withLock { lastPush } }
        set { lock.withLock { lastPush = newValue } }
    }
}
