import Foundation
import PostgresNIO
import SyncCore

/// The tables of a PostgreSQL store and the conversions between its rows and the merge's.
///
/// Each synced table has the columns the data model gives it (text as `text`, integers as
/// `bigint`, a conflict's lost value as `bytea` with a one-byte type tag), its row's grid and its
/// column clocks (`_clock`, the same 40 bytes per column a SQLite replica keeps). Grids compare
/// byte by byte (`COLLATE "C"`), as the scope conditions `S/ <= grid < S0` need.
enum PostgresSchema {
    /// The advisory lock held while the tables are created.
    static let creationLock: Int64 = 0x6772_6964_7379_6E63  // "gridsync"

    static var statements: [String] {
        var statements = [
            """
            CREATE TABLE IF NOT EXISTS gridsync_meta (
                id integer PRIMARY KEY CHECK (id = 1), site bigint NOT NULL, hlc bigint NOT NULL, last_lv bigint NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS change_log (
                lv bigint PRIMARY KEY, tbl bigint NOT NULL, row_id text NOT NULL, grid text COLLATE "C" NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS change_log_grid ON change_log (grid, lv)",
            """
            CREATE TABLE IF NOT EXISTS kept (
                id bigserial PRIMARY KEY, changeset bytea NOT NULL, tbl text NOT NULL, row_id text NOT NULL,
                grid text COLLATE "C" NOT NULL, lv bigint NOT NULL)
            """,
            // SHA-256, not MD5: a device must not be able to make two kept rows collide.
            "CREATE UNIQUE INDEX IF NOT EXISTS kept_changeset_sha256 ON kept (sha256(changeset))",
        ]
        for table in Schema.all {
            var columns = ["id text PRIMARY KEY", "grid text COLLATE \"C\" NOT NULL", "_clock bytea NOT NULL"]
            for (name, kind) in zip(table.columns, table.kinds) { columns.append("\(quoted(name)) \(sqlType(kind))") }
            if table.name == Schema.issues.name { columns += ["_status text NOT NULL DEFAULT 'reported'", "_tier text"] }
            statements.append("CREATE TABLE IF NOT EXISTS \(table.name) (\(columns.joined(separator: ", ")))")
        }
        statements.append("CREATE INDEX IF NOT EXISTS issue_events_issue ON issue_events (issue_id)")
        return statements
    }

    static func sqlType(_ kind: ColumnKind) -> String {
        switch kind {
        case .text: return "text"
        case .integer: return "bigint"
        case .any: return "bytea"
        }
    }

    /// A column name as an SQL identifier (some, like `at`, are words of SQL).
    static func quoted(_ name: String) -> String { "\"\(name)\"" }

    /// The advisory-lock key of row `id` of table number `table`: FNV-1a over both, the same on
    /// every server (Swift's own hashing is seeded per process).
    static func lockKey(table: Int, id: String) -> Int64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in "\(table)/\(id)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return Int64(bitPattern: hash)
    }

    static func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Appends `value`, of a column of `kind`, to `binds`.
    static func bind(_ value: Value, kind: ColumnKind, to binds: inout PostgresBindings) throws {
        switch (kind, value) {
        case (_, .null): binds.appendNull()
        case let (.text, .text(s)): try binds.append(s)
        case let (.integer, .integer(i)): try binds.append(i)
        case (.any, _): try binds.append(Data(tagged(value)))
        default: throw PostgresStoreError.valueOfWrongKind("\(value)")
        }
    }

    /// A value of a column of kind `any`: a type tag, then the value.
    static func tagged(_ value: Value) -> [UInt8] {
        switch value {
        case .null: return [0]
        case let .integer(i): return [1] + withUnsafeBytes(of: i.littleEndian, Array.init)
        case let .real(d): return [2] + withUnsafeBytes(of: d.bitPattern.littleEndian, Array.init)
        case let .text(s): return [3] + Array(s.utf8)
        case let .blob(b): return [4] + b
        }
    }

    static func untagged(_ bytes: [UInt8]) throws -> Value {
        guard let tag = bytes.first else { throw PostgresStoreError.damaged("an empty tagged value") }
        let body = Array(bytes.dropFirst())
        func word() throws -> UInt64 {
            guard body.count == 8 else { throw PostgresStoreError.damaged("a tagged number of \(body.count) bytes") }
            return body.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        }
        switch tag {
        case 0: return .null
        case 1: return .integer(Int64(bitPattern: try word()))
        case 2: return .real(Double(bitPattern: try word()))
        case 3: return .text(String(decoding: body, as: UTF8.self))
        case 4: return .blob(body)
        default: throw PostgresStoreError.damaged("a value tagged \(tag)")
        }
    }

    /// Reads a row selected as `id, grid, _clock, <the table's columns>`.
    static func storedRow(_ table: SyncedTable, _ row: PostgresRow) throws -> (String, StoredRow) {
        let cells = row.makeRandomAccess()
        guard let id = try cells[0].text(), let grid = try cells[1].text(), let clockBytes = try cells[2].byteArray() else {
            throw PostgresStoreError.damaged("a row without its id, grid or column clocks")
        }
        let clocks = try ColumnClocks(blob: clockBytes, count: table.columns.count)
        var values: [Value] = []
        values.reserveCapacity(table.columns.count)
        for (i, kind) in table.kinds.enumerated() {
            let cell = cells[i + 3]
            switch kind {
            case .text: values.append(try cell.text().map(Value.text) ?? .null)
            case .integer: values.append(try cell.integer().map(Value.integer) ?? .null)
            case .any: values.append(try cell.byteArray().map { try untagged($0) } ?? .null)
            }
        }
        return (id, StoredRow(grid: grid, values: values, clocks: clocks))
    }

    /// The condition selecting rows in `area` or below it (`$1`, `$2`, `$3`), and its values.
    static func areaCondition(_ area: String) -> (String, [String]) {
        ("grid = $1 OR (grid >= $2 AND grid < $3)", [area, area + "/", area + "0"])
    }

}

/// What a PostgreSQL store refuses or finds wrong.
public enum PostgresStoreError: Error, CustomStringConvertible {
    case valueOfWrongKind(String)
    case damaged(String)
    case address(String)
    /// None of the address's hosts is a primary now (it died and no standby is promoted yet).
    case noPrimary(String)
    /// Work on the database went unanswered for this long (its connection was cut).
    case noAnswer(String)

    public var description: String {
        switch self {
        case let .valueOfWrongKind(value): return "a value of the wrong kind for its column: \(value)"
        case let .damaged(what): return "the PostgreSQL store holds \(what)"
        case let .address(problem): return "PostgreSQL address \(problem)"
        case let .noPrimary(hosts): return "no PostgreSQL primary among \(hosts) now"
        case let .noAnswer(wait): return "no answer from PostgreSQL in \(wait)"
        }
    }
}

/// Cells read straight from their bytes when they come as the store's columns do (binary
/// `text`, `bigint`, `bytea`), and through PostgresNIO's decoding otherwise. Pulls read every
/// cell of every row they send; the generic decoding was a sixth of a PostgreSQL server's time
/// in the realistic mix.
extension PostgresCell {
    /// The cell's text, or nil for NULL; bytes that are not UTF-8 are replaced.
    func text() throws -> String? {
        guard let buffer = bytes else { return nil }
        guard dataType == .text || dataType == .varchar else { return try decode(String.self) }
        return String(buffer: buffer)
    }

    /// The cell's whole number, or nil for NULL.
    func integer() throws -> Int64? {
        guard let buffer = bytes else { return nil }
        guard format == .binary, dataType == .int8, let value = buffer.getInteger(at: buffer.readerIndex, as: Int64.self) else {
            return try decode(Int64.self)
        }
        return value
    }

    /// The cell's bytes (`bytea`), or nil for NULL.
    func byteArray() throws -> [UInt8]? {
        guard let buffer = bytes else { return nil }
        guard format == .binary, dataType == .bytea else { return [UInt8](try decode(Data.self)) }
        return Array(buffer.readableBytesView)
    }
}
