import GRDB

extension Replica {
    /// The fewest characters of an id `resolveID` takes as a prefix.
    public static let shortestIDPrefix = 4

    /// The full id of the record of `table` whose id is `prefix` or starts with it, so people can
    /// type the first characters of an id; unknown and ambiguous prefixes are errors.
    public func resolveID(_ prefix: String, in table: SyncedTable) throws(SyncCoreError) -> String {
        let kind = String(table.name.dropLast())
        guard !prefix.isEmpty, prefix.utf8.count <= 256 else { throw .input(.idLength) }
        return try read { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM \(table.name) WHERE id = ?", arguments: [prefix]) == true { return prefix }
            // A prefix of one to three characters matches whatever happens to start so: too easy
            // to act on the wrong record.
            guard prefix.count >= Self.shortestIDPrefix else {
                throw SyncCoreError.input(.idTooShort(prefix: prefix, minimum: Self.shortestIDPrefix))
            }
            let escaped = prefix.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_")
            let ids = try String.fetchAll(
                db, sql: "SELECT id FROM \(table.name) WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 6", arguments: [escaped + "%"])
            switch ids.count {
            case 0: throw SyncCoreError.notFound(kind: kind, id: prefix)
            case 1: return ids[0]
            default:
                throw SyncCoreError.input(.ambiguousID(prefix: prefix, candidates: ids))
            }
        }
    }

    /// The value column `column` of row `id` of `table` holds now, as text (nil when empty or unknown).
    public func currentValue(table: SyncedTable, id: String, column: String) throws(SyncCoreError) -> String? {
        guard table.index(of: column) != nil else { throw .invalidInput("\(table.name) has no column \(column)") }
        return try read { db in
            guard let value = try DatabaseValue.fetchOne(db, sql: "SELECT \(column) FROM \(table.name) WHERE id = ?", arguments: [id])
            else { return nil }
            let v = Value(value)
            return v == .null ? nil : v.description
        }
    }
}
