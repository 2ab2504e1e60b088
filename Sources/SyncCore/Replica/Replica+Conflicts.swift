import GRDB

extension Replica {
    /// The conflicts recorded here, oldest loss first; resolved ones only when asked.
    public func conflicts(includeResolved: Bool = false, rowID: String? = nil) throws(SyncCoreError) -> [ConflictRecord] {
        try read { db in
            var sql = "SELECT id, grid, tbl, row_id, col, lost_value, lost_hlc, lost_site, resolved, resolved_by, resolution FROM conflicts"
            var conditions: [String] = []
            var arguments: [DatabaseValueConvertible] = []
            if !includeResolved { conditions.append("IFNULL(resolved, 0) = 0") }
            if let rowID {
                conditions.append("row_id = ?")
                arguments.append(rowID)
            }
            if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
            sql += " ORDER BY lost_hlc, id"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                let lost = Value(row[5] as DatabaseValue)
                return ConflictRecord(
                    id: row[0], grid: row[1], table: row[2] ?? "", rowID: row[3] ?? "", column: row[4] ?? "",
                    lostValue: lost == .null ? nil : lost.description,
                    lostAt: HLCTimestamp(stored: row[6]), lostSite: row[7] ?? "",
                    resolved: (row[8] as Int64?) == 1, resolvedBy: row[9], resolution: row[10])
            }
        }
    }

    /// Marks conflict `id` as reviewed by `person` (the device's enrolled person, if it has a name),
    /// with a note of what was decided.
    public func resolveConflict(_ id: String, by person: String?, resolution: String? = nil) throws(SyncCoreError) {
        let who = try InputRules.text(person, Schema.conflicts["resolved_by"], field: .resolvedBy)
        let note = try InputRules.text(resolution, Schema.conflicts["resolution"], field: .resolution)
        try write { context in
            guard try context.loadRow(Schema.conflicts, id: id) != nil else { throw SyncCoreError.notFound(kind: "conflict", id: id) }
            try context.writeLocal(
                Schema.conflicts, id: id, grid: "", [("resolved", .integer(1)), ("resolved_by", who), ("resolution", note)])
        }
    }
}
