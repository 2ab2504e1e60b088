import ArgumentParser
import Dispatch
import Foundation
import SyncCore

/// `gridsync sync`: records first, then photos; retries a dropped link and resumes.
struct SyncCommand: DeviceCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Send and receive records, then upload photos; retry and resume when the link drops.",
        discussion:
            "Records always go first. Photos follow in chunks that resume from the last byte the server acknowledged. With --max-bytes, photos stop when the budget is spent and wait for a later sync. With --watch, the tool keeps running and syncs whenever there is something to send, and every --interval seconds to receive, until stopped (Ctrl-C or SIGTERM)."
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var output: JSONFlag

    @Flag(help: "Keep running: sync whenever there is something to send or receive.")
    var watch = false

    @Option(help: "With --watch: seconds between syncs that only receive.")
    var interval: Double = 60

    @Option(help: "Byte budget for this sync on a metered link; records always go, photos wait when over it.")
    var maxBytes: Int?

    @Option(help: "Retries after a dropped link before giving up (with --watch: per sync).")
    var retries = 6

    @Option(help: "Seconds to wait before the first retry; doubles each time up to 60.")
    var backoff: Double = 2

    @Option(help: "Photo chunk size in KiB.")
    var chunkKib = 32

    @Option(help: "Seconds to wait for an answer before counting the link as lost.")
    var timeout = 120

    @Flag(help: "Records only; leave photos for later.")
    var noPhotos = false

    @Flag(help: "No progress output.")
    var quiet = false

    @Option(help: "Reach the server through this address (a relay or tunnel); receipts and cursors stay the enrolled server's.")
    var via: String?

    func validate() throws {
        guard interval >= 0.1 else { throw ValidationError("--interval must be at least 0.1 seconds") }
        guard maxBytes.map({ $0 >= 0 }) ?? true else { throw ValidationError("--max-bytes must not be negative") }
        guard retries >= 0, backoff >= 0 else { throw ValidationError("--retries and --backoff must not be negative") }
        guard (1...4096).contains(chunkKib) else { throw ValidationError("--chunk-kib must be 1 to 4096") }
        guard timeout >= 1 else { throw ValidationError("--timeout must be at least 1 second") }
    }

    func execute() async throws {
        let home = common.device
        let config = try home.config()
        let replica = try home.openReplica()
        let connection = try ServerConnection(
            server: via ?? config.server, caFile: home.caURL.path, credential: try home.credential(), timeoutSeconds: timeout)
        let progress = Progress(quiet: quiet || output.json)
        let policy = RetryPolicy(retries: retries, initialDelay: backoff)
        var photos = PhotoSync(
            home: home, replica: replica, blobs: try home.blobs(), connection: connection, policy: policy, progress: progress)
        photos.chunkSize = chunkKib << 10
        defer { Task { await connection.shutdown() } }
        if !watch {
            let summary = try await once(
                replica: replica, peer: config.server, connection: connection, photos: photos, progress: progress, policy: policy)
            await connection.shutdown()
            return try show(summary)
        }
        let stop = StopSignal()
        var nextPull = Date.distantPast
        var wait = max(backoff, 0.1)
        while !stop.requested {
            let somethingToSend =
                try replica.pendingOwnChanges(after: try replica.peerCursor(config.server).acknowledged) > 0
                || (!noPhotos && !(try photos.waiting().isEmpty))
            if somethingToSend || Date() >= nextPull {
                do {
                    let summary = try await once(
                        replica: replica, peer: config.server, connection: connection, photos: photos, progress: progress, policy: policy)
                    try show(summary)
                    nextPull = Date().addingTimeInterval(interval)
                    wait = max(backoff, 0.1)
                } catch let failure as Failure where failure.status == .unavailable {
                    progress.note(
                        say(
                            "no signal (\(failure.message)); trying again in \(Int(wait.rounded(.up))) s",
                            "无信号（\(failure.message)）；\(Int(wait.rounded(.up))) 秒后再试"))
                    nextPull = Date().addingTimeInterval(wait)
                    wait = min(max(interval, 1), wait * 2)
                }
            }
            await stop.sleep(until: min(nextPull, Date().addingTimeInterval(1)))
        }
        progress.note(say("stopped", "已停止"))
        await connection.shutdown()
    }

    private func once(
        replica: Replica, peer: String, connection: ServerConnection, photos: PhotoSync, progress: Progress, policy: RetryPolicy
    ) async throws -> SyncSummary {
        var summary = SyncSummary()
        try await RecordSync(
            replica: replica, peer: peer, connection: connection, policy: policy, progress: progress
        ).run(into: &summary)
        if noPhotos {
            summary.photosWaiting = try photos.waiting().count
        } else {
            let spent = summary.recordBytesSent + summary.recordBytesReceived
            try await photos.upload(budget: maxBytes.map { max(0, $0 - spent) }, into: &summary)
        }
        summary.seconds = progress.elapsed
        return summary
    }

    private func show(_ s: SyncSummary) throws {
        if output.json { return try Output.json(s) }
        print(
            say(
                "synced: sent \(s.pushed) change(s), received \(s.pulled), \(s.refused.count) refused, \(s.rounds) round trip(s), \(s.retries) retry(ies), \(Output.bytes(s.recordBytesSent + s.recordBytesReceived))",
                "同步完成：发送 \(s.pushed) 项修改，接收 \(s.pulled) 项，拒收 \(s.refused.count) 项，往返 \(s.rounds) 次，重试 \(s.retries) 次，\(Output.bytes(s.recordBytesSent + s.recordBytesReceived))"
            ))
        for r in s.refused {
            print(say("refused: ", "被拒收：") + "\(r.table)/\(r.row).\(r.column) [\(r.code)] \(r.message)")
        }
        if s.conflicts > 0 {
            print(
                say(
                    "\(s.conflicts) new conflict(s): see `gridsync conflict list`", "新增 \(s.conflicts) 个冲突：请查看 `gridsync conflict list`"))
        }
        print(
            say(
                "receipt: the server has stored this device's changes up to local version \(s.receipt)",
                "回执：服务器已保存本设备至本地版本 \(s.receipt) 的修改"))
        print(
            say(
                "photos: \(s.photosUploaded) uploaded (\(Output.bytes(s.photoBytesSent))), \(s.photosWaiting) waiting",
                "照片：上传 \(s.photosUploaded) 张（\(Output.bytes(s.photoBytesSent))），\(s.photosWaiting) 张待上传"))
    }
}

/// SIGINT or SIGTERM asks a watching sync to stop after the step in progress; a second one stops at once.
final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var sources: [DispatchSourceSignal] = []

    init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.received() }
            source.resume()
            sources.append(source)
        }
    }

    var requested: Bool { lock.withLock { count > 0 } }

    private func received() {
        let n = lock.withLock {
            count += 1
            return count
        }
        if n > 1 { exit(130) }
    }

    /// Sleeps until `date` or until a stop is asked for.
    func sleep(until date: Date) async {
        while !requested && Date() < date {
            try? await Task.sleep(nanoseconds: UInt64(min(0.2, max(0.01, date.timeIntervalSinceNow)) * 1e9))
        }
    }
}
