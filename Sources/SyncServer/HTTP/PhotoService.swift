import Foundation
import SyncCore

/// Photos on the server: status, resumable chunked upload verified by hash, ranged download. A
/// device may upload or fetch a photo only once a record in its scopes references it (records
/// travel first), and the store keeps one copy per hash whoever sends it.
struct PhotoService: Sendable {
    let blobs: BlobStore
    let store: any SyncStore
    let maxPhotoBytes: Int
    let metrics = ServerMetrics()

    struct StatusRequest: Codable {
        var hashes: [String]
    }

    struct PhotoStatus: Codable, Equatable {
        var sha256: String
        /// A record in the device's scopes references it, so it may be uploaded.
        var referenced: Bool
        /// Bytes the server holds (the full size once complete): resume the upload here.
        var received: Int
        var complete: Bool
    }

    struct StatusResponse: Codable {
        var photos: [PhotoStatus]
    }

    struct UploadResponse: Codable {
        var received: Int
        var complete: Bool
    }

    func inScope(_ hash: String, device: Device) throws(APIError) -> Bool {
        do {
            let scopes = device.areaScopes
            return try store.photoGrids(hash).contains { AreaPath.isInScopes($0, scopes) }
        } catch {
            throw .badRequest("\(error)")
        }
    }

    func status(_ body: Data, device: Device) throws(APIError) -> StatusResponse {
        guard let request = try? JSONDecoder().decode(StatusRequest.self, from: body), request.hashes.count <= 1000 else {
            throw .badRequest("expected JSON {\"hashes\": [up to 1000 SHA-256 hex digests]}")
        }
        var result: [PhotoStatus] = []
        for raw in request.hashes {
            let hash = raw.lowercased()
            guard (try? InputRules.checkHash(hash)) != nil else { throw .badRequest("not a SHA-256 hex digest: \(raw)") }
            let allowed = try inScope(hash, device: device)
            let received = allowed ? blobs.receivedBytes(hash) : 0
            result.append(PhotoStatus(sha256: hash, referenced: allowed, received: received, complete: allowed && blobs.contains(hash)))
        }
        return StatusResponse(photos: result)
    }

    func upload(hash raw: String, offset: Int, total: Int, chunk: Data, device: Device) throws(APIError) -> UploadResponse {
        let hash = raw.lowercased()
        guard (try? InputRules.checkHash(hash)) != nil else { throw .badRequest("not a SHA-256 hex digest: \(raw)") }
        guard total > 0, total <= maxPhotoBytes else {
            throw APIError(status: 413, code: "too_large", message: "a photo may have 1 to \(maxPhotoBytes) bytes")
        }
        guard try inScope(hash, device: device) else {
            throw APIError(
                status: 409, code: "not_referenced", message: "no record in your scopes references photo \(hash): sync records first")
        }
        let result: BlobStore.AppendResult
        do {
            result = try blobs.append(hash, offset: offset, chunk: chunk, total: total)
        } catch {
            throw .badRequest(error.description)
        }
        metrics.photoBytes.increment(by: chunk.count)
        switch result {
        case let .stored(n): return UploadResponse(received: n, complete: false)
        case let .complete(n): return UploadResponse(received: n, complete: true)
        case let .wrongOffset(n):
            throw APIError(status: 409, code: "wrong_offset", message: "the upload of \(hash) holds \(n) bytes: resume at offset \(n)")
        case .corrupt:
            throw APIError(status: 422, code: "hash_mismatch", message: "the uploaded bytes do not hash to \(hash): upload discarded")
        }
    }

    /// The bytes of photo `hash` (or `range` of them) for a device that may see it; nil when it may
    /// not, or the photo is not (completely) here: both answer 404, so nothing leaks.
    func download(hash raw: String, range: ClosedRange<Int>?, device: Device) throws(APIError) -> (
        data: Data, total: Int, range: Range<Int>
    )? {
        let hash = raw.lowercased()
        guard (try? InputRules.checkHash(hash)) != nil, try inScope(hash, device: device), let total = blobs.size(hash) else { return nil }
        var slice = 0..<total
        if let range {
            guard range.lowerBound < total else {
                throw APIError(status: 416, code: "bad_range", message: "range starts past the end (\(total) bytes)")
            }
            slice = range.lowerBound..<min(total, range.upperBound + 1)
        }
        do {
            return (try blobs.read(hash, range: slice), total, slice)
        } catch {
            return nil
        }
    }
}
