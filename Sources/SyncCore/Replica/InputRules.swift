import Foundation

/// Checks on what people type before it is stored: lengths, control characters, formats.
public enum InputRules {
    static let maxShortText = 1024
    static let maxLongText = 32 * 1024

    /// The trimmed text as a value (nil or empty: null), or an error naming the field.
    static func text(_ s: String?, field: String, max: Int = maxShortText, multiline: Bool = false) throws(SyncCoreError) -> Value {
        guard let s else { return .null }
        let trimmed = s.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return .null }
        if trimmed.utf8.count > max { throw .invalidInput("\(field) is longer than \(max) bytes") }
        for scalar in trimmed.unicodeScalars {
            let v = scalar.value
            let allowedControl = multiline && (v == 0x0A || v == 0x09)
            if (v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v)) && !allowedControl {
                throw .invalidInput("\(field) contains a control character (U+\(String(v, radix: 16, uppercase: true)))")
            }
        }
        return .text(trimmed)
    }

    static func required(_ s: String, field: String, max: Int = maxShortText) throws(SyncCoreError) -> Value {
        let v = try text(s, field: field, max: max)
        if v == .null { throw .invalidInput("\(field) must not be empty") }
        return v
    }

    static func grid(_ s: String) throws(SyncCoreError) -> String { try AreaPath(s).string }

    static func phone(_ s: String?) throws(SyncCoreError) -> Value {
        let v = try text(s, field: "phone", max: 32)
        if let t = v.text, !t.unicodeScalars.allSatisfy({ "0123456789+- ()".unicodeScalars.contains($0) }) {
            throw .invalidInput("phone may hold only digits, spaces and + - ( ): \(t.debugDescription)")
        }
        return v
    }

    static func date(_ s: String?, field: String) throws(SyncCoreError) -> Value {
        let v = try text(s, field: field, max: 10)
        guard let t = v.text else { return .null }
        let parts = t.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            (1970...9999).contains(y), (1...12).contains(m), (1...31).contains(d)
        else { throw .invalidInput("\(field) must be a date YYYY-MM-DD: \(t.debugDescription)") }
        return v
    }

    static func sha256(_ s: String) throws(SyncCoreError) -> Value {
        let lower = s.lowercased()
        guard lower.utf8.count == 64, lower.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw .invalidInput("a photo hash is 64 hex digits (SHA-256): \(s.debugDescription)")
        }
        return .text(lower)
    }

    /// Throws unless `s` is 64 lowercase or uppercase hex digits.
    public static func checkHash(_ s: String) throws(SyncCoreError) { _ = try sha256(s) }

    static func tags(_ tags: [String]) throws(SyncCoreError) -> Value {
        var clean: [String] = []
        for t in tags {
            guard let v = try text(t, field: "tag", max: 64).text else { continue }
            if v.contains(",") { throw .invalidInput("a tag may not contain a comma: \(v.debugDescription)") }
            if !clean.contains(v) { clean.append(v) }
        }
        return clean.isEmpty ? .null : .text(clean.joined(separator: ","))
    }

    static func newID() -> String { UUID().uuidString.lowercased() }
}

extension Value {
    init(_ int: Int?) { self = int.map { .integer(Int64($0)) } ?? .null }
}
