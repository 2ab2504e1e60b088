import GRDB

extension Replica {
    /// The county report for issues reported in `[fromMillis, toMillis)` under `area` (everything
    /// when nil; an area this replica does not know is `notFound`). Overdue is judged on `today`;
    /// months are cut at midnight `utcOffsetSeconds` east of UTC; places are named from the area
    /// tree (Tibetan names with `tibetan`), and every named area under `area` is listed. The areas
    /// of `scopes` (the device's) are known even before anything was recorded in them.
    public func countyReport(
        fromMillis: UInt64, toMillis: UInt64, today: String, area: String? = nil, utcOffsetSeconds: Int = 0, tibetan: Bool = false,
        scopes: [String] = []
    ) throws(SyncCoreError) -> CountyReport {
        guard fromMillis < toMillis else { throw .input(.emptyPeriod) }
        if let area {
            _ = try AreaPath(area)
            guard try knowsArea(area, scopes: scopes) else { throw .notFound(kind: "area", id: area) }
        }
        let named = try areas(under: area)
        let names = AreaNames(named)
        let issues = try read { db in try Self.reportRows(db, area: area) }
        return Self.report(
            issues: issues, fromMillis: fromMillis, toMillis: toMillis, today: today, area: area,
            utcOffsetSeconds: utcOffsetSeconds, areas: named.map(\.path), label: { names.label($0, tibetan: tibetan) })
    }

    /// One living issue as the report reads it: its columns and what its events say.
    struct ReportIssue {
        var issue: Issue
        /// The first `reported` event's time, the last `resolved` and `closed` events' times.
        var reportedAt: UInt64?
        var resolvedAt: UInt64?
        var closedAt: UInt64?
        var followedUp = false
        /// The satisfaction (1-5) given at each follow-up visit.
        var satisfaction: [Int] = []
        /// Its escalations and de-escalations, in time order.
        var tierEvents: [IssueEvent] = []
    }

    /// The living issues under `area` with what their events say. The events are read as numbers
    /// and folded into their issue as they come (a county has tens of thousands: sorting them, or
    /// joining each to its issue in SQL, took most of the report's time); only escalations and
    /// de-escalations, which the report lists, are read whole and in order. An event counts for
    /// the issue of its `issue_id` in its own grid, as everywhere else.
    static func reportRows(_ db: Database, area: String?) throws -> [ReportIssue] {
        var sql = """
            SELECT id, grid, kind, tier, _tier, _status, title, household_id, reporter, handler, due_date
            FROM issues WHERE IFNULL(deleted, 0) = 0
            """
        var arguments: [DatabaseValueConvertible] = []
        if let area { areaCondition(area, sql: &sql, arguments: &arguments) }
        var issues: [ReportIssue] = []
        var position: [String: Int] = [:]
        let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
        while let r = try rows.next() {
            let reported = (r[3] as String?).flatMap(IssueTier.init) ?? .small
            let issue = Issue(
                id: r[0], grid: r[1], kind: (r[2] as String?).flatMap(IssueKind.init) ?? .other, reportedTier: reported,
                tier: (r[4] as String?).flatMap(IssueTier.init) ?? reported,
                status: (r[5] as String?).flatMap(IssueStatus.init) ?? .reported,
                title: r[6] ?? "", description: nil, householdID: r[7], location: nil, reporter: r[8], handler: r[9], dueDate: r[10],
                deleted: false)
            position[issue.id] = issues.count
            issues.append(ReportIssue(issue: issue))
        }
        /// The issue an event row (its `issue_id` and `grid` first) belongs to.
        func owner(_ r: Row) -> Int? {
            guard let id = r[0] as String?, let i = position[id], issues[i].issue.grid == (r[1] as String) else { return nil }
            return i
        }
        var eventSQL = """
            SELECT issue_id, grid, CASE kind WHEN 'reported' THEN 1 WHEN 'resolved' THEN 2 WHEN 'closed' THEN 3 ELSE 4 END, at,
            satisfaction FROM issue_events WHERE \(Self.reportedEventKinds)
            """
        var tierSQL = """
            SELECT issue_id, grid, id, kind, at, actor, note, tier, from_tier, satisfaction FROM issue_events
            WHERE \(Self.tierEventKinds)
            """
        var eventArguments: [DatabaseValueConvertible] = []
        if let area {
            areaCondition(area, sql: &eventSQL, arguments: &eventArguments)
            eventArguments = []
            areaCondition(area, sql: &tierSQL, arguments: &eventArguments)
        }
        let eventRows = try Row.fetchCursor(db, sql: eventSQL, arguments: StatementArguments(eventArguments))
        while let r = try eventRows.next() {
            guard let i = owner(r) else { continue }
            let at = HLCTimestamp(stored: r[3]).millis
            switch r[2] as Int {
            case 1: issues[i].reportedAt = min(issues[i].reportedAt ?? .max, at)
            case 2: issues[i].resolvedAt = max(issues[i].resolvedAt ?? 0, at)
            case 3: issues[i].closedAt = max(issues[i].closedAt ?? 0, at)
            default:
                issues[i].followedUp = true
                if let s = r[4] as Int? { issues[i].satisfaction.append(s) }
            }
        }
        let tierRows = try Row.fetchCursor(db, sql: tierSQL + " ORDER BY at, id", arguments: StatementArguments(eventArguments))
        while let r = try tierRows.next() {
            guard let i = owner(r), let kind = (r[3] as String?).flatMap(IssueEventKind.init) else { continue }
            issues[i].tierEvents.append(
                IssueEvent(
                    id: r[2], issueID: r[0], kind: kind, at: HLCTimestamp(stored: r[4]), actor: r[5], note: r[6],
                    tier: (r[7] as String?).flatMap(IssueTier.init), fromTier: (r[8] as String?).flatMap(IssueTier.init),
                    satisfaction: r[9]))
        }
        return issues
    }

