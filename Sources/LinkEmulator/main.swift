import ArgumentParser
import Dispatch
import Foundation
import NIOCore
import NIOPosix

/// `gridsync-link`: a user-space TCP proxy that emulates a field link between a device and the server.
struct LinkEmulator: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gridsync-link",
        abstract: "Emulate a field link (bandwidth, latency, cuts, blackouts) between a gridsync device and the server.",
        discussion:
            "Point a device at the printed address (gridsync sync --via https://localhost:PORT). Profiles: 2g (32 kbps up, 35 down, 1.3 s RTT), edge (200/240 kbps, 0.84 s), satellite (1 Mbps, 0.6 s), flaky (240 kbps, 0.3 s, random cuts every 24 KiB on average), loopback. Options after --profile override it. On SIGTERM or SIGINT it prints the bytes it carried each way."
    )

    @Option(help: "Port to listen on, on 127.0.0.1 (0: any free port).") var listen = 0
    @Option(help: "The server, HOST:PORT.") var to: String
    @Option(help: "A named profile: \(LinkProfile.names.joined(separator: ", ")).") var profile = "loopback"
    @Option(help: "Device-to-server bandwidth, kbit/s.") var upKbps: Double?
    @Option(help: "Server-to-device bandwidth, kbit/s.") var downKbps: Double?
    @Option(help: "Round-trip time added, milliseconds.") var rttMs: Double?
    @Option(help: "Cut every connection after it carried this many bytes.") var cutAfter: Int?
    @Option(help: "Cut connections at random points, this many bytes apart on average.") var cutMean: Int?
    @Option(help: "Cut at most this many connections.") var maxCuts: Int?
    @Option(help: "A blackout every this many seconds …") var blackoutEvery: Double?
    @Option(help: "… lasting this many seconds.") var blackoutFor: Double = 0
    @Option(help: "Seed for random cuts.") var seed: UInt64 = 1
    @Option(help: "Write the figures (JSON) to this file after every connection.") var stats: String?
    @Flag(help: "Print a line per connection.") var verbose = false

    func validate() throws {
        guard LinkProfile.named(profile) != nil else {
            throw ValidationError("unknown profile \(profile): use one of \(LinkProfile.names.joined(separator: ", "))")
        }
        guard parsedTarget != nil else { throw ValidationError("--to takes HOST:PORT, not \(to)") }
        for (name, value) in [("--up-kbps", upKbps), ("--down-kbps", downKbps), ("--blackout-every", blackoutEvery)] {
            if let value, value <= 0 { throw ValidationError("\(name) must be positive") }
        }
        if let rttMs, rttMs < 0 { throw ValidationError("--rtt-ms must not be negative") }
        if let cutAfter, cutAfter < 1 { throw ValidationError("--cut-after must be at least 1") }
        if let cutMean, cutMean < 1 { throw ValidationError("--cut-mean must be at least 1") }
        if let every = blackoutEvery, blackoutFor >= every { throw ValidationError("--blackout-for must be shorter than --blackout-every") }
    }

    var parsedTarget: (String, Int)? {
        guard let colon = to.lastIndex(of: ":"), let port = Int(to[to.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        return (String(to[..<colon]), port)
    }

    var effectiveProfile: LinkProfile {
        var p = LinkProfile.named(profile)!
        if let upKbps { p.upBytesPerSecond = LinkProfile.kbps(upKbps) }
        if let downKbps { p.downBytesPerSecond = LinkProfile.kbps(downKbps) }
        if let rttMs { p.rttSeconds = rttMs / 1000 }
        if let cutAfter { p.cutAfterBytes = cutAfter }
        if let cutMean { p.randomCutMeanBytes = cutMean }
        if let maxCuts { p.maxCuts = maxCuts }
        if let blackoutEvery {
            p.blackoutEvery = blackoutEvery
            p.blackoutFor = blackoutFor
        }
        return p
    }

    func run() throws {
        let (host, port) = parsedTarget!
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let link = Link(profile: effectiveProfile, loop: loop, seed: seed, statsPath: stats, verbose: verbose)
        let server = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { device in
                if link.inBlackout {
                    link.refusedInBlackout()
                    return device.close()
                }
                let connection = Connection(link: link, device: device)
                return ClientBootstrap(group: device.eventLoop)
                    .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                    .channelInitializer { upstream in upstream.pipeline.addHandler(Relay(connection, up: false)) }
                    .connect(host: host, port: port)
                    .flatMap { upstream in
                        connection.server = upstream
                        link.opened(connection)
                        return device.pipeline.addHandler(Relay(connection, up: true))
                    }
            }
            .bind(host: "127.0.0.1", port: listen).wait()
        FileHandle.standardOutput.write(Data("listening on 127.0.0.1:\(server.localAddress?.port ?? 0)\n".utf8))
        link.save()
        let done = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { done.signal() }
            source.resume()
            sources.append(source)
        }
        done.wait()
        let figures = try loop.submit { link.stats }.wait()
        print(figures.line)
        link.save()
        try? server.close().wait()
        try? group.syncShutdownGracefully()
    }
}

LinkEmulator.main()
