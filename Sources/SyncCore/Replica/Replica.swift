import Foundation
import GRDB
import GRDBSQLite

/// A device's local replica: one SQLite file holding its grid's records and the sync metadata that
/// lets it merge with any other replica.
///
/// Every write is one SQLite transaction in WAL mode with `synchronous=FULL`: when a call returns,
/// the change survives a crash or a power cut.
public final class Replica: Sendable {
    /// Settings of a replica.
    public struct Configuration: Sendable {
        /// The wall clock; tests inject a `ManualWallClock`.
        public var wallClock: any WallClock = SystemWallClock()
        /// How far a remote timestamp may be ahead of the wall clock before it is refused.
        public var maxDriftMillis: UInt64 = HybridLogicalClock.defaultMaxDriftMillis
        /// The site id to create a new replica with (random if nil); ignored for an existing file.
        public var newSiteID: SiteID? = nil
        /// Whether each commit waits for the disk (keep true outside throwaway test replicas).
        public var durable: Bool = true
        /// Whether households and issues are indexed by grid, for listing an area's records at
        /// once (a device's reads): households by an index holding every column a register shows
        /// (a township's 6,000 are then read from 1 MiB of index instead of 35 MiB of rows and
        /// clocks), issues by grid alone, and the events a report reads by two partial indexes
        /// holding the columns it reads (a county's report scanned 17 MiB of events twice; it
        /// reads 2 MiB so). Each merged row then pays one more index insert, so the sync
        /// server, which never lists them, leaves them out.
        public var gridIndexes: Bool = false
        /// How much of the file the connections that read map into memory (0: none). A device's
        /// commands are new processes with nothing cached: mapped, a county's register is read
        /// without copying every page through `read()` (a township's list 51 → 29 ms in SQLite).
        public var mappedReadBytes: Int64 = 0
        /// How much memory the writing connection may keep of the file's pages (nil: SQLite's
        /// 2 MiB). It grows only as pages are touched: a grid's replica never fills it. A county's
        /// pull into 100 MiB of replica reread its index pages through `read()` with the default
        /// (2.0 s of system time in a 10 s pull, 0.7 s with 64 MiB).
        public var writerCacheBytes: Int?

        /// The defaults: system clock, 5 minutes of drift, durable commits.
        public init() {}
    }

    /// A pool for a file (WAL: reads run beside the writer), a queue in memory.
    let database: any DatabaseWriter
    /// This replica's site id.
    public let site: SiteID
    /// The site ids it wrote under before (`Replica.adopt`); changes stamped with them are its own
    /// writes too, sent with the rest.
    public let formerSites: Set<SiteID>
    let configuration: Configuration

    /// The path of the SQLite file, or nil for an in-memory replica.
    public let path: String?

