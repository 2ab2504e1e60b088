/// What a column may hold: its kind, its format and size, what it references and how it merges.
///
/// One description serves the local API (`WriteContext.writeLocal` checks every value against it),
/// the merge on every replica and the server: a value one of them would refuse, all refuse.
public struct ColumnRule: Sendable {
    /// The column's name, also its name on the wire.
    public let name: String
    /// The kind of value stored.
    public let kind: ColumnKind
    /// The values allowed (null is always allowed).
    public let format: ValueFormat
    /// How concurrent values of this column merge.
    public let merge: ColumnMerge
    /// The row this column names, which must lie in the same grid.
    public let reference: Reference?
    /// Names who wrote the record: a server checks it against the sender's enrolled person.
    public let isAuthor: Bool
    /// Set when the record is created and never changed by a device afterwards.
    public let setAtCreation: Bool

    init(
        _ name: String, _ kind: ColumnKind, _ format: ValueFormat, merge: ColumnMerge = .lastWriterWins, references: Reference? = nil,
        author: Bool = false, setAtCreation: Bool = false
    ) {
        self.name = name
        self.kind = kind
        self.format = format
        self.merge = merge
        self.reference = references
        self.isAuthor = author
        self.setAtCreation = setAtCreation
    }

    /// Why `value` may not stand in this column, or nil. `version` is the version it was written with.
    func refusal(_ value: Value, version: Version) -> String? {
        if value == .null { return nil }
        if !kind.accepts(value) { return "\(name) holds \(kind), not \(value.kindName)" }
        guard let problem = format.problem(value, version: version) else { return nil }
        return "\(name) \(problem)"
    }
}

/// How the values of a column merge when two writers meet.
public enum ColumnMerge: Sendable, Equatable {
    /// The higher version wins (hybrid logical timestamp, then site).
    case lastWriterWins
    /// A tombstone: the larger value wins whatever the versions, so a delete is never undone.
    case sticky
}

/// A column that names a row of another table. The row named must lie in the same grid as the row
/// naming it; where the named row is not known yet the reference is kept, and readers (the issue's
/// status, reports) count only rows of the same grid.
public enum Reference: Sendable, Equatable {
    /// A row of this table.
    case row(table: String)
    /// A row of the table named by another column of the same row (a photo's owner, a conflict's row).
    case rowOfTableIn(column: String)
}

/// The values a column accepts besides null.
public enum ValueFormat: Sendable, Equatable {
    /// Text of at most `maxBytes` UTF-8 bytes without control characters (tab and line feed allowed
    /// when `multiline`).
    case text(maxBytes: Int, multiline: Bool = false)
    /// One of these texts.
    case oneOf([String])
    /// An integer in this range.
    case integer(ClosedRange<Int64>)
    /// A calendar date `YYYY-MM-DD` (1970-9999) that exists.
    case date
    /// 64 lowercase hex digits.
    case sha256
    /// 16 lowercase hex digits, not all zero.
    case siteID
    /// A phone number: digits, spaces, `+ - ( )`, at most 32 bytes.
    case phone
    /// Comma-separated tags, each 1 to 64 bytes without control characters, no repeats.
    case tags
    /// The hybrid logical timestamp the value was written with (an event's `at`).
    case writeTime
    /// A hybrid logical timestamp, positive, below 2^63.
    case timestamp
    /// Any value kind, a text or blob of at most `maxBytes` bytes.
    case anyValue(maxBytes: Int)

