import FieldCLI
import Foundation
import SyncCore

/// The photos half of a sync: uploads, in chunks, every photo of this device the server lacks,
/// resuming each from the offset the server acknowledged; and fetches photos from the server.
struct PhotoSync {
    let home: DeviceHome
    let replica: Replica
    let blobs: BlobStore
    let connection: ServerConnection
    let policy: RetryPolicy
    let progress: Progress
    /// The first upload chunk; later ones grow to about `chunkSeconds` of the link's measured rate.
    var chunkSize = 32 << 10
    /// Upload chunks grow to about this many seconds of sending, up to `largestChunk`: each chunk
    /// costs a round trip (0.6–1.3 s on satellite and 2G), and the server keeps whatever part of a
    /// cut chunk arrived, so a long chunk loses nothing on a drop.
    static let chunkSeconds = 8.0
    static let largestChunk = 1 << 20
    /// The smallest ranged download when the link keeps dropping.
    static let smallestChunk = 2 << 10

    struct Status: Decodable {
        var sha256: String
        var referenced: Bool
        var received: Int
        var complete: Bool
        /// Set when the server holds the photo but this device's grids may not see it yet: answer
        /// it to show this device holds the bytes too (nothing else is sent).
        var challenge: String?
    }

    /// Answers the server's challenge over a photo this device holds; true when accepted.
    private func prove(_ hash: String, challenge: String) async throws -> Bool {
        guard blobs.isIntact(hash), let answer = PhotoProof.answer(challenge: challenge, photo: try blobs.read(hash)) else { return false }
        let body = try JSONSerialization.data(withJSONObject: ["challenge": challenge, "proof": answer])
        let reply = try await policy.run(onRetry: retried) {
            try await connection.send(.POST, "/v1/photos/\(hash)/proof", body: Array(body), contentType: "application/json")
        }
        if reply.status == 200 { return true }
        if reply.status == 409 || reply.status == 403 { return false }
        throw ServerConnection.failure(reply)
    }

    /// Hashes of photos held here, referenced by a record, and not known to be on the server.
    func waiting() throws -> [String] { try home.photosWaiting(replica: replica, blobs: blobs) }

    /// Chunks go out in TLS records of at most this many bytes, so a cut loses little of one. Each
    /// record adds 22 bytes (1.1%); through a link cut every 32 KiB, a 5 MB photo took 188
    /// connections with 2 KiB pieces (26.6 KB each) and 204 with 4 KiB pieces (24.5 KB each).
    static let piece = 2 << 10

    /// What the server holds of one photo, asked once (no retry: the caller's policy retries).
    private func statusOnce(_ hash: String) async throws -> Status? {
        let body = try JSONSerialization.data(withJSONObject: ["hashes": [hash]])
        let reply = try await connection.send(.POST, "/v1/photos/status", body: Array(body), contentType: "application/json")
        guard reply.status == 200 else { throw ServerConnection.failure(reply) }
        struct Answer: Decodable { var photos: [Status] }
        return try JSONDecoder().decode(Answer.self, from: Data(reply.body)).photos.first { $0.sha256 == hash }
    }

    /// What the server holds of `hashes`.
    func status(_ hashes: [String]) async throws -> [String: Status] {
        var result: [String: Status] = [:]
        for start in stride(from: 0, to: hashes.count, by: 1000) {
            let body = try JSONSerialization.data(withJSONObject: ["hashes": Array(hashes[start..<min(hashes.count, start + 1000)])])
            let reply = try await policy.run(onRetry: retried) {
                try await connection.send(.POST, "/v1/photos/status", body: Array(body), contentType: "application/json")
            }
            guard reply.status == 200 else { throw ServerConnection.failure(reply) }
            struct Answer: Decodable { var photos: [Status] }
            let answer = try JSONDecoder().decode(Answer.self, from: Data(reply.body))
            for s in answer.photos { result[s.sha256] = s }
        }
        return result
    }

