import GRDB
import GRDBSQLite

import struct Foundation.Data

extension Replica {
    /// The latest value of every (row, column) that changed after local version `since`, at most
    /// `maxChanges` changes and about `maxBytes` of values per batch (a single row's changes are
    /// never split, so one row larger than that makes a batch alone), limited to rows
    /// under `scopes` when given.
    ///
    /// Each column remembers the local version at which its value arrived, and the change log has
    /// one entry per local version still held by some column. A batch walks the log in order up to
    /// its cursor and sends, of every row it meets, the columns whose local version lies in
    /// (since, cursor]: so everything up to the cursor is sent exactly once, whatever rows changed
    /// again later.
    public func changes(
        since: Int64, maxChanges: Int = 5000, maxBytes: Int = 4 << 20, scopes: [AreaPath]? = nil, skipping: Set<Int64> = []
    ) throws(SyncCoreError) -> ChangeBatch {
        try changes(since: since, maxChanges: maxChanges, maxBytes: maxBytes, scopes: scopes, skipping: skipping, plan: nil)
    }

    /// `changes(since:…)` with the plan of a scoped pull given (tests compare both plans); nil: chosen.
    func changes(
        since: Int64, maxChanges: Int, maxBytes: Int, scopes: [AreaPath]?, skipping: Set<Int64>, plan chosen: PullPlan?
    ) throws(SyncCoreError) -> ChangeBatch {
        let maxChanges = max(1, maxChanges)
        return try read { db in
            let filter = scopes.map(ScopeFilter.init)
            // The newest local version, read in this same snapshot (only scoped pulls need it).
            let latest = filter == nil ? 0 : try Self.newestLocalVersion(db)
            let plan = try filter.map {
                try chosen ?? Self.pullPlan(db, since: since, latest: latest, maxChanges: maxChanges, filter: $0)
            }
            let sql =
                "SELECT lv, tbl, row_id FROM change_log\(plan?.hint ?? "") WHERE lv > ? AND (\(filter?.sql ?? "1")) ORDER BY lv LIMIT ?"
            let arguments = [since.databaseValue] + (filter?.arguments ?? []) + [(maxChanges + 1).databaseValue]
            // Cached: the text depends only on the plan and the numbers of scopes and areas above them.
            let entries = try Self.logEntries(db, sql: sql, arguments: arguments, expecting: maxChanges + 1)
            return try Self.batch(
                entries, since: since, maxChanges: maxChanges, maxBytes: maxBytes, skipping: skipping,
                latest: scopes == nil ? nil : latest,
                row: { table, id in try Self.loadRow(db, table, id: id) },
                kept: { id in
                    try Data.fetchOne(db.cachedStatement(sql: "SELECT changeset FROM kept WHERE id = ?"), arguments: [id]).map {
                        [UInt8]($0)
                    }
                })
        }
    }

    /// One change-log entry: a local version, the table's number and the row's id.
    package typealias LogEntry = (lv: Int64, table: Int, rowID: String)

    /// The entries `sql` selects (lv, tbl, row_id), read from SQLite's column buffers.
    static func logEntries(_ db: Database, sql: String, arguments: [DatabaseValue], expecting count: Int) throws -> [LogEntry] {
        let statement = try db.cachedStatement(sql: sql)
        try statement.setArguments(StatementArguments(arguments))
        var entries: [LogEntry] = []
        entries.reserveCapacity(min(count, 1 << 16))
        try forEachRow(statement, db) { s in
            entries.append((lv: sqlite3_column_int64(s, 0), table: Int(sqlite3_column_int64(s, 1)), rowID: columnText(s, 2) ?? ""))
        }
        return entries
    }

