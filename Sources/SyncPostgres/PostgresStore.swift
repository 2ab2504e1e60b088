import Foundation
import Logging
import PostgresNIO
import SyncCore

/// The sync server's data in PostgreSQL, for several servers sharing one database.
///
/// The merge is the one every replica runs (`LoadedRows`): a push's transaction locks the keys of
/// the rows the push names, loads them (and whatever the merge asks for besides), merges in memory
/// and writes the result. Its local versions are numbered in commit order: the transaction takes
/// them from the one-row counter `gridsync_meta.last_lv` when it writes, and holds that row's lock
/// until it commits, so a transaction with lower numbers has always committed before one with
/// higher numbers can take its own. A pull of "every change after N" therefore never passes over
/// a change that commits later (docs/SCALE-OUT.md).
public final class PostgresStore: Sendable {
    package let client: PostgresPrimary
    package let logger: Logger
    /// The site stamping what the server itself writes (the conflicts it records).
    public let site: SiteID
    let wallClock: any WallClock
    let maxDriftMillis: UInt64
    /// Log entries whose rows a pull reads first; then twice as many each time its batch needs
    /// more (tests make it small, to go through every step).
    let firstRowSlice: Int

    /// A store on `client` (which the caller runs), created with `PostgresStore.open` before.
    public init(
        client: PostgresPrimary, site: SiteID, wallClock: any WallClock = SystemWallClock(),
        maxDriftMillis: UInt64 = HybridLogicalClock.defaultMaxDriftMillis, logger: Logger = Logger(label: "gridsync.postgres"),
        firstRowSlice: Int = 512
    ) {
        self.client = client
        self.site = site
        self.wallClock = wallClock
        self.maxDriftMillis = maxDriftMillis
        self.logger = logger
        self.firstRowSlice = max(1, firstRowSlice)
    }

