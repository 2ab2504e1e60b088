import Foundation
import Hummingbird
import NIOCore
import SyncCore

/// The HTTP endpoints (protocol.md §5): they read bodies within the size limit, authenticate, and
/// hand the bytes to `SyncService`.
enum Routes {
    static let syncContentType = "application/x-gridsync"

    static func router(service: SyncService) -> Router<BasicRequestContext> {
        let router = Router()
        let limit = service.config.maxBodyBytes

        router.get("/health") { _, _ -> Response in
            let sequence = (try? service.store.sequence()) ?? -1
            return json(200, ["status": "ok", "sequence": sequence, "protocol": Int(SyncMessageCoding.protocolVersion)])
        }

        router.post("/v1/enroll") { request, _ -> Response in
            await respond {
                let body = try await collect(request, limit: limit)
                let answer = try service.enroll(Data(buffer: body))
                let data = try JSONEncoder().encode(answer)
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
            }
        }

        router.post("/v1/sync") { request, _ -> Response in
            await respond {
                let device = try service.authenticate(request.headers[.authorization])
                guard request.headers[.contentType] == syncContentType else {
                    throw APIError.unsupported("Content-Type must be \(syncContentType)")
                }
                let body = try await collect(request, limit: limit)
                let answer = try service.sync(device: device, body: Array(buffer: body))
                return Response(
                    status: .ok, headers: [.contentType: syncContentType], body: .init(byteBuffer: ByteBuffer(bytes: answer)))
            }
        }
        return router
    }

    /// Reads the whole body, refusing more than `limit` bytes.
    static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw APIError.tooLarge(limit) }
        do {
            return try await request.body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.tooLarge(limit)
        }
    }

    /// Runs `body`, answering any error as JSON with its status and code.
    static func respond(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let error as APIError {
            return Response(
                status: .init(code: error.status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(data: error.json)))
        } catch {
            let e = APIError.internal("unexpected error")
            return Response(
                status: .internalServerError, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: e.json))
            )
        }
    }

    static func json(_ status: Int, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
