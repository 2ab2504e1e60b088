import Foundation

/// One column's new value, with the version that stamps it and the version its writer overwrote.
public struct ColumnChange: Hashable, Sendable {
    /// The column's name.
    public var column: String
    /// The value written.
    public var value: Value
    /// Who wrote it and when.
    public var version: Version
    /// The version the writer saw in this column when writing (nil: the column was empty for it).
    /// It tells a knowing overwrite from a concurrent one.
    public var base: Version?

    /// A change of `column` to `value`, stamped `version`, overwriting `base`.
    public init(column: String, value: Value, version: Version, base: Version?) {
        self.column = column
        self.value = value
        self.version = version
        self.base = base
    }
}

/// The changes to one row of one synced table; `grid` places the row in the area tree.
public struct RowChanges: Hashable, Sendable {
    /// The synced table's name.
    public var table: String
    /// The row's id.
    public var rowID: String
    /// The row's grid (fixed when the row is created).
    public var grid: String
    /// The columns that changed.
    public var changes: [ColumnChange]

    /// Changes to row `rowID` of `table` in `grid`.
    public init(table: String, rowID: String, grid: String, changes: [ColumnChange]) {
        self.table = table
        self.rowID = rowID
        self.grid = grid
        self.changes = changes
    }
}

/// A set of column changes grouped by row: what one replica sends another.
public struct Changeset: Hashable, Sendable {
    /// The rows and their changed columns.
    public var rows: [RowChanges]

    /// A changeset of these rows.
    public init(rows: [RowChanges] = []) { self.rows = rows }

    /// The number of column changes.
    public var changeCount: Int { rows.reduce(0) { $0 + $1.changes.count } }

    /// True when there is nothing to send.
    public var isEmpty: Bool { rows.isEmpty }
}

/// A bounded slice of a replica's change log.
public struct ChangeBatch: Sendable {
    /// The changes, at most the requested number (one larger row excepted).
    public var changeset: Changeset
    /// The local version to ask `changes(since:)` for next; everything up to it is in this or an
    /// earlier batch.
    public var cursor: Int64
    /// True when more changes follow `cursor`.
    public var hasMore: Bool
}

/// A string compared and hashed by its UTF-8 bytes. Swift's `String` equality treats canonically
/// equivalent texts (a precomposed and a decomposed vowel sign) as equal; an encoder that shared one
/// entry between them would change the bytes a receiver stores.
package struct ExactString: Hashable, Sendable {
    package let string: String

    package init(_ string: String) { self.string = string }

    package static func == (a: Self, b: Self) -> Bool { a.string.hasSameBytes(as: b.string) }

    package func hash(into hasher: inout Hasher) {
        var copy = string
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

extension String {
    /// Whether the two hold the same UTF-8 bytes (`==` takes canonically equivalent texts as
    /// equal). The lengths first, then one `memcmp`: comparing the two `utf8` views element by
    /// element was 4-7% of the sync server's time in the realistic mix.
    package func hasSameBytes(as other: String) -> Bool {
        let (a, b) = (utf8, other.utf8)
        guard a.count == b.count else { return false }
        let compared = a.withContiguousStorageIfAvailable { x in
            b.withContiguousStorageIfAvailable { y in x.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 }
        }
        if let compared, let same = compared { return same }
        return a.elementsEqual(b)
    }
}
