import GRDB

import struct Foundation.Data

/// One synced row as stored: its grid, its merged column values and their clocks.
package struct StoredRow: Equatable, Sendable {
    package var grid: String
    package var values: [Value]
    package var clocks: ColumnClocks

    package init(grid: String, values: [Value], clocks: ColumnClocks) {
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
    func loadRow(_ table: SyncedTable, id: String) throws -> StoredRow? {
        try Replica.loadRow(db, table, id: id)
    }

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

    func grid(of id: String, in table: String) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT grid FROM \(table) WHERE id = ?"), arguments: [id])
    }
}

extension WriteContext {
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
