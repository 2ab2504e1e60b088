/// How an emulated link behaves: bandwidth each way, latency, cuts and blackouts.
struct LinkProfile: Sendable, Equatable {
    /// Bytes per second from the device to the server (nil: unlimited).
    var upBytesPerSecond: Double?
    /// Bytes per second from the server to the device (nil: unlimited).
    var downBytesPerSecond: Double?
    /// Round-trip time in seconds; each direction adds half of it.
    var rttSeconds: Double = 0
    /// Cut each connection after it has carried this many bytes (both ways together).
    var cutAfterBytes: Int?
    /// Cut each connection at a random point with this mean, in bytes carried (seeded).
    var randomCutMeanBytes: Int?
    /// Cut at most this many connections (nil: every one).
    var maxCuts: Int?
    /// Every `blackoutEvery` seconds the link goes dark for `blackoutFor` seconds: open connections
    /// are cut and new ones refused.
    var blackoutEvery: Double?
    var blackoutFor: Double = 0

    /// Profiles named after the links of the field.
    static func named(_ name: String) -> LinkProfile? {
        switch name {
        case "2g": return LinkProfile(upBytesPerSecond: kbps(32), downBytesPerSecond: kbps(35), rttSeconds: 1.3)
        case "edge": return LinkProfile(upBytesPerSecond: kbps(200), downBytesPerSecond: kbps(240), rttSeconds: 0.84)
        case "satellite": return LinkProfile(upBytesPerSecond: kbps(1000), downBytesPerSecond: kbps(1000), rttSeconds: 0.6)
        case "flaky":
            return LinkProfile(upBytesPerSecond: kbps(240), downBytesPerSecond: kbps(240), rttSeconds: 0.3, randomCutMeanBytes: 24 << 10)
        case "loopback": return LinkProfile()
        default: return nil
        }
    }

    static let names = ["2g", "edge", "satellite", "flaky", "loopback"]

    /// Kilobits per second as bytes per second.
    static func kbps(_ k: Double) -> Double { k * 1000 / 8 }
}
