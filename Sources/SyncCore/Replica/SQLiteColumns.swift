import GRDB
import GRDBSQLite

import protocol Foundation.ContiguousBytes

// Reading a stepped statement's columns straight from SQLite's buffers, for the reads that run
// per row in a pull, a merge or a list. GRDB's `Row` costs several allocations and a generic
// lookup per row; these cost the strings themselves.

/// Column `i` of the current row of `s` as text (nil when NULL); bytes that are not UTF-8 are
/// replaced, as Swift's strings do. Every byte is read, an embedded NUL included.
func columnText(_ s: OpaquePointer, _ i: Int32) -> String? {
    guard sqlite3_column_type(s, i) != SQLITE_NULL, let bytes = sqlite3_column_text(s, i) else { return nil }
    return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(s, i))), as: UTF8.self)
}

/// Column `i` of the current row of `s` as a whole number (nil when NULL, text, or a fraction).
func columnInteger(_ s: OpaquePointer, _ i: Int32) -> Int? {
    switch sqlite3_column_type(s, i) {
    case SQLITE_INTEGER: return Int(sqlite3_column_int64(s, i))
    case SQLITE_FLOAT: return Int(exactly: sqlite3_column_double(s, i))
    default: return nil
    }
}

/// Column `i` of the current row of `s` as the value it holds, of its own storage class.
func columnValue(_ s: OpaquePointer, _ i: Int32) -> Value {
    switch sqlite3_column_type(s, i) {
    case SQLITE_INTEGER: return .integer(sqlite3_column_int64(s, i))
    case SQLITE_FLOAT: return .real(sqlite3_column_double(s, i))
    case SQLITE_TEXT: return .text(columnText(s, i) ?? "")
    case SQLITE_BLOB:
        let count = Int(sqlite3_column_bytes(s, i))
        guard count > 0, let bytes = sqlite3_column_blob(s, i) else { return .blob([]) }
        return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
    default: return .null
    }
}

/// Column `i` of the current row of `s` as raw bytes, valid until the statement moves on.
func columnBytes(_ s: OpaquePointer, _ i: Int32) -> UnsafeRawBufferPointer {
    let count = Int(sqlite3_column_bytes(s, i))
    guard count > 0, let bytes = sqlite3_column_blob(s, i) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: bytes, count: count)
}

/// SQLite's marker for a bound value it must copy (`SQLITE_TRANSIENT`, which Swift cannot import).
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// Binds `text` to parameter `i` of `s` (a copy: the string may go before the step); SQLite's
/// result code.
func bindText(_ s: OpaquePointer, _ i: Int32, _ text: String) -> Int32 {
    var text = text
    return text.withUTF8 { bytes in
        guard let base = bytes.baseAddress else { return sqlite3_bind_text(s, i, "", 0, sqliteTransient) }
        return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
            sqlite3_bind_text(s, i, $0, Int32(bytes.count), sqliteTransient)
        }
    }
}

/// Binds `value` to parameter `i` of `s` (text and blobs copied); SQLite's result code.
func bindValue(_ s: OpaquePointer, _ i: Int32, _ value: Value) -> Int32 {
    switch value {
    case .null: return sqlite3_bind_null(s, i)
    case let .integer(v): return sqlite3_bind_int64(s, i, v)
    case let .real(d): return sqlite3_bind_double(s, i, d)
    case let .text(t): return bindText(s, i, t)
    case let .blob(b): return bindBlob(s, i, b)
    }
}

/// Binds `bytes` to parameter `i` of `s` as a blob (empty is a blob of no bytes, not NULL).
func bindBlob<Bytes: ContiguousBytes>(_ s: OpaquePointer, _ i: Int32, _ bytes: Bytes) -> Int32 {
    bytes.withUnsafeBytes { raw in
        guard let base = raw.baseAddress, raw.count > 0 else { return sqlite3_bind_zeroblob(s, i, 0) }
        return sqlite3_bind_blob(s, i, base, Int32(raw.count), sqliteTransient)
    }
}

/// Runs `sql`, a statement that returns no rows, once, with the parameters `bind` sets; `bind`
/// returns the first result code that is not `SQLITE_OK`. The statement is GRDB's cached one,
/// stepped here without GRDB's argument checks and execution hooks (a merge runs a few per row
/// it stores): GRDB's transaction observers would not see these writes, and none is used.
func run(_ db: Database, _ sql: String, _ bind: (OpaquePointer) -> Int32) throws {
    let statement = try db.cachedStatement(sql: sql)
    try withExtendedLifetime(statement) {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        defer { sqlite3_reset(s) }
        let bound = bind(s)
        guard bound == SQLITE_OK else { throw stepError(bound, db, sql: sql) }
        let code = sqlite3_step(s)
        guard code == SQLITE_DONE else { throw stepError(code, db, sql: sql) }
    }
}

/// Steps `statement` (its arguments set) to its end, calling `body` at each row, and resets it.
func forEachRow(_ statement: Statement, _ db: Database, _ body: (OpaquePointer) throws -> Void) throws {
    // The statement is finalized when `statement` goes: it must outlive every step below.
    try withExtendedLifetime(statement) {
        let s = statement.sqliteStatement
        defer { sqlite3_reset(s) }
        while true {
            let step = sqlite3_step(s)
            if step == SQLITE_DONE { return }
            guard step == SQLITE_ROW else { throw stepError(step, db, sql: statement.sql) }
            try body(s)
        }
    }
}

/// SQLite's error for a step of `sql` on `db` that returned `code`.
func stepError(_ code: Int32, _ db: Database, sql: String) -> DatabaseError {
    DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: sql)
}
