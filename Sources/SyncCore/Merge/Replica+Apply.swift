import GRDB

extension Replica {
    /// Merges a changeset from another replica in one transaction.
    ///
    /// Idempotent, commutative and associative (see protocol.md, "Merge rules"). A change that
    /// breaks a rule is refused with its reason while the others are applied; `scopes`, when given,
    /// limits the grids the sender may write.
    public func apply(_ changeset: Changeset, scopes: [AreaPath]? = nil) throws(SyncCoreError) -> ApplyReport {
        try apply(batch: [(changeset, scopes)])[0]
    }

    /// Merges several changesets, each with the scopes of its sender, in one transaction (one
    /// commit, one fsync): a server applies the pushes of many devices together this way.
    public func apply(batch: [(Changeset, [AreaPath]?)]) throws(SyncCoreError) -> [ApplyReport] {
        try write { context in
            var reports: [ApplyReport] = []
            for (changeset, scopes) in batch {
                var merger = Merger(scopes: scopes)
                for row in changeset.rows {
                    try merger.apply(row, context: &context)
                }
                try merger.recordConflicts(context: &context)
                reports.append(merger.report)
            }
            try context.rederiveTouchedIssues()
            return reports
        }
    }
}

/// The state of one apply: its report, the conflicts to record and the grids already validated.
private struct Merger {
    let scopes: [AreaPath]?
    var report = ApplyReport()
    var conflicts: [Conflict] = []
    var validGrids: Set<String> = []
    static let maxIDBytes = 256
    static let maxTextBytes = 64 * 1024

    init(scopes: [AreaPath]?) { self.scopes = scopes }

    mutating func reject(_ row: RowChanges, _ changes: [ColumnChange], _ reason: RejectionReason) {
        for c in changes {
            report.rejected.append(RejectedChange(table: row.table, rowID: row.rowID, column: c.column, reason: reason))
        }
    }

    mutating func apply(_ incoming: RowChanges, context: inout WriteContext) throws {
        guard let table = Schema.table(named: incoming.table) else {
            return reject(incoming, incoming.changes, .unknownTable(incoming.table))
        }
        if let reason = validate(incoming) { return reject(incoming, incoming.changes, reason) }
        let existing = try context.loadRow(table, id: incoming.rowID)
        if let existing, existing.grid != incoming.grid {
            return reject(incoming, incoming.changes, .gridMismatch(existing: existing.grid))
        }
        var row =
            existing
            ?? StoredRow(
                grid: incoming.grid, values: Array(repeating: .null, count: table.columns.count),
                clocks: ColumnClocks(count: table.columns.count))
        var taken: [Int] = []
        for change in incoming.changes {
            guard let i = table.index(of: change.column) else {
                reject(incoming, [change], .unknownColumn(change.column))
                continue
            }
            if let reason = validate(change, kind: table.kinds[i]) ?? DomainRules.check(table: table.name, change: change) {
                reject(incoming, [change], reason)
                continue
            }
            do {
                try context.receive(change.version.timestamp)
            } catch {
                reject(incoming, [change], .clockSkew(error))
                continue
            }
            let clock = row.clocks.entries[i]
            let local = clock.version.map { MergeRule.Side(value: row.values[i], version: $0, base: clock.base) }
            let remote = MergeRule.Side(value: change.value, version: change.version, base: change.base)
            switch MergeRule.merge(column: change.column, local: local, incoming: remote) {
            case .unchanged:
                report.unchanged += 1
            case let .keepLocal(lost):
                report.unchanged += 1
                if lost && table.recordsConflicts {
                    conflicts.append(Conflict(table: table.name, row: incoming, column: change.column, lost: remote))
                }
            case let .takeIncoming(lost):
                if lost && table.recordsConflicts, let local {
                    conflicts.append(Conflict(table: table.name, row: incoming, column: change.column, lost: local))
                }
                row.values[i] = change.value
                row.clocks.entries[i].version = change.version
                row.clocks.entries[i].base = change.base
                taken.append(i)
                report.applied += 1
            }
        }
        guard !taken.isEmpty else { return }
        let localVersion = context.nextLocalVersion()
        for i in taken { row.clocks.entries[i].localVersion = localVersion }
        try context.storeRow(table, id: incoming.rowID, row: row, localVersion: localVersion, previous: existing)
        report.storedVersions.append(localVersion)
        if table.name == Schema.issues.name {
            // A new issue needs its status derived only if its events came first; an issue's tier
            // change always needs it.
            if existing == nil {
                context.newIssues.insert(incoming.rowID)
            } else if taken.contains(table.index(of: "tier")!) {
                context.touchedIssues.insert(incoming.rowID)
            }
        } else if table.name == Schema.issueEvents.name, let issue = row.values[table.index(of: "issue_id")!].text {
            context.touchedIssues.insert(issue)
        }
    }

    /// Checks the row's id, grid and scope; nil when fine.
    mutating func validate(_ row: RowChanges) -> RejectionReason? {
        if row.rowID.isEmpty || row.rowID.utf8.count > Self.maxIDBytes {
            return .invalid("row id must be 1 to \(Self.maxIDBytes) bytes")
        }
        if !validGrids.contains(row.grid) {
            do { _ = try AreaPath(row.grid) } catch { return .invalid(error.description) }
            validGrids.insert(row.grid)
        }
        if !AreaPath.isInScopes(row.grid, scopes) { return .outOfScope(grid: row.grid) }
        return nil
    }

    func validate(_ change: ColumnChange, kind: ColumnKind) -> RejectionReason? {
        if !kind.accepts(change.value) { return .typeMismatch(column: change.column) }
        if change.version.timestamp == .zero || change.version.site.rawValue == 0 {
            return .invalid("zero version")
        }
        if change.version.timestamp.rawValue > UInt64(Int64.max) || (change.base?.timestamp.rawValue ?? 0) > UInt64(Int64.max) {
            return .invalid("timestamp beyond 2^63")
        }
        if let s = change.value.text, s.utf8.count > Self.maxTextBytes {
            return .invalid("text longer than \(Self.maxTextBytes) bytes")
        }
        return nil
    }

    /// Writes the conflicts noticed, after every remote timestamp was received, so their stamps are
    /// later than all of them.
    mutating func recordConflicts(context: inout WriteContext) throws {
        for conflict in conflicts where try conflict.record(context: &context) {
            report.conflictsFound += 1
        }
    }
}
