/// The rows a store loaded for one batch of pushes, and what merging the batch into them produced:
/// the merge run away from the database, for a store that cannot be asked row by row (PostgreSQL
/// across a network: a round trip per row would cost more than the merge).
///
/// The store loads what the batch names (`RowWants(for:)`), merges, and looks at `missing`: what
/// the merge asked for that was not loaded (a reference the batch does not name, a conflict
/// recorded before). It then loads that as well and merges again from the start; the merge is
/// deterministic, so the second run sees what the first would have seen in the database.
///
/// Local versions are provisional, -1, -2, … in the order taken, so that the store can number them
/// when it commits (`numbered(from:)`): commit order is what makes "every change after cursor N"
/// safe when several transactions write at once.
package struct LoadedRows: MergeContext {
    /// A row by table number (`SyncedTable.number`) and id, the id compared byte for byte as the
    /// databases compare it (Swift's `==` would take two canonically equivalent ids, "é" written
    /// as one code point and as two, for one row).
    package struct Key: Hashable, Sendable {
        package var table: Int
        package var id: String

        package init(table: Int, id: String) {
            self.table = table
            self.id = id
        }

        package static func == (a: Key, b: Key) -> Bool { a.table == b.table && a.id.hasSameBytes(as: b.id) }

        package func hash(into hasher: inout Hasher) {
            hasher.combine(table)
            hasher.combine(ExactString(id))
        }
    }

    /// One change-log entry written by the merge.
    package struct LogEntry: Equatable, Sendable {
        package var localVersion: Int64
        package var table: Int
        package var id: String
        package var grid: String
    }

    /// A row of a later release's data, kept as it came.
    package struct KeptRow: Sendable {
        package var blob: [UInt8]
        package var row: RowChanges
        package var localVersion: Int64
    }

    package let site: SiteID
    let wallClock: any WallClock
    let clockOffsetMillis: Int64
    package var clock: HybridLogicalClock
    package var transactionTimestamp: HLCTimestamp?
    package var touchedIssues: Set<String> = []
    package var newIssues: Set<String> = []
    private var provisional: Int64 = 0

    // What the store loaded.
    private var rows: [Key: StoredRow] = [:]
    private var absent: Set<Key> = []
    /// Issues all of whose events are among `rows`, with their events' ids.
    private var eventsOf: [ExactString: Set<ExactString>] = [:]
    private var keptBlobs: Set<[UInt8]> = []
    private var keptLooked: Set<[UInt8]> = []

    // What the merge produced.
    /// The rows written, as they now stand.
    package private(set) var written: [Key: StoredRow] = [:]
    /// The change-log entries to add, in the order written.
    package private(set) var log: [LogEntry] = []
    /// Stored local versions that no column holds any more: their change-log entries go.
    package private(set) var superseded: Set<Int64> = []
    package private(set) var kept: [KeptRow] = []
    /// The status and tier of each issue rederived.
    package private(set) var derived: [String: (status: IssueStatus, tier: IssueTier)] = [:]

    /// A context for `site`, its clock last at `clock`.
    package init(site: SiteID, clock: HybridLogicalClock, wallClock: any WallClock, clockOffsetMillis: Int64 = 0) {
        self.site = site
        self.clock = clock
        self.wallClock = wallClock
        self.clockOffsetMillis = clockOffsetMillis
    }

    package var wallMillis: UInt64 {
        let raw = Int64(clamping: wallClock.nowMillis())
        return UInt64(max(0, raw &+ clockOffsetMillis))
    }

    // MARK: Loading

    /// Records row `key` as the store holds it (nil: it does not).
    package mutating func load(_ key: Key, _ row: StoredRow?) {
        if let row {
            rows[key] = row
            absent.remove(key)
            if key.table == Schema.issueEvents.number, let issue = row.values[Self.issueColumn].text {
                eventsOf[ExactString(issue)]?.insert(ExactString(key.id))
            }
        } else {
            rows[key] = nil
            absent.insert(key)
        }
    }

    /// Records that every event of issue `issueID` the store holds was loaded (with `load`).
    package mutating func loadedAllEvents(of issueID: String) {
        let issue = ExactString(issueID)
        guard eventsOf[issue] == nil else { return }
        var ids: Set<ExactString> = []
        for (key, row) in rows where key.table == Schema.issueEvents.number {
            if let named = row.values[Self.issueColumn].text, ExactString(named) == issue { ids.insert(ExactString(key.id)) }
        }
        eventsOf[issue] = ids
    }

    /// Records whether the store keeps a row encoded as `blob`.
    package mutating func loadKept(_ blob: [UInt8], exists: Bool) {
        keptLooked.insert(blob)
        if exists { keptBlobs.insert(blob) }
    }

    /// Merges `batch` (see `Replica.merge`) into a copy of these rows; the reports count only
    /// if the copy's `missed` is empty.
    package func merged(_ batch: [(Changeset, Sender)]) throws -> (LoadedRows, [ApplyReport]) {
        var attempt = self
        attempt.misses = Misses()
        let reports = try Replica.merge(batch, into: &attempt)
        return (attempt, reports)
    }

    // MARK: Numbering

    /// How many local versions the merge took (provisional: -1 through -count).
    package var versionsTaken: Int64 { -provisional }

    /// The merge's writes with the local versions it took numbered `base + 1` through
    /// `base + versionsTaken`, in the order taken: the rows (their column clocks renumbered), the
    /// change-log entries and the kept rows.
    package func numbered(after base: Int64) -> (rows: [(Key, StoredRow)], log: [LogEntry], kept: [KeptRow]) {
        func number(_ lv: Int64) -> Int64 { lv < 0 ? base - lv : lv }
        let rows = written.map { key, row -> (Key, StoredRow) in
            var row = row
            for i in row.clocks.entries.indices { row.clocks.entries[i].localVersion = number(row.clocks.entries[i].localVersion) }
            return (key, row)
        }
        let log = self.log.map { LogEntry(localVersion: number($0.localVersion), table: $0.table, id: $0.id, grid: $0.grid) }
        let kept = self.kept.map { KeptRow(blob: $0.blob, row: $0.row, localVersion: number($0.localVersion)) }
        return (rows, log, kept)
    }

    // MARK: MergeContext

    package mutating func nextLocalVersion() -> Int64 {
        provisional -= 1
        return provisional
    }

    package func loadRow(_ table: SyncedTable, id: String) throws -> StoredRow? {
        let key = Key(table: table.number, id: id)
        if let row = rows[key] { return row }
        if !absent.contains(key) { noteMissing(key) }
        return nil
    }

    package func grid(of id: String, in table: String) throws -> String? {
        guard let synced = Schema.table(named: table) else { return nil }
        return try loadRow(synced, id: id)?.grid
    }

    package mutating func storeRow(_ table: SyncedTable, id: String, row: StoredRow, localVersion: Int64, previous: StoredRow?) throws {
        let key = Key(table: table.number, id: id)
        rows[key] = row
        absent.remove(key)
        written[key] = row
        log.append(LogEntry(localVersion: localVersion, table: table.number, id: id, grid: row.grid))
        if table.number == Schema.issueEvents.number, let issue = row.values[Self.issueColumn].text {
            eventsOf[ExactString(issue)]?.insert(ExactString(id))
        }
        if let previous {
            for old in row.versionsDropped(since: previous) {
                if old < 0 {
                    log.removeAll { $0.localVersion == old }
                } else {
                    superseded.insert(old)
                }
            }
        }
    }

    package mutating func keep(_ row: RowChanges) throws -> Int64? {
        let blob = ChangesetEncoding.encode(Changeset(rows: [row]))
        if keptBlobs.contains(blob) { return nil }
        if !keptLooked.contains(blob) { noteMissingKept(blob) }
        let localVersion = nextLocalVersion()
        keptBlobs.insert(blob)
        keptLooked.insert(blob)
        kept.append(KeptRow(blob: blob, row: row, localVersion: localVersion))
        log.append(LogEntry(localVersion: localVersion, table: Schema.keptNumber, id: "", grid: row.grid))
        return localVersion
    }

    package func history(ofIssue issueID: String) throws -> (reported: IssueTier?, steps: [IssueLifecycle.Step]) {
        let issue = try loadRow(Schema.issues, id: issueID)
        guard let ids = eventsOf[ExactString(issueID)] else {
            noteMissingEvents(issueID)
            return (nil, [])
        }
        let tierColumn = Schema.issues.index(of: "tier")!
        let events = Schema.issueEvents
        var steps: [IssueLifecycle.Step] = []
        for exact in ids {
            let id = exact.string
            // The events in the issue's grid (as the SQLite store joins them).
            guard let row = rows[Key(table: events.number, id: id)], row.grid == issue?.grid,
                let kind = row.values[events.index(of: "kind")!].text.flatMap(IssueEventKind.init)
            else { continue }
            steps.append(
                IssueLifecycle.Step(
                    kind: kind, at: HLCTimestamp(stored: row.values[events.index(of: "at")!].integer), id: id,
                    tier: row.values[events.index(of: "tier")!].text.flatMap(IssueTier.init),
                    fromTier: row.values[events.index(of: "from_tier")!].text.flatMap(IssueTier.init)))
        }
        return (issue?.values[tierColumn].text.flatMap(IssueTier.init), steps)
    }

    package func hasEvents(issueID: String) throws -> Bool {
        guard let ids = eventsOf[ExactString(issueID)] else {
            noteMissingEvents(issueID)
            return false
        }
        return !ids.isEmpty
    }

    package mutating func storeDerived(issueID: String, status: IssueStatus, tier: IssueTier) throws {
        derived[issueID] = (status, tier)
    }

    // MARK: Misses
    // Noted through a reference: `loadRow` is non-mutating in `MergeContext`, as it is for SQLite.

    private var misses = Misses()
    private static let issueColumn = Schema.issueEvents.index(of: "issue_id")!

    private final class Misses {
        var wants = RowWants()
    }

    private func noteMissing(_ key: Key) { misses.wants.rows.insert(key) }
    private func noteMissingEvents(_ issueID: String) { misses.wants.eventsOf.insert(ExactString(issueID)) }
    private func noteMissingKept(_ blob: [UInt8]) { misses.wants.kept.insert(blob) }

    /// What the merge asked for that was not loaded.
    package var missed: RowWants { misses.wants }
}

