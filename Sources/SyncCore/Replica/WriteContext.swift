import GRDB

/// The state one write transaction works with: the clock, the next local version and the database.
/// Loaded from `replica_meta` when the transaction starts and stored back when it ends, so a rolled
/// back transaction leaves no trace.
struct WriteContext {
    let db: Database
    let site: SiteID
    let wallClock: any WallClock
    /// Milliseconds to add to the wall clock, learned from the sync server (see `learnServerTime`).
    let clockOffsetMillis: Int64
    private(set) var clock: HybridLogicalClock
    private(set) var localVersion: Int64
    private var transactionTimestamp: HLCTimestamp?
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

    /// The version stamping every local change of this transaction (one timestamp per transaction).
    mutating func localStamp() throws -> Version {
        if let t = transactionTimestamp { return Version(timestamp: t, site: site) }
        let t = try clock.now(wallMillis: wallMillis)
        transactionTimestamp = t
        return Version(timestamp: t, site: site)
    }

    /// Takes in a remote timestamp, refusing it when too far ahead of the wall clock.
    mutating func receive(_ remote: HLCTimestamp) throws(ClockError) {
        try clock.receive(remote, wallMillis: wallMillis)
    }

    /// The next local version: one per row written, so the change log can be cut between any rows.
    mutating func nextLocalVersion() -> Int64 {
        localVersion += 1
        return localVersion
    }

    func finish() throws {
        try db.cachedStatement(sql: "UPDATE replica_meta SET hlc = ?, local_version = ? WHERE id = 1")
            .execute(arguments: [Int64(bitPattern: clock.last.rawValue), localVersion])
    }
}
