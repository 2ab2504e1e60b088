import Foundation

/// Checks on what people type before it is stored: lengths, control characters, formats.
public enum InputRules {
    /// The trimmed text as a value (nil or empty: null), or an error naming the field; the size
    /// and the characters allowed are those of the column's rule, as the merge checks them.
    static func text(_ s: String?, _ rule: ColumnRule, field: InputField) throws(SyncCoreError) -> Value {
        guard let s else { return .null }
        let trimmed = s.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return .null }
        if case let .text(max, multiline) = rule.format {
            switch TextRule.breach(trimmed, maxBytes: max, multiline: multiline) {
            case nil: break
            case .tooLong: throw .input(.tooLong(field, maxBytes: max))
            case let .control(v): throw .input(.controlCharacter(field, scalar: v))
            }
        }
        return .text(trimmed)
    }

    static func required(_ s: String, _ rule: ColumnRule, field: InputField) throws(SyncCoreError) -> Value {
        let v = try text(s, rule, field: field)
        if v == .null { throw .input(.empty(field)) }
        return v
    }

    /// A person's name as enrolled and recorded as an author: trimmed, 1 to 256 bytes, one line.
    public static func personName(_ s: String) throws(SyncCoreError) -> String {
        try required(s, Schema.issueEvents["actor"], field: .name).text!
    }

    static func grid(_ s: String) throws(SyncCoreError) -> String { try AreaPath(s).string }

    static func phone(_ s: String?) throws(SyncCoreError) -> Value {
        let v = try text(s, ColumnRule("phone", .text, .text(maxBytes: 32)), field: .phone)
        if let t = v.text, ValueFormat.phone.problem(v, version: .init(timestamp: .zero, site: .init(rawValue: 0))) != nil {
            throw .input(.phone(text: t))
        }
        return v
    }

    static func date(_ s: String?, field: InputField) throws(SyncCoreError) -> Value {
        let v = try text(s, ColumnRule("date", .text, .text(maxBytes: 10)), field: field)
        guard let t = v.text else { return .null }
        guard CalendarDate.isValid(t) else { throw .input(.notADate(field, text: t)) }
        return v
    }

    static func sha256(_ s: String) throws(SyncCoreError) -> Value {
        let lower = s.lowercased()
        guard lower.utf8.count == 64, lower.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw .input(.photoHash(s))
        }
        return .text(lower)
    }

    /// Throws unless `s` is 64 lowercase or uppercase hex digits.
    public static func checkHash(_ s: String) throws(SyncCoreError) { _ = try sha256(s) }

    static func tags(_ tags: [String]) throws(SyncCoreError) -> Value {
        var clean: [String] = []
        for t in tags {
            guard let v = try text(t, ColumnRule("tag", .text, .text(maxBytes: 64)), field: .tag).text else { continue }
            if v.contains(",") { throw .input(.tagWithComma(v)) }
            if !clean.contains(v) { clean.append(v) }
        }
        return clean.isEmpty ? .null : .text(clean.joined(separator: ","))
    }

    static func newID() -> String { UUID().uuidString.lowercased() }
}

extension Value {
    init(_ int: Int?) { self = int.map { .integer(Int64($0)) } ?? .null }
}
