import Foundation
import Synchronization

/// A source of wall-clock time in milliseconds since 1970; injected so tests can move it.
public protocol WallClock: Sendable {
    /// The current wall-clock time in milliseconds since 1970.
    func nowMillis() -> UInt64
}

/// The system's real-time clock.
public struct SystemWallClock: WallClock {
    /// The system clock.
    public init() {}

    public func nowMillis() -> UInt64 {
        let seconds = Date().timeIntervalSince1970
        return seconds > 0 ? UInt64(seconds * 1000) : 0
    }
}

/// A wall clock a test sets by hand: it stands still until told to move.
public final class ManualWallClock: WallClock {
    private let millis: Mutex<UInt64>

    /// A clock that reads `millis` until changed.
    public init(millis: UInt64) { self.millis = Mutex(millis) }

    public func nowMillis() -> UInt64 { millis.withLock { $0 } }

    /// Sets the clock to `millis` (which may be earlier than before: clocks jump back).
    public func set(_ value: UInt64) { millis.withLock { $0 = value } }

    /// Moves the clock by `delta` milliseconds, forwards or back.
    public func advance(by delta: Int64) {
        millis.withLock { $0 = UInt64(max(0, Int64($0) + delta)) }
    }
}
