/// Why bytes are not a valid encoded changeset; `offset` points into the decoded body (or into the
/// envelope for envelope errors).
public enum ChangesetDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case unsupportedVersion(found: UInt8, supported: [UInt8])
    case unknownFlags(found: UInt8)
    case truncated(offset: Int, expected: String)
    case varintOverflow(offset: Int)
    case lengthTooLarge(offset: Int, what: String, length: UInt64, available: Int)
    case bodyTooLarge(length: UInt64, limit: Int)
    case decompressionFailed(String)
    case invalidUTF8(offset: Int)
    case indexOutOfRange(offset: Int, what: String, index: UInt64, count: Int)
    case unknownValueTag(offset: Int, found: UInt8)
    case invalidField(offset: Int, String)
    case trailingBytes(offset: Int, count: Int)
    /// The values the changeset stands for (every text and blob counted each time a change or row
    /// refers to it) exceed what its size allows.
    case expandsTooMuch(bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .empty: return "empty changeset: expected a format version byte"
        case let .unsupportedVersion(found, supported):
            return "unsupported changeset format: expected one of \(supported.map(String.init).joined(separator: ", ")), found \(found)"
        case let .unknownFlags(found): return "unknown changeset flags: expected 0 or 1, found \(found)"
        case let .truncated(offset, expected): return "changeset truncated at byte \(offset): expected \(expected)"
        case let .varintOverflow(offset): return "varint at byte \(offset) does not fit 64 bits"
        case let .lengthTooLarge(offset, what, length, available):
            return "\(what) at byte \(offset) is \(length), more than the \(available) bytes left"
        case let .bodyTooLarge(length, limit): return "changeset body of \(length) bytes exceeds the limit of \(limit)"
        case let .decompressionFailed(m): return "changeset body does not decompress: \(m)"
        case let .invalidUTF8(offset): return "string at byte \(offset) is not valid UTF-8"
        case let .indexOutOfRange(offset, what, index, count):
            return "\(what) index \(index) at byte \(offset) is out of range (table has \(count))"
        case let .unknownValueTag(offset, found): return "value tag at byte \(offset): expected one of 0, 1, 2, 3, 4, found \(found)"
        case let .invalidField(offset, m): return "invalid field at byte \(offset): \(m)"
        case let .trailingBytes(offset, count): return "\(count) unexpected bytes after the changeset at byte \(offset)"
        case let .expandsTooMuch(bytes, limit):
            return "changeset stands for more than \(limit) bytes of ids and values (\(bytes) so far): split it"
        }
    }
}
