import Logging
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request arrives too slowly: a client that drips its head or its body
/// (a "slowloris") would otherwise hold the connection for as long as it keeps sending a byte
/// before the idle timeout. A request's head must arrive within `grace` of its first byte, and its
/// body within `grace` plus one second per `minimumRate` bytes of its `Content-Length`: 256 B/s,
/// far below the slowest 2G link a device uses, so real devices are never cut.
///
/// Two handlers share the deadline: `BytesHandler` sits first in the pipeline and starts the clock
/// on the first byte of a request; `PartsHandler` sits after HTTP decoding and moves the deadline
/// when the head is complete, and stops it at the request's end.
enum RequestDeadline {
    static let minimumRate = 256

    /// The handlers for one connection.
    static func handlers(grace: TimeAmount, logger: Logger) -> [any RemovableChannelHandler] {
        [PartsHandler(clock: Clock(grace: grace, logger: logger)), MalformedRequestAnswer()]
    }

    /// Where the connection is: between requests, receiving a head, or receiving a body.
    final class Clock {
        enum Phase { case idle, head, body }
        let grace: TimeAmount
        let logger: Logger
        var phase = Phase.idle
        var timer: Scheduled<Void>?

        init(grace: TimeAmount, logger: Logger) {
            self.grace = grace
            self.logger = logger
        }

        func start(_ phase: Phase, within limit: TimeAmount, channel: any Channel) {
            timer?.cancel()
            self.phase = phase
            let logger = logger
            let what = phase == .head ? "head" : "body"
            timer = channel.eventLoop.scheduleTask(in: limit) {
                logger.info(
                    "closing a connection whose request \(what) did not arrive in time",
                    metadata: ["remote": "\(channel.remoteAddress.map { "\($0)" } ?? "?")"])
                channel.close(promise: nil)
            }
        }

        func stop() {
            timer?.cancel()
            timer = nil
            phase = .idle
        }
    }

    /// Starts the clock on the first byte of a request (TLS records included).
    final class BytesHandler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        let clock: Clock

        init(clock: Clock) { self.clock = clock }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if clock.phase == .idle { clock.start(.head, within: clock.grace, channel: context.channel) }
            context.fireChannelRead(data)
        }

        func channelInactive(context: ChannelHandlerContext) {
            clock.stop()
            context.fireChannelInactive()
        }
    }

    /// Gives the body its own deadline once the head is in, and stops the clock at the end.
    final class PartsHandler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart
        let clock: Clock

        init(clock: Clock) { self.clock = clock }

        func handlerAdded(context: ChannelHandlerContext) {
            try? context.pipeline.syncOperations.addHandler(BytesHandler(clock: clock), position: .first)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case let .head(head):
                let length = head.headerFields[.contentLength].flatMap { Int($0) } ?? 0
                if length > 0 {
                    let seconds = Int64(length / RequestDeadline.minimumRate)
                    clock.start(.body, within: clock.grace + .seconds(seconds), channel: context.channel)
                } else {
                    clock.start(.body, within: clock.grace, channel: context.channel)
                }
            case .body:
                break
            case .end:
                clock.stop()
            }
            context.fireChannelRead(data)
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            clock.stop()
        }
    }
}