    /// Uploads waiting photos within `budget` bytes (nil: no limit); returns how many completed,
    /// bytes sent and how many still wait.
    func upload(budget: Int?, into summary: inout SyncSummary) async throws {
        let hashes = try waiting()
        guard !hashes.isEmpty else { return }
        var onServer = home.photosOnServer()
        let states = try await status(hashes)
        var left = budget
        let total = hashes.reduce(0) { $0 + max(0, (blobs.size($1) ?? 0) - (states[$1]?.received ?? 0)) }
        var sent = 0
        var chunkTarget = chunkSize
        let toSend = hashes.filter { states[$0]?.complete != true }.count
        let began = Date()
        var number = 0
        for hash in hashes {
            guard let size = blobs.size(hash) else { continue }
            guard var state = states[hash], state.referenced else {
                progress.note(
                    tr("photo_sync.photo_waits_no_record_server", hash.prefix(12)))
                continue
            }
            if state.complete, let challenge = state.challenge {
                // The server has these bytes from another grid: show it this device holds them too.
                if try await prove(hash, challenge: challenge) {
                    onServer.insert(hash)
                    try home.savePhotosOnServer(onServer)
                }
                continue
            }
            if !state.complete && !blobs.isIntact(hash) {
                // Damaged on this device (a failing card, say): the server would refuse it at the end,
                // and it would hold up every photo after it. Keep its bytes aside and go on.
                try setAside(hash, into: &summary)
                continue
            }
            var offset = state.received
            var refused = false
            var moved = false
            /// Goes on from what the server says it holds, counting only what it acknowledged.
            func advance(to received: Int) {
                if received > offset {
                    sent += received - offset
                    summary.photoBytesSent += received - offset
                    moved = true
                }
                offset = received
            }
            number += 1
            let stage = tr("photo_sync.photo_n_of", number, toSend)
            while !state.complete && offset < size {
                if let l = left, l <= 0 { break }
                var chunk = Data()
                var dropped = false
                var clean = true
                let started = ContinuousClock.now
                let answered = try await policy.run(onRetry: { attempt, wait, failure in
                    retried(attempt, wait, failure)
                    clean = false
                    summary.retries += 1
                    // What went out of a dropped chunk counts against the budget; the server kept the
                    // part that arrived (counted once it says so), so the chunk is not made smaller.
                    left = left.map { $0 - chunk.count }
                    chunk = Data()
                    dropped = true
                }) { () -> ServerConnection.Reply? in
                    if dropped {
                        // The server keeps the part of a chunk that arrived: ask where to go on. When
                        // it got further, that is progress: go on from there with fresh retries.
                        let before = offset
                        state = try await statusOnce(hash) ?? state
                        advance(to: state.received)
                        dropped = false
                        if offset != before || state.complete || offset >= size { return nil }
                        if let l = left, l <= 0 { return nil }
                    }
                    if chunk.isEmpty {
                        chunk = try blobs.read(hash, range: offset..<(offset + min(chunkTarget, size - offset, left ?? Int.max)))
                    }
                    return try await connection.send(
                        .PUT, "/v1/photos/\(hash)?offset=\(offset)&total=\(size)", body: Array(chunk),
                        contentType: "application/octet-stream", pieces: Self.piece)
                }
                guard let reply = answered else { continue }
                left = left.map { $0 - chunk.count }
                switch reply.status {
                case 200:
                    struct Answer: Decodable { var received: Int; var complete: Bool }
                    let answer = try JSONDecoder().decode(Answer.self, from: Data(reply.body))
                    if clean && chunk.count >= chunkTarget {
                        // A whole chunk in one go: size the next from the rate it went at (round
                        // trip included, so the estimate errs small).
                        let elapsed = ContinuousClock.now - started
                        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                        let rate = Double(chunk.count) / max(seconds, 0.001)
                        chunkTarget = min(Self.largestChunk, max(chunkSize, Int(rate * Self.chunkSeconds)))
                    }
                    advance(to: answer.received)
                    state.complete = answer.complete
                case 409 where ServerConnection.errorCode(reply) == "wrong_offset":
                    // The server holds another length (an earlier answer was lost): ask and resume
                    // there, counting what it holds beyond what was counted.
                    state = try await statusOnce(hash) ?? state
                    advance(to: state.received)
                case 422 where ServerConnection.errorCode(reply) == "hash_mismatch":
                    // The server discarded the upload: the bytes changed here while it went up.
                    if !blobs.isIntact(hash) { try setAside(hash, into: &summary) }
                    refused = true
                default:
                    throw ServerConnection.failure(reply)
                }
                if refused { break }
                progress.update(stage, done: sent, total: total, unit: "B", bytes: summary.photoBytesSent, since: began)
            }
            if refused { continue }
            // One line per photo sent: where the upload stands once it is done.
            if moved {
                progress.update(stage, done: sent, total: total, unit: "B", bytes: summary.photoBytesSent, since: began, force: true)
            }
            if state.complete || offset >= size {
                // Uploaded by this sync only if it sent some of it.
                if moved { summary.photosUploaded += 1 }
                onServer.insert(hash)
                try home.savePhotosOnServer(onServer)
            }
        }
        progress.finish()
        summary.photosWaiting = try waiting().count
        if let budget, summary.photosWaiting > 0 {
            progress.note(
                tr("photo_sync.photo_s_wait_for_later", summary.photosWaiting, Output.bytes(budget)))
        }
    }

