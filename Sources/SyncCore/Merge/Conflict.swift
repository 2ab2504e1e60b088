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
    func record<Context: MergeContext>(context: inout Context) throws -> Bool {
        if try context.loadRow(Schema.conflicts, id: id) != nil { return false }
        // A value stored before today's rules (a 64 KiB note, say) is kept as null rather than
        // failing the merge that noticed its loss: the conflict itself still says what, when, who.
        let stamp = Version(timestamp: .init(rawValue: 1), site: .init(rawValue: 1))
        let lostValue = Schema.conflicts["lost_value"].refusal(lost.value, version: stamp) == nil ? lost.value : .null
        return try context.writeLocal(
            Schema.conflicts, id: id, grid: row.grid,
            [
                ("tbl", .text(table)), ("row_id", .text(row.rowID)), ("col", .text(column)), ("lost_value", lostValue),
                ("lost_hlc", .integer(Int64(bitPattern: lost.version.timestamp.rawValue))),
                ("lost_site", .text(lost.version.site.hex)),
            ])
    }
}