    /// The batch that `entries` (the log past `since`, in order, at most `maxChanges` + 1 of them)
    /// make, reading each row once with `row` and each kept row's changeset with `kept`. `latest`,
    /// given for a scoped pull, is the newest local version of the same snapshot: with nothing more
    /// in scope the cursor moves to it. Every store builds its pulls here.
    package static func batch(
        _ entries: [LogEntry], since: Int64, maxChanges: Int, maxBytes: Int, skipping: Set<Int64>, latest: Int64?,
        row load: (SyncedTable, String) throws -> StoredRow?, kept loadKept: (String) throws -> [UInt8]?
    ) throws -> ChangeBatch {
        // Group the entries by row, reading each row once; its columns past the cursor wait.
        var taken: [(table: SyncedTable, rowID: String, row: StoredRow)?] = []
        var kept: [Int: RowChanges] = [:]  // position in `taken` → a kept row
        var seen: Set<LoadedRows.Key> = []
        var count = 0
        var bytes = 0
        var cursor = since
        var stoppedEarly = false
        for entry in entries {
            if entry.table == Schema.keptNumber {
                // Data of a later release, kept as it came: sent on as it is.
                if skipping.contains(entry.lv) {
                    cursor = entry.lv
                    continue
                }
                guard let blob = try loadKept(entry.rowID), let row = (try? ChangesetEncoding.decode(blob))?.rows.first
                else { throw SyncCoreError.damagedReplica("change log names missing kept row \(entry.rowID)") }
                let size = ChangesetEncoding.expandedBytes(Changeset(rows: [row]))
                if !taken.isEmpty && (count + row.changes.count > maxChanges || bytes + size > maxBytes) {
                    stoppedEarly = true
                    break
                }
                kept[taken.count] = row
                taken.append(nil)
                count += row.changes.count
                bytes += size
                cursor = entry.lv
                continue
            }
            guard entry.table >= 0 && entry.table < Schema.all.count else {
                throw SyncCoreError.damagedReplica("change log names table number \(entry.table)")
            }
            let table = Schema.all[entry.table]
            if skipping.contains(entry.lv) {
                // Written by the pull's own requester in this exchange: it has those values. Other
                // versions of the same row still bring the row (with all its newer columns).
                cursor = entry.lv
                continue
            }
            let key = LoadedRows.Key(table: entry.table, id: entry.rowID)
            if !seen.contains(key) {
                guard let row = try load(table, entry.rowID) else {
                    throw SyncCoreError.damagedReplica("change log names missing row \(table.name)/\(entry.rowID)")
                }
                var pending = 0
                var size = 0
                for (i, clock) in row.clocks.entries.enumerated() where clock.localVersion > since && clock.version != nil {
                    pending += 1
                    size += 24 + Self.byteSize(row.values[i])
                }
                if !taken.isEmpty && (count + pending > maxChanges || bytes + size > maxBytes) {
                    stoppedEarly = true
                    break
                }
                seen.insert(key)
                taken.append((table, entry.rowID, row))
                count += pending
                bytes += size
            }
            cursor = entry.lv
        }
        let hasMore = stoppedEarly || entries.count > maxChanges
        let rows = taken.enumerated().compactMap { (i, t) in
            t.map { Self.rowChanges($0.table, id: $0.rowID, $0.row, after: since, through: cursor) } ?? kept[i]
        }
        if !hasMore, let latest {
            // Nothing more in scope: the cursor may skip past out-of-scope entries too.
            cursor = max(cursor, latest)
        }
        return ChangeBatch(changeset: Changeset(rows: rows), cursor: cursor, hasMore: hasMore)
    }

    /// The SQL condition selecting change-log entries under some scopes, and its arguments.
    struct ScopeFilter {
        let sql: String
        let arguments: [DatabaseValue]

        /// The areas below the scopes alone (`S/ <= grid < S0`), and its arguments.
        let belowSQL: String
        let belowArguments: [DatabaseValue]

        /// The areas above `scopes` (not themselves scopes), whose names a device in them shows.
        static func areasAbove(_ scopes: [AreaPath]) -> [String] {
            Set(scopes.flatMap { scope in (1..<scope.segments.count).map { scope.segments.prefix($0).joined(separator: "/") } })
                .subtracting(scopes.map(\.string)).sorted()
        }

        init(_ scopes: [AreaPath]) {
            // `grid = S OR S/ <= grid < S0` ('0' follows '/'): both terms can use the (grid, lv) index.
            var sql = scopes.isEmpty ? "0" : scopes.map { _ in "grid = ? OR (grid >= ? AND grid < ?)" }.joined(separator: " OR ")
            var arguments = scopes.flatMap { scope in
                [scope.string.databaseValue, (scope.string + "/").databaseValue, (scope.string + "0").databaseValue]
            }
            // The names of the areas above the scopes (`grids` rows, table 0): a grid's device shows
            // its township and village by name.
            let above = Self.areasAbove(scopes)
            if !above.isEmpty {
                sql += " OR (tbl = 0 AND grid IN (\(above.map { _ in "?" }.joined(separator: ", "))))"
                arguments += above.map(\.databaseValue)
            }
            self.sql = sql
            self.arguments = arguments
            belowSQL = scopes.isEmpty ? "0" : scopes.map { _ in "(grid >= ? AND grid < ?)" }.joined(separator: " OR ")
            belowArguments = scopes.flatMap { scope in [(scope.string + "/").databaseValue, (scope.string + "0").databaseValue] }
        }
    }

    /// The change-log entries under `scopes` in any store: in `scopes` or below them (`S/ <=
    /// grid < S0`, '0' following '/'), and the names (table 0) of the areas above them.
    package static func scopeCondition(
        _ scopes: [AreaPath], grid: String = "grid", table: String = "tbl", placeholder: (Int) -> String
    ) -> (sql: String, arguments: [String]) {
        var n = 0
        func next() -> String {
            n += 1
            return placeholder(n)
        }
        var terms = scopes.map { _ in "\(grid) = \(next()) OR (\(grid) >= \(next()) AND \(grid) < \(next()))" }
        var arguments = scopes.flatMap { [$0.string, $0.string + "/", $0.string + "0"] }
        let above = ScopeFilter.areasAbove(scopes)
        if !above.isEmpty {
            terms.append("(\(table) = 0 AND \(grid) IN (\(above.map { _ in next() }.joined(separator: ", "))))")
            arguments += above
        }
        return (terms.isEmpty ? "FALSE" : terms.joined(separator: " OR "), arguments)
    }

