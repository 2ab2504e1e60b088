import GRDB

import struct Foundation.Data

/// A column value as stored in SQLite and carried in changesets.
public enum Value: Hashable, Sendable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The text, if this is text.
    public var text: String? {
        if case let .text(s) = self { return s }
        return nil
    }

    /// The integer, if this is an integer.
    public var integer: Int64? {
        if case let .integer(i) = self { return i }
        return nil
    }

    public var description: String {
        switch self {
        case .null: return "null"
        case let .integer(i): return String(i)
        case let .real(d): return String(d)
        case let .text(s): return s
        case let .blob(b): return "<\(b.count) bytes>"
        }
    }

    /// True when both are the same value to the byte (Swift's `==` on text treats canonically
    /// equivalent texts as equal, which stored bytes are not).
    func isIdentical(to other: Value) -> Bool {
        if case let .text(a) = self, case let .text(b) = other { return a.hasSameBytes(as: b) }
        return self == other
    }

    /// The bytes the value stands for when stored: a text's UTF-8, a blob's bytes, 8 otherwise.
    var expandedBytes: Int {
        switch self {
        case let .text(s): return s.utf8.count
        case let .blob(b): return b.count
        default: return 8
        }
    }

    /// The GRDB value bound into statements.
    var databaseValue: DatabaseValue {
        switch self {
        case .null: return .null
        case let .integer(i): return i.databaseValue
        case let .real(d): return d.databaseValue
        case let .text(s): return s.databaseValue
        case let .blob(b): return Data(b).databaseValue
        }
    }

    /// The value read from a GRDB database value.
    init(_ dbValue: DatabaseValue) {
        switch dbValue.storage {
        case .null: self = .null
        case let .int64(i): self = .integer(i)
        case let .double(d): self = .real(d)
        case let .string(s): self = .text(s)
        case let .blob(d): self = .blob([UInt8](d))
        }
    }
}
