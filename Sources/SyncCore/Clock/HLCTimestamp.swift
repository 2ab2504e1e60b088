/// A hybrid logical clock reading: 48 bits of wall-clock milliseconds and a 16-bit logical counter.
///
/// The raw 64-bit value orders timestamps: physical time first, then the counter.
public struct HLCTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Number of bits of the logical counter.
    public static let counterBits: UInt64 = 16
    /// Largest value of the logical counter.
    public static let maxCounter: UInt64 = (1 << counterBits) - 1
    /// Largest physical time the 48-bit field can hold (milliseconds since 1970, about year 10889).
    public static let maxMillis: UInt64 = (1 << (64 - counterBits)) - 1

    /// The packed value: `millis << 16 | counter`.
    public let rawValue: UInt64

    /// The timestamp with the given packed value.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The timestamp of `millis` milliseconds since 1970 and logical counter `counter`.
    public init(millis: UInt64, counter: UInt64) {
        precondition(millis <= Self.maxMillis && counter <= Self.maxCounter)
        rawValue = millis << Self.counterBits | counter
    }

    /// The timestamp stored in an INTEGER column (its bit pattern), zero for null.
    init(stored value: Int64?) { self.init(rawValue: UInt64(bitPattern: value ?? 0)) }

    /// The zero timestamp, older than any real one.
    public static let zero = HLCTimestamp(rawValue: 0)

    /// Wall-clock milliseconds since 1970.
    public var millis: UInt64 { rawValue >> Self.counterBits }
    /// The logical counter.
    public var counter: UInt64 { rawValue & Self.maxCounter }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "\(millis).\(counter)" }
}
