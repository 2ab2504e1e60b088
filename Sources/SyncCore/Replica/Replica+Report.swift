import GRDB

/// Closure figures of one area: issues reported in the period and how many of them are closed.
public struct ClosureFigures: Encodable, Equatable, Sendable {
    /// The grid, the township, or `*` for everything reported.
    public var area: String
    /// The area's Chinese name, when the replica knows it.
    public var name: String?
    public var reported: Int
    public var closed: Int
    /// closed ÷ reported (办结率), nil when nothing was reported.
    public var rate: Double? { reported == 0 ? nil : Double(closed) / Double(reported) }

    public init(area: String, name: String? = nil, reported: Int = 0, closed: Int = 0) {
        self.area = area
        self.name = name
        self.reported = reported
        self.closed = closed
    }

    enum CodingKeys: String, CodingKey { case area, name, reported, closed, rate }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(area, forKey: .area)
        try c.encodeIfPresent(name, forKey: .name)
        try c.encode(reported, forKey: .reported)
        try c.encode(closed, forKey: .closed)
        try c.encodeIfPresent(rate, forKey: .rate)
    }
}

/// An issue past its due date and not yet resolved.
public struct OverdueIssue: Codable, Equatable, Sendable {
    public var id: String
    public var grid: String
    public var title: String
    public var tier: IssueTier
    public var status: IssueStatus
    public var dueDate: String
    public var handler: String?
}

/// The follow-up visits (回访) of a period and what residents said.
public struct FollowUpSummary: Codable, Equatable, Sendable {
    public var visits: Int
    /// How many visits gave satisfaction 1, 2, 3, 4 and 5.
    public var bySatisfaction: [Int]
    /// Mean satisfaction (1-5), nil without visits.
    public var average: Double?
}

/// What the county center reports on a period: closure rates, overdue issues, escalations and
/// follow-up satisfaction.
public struct CountyReport: Encodable, Equatable, Sendable {
    /// The period, as wall-clock milliseconds: `[fromMillis, toMillis)`.
    public var fromMillis: UInt64
    public var toMillis: UInt64
    /// The day overdue issues are judged on (`YYYY-MM-DD`).
    public var today: String
    public var total: ClosureFigures
    public var townships: [ClosureFigures]
    public var grids: [ClosureFigures]
    public var overdue: [OverdueIssue]
    /// Escalation events of the period by the tier escalated to (small, medium, large).
    public var escalations: [String: Int]
    public var followUps: FollowUpSummary
}

extension Replica {
    /// The county report for issues reported in `[fromMillis, toMillis)` under `area` (everything
    /// when nil). An issue counts as closed when its status is closed now; overdue issues are those
    /// due before `today` and not resolved, whenever they were reported.
    ///
    /// A township is the first four segments of a grid's path (region/prefecture/county/township).
    public func countyReport(fromMillis: UInt64, toMillis: UInt64, today: String, area: String? = nil) throws(SyncCoreError) -> CountyReport
    {
        guard fromMillis < toMillis else { throw .invalidInput("the report period is empty: its start is not before its end") }
        let from = Int64(clamping: fromMillis << 16)
        let to = Int64(clamping: toMillis << 16)
        return try read { db in
            var names: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, name_zh FROM grids WHERE name_zh IS NOT NULL") {
                names[row[0]] = row[1]
            }
            var areaSQL = ""
            var areaArguments: [DatabaseValueConvertible] = []
            if let area { Self.areaCondition(area, sql: &areaSQL, arguments: &areaArguments) }

            var grids: [String: ClosureFigures] = [:]
            var townships: [String: ClosureFigures] = [:]
            var total = ClosureFigures(area: "*")
            let reported = try Row.fetchAll(
                db,
                sql: """
                    SELECT grid, _status FROM issues WHERE IFNULL(deleted, 0) = 0 \(areaSQL)
                    AND id IN (SELECT issue_id FROM issue_events e WHERE e.grid = issues.grid AND kind = 'reported' AND at >= ? AND at < ?)
                    """, arguments: StatementArguments(areaArguments + [from, to]))
            for row in reported {
                let grid: String = row[0]
                let closed = (row[1] as String?) == IssueStatus.closed.rawValue ? 1 : 0
                let township = grid.split(separator: "/").prefix(4).joined(separator: "/")
                grids[grid, default: ClosureFigures(area: grid, name: names[grid])].count(closed)
                townships[township, default: ClosureFigures(area: township, name: names[township])].count(closed)
                total.count(closed)
            }

            let overdue = try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM issues WHERE IFNULL(deleted, 0) = 0 \(areaSQL) AND due_date IS NOT NULL AND due_date < ?
                    AND _status NOT IN ('resolved', 'followed_up', 'closed') ORDER BY due_date, grid, id
                    """, arguments: StatementArguments(areaArguments + [today])
            ).map(Self.issue).map {
                OverdueIssue(
                    id: $0.id, grid: $0.grid, title: $0.title, tier: $0.tier, status: $0.status, dueDate: $0.dueDate ?? "",
                    handler: $0.handler)
            }

            let eventSQL = """
                SELECT e.kind, e.tier, e.satisfaction FROM issue_events e JOIN issues i ON i.id = e.issue_id AND i.grid = e.grid
                WHERE e.kind IN ('escalated', 'follow_up') AND e.at >= ? AND e.at < ? AND IFNULL(i.deleted, 0) = 0
                """ + areaSQL.replacingOccurrences(of: "grid", with: "i.grid")
            var escalations: [String: Int] = [:]
            var bySatisfaction = [0, 0, 0, 0, 0]
            for row in try Row.fetchAll(db, sql: eventSQL, arguments: StatementArguments([from, to] + areaArguments)) {
                if (row[0] as String) == IssueEventKind.escalated.rawValue {
                    escalations[(row[1] as String?) ?? "unknown", default: 0] += 1
                } else if let s = row[2] as Int?, (1...5).contains(s) {
                    bySatisfaction[s - 1] += 1
                }
            }
            let visits = bySatisfaction.reduce(0, +)
            let sum = bySatisfaction.enumerated().reduce(0) { $0 + ($1.offset + 1) * $1.element }
            return CountyReport(
                fromMillis: fromMillis, toMillis: toMillis, today: today, total: total,
                townships: townships.values.sorted { $0.area < $1.area }, grids: grids.values.sorted { $0.area < $1.area },
                overdue: overdue, escalations: escalations,
                followUps: FollowUpSummary(
                    visits: visits, bySatisfaction: bySatisfaction, average: visits == 0 ? nil : Double(sum) / Double(visits)))
        }
    }

    /// Every event of the living issues under `area` (everything when nil), by issue and time.
    public func events(area: String? = nil) throws(SyncCoreError) -> [IssueEvent] {
        try read { db in
            var sql = "SELECT * FROM issue_events e WHERE issue_id IN (SELECT id FROM issues WHERE grid = e.grid AND IFNULL(deleted, 0) = 0"
            var arguments: [DatabaseValueConvertible] = []
            if let area { Self.areaCondition(area, sql: &sql, arguments: &arguments) }
            sql += ") ORDER BY issue_id, at, id"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).compactMap(Self.event)
        }
    }
}

extension ClosureFigures {
    fileprivate mutating func count(_ closed: Int) {
        reported += 1
        self.closed += closed
    }
}