    /// Opens the store in the database `client` reaches, creating its tables on first use (with
    /// `newSite` as the server's site); the site it was created with wins over `newSite`.
    public static func open(
        client: PostgresPrimary, newSite: SiteID, wallClock: any WallClock = SystemWallClock(),
        maxDriftMillis: UInt64 = HybridLogicalClock.defaultMaxDriftMillis, logger: Logger = Logger(label: "gridsync.postgres")
    ) async throws -> PostgresStore {
        try await client.transaction(logger: logger) { connection in
            // One creator at a time: servers starting together on an empty database.
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.creationLock))", logger: logger)
            for statement in PostgresSchema.statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.query(
                "INSERT INTO gridsync_meta (id, site, hlc, last_lv) VALUES (1, \(Int64(bitPattern: newSite.rawValue)), 0, 0) ON CONFLICT (id) DO NOTHING",
                logger: logger)
        }
        let rows = try await client.query("SELECT site FROM gridsync_meta WHERE id = 1", logger: logger)
        var site = newSite
        for try await stored in rows.decode(Int64.self) { site = SiteID(rawValue: UInt64(bitPattern: stored)) }
        return PostgresStore(client: client, site: site, wallClock: wallClock, maxDriftMillis: maxDriftMillis, logger: logger)
    }

    // MARK: Merging

    /// Merges several pushes, each with its sender, in one transaction (see `Replica.apply(batch:)`).
    /// A transaction that loses a deadlock or a race to create the same kept row is run again.
    public func apply(batch: [(Changeset, Sender)]) async throws -> [ApplyReport] {
        try await apply(batch: batch, beforeCommit: nil)
    }

    /// `apply(batch:)`, running `beforeCommit` on the transaction's connection after the merge's
    /// writes and before the commit: a server writes the receipts the push earns there, so that a
    /// receipt never names a change that did not commit (tests also hold the transaction open there).
    public func apply(
        batch: [(Changeset, Sender)], beforeCommit: (@Sendable (PostgresConnection) async throws -> Void)?
    ) async throws -> [ApplyReport] {
        try await transaction { connection in
            let reports = try await self.apply(batch, on: connection)
            try await beforeCommit?(connection)
            return reports
        }
    }

    /// Runs `body` in a transaction, again when it loses a deadlock or a race to create the same
    /// kept row (nothing of a lost attempt stays).
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await client.transaction(logger: logger) { connection in try await body(connection) }
            } catch let error as PSQLError where attempt < 8 && Self.isRetryable(error) {
                logger.debug("transaction retried", metadata: ["sqlstate": "\(error.serverInfo?[.sqlState] ?? "")"])
                continue
            }
        }
    }

    /// SQLSTATEs after which the same transaction may simply run again.
    static func isRetryable(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return ["40P01", "40001", "23505"].contains(state)
    }

    /// An empty context for a transaction's merge or local writes, its clock where the store's is.
    private func context(on connection: PostgresConnection) async throws -> LoadedRows {
        var hlc: Int64 = 0
        for try await value in try await connection.query("SELECT hlc FROM gridsync_meta WHERE id = 1", logger: logger).decode(Int64.self) {
            hlc = value
        }
        return LoadedRows(
            site: site, clock: HybridLogicalClock(last: HLCTimestamp(rawValue: UInt64(bitPattern: hlc)), maxDriftMillis: maxDriftMillis),
            wallClock: wallClock)
    }

    private func apply(_ batch: [(Changeset, Sender)], on connection: PostgresConnection) async throws -> [ApplyReport] {
        var wants = RowWants(for: batch)
        var locked: Set<Int64> = []
        // The clock is read once the rows are locked: a write another transaction committed to
        // them is then behind it, and this one's own stamps come after.
        try await lock(wants, locked: &locked, on: connection)
        var loaded = try await context(on: connection)
        while true {
            try await lock(wants, locked: &locked, on: connection)
            try await load(wants, into: &loaded, on: connection)
            let (merged, reports) = try loaded.merged(batch)
            if !merged.missed.isEmpty {
                wants = merged.missed
                continue
            }
            let base = try await write(merged, on: connection)
            return reports.map { report in
                var report = report
                report.storedVersions = report.storedVersions.map { $0 < 0 ? base - $0 : $0 }
                return report
            }
        }
    }

    /// Takes the transaction's locks on the keys `wants` names (rows, and the issue of every event
    /// log it reads), in order, so that two pushes to the same row or issue merge one after the
    /// other; a key not yet in the database is locked as well.
    private func lock(_ wants: RowWants, locked: inout Set<Int64>, on connection: PostgresConnection) async throws {
        var keys = Set(wants.rows.map { PostgresSchema.lockKey(table: $0.table, id: $0.id) })
        for issue in wants.eventsOf { keys.insert(PostgresSchema.lockKey(table: Schema.issues.number, id: issue.string)) }
        for blob in wants.kept { keys.insert(PostgresSchema.lockKey(table: Schema.keptNumber, id: PostgresSchema.hex(blob.prefix(64)))) }
        let new = keys.subtracting(locked).sorted()
        guard !new.isEmpty else { return }
        try await connection.query("SELECT pg_advisory_xact_lock(k) FROM unnest(\(new)::bigint[]) AS k ORDER BY k", logger: logger)
        locked.formUnion(new)
    }

    /// Loads what `wants` names into `loaded`.
    private func load(_ wants: RowWants, into loaded: inout LoadedRows, on connection: PostgresConnection) async throws {
        var byTable: [Int: [String]] = [:]
        for key in wants.rows { byTable[key.table, default: []].append(key.id) }
        for (number, ids) in byTable {
            guard number >= 0 && number < Schema.all.count else { continue }
            let table = Schema.all[number]
            let found = try await rows(of: table, where: "id = ANY($1)", ids, on: connection)
            for id in ids { loaded.load(LoadedRows.Key(table: number, id: id), found[ExactString(id)]) }
        }
        if !wants.eventsOf.isEmpty {
            let issues = wants.eventsOf.map(\.string)
            let events = try await rows(of: Schema.issueEvents, where: "issue_id = ANY($1)", issues, on: connection)
            for (id, row) in events { loaded.load(LoadedRows.Key(table: Schema.issueEvents.number, id: id.string), row) }
            for issue in issues { loaded.loadedAllEvents(of: issue) }
        }
        for blob in wants.kept {
            var binds = PostgresBindings()
            try binds.append(Data(blob))
            let result = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT 1 FROM kept WHERE sha256(changeset) = sha256($1) AND changeset = $1", binds: binds),
                logger: logger)
            var exists = false
            for try await _ in result { exists = true }
            loaded.loadKept(blob, exists: exists)
        }
    }

    /// The rows of `table` matching `condition` (whose one parameter is the text array `values`), by id.
    func rows(of table: SyncedTable, where condition: String, _ values: [String], on connection: PostgresConnection) async throws
        -> [ExactString: StoredRow]
    {
        var binds = PostgresBindings()
        try binds.append(values)
        let sql =
            "SELECT id, grid, _clock, \(table.columns.map(PostgresSchema.quoted).joined(separator: ", ")) FROM \(table.name) WHERE \(condition)"
        var found: [ExactString: StoredRow] = [:]
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger) {
            let (id, stored) = try PostgresSchema.storedRow(table, row)
            found[ExactString(id)] = stored
        }
        return found
    }

    /// Writes what the merge produced; returns the base its local versions were numbered from.
    private func write(_ merged: LoadedRows, on connection: PostgresConnection) async throws -> Int64 {
        let taken = merged.versionsTaken
        let hlc = Int64(bitPattern: merged.clock.last.rawValue)
        // The counter: its row stays locked until this transaction commits (see the type's comment).
        var base: Int64 = 0
        let counter = try await connection.query(
            "UPDATE gridsync_meta SET last_lv = last_lv + \(taken), hlc = greatest(hlc, \(hlc)) WHERE id = 1 RETURNING last_lv - \(taken)",
            logger: logger)
        for try await value in counter.decode(Int64.self) { base = value }
        guard taken > 0 else { return base }
        let (rows, log, kept) = merged.numbered(after: base)
        var byTable: [Int: [(String, StoredRow)]] = [:]
        for (key, row) in rows { byTable[key.table, default: []].append((key.id, row)) }
        for (number, rows) in byTable.sorted(by: { $0.key < $1.key }) {
            try await upsert(Schema.all[number], rows, on: connection)
        }
        if !merged.superseded.isEmpty {
            try await connection.query("DELETE FROM change_log WHERE lv = ANY(\(Array(merged.superseded))::bigint[])", logger: logger)
        }
        var keptIDs: [Int64: String] = [:]
        for row in kept {
            var binds = PostgresBindings()
            try binds.append(Data(row.blob))
            try binds.append(row.row.table)
            try binds.append(row.row.rowID)
            try binds.append(row.row.grid)
            try binds.append(row.localVersion)
            let inserted = try await connection.query(
                PostgresQuery(
                    unsafeSQL: "INSERT INTO kept (changeset, tbl, row_id, grid, lv) VALUES ($1, $2, $3, $4, $5) RETURNING id", binds: binds),
                logger: logger)
            for try await id in inserted.decode(Int64.self) { keptIDs[row.localVersion] = String(id) }
        }
        let entries = log.map { entry in
            entry.table == Schema.keptNumber
                ? (entry.localVersion, entry.table, keptIDs[entry.localVersion] ?? "", entry.grid)
                : (entry.localVersion, entry.table, entry.id, entry.grid)
        }
        for chunk in stride(from: 0, to: entries.count, by: 5000) {
            let part = entries[chunk..<min(entries.count, chunk + 5000)]
            try await connection.query(
                """
                INSERT INTO change_log (lv, tbl, row_id, grid)
                SELECT * FROM unnest(\(part.map(\.0))::bigint[], \(part.map { Int64($0.1) })::bigint[], \(part.map(\.2))::text[], \(part.map(\.3))::text[])
                """, logger: logger)
        }
        if !merged.derived.isEmpty {
            let derived = merged.derived.sorted { $0.key < $1.key }
            try await connection.query(
                """
                UPDATE issues SET _status = d.status, _tier = d.tier
                FROM unnest(\(derived.map(\.key))::text[], \(derived.map(\.value.status.rawValue))::text[], \(derived.map(\.value.tier.rawValue))::text[])
                AS d(id, status, tier) WHERE issues.id = d.id
                """, logger: logger)
        }
        return base
    }

    /// Inserts or replaces `rows` of `table`, many per statement.
    private func upsert(_ table: SyncedTable, _ rows: [(String, StoredRow)], on connection: PostgresConnection) async throws {
        let columns = ["id", "grid", "_clock"] + table.columns.map(PostgresSchema.quoted)
        let perRow = columns.count
        let rowsPerStatement = max(1, 30_000 / perRow)
        let updates = columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        for start in stride(from: 0, to: rows.count, by: rowsPerStatement) {
            let part = rows[start..<min(rows.count, start + rowsPerStatement)]
            var binds = PostgresBindings(capacity: part.count * perRow)
            var tuples: [String] = []
            tuples.reserveCapacity(part.count)
            var n = 0
            for (id, row) in part {
                try binds.append(id)
                try binds.append(row.grid)
                try binds.append(row.clocks.blob)
                for (i, value) in row.values.enumerated() { try PostgresSchema.bind(value, kind: table.kinds[i], to: &binds) }
                tuples.append("(" + (1...perRow).map { "$\(n + $0)" }.joined(separator: ", ") + ")")
                n += perRow
            }
            let sql =
                "INSERT INTO \(table.name) (\(columns.joined(separator: ", "))) VALUES \(tuples.joined(separator: ", ")) ON CONFLICT (id) DO UPDATE SET \(updates)"
            try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        }
    }

    // MARK: Areas

    /// Makes the area tree exactly `areas` (see `Replica.importAreas`): the same rules and writes,
    /// in one transaction that no other import runs beside.
    public func importAreas(_ areas: [AreaName]) async throws -> AreaImport {
        let rows = try Replica.areaRows(areas)
        return try await transaction { [self] connection in
            try await connection.query(
                "SELECT pg_advisory_xact_lock(\(PostgresSchema.lockKey(table: Schema.grids.number, id: "/")))", logger: logger)
            var current: [String: (Value, Value)] = [:]
            for try await (id, zh, bo) in try await connection.query(
                "SELECT id, name_zh, name_bo FROM grids WHERE name_zh IS NOT NULL OR name_bo IS NOT NULL", logger: logger
            ).decode((String, String?, String?).self) {
                current[id] = (Replica.textValue(zh), Replica.textValue(bo))
            }
            let listed = Set(rows.map(\.path))
            var counts: [String: [(table: String, count: Int)]] = [:]
            for path in current.keys where !listed.contains(path) {
                for table in ["households", "issues"] {
                    let (condition, values) = PostgresSchema.areaCondition(path)
                    var binds = PostgresBindings()
                    for value in values { try binds.append(value) }
                    let sql = "SELECT count(*) FROM \(table) WHERE coalesce(deleted, 0) = 0 AND (\(condition))"
                    for try await n in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).decode(
                        Int64.self)
                    {
                        counts[path, default: []].append((table, Int(n)))
                    }
                }
            }
            var wants = RowWants()
            for path in listed.union(current.keys) { wants.rows.insert(LoadedRows.Key(table: Schema.grids.number, id: path)) }
            var locked: Set<Int64> = []
            try await lock(wants, locked: &locked, on: connection)
            var loaded = try await context(on: connection)
            try await load(wants, into: &loaded, on: connection)
            let result = try Replica.importAreas(rows, current: current, into: &loaded) { counts[$0] ?? [] }
            guard loaded.missed.isEmpty else { throw PostgresStoreError.damaged("an area import that read rows it did not load") }
            _ = try await write(loaded, on: connection)
            return result
        }
    }

    /// Names one area (see `Replica.putGrid`).
    public func putGrid(_ path: String, nameZh: String?, nameBo: String?) async throws {
        let path = try AreaPath(path).string
        let edits = try Replica.gridEdits(nameZh: nameZh, nameBo: nameBo)
        try await transaction { [self] connection in
            // As an import does: one change of the tree at a time.
            try await connection.query(
                "SELECT pg_advisory_xact_lock(\(PostgresSchema.lockKey(table: Schema.grids.number, id: "/")))", logger: logger)
            var wants = RowWants()
            wants.rows.insert(LoadedRows.Key(table: Schema.grids.number, id: path))
            var locked: Set<Int64> = []
            try await lock(wants, locked: &locked, on: connection)
            var loaded = try await context(on: connection)
            try await load(wants, into: &loaded, on: connection)
            try loaded.writeLocal(Schema.grids, id: path, grid: path, edits)
            _ = try await write(loaded, on: connection)
        }
    }

    /// The named areas at or under `area` (all when nil), by path.
    public func areas(under area: String? = nil) async throws -> [AreaName] {
        var sql = "SELECT id, name_zh, name_bo FROM grids WHERE (name_zh IS NOT NULL OR name_bo IS NOT NULL)"
        var binds = PostgresBindings()
        if let area {
            let (condition, values) = PostgresSchema.areaCondition(area)
            sql += " AND (\(condition))"
            for value in values { try binds.append(value) }
        }
        var areas: [AreaName] = []
        for try await (id, zh, bo) in try await client.query(
            PostgresQuery(unsafeSQL: sql + " ORDER BY id COLLATE \"C\"", binds: binds), logger: logger
        )
        .decode((String, String?, String?).self) {
            areas.append(AreaName(path: id, nameZh: zh, nameBo: bo))
        }
        return areas
    }

    /// Whether `area` is a named area, has named areas below it, or holds living records.
    public func knowsArea(_ area: String) async throws -> Bool {
        let (condition, values) = PostgresSchema.areaCondition(area)
        for table in ["grids", "households", "issues"] {
            var binds = PostgresBindings()
            for value in values { try binds.append(value) }
            let extra = table == "grids" ? "(name_zh IS NOT NULL OR name_bo IS NOT NULL)" : "coalesce(deleted, 0) = 0"
            let sql = "SELECT 1 FROM \(table) WHERE (\(condition)) AND \(extra) LIMIT 1"
            for try await _ in try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger) { return true }
        }
        return false
    }

    // MARK: Pulling

    /// The changes after local version `since` (see `Replica.changes(since:…)`), read in one
    /// snapshot: the same batches a SQLite store makes.
    public func changes(
        since: Int64, maxChanges: Int = 5000, maxBytes: Int = 4 << 20, scopes: [AreaPath]? = nil, skipping: Set<Int64> = []
    ) async throws -> ChangeBatch {
        let maxChanges = max(1, maxChanges)
        return try await client.transaction(logger: logger, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { connection in
            try await self.changes(
                since: since, maxChanges: maxChanges, maxBytes: maxBytes, scopes: scopes, skipping: skipping, on: connection)
        }
    }

    private func changes(
        since: Int64, maxChanges: Int, maxBytes: Int, scopes: [AreaPath]?, skipping: Set<Int64>, on connection: PostgresConnection
    ) async throws -> ChangeBatch {
        var latest: Int64 = 0
        for try await value in try await connection.query("SELECT last_lv FROM gridsync_meta WHERE id = 1", logger: logger).decode(
            Int64.self)
        {
            latest = value
        }
        var binds = PostgresBindings()
        try binds.append(since)
        var condition = "TRUE"
        if let scopes {
            let (sql, values) = Replica.scopeCondition(scopes) { "$\($0 + 1)" }  // $1 is the cursor
            condition = sql
            for value in values { binds.append(value) }
        }
        try binds.append(Int64(maxChanges + 1))
        let sql = "SELECT lv, tbl, row_id FROM change_log WHERE lv > $1 AND (\(condition)) ORDER BY lv LIMIT $\(binds.count)"
        var entries: [Replica.LogEntry] = []
        entries.reserveCapacity(min(maxChanges + 1, 1 << 16))
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger) {
            let cells = row.makeRandomAccess()
            guard let lv = try cells[0].integer(), let table = try cells[1].integer(), let id = try cells[2].text() else {
                throw PostgresStoreError.damaged("a change-log entry with an empty field")
            }
            entries.append((lv: lv, table: Int(table), rowID: id))
        }
        // The rows the entries name, read per table a slice of entries at a time: a page ends
        // when its changes or bytes are full, often after a tenth of its entries (a new row
        // brings ten changes), and reading every entry's row was most of a pull's time. The batch
        // is built again after each slice until it no longer asks for a row not yet read.
        var rows: [LoadedRows.Key: StoredRow] = [:]
        var kept: [String: [UInt8]] = [:]
        var read = 0
        var slice = firstRowSlice
        while true {
            let end = min(entries.count, read + slice)
            try await loadRows(named: entries[read..<end], skipping: skipping, into: &rows, kept: &kept, on: connection)
            read = end
            let complete = read == entries.count
            do {
                return try Replica.batch(
                    entries, since: since, maxChanges: maxChanges, maxBytes: maxBytes, skipping: skipping,
                    latest: scopes == nil ? nil : latest,
                    row: { table, id in
                        if let row = rows[LoadedRows.Key(table: table.number, id: id)] { return row }
                        if complete { return nil }  // missing indeed: the batch reports it
                        throw RowsNotYetRead()
                    },
                    kept: { id in
                        if let blob = kept[id] { return blob }
                        if complete { return nil }
                        throw RowsNotYetRead()
                    })
            } catch is RowsNotYetRead {
                slice *= 2
            }
        }
    }

    /// A pull's batch reached an entry whose row is not read yet.
    private struct RowsNotYetRead: Error {}

    /// Reads the rows (and kept rows) `entries` name into `rows` and `kept`, one query per table.
    private func loadRows(
        named entries: ArraySlice<Replica.LogEntry>, skipping: Set<Int64>, into rows: inout [LoadedRows.Key: StoredRow],
        kept: inout [String: [UInt8]], on connection: PostgresConnection
    ) async throws {
        var ids: [Int: Set<ExactString>] = [:]
        for entry in entries where !skipping.contains(entry.lv) {
            let read =
                entry.table == Schema.keptNumber
                ? kept[entry.rowID] != nil : rows[LoadedRows.Key(table: entry.table, id: entry.rowID)] != nil
            if !read { ids[entry.table, default: []].insert(ExactString(entry.rowID)) }
        }
        for (number, set) in ids {
            if number == Schema.keptNumber {
                let keys = set.compactMap { Int64($0.string) }
                let result = try await connection.query("SELECT id, changeset FROM kept WHERE id = ANY(\(keys)::bigint[])", logger: logger)
                for try await (id, blob) in result.decode((Int64, Data).self) { kept[String(id)] = [UInt8](blob) }
                continue
            }
            guard number >= 0 && number < Schema.all.count else { continue }
            for (id, row) in try await self.rows(of: Schema.all[number], where: "id = ANY($1)", set.map(\.string), on: connection) {
                rows[LoadedRows.Key(table: number, id: id.string)] = row
            }
        }
    }

    /// The grids whose living records reference photo `sha256`.
    public func gridsReferencing(photo sha256: String) async throws -> [String] {
        var grids: [String] = []
        let rows = try await client.query(
            "SELECT DISTINCT grid FROM photo_refs WHERE sha256 = \(sha256) AND coalesce(deleted, 0) = 0 ORDER BY grid", logger: logger)
        for try await grid in rows.decode(String.self) { grids.append(grid) }
        return grids
    }

    /// Every photo hash referenced by a living record.
    public func referencedPhotos() async throws -> [String] {
        var hashes: [String] = []
        let rows = try await client.query(
            "SELECT DISTINCT sha256 FROM photo_refs WHERE coalesce(deleted, 0) = 0 AND sha256 IS NOT NULL ORDER BY sha256", logger: logger)
        for try await hash in rows.decode(String.self) { hashes.append(hash) }
        return hashes
    }

    /// The newest local version committed.
    public func localVersion() async throws -> Int64 {
        var latest: Int64 = 0
        for try await value in try await client.query("SELECT last_lv FROM gridsync_meta WHERE id = 1", logger: logger).decode(Int64.self) {
            latest = value
        }
        return latest
    }
}
