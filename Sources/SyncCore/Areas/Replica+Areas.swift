import GRDB

/// What importing an area tree changed.
public struct AreaImport: Codable, Equatable, Sendable {
    public var added: [String] = []
    public var renamed: [String] = []
    public var removed: [String] = []
    public var unchanged = 0
}

extension Replica {
    /// Adds an area to the tree, or renames it; its path is its id (and its grid).
    public func putGrid(_ path: String, nameZh: String?, nameBo: String?) throws(SyncCoreError) {
        let path = try InputRules.grid(path)
        let edits = try Self.gridEdits(nameZh: nameZh, nameBo: nameBo)
        _ = try write { context in try context.writeLocal(Schema.grids, id: path, grid: path, edits) }
    }

    /// The named areas at or under `area` (all when nil), by path. An area removed from the tree
    /// keeps its row with no names and is not listed.
    public func areas(under area: String? = nil) throws(SyncCoreError) -> [AreaName] {
        try read { db in
            var sql = "SELECT id, name_zh, name_bo FROM grids WHERE (name_zh IS NOT NULL OR name_bo IS NOT NULL)"
            var arguments: [DatabaseValueConvertible] = []
            if let area { Self.areaCondition(area, sql: &sql, arguments: &arguments) }
            sql += " ORDER BY id"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map {
                AreaName(path: $0[0], nameZh: $0[1], nameBo: $0[2])
            }
        }
    }

    /// Every named area this replica knows, for labels.
    public func areaNames() throws(SyncCoreError) -> AreaNames { AreaNames(try areas()) }

    /// Whether `area` is a place this replica knows: a named area, an area with named areas below
    /// it, or one that holds living records. Reports and exports refuse other areas rather than answering
    /// with nothing. The areas of `scopes` (a device's) are known before anything is recorded there.
    public func knowsArea(_ area: String, scopes: [String] = []) throws(SyncCoreError) -> Bool {
        if scopes.contains(area) { return true }
        return try read { db in
            for table in ["grids", "households", "issues"] {
                var sql = "SELECT EXISTS (SELECT 1 FROM \(table) WHERE 1"
                var arguments: [DatabaseValueConvertible] = []
                Self.areaCondition(area, sql: &sql, arguments: &arguments)
                sql += table == "grids" ? " AND (name_zh IS NOT NULL OR name_bo IS NOT NULL)" : " AND IFNULL(deleted, 0) = 0"
                if try Bool.fetchOne(db, sql: sql + ")", arguments: StatementArguments(arguments)) == true { return true }
            }
            return false
        }
    }

    /// Makes the tree exactly `areas` (as `AreaTreeFile.parse` reads them): new areas are added,
    /// changed names renamed, and areas no longer listed removed (their names cleared). Removing
    /// an area under which households or issues exist is refused, and then nothing is changed.
    public func importAreas(_ areas: [AreaName]) throws(SyncCoreError) -> AreaImport {
        let rows = try Self.areaRows(areas)
        return try write { context in
            let db = context.db
            var current: [String: (Value, Value)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, name_zh, name_bo FROM grids WHERE name_zh IS NOT NULL OR name_bo IS NOT NULL")
            {
                current[row[0]] = (Self.textValue(row[1]), Self.textValue(row[2]))
            }
            return try Self.importAreas(rows, current: current, into: &context) { path in
                try ["households", "issues"].map { table in
                    var sql = "SELECT count(*) FROM \(table) WHERE IFNULL(deleted, 0) = 0"
                    var arguments: [DatabaseValueConvertible] = []
                    Self.areaCondition(path, sql: &sql, arguments: &arguments)
                    return (table, try Int.fetchOne(db, sql: sql, arguments: StatementArguments(arguments)) ?? 0)
                }
            }
        }
    }

    /// The grid rows' edits `areas` ask for, each name checked as the local API checks it.
    package static func areaRows(_ areas: [AreaName]) throws(SyncCoreError) -> [(path: String, edits: [(String, Value)])] {
        var rows: [(path: String, edits: [(String, Value)])] = []
        for a in areas {
            let path = try InputRules.grid(a.path)
            rows.append(
                (
                    path,
                    [
                        ("name_zh", try InputRules.text(a.nameZh, Schema.grids["name_zh"], field: .areaNameZh)),
                        ("name_bo", try InputRules.text(a.nameBo, Schema.grids["name_bo"], field: .areaNameBo)),
                    ]
                ))
        }
        return rows
    }

    /// The import itself, in any store: `current` holds the named areas' names now, `records`
    /// counts the living records of a table under an area (households, issues).
    package static func importAreas<Context: MergeContext>(
        _ rows: [(path: String, edits: [(String, Value)])], current: [String: (Value, Value)], into context: inout Context,
        records: (String) throws -> [(table: String, count: Int)]
    ) throws -> AreaImport {
        let listed = Set(rows.map(\.path))
        let gone = current.keys.filter { !listed.contains($0) }.sorted()
        var holding: [String] = []
        for path in gone {
            for (table, n) in try records(path) where n > 0 { holding.append("\(path) (\(n) \(table))") }
        }
        if !holding.isEmpty {
            throw SyncCoreError.invalidInput(
                "the file leaves out areas that hold records, which cannot be removed: " + holding.prefix(5).joined(separator: ", ")
                    + (holding.count > 5 ? " and \(holding.count - 5) more" : ""))
        }
        var result = AreaImport()
        for (path, edits) in rows {
            if let now = current[path] {
                if now.0 == edits[0].1 && now.1 == edits[1].1 {
                    result.unchanged += 1
                    continue
                }
                result.renamed.append(path)
            } else {
                result.added.append(path)
            }
            _ = try context.writeLocal(Schema.grids, id: path, grid: path, edits)
        }
        for path in gone {
            _ = try context.writeLocal(Schema.grids, id: path, grid: path, [("name_zh", .null), ("name_bo", .null)])
            result.removed.append(path)
        }
        return result
    }

    /// The edits naming area `path` (`putGrid`), checked.
    package static func gridEdits(nameZh: String?, nameBo: String?) throws(SyncCoreError) -> [(String, Value)] {
        [
            ("name_zh", try InputRules.text(nameZh, Schema.grids["name_zh"], field: .areaNameZh)),
            ("name_bo", try InputRules.text(nameBo, Schema.grids["name_bo"], field: .areaNameBo)),
        ]
    }

    package static func textValue(_ s: String?) -> Value { s.map { .text($0) } ?? .null }
}
