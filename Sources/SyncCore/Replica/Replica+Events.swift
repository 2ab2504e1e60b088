import GRDB

extension Replica {
    /// Appends an event to issue `issueID`'s log after checking that the lifecycle allows it now;
    /// returns the event's id.
    ///
    /// - `escalated` needs a higher `tier`, `deescalated` a lower one;
    /// - `follow_up` takes the resident's `satisfaction` (1-5);
    /// - the status only moves forward, and back only through `reopened` (of a resolved issue).
    @discardableResult
    public func appendEvent(
        issueID: String, kind: IssueEventKind, actor: String? = nil, note: String? = nil, tier: IssueTier? = nil,
        satisfaction: Int? = nil, assignee: String? = nil
    ) throws(SyncCoreError) -> String {
        guard kind != .reported else { throw .lifecycle(.reportedOnce) }
        if let satisfaction, !(1...5).contains(satisfaction) {
            throw .input(.satisfaction(satisfaction))
        }
        if assignee != nil && kind != .dispatched { throw .invalidInput("only a dispatch names an assignee") }
        return try write { context in
            let row = try context.liveRow(Schema.issues, id: issueID, kind: "issue")
            let (status, currentTier) = try context.derive(issueID: issueID)
            try Self.checkLifecycle(kind: kind, status: status, tier: currentTier, newTier: tier, satisfaction: satisfaction)
            let id = try context.appendEvent(
                issueID: issueID, grid: row.grid, kind: kind, actor: actor, note: note, tier: tier,
                fromTier: kind == .deescalated ? currentTier : nil, satisfaction: satisfaction, assignee: assignee)
            try context.rederiveTouchedIssues()
            return id
        }
    }

    static func checkLifecycle(
        kind: IssueEventKind, status: IssueStatus, tier: IssueTier, newTier: IssueTier?, satisfaction: Int?
    ) throws(SyncCoreError) {
        let forward: [IssueEventKind: IssueStatus] = [
            .dispatched: .dispatched, .accepted: .accepted, .resolved: .resolved, .followUp: .followedUp, .closed: .closed,
        ]
        switch kind {
        case .escalated:
            guard let newTier, newTier > tier else { throw .lifecycle(.escalationNeedsHigherTier(current: tier)) }
        case .deescalated:
            guard let newTier, newTier < tier else { throw .lifecycle(.deescalationNeedsLowerTier(current: tier)) }
        case .reopened:
            guard status.isDone else { throw .lifecycle(.reopenNeedsDone(status: status)) }
        case .visit:
            guard status != .closed else { throw .lifecycle(.closedReopenFirst) }
        case .published:
            guard status == .closed else { throw .lifecycle(.publishNeedsClosed(status: status)) }
        case .followUp:
            guard satisfaction != nil else { throw .lifecycle(.followUpNeedsSatisfaction) }
            fallthrough
        default:
            if let target = forward[kind] {
                guard target.rank > status.rank else {
                    throw .lifecycle(.wouldMoveBack(status: status, event: kind))
                }
                if kind == .followUp || kind == .closed, !status.isDone {
                    throw .lifecycle(.needsResolved(event: kind, status: status))
                }
            }
        }
        if newTier != nil && kind != .escalated && kind != .deescalated {
            throw .invalidInput("only escalation and de-escalation take a tier")
        }
    }
}

extension WriteContext {
    /// Writes a new event row; the issue's status is rederived at the end of the transaction.
    @discardableResult
    mutating func appendEvent(
        issueID: String, grid: String, kind: IssueEventKind, actor: String?, note: String?, tier: IssueTier?,
        fromTier: IssueTier? = nil, satisfaction: Int?, assignee: String? = nil
    ) throws -> String {
        let version = try localStamp()
        let at = version.timestamp
        // The id derived from the issue and the version, which changeset format 2 need not send;
        // a second event of the issue in this transaction would take the same, so it gets a random one.
        var id = DerivedID.event(issueID: issueID, version: version)
        if try loadRow(Schema.issueEvents, id: id) != nil { id = InputRules.newID() }
        var edits: [(String, Value)] = [
            ("issue_id", .text(issueID)), ("kind", .text(kind.rawValue)), ("at", .integer(Int64(bitPattern: at.rawValue))),
            ("actor", try InputRules.text(actor, Schema.issueEvents["actor"], field: .actor)),
            ("note", try InputRules.text(note, Schema.issueEvents["note"], field: .note)),
            ("tier", tier.map { .text($0.rawValue) } ?? .null), ("from_tier", fromTier.map { .text($0.rawValue) } ?? .null),
            ("satisfaction", Value(satisfaction)),
            ("assignee", try InputRules.text(assignee, Schema.issueEvents["assignee"], field: .assignee)),
        ]
        edits = edits.filter { $0.1 != .null }
        try writeLocal(Schema.issueEvents, id: id, grid: grid, edits)
        touchedIssues.insert(issueID)
        return id
    }

    func history(ofIssue issueID: String) throws -> (reported: IssueTier?, steps: [IssueLifecycle.Step]) {
        let reported = try String.fetchOne(db.cachedStatement(sql: "SELECT tier FROM issues WHERE id = ?"), arguments: [issueID])
        var steps: [IssueLifecycle.Step] = []
        let rows = try Row.fetchCursor(
            db.cachedStatement(
                sql: """
                    SELECT e.kind, e.at, e.id, e.tier, e.from_tier FROM issue_events e JOIN issues i ON i.id = e.issue_id
                    WHERE e.issue_id = ? AND e.grid = i.grid
                    """), arguments: [issueID])
        while let row = try rows.next() {
            guard let kind = IssueEventKind(rawValue: row[0] ?? "") else { continue }
            let at = HLCTimestamp(stored: row[1])
            steps.append(
                IssueLifecycle.Step(
                    kind: kind, at: at, id: row[2], tier: (row[3] as String?).flatMap(IssueTier.init),
                    fromTier: (row[4] as String?).flatMap(IssueTier.init)))
        }
        return (reported.flatMap(IssueTier.init), steps)
    }

    func hasEvents(issueID: String) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM issue_events WHERE issue_id = ? LIMIT 1"), arguments: [issueID]) != nil
    }

    func storeDerived(issueID: String, status: IssueStatus, tier: IssueTier) throws {
        try db.cachedStatement(sql: "UPDATE issues SET _status = ?, _tier = ? WHERE id = ?")
            .execute(arguments: [status.rawValue, tier.rawValue, issueID])
    }
}
