import Foundation
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Gives the answer to a request head that does not parse a JSON body, as every other error has
/// (protocol.md §4.6). Hummingbird answers such a head itself, before any route or middleware, with
/// an empty `400` and `Connection: close`; this handler, after the HTTP codec, fills that answer in.
final class MalformedRequestAnswer: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let body = APIError.badRequest("the request head is malformed: it is not HTTP/1.1 as protocol.md §4 describes").json
    private var filling = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case var .head(head)
        where head.status == .badRequest && head.headerFields[.contentLength] == "0" && head.headerFields[.connection] == "close":
            filling = true
            head.headerFields[.contentLength] = String(Self.body.count)
            head.headerFields[.contentType] = "application/json"
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case let .end(trailers) where filling:
            filling = false
            context.write(wrapOutboundOut(.body(ByteBuffer(data: Self.body))), promise: nil)
            context.write(wrapOutboundOut(.end(trailers)), promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }
}
