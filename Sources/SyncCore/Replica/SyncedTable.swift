/// The kind of value a synced column holds.
public enum ColumnKind: Sendable {
    case text
    case integer
    /// Any SQLite value (used where a column keeps another column's value, as conflicts do).
    case any

    /// True when `value` may be stored in a column of this kind.
    func accepts(_ value: Value) -> Bool {
        switch (self, value) {
        case (_, .null), (.any, _), (.text, .text), (.integer, .integer): return true
        default: return false
        }
    }

    var sqlType: String {
        switch self {
        case .text: return "TEXT"
        case .integer: return "INTEGER"
        case .any: return "BLOB"
        }
    }
}

/// A table whose rows replicate: every column but `id` and `grid` merges by last-writer-wins.
///
/// Each physical row also keeps `_clock` (the version of every column, see `ColumnClocks`) and
/// `_lv`, the local version of its last change, which orders the local change log.
public struct SyncedTable: Sendable {
    /// The SQL table name, also its name on the wire.
    public let name: String
    /// The merged columns, in storage order (the order of entries in `_clock`).
    public let columns: [String]
    /// The kind of each column, in the same order.
    public let kinds: [ColumnKind]
    private let indexByName: [String: Int]

    init(_ number: Int, _ name: String, _ columns: KeyValuePairs<String, ColumnKind>) {
        self.number = number
        self.name = name
        self.columns = columns.map(\.key)
        self.kinds = columns.map(\.value)
        var index: [String: Int] = [:]
        for (i, c) in self.columns.enumerated() { index[c] = i }
        self.indexByName = index
        selectRowSQL = "SELECT grid, _clock, \(self.columns.joined(separator: ", ")) FROM \(name) WHERE id = ?"
        let names = (["id", "grid"] + self.columns + ["_clock", "_lv"])
        let marks = Array(repeating: "?", count: names.count).joined(separator: ", ")
        let updates = (self.columns + ["_clock", "_lv"]).map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        upsertSQL = "INSERT INTO \(name) (\(names.joined(separator: ", "))) VALUES (\(marks)) ON CONFLICT(id) DO UPDATE SET \(updates)"
    }

    /// Reads one row's grid, clocks and merged columns (built once: merges run it per row).
    let selectRowSQL: String
    /// Inserts or updates one row whole.
    let upsertSQL: String

    /// Whether values lost to concurrent writes here are kept as conflicts. Not for the conflicts
    /// table itself: two people resolving one conflict at once is last-writer-wins, not a new conflict.
    /// Nor for issue events, which are written once and never edited.
    var recordsConflicts: Bool { name != "conflicts" && name != "issue_events" }

    /// The table's number in the change log: its position in `Schema.all`.
    let number: Int

    /// The storage position of `column`, or nil if this table has no such merged column.
    public func index(of column: String) -> Int? { indexByName[column] }

}

/// The synced tables of a replica: the domain of PRODUCT.md plus the conflicts people review.
public enum Schema {
    /// The grids of the area tree known to this replica (id and grid are the grid's path).
    public static let grids = SyncedTable(0, "grids", ["name_zh": .text, "name_bo": .text])

    /// The household register.
    public static let households = SyncedTable(
        1, "households",
        [
            "door_plate": .text, "head_name_zh": .text, "head_name_bo": .text, "members": .integer,
            "phone": .text, "location": .text, "tags": .text, "notes": .text, "deleted": .integer,
        ])

    /// Issues. Their status and effective tier are derived from `issue_events`, never merged.
    public static let issues = SyncedTable(
        2, "issues",
        [
            "kind": .text, "tier": .text, "title": .text, "description": .text, "household_id": .text,
            "location": .text, "reporter": .text, "handler": .text, "due_date": .text, "deleted": .integer,
        ])

    /// The append-only log of issue events: written once, never edited or deleted.
    public static let issueEvents = SyncedTable(
        3, "issue_events",
        [
            "issue_id": .text, "kind": .text, "at": .integer, "actor": .text, "note": .text,
            "tier": .text, "from_tier": .text, "satisfaction": .integer,
        ])

    /// References to photos by SHA-256; the bytes travel separately.
    public static let photoRefs = SyncedTable(
        4, "photo_refs",
        [
            "owner_table": .text, "owner_id": .text, "sha256": .text, "caption": .text,
            "byte_count": .integer, "deleted": .integer,
        ])

    /// Values that lost to a concurrent write, kept for a person to review. They replicate like any
    /// record, so every replica ends up with the same conflicts whichever one noticed them first.
    public static let conflicts = SyncedTable(
        5, "conflicts",
        [
            "tbl": .text, "row_id": .text, "col": .text, "lost_value": .any, "lost_hlc": .integer,
            "lost_site": .text, "resolved": .integer, "resolved_by": .text, "resolution": .text,
        ])

    /// Every synced table, in the order changesets list them.
    public static let all: [SyncedTable] = [grids, households, issues, issueEvents, photoRefs, conflicts]

    // `number` must equal the position in `all`: it is stored in the change log.
    private static let byName: [String: SyncedTable] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The synced table called `name`, or nil.
    public static func table(named name: String) -> SyncedTable? { byName[name] }
}