/// What a store loads before a merge: rows by key, every event of some issues, kept blobs.
package struct RowWants: Equatable, Sendable {
    package var rows: Set<LoadedRows.Key> = []
    package var eventsOf: Set<ExactString> = []
    package var kept: Set<[UInt8]> = []

    package var isEmpty: Bool { rows.isEmpty && eventsOf.isEmpty && kept.isEmpty }

    package init() {}

    /// What merging `batch` will read, as far as the batch tells: its rows, the rows they
    /// reference, the issues their events name with all their events, and kept rows.
    package init(for batch: [(Changeset, Sender)]) {
        for (changeset, _) in batch {
            for row in changeset.rows {
                guard let table = Schema.table(named: row.table) else {
                    kept.insert(ChangesetEncoding.encode(Changeset(rows: [row])))
                    continue
                }
                rows.insert(LoadedRows.Key(table: table.number, id: row.rowID))
                if table.number == Schema.issues.number { eventsOf.insert(ExactString(row.rowID)) }
                for change in row.changes {
                    guard let i = table.index(of: change.column), let id = change.value.text else { continue }
                    switch table.rules[i].reference {
                    case let .row(name)?:
                        if let target = Schema.table(named: name) { rows.insert(LoadedRows.Key(table: target.number, id: id)) }
                    case let .rowOfTableIn(column)?:
                        if let name = row.changes.last(where: { $0.column == column })?.value.text, let target = Schema.table(named: name) {
                            rows.insert(LoadedRows.Key(table: target.number, id: id))
                        }
                    case nil:
                        break
                    }
                    if table.number == Schema.issueEvents.number && change.column == "issue_id" {
                        rows.insert(LoadedRows.Key(table: Schema.issues.number, id: id))
                        eventsOf.insert(ExactString(id))
                    }
                }
            }
        }
    }

    /// Adds what `other` wants.
    package mutating func formUnion(_ other: RowWants) {
        rows.formUnion(other.rows)
        eventsOf.formUnion(other.eventsOf)
        kept.formUnion(other.kept)
    }
}
