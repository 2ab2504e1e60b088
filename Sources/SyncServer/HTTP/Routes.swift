import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus
import SyncCore

/// The HTTP endpoints (protocol.md §5): they read bodies within the size limit, authenticate, and
/// hand the bytes to `SyncService`.
enum Routes {
    static let syncContentType = "application/x-gridsync"
    /// Where each side says which versions it speaks (protocol.md §5).
    static let versionsField = HTTPField.Name(PeerVersions.header)!
    /// The store's epoch on every sync answer (protocol.md §4.3).
    static let epochField = HTTPField.Name("GridSync-Store-Epoch")!
    /// The server's versions and the oldest protocol it still serves.
    static let serverVersions = "\(PeerVersions.current);oldest-protocol=\(PeerVersions.oldestProtocol)"

    static func router(service: SyncService, photos: PhotoService, metrics: PrometheusCollectorRegistry) -> Router<BasicRequestContext> {
        let router = Router()
        // Request logs carry method, path and status only: never headers, so never a credential.
        router.add(middleware: LogRequestsMiddleware(.info))
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: JSONErrorMiddleware())

        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
        }
        let limit = service.config.maxBodyBytes

        router.get("/health") { _, _ -> Response in
            let sequence = (try? await service.store.sequence()) ?? -1
            var answer = json(
                200,
                [
                    "status": "ok", "sequence": sequence, "protocol": Int(SyncMessageCoding.protocolVersion),
                    "changesetFormats": ChangesetEncoding.supportedVersions.map(Int.init),
                    "capabilities": ["sync", "photos", "photo-proof", "metrics"],
                    "schema": PeerVersions.current.schema, "oldestProtocol": PeerVersions.oldestProtocol,
                ])
            answer.headers[versionsField] = serverVersions
            return answer
        }

        router.post("/v1/enroll") { request, _ -> Response in
            await respond {
                let body = try await collect(request, limit: limit)
                let answer = try await service.enroll(Data(buffer: body))
                let data = try JSONEncoder().encode(answer)
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
            }
        }

        router.post("/v1/sync") { request, _ -> Response in
            var answer = await respond {
                // Versions first: a device too old to serve is told so before anything else. A
                // device that does not say (document version 1) reads changeset format 1.
                var format: UInt8 = 1
                if let header = request.headers[versionsField] {
                    guard let versions = PeerVersions(header: header) else {
                        throw APIError.badRequest("\(PeerVersions.header) must read protocol=N;changeset=N;schema=N")
                    }
                    if let tooOld = versions.tooOld { throw APIError(status: 426, code: "upgrade_needed", message: tooOld) }
                    format = versions.readableChangesetFormat
                }
                let device = try await service.authenticate(request.headers[.authorization])
                guard request.headers[.contentType] == syncContentType else {
                    throw APIError.unsupported("Content-Type must be \(syncContentType)")
                }
                let body = try await collect(request, limit: limit)
                let own = request.headers[HTTPField.Name("GridSync-Pull")!] == "own"
                let answer = try await service.sync(device: device, body: Array(buffer: body), changesetFormat: format, includeOwn: own)
                var headers: HTTPFields = [.contentType: syncContentType]
                // The device reuses local versions it was acknowledged for: restored from an older copy.
                if answer.reusedVersions { headers[HTTPField.Name("GridSync-Replica")!] = "restored" }
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
            }
            answer.headers[versionsField] = serverVersions
            answer.headers[epochField] = service.registry.epoch
            return answer
        }
        // Device oversight for the county and townships: the devices under the asker's scopes.
        router.get("/v1/devices") { request, _ -> Response in
            await respond {
                let device = try await service.authenticate(request.headers[.authorization])
                guard device.role == .county || device.role == .township else {
                    throw APIError(
                        status: 403, code: "not_permitted", message: "only county and township devices see the devices of their area")
                }
                try? await service.registry.flushSyncRecords()
                let scopes = device.areaScopes
                let seen = try await service.registry.devices().filter { d in
                    d.areaScopes.contains { AreaPath.isInScopes($0.string, scopes) }
                }
                .map {
                    DeviceSeen(
                        id: $0.id, name: $0.name, role: $0.role.rawValue, scopes: $0.scopes, enrolledMillis: $0.enrolledMillis,
                        lastSyncMillis: $0.lastSyncMillis, acknowledged: $0.acknowledged, revoked: $0.revokedMillis != nil)
                }
                return try encoded(DeviceListing(serverMillis: Int64(Date().timeIntervalSince1970 * 1000), devices: seen))
            }
        }

        router.post("/v1/photos/status") { request, _ -> Response in
            await respond {
                let device = try await service.authenticate(request.headers[.authorization])
                let body = try await collect(request, limit: limit)
                return try encoded(try await photos.status(Data(buffer: body), device: device))
            }
        }

        router.put("/v1/photos/:hash") { request, context -> Response in
            await respond {
                let device = try await service.authenticate(request.headers[.authorization])
                let hash = context.parameters.get("hash") ?? ""
                guard let offset = request.uri.queryParameters.get("offset").flatMap({ Int($0) }),
                    let total = request.uri.queryParameters.get("total").flatMap({ Int($0) }), offset >= 0
                else { throw APIError.badRequest("PUT /v1/photos/<sha256>?offset=N&total=T with the chunk as body") }
                // Bytes are stored as far as they arrived: when the link drops mid-chunk, the part that
                // came is kept and the device resumes after it (it asks /v1/photos/status first).
                let chunk: ByteBuffer
                do {
                    chunk = try await collect(request, limit: limit)
                } catch Partial.body(let part) {
                    if part.readableBytes > 0 {
                        _ = try? await photos.upload(hash: hash, offset: offset, total: total, chunk: Data(buffer: part), device: device)
                    }
                    throw Partial.body(part)
                }
                return try encoded(
                    try await photos.upload(hash: hash, offset: offset, total: total, chunk: Data(buffer: chunk), device: device))
            }
        }

        router.post("/v1/photos/:hash/proof") { request, context -> Response in
            await respond {
                let device = try await service.authenticate(request.headers[.authorization])
                let body = try await collect(request, limit: 4096)
                return try encoded(try await photos.prove(hash: context.parameters.get("hash") ?? "", Data(buffer: body), device: device))
            }
        }

        router.get("/v1/photos/:hash") { request, context -> Response in
            await respond {
                let device = try await service.authenticate(request.headers[.authorization])
                let range = try request.headers[.range].map(parseRange)
                guard let found = try await photos.download(hash: context.parameters.get("hash") ?? "", range: range, device: device) else {
                    throw APIError(status: 404, code: "not_found", message: "no such photo in your scopes")
                }
                var headers: HTTPFields = [.contentType: "application/octet-stream", .acceptRanges: "bytes"]
                if range != nil {
                    headers[.contentRange] = "bytes \(found.range.lowerBound)-\(found.range.upperBound - 1)/\(found.total)"
                }
                return Response(
                    status: range == nil ? .ok : .partialContent, headers: headers, body: .init(byteBuffer: ByteBuffer(data: found.data)))
            }
        }
        return router
    }

    /// Parses `bytes=A-` or `bytes=A-B` (one range only).
    static func parseRange(_ header: String) throws -> ClosedRange<Int> {
        guard header.hasPrefix("bytes="), !header.contains(",") else {
            throw APIError(status: 416, code: "bad_range", message: "one range, bytes=A-B")
        }
        let parts = header.dropFirst(6).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = Int(parts[0]), start >= 0 else {
            throw APIError(status: 416, code: "bad_range", message: "bytes=A-B with A ≥ 0")
        }
        let end = parts[1].isEmpty ? Int.max - 1 : (Int(parts[1]) ?? -1)
        guard end >= start else { throw APIError(status: 416, code: "bad_range", message: "bytes=A-B with B ≥ A") }
        return start...end
    }

    static func encoded<T: Encodable>(_ value: T) throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(data: try JSONEncoder().encode(value))))
    }

    /// A body that ended before its `Content-Length` (the link dropped), with the bytes that came.
    enum Partial: Error {
        case body(ByteBuffer)
    }

    /// Reads the whole body, refusing more than `limit` bytes; throws `Partial.body` with what came
    /// when the body stops short.
    static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
        let length = request.headers[.contentLength].flatMap(Int.init)
        if let length, length > limit { throw APIError.tooLarge(limit) }
        var received = ByteBuffer()
        do {
            for try await piece in request.body {
                guard received.readableBytes + piece.readableBytes <= limit else { throw APIError.tooLarge(limit) }
                received.writeImmutableBuffer(piece)
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw Partial.body(received)
        }
        if let length, received.readableBytes < length { throw Partial.body(received) }
        return received
    }

    /// Runs `body`, answering any error as JSON with its status and code.
    static func respond(_ body: () async throws -> Response) async -> Response {
        do {
            do {
                return try await body()
            } catch is Partial {
                throw APIError.badRequest("the request body ended before its Content-Length")
            }
        } catch let error as APIError {
            return Self.error(error)
        } catch {
            return Self.error(.fault(error))
        }
    }

    /// The JSON answer of `error` (protocol.md §4.6).
    static func error(_ error: APIError) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if error.status == 503 { headers[.retryAfter] = "\(APIError.retryAfterSeconds)" }
        return Response(status: .init(code: error.status), headers: headers, body: .init(byteBuffer: ByteBuffer(data: error.json)))
    }

    static func json(_ status: Int, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
