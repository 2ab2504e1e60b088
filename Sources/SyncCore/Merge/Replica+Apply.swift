import GRDB

extension Replica {
    /// Merges a changeset from another replica in one transaction.
    ///
    /// Idempotent, commutative and associative (see protocol.md, "Merge rules"). A change that
    /// breaks a rule is refused with its reason while the others are applied; `scopes`, when given,
    /// limits the grids the sender may write.
    public func apply(_ changeset: Changeset, scopes: [AreaPath]? = nil) throws(SyncCoreError) -> ApplyReport {
        try apply(batch: [(changeset, Sender(scopes: scopes))])[0]
    }

    /// Merges a changeset from `sender`, whose identity rules apply besides the data's own.
    public func apply(_ changeset: Changeset, from sender: Sender) throws(SyncCoreError) -> ApplyReport {
        try apply(batch: [(changeset, sender)])[0]
    }

    /// Merges several changesets, each with its sender, in one transaction (one commit, one
    /// fsync): a server applies the pushes of many devices together this way.
    public func apply(batch: [(Changeset, Sender)]) throws(SyncCoreError) -> [ApplyReport] {
        try write { context in try Self.merge(batch, into: &context) }
    }

    /// Merges `batch` into `context`, each changeset with its sender's rules, and rederives the
    /// issues it touched: the whole merge, whatever holds the rows.
    static func merge<Context: MergeContext>(_ batch: [(Changeset, Sender)], into context: inout Context) throws -> [ApplyReport] {
        var reports: [ApplyReport] = []
        for (changeset, sender) in batch {
            var merger = Merger(sender: sender)
            // Records before what names them (households, issues, then events, photos,
            // conflicts): a push that made an issue and closed it is checked against that
            // issue. The order of rows does not change what a merge stores.
            for row in referencesLast(changeset.rows) {
                try merger.apply(row, context: &context)
            }
            for row in merger.unknownRows { try merger.keep(row, context: &context) }
            try merger.recordConflicts(context: &context)
            reports.append(merger.report)
        }
        try context.rederiveTouchedIssues()
        return reports
    }
}

extension Replica {
    /// `rows` in the order of `Schema.all`, keeping the order within each table.
    static func referencesLast(_ rows: [RowChanges]) -> [RowChanges] {
        var ordered = true
        var last = -1
        for row in rows {
            let n = Schema.table(named: row.table)?.number ?? Schema.all.count
            if n < last {
                ordered = false
                break
            }
            last = n
        }
        if ordered { return rows }
        return rows.enumerated().sorted {
            let a = Schema.table(named: $0.element.table)?.number ?? Schema.all.count
            let b = Schema.table(named: $1.element.table)?.number ?? Schema.all.count
            return a != b ? a < b : $0.offset < $1.offset
        }.map(\.element)
    }
}

/// The state of one apply: its report, the conflicts to record and the grids already validated.
private struct Merger {
    let sender: Sender
    var report = ApplyReport()
    var conflicts: [Conflict] = []
    var validGrids: Set<String> = []
    /// Changes of columns or values a later release defines, kept after their row is merged.
    var unknownRows: [RowChanges] = []

    init(sender: Sender) { self.sender = sender }

    mutating func reject(_ row: RowChanges, _ changes: [ColumnChange], _ reason: RejectionReason) {
        for c in changes {
            report.rejected.append(RejectedChange(table: row.table, rowID: row.rowID, column: c.column, reason: reason))
        }
    }

