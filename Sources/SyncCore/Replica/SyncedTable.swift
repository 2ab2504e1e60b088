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

/// How a table's rows change once written.
public enum RowLifetime: Sendable, Equatable {
    /// Every column merges by its own rule (last writer wins, or sticky for tombstones).
    case mergeable
    /// Written once, whole, and never changed: a second, different write is refused (issue events).
    case writtenOnce
}

/// A table whose rows replicate: every column but `id` and `grid` carries a version and merges by
/// its rule (`ColumnRule`).
///
/// Each physical row also keeps `_clock` (the version of every column, see `ColumnClocks`) and
/// `_lv`, the local version of its last change, which orders the local change log.
///
/// A class, though it never changes: pulls and merges pass a table along with every row, and a
/// struct of this many fields cost a retain and a release of each at every copy.
public final class SyncedTable: Sendable {
    /// The SQL table name, also its name on the wire.
    public let name: String
    /// The rules of the merged columns, in storage order (the order of entries in `_clock`).
    public let rules: [ColumnRule]
    /// The merged columns, in storage order.
    public let columns: [String]
    /// The kind of each column, in the same order.
    public let kinds: [ColumnKind]
    /// Whether rows merge column by column or are written once.
    public let lifetime: RowLifetime
    /// Columns a new row must have (a row without them means nothing).
    public let required: [String]
    /// Whether values lost to concurrent writes here are kept as conflicts. Not for the conflicts
    /// table itself (two people resolving one conflict at once is last-writer-wins, not a new
    /// conflict), nor for rows written once.
    public let recordsConflicts: Bool
    private let indexByName: [String: Int]
    /// For a column that names the table a reference points into (`Reference.rowOfTableIn`), the
    /// storage position of that reference.
    let referenceNamedBy: [Int: Int]

    init(
        _ number: Int, _ name: String, lifetime: RowLifetime = .mergeable, required: [String] = [], recordsConflicts: Bool = true,
        _ rules: [ColumnRule]
    ) {
        self.number = number
        self.name = name
        self.rules = rules
        self.columns = rules.map(\.name)
        self.kinds = rules.map(\.kind)
        self.lifetime = lifetime
        self.required = required
        self.recordsConflicts = recordsConflicts && lifetime == .mergeable
        var index: [String: Int] = [:]
        for (i, c) in self.columns.enumerated() { index[c] = i }
        self.indexByName = index
        var named: [Int: Int] = [:]
        for (i, rule) in rules.enumerated() {
            if case let .rowOfTableIn(column) = rule.reference, let naming = index[column] { named[naming] = i }
        }
        self.referenceNamedBy = named
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

    /// The table's number in the change log: its position in `Schema.all`.
    package let number: Int

    /// The storage position of `column`, or nil if this table has no such merged column.
    public func index(of column: String) -> Int? { indexByName[column] }

    /// The rule of `column`; the column must exist (a programming error otherwise).
    public subscript(column: String) -> ColumnRule { rules[indexByName[column]!] }
}

/// The size limits every replica and the server apply, in UTF-8 bytes.
public enum Limits {
    /// A row id.
    public static let idBytes = 256
    /// A name, a place, a title.
    public static let shortText = 1024
    /// A note, a description: several paragraphs.
    public static let longText = 32 * 1024
    /// A person's name.
    public static let personName = 256
}

/// The synced tables of a replica: the domain of PRODUCT.md plus the conflicts people review. This
/// is the one description of the data model: kinds, sizes, formats, references and merge rules.
public enum Schema {
    static let tiers = IssueTier.allCases.map(\.rawValue)

    /// The grids of the area tree known to this replica (id and grid are the grid's path). Their
    /// names come from the operator; no device writes them (`WritePolicy`).
    public static let grids = SyncedTable(
        0, "grids",
        [
            ColumnRule("name_zh", .text, .text(maxBytes: 256)),
            ColumnRule("name_bo", .text, .text(maxBytes: 512)),
        ])

    /// The household register.
    public static let households = SyncedTable(
        1, "households",
        [
            ColumnRule("door_plate", .text, .text(maxBytes: 64)),
            ColumnRule("head_name_zh", .text, .text(maxBytes: 256)),
            ColumnRule("head_name_bo", .text, .text(maxBytes: 512)),
            ColumnRule("members", .integer, .integer(0...500)),
            ColumnRule("phone", .text, .phone),
            ColumnRule("location", .text, .text(maxBytes: Limits.shortText)),
            ColumnRule("tags", .text, .tags),
            ColumnRule("notes", .text, .text(maxBytes: Limits.longText, multiline: true)),
            ColumnRule("deleted", .integer, .integer(0...1), merge: .sticky),
        ])

