import FieldCLI
import Foundation
import SyncCore

/// What one `gridsync sync` did.
/// A photo found damaged on this device, and where its bytes were moved.
struct DamagedPhoto: Codable, Sendable {
    var sha256: String
    var movedTo: String
}

struct SyncSummary: Codable, Sendable {
    struct Refusal: Codable, Sendable {
        var table: String
        var row: String
        var column: String
        var code: String
        var message: String
    }

    var pushed = 0
    var pulled = 0
    var refused: [Refusal] = []
    var conflicts = 0
    var rounds = 0
    var retries = 0
    var recordBytesSent = 0
    var recordBytesReceived = 0
    var photosUploaded = 0
    var photoBytesSent = 0
    var photosWaiting = 0
    /// Photos whose bytes here no longer hash to their names: set aside, not sent.
    var photosDamaged: [DamagedPhoto] = []
    var receipt: Int64 = 0
    var clockOffsetMillis: Int64?
    /// The newest changeset format the server said it reads (from its `GridSync-Versions`).
    var serverChangesetFormat: Int?
    var seconds = 0.0
}

/// The records half of a sync: rounds of push-and-pull until nothing is left either way. The
/// receipt and cursor are stored after every round, so a cut costs at most the round in flight.
struct RecordSync {
    let replica: Replica
    /// The name cursors are kept under: the server the device enrolled with, whatever address reaches it.
    let peer: String
    let connection: ServerConnection
    let policy: RetryPolicy
    let progress: Progress
    /// The changeset format requests are written in at first: the newest the server reads, as far
    /// as this device knows. Every answer's `GridSync-Versions` corrects it.
    var changesetFormat: UInt8 = 1

    /// The fewest changes asked for per exchange when the link keeps dropping.
    static let smallestBatch = 25
    /// The most changes asked for per answer: eight times the first ask. A county pulling half a
    /// million changes over a fast link then commits 15 transactions instead of 101, each of which
    /// rewrites the same index pages (half as many bytes written; the S7 pull 11-13 → 7-8 s).
    static let largestPull = 40_000
    /// A full answer that arrived within this long doubles the next ask: the link is fast enough
    /// for bigger answers. On 2G (35-240 kbps) a first answer of 5,000 changes takes seconds, and
    /// the ask stays as it is.
    static let quickAnswer: Duration = .milliseconds(1500)
    /// An answer that took longer than this halves the next ask, down to the first one: the link
    /// got slower (a county laptop leaving the office network), and answers of megabytes would
    /// run into the request timeout.
    static let slowAnswer: Duration = .seconds(10)
    /// What a pull asks for at first (and at least, unless the link drops).
    static let firstPull = 5000