    private func setAside(_ hash: String, into summary: inout SyncSummary) throws {
        let moved = try blobs.setAside(hash)
        summary.photosDamaged.append(DamagedPhoto(sha256: hash, movedTo: moved.path))
        progress.note(
            tr("photo_sync.photo_damaged_on_this_device", hash.prefix(12), moved.path))
    }

    /// Downloads `hashes` (photos referenced here but not held) in ranged chunks, resuming partial
    /// downloads; returns the hashes fetched and the ones the server does not have (yet).
    func fetch(_ hashes: [String]) async throws -> (fetched: [String], missing: [String]) {
        var fetched: [String] = []
        var missing: [String] = []
        var bytes = 0
        var chunkSize = self.chunkSize * 4
        for hash in hashes where !blobs.contains(hash) {
            var done = false
            while !done {
                let offset = blobs.receivedBytes(hash)
                let reply = try await policy.run(onRetry: { attempt, wait, failure in
                    retried(attempt, wait, failure)
                    chunkSize = max(Self.smallestChunk, chunkSize / 2)
                }) {
                    try await connection.send(.GET, "/v1/photos/\(hash)", headers: [("Range", "bytes=\(offset)-\(offset + chunkSize - 1)")])
                }
                switch reply.status {
                case 200, 206:
                    let total = Self.totalSize(reply) ?? (offset + reply.body.count)
                    let start = reply.status == 206 ? offset : 0
                    if start == 0 && offset > 0 {
                        // A whole photo in answer to a range: start over with it.
                        try? FileManager.default.removeItem(at: blobs.folder.appendingPathComponent("partial/\(hash)"))
                    }
                    switch try blobs.append(hash, offset: start, chunk: Data(reply.body), total: total) {
                    case .complete: done = true
                    case .stored, .wrongOffset: break
                    case .corrupt:
                        throw Failure("hash_mismatch", tr("photo_sync.photo_arrived_corrupt", hash), status: .io)
                    }
                    bytes += reply.body.count
                    chunkSize = min(self.chunkSize * 4, chunkSize + Self.smallestChunk)
                    progress.update(tr("photo_sync.photos"), done: fetched.count, total: hashes.count, unit: "", bytes: bytes)
                case 404:
                    missing.append(hash)
                    done = true
                default:
                    throw ServerConnection.failure(reply)
                }
            }
            if blobs.contains(hash) { fetched.append(hash) }
            progress.update(tr("photo_sync.photos"), done: fetched.count, total: hashes.count, unit: "", bytes: bytes, force: true)
        }
        progress.finish()
        return (fetched, missing)
    }

    static func totalSize(_ reply: ServerConnection.Reply) -> Int? {
        // Content-Range: bytes A-B/TOTAL
        guard let range = reply.headers.first(name: "Content-Range"), let slash = range.lastIndex(of: "/") else { return nil }
        return Int(range[range.index(after: slash)...])
    }

    private func retried(_ attempt: Int, _ wait: Double, _ failure: Failure) {
        progress.retrying(attempt, wait, failure)
    }
}
