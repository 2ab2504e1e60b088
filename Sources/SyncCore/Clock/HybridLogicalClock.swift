/// A hybrid logical clock: timestamps close to wall time that never go backwards and that move past
/// every timestamp received, so causally later writes always carry larger timestamps.
///
/// A value type with no I/O: the replica keeps one and persists `last` with every transaction.
public struct HybridLogicalClock: Sendable {
    /// The largest timestamp issued or received so far.
    public private(set) var last: HLCTimestamp
    /// How far (in milliseconds) a remote timestamp may be ahead of the local wall clock.
    public var maxDriftMillis: UInt64

    /// Default bound on remote clock drift: 5 minutes.
    public static let defaultMaxDriftMillis: UInt64 = 5 * 60 * 1000

    /// A clock that starts after `last`.
    public init(last: HLCTimestamp = .zero, maxDriftMillis: UInt64 = defaultMaxDriftMillis) {
        self.last = last
        self.maxDriftMillis = maxDriftMillis
    }

    /// A fresh timestamp for a local event: the wall time if it is ahead, else one tick past `last`.
    public mutating func now(wallMillis: UInt64) throws(ClockError) -> HLCTimestamp {
        let wall = min(wallMillis, HLCTimestamp.maxMillis)
        let next: HLCTimestamp
        if wall > last.millis {
            next = HLCTimestamp(millis: wall, counter: 0)
        } else {
            next = try Self.tick(last)
        }
        last = next
        return next
    }

    /// Takes in a remote timestamp, refusing it if it is more than `maxDriftMillis` ahead of the wall.
    ///
    /// After this, every timestamp `now` issues is larger than `remote`.
    public mutating func receive(_ remote: HLCTimestamp, wallMillis: UInt64) throws(ClockError) {
        try check(remote, wallMillis: wallMillis)
        if remote > last { last = remote }
    }

    /// Throws if `remote` lies too far ahead of the wall clock; changes nothing.
    public func check(_ remote: HLCTimestamp, wallMillis: UInt64) throws(ClockError) {
        let (bound, overflow) = wallMillis.addingReportingOverflow(maxDriftMillis)
        if !overflow && remote.millis > bound {
            throw .remoteTooFarAhead(aheadMillis: remote.millis - wallMillis, maxDriftMillis: maxDriftMillis)
        }
    }

    /// The next timestamp after `t`: the counter plus one, or the next millisecond when it is full.
    static func tick(_ t: HLCTimestamp) throws(ClockError) -> HLCTimestamp {
        if t.counter < HLCTimestamp.maxCounter {
            return HLCTimestamp(rawValue: t.rawValue + 1)
        }
        // Counter overflow: borrow the next millisecond rather than wrap (which would go backwards).
        guard t.millis < HLCTimestamp.maxMillis else { throw .exhausted }
        return HLCTimestamp(millis: t.millis + 1, counter: 0)
    }
}

/// Why the clock refused a timestamp.
public enum ClockError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A remote timestamp lies `aheadMillis` ahead of the local wall clock, more than allowed.
    case remoteTooFarAhead(aheadMillis: UInt64, maxDriftMillis: UInt64)
    /// The 48-bit physical field is used up (a timestamp near the year 10889 was accepted).
    case exhausted

    public var description: String {
        switch self {
        case let .remoteTooFarAhead(ahead, bound):
            return "timestamp is \(Self.duration(ahead)) ahead of this clock (at most \(Self.duration(bound)) allowed)"
        case .exhausted:
            return "hybrid logical clock exhausted"
        }
    }

    static func duration(_ millis: UInt64) -> String {
        let s = millis / 1000
        if s >= 86_400 { return "\(s / 86_400)d \((s % 86_400) / 3600)h" }
        if s >= 3600 { return "\(s / 3600)h \((s % 3600) / 60)m" }
        if s >= 60 { return "\(s / 60)m \(s % 60)s" }
        return "\(millis)ms"
    }
}
