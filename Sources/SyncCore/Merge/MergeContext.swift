/// What the merge needs of the replica it merges into: rows by table and id, the events of an
/// issue, a clock and local versions. One implementation of the rules runs over two kinds:
/// `WriteContext`, a transaction on a replica's SQLite file, where every read and write goes to
/// the database as the merge meets it; and `LoadedRows`, rows a store loaded ahead for a batch of
/// pushes, where the merge runs in memory and the store writes what it produced in one
/// transaction (a database across a network cannot be asked row by row).
package protocol MergeContext {
    /// The site stamping this replica's own writes (the conflicts it records).
    var site: SiteID { get }
    /// The wall clock, corrected by what the replica learned from its server.
    var wallMillis: UInt64 { get }
    var clock: HybridLogicalClock { get set }
    /// The one timestamp of this transaction's local writes, once taken.
    var transactionTimestamp: HLCTimestamp? { get set }
    /// Issues whose events or initial tier changed in this transaction; their status is rederived.
    var touchedIssues: Set<String> { get set }
    /// Issues created by this transaction's merges: rederived only if events for them exist.
    var newIssues: Set<String> { get set }

    /// The next local version: one per row written, so the change log can be cut between any rows.
    mutating func nextLocalVersion() -> Int64
    /// Row `id` of `table`, or nil when this replica has never seen it.
    func loadRow(_ table: SyncedTable, id: String) throws -> StoredRow?
    /// The grid of row `id` of the table named `table`, or nil when this replica does not hold it.
    func grid(of id: String, in table: String) throws -> String?
    /// Writes `row` as row `id` of `table` under `localVersion`, and keeps the change log exact:
    /// one entry for this write, none left for versions no column of the row holds any more.
    mutating func storeRow(_ table: SyncedTable, id: String, row: StoredRow, localVersion: Int64, previous: StoredRow?) throws
    /// Keeps `row` as it came (a later release's data) under a new local version, so that pulls
    /// send it on; nil when the same row was kept before.
    mutating func keep(_ row: RowChanges) throws -> Int64?
    /// The tier issue `issueID` was reported at and its events (those in the issue's grid).
    func history(ofIssue issueID: String) throws -> (reported: IssueTier?, steps: [IssueLifecycle.Step])
    /// Whether any event names issue `issueID`.
    func hasEvents(issueID: String) throws -> Bool
    /// Stores the status and tier issue `issueID` stands at (derived, never synced).
    mutating func storeDerived(issueID: String, status: IssueStatus, tier: IssueTier) throws
}

extension MergeContext {
    /// The version stamping every local change of this transaction (one timestamp per transaction).
    package mutating func localStamp() throws -> Version {
        if let t = transactionTimestamp { return Version(timestamp: t, site: site) }
        let t = try clock.now(wallMillis: wallMillis)
        transactionTimestamp = t
        return Version(timestamp: t, site: site)
    }

    /// Takes in a remote timestamp, refusing it when too far ahead of the wall clock.
    package mutating func receive(_ remote: HLCTimestamp) throws(ClockError) {
        try clock.receive(remote, wallMillis: wallMillis)
    }

    /// Writes local edits to row `id` of `table` (creating it in `grid` if new): each column whose
    /// value changes gets this transaction's version, with the version it overwrote as its base.
    /// Returns false when nothing changed.
    @discardableResult
    package mutating func writeLocal(_ table: SyncedTable, id: String, grid: String, _ edits: [(String, Value)]) throws -> Bool {
        let previous = try loadRow(table, id: id)
        var row =
            previous
            ?? StoredRow(
                grid: grid, values: Array(repeating: .null, count: table.columns.count), clocks: ColumnClocks(count: table.columns.count))
        var changed: [Int] = []
        for (column, value) in edits {
            guard let i = table.index(of: column) else {
                throw SyncCoreError.invalidInput("\(table.name) has no column \(column)")
            }
            if row.values[i] == value && (row.clocks.entries[i].version != nil || value == .null) { continue }
            row.values[i] = value
            changed.append(i)
        }
        guard !changed.isEmpty else { return false }
        let version = try localStamp()
        // The same rules the merge applies on every replica: what is stored here can be sent.
        for i in changed {
            if let problem = table.rules[i].refusal(row.values[i], version: version) {
                throw SyncCoreError.invalidInput("\(table.name).\(problem)")
            }
        }
        let localVersion = nextLocalVersion()
        for i in changed {
            let old = row.clocks.entries[i].version
            row.clocks.entries[i] = ColumnClock(version: version, base: old, localVersion: localVersion)
        }
        try storeRow(table, id: id, row: row, localVersion: localVersion, previous: previous)
        return true
    }

    /// The status and tier issue `issueID` stands at, folded from its events.
    package func derive(issueID: String) throws -> (IssueStatus, IssueTier) {
        let (reported, steps) = try history(ofIssue: issueID)
        return IssueLifecycle.derive(reportedTier: reported ?? .small, events: steps)
    }

    /// Stores the derived status and tier of every issue touched in this transaction.
    package mutating func rederiveTouchedIssues() throws {
        for id in newIssues where try hasEvents(issueID: id) {
            touchedIssues.insert(id)
        }
        newIssues.removeAll()
        for id in touchedIssues {
            let (status, tier) = try derive(issueID: id)
            try storeDerived(issueID: id, status: status, tier: tier)
        }
        touchedIssues.removeAll()
    }
}