    /// The events whose times and satisfaction the report counts, and those it lists: the
    /// conditions of the partial indexes a device keeps for them (`Configuration.gridIndexes`),
    /// which SQLite uses only for a query with the same condition.
    static let reportedEventKinds = "kind IN ('reported', 'resolved', 'closed', 'follow_up')"
    static let tierEventKinds = "kind IN ('escalated', 'deescalated')"

    static func report(
        issues: [ReportIssue], fromMillis: UInt64, toMillis: UInt64, today: String, area: String?,
        utcOffsetSeconds: Int, areas named: [String] = [], label: (String) -> String
    ) -> CountyReport {
        var report = CountyReport(
            fromMillis: fromMillis, toMillis: toMillis, today: today, total: AreaFigures(area: area ?? "*", name: area.map(label) ?? "*"))
        var areas: [AreaLevel: [String: AreaFigures]] = [:]
        var byTier: [IssueTier: BreakdownFigures] = [:]
        var byKind: [IssueKind: BreakdownFigures] = [:]
        var byHandler: [String: BreakdownFigures] = [:]
        var byWorker: [String: BreakdownFigures] = [:]
        var within: [String: TierHandling] = [:]
        var months: [Int: MonthFigures] = [:]
        var toResolved: [Double] = []
        var toClosed: [Double] = []
        let levels: [AreaLevel] = [.township, .village, .grid]
        // Paths and names per grid, worked out once: a county has hundreds of grids, thousands of issues.
        var labels: [String: String] = [:]
        func name(_ path: String) -> String {
            if let known = labels[path] { return known }
            let made = label(path)
            labels[path] = made
            return made
        }
        // Counted per grid first (one lookup an issue), and added up to the townships and villages
        // above each grid at the end: counting each issue into its three areas at once cost a
        // county's report more than reading its rows.
        var perGrid: [String: (reported: Int, closed: Int, overdue: Int)] = [:]
        // Every named township, village and grid is listed, with nothing reported or not.
        for path in named {
            if let level = AreaLevel(depth: path.split(separator: "/").count), levels.contains(level) {
                areas[level, default: [:]][path] = AreaFigures(area: path, name: name(path))
            }
        }

        func count<K>(_ map: inout [K: BreakdownFigures], _ key: K, _ name: String, closed: Bool, open: Bool) {
            map[key, default: BreakdownFigures(key: name)].reported += 1
            if closed { map[key]!.closed += 1 }
            if open { map[key]!.open += 1 }
        }

        for facts in issues {
            let issue = facts.issue
            let isOverdue = issue.dueDate.map { $0 < today } == true && !issue.status.isDone
            if isOverdue {
                let days = ReportMath.days(from: issue.dueDate!, to: today) ?? 0
                report.overdue.append(
                    OverdueIssue(
                        id: issue.id, grid: issue.grid, name: name(issue.grid), title: issue.title, tier: issue.tier, status: issue.status,
                        dueDate: issue.dueDate!, daysOverdue: days, handler: issue.handler))
                report.total.overdue += 1
                perGrid[issue.grid, default: (0, 0, 0)].overdue += 1
            }
            // Escalations and de-escalations of the period, with the tier before each.
            var tier = issue.reportedTier
            for e in facts.tierEvents {
                guard let to = e.tier else { continue }
                let from = tier
                tier = e.kind == .escalated ? max(tier, to) : to
                if e.at.millis >= fromMillis && e.at.millis < toMillis {
                    report.tierChanges.append(
                        TierChange(
                            issueID: issue.id, title: issue.title, grid: issue.grid, name: name(issue.grid), kind: e.kind, fromTier: from,
                            toTier: to, atMillis: e.at.millis, actor: e.actor, note: e.note))
                }
            }

            guard let reportedAt = facts.reportedAt, reportedAt >= fromMillis && reportedAt < toMillis
            else { continue }
            let closed = issue.status == .closed
            let open = !issue.status.isDone
            report.total.reported += 1
            if closed { report.total.closed += 1 }
            perGrid[issue.grid, default: (0, 0, 0)].reported += 1
            if closed { perGrid[issue.grid]!.closed += 1 }
            count(&byTier, issue.tier, issue.tier.rawValue, closed: closed, open: open)
            count(&byKind, issue.kind, issue.kind.rawValue, closed: closed, open: open)
            count(&byHandler, issue.handler ?? "-", issue.handler ?? "-", closed: closed, open: open)
            count(&byWorker, issue.reporter ?? "-", issue.reporter ?? "-", closed: closed, open: open)
            let month = ReportMath.monthKey(reportedAt, offsetSeconds: utcOffsetSeconds)
            months[month, default: MonthFigures(month: ReportMath.monthText(month))].reported += 1
            if closed { months[month]!.closed += 1 }

            if issue.status.isDone {
                for key in ["*", issue.reportedTier.rawValue] {
                    within[key, default: TierHandling(tier: key)].resolved += 1
                    if issue.tier == issue.reportedTier { within[key]!.withinTier += 1 }
                }
                report.satisfaction.resolved += 1
                if facts.followedUp { report.satisfaction.followedUp += 1 }
                if let resolvedAt = facts.resolvedAt, resolvedAt >= reportedAt {
                    toResolved.append(Double(resolvedAt - reportedAt) / 3_600_000)
                }
            }
            if closed, let closedAt = facts.closedAt, closedAt >= reportedAt {
                toClosed.append(Double(closedAt - reportedAt) / 3_600_000)
            }
            for s in facts.satisfaction where (1...5).contains(s) { report.satisfaction.bySatisfaction[s - 1] += 1 }
        }

        for (grid, counted) in perGrid {
            for level in levels {
                guard let path = AreaNames.ancestor(grid, at: level) else { continue }
                var figures = areas[level]?[path] ?? AreaFigures(area: path, name: name(path))
                figures.reported += counted.reported
                figures.closed += counted.closed
                figures.overdue += counted.overdue
                areas[level, default: [:]][path] = figures
            }
        }
        report.total.rate = ReportMath.rate(report.total.closed, report.total.reported)
        func sortedAreas(_ level: AreaLevel) -> [AreaFigures] {
            (areas[level] ?? [:]).values.map {
                var a = $0; a.rate = ReportMath.rate(a.closed, a.reported); return a
            }.sorted { $0.area < $1.area }
        }
        report.townships = sortedAreas(.township)
        report.villages = sortedAreas(.village)
        report.grids = sortedAreas(.grid)
        func sortedBreakdown(_ map: [some Hashable: BreakdownFigures]) -> [BreakdownFigures] {
            map.values.map {
                var b = $0; b.rate = ReportMath.rate(b.closed, b.reported); return b
            }
            .sorted { ($0.reported, $1.key) > ($1.reported, $0.key) }
        }
        report.byTier = IssueTier.allCases.compactMap { byTier[$0] }.map {
            var b = $0; b.rate = ReportMath.rate(b.closed, b.reported); return b
        }
        report.byKind = sortedBreakdown(byKind)
        report.byHandler = sortedBreakdown(byHandler)
        report.byWorker = sortedBreakdown(byWorker)
        report.withinTier = (["*"] + IssueTier.allCases.map(\.rawValue)).compactMap { within[$0] }.map {
            var t = $0
            t.rate = ReportMath.rate(t.withinTier, t.resolved)
            return t
        }
        var s = report.satisfaction
        s.coverage = ReportMath.rate(s.followedUp, s.resolved)
        s.visits = s.bySatisfaction.reduce(0, +)
        s.satisfiedRate = ReportMath.rate(s.bySatisfaction[3] + s.bySatisfaction[4], s.visits)
        s.average =
            s.visits == 0 ? nil : Double(s.bySatisfaction.enumerated().reduce(0) { $0 + ($1.offset + 1) * $1.element }) / Double(s.visits)
        report.satisfaction = s
        report.toResolved = ReportMath.durations(toResolved)
        report.toClosed = ReportMath.durations(toClosed)
        report.overdue.sort { ($0.dueDate, $0.grid, $0.id) < ($1.dueDate, $1.grid, $1.id) }
        for o in report.overdue { report.overdueByTier[o.tier.rawValue, default: 0] += 1 }
        report.overdueByAge = ReportMath.ageBands.map { band in
            AgeBand(band: band.0, count: report.overdue.filter { band.1.contains($0.daysOverdue) }.count)
        }
        report.tierChanges.sort { ($0.atMillis, $0.issueID) < ($1.atMillis, $1.issueID) }
        report.months = months.values.map {
            var m = $0; m.rate = ReportMath.rate(m.closed, m.reported); return m
        }.sorted { $0.month < $1.month }
        return report
    }

    /// Every event of the living issues under `area` (everything when nil), by issue and time.
    public func events(area: String? = nil) throws(SyncCoreError) -> [IssueEvent] {
        try read { db in
            var sql =
                "SELECT e.id, e.issue_id, e.kind, e.at, e.actor, e.note, e.tier, e.from_tier, e.satisfaction, e.assignee FROM issue_events e JOIN issues i ON i.id = e.issue_id AND i.grid = e.grid WHERE IFNULL(i.deleted, 0) = 0"
            var arguments: [DatabaseValueConvertible] = []
            if let area { Self.areaCondition(area, sql: &sql, arguments: &arguments, column: "i.grid") }
            sql += " ORDER BY e.issue_id, e.at, e.id"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).compactMap(Self.event)
        }
    }
}
