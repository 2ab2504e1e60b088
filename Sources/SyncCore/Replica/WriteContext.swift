import GRDB

/// The state one write transaction works with: the clock, the next local version and the database.
/// Loaded from `replica_meta` when the transaction starts and stored back when it ends, so a rolled
/// back transaction leaves no trace.
struct WriteContext: MergeContext {
    let db: Database
    let site: SiteID
    let wallClock: any WallClock
    /// Milliseconds to add to the wall clock, learned from the sync server (see `learnServerTime`).
    var clockOffsetMillis: Int64
    var clock: HybridLogicalClock
    private(set) var localVersion: Int64
    var transactionTimestamp: HLCTimestamp?
    /// Issues whose events or initial tier changed in this transaction; their status is rederived.
    var touchedIssues: Set<String> = []
    /// Issues created by this transaction's merges: rederived only if events for them exist.
    var newIssues: Set<String> = []

    init(db: Database, site: SiteID, configuration: Replica.Configuration) throws {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT hlc, local_version, clock_offset_millis FROM replica_meta WHERE id = 1"))
        else {
            throw SyncCoreError.damagedReplica("replica_meta row missing")
        }
        self.db = db
        self.site = site
        self.wallClock = configuration.wallClock
        self.clock = HybridLogicalClock(
            last: HLCTimestamp(rawValue: UInt64(bitPattern: row[0] as Int64)),
            maxDriftMillis: configuration.maxDriftMillis)
        self.localVersion = row[1]
        self.clockOffsetMillis = row[2]
    }

    /// The wall clock corrected by the offset learned from the server.
    var wallMillis: UInt64 {
        let raw = Int64(clamping: wallClock.nowMillis())
        return UInt64(max(0, raw &+ clockOffsetMillis))
    }

    /// The next local version: one per row written, so the change log can be cut between any rows.
    mutating func nextLocalVersion() -> Int64 {
        localVersion += 1
        return localVersion
    }

    /// Moves the clock back to `millis` (only for a clock found ahead of the server's, whose future
    /// stamps were never accepted).
    mutating func resetClock(toMillis millis: UInt64) {
        clock = HybridLogicalClock(last: HLCTimestamp(millis: millis, counter: 0), maxDriftMillis: clock.maxDriftMillis)
        transactionTimestamp = nil
    }

    /// Stamps again every value this replica wrote with a timestamp later than `bound` (and an
    /// event's `at`, and a base naming such a write), so they sync as fresh changes. Each distinct
    /// old timestamp gets its own new one, in the same order: writes keep their order, so an issue
    /// resolved and then reopened stays reopened.
    mutating func restampOwnWrites(after bound: UInt64) throws {
        func isStale(_ version: Version?) -> Bool {
            guard let version else { return false }
            return version.site == site && version.timestamp.millis > bound
        }
        var rows: [(table: SyncedTable, id: String, row: StoredRow)] = []
        var stale: Set<UInt64> = []
        for table in Schema.all {
            for id in try String.fetchAll(db, sql: "SELECT id FROM \(table.name)") {
                guard let row = try loadRow(table, id: id) else { continue }
                var touched = false
                for (i, clock) in row.clocks.entries.enumerated() {
                    if let base = clock.base, isStale(base) { stale.insert(base.timestamp.rawValue) }
                    guard let version = clock.version, isStale(version) else { continue }
                    stale.insert(version.timestamp.rawValue)
                    if table.columns[i] == "at", let at = row.values[i].integer, UInt64(bitPattern: at) >> HLCTimestamp.counterBits > bound
                    {
                        stale.insert(UInt64(bitPattern: at))
                    }
                    touched = true
                }
                if touched { rows.append((table, id, row)) }
            }
        }
        var fresh: [UInt64: HLCTimestamp] = [:]
        for old in stale.sorted() { fresh[old] = try clock.now(wallMillis: wallMillis) }
        transactionTimestamp = nil  // later local writes of this transaction stamp after all of these
        func renewed(_ version: Version?) -> Version? {
            guard isStale(version), let version, let new = fresh[version.timestamp.rawValue] else { return version }
            return Version(timestamp: new, site: site)
        }
        for (table, id, previous) in rows {
            var row = previous
            let lv = nextLocalVersion()
            for i in row.clocks.entries.indices {
                row.clocks.entries[i].base = renewed(row.clocks.entries[i].base)
                guard isStale(row.clocks.entries[i].version) else { continue }
                row.clocks.entries[i].version = renewed(row.clocks.entries[i].version)
                row.clocks.entries[i].localVersion = lv
                if table.columns[i] == "at", let at = row.values[i].integer, let new = fresh[UInt64(bitPattern: at)] {
                    row.values[i] = .integer(Int64(bitPattern: new.rawValue))
                }
            }
            try storeRow(table, id: id, row: row, localVersion: lv, previous: previous)
            if table.name == Schema.issueEvents.name, let issue = row.values[table.index(of: "issue_id")!].text {
                touchedIssues.insert(issue)
            }
        }
        try rederiveTouchedIssues()
    }

    func finish() throws {
        try db.cachedStatement(sql: "UPDATE replica_meta SET hlc = ?, local_version = ? WHERE id = 1")
            .execute(arguments: [Int64(bitPattern: clock.last.rawValue), localVersion])
    }
}
