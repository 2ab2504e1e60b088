import GRDB
import GRDBSQLite

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

    /// The local versions `previous` (this row as it was) held that no column of this row holds
    /// any more, each once: their change-log entries go. A row has a few dozen columns at most,
    /// so plain arrays serve.
    package func versionsDropped(since previous: StoredRow) -> [Int64] {
        var dropped: [Int64] = []
        for old in previous.clocks.entries {
            let stale = old.localVersion
            guard stale != 0, !dropped.contains(stale), !clocks.entries.contains(where: { $0.localVersion == stale }) else { continue }
            dropped.append(stale)
        }
        return dropped
    }

    /// Reads the current row of `s`, a step of `SyncedTable.selectRowSQL`.
    init(_ table: SyncedTable, _ s: OpaquePointer) throws {
        let count = table.columns.count
        let clockBytes = columnBytes(s, 1)
        guard clockBytes.count > 0 else { throw SyncCoreError.damagedReplica("row without column clocks") }
        let clocks = try ColumnClocks(blob: clockBytes, count: count)
        var values: [Value] = []
        values.reserveCapacity(count)
        for i in 0..<count { values.append(columnValue(s, Int32(i + 2))) }
        self.init(grid: columnText(s, 0) ?? "", values: values, clocks: clocks)
    }
}

extension WriteContext {
    func loadRow(_ table: SyncedTable, id: String) throws -> StoredRow? {
        try Replica.loadRow(db, table, id: id)
    }

    /// Writes `row` whole at `localVersion`, logs it, and drops the log entries of `previous`'s
    /// versions that no column holds any more. Bound and stepped directly: GRDB's arguments (an
    /// array of existentials per row) were a seventh of a merge.
    func storeRow(_ table: SyncedTable, id: String, row: StoredRow, localVersion: Int64, previous: StoredRow?) throws {
        guard row.values.count == table.columns.count, row.clocks.entries.count == table.columns.count else {
            throw SyncCoreError.damagedReplica(
                "a row of \(row.values.count) values for the \(table.columns.count) columns of \(table.name)")
        }
        let clocks = row.clocks.blob
        try run(db, table.upsertSQL) { s in
            var code = bindText(s, 1, id)
            if code == SQLITE_OK { code = bindText(s, 2, row.grid) }
            var i: Int32 = 3
            for v in row.values where code == SQLITE_OK {
                code = bindValue(s, i, v)
                i += 1
            }
            if code == SQLITE_OK { code = bindBlob(s, i, clocks) }
            if code == SQLITE_OK { code = sqlite3_bind_int64(s, i + 1, localVersion) }
            return code
        }
        try run(db, "INSERT INTO change_log (lv, tbl, row_id, grid) VALUES (?, ?, ?, ?)") { s in
            var code = sqlite3_bind_int64(s, 1, localVersion)
            if code == SQLITE_OK { code = sqlite3_bind_int64(s, 2, Int64(table.number)) }
            if code == SQLITE_OK { code = bindText(s, 3, id) }
            if code == SQLITE_OK { code = bindText(s, 4, row.grid) }
            return code
        }
        guard let previous else { return }
        for stale in row.versionsDropped(since: previous) {
            try run(db, "DELETE FROM change_log WHERE lv = ?") { sqlite3_bind_int64($0, 1, stale) }
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
