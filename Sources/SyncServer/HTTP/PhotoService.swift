import Foundation
import SyncCore

/// Photos on the server: status, resumable chunked upload verified by hash, ranged download. A
/// device may upload or fetch a photo only once a record in its scopes references it (records
/// travel first), and the store keeps one copy per hash whoever sends it.
struct PhotoService: Sendable {
    let blobs: BlobStore
    let store: any SyncStore
    let grants: PhotoGrants
    let maxPhotoBytes: Int
    let wallClock: any WallClock
    let budget: StorageBudget
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
        /// For a photo the server holds but the device's grids may not see yet: 64 hex digits to
        /// answer with `PhotoProof` over the bytes (`POST /v1/photos/<sha256>/proof`).
        var challenge: String?
    }

    struct ProofRequest: Codable {
        var challenge: String
        var proof: String
    }

    struct ProofResponse: Codable {
        /// The grids of the device's scopes that may now see the photo.
        var grids: [String]
    }

    struct StatusResponse: Codable {
        var photos: [PhotoStatus]
    }

    struct UploadResponse: Codable {
        var received: Int
        var complete: Bool
    }

    func inScope(_ hash: String, device: Device) async throws(APIError) -> Bool {
        try await !referencingGrids(hash, device: device).isEmpty
    }

    /// The grids of the device's scopes whose records reference photo `hash`.
    func referencingGrids(_ hash: String, device: Device) async throws(APIError) -> [String] {
        do {
            let scopes = device.areaScopes
            return try await store.photoGrids(hash).filter { AreaPath.isInScopes($0, scopes) }
        } catch {
            throw .fault(error, otherwise: .badRequest("\(error)"))
        }
    }

    /// The device's grids referencing `hash` that may see it, and those that may not yet.
    func visibility(_ hash: String, device: Device) async throws(APIError) -> (granted: [String], waiting: [String]) {
        let grids = try await referencingGrids(hash, device: device)
        if grids.isEmpty { return ([], []) }
        do {
            let granted = try await grants.grids(hash)
            return (grids.filter { granted.contains($0) }, grids.filter { !granted.contains($0) })
        } catch {
            throw .fault(error)
        }
    }

    /// True when one of the device's grids referencing `hash` may see it (see `PhotoGrants`).
    func mayRead(_ hash: String, device: Device) async throws(APIError) -> Bool {
        try await !visibility(hash, device: device).granted.isEmpty
    }

    func status(_ body: Data, device: Device) async throws(APIError) -> StatusResponse {
        guard let request = try? JSONDecoder().decode(StatusRequest.self, from: body), request.hashes.count <= 1000 else {
            throw .badRequest("expected JSON {\"hashes\": [up to 1000 SHA-256 hex digests]}")
        }
        var result: [PhotoStatus] = []
        for raw in request.hashes {
            let hash = raw.lowercased()
            guard (try? InputRules.checkHash(hash)) != nil else { throw .badRequest("not a SHA-256 hex digest: \(raw)") }
            let allowed = try await inScope(hash, device: device)
            let received = allowed ? blobs.receivedBytes(hash) : 0
            let complete = allowed && blobs.contains(hash)
            var challenge: String?
            // A challenge while any grid of the device that references it may not see it yet.
            if complete, try await !visibility(hash, device: device).waiting.isEmpty {
                challenge = grants.challenge(device: device.id, hash: hash, nowMillis: wallClock.nowMillis())
            }
            result.append(PhotoStatus(sha256: hash, referenced: allowed, received: received, complete: complete, challenge: challenge))
        }
        return StatusResponse(photos: result)
    }

    func upload(hash raw: String, offset: Int, total: Int, chunk: Data, device: Device) async throws(APIError) -> UploadResponse {
        let hash = raw.lowercased()
        guard (try? InputRules.checkHash(hash)) != nil else { throw .badRequest("not a SHA-256 hex digest: \(raw)") }
        guard total > 0, total <= maxPhotoBytes else {
            throw APIError(status: 413, code: "too_large", message: "a photo may have 1 to \(maxPhotoBytes) bytes")
        }
        guard try await inScope(hash, device: device) else {
            throw APIError(
                status: 409, code: "not_referenced", message: "no record in your scopes references photo \(hash): sync records first")
        }
        let result: BlobStore.AppendResult
        let heldBefore = blobs.contains(hash)
        if !heldBefore { try budget.spend(chunk.count, of: .photos, device: device.id, nowMillis: wallClock.nowMillis()) }
        do {
            result = try blobs.append(hash, offset: offset, chunk: chunk, total: total)
            // Whoever sent the last bytes of a verified upload held them all: its grids may see it.
            if case .complete = result, !heldBefore {
                try await grants.grant(hash, grids: try await referencingGrids(hash, device: device))
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw .fault(error, otherwise: .badRequest("\(error)"))
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
    func download(hash raw: String, range: ClosedRange<Int>?, device: Device) async throws(APIError) -> (
        data: Data, total: Int, range: Range<Int>
    )? {
        let hash = raw.lowercased()
        guard (try? InputRules.checkHash(hash)) != nil, try await mayRead(hash, device: device), let total = blobs.size(hash) else {
            return nil
        }
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

    /// Checks a device's answer to its challenge over photo `hash`; on success its grids that
    /// reference the photo may see it.
    func prove(hash raw: String, _ body: Data, device: Device) async throws(APIError) -> ProofResponse {
        let hash = raw.lowercased()
        guard (try? InputRules.checkHash(hash)) != nil else { throw .badRequest("not a SHA-256 hex digest: \(raw)") }
        guard let request = try? JSONDecoder().decode(ProofRequest.self, from: body) else {
            throw .badRequest("expected JSON {\"challenge\": \"<64 hex digits>\", \"proof\": \"<64 hex digits>\"}")
        }
        let grids = try await referencingGrids(hash, device: device)
        guard !grids.isEmpty, blobs.contains(hash) else {
            throw APIError(status: 404, code: "not_found", message: "no such photo in your scopes")
        }
        guard grants.isCurrent(request.challenge.lowercased(), device: device.id, hash: hash, nowMillis: wallClock.nowMillis()) else {
            throw APIError(status: 409, code: "stale_challenge", message: "the challenge is not current: ask /v1/photos/status again")
        }
        let bytes: Data
        do {
            bytes = try blobs.read(hash)
        } catch {
            throw .internal("internal server error")
        }
        guard let answer = PhotoProof.answer(challenge: request.challenge.lowercased(), photo: bytes),
            PhotoGrants.sameInConstantTime(answer, request.proof.lowercased())
        else {
            throw APIError(status: 403, code: "proof_refused", message: "the proof does not match the photo's bytes")
        }
        do {
            try await grants.grant(hash, grids: grids)
        } catch {
            throw .fault(error)
        }
        return ProofResponse(grids: grids.sorted())
    }
}