    /// Issues. Their status and effective tier are derived from `issue_events`, never merged.
    public static let issues = SyncedTable(
        2, "issues",
        [
            ColumnRule("kind", .text, .oneOf(IssueKind.allCases.map(\.rawValue))),
            ColumnRule("tier", .text, .oneOf(tiers), setAtCreation: true),
            ColumnRule("title", .text, .text(maxBytes: Limits.shortText)),
            ColumnRule("description", .text, .text(maxBytes: Limits.longText, multiline: true)),
            ColumnRule("household_id", .text, .text(maxBytes: Limits.idBytes), references: .row(table: "households")),
            ColumnRule("location", .text, .text(maxBytes: Limits.shortText)),
            // Who recorded it: the enrolled person of the device that wrote it (the server checks).
            ColumnRule("reporter", .text, .text(maxBytes: Limits.personName), author: true, setAtCreation: true),
            ColumnRule("handler", .text, .text(maxBytes: Limits.personName)),
            ColumnRule("due_date", .text, .date),
            ColumnRule("deleted", .integer, .integer(0...1), merge: .sticky),
            // The resident who asked and how (document version 4).
            ColumnRule("requester", .text, .text(maxBytes: Limits.personName)),
            ColumnRule("channel", .text, .oneOf(IssueChannel.allCases.map(\.rawValue))),
        ])

    /// The append-only log of issue events: each written once, whole, and never edited or deleted.
    public static let issueEvents = SyncedTable(
        3, "issue_events", lifetime: .writtenOnce, required: ["issue_id", "kind", "at"],
        [
            ColumnRule("issue_id", .text, .text(maxBytes: Limits.idBytes), references: .row(table: "issues")),
            ColumnRule("kind", .text, .oneOf(IssueEventKind.allCases.map(\.rawValue))),
            ColumnRule("at", .integer, .writeTime),
            // Who did it: the enrolled person of the device that wrote it (the server checks).
            ColumnRule("actor", .text, .text(maxBytes: Limits.personName), author: true),
            ColumnRule("note", .text, .text(maxBytes: Limits.longText, multiline: true)),
            ColumnRule("tier", .text, .oneOf(tiers)),
            ColumnRule("from_tier", .text, .oneOf(tiers)),
            ColumnRule("satisfaction", .integer, .integer(1...5)),
            // Whom a dispatch sent the issue to (document version 4).
            ColumnRule("assignee", .text, .text(maxBytes: Limits.personName)),
        ])

    /// References to photos by SHA-256; the bytes travel separately.
    public static let photoRefs = SyncedTable(
        4, "photo_refs",
        [
            ColumnRule("owner_table", .text, .oneOf(PhotoOwner.allCases.map(\.rawValue))),
            ColumnRule("owner_id", .text, .text(maxBytes: Limits.idBytes), references: .rowOfTableIn(column: "owner_table")),
            ColumnRule("sha256", .text, .sha256),
            ColumnRule("caption", .text, .text(maxBytes: Limits.shortText)),
            ColumnRule("byte_count", .integer, .integer(0...Int64.max)),
            ColumnRule("deleted", .integer, .integer(0...1), merge: .sticky),
        ])

    /// Values that lost to a concurrent write, kept for a person to review. They replicate like any
    /// record, so every replica ends up with the same conflicts whichever one noticed them first.
    public static let conflicts = SyncedTable(
        5, "conflicts", recordsConflicts: false,
        [
            ColumnRule("tbl", .text, .oneOf(["grids", "households", "issues", "issue_events", "photo_refs"])),
            ColumnRule("row_id", .text, .text(maxBytes: Limits.idBytes), references: .rowOfTableIn(column: "tbl")),
            ColumnRule("col", .text, .text(maxBytes: 64)),
            ColumnRule("lost_value", .any, .anyValue(maxBytes: Limits.longText)),
            ColumnRule("lost_hlc", .integer, .timestamp),
            ColumnRule("lost_site", .text, .siteID),
            ColumnRule("resolved", .integer, .integer(0...1)),
            ColumnRule("resolved_by", .text, .text(maxBytes: Limits.personName), author: true),
            ColumnRule("resolution", .text, .text(maxBytes: Limits.longText, multiline: true)),
        ])

    /// Every synced table, in the order changesets list them.
    public static let all: [SyncedTable] = [grids, households, issues, issueEvents, photoRefs, conflicts]

    /// The change log's table number for entries of the `kept` table: data of a later release kept
    /// as it came (`Sender.keepsUnknown`).
    package static let keptNumber = 99

    // `number` must equal the position in `all`: it is stored in the change log.
    private static let byName: [String: SyncedTable] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The synced table called `name`, or nil.
    public static func table(named name: String) -> SyncedTable? { byName[name] }
}
