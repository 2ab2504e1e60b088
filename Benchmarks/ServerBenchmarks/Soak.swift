import Foundation
import SyncCore

// Soak mode (`--duration S`): every device syncs again and again, every `--interval` seconds on
// average (jittered ±50%, first sync at a random moment of the first interval), for S seconds.
// Each sync pushes `--changes` changes (alternately new households, and edits of the device's own
// households with their bases) and pulls what the other device of its grid wrote, from its
// cursor. Any failed request, refused change or wrong receipt is an error. The server's resident
// memory (VmRSS) is sampled every 5 s: it must stay flat once the caches are warm.

/// What one device knows between its syncs.
struct SoakDevice {
    var device: SimulatedDevice
    var cursor: Int64 = 0
    var pushed: Int64 = 0
    /// Its households and the version of their `notes` column.
    var rows: [(id: String, notes: Version)] = []
    var edits = 0
}

/// Figures of one soak, shared by the device tasks.
actor SoakFigures {
    var latencies: [Double] = []
    var latencyByMinute: [Int: [Double]] = [:]
    var syncs = 0
    var pushed = 0
    var pulled = 0
    var errors = 0
    var firstErrors: [String] = []

    func record(latency: Double, minute: Int, pushed: Int, pulled: Int) {
        latencies.append(latency)
        latencyByMinute[minute, default: []].append(latency)
        syncs += 1
        self.pushed += pushed
        self.pulled += pulled
    }

    func failed(_ message: String) {
        errors += 1
        if firstErrors.count < 5 { firstErrors.append(message) }
    }
}

func residentKiB(_ pid: Int32) -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000
}

/// The changes of one sync: new households, or edits of the notes of households already sent.
func soakChanges(_ d: inout SoakDevice, count: Int) -> Changeset {
    let now = HLCTimestamp(millis: UInt64(Date().timeIntervalSince1970 * 1000), counter: 0)
    let version = Version(timestamp: now, site: d.device.site)
    var rows: [RowChanges] = []
    d.edits += 1
    if d.edits % 2 == 0 && d.rows.count >= count {
        for i in 0..<count {
            let k = (d.edits * count + i) % d.rows.count
            let (id, base) = d.rows[k]
            rows.append(
                RowChanges(
                    table: "households", rowID: id, grid: d.device.grid,
                    changes: [ColumnChange(column: "notes", value: .text("回访 \(d.edits)：已整改"), version: version, base: base)]))
            d.rows[k].notes = version
        }
    } else {
        var left = count
        while left > 0 {
            let id = UUID().uuidString.lowercased()
            let fields: [(String, Value)] = [
                ("notes", .text("电瓶车入户充电 \(d.rows.count)")), ("door_plate", .text("\(d.rows.count + 1)号")),
                ("head_name_zh", .text("卓玛")), ("head_name_bo", .text("སྒྲོལ་མ།")), ("members", .integer(Int64(d.rows.count % 7 + 1))),
            ].prefix(left).map { $0 }
            rows.append(
                RowChanges(
                    table: "households", rowID: id, grid: d.device.grid,
                    changes: fields.map { ColumnChange(column: $0.0, value: $0.1, version: version, base: nil) }))
            d.rows.append((id, version))
            left -= fields.count
        }
    }
    return Changeset(rows: rows)
}

func soak(_ devices: [SimulatedDevice], seconds: Double, interval: Double, changes: Int, serverPID: Int32) async throws -> [String: Any] {
    let figures = SoakFigures()
    let start = Date()
    let end = start.addingTimeInterval(seconds)
    var rss: [(seconds: Double, kib: Int)] = [(0, residentKiB(serverPID))]
    try await withThrowingTaskGroup(of: Void.self) { group in
        for device in devices {
            group.addTask {
                var d = SoakDevice(device: device)
                try await Task.sleep(nanoseconds: UInt64(Double.random(in: 0..<interval) * 1e9))
                while Date() < end {
                    let changeset = soakChanges(&d, count: changes)
                    d.pushed += 1
                    let request = SyncRequest(pullCursor: d.cursor, pushThrough: d.pushed, maxPullChanges: 0, changes: changeset)
                    let t0 = ContinuousClock.now
                    do {
                        let (status, body) = try await post(
                            "/v1/sync", SyncMessageCoding.encode(request),
                            [("Authorization", "Bearer \(d.device.credential)"), ("Content-Type", "application/x-gridsync")])
                        let elapsed = ContinuousClock.now - t0
                        guard status == 200 else {
                            await figures.failed("sync \(status): \(String(decoding: body.prefix(200), as: UTF8.self))")
                            continue
                        }
                        let response = try SyncMessageCoding.decodeResponse(body)
                        if !response.rejections.isEmpty || response.receipt != d.pushed {
                            await figures.failed("refused \(response.rejections.prefix(2)), receipt \(response.receipt) for \(d.pushed)")
                        }
                        d.cursor = response.cursor
                        let latency = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                        await figures.record(
                            latency: latency, minute: Int(Date().timeIntervalSince(start) / 60), pushed: changeset.changeCount,
                            pulled: response.changes.changeCount)
                    } catch {
                        await figures.failed("transport: \(error)")
                    }
                    try await Task.sleep(nanoseconds: UInt64(interval * Double.random(in: 0.5...1.5) * 1e9))
                }
            }
        }
        // Sample the server's memory while the devices work.
        while Date() < end {
            try await Task.sleep(nanoseconds: 5_000_000_000)
            rss.append((Date().timeIntervalSince(start), residentKiB(serverPID)))
        }
        try await group.waitForAll()
    }
    let wall = Date().timeIntervalSince(start)
    let latencies = await figures.latencies.sorted()
    let byMinute = await figures.latencyByMinute
    let mib = rss.map { Double($0.kib) / 1024 }
    // Flat memory: the last fifth of the samples against the second fifth (after warm-up).
    let fifth = max(1, mib.count / 5)
    let warm = mib.dropFirst(fifth).prefix(fifth)
    let last = mib.suffix(fifth)
    let growth = (last.reduce(0, +) / Double(last.count)) / (warm.reduce(0, +) / Double(max(1, warm.count)))
    return [
        "benchmark": "server_soak", "devices": devices.count, "seconds": wall, "interval_s": interval, "changes_per_sync": changes,
        "syncs": await figures.syncs, "changes_pushed": await figures.pushed, "changes_pulled": await figures.pulled,
        "changes_per_s": Double(await figures.pushed) / wall, "syncs_per_s": Double(await figures.syncs) / wall,
        "errors": await figures.errors, "first_errors": await figures.firstErrors,
        "sync_p50_ms": percentile(latencies, 0.5), "sync_p99_ms": percentile(latencies, 0.99),
        "sync_p99_ms_by_minute": byMinute.keys.sorted().map { percentile(byMinute[$0]!.sorted(), 0.99) },
        "server_rss_mib": mib.map { ($0 * 10).rounded() / 10 }, "server_rss_growth_after_warmup": growth,
        "server_peak_rss_mib": Double(peakMemoryKiB(serverPID)) / 1024,
    ]
}