    /// How a scoped pull finds its entries in the change log.
    enum PullPlan: Equatable {
        /// Walk the log in order from the cursor, keeping the entries in scope.
        case walk
        /// Collect the scope's entries past the cursor from the (grid, lv) index, then sort them.
        case index

        var hint: String { self == .walk ? " NOT INDEXED" : " INDEXED BY change_log_grid" }
    }

    static func newestLocalVersion(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT local_version FROM replica_meta")) ?? 0
    }

    /// Chooses the cheaper plan for a batch of at most `maxChanges` changes past `since`.
    ///
    /// Walking visits the entries past the cursor until a batch is in scope: about
    /// min(after, n × after / c) steps for a batch of n, `after` the entries past the cursor and c
    /// those of them in scope. The index finds a grid's entries past the cursor directly (c steps
    /// for scopes that are grids), but for a scope with areas below it, it reads every entry of
    /// those areas, whatever its version (about d × latest, d the scope's share of the log). SQLite
    /// cannot tell which is cheaper, since that depends on the cursor; left to itself it walked, so
    /// a worker's pull read the whole county's changes past its cursor.
    ///
    /// - Scopes with areas below them: walk when few entries are past the cursor; else estimate d
    ///   from the first 256 entries past the cursor and take the index when d² × latest < n.
    /// - Scopes that are grids: the index when c ≤ n, found by counting the entries in scope up to
    ///   min(256, n) through the index (a worker's pull stops there early); past that bound,
    ///   estimate d as above and take the index when d² × after < n.
    static func pullPlan(_ db: Database, since: Int64, latest: Int64, maxChanges: Int, filter: ScopeFilter) throws -> PullPlan {
        let batch = Double(maxChanges + 1)
        let after = Double(max(0, latest - since))
        if filter.arguments.isEmpty { return .walk }  // nothing is in scope: the condition is a constant
        let hasAreasBelow =
            try Bool.fetchOne(
                db.cachedStatement(
                    sql: "SELECT EXISTS (SELECT 1 FROM change_log INDEXED BY change_log_grid WHERE \(filter.belowSQL))"),
                arguments: StatementArguments(filter.belowArguments)) ?? false
        if hasAreasBelow {
            if after <= batch { return .walk }
        } else {
            if after <= batch { return .index }
            let bound = min(256, maxChanges + 1)
            let counted = try Int.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT count(*) FROM
                        (SELECT 1 FROM change_log INDEXED BY change_log_grid WHERE lv > ? AND (\(filter.sql)) LIMIT ?)
                        """),
                arguments: StatementArguments([since.databaseValue] + filter.arguments + [bound.databaseValue]))
            if (counted ?? 0) < bound { return .index }
        }
        let sample = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT count(*), ifnull(sum(\(filter.sql)), 0) FROM
                    (SELECT grid, tbl FROM change_log WHERE lv > ? ORDER BY lv LIMIT 256)
                    """),
            arguments: StatementArguments(filter.arguments + [since.databaseValue]))
        let seen = Double(sample?[0] as Int64? ?? 0)
        let hits = Double(sample?[1] as Int64? ?? 0)
        // d ≈ hits / seen; the index reads d × after entries for grids, d × latest for areas.
        let span = hasAreasBelow ? Double(latest) : after
        return seen > 0 && hits * hits * span < batch * seen * seen ? .index : .walk
    }

    static func byteSize(_ value: Value) -> Int {
        switch value {
        case let .text(s): return s.utf8.count
        case let .blob(b): return b.count
        default: return 8
        }
    }

    /// The stored row `id` of `table`, or nil. Pulls and merges read every row they touch here,
    /// so it is read from SQLite's column buffers (`StoredRow(table, s)`), not through GRDB's `Row`.
    static func loadRow(_ db: Database, _ table: SyncedTable, id: String) throws -> StoredRow? {
        let statement = try db.cachedStatement(sql: table.selectRowSQL)
        // Only this function steps this statement: it is bound and reset here, not through GRDB.
        return try withExtendedLifetime(statement) {
            let s = statement.sqliteStatement
            sqlite3_reset(s)
            defer { sqlite3_reset(s) }
            let bound = bindText(s, 1, id)
            guard bound == SQLITE_OK else { throw stepError(bound, db, sql: table.selectRowSQL) }
            switch sqlite3_step(s) {
            case SQLITE_ROW: return try StoredRow(table, s)
            case SQLITE_DONE: return nil
            case let code: throw stepError(code, db, sql: table.selectRowSQL)
            }
        }
    }

    /// The columns of `row` whose local version lies in (after, through].
    private static func rowChanges(_ table: SyncedTable, id: String, _ row: StoredRow, after: Int64, through: Int64) -> RowChanges? {
        var changes: [ColumnChange] = []
        for (i, clock) in row.clocks.entries.enumerated() where clock.localVersion > after && clock.localVersion <= through {
            guard let version = clock.version else { continue }
            changes.append(ColumnChange(column: table.columns[i], value: row.values[i], version: version, base: clock.base))
        }
        return changes.isEmpty ? nil : RowChanges(table: table.name, rowID: id, grid: row.grid, changes: changes)
    }
}