    /// Opens the replica at `path`, creating it (with a new site id) if the file does not exist.
    public init(path: String?, configuration: Configuration = Configuration()) throws(SyncCoreError) {
        var config = GRDB.Configuration()
        config.busyMode = .timeout(5)
        let durable = configuration.durable
        let mapped = configuration.mappedReadBytes
        let cached = configuration.writerCacheBytes
        config.prepareDatabase { db in
            if mapped > 0 && db.configuration.readonly { try db.execute(sql: "PRAGMA mmap_size = \(mapped)") }
            if let cached, !db.configuration.readonly { try db.execute(sql: "PRAGMA cache_size = -\(max(1, cached >> 10))") }
            try db.execute(sql: durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF")
            // SQLite's automatic checkpoint runs inside the commit that crosses its threshold. At
            // the default 1,000 pages one local write in ~100 paid for it (p99 3 ms instead of
            // 1.7); at 8,000 pages (32 MiB of WAL, days of field work) one in ~800 does. The WAL
            // is fsynced at every commit either way, so durability does not change.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 8000")
            // The last connection to close checkpoints the WAL; with a size limit set it then also
            // empties the file it keeps (below). Without one, the next process found the old
            // frames still valid, rebuilt its index from them and copied them into the database
            // again when it closed: after a county's pull every command read and rewrote 12 MiB
            // (30-40 ms each). The limit is the autocheckpoint's size, so a WAL restarted while
            // in use is not cut below what it grows back to.
            try db.execute(sql: "PRAGMA journal_size_limit = \(8000 * 4096)")
            // Keep the -wal file when the last connection closes: a command-line process that opens
            // the replica, writes once and exits would otherwise create, fsync and delete it every
            // time (a new file costs a directory fsync too).
            var persist: CInt = 1
            _ = sqlite3_file_control(db.sqliteConnection, nil, SQLITE_FCNTL_PERSIST_WAL, &persist)
        }
        self.configuration = configuration
        self.path = path
        do {
            let queue: any DatabaseWriter
            if let path {
                queue = try DatabasePool(path: path, configuration: config)
            } else {
                queue = try DatabaseQueue(configuration: config)
            }
            let migrator = ReplicaMigrations.migrator(site: configuration.newSiteID ?? .random())
            try migrator.migrate(queue)
            if configuration.gridIndexes {
                try queue.write { db in
                    try db.execute(
                        sql: """
                            CREATE INDEX IF NOT EXISTS households_register ON households(
                                grid, door_plate, id, head_name_zh, head_name_bo, members, phone, location, tags, notes, deleted);
                            DROP INDEX IF EXISTS households_grid;
                            CREATE INDEX IF NOT EXISTS issues_grid ON issues(grid);
                            CREATE INDEX IF NOT EXISTS issue_events_report ON issue_events(grid, issue_id, kind, at, satisfaction)
                                WHERE \(Self.reportedEventKinds);
                            CREATE INDEX IF NOT EXISTS issue_events_tiers ON issue_events(
                                at, id, issue_id, grid, kind, actor, note, tier, from_tier, satisfaction) WHERE \(Self.tierEventKinds);
                            """)
                }
            }
            let meta = try queue.read { db in try Row.fetchOne(db, sql: "SELECT site, former_sites FROM replica_meta WHERE id = 1") }
            guard let meta, let site = SiteID(hex: meta["site"] ?? "") else {
                throw SyncCoreError.damagedReplica("replica_meta has no valid site id")
            }
            let former = ((meta["former_sites"] as String?) ?? "").split(separator: " ").map { SiteID(hex: String($0)) }
            guard !former.contains(nil) else { throw SyncCoreError.damagedReplica("replica_meta has an invalid former site id") }
            self.database = queue
            self.site = site
            self.formerSites = Set(former.compactMap { $0 })
        } catch {
            throw Self.mapError(error, path: path)
        }
    }

    /// True for a change this replica wrote (under its site or a former one).
    public func isOwn(_ version: Version) -> Bool { version.site == site || formerSites.contains(version.site) }

    /// Gives the replica at `path` (closed) the site id `newSite` for everything it writes from
    /// now on, keeping its old one among its former sites. A device folder copied to a second
    /// handheld takes a new site there, so two handhelds never stamp writes with one site id.
    public static func adopt(path: String, newSite: SiteID) throws(SyncCoreError) {
        let replica = try Replica(path: path)
        guard newSite != replica.site, !replica.formerSites.contains(newSite) else {
            throw .invalidInput("site \(newSite) is already this replica's")
        }
        let former = (replica.formerSites.map(\.hex) + [replica.site.hex]).sorted().joined(separator: " ")
        do {
            try replica.database.write { db in
                try db.execute(sql: "UPDATE replica_meta SET site = ?, former_sites = ? WHERE id = 1", arguments: [newSite.hex, former])
            }
        } catch {
            throw mapError(error, path: path)
        }
    }

    /// Runs `body` in one write transaction with a context that stamps timestamps and local versions.
    func write<T>(_ body: (inout WriteContext) throws -> T) throws(SyncCoreError) -> T {
        do {
            return try database.write { db in
                var context = try WriteContext(db: db, site: site, configuration: configuration)
                let result = try body(&context)
                try context.finish()
                return result
            }
        } catch {
            throw Self.mapError(error, path: path)
        }
    }

    /// Runs `body` in a read transaction.
    func read<T>(_ body: (Database) throws -> T) throws(SyncCoreError) -> T {
        do {
            return try database.read(body)
        } catch {
            throw Self.mapError(error, path: path)
        }
    }

    /// Maps any error raised inside a transaction to a `SyncCoreError`.
    static func mapError(_ error: any Error, path: String?) -> SyncCoreError {
        if let e = error as? SyncCoreError { return e }
        if let e = error as? ClockError { return .clock(e) }
        if let e = error as? DatabaseError {
            switch e.resultCode {
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                return .damagedReplica("\(path ?? "in-memory database"): \(e.message ?? "corrupt")")
            default:
                return .database(e.description)
            }
        }
        return .database(String(describing: error))
    }

    /// Runs SQLite's full integrity check and returns its verdict ("ok" when sound).
    /// Moves what the write-ahead log holds into the database file and empties the log. A process
    /// that exits without closing the database leaves its log behind, and every process opening the
    /// file after it pays for reading it (a county pull leaves tens of megabytes).
    public func checkpoint() throws(SyncCoreError) {
        do {
            try database.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        } catch {
            throw Self.mapError(error, path: path)
        }
    }

    public func integrityCheck() throws(SyncCoreError) -> String {
        try read { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ")
        }
    }

    /// The current hybrid logical clock reading persisted in the replica.
    public func lastTimestamp() throws(SyncCoreError) -> HLCTimestamp {
        try read { db in
            HLCTimestamp(rawValue: UInt64(bitPattern: try Int64.fetchOne(db, sql: "SELECT hlc FROM replica_meta") ?? 0))
        }
    }

    /// The highest local version: the position of the newest entry in the local change log.
    public func localVersion() throws(SyncCoreError) -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT local_version FROM replica_meta") ?? 0 }
    }

    /// Learns the sync server's time (milliseconds since 1970, as the server reported it): from now
    /// on this replica reads its wall clock corrected by the difference, so a device whose clock is
    /// years back stamps sensible times and accepts the server's. Returns the offset in milliseconds.
    ///
    /// A device whose clock ran ahead has stamped writes in the future, which the server refuses.
    /// Its clock is brought back to the server's time and those writes are stamped again, now, so
    /// they go up with the next sync: they were never accepted anywhere, so nothing that was
    /// merged goes back in time.
    @discardableResult
    public func learnServerTime(_ serverMillis: UInt64) throws(SyncCoreError) -> Int64 {
        let offset = Int64(clamping: serverMillis) - Int64(clamping: configuration.wallClock.nowMillis())
        let bound = serverMillis + configuration.maxDriftMillis
        try write { context in
            try context.db.execute(sql: "UPDATE replica_meta SET clock_offset_millis = ?", arguments: [offset])
            context.clockOffsetMillis = offset
            if context.clock.last.millis > bound {
                context.resetClock(toMillis: serverMillis)
                try context.restampOwnWrites(after: bound)
            }
        }
        return offset
    }

    /// The offset from this device's wall clock to the server's, as last learned.
    public func clockOffsetMillis() throws(SyncCoreError) -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT clock_offset_millis FROM replica_meta") ?? 0 }
    }
}
