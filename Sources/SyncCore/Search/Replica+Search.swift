import GRDB

/// One record that matches a search.
public struct SearchHit: Codable, Equatable, Sendable {
    /// `households` or `issues`.
    public var table: String
    public var id: String
    public var grid: String
    /// The household's head and door plate, or the issue's title.
    public var label: String
}

extension Replica {
    /// Finds households (by names, door plate, tags and notes) and issues (by title and
    /// description) whose text contains `query`: Chinese substrings, Tibetan syllables, Latin words.
    /// Works offline on the local replica; best matches first.
    public func search(_ query: String, limit: Int = 50) throws(SyncCoreError) -> [SearchHit] {
        guard query.utf8.count <= 1024 else { throw .input(.searchTooLong(maxBytes: 1024)) }
        guard let match = SearchTokenizer.matchExpression(query) else { return [] }
        try refreshSearchIndex()
        return try read { db in
            let households = try Row.fetchAll(
                db,
                sql: """
                    SELECT h.id, h.grid, h.head_name_zh, h.head_name_bo, h.door_plate, s.rank FROM household_search s
                    JOIN households h ON h.rowid = s.rowid WHERE household_search MATCH ? ORDER BY s.rank LIMIT ?
                    """, arguments: [match, limit]
            ).map { row -> (Double, SearchHit) in
                let label = [row[2], row[3], row[4]].compactMap { $0 as String? }.joined(separator: " ")
                return (row[5], SearchHit(table: "households", id: row[0], grid: row[1], label: label))
            }
            let issues = try Row.fetchAll(
                db,
                sql: """
                    SELECT i.id, i.grid, i.title, s.rank FROM issue_search s
                    JOIN issues i ON i.rowid = s.rowid WHERE issue_search MATCH ? ORDER BY s.rank LIMIT ?
                    """, arguments: [match, limit]
            ).map { row -> (Double, SearchHit) in
                (row[3], SearchHit(table: "issues", id: row[0], grid: row[1], label: row[2] ?? ""))
            }
            return (households + issues).sorted { $0.0 < $1.0 }.prefix(limit).map(\.1)
        }
    }

    /// Indexes for search what arrived since the last search, so that the next one answers at
    /// once: `gridsync sync` calls it after a pull brought records (a county's first pull brings
    /// tens of thousands).
    public func prepareSearch() throws(SyncCoreError) { try refreshSearchIndex() }

    /// Brings the search index up to date with every row changed since it was last refreshed.
    /// The index is refreshed lazily, here, so writes and merges pay nothing for it.
    func refreshSearchIndex() throws(SyncCoreError) {
        try write { context in
            let db = context.db
            let indexed = try Int64.fetchOne(db, sql: "SELECT search_version FROM replica_meta") ?? 0
            guard indexed < context.localVersion else { return }
            let sources: [(table: String, index: String, columns: [String])] = [
                ("households", "household_search", ["head_name_zh", "head_name_bo", "door_plate", "tags", "notes"]),
                ("issues", "issue_search", ["title", "description"]),
            ]
            for source in sources {
                let rows = try Row.fetchCursor(
                    db,
                    sql: "SELECT rowid, IFNULL(deleted, 0), \(source.columns.joined(separator: ", ")) FROM \(source.table) WHERE _lv > ?",
                    arguments: [indexed])
                let delete = try db.cachedStatement(sql: "DELETE FROM \(source.index) WHERE rowid = ?")
                let insert = try db.cachedStatement(sql: "INSERT INTO \(source.index) (rowid, words, chars) VALUES (?, ?, ?)")
                while let row = try rows.next() {
                    let rowid: Int64 = row[0]
                    try delete.execute(arguments: [rowid])
                    guard (row[1] as Int64) == 0 else { continue }
                    let text = (2..<(2 + source.columns.count)).compactMap { row[$0] as String? }.joined(separator: " \n ")
                    let terms = SearchTokenizer.terms(text)
                    try insert.execute(arguments: [rowid, terms.words.joined(separator: " "), terms.chars.joined(separator: " ")])
                }
            }
            try db.execute(sql: "UPDATE replica_meta SET search_version = ?", arguments: [context.localVersion])
        }
    }
}
