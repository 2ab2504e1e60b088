import Foundation
import GRDB
import GRDBSQLite

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
    /// Only issues whose title or description contains this text, as `search` finds it.
    public var text: String?
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
        try read { db in
            try Self.households(db, sql: "SELECT \(Self.householdColumns) FROM households WHERE id = ?", arguments: [id]).first
        }
    }

    /// The living households of `area` (a grid or any area above it), by door plate (then id),
    /// compared byte for byte as SQLite's `ORDER BY` compares them; at most `limit`.
    public func households(area: String? = nil, limit: Int = 10_000) throws(SyncCoreError) -> [Household] {
        try read { db in
            var sql = "SELECT \(Self.householdColumns) FROM households WHERE IFNULL(deleted, 0) = 0"
            var arguments: [DatabaseValueConvertible] = []
            if let area { Self.areaCondition(area, sql: &sql, arguments: &arguments) }
            // SQLite's sorter costs more than reading the rows it sorts (a township's 6,000
            // households: 15 ms of 25). When every row of the area fits in the limit (counted on
            // an index, deleted rows included), they are read unordered and sorted here.
            var count = 0
            if limit < Int.max {
                var counting = "SELECT count(*) FROM households WHERE 1"
                var countArguments: [DatabaseValueConvertible] = []
                if let area { Self.areaCondition(area, sql: &counting, arguments: &countArguments) }
                count = try Int.fetchOne(db, sql: counting, arguments: StatementArguments(countArguments)) ?? 0
                if count > limit {
                    sql += " ORDER BY door_plate, id LIMIT \(max(0, limit))"
                    return try Self.households(db, sql: sql, arguments: arguments, expecting: limit)
                }
            }
            let list = try Self.households(db, sql: sql, arguments: arguments, expecting: count)
            return Self.byDoorPlate(list, limit: limit)
        }
    }

    /// `households` by door plate (NULL first), then id, their UTF-8 bytes compared as SQLite's
    /// BINARY collation compares them (Swift's `<` takes canonical equivalents as equal). The
    /// keys are packed in one buffer: sorting the households themselves moves eleven references
    /// a swap, more than the comparisons cost.
    static func byDoorPlate(_ households: [Household], limit: Int = .max) -> [Household] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(households.count * 48)
        var keys: [(plate: Range<Int>?, id: Range<Int>, row: Int)] = []
        keys.reserveCapacity(households.count)
        for (row, h) in households.enumerated() {
            let plate = h.doorPlate.map { text in
                let start = bytes.count
                bytes.append(contentsOf: text.utf8)
                return start..<bytes.count
            }
            let start = bytes.count
            bytes.append(contentsOf: h.id.utf8)
            keys.append((plate, start..<bytes.count, row))
        }
        bytes.withUnsafeBufferPointer { buffer in
            /// -1, 0 or 1 as `a` sorts before, with or after `b`.
            func order(_ a: Range<Int>, _ b: Range<Int>) -> Int32 {
                let shared = min(a.count, b.count)
                if shared > 0, let base = buffer.baseAddress {
                    let c = memcmp(base + a.lowerBound, base + b.lowerBound, shared)
                    if c != 0 { return c < 0 ? -1 : 1 }
                }
                return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
            }
            keys.sort { a, b in
                switch (a.plate, b.plate) {
                case (nil, nil): break
                case (nil, _): return true
                case (_, nil): return false
                case (let x?, let y?):
                    let c = order(x, y)
                    if c != 0 { return c < 0 }
                }
                return order(a.id, b.id) < 0
            }
        }
        return keys.prefix(max(0, limit)).map { households[$0.row] }
    }

    /// The issues that pass `filter`, newest first.
    public func issues(_ filter: IssueFilter = IssueFilter()) throws(SyncCoreError) -> [Issue] {
        if filter.text != nil { try refreshSearchIndex() }
        return try read { db in
            var (sql, arguments) = try Self.issueQuery(filter, columns: Self.issueColumns)
            sql += " ORDER BY _lv DESC LIMIT \(max(0, filter.limit))"
            return try Array(Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments)).map(Self.issue))
        }
    }

    /// How many issues pass `filter`, whatever its limit.
    public func issueCount(_ filter: IssueFilter = IssueFilter()) throws(SyncCoreError) -> Int {
        if filter.text != nil { try refreshSearchIndex() }
        return try read { db in
            let (sql, arguments) = try Self.issueQuery(filter, columns: "count(*)")
            return try Int.fetchOne(db, sql: sql, arguments: StatementArguments(arguments)) ?? 0
        }
    }

    /// The query selecting `columns` of the issues that pass `filter`, unordered and unlimited.
    private static func issueQuery(_ filter: IssueFilter, columns: String) throws(SyncCoreError) -> (String, [DatabaseValueConvertible]) {
        var sql = "SELECT \(columns) FROM issues WHERE 1"
        var arguments: [DatabaseValueConvertible] = []
        if !filter.includeDeleted { sql += " AND IFNULL(deleted, 0) = 0" }
        if let s = filter.status { sql += " AND _status = ?"; arguments.append(s.rawValue) }
        if let t = filter.tier { sql += " AND IFNULL(_tier, tier) = ?"; arguments.append(t.rawValue) }
        if let k = filter.kind { sql += " AND kind = ?"; arguments.append(k.rawValue) }
        if let h = filter.handler { sql += " AND handler = ?"; arguments.append(h) }
        if let text = filter.text {
            guard text.utf8.count <= 1024 else { throw .input(.searchTooLong(maxBytes: 1024)) }
            if let match = SearchTokenizer.matchExpression(text) {
                sql += " AND rowid IN (SELECT rowid FROM issue_search WHERE issue_search MATCH ?)"
                arguments.append(match)
            } else {
                sql += " AND 0"
            }
        }
        if let area = filter.area { areaCondition(area, sql: &sql, arguments: &arguments) }
        if let day = filter.overdueOn {
            sql += " AND due_date IS NOT NULL AND due_date < ? AND _status NOT IN ('resolved', 'followed_up', 'closed')"
            arguments.append(day)
        }
        return (sql, arguments)
    }

    /// Issue `id` with its events (in order) and photos, or nil when unknown here.
    public func issueDetail(_ id: String) throws(SyncCoreError) -> IssueDetail? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.issueColumns) FROM issues WHERE id = ?", arguments: [id]) else {
                return nil
            }
            let events = try Row.fetchAll(
                db, sql: "SELECT \(Self.eventColumns) FROM issue_events WHERE issue_id = ? AND grid = ? ORDER BY at, id",
                arguments: [id, row["grid"]]
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
        // One range of the index ("a" up to "a0": "/" is the character before "0"), then the
        // rows in it that are `area` itself or under it ("a-2" is in the range, not under "a").
        // Written as two ranges joined by OR, SQLite reads each range and then every row again
        // through a set of row ids, even from an index holding every column it needs.
        sql += " AND \(column) >= ? AND \(column) < ? AND (\(column) = ? OR \(column) >= ?)"
        arguments += [area, area + "0", area, area + "/"]
    }

    /// The columns `household(_:)`, `issue(_:)` and `event(_:)` read: not the merge's clocks, which
    /// are ten times larger than a row's values and would be carried through every sort.
    static let householdColumns = "id, grid, door_plate, head_name_zh, head_name_bo, members, phone, location, tags, notes, deleted"
    static let issueColumns = """
        id, grid, kind, tier, _tier, _status, title, description, household_id, location, reporter, handler, due_date, deleted,
        requester, channel
        """
    static let eventColumns = "id, issue_id, kind, at, actor, note, tier, from_tier, satisfaction, assignee"

    /// The households of `sql` (which selects `householdColumns`), read from SQLite's own column
    /// buffers. Rows of an area come in grid order and most share their tags: a grid or a tag
    /// list equal to the previous row's is taken from it instead of being made again. A
    /// township's 6,000 rows were read, counted and sorted in 16 ms at best through GRDB's
    /// `Row`, and are in 12 ms so.
    static func households(
        _ db: Database, sql: String, arguments: [DatabaseValueConvertible], expecting count: Int = 0
    ) throws -> [Household] {
        let statement = try db.makeStatement(sql: sql)
        try statement.setArguments(StatementArguments(arguments))
        var list: [Household] = []
        // Room for them all at once: grown by doubling, a township's 6,000 were copied about
        // twelve times into new memory.
        list.reserveCapacity(max(0, count))
        var grid = RepeatedText()
        var tags = RepeatedText()
        var lastTags: [String] = []
        try forEachRow(statement, db) { s in
            if tags.read(s, 8) { lastTags = tags.text.split(separator: ",").map(String.init) }
            grid.read(s, 1)
            list.append(
                Household(
                    id: columnText(s, 0) ?? "", grid: grid.text, doorPlate: columnText(s, 2), headNameZh: columnText(s, 3),
                    headNameBo: columnText(s, 4), members: columnInteger(s, 5),
                    phone: columnText(s, 6), location: columnText(s, 7), tags: lastTags, notes: columnText(s, 9),
                    deleted: columnInteger(s, 10) == 1))
        }
        return list
    }

    /// Reads a row of `issueColumns`, by position.
    static func issue(_ row: Row) -> Issue {
        let reported = (row[3] as String?).flatMap(IssueTier.init) ?? .small
        return Issue(
            id: row[0], grid: row[1], kind: (row[2] as String?).flatMap(IssueKind.init) ?? .other, reportedTier: reported,
            tier: (row[4] as String?).flatMap(IssueTier.init) ?? reported,
            status: (row[5] as String?).flatMap(IssueStatus.init) ?? .reported,
            title: row[6] ?? "", description: row[7], householdID: row[8], location: row[9], reporter: row[10], handler: row[11],
            dueDate: row[12], deleted: (row[13] as Int64?) == 1, requester: row[14],
            channel: (row[15] as String?).flatMap(IssueChannel.init))
    }

    /// Reads a row of `eventColumns`, by position; nil for an event kind this release does not know.
    static func event(_ row: Row) -> IssueEvent? {
        guard let kind = (row[2] as String?).flatMap(IssueEventKind.init) else { return nil }
        return IssueEvent(
            id: row[0], issueID: row[1] ?? "", kind: kind, at: HLCTimestamp(stored: row[3]), actor: row[4], note: row[5],
            tier: (row[6] as String?).flatMap(IssueTier.init), fromTier: (row[7] as String?).flatMap(IssueTier.init), satisfaction: row[8],
            assignee: row[9])
    }

    static func photo(_ row: Row) -> PhotoRef {
        PhotoRef(
            id: row["id"], ownerTable: row["owner_table"] ?? "", ownerID: row["owner_id"] ?? "", sha256: row["sha256"] ?? "",
            caption: row["caption"], byteCount: row["byte_count"])
    }
}

/// The last text a column held, kept as bytes to compare the next row's with, and as a string.
private struct RepeatedText {
    var bytes: [UInt8] = []
    var text = ""

    /// Reads column `i` of the current row of `s` (NULL reads as ""); returns true when it
    /// differs from the last one read, and `text` is then made anew.
    @discardableResult
    mutating func read(_ s: OpaquePointer, _ i: Int32) -> Bool {
        let start = sqlite3_column_text(s, i)
        let now = UnsafeBufferPointer(start: start, count: start == nil ? 0 : Int(sqlite3_column_bytes(s, i)))
        let same =
            now.count == bytes.count
            && bytes.withUnsafeBufferPointer { old in now.isEmpty || memcmp(old.baseAddress!, now.baseAddress!, now.count) == 0 }
        if same { return false }
        bytes = Array(now)
        text = String(decoding: now, as: UTF8.self)
        return true
    }
}
