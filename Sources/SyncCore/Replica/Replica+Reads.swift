import GRDB

/// Which issues `Replica.issues(_:)` lists.
public struct IssueFilter: Sendable {
    public var status: IssueStatus?
    public var tier: IssueTier?
    public var kind: IssueKind?
    /// A grid or any area above it.
    public var area: String?
    /// Only issues due before this date (`YYYY-MM-DD`) and not yet resolved.
    public var overdueOn: String?
    /// Only issues this person handles.
    public var handler: String?
    /// Only these issues (a search's hits).
    public var ids: [String]?
    public var includeDeleted = false
    public var limit = 1000

    /// A filter; every criterion defaults to "any".
    public init(
        status: IssueStatus? = nil, tier: IssueTier? = nil, kind: IssueKind? = nil, area: String? = nil,
        overdueOn: String? = nil
    ) {
        self.status = status
        self.tier = tier
        self.kind = kind
        self.area = area
        self.overdueOn = overdueOn
    }
}

/// An issue with its event log and photos.
public struct IssueDetail: Codable, Equatable, Sendable {
    public var issue: Issue
    public var events: [IssueEvent]
    public var photos: [PhotoRef]
}

extension Replica {
    /// Household `id` (also when deleted), or nil when unknown here.
    public func household(_ id: String) throws(SyncCoreError) -> Household? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM households WHERE id = ?", arguments: [id]).map(Self.household) }
    }

    /// The living households of `area` (a grid or any area above it), by door plate.
    public func households(area: String? = nil, limit: Int = 10_000) throws(SyncCoreError) -> [Household] {
        try read { db in
            var sql = "SELECT * FROM households WHERE IFNULL(deleted, 0) = 0"
            var arguments: [DatabaseValueConvertible] = []
            if let area { Self.areaCondition(area, sql: &sql, arguments: &arguments) }
            sql += " ORDER BY door_plate, id LIMIT \(max(0, limit))"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(Self.household)
        }
    }

    /// The issues that pass `filter`, newest first.
    public func issues(_ filter: IssueFilter = IssueFilter()) throws(SyncCoreError) -> [Issue] {
        try read { db in
            var sql = "SELECT * FROM issues WHERE 1"
            var arguments: [DatabaseValueConvertible] = []
            if !filter.includeDeleted { sql += " AND IFNULL(deleted, 0) = 0" }
            if let s = filter.status { sql += " AND _status = ?"; arguments.append(s.rawValue) }
            if let t = filter.tier { sql += " AND IFNULL(_tier, tier) = ?"; arguments.append(t.rawValue) }
            if let k = filter.kind { sql += " AND kind = ?"; arguments.append(k.rawValue) }
            if let h = filter.handler { sql += " AND handler = ?"; arguments.append(h) }
            if let ids = filter.ids {
                sql += ids.isEmpty ? " AND 0" : " AND id IN (\(ids.map { _ in "?" }.joined(separator: ",")))"
                arguments += ids
            }
            if let area = filter.area { Self.areaCondition(area, sql: &sql, arguments: &arguments) }
            if let day = filter.overdueOn {
                sql += " AND due_date IS NOT NULL AND due_date < ? AND _status NOT IN ('resolved', 'followed_up', 'closed')"
                arguments.append(day)
            }
            sql += " ORDER BY _lv DESC LIMIT \(max(0, filter.limit))"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(Self.issue)
        }
    }

    /// Issue `id` with its events (in order) and photos, or nil when unknown here.
    public func issueDetail(_ id: String) throws(SyncCoreError) -> IssueDetail? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM issues WHERE id = ?", arguments: [id]) else { return nil }
            let events = try Row.fetchAll(
                db, sql: "SELECT * FROM issue_events WHERE issue_id = ? AND grid = ? ORDER BY at, id", arguments: [id, row["grid"]]
            )
            .compactMap(Self.event)
            let photos = try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM photo_refs WHERE (owner_id = ? OR owner_id IN (SELECT id FROM issue_events WHERE issue_id = ? AND grid = ?))
                    AND grid = ? AND IFNULL(deleted, 0) = 0 ORDER BY _lv
                    """,
                arguments: [id, id, row["grid"], row["grid"]]
            ).map(Self.photo)
            return IssueDetail(issue: Self.issue(row), events: events, photos: photos)
        }
    }

    /// The photo references of the records under `area` (all when nil), by grid, owner and hash.
    public func photoRefs(area: String? = nil) throws(SyncCoreError) -> [(grid: String, photo: PhotoRef)] {
        try read { db in
            var sql = "SELECT * FROM photo_refs WHERE IFNULL(deleted, 0) = 0"
            var arguments: [DatabaseValueConvertible] = []
            if let area { Self.areaCondition(area, sql: &sql, arguments: &arguments) }
            sql += " ORDER BY grid, owner_table, owner_id, sha256"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { ($0["grid"], Self.photo($0)) }
        }
    }

    /// The photos attached to the household, issue or event `ownerID`.
    public func photos(of ownerID: String) throws(SyncCoreError) -> [PhotoRef] {
        try read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM photo_refs WHERE owner_id = ? AND IFNULL(deleted, 0) = 0 ORDER BY _lv", arguments: [ownerID]
            )
            .map(Self.photo)
        }
    }

    /// `grid` is `area` or lies below it: `grid = A OR A/ <= grid < A0` ('0' follows '/'), which a
    /// grid index serves.
    static func areaCondition(_ area: String, sql: inout String, arguments: inout [DatabaseValueConvertible], column: String = "grid") {
        sql += " AND (\(column) = ? OR (\(column) >= ? AND \(column) < ?))"
        arguments += [area, area + "/", area + "0"]
    }

    static func household(_ row: Row) -> Household {
        Household(
            id: row["id"], grid: row["grid"], doorPlate: row["door_plate"], headNameZh: row["head_name_zh"],
            headNameBo: row["head_name_bo"], members: row["members"], phone: row["phone"], location: row["location"],
            tags: ((row["tags"] as String?) ?? "").split(separator: ",").map(String.init), notes: row["notes"],
            deleted: (row["deleted"] as Int64?) == 1)
    }

    static func issue(_ row: Row) -> Issue {
        let reported = (row["tier"] as String?).flatMap(IssueTier.init) ?? .small
        return Issue(
            id: row["id"], grid: row["grid"], kind: (row["kind"] as String?).flatMap(IssueKind.init) ?? .other,
            reportedTier: reported, tier: (row["_tier"] as String?).flatMap(IssueTier.init) ?? reported,
            status: (row["_status"] as String?).flatMap(IssueStatus.init) ?? .reported, title: row["title"] ?? "",
            description: row["description"], householdID: row["household_id"], location: row["location"],
            reporter: row["reporter"], handler: row["handler"], dueDate: row["due_date"], deleted: (row["deleted"] as Int64?) == 1)
    }

    static func event(_ row: Row) -> IssueEvent? {
        guard let kind = (row["kind"] as String?).flatMap(IssueEventKind.init) else { return nil }
        return IssueEvent(
            id: row["id"], issueID: row["issue_id"] ?? "", kind: kind,
            at: HLCTimestamp(stored: row["at"]), actor: row["actor"], note: row["note"],
            tier: (row["tier"] as String?).flatMap(IssueTier.init), fromTier: (row["from_tier"] as String?).flatMap(IssueTier.init),
            satisfaction: row["satisfaction"])
    }

    static func photo(_ row: Row) -> PhotoRef {
        PhotoRef(
            id: row["id"], ownerTable: row["owner_table"] ?? "", ownerID: row["owner_id"] ?? "", sha256: row["sha256"] ?? "",
            caption: row["caption"], byteCount: row["byte_count"])
    }
}
