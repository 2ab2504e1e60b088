/// The identity of one replica: a random non-zero 64-bit number, shown as 16 hex digits.
///
/// Site ids break ties between equal timestamps, so they must differ between replicas.
public struct SiteID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The number.
    public let rawValue: UInt64

    /// The site id with this number.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Parses 16 hex digits; nil for anything else.
    public init?(hex: String) {
        guard hex.utf8.count == 16, let v = UInt64(hex, radix: 16) else { return nil }
        rawValue = v
    }

    /// A fresh random site id.
    public static func random() -> SiteID {
        var g = SystemRandomNumberGenerator()
        return SiteID(rawValue: UInt64.random(in: 1...UInt64.max, using: &g))
    }

    /// Sixteen lowercase hex digits.
    public var hex: String {
        let s = String(rawValue, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    public var description: String { hex }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The version of one column value: the writer's timestamp, ties broken by the writer's site id.
public struct Version: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// When the value was written.
    public var timestamp: HLCTimestamp
    /// Which replica wrote it.
    public var site: SiteID

    /// The version written at `timestamp` by `site`.
    public init(timestamp: HLCTimestamp, site: SiteID) {
        self.timestamp = timestamp
        self.site = site
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.timestamp, lhs.site) < (rhs.timestamp, rhs.site)
    }

    public var description: String { "\(timestamp)@\(site)" }
}