    /// Why `value` does not fit, or nil.
    func problem(_ value: Value, version: Version) -> String? {
        switch self {
        case let .text(max, multiline):
            return value.text.flatMap { TextRule.problem($0, maxBytes: max, multiline: multiline) }
        case let .oneOf(allowed):
            guard let t = value.text, allowed.contains(t) else { return "must be one of \(allowed.joined(separator: ", "))" }
            return nil
        case let .integer(range):
            guard let i = value.integer, range.contains(i) else { return "must be \(range.lowerBound) to \(range.upperBound)" }
            return nil
        case .date:
            return value.text.flatMap { CalendarDate.isValid($0) ? nil : "must be an existing date YYYY-MM-DD" }
        case .sha256:
            return value.text.flatMap { Hex.isLowercase($0, digits: 64) ? nil : "must be 64 lowercase hex digits" }
        case .siteID:
            return value.text.flatMap {
                Hex.isLowercase($0, digits: 16) && $0 != String(repeating: "0", count: 16) ? nil : "must be a site id"
            }
        case .phone:
            guard let t = value.text else { return nil }
            if t.utf8.count > 32 { return "is longer than 32 bytes" }
            return t.unicodeScalars.allSatisfy({ "0123456789+- ()".unicodeScalars.contains($0) })
                ? nil : "may hold only digits, spaces and + - ( )"
        case .tags:
            guard let t = value.text else { return nil }
            if t.utf8.count > 4096 { return "is longer than 4096 bytes" }
            let tags = t.split(separator: ",", omittingEmptySubsequences: false)
            for tag in tags {
                if tag.isEmpty { return "has an empty tag" }
                if let p = TextRule.problem(String(tag), maxBytes: 64, multiline: false) { return "has a tag that \(p)" }
            }
            return Set(tags).count == tags.count ? nil : "repeats a tag"
        case .writeTime:
            guard let i = value.integer else { return nil }
            return UInt64(bitPattern: i) == version.timestamp.rawValue ? nil : "must be the timestamp it was written with"
        case .timestamp:
            guard let i = value.integer, i > 0 else { return "must be a positive timestamp" }
            return nil
        case let .anyValue(max):
            switch value {
            case let .text(t): return TextRule.problem(t, maxBytes: max, multiline: true)
            case let .blob(b): return b.count > max ? "is longer than \(max) bytes" : nil
            default: return nil
            }
        }
    }
}

/// The rule every stored text follows: a size in UTF-8 bytes and no control characters.
enum TextRule {
    /// Why `s` breaks the rule, or nil.
    static func problem(_ s: String, maxBytes: Int, multiline: Bool) -> String? {
        switch breach(s, maxBytes: maxBytes, multiline: multiline) {
        case nil: return nil
        case .tooLong: return "is longer than \(maxBytes) bytes"
        case let .control(v): return "contains a control character (U+\(String(v, radix: 16, uppercase: true)))"
        }
    }

    enum Breach { case tooLong, control(UInt32) }

    /// How `s` breaks the rule, or nil.
    static func breach(_ s: String, maxBytes: Int, multiline: Bool) -> Breach? {
        if s.utf8.count > maxBytes { return .tooLong }
        for scalar in s.unicodeScalars {
            let v = scalar.value
            guard v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) else { continue }
            if multiline && (v == 0x0A || v == 0x09) { continue }
            return .control(v)
        }
        return nil
    }
}

/// Calendar dates written `YYYY-MM-DD`, and their day numbers (days since 1970-01-01 in the
/// proleptic Gregorian calendar): reading a day needs no formatter, time zone database or locale,
/// which cost a new command-line process milliseconds to load.
package enum CalendarDate {
    /// True when `s` is `YYYY-MM-DD` naming a day that exists (1970-9999).
    static func isValid(_ s: String) -> Bool { dayNumber(s) != nil }

    /// The day number of `s`, nil unless it is `YYYY-MM-DD` naming a day that exists (1970-9999).
    package static func dayNumber(_ s: String) -> Int? {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            (1970...9999).contains(y), (1...12).contains(m)
        else { return nil }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        guard (1...[31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]).contains(d) else { return nil }
        // Counted from 0000-03-01, so that a leap day ends its year.
        let shifted = y - (m <= 2 ? 1 : 0)
        let era = shifted / 400
        let yearOfEra = shifted - era * 400
        let dayOfYear = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        return era * 146_097 + yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear - 719_468
    }

    /// `YYYY-MM-DD` of day number `n` (the inverse of `dayNumber`).
    package static func text(dayNumber n: Int) -> String {
        let (y, m, d) = civil(dayNumber: n)
        func digits(_ v: Int, _ width: Int) -> String { String(repeating: "0", count: max(0, width - String(v).count)) + String(v) }
        return "\(digits(y, 4))-\(digits(m, 2))-\(digits(d, 2))"
    }

    /// Year, month and day of day number `n`.
    static func civil(dayNumber n: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = n + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (m <= 2 ? 1 : 0), m, dayOfYear - (153 * mp + 2) / 5 + 1)
    }
}

extension Hex {
    /// True when `s` is exactly `digits` lowercase hex digits.
    static func isLowercase(_ s: String, digits: Int) -> Bool {
        s.utf8.count == digits && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}

extension Value {
    /// The value's kind, as a rule names it.
    var kindName: String {
        switch self {
        case .null: return "null"
        case .integer: return "integer"
        case .real: return "real"
        case .text: return "text"
        case .blob: return "blob"
        }
    }
}