    mutating func apply<Context: MergeContext>(_ incoming: RowChanges, context: inout Context) throws {
        guard let table = Schema.table(named: incoming.table) else {
            if sender.keepsUnknown { return try keep(incoming, context: &context) }
            return reject(incoming, incoming.changes, .unknownTable(incoming.table))
        }
        if let reason = validate(incoming) { return reject(incoming, incoming.changes, reason) }
        if let role = sender.role, let refusal = WritePolicy.refusal(role: role, table: table.name) {
            return reject(incoming, incoming.changes, .notPermitted(refusal))
        }
        let existing = try context.loadRow(table, id: incoming.rowID)
        if let existing, existing.grid != incoming.grid {
            return reject(incoming, incoming.changes, .gridMismatch(existing: existing.grid))
        }
        if table.lifetime == .writtenOnce, let reason = try checkWrittenOnce(incoming, table: table, existing: existing, context: context) {
            return reject(incoming, incoming.changes, reason)
        }
        if table.lifetime == .writtenOnce, existing != nil {
            // The same event again: nothing to do, and its clocks stay as first written.
            report.unchanged += incoming.changes.count
            return
        }
        var incoming = incoming
        if sender.role != nil, let existing {
            let fixed = Self.fixedAtCreation(incoming, table: table, existing: existing)
            for change in fixed {
                reject(
                    incoming, [change], .notPermitted("\(table.name).\(change.column) is set when the record is created and never after"))
            }
            if !fixed.isEmpty { incoming.changes.removeAll { fixed.contains($0) } }
            // Columns the sender's role may set when it creates a row but not change after.
            if let role = sender.role {
                // Only a change that would take effect: an older write sent again (a retry, a replica
                // restored from a copy) loses to the stored one as it always did.
                let reassigned = incoming.changes.compactMap { change -> (ColumnChange, String)? in
                    guard let i = table.index(of: change.column), !existing.values[i].isIdentical(to: change.value),
                        existing.clocks.entries[i].version.map({ change.version > $0 }) ?? true,
                        let refusal = WritePolicy.refusal(role: role, changing: change.column, of: table.name)
                    else { return nil }
                    return (change, refusal)
                }
                for (change, refusal) in reassigned { reject(incoming, [change], .notPermitted(refusal)) }
                if !reassigned.isEmpty { incoming.changes.removeAll { change in reassigned.contains { $0.0 == change } } }
            }
            if incoming.changes.isEmpty { return }
        }
        var row =
            existing
            ?? StoredRow(
                grid: incoming.grid, values: Array(repeating: .null, count: table.columns.count),
                clocks: ColumnClocks(count: table.columns.count))
        var taken: [Int] = []
        if table.lifetime == .writtenOnce {
            // Whole or not at all: an event missing a column it was written with is another event.
            // One with a column or a value a later release defines is kept whole, as it came.
            if sender.keepsUnknown, incoming.changes.contains(where: { table.index(of: $0.column) == nil || isUnknownValue($0, table) }) {
                return try keep(incoming, context: &context)
            }
            for change in incoming.changes {
                guard let i = table.index(of: change.column) else {
                    return reject(incoming, incoming.changes, .unknownColumn(change.column))
                }
                if let reason = try check(change, rule: table.rules[i], row: incoming, table: table, existing: existing, context: context) {
                    return reject(incoming, incoming.changes, reason)
                }
            }
        }
        var unknown: [ColumnChange] = []
        defer {
            if !unknown.isEmpty {
                var kept = incoming
                kept.changes = unknown
                unknownRows.append(kept)
            }
        }
        for change in incoming.changes {
            guard let i = table.index(of: change.column) else {
                if sender.keepsUnknown {
                    unknown.append(change)
                } else {
                    reject(incoming, [change], .unknownColumn(change.column))
                }
                continue
            }
            if sender.keepsUnknown, isUnknownValue(change, table) {
                unknown.append(change)
                continue
            }
            if table.lifetime != .writtenOnce,
                let reason = try check(change, rule: table.rules[i], row: incoming, table: table, existing: existing, context: context)
            {
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
            switch MergeRule.merge(table.rules[i].merge, local: local, incoming: remote) {
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

    /// True for a text that is not one of its column's values (`ValueFormat.oneOf`) but could be
    /// one a later release defines: a short line of letters, digits and `_`.
    func isUnknownValue(_ change: ColumnChange, _ table: SyncedTable) -> Bool {
        guard let i = table.index(of: change.column), case let .oneOf(values) = table.rules[i].format,
            case let .text(s) = change.value, !values.contains(s)
        else { return false }
        return Self.isName(s)
    }

    /// 1 to 64 of `a-z`, `0-9` and `_`: what a later release's tables, columns and list values look like.
    static func isName(_ s: String) -> Bool {
        (1...64).contains(s.utf8.count) && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    /// Keeps `row` (of a table, or with columns or values, of a later release) as it came, once it
    /// passes what can be checked without knowing it: id, grid, scope, site, timestamps, sizes.
    mutating func keep<Context: MergeContext>(_ row: RowChanges, context: inout Context) throws {
        if let reason = validate(row) { return reject(row, row.changes, reason) }
        for change in row.changes {
            let problem: RejectionReason? =
                if !Self.isName(change.column) {
                    .invalid("a column name is 1 to 64 of a-z, 0-9 and _")
                } else if !Self.isName(row.table) {
                    .invalid("a table name is 1 to 64 of a-z, 0-9 and _")
                } else if change.version.timestamp == .zero || change.version.site.rawValue == 0
                    || change.version.timestamp.rawValue > UInt64(Int64.max) || (change.base?.timestamp.rawValue ?? 0) > UInt64(Int64.max)
                {
                    .invalid("zero version or timestamp beyond 2^63")
                } else if let site = sender.site, change.version.site != site, !sender.formerSites.contains(change.version.site) {
                    .forgedSite(change.version.site)
                } else if change.value.expandedBytes > Limits.longText {
                    .invalid("a value of at most \(Limits.longText) bytes")
                } else {
                    nil
                }
            if let problem { return reject(row, [change], problem) }
            do {
                try context.receive(change.version.timestamp)
            } catch {
                return reject(row, [change], .clockSkew(error))
            }
        }
        if let lv = try context.keep(row) { report.storedVersions.append(lv) }
        report.kept += row.changes.count
    }

    /// Checks the row's id, grid and scope; nil when fine.
    mutating func validate(_ row: RowChanges) -> RejectionReason? {
        if row.rowID.isEmpty || row.rowID.utf8.count > Limits.idBytes {
            return .invalid("row id must be 1 to \(Limits.idBytes) bytes")
        }
        if let problem = TextRule.problem(row.rowID, maxBytes: Limits.idBytes, multiline: false) {
            return .invalid("row id \(problem)")
        }
        if !validGrids.contains(row.grid) {
            do { _ = try AreaPath(row.grid) } catch { return .invalid(error.description) }
            validGrids.insert(row.grid)
        }
        if !AreaPath.isInScopes(row.grid, sender.scopes) { return .outOfScope(grid: row.grid) }
        return nil
    }

    /// A row written once arrives whole, with one version, and is never written again: a repeat of
    /// it changes nothing, a different write is refused. Its event kind must be one the sender's
    /// role may record.
    func checkWrittenOnce<Context: MergeContext>(_ incoming: RowChanges, table: SyncedTable, existing: StoredRow?, context: Context) throws
        -> RejectionReason?
    {
        if let existing {
            for change in incoming.changes {
                guard let i = table.index(of: change.column) else { continue }
                let clock = existing.clocks.entries[i]
                if clock.version == change.version || (clock.version != nil && existing.values[i].isIdentical(to: change.value)) {
                    continue
                }
                return .writtenOnce("\(table.name) \(incoming.rowID) was written once; a second, different write is refused")
            }
            return nil
        }
        let version = incoming.changes[0].version
        if incoming.changes.contains(where: { $0.version != version }) {
            return .writtenOnce("a row of \(table.name) is written whole, with one version")
        }
        for column in table.required where !incoming.changes.contains(where: { $0.column == column && $0.value != .null }) {
            return .invalid("a row of \(table.name) needs \(column)")
        }
        if let role = sender.role, table.name == Schema.issueEvents.name,
            let kind = incoming.changes.first(where: { $0.column == "kind" })?.value.text.flatMap(IssueEventKind.init),
            let issue = incoming.changes.first(where: { $0.column == "issue_id" })?.value.text
        {
            // The tier the issue stands at here, folded now: the issue may have come in this push.
            let known = try context.loadRow(Schema.issues, id: issue) != nil
            let tier = known ? try context.derive(issueID: issue).1 : nil
            if let refusal = WritePolicy.refusal(role: role, event: kind, issueTier: tier) { return .notPermitted(refusal) }
            // The order loop: a worker accepts what was dispatched to them, as the issue stands here.
            if kind == .accepted, known, case let .named(person) = sender.author,
                let handler = try context.loadRow(Schema.issues, id: issue)?.values[Schema.issues.index(of: "handler")!].text,
                let refusal = WritePolicy.refusal(role: role, accepting: handler, as: person)
            {
                return .notPermitted(refusal)
            }
        }
        return nil
    }

    /// The changes of `incoming` that would alter a column set at creation (`ColumnRule.setAtCreation`).
    static func fixedAtCreation(_ incoming: RowChanges, table: SyncedTable, existing: StoredRow) -> [ColumnChange] {
        incoming.changes.filter { change in
            guard let i = table.index(of: change.column), table.rules[i].setAtCreation else { return false }
            return existing.clocks.entries[i].version != nil && !existing.values[i].isIdentical(to: change.value)
        }
    }

    /// Checks one change against its column's rule and the sender's identity; nil when fine.
    func check<Context: MergeContext>(
        _ change: ColumnChange, rule: ColumnRule, row: RowChanges, table: SyncedTable, existing: StoredRow?, context: Context
    ) throws -> RejectionReason? {
        if !rule.kind.accepts(change.value) { return .typeMismatch(column: change.column) }
        if change.version.timestamp == .zero || change.version.site.rawValue == 0 {
            return .invalid("zero version")
        }
        if change.version.timestamp.rawValue > UInt64(Int64.max) || (change.base?.timestamp.rawValue ?? 0) > UInt64(Int64.max) {
            return .invalid("timestamp beyond 2^63")
        }
        if let site = sender.site, change.version.site != site, !sender.formerSites.contains(change.version.site) {
            return .forgedSite(change.version.site)
        }
        if let problem = rule.refusal(change.value, version: change.version) { return .invalid("\(table.name).\(problem)") }
        if rule.isAuthor, case let .named(name) = sender.author, change.value.text != name {
            return .forgedAuthor(column: "\(table.name).\(rule.name)", enrolled: name)
        }

        if let reference = rule.reference, let id = change.value.text,
            let target = try Self.referencedTable(reference, row: row, table: table, existing: existing),
            let grid = try context.grid(of: id, in: target), grid != row.grid
        {
            return .crossGrid(column: "\(table.name).\(rule.name)", target: grid)
        }
        // A change of the column that names a reference's table re-aims the reference as stored.
        if let i = table.index(of: change.column).flatMap({ table.referenceNamedBy[$0] }),
            let named = change.value.text.flatMap(Schema.table(named:))
        {
            let referencing = table.rules[i].name
            let id = row.changes.last(where: { $0.column == referencing })?.value.text ?? existing?.values[i].text
            if let id, let grid = try context.grid(of: id, in: named.name), grid != row.grid {
                return .crossGrid(column: "\(table.name).\(referencing)", target: grid)
            }
        }
        return nil
    }

    /// The table a reference points into: fixed, or named by another column of the row (as it
    /// arrives, else as stored). Nil when that column names no synced table.
    static func referencedTable(_ reference: Reference, row: RowChanges, table: SyncedTable, existing: StoredRow?) throws -> String? {
        switch reference {
        case let .row(name): return name
        case let .rowOfTableIn(column):
            let named =
                row.changes.last(where: { $0.column == column })?.value.text
                ?? table.index(of: column).flatMap { existing?.values[$0].text }
            return named.flatMap(Schema.table(named:))?.name
        }
    }

    /// Writes the conflicts noticed, after every remote timestamp was received, so their stamps are
    /// later than all of them.
    mutating func recordConflicts<Context: MergeContext>(context: inout Context) throws {
        for conflict in conflicts where try conflict.record(context: &context) {
            report.conflictsFound += 1
        }
    }
}
