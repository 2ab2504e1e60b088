import GRDB

import struct Foundation.Data

/// One synced row as stored: its grid, its merged column values and their clocks.
struct StoredRow {
    var grid: String
    var values: [Value]
    var clocks: ColumnClocks

    init(grid: String, values: [Value], clocks: ColumnClocks) {
        self.grid = grid
        self.values = values
        self.clocks = clocks
    }

    /// Reads a row selected by `SyncedTable.selectRowSQL`.
    init(_ table: SyncedTable, _ row: Row) throws {
        let clocks = try ColumnClocks(row, at: 1, count: table.columns.count)
        var values: [Value] = []
        values.reserveCapacity(table.columns.count)
        for i in 0..<table.columns.count { values.append(Value(row[i + 2] as DatabaseValue)) }
        self.init(grid: row[0], values: values, clocks: clocks)
    }
}

extension WriteContext {
    /// Reads row `id` of `table`, or nil when this replica has never seen it.
    func loadRow(_ table: SyncedTable, id: String) throws -> StoredRow? {
        try Replica.loadRow(db, table, id: id)
    }

    /// Writes `row` as row `id` of `table`, stamped with local version `localVersion`, and keeps the
    /// change log exact: one entry for this write, and none left for versions no column holds any more.
    func storeRow(_ table: SyncedTable, id: String, row: StoredRow, localVersion: Int64, previous: StoredRow?) throws {
        let statement = try db.cachedStatement(sql: table.upsertSQL)
        // Built as optional existentials: GRDB's initializer for those maps with a closure, the one
        // for `[DatabaseValue]` through a key path (15% of the merge in `perf`).
        var arguments: [(any DatabaseValueConvertible)?] = [id, row.grid]
        arguments.reserveCapacity(table.columns.count + 4)
        for v in row.values { arguments.append(v.databaseValue) }
        arguments.append(row.clocks.blob)
        arguments.append(localVersion)
        try statement.execute(arguments: StatementArguments(arguments))
        try db.cachedStatement(sql: "INSERT INTO change_log (lv, tbl, row_id, grid) VALUES (?, ?, ?, ?)")
            .execute(arguments: [localVersion, table.number, id, row.grid])
        if let previous {
            let live = Set(row.clocks.entries.map(\.localVersion))
            for old in Set(previous.clocks.entries.map(\.localVersion)) where old > 0 && !live.contains(old) {
                try db.cachedStatement(sql: "DELETE FROM change_log WHERE lv = ?").execute(arguments: [old])
            }
        }
    }

    /// Writes local edits to row `id` of `table` (creating it in `grid` if new): each column whose
    /// value changes gets this transaction's version, with the version it overwrote as its base.
    /// Returns false when nothing changed.
    @discardableResult
    mutating func writeLocal(_ table: SyncedTable, id: String, grid: String, _ edits: [(String, Value)]) throws -> Bool {
        let previous = try loadRow(table, id: id)
        var row =
            previous
            ?? StoredRow(
                grid: grid, values: Array(repeating: .null, count: table.columns.count), clocks: ColumnClocks(count: table.columns.count))
        var changed: [Int] = []
        for (column, value) in edits {
            guard let i = table.index(of: column) else {
                throw SyncCoreError.invalidInput("\(table.name) has no column \(column)")
            }
            if row.values[i] == value && (row.clocks.entries[i].version != nil || value == .null) { continue }
            row.values[i] = value
            changed.append(i)
        }
        guard !changed.isEmpty else { return false }
        let version = try localStamp()
        // The same rules the merge applies on every replica: what is stored here can be sent.
        for i in changed {
            if let problem = table.rules[i].refusal(row.values[i], version: version) {
                throw SyncCoreError.invalidInput("\(table.name).\(problem)")
            }
        }
        let localVersion = nextLocalVersion()
        for i in changed {
            let old = row.clocks.entries[i].version
            row.clocks.entries[i] = ColumnClock(version: version, base: old, localVersion: localVersion)
        }
        try storeRow(table, id: id, row: row, localVersion: localVersion, previous: previous)
        return true
    }
}

extension WriteContext {
    /// Keeps `row` as it came (a later release's data) under a new local version, so that pulls
    /// send it on; nil when the same row was kept before.
    mutating func keep(_ row: RowChanges) throws -> Int64? {
        let blob = ChangesetEncoding.encode(Changeset(rows: [row]))
        let exists = try db.cachedStatement(sql: "SELECT 1 FROM kept WHERE changeset = ?")
        if try Bool.fetchOne(exists, arguments: [Data(blob)]) != nil { return nil }
        let lv = nextLocalVersion()
        try db.cachedStatement(sql: "INSERT INTO kept (changeset, tbl, row_id, grid, lv) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [Data(blob), row.table, row.rowID, row.grid, lv])
        try db.cachedStatement(sql: "INSERT INTO change_log (lv, tbl, row_id, grid) VALUES (?, ?, ?, ?)")
            .execute(arguments: [lv, Schema.keptNumber, String(db.lastInsertedRowID), row.grid])
        return lv
    }
}

extension ColumnClocks {
    /// The clocks in column `index` of a fetched row (a `_clock` blob), read in place.
    init(_ row: Row, at index: Int, count: Int) throws {
        self = try row.withUnsafeData(atIndex: index) { blob -> ColumnClocks in
            guard let blob else { throw SyncCoreError.damagedReplica("row without column clocks") }
            return try ColumnClocks(blob: blob, count: count)
        }
    }
}
