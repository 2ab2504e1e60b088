import NIOCore
import NIOPosix

/// One emulated link. Every connection through it shares its state, on its one event loop.
final class Link: @unchecked Sendable {
    let profile: LinkProfile
    let loop: EventLoop
    let statsPath: String?
    let verbose: Bool
    private(set) var stats = LinkStats()
    private var random: SplitMix64
    private let started = NIODeadline.now()
    private var open: [ObjectIdentifier: Connection] = [:]

    init(profile: LinkProfile, loop: EventLoop, seed: UInt64, statsPath: String?, verbose: Bool) {
        self.profile = profile
        self.loop = loop
        self.statsPath = statsPath
        self.verbose = verbose
        random = SplitMix64(seed: seed)
        if profile.blackoutEvery != nil {
            loop.scheduleRepeatedTask(initialDelay: .milliseconds(50), delay: .milliseconds(50)) { [self] _ in
                if inBlackout { for c in open.values { c.cut() } }
            }
        }
    }

    /// True during a blackout: the last `blackoutFor` seconds of every `blackoutEvery`.
    var inBlackout: Bool {
        guard let every = profile.blackoutEvery, every > 0 else { return false }
        let t = Double((NIODeadline.now() - started).nanoseconds) / 1e9
        return t.truncatingRemainder(dividingBy: every) >= every - profile.blackoutFor
    }

    /// Where the next connection will be cut, in bytes carried (nil: not at all).
    func nextCutPoint() -> Int? {
        if let max = profile.maxCuts, stats.cuts >= max { return nil }
        if let n = profile.cutAfterBytes { return n }
        if let mean = profile.randomCutMeanBytes {
            // Exponentially distributed: a link that fails at any moment with the same chance.
            let u = Double(random.next() >> 11) / Double(1 << 53)
            return 1 + Int(-Double(mean) * log(1 - u))
        }
        return nil
    }

    func opened(_ c: Connection) {
        stats.connections += 1
        open[ObjectIdentifier(c)] = c
    }

    func refusedInBlackout() {
        stats.refused += 1
        save()
    }

    func carried(_ bytes: Int, up: Bool) {
        if up { stats.bytesUp += bytes } else { stats.bytesDown += bytes }
    }

    func ended(_ c: Connection, cut: Bool) {
        open[ObjectIdentifier(c)] = nil
        if cut { stats.cuts += 1 }
        if verbose { print("connection closed\(cut ? " (cut)" : ""): up \(c.up) B, down \(c.down) B; " + stats.line) }
        save()
    }

    func save() {
        if let statsPath { stats.write(to: statsPath) }
    }
}

/// A connection from a device through the link to the server.
final class Connection: @unchecked Sendable {
    let link: Link
    let device: Channel
    var server: Channel?
    private(set) var up = 0
    private(set) var down = 0
    private let cutAt: Int?
    private var departures = [NIODeadline.now(), NIODeadline.now()]
    private var lastDelivery = NIODeadline.now()
    private var closing = false
    private var ended = false

    init(link: Link, device: Channel) {
        self.link = link
        self.device = device
        cutAt = link.nextCutPoint()
        // The proxy accepts at once, but over the emulated link TCP's handshake takes a round trip
        // before the device can send its first byte.
        departures[0] = NIODeadline.now() + .nanoseconds(Int64(link.profile.rttSeconds * 1e9))
    }

    /// Carries `buffer` one way, at the link's rate and latency; cuts the connection when it
    /// reaches its cut point.
    func forward(_ buffer: ByteBuffer, up direction: Bool) {
        guard !closing else { return }
        var buffer = buffer
        var cutHere = false
        if let cutAt, up + down + buffer.readableBytes >= cutAt {
            buffer = buffer.getSlice(at: buffer.readerIndex, length: max(0, cutAt - up - down)) ?? ByteBuffer()
            cutHere = true
            closing = true
        }
        let n = buffer.readableBytes
        if direction { up += n } else { down += n }
        link.carried(n, up: direction)
        let d = direction ? 0 : 1
        let rate = direction ? link.profile.upBytesPerSecond : link.profile.downBytesPerSecond
        let start = max(NIODeadline.now(), departures[d])
        let sending = rate.map { TimeAmount.nanoseconds(Int64(Double(n) / $0 * 1e9)) } ?? .zero
        departures[d] = start + sending
        let arrival = start + sending + .nanoseconds(Int64(link.profile.rttSeconds / 2 * 1e9))
        lastDelivery = max(lastDelivery, arrival)
        let target = direction ? server : device
        link.loop.scheduleTask(deadline: arrival) { [self] in
            if n > 0 { target?.writeAndFlush(buffer, promise: nil) }
            if cutHere { cut() }
        }
    }

    /// Drops the connection both ways, as a link that goes dead does.
    func cut() {
        closing = true
        device.close(promise: nil)
        server?.close(promise: nil)
        end(cut: true)
    }

    /// One side closed: the other is closed once what is in flight has arrived.
    func sideClosed() {
        guard !closing else { return }
        closing = true
        link.loop.scheduleTask(deadline: lastDelivery) { [self] in
            device.close(promise: nil)
            server?.close(promise: nil)
            end(cut: false)
        }
    }

    private func end(cut: Bool) {
        guard !ended else { return }
        ended = true
        link.ended(self, cut: cut)
    }
}

/// Reads from one side of a connection and hands the bytes to the link.
final class Relay: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let connection: Connection
    let up: Bool

    init(_ connection: Connection, up: Bool) {
        self.connection = connection
        self.up = up
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.forward(unwrapInboundIn(data), up: up)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.sideClosed()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// A small seeded generator, so a run with cuts can be repeated exactly.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
