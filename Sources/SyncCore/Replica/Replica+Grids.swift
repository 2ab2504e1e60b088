import GRDB

/// A grid of the area tree as this replica knows it.
public struct Grid: Codable, Equatable, Sendable {
    /// The grid's area path.
    public var path: String
    public var nameZh: String?
    public var nameBo: String?
}

extension Replica {
    /// Adds a grid to the area tree, or renames it; its path is its id.
    public func putGrid(_ path: String, nameZh: String?, nameBo: String?) throws(SyncCoreError) {
        let path = try InputRules.grid(path)
        let edits: [(String, Value)] = [
            ("name_zh", try InputRules.text(nameZh, Schema.grids["name_zh"], field: "Chinese name")),
            ("name_bo", try InputRules.text(nameBo, Schema.grids["name_bo"], field: "Tibetan name")),
        ]
        _ = try write { context in try context.writeLocal(Schema.grids, id: path, grid: path, edits) }
    }

    /// The grids under `area` (all when nil), by path.
    public func grids(area: String? = nil) throws(SyncCoreError) -> [Grid] {
        try read { db in
            var sql = "SELECT id, name_zh, name_bo FROM grids WHERE 1"
            var arguments: [DatabaseValueConvertible] = []
            if let area { Self.areaCondition(area, sql: &sql, arguments: &arguments) }
            sql += " ORDER BY id"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map {
                Grid(path: $0[0], nameZh: $0[1], nameBo: $0[2])
            }
        }
    }
}
