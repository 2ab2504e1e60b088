/// A value that lost to a concurrent write, as stored in the `conflicts` table.
///
/// Its id is derived from what was lost (table, row, column, version), so every replica that
/// notices the same loss records the same row and the copies merge into one.
struct Conflict {
    var table: String
    var row: RowChanges
    var column: String
    var lost: MergeRule.Side

    var id: String {
        "\(table)/\(row.rowID)/\(column)/\(lost.version.timestamp.rawValue)-\(lost.version.site.hex)"
    }

    /// Records the conflict; false when this replica already had it.
    func record(context: inout WriteContext) throws -> Bool {
        if try context.loadRow(Schema.conflicts, id: id) != nil { return false }
        return try context.writeLocal(
            Schema.conflicts, id: id, grid: row.grid,
            [
                ("tbl", .text(table)), ("row_id", .text(row.rowID)), ("col", .text(column)), ("lost_value", lost.value),
                ("lost_hlc", .integer(Int64(bitPattern: lost.version.timestamp.rawValue))),
                ("lost_site", .text(lost.version.site.hex)),
            ])
    }
}
