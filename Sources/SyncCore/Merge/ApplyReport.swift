/// Why one incoming change was refused; the rest of its changeset is still applied.
public enum RejectionReason: Error, Hashable, Sendable, CustomStringConvertible {
    /// The timestamp lies too far ahead of this replica's clock.
    case clockSkew(ClockError)
    /// The row's grid is not under any of the scopes the sender may write.
    case outOfScope(grid: String)
    /// No synced table has this name.
    case unknownTable(String)
    /// The table has no such column.
    case unknownColumn(String)
    /// The value's kind does not fit the column (e.g. text into an integer column).
    case typeMismatch(column: String)
    /// The row exists here in another grid; a record never moves between grids.
    case gridMismatch(existing: String)
    /// The change breaks a rule of the data (bad id, bad grid path, oversized text, zero version).
    case invalid(String)
    /// A reference names a row of another grid: a record may name only rows of its own grid.
    case crossGrid(column: String, target: String)
    /// The row is written once (an issue event): a second, different write of it is refused.
    case writtenOnce(String)
    /// The change carries another device's site id: a device writes under its own site only.
    case forgedSite(SiteID)
    /// An author column (`actor`, `reporter`) names someone other than the sender's enrolled person.
    case forgedAuthor(column: String, enrolled: String?)
    /// The sender's role may not write this (see `WritePolicy`).
    case notPermitted(String)

    /// A short, stable code for logs and the wire protocol.
    public var code: String {
        switch self {
        case .clockSkew: return "clock_skew"
        case .outOfScope: return "out_of_scope"
        case .unknownTable: return "unknown_table"
        case .unknownColumn: return "unknown_column"
        case .typeMismatch: return "type_mismatch"
        case .gridMismatch: return "grid_mismatch"
        case .invalid: return "invalid"
        case .crossGrid: return "cross_grid"
        case .writtenOnce: return "written_once"
        case .forgedSite: return "forged_site"
        case .forgedAuthor: return "forged_author"
        case .notPermitted: return "not_permitted"
        }
    }

    public var description: String {
        switch self {
        case let .clockSkew(e): return e.description
        case let .outOfScope(grid): return "grid \(grid) is outside the sender's scopes"
        case let .unknownTable(t): return "unknown table \(t)"
        case let .unknownColumn(c): return "unknown column \(c)"
        case let .typeMismatch(c): return "wrong value type for column \(c)"
        case let .gridMismatch(existing): return "row belongs to grid \(existing)"
        case let .invalid(m): return m
        case let .crossGrid(column, target): return "\(column) names a row of grid \(target); a record references only rows of its own grid"
        case let .writtenOnce(m): return m
        case let .forgedSite(site): return "the change carries site \(site.hex), which is not this device's"
        case let .forgedAuthor(column, enrolled):
            return "\(column) must be the device's enrolled person (\(enrolled.map { "\"\($0)\"" } ?? "no name"))"
        case let .notPermitted(m): return m
        }
    }
}

/// One refused change and the reason.
public struct RejectedChange: Hashable, Sendable {
    /// The table named by the change.
    public var table: String
    /// The row named by the change.
    public var rowID: String
    /// The column named by the change.
    public var column: String
    /// Why it was refused.
    public var reason: RejectionReason
}

/// What `Replica.apply(_:)` did with a changeset.
public struct ApplyReport: Sendable {
    /// Changes whose value now stands here.
    public var applied = 0
    /// Changes already known, or older than what stands here.
    public var unchanged = 0
    /// Changes refused, each with its reason.
    public var rejected: [RejectedChange] = []
    /// Conflicts this apply noticed (values lost to a concurrent write).
    public var conflictsFound = 0
    /// Changes of tables, columns or values this release does not know, kept as they came.
    public var kept = 0
    /// The local versions this changeset's rows were stored under. A server leaves them out of the
    /// same device's pull (`changes(since:skipping:)`): the device has what it sent.
    public var storedVersions: [Int64] = []

    /// The report of an apply that had nothing to merge.
    public init() {}
}