    func run(into summary: inout SyncSummary) async throws {
        var session = SyncSession(replica: replica, peer: peer, maxPullChanges: Self.firstPull)
        let pending = try replica.pendingOwnChanges(after: try replica.peerCursor(peer).acknowledged)
        var retries = 0
        // While one pulled batch is merged here, the request for the next is already on its way
        // (pull-only rounds): the server's work, the link's round trip and the merge overlap.
        var prefetched: (request: SyncRequest, body: [UInt8], reply: Task<(ServerConnection.Reply, Duration), any Error>)?
        var format = changesetFormat
        for _ in 0..<100_000 {
            var request = try session.nextRequest()
            var body = SyncMessageCoding.encode(request, changesetFormat: format)
            var early: ServerConnection.Reply?
            // How long the answer took to arrive, from the request's sending.
            var took: Duration = .zero
            if let p = prefetched {
                prefetched = nil
                if request.changes.isEmpty, request.pullCursor == p.request.pullCursor, let (reply, time) = try? await p.reply.value,
                    reply.status == 200
                {
                    (request, body, early, took) = (p.request, p.body, reply, time)
                } else {
                    p.reply.cancel()  // not used: stop receiving it
                }
            }
            let reply: ServerConnection.Reply
            if let early {
                reply = early
            } else {
                let sent = ContinuousClock.now
                reply = try await policy.run(onRetry: { attempt, wait, failure in
                    retries += 1
                    progress.retrying(attempt, wait, failure)
                    // A link that keeps dropping may not carry a big exchange whole: ask for smaller ones.
                    session.maxPushChanges = max(Self.smallestBatch, session.maxPushChanges / 2)
                    session.maxPullChanges = max(Self.smallestBatch, session.maxPullChanges / 2)
                }) {
                    if retries > 0 {
                        request = try session.nextRequest()
                        body = SyncMessageCoding.encode(request, changesetFormat: format)
                    }
                    let own = try session.pullsOwnWrites() ? [("GridSync-Pull", "own")] : []
                    let reply = try await connection.send(
                        .POST, "/v1/sync", body: body, contentType: "application/x-gridsync", headers: own)
                    // A server that reads an older format than this device thought (it was
                    // replaced by an older release) refuses the body and says what it reads:
                    // send the same request again in that format.
                    if let said = Self.readableFormat(reply), said != format {
                        format = said
                        summary.serverChangesetFormat = Int(said)
                        if reply.status == 400 {
                            body = SyncMessageCoding.encode(request, changesetFormat: format)
                            return try await connection.send(
                                .POST, "/v1/sync", body: body, contentType: "application/x-gridsync", headers: own)
                        }
                    }
                    return reply
                }
                took = ContinuousClock.now - sent
            }
            // A push larger than the server takes: send it in smaller batches.
            if reply.status == 413, !request.changes.isEmpty, session.maxPushChanges > Self.smallestBatch {
                session.maxPushChanges = max(Self.smallestBatch, session.maxPushChanges / 4)
                continue
            }
            guard reply.status == 200 else { throw ServerConnection.failure(reply) }
            let response: SyncResponse
            do {
                response = try SyncMessageCoding.decodeResponse(reply.body)
            } catch {
                throw Failure("bad_response", tr("record_sync.server_s_answer_malformed", error), status: .software)
            }
            // More waits, and this answer came quickly and full (not cut by its size in bytes), on a
            // link that has not dropped during this sync (its halvings stand): ask for more in the
            // next. An answer that came slowly asks for less.
            if response.hasMore && retries == 0 && took < Self.quickAnswer
                && response.changes.changeCount * 2 >= request.maxPullChanges
            {
                session.maxPullChanges = min(Self.largestPull, session.maxPullChanges * 2)
            } else if took > Self.slowAnswer && session.maxPullChanges > Self.firstPull {
                session.maxPullChanges = max(Self.firstPull, session.maxPullChanges / 2)
            }
            if response.hasMore && request.changes.isEmpty && response.rejections.isEmpty, !(try session.pullsOwnWrites()) {
                let next = SyncRequest(
                    pullCursor: response.cursor, pushThrough: request.pushThrough, maxPullChanges: session.maxPullChanges,
                    changes: Changeset(rows: []))
                let nextBody = SyncMessageCoding.encode(next, changesetFormat: format)
                let connection = self.connection
                prefetched = (
                    next, nextBody,
                    Task {
                        let sent = ContinuousClock.now
                        let reply = try await connection.send(.POST, "/v1/sync", body: nextBody, contentType: "application/x-gridsync")
                        return (reply, ContinuousClock.now - sent)
                    }
                )
            }
            let outcome = try session.handle(
                response, wallMillis: UInt64(Date().timeIntervalSince1970 * 1000),
                storeEpoch: reply.headers.first(name: "GridSync-Store-Epoch"),
                restoredHint: reply.headers.first(name: "GridSync-Replica") == "restored")
            if outcome.serverRestored {
                prefetched?.reply.cancel()
                prefetched = nil
                progress.note(
                    tr("record_sync.server_was_restored_from_backup"))
            }
            if outcome.restampedAfterClockSkew > 0 {
                progress.note(tr("record_sync.clock_was_ahead", outcome.restampedAfterClockSkew))
            }
            if outcome.restoredFromACopy && summary.rounds == 0 {
                progress.note(
                    tr("record_sync.this_replica_behind_what_server"))
            }
            summary.rounds += 1
            summary.pushed += request.changes.rows.reduce(0) { $0 + $1.changes.count }
            summary.pulled += response.changes.rows.reduce(0) { $0 + $1.changes.count }
            summary.conflicts += outcome.applied.conflictsFound
            summary.recordBytesSent += body.count
            summary.recordBytesReceived += reply.body.count
            var refused: [SetAsideChange] = []
            for r in outcome.rejections {
                let row = r.row < request.changes.rows.count ? request.changes.rows[r.row] : nil
                let column = row.flatMap { r.change < $0.changes.count ? $0.changes[r.change].column : nil } ?? "?"
                summary.refused.append(
                    .init(table: row?.table ?? "?", row: row?.rowID ?? "?", column: column, code: r.code, message: r.message))
                refused.append(
                    SetAsideChange(table: row?.table ?? "?", rowID: row?.rowID ?? "?", column: column, code: r.code, reason: r.message))
            }
            // Set aside for the person to see (`status`): the receipt has moved past them.
            try replica.recordRefusedPushes(refused)
            progress.update(
                tr("record_sync.records"), done: min(summary.pushed, pending), total: pending, unit: tr("record_sync.sent"),
                bytes: summary.recordBytesSent + summary.recordBytesReceived)
            if !outcome.needsAnotherRound { break }
        }
        progress.update(
            tr("record_sync.records"), done: min(summary.pushed, pending), total: pending, unit: tr("record_sync.sent"),
            bytes: summary.recordBytesSent + summary.recordBytesReceived, force: true)
        summary.retries += retries
        let cursor = try replica.peerCursor(peer)
        summary.receipt = cursor.acknowledged
        summary.clockOffsetMillis = cursor.clockOffsetMillis
        progress.finish()
    }

    /// The newest changeset format both the server (by its answer's `GridSync-Versions`) and this
    /// build read; nil when the answer does not say.
    static func readableFormat(_ reply: ServerConnection.Reply) -> UInt8? {
        reply.headers.first(name: PeerVersions.header).flatMap(PeerVersions.init(header:))?.readableChangesetFormat
    }
}
