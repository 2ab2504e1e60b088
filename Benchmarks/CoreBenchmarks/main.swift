import CZlib
import Foundation
import GRDB
import GRDBSQLite
import SyncCore

// gridsync-bench: the SyncCore figures of BENCHMARKS.md, measured in one run on the same data and
// printed as JSON lines. Build in release: `swift run -c release gridsync-bench [--quick]`.

let quick = CommandLine.arguments.contains("--quick")
/// `--only NAME` runs one part: size, merge, pull or latency.
let only = CommandLine.arguments.firstIndex(of: "--only").map { CommandLine.arguments[$0 + 1] }
func wanted(_ part: String) -> Bool { only == nil || only == part }
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-bench-\(UUID().uuidString.prefix(8))")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: folder) }

func emit(_ name: String, _ fields: [String: Any]) {
    var record = fields
    record["benchmark"] = name
    let data = try! JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

let titles = ["草场使用权纠纷", "邻里纠纷", "电瓶车入户充电", "消防隐患：配电室线路老化", "独居老人需要上门理发", "门牌号混乱，外卖快递找不到", "乱倒垃圾，请及时清理", "遗失羊羔皮袄"]
let tibetan = ["ཞིང་ཁའི་རྩོད་གཞི།", "མེ་སྐྱོན་ཉེན་ཁ།", "རྒན་པ་གཅིག་པུར་སྡོད་མཁན།", "ས་ཁོངས་ཞིབ་བཤེར།"]
let names = ["扎西", "次仁", "多吉", "卓玛", "白玛", "罗布", "达瓦", "边巴", "索朗", "拉姆"]

func hex64() -> String { Hex.string((0..<32).map { _ in UInt8.random(in: 0...255) }) }

/// A source replica holding `count` issues with 8 written fields each.
func sourceReplica(_ name: String, issues count: Int) throws -> (Replica, [String]) {
    var config = Replica.Configuration()
    config.durable = false
    let r = try Replica(path: folder.appendingPathComponent(name).path, configuration: config)
    var ids: [String] = []
    for n in 0..<count {
        let grid = "xizang/lhasa/maizhokunggar/zhaxigang/v\(n % 7 + 1)/g\(n % 17 + 1)"
        let id = try r.reportIssue(
            IssueReport(
                grid: grid, kind: IssueKind.allCases[n % 6], tier: .small, title: "\(titles[n % titles.count]) \(n)",
                description: "\(tibetan[n % tibetan.count]) \(titles[(n / 3) % titles.count]) 照片 \(hex64())",
                reporter: names[n % names.count],
                handler: names[(n + 3) % names.count], dueDate: "2026-12-\(String(format: "%02d", n % 28 + 1))"))
        ids.append(id)
    }
    return (r, ids)
}

/// `sourceReplica` with the `reported` event of every issue, an escalation of every fourth, and
/// as many households as issues, spread over 7 villages of 17 grids.
func countyReplica(_ name: String, issues count: Int) throws -> Replica {
    let (source, ids) = try sourceReplica(name, issues: count)
    for (n, id) in ids.enumerated() where n % 4 == 0 { try source.appendEvent(issueID: id, kind: .escalated, tier: .medium) }
    for n in 0..<count {
        try source.addHousehold(
            grid: "xizang/lhasa/maizhokunggar/zhaxigang/v\(n % 7 + 1)/g\(n % 17 + 1)",
            HouseholdFields(
                doorPlate: "\(n / 100)村\(n % 100)号", headNameZh: "次仁\(n)", headNameBo: "ཚེ་རིང་། \(n)", members: n % 7 + 1,
                phone: "0891-\(1_000_000 + n)", tags: ["牧户"]))
    }
    return source
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

func issueRowsOnly(_ c: Changeset) -> Changeset { Changeset(rows: c.rows.filter { $0.table == "issues" }) }

func zlib(_ bytes: [UInt8]) -> Int {
    var bound = compressBound(uLong(bytes.count))
    var out = [UInt8](repeating: 0, count: Int(bound))
    _ = bytes.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { compress2($0.baseAddress, &bound, src.baseAddress, uLong(src.count), 9) }
    }
    return Int(bound)
}

// 1. Bytes on the wire (WireWorkload.swift): a device's full push of 2,000 households and 10,000
//    issues with their events and photo references, then its push of 1,000 edits, as the request
//    bodies `gridsync sync` sends (batches of up to 10,000 changes, message header included), in
//    changeset formats 1 and 2; against the same records' current values as compact JSON lines in
//    one zlib stream (full: every record whole; delta: per edit, the id, the changed fields and the
//    new time). Also the time to encode the requests and to decode them again (each checked to
//    round-trip).
if wanted("size") {
    let issues = quick ? 2000 : 10_000
    var workload = try WireWorkload(folder: folder, seed: 1)
    try workload.build(issues: issues)
    func measure(_ name: String, baseline: [UInt8]) throws {
        let baselineZ = zlib(baseline)
        var fields: [String: Any] = [
            "issues": issues, "households": 2000, "edits": issues / 10, "json_bytes": baseline.count, "json_zlib_bytes": baselineZ,
            "target": name == "wire_full_sync" ? 1.00 : 0.80,
        ]
        for format: UInt8 in [1, 2] {
            let sent = try workload.requestBodies(format: format)
            let bytes = sent.bodies.reduce(0, +)
            fields["format\(format)_bytes"] = bytes
            fields["format\(format)_requests"] = sent.bodies.count
            fields["format\(format)_ratio"] = (Double(bytes) / Double(baselineZ) * 1000).rounded() / 1000
            fields["format\(format)_encode_ms"] = (sent.encodeSeconds * 1e4).rounded() / 10
            fields["format\(format)_decode_ms"] = (sent.decodeSeconds * 1e4).rounded() / 10
            fields["changes"] = sent.changes
            fields["rows"] = sent.rows
        }
        emit(name, fields)
    }
    try measure("wire_full_sync", baseline: WireWorkload.jsonLines(workload.order.map { workload.records[$0]! }))
    try workload.edit(count: issues / 10)
    try measure("wire_delta_1000_edits", baseline: WireWorkload.jsonLines(workload.editLines))
}

// 2. Merge throughput: 100,000 remote column changes applied, against the same 100,000 changes
//    inserted raw, one row each, into a plain SQLite table, in batches of the same size, both with
//    durable commits. Also: the same merge into a device's replica (issues indexed by grid), as a
//    share of the plain merge's speed.
if wanted("merge") {
    let issues = quick ? 2500 : 12_500  // × 8 columns = 100,000 changes
    // Events too (for what a device's report indexes, two partial indexes on events, cost their
    // merge) and households (for what its register index costs theirs).
    let source = try countyReplica("merge-source.sqlite", issues: issues)
    var batches: [Changeset] = []
    var householdBatches: [Changeset] = []
    var eventBatches: [Changeset] = []
    var cursor: Int64 = 0
    while true {
        let b = try source.changes(since: cursor, maxChanges: 5000)
        let rows = issueRowsOnly(b.changeset)
        if !rows.isEmpty { batches.append(rows) }
        let households = Changeset(rows: b.changeset.rows.filter { $0.table == "households" })
        if !households.isEmpty { householdBatches.append(households) }
        let events = Changeset(rows: b.changeset.rows.filter { $0.table == "issue_events" })
        if !events.isEmpty { eventBatches.append(events) }
        cursor = b.cursor
        if !b.hasMore { break }
    }
    let total = batches.reduce(0) { $0 + $1.changeCount }
    // Alternate the two, five rounds on fresh files, and report the median ratio: the disk here is
    // noisy and both sides fsync at every batch.
    var ratios: [Double] = []
    var applyRates: [Double] = []
    var rawRates: [Double] = []
    var indexedRatios: [Double] = []
    var householdRatios: [Double] = []
    var eventRatios: [Double] = []
    for round in 0..<(quick ? 2 : 5) {
        let target = try Replica(path: folder.appendingPathComponent("merge-target-\(round).sqlite").path)
        let applySeconds = try seconds { for b in batches { _ = try target.apply(b) } }
        // The same merge into a device's replica, whose issues are indexed by grid as well.
        var deviceConfig = Replica.Configuration()
        deviceConfig.gridIndexes = true
        let device = try Replica(path: folder.appendingPathComponent("merge-device-\(round).sqlite").path, configuration: deviceConfig)
        let indexedSeconds = try seconds { for b in batches { _ = try device.apply(b) } }
        indexedRatios.append(applySeconds / indexedSeconds)
        // Households into a plain replica and into a device's, whose register index holds every
        // column a household list shows.
        let plainHouseholds = try Replica(path: folder.appendingPathComponent("merge-households-\(round).sqlite").path)
        let plainHouseholdSeconds = try seconds { for b in householdBatches { _ = try plainHouseholds.apply(b) } }
        let deviceHouseholds = try Replica(
            path: folder.appendingPathComponent("merge-device-households-\(round).sqlite").path, configuration: deviceConfig)
        let indexedHouseholdSeconds = try seconds { for b in householdBatches { _ = try deviceHouseholds.apply(b) } }
        householdRatios.append(plainHouseholdSeconds / indexedHouseholdSeconds)
        // Events into the two replicas above, which hold their issues: timed alone.
        let plainEventSeconds = try seconds { for b in eventBatches { _ = try target.apply(b) } }
        let indexedEventSeconds = try seconds { for b in eventBatches { _ = try device.apply(b) } }
        eventRatios.append(plainEventSeconds / indexedEventSeconds)
        var config = Configuration()
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let raw = try DatabasePool(path: folder.appendingPathComponent("raw-\(round).sqlite").path, configuration: config)
        try raw.write { db in
            try db.execute(sql: "CREATE TABLE raw_changes (tbl TEXT, row_id TEXT, grid TEXT, col TEXT, value, hlc INTEGER, site TEXT)")
        }
        let rawSeconds = try seconds {
            for b in batches {
                try raw.write { db in
                    let insert = try db.cachedStatement(sql: "INSERT INTO raw_changes VALUES (?, ?, ?, ?, ?, ?, ?)")
                    for row in b.rows {
                        for ch in row.changes {
                            let v: DatabaseValueConvertible? = ch.value.text ?? ch.value.integer.map { $0 as DatabaseValueConvertible }
                            try insert.execute(arguments: [
                                row.table, row.rowID, row.grid, ch.column, v, Int64(bitPattern: ch.version.timestamp.rawValue),
                                ch.version.site.hex,
                            ])
                        }
                    }
                }
            }
        }
        applyRates.append(Double(total) / applySeconds)
        rawRates.append(Double(total) / rawSeconds)
        ratios.append(applyRates.last! / rawRates.last!)
    }
    emit(
        "merge_throughput",
        [
            "changes": total, "batches": batches.count, "rounds": ratios.count, "apply_changes_per_s": median(applyRates),
            "raw_inserts_per_s": median(rawRates), "ratio_median": median(ratios), "ratios": ratios, "target": 0.5,
            "grid_indexed_vs_plain_median": median(indexedRatios), "grid_indexed_vs_plain": indexedRatios,
            "household_changes": householdBatches.reduce(0) { $0 + $1.changeCount },
            "households_indexed_vs_plain_median": median(householdRatios), "households_indexed_vs_plain": householdRatios,
            "event_changes": eventBatches.reduce(0) { $0 + $1.changeCount },
            "events_indexed_vs_plain_median": median(eventRatios), "events_indexed_vs_plain": eventRatios,
        ])
}

// 2b. A pull as the server serves it: the change log read page by page (5,000 changes) and each
//     page encoded as a sync answer (changeset format 2, compressed), for the whole county and for
//     one grid; against the floor under it, the same log entries and their rows stepped in SQLite
//     with every column's bytes touched and no Swift value made.
if wanted("pull") {
    let issues = quick ? 2500 : 12_500
    let source = try countyReplica("pull-source.sqlite", issues: issues)
    let county = [try AreaPath("xizang/lhasa/maizhokunggar")]
    let grid = [try AreaPath("xizang/lhasa/maizhokunggar/zhaxigang/v1/g1")]
    /// Reads (and encodes, when asked) every page of `scopes`; returns (seconds, changes).
    func pull(_ scopes: [AreaPath], encode: Bool) throws -> (Double, Int) {
        var changes = 0
        let s = try seconds {
            var cursor: Int64 = 0
            while true {
                let b = try source.changes(since: cursor, maxChanges: 5000, scopes: scopes)
                changes += b.changeset.changeCount
                if encode {
                    let answer = SyncMessageCoding.encode(
                        SyncResponse(
                            serverTimeMillis: 0, receipt: 0, cursor: b.cursor, hasMore: b.hasMore, rejections: [], changes: b.changeset))
                    precondition(!answer.isEmpty)
                }
                cursor = b.cursor
                if !b.hasMore { break }
            }
        }
        return (s, changes)
    }
    let raw = try DatabaseQueue(path: folder.appendingPathComponent("pull-source.sqlite").path)
    /// The floor: every log entry of the county and its row, stepped with each column's bytes read.
    func rawPull() throws -> (Double, Int) {
        var touched = 0
        var entries = 0
        let s = try seconds {
            try raw.read { db in
                let log = try db.makeStatement(sql: "SELECT lv, tbl, row_id FROM change_log ORDER BY lv")
                var lookups: [Int: Statement] = [:]
                for table in Schema.all { lookups[table.number] = try db.makeStatement(sql: "SELECT * FROM \(table.name) WHERE id = ?") }
                let l = log.sqliteStatement
                while sqlite3_step(l) == SQLITE_ROW {
                    entries += 1
                    guard let lookup = lookups[Int(sqlite3_column_int64(l, 1))] else { continue }
                    let r = lookup.sqliteStatement
                    sqlite3_reset(r)
                    sqlite3_bind_text(r, 1, sqlite3_column_text(l, 2), sqlite3_column_bytes(l, 2), nil)
                    if sqlite3_step(r) == SQLITE_ROW {
                        for c in 0..<sqlite3_column_count(r) {
                            if let b = sqlite3_column_blob(r, c) { touched &+= Int(b.load(as: UInt8.self)) }
                            touched &+= Int(sqlite3_column_bytes(r, c))
                        }
                    }
                }
            }
        }
        precondition(touched != 0)
        return (s, entries)
    }
    var readRatios: [Double] = []
    var servedRatios: [Double] = []
    var readMicros: [Double] = []
    var servedMicros: [Double] = []
    var gridMicros: [Double] = []
    var rawMicros: [Double] = []
    var changeCount = 0
    var entryCount = 0
    for _ in 0..<(quick ? 2 : 5) {
        let (rawSeconds, entries) = try rawPull()
        let (readSeconds, changes) = try pull(county, encode: false)
        let (servedSeconds, _) = try pull(county, encode: true)
        let (gridSeconds, gridChanges) = try pull(grid, encode: true)
        changeCount = changes
        entryCount = entries
        rawMicros.append(rawSeconds / Double(entries) * 1e6)
        readMicros.append(readSeconds / Double(changes) * 1e6)
        servedMicros.append(servedSeconds / Double(changes) * 1e6)
        gridMicros.append(gridSeconds / Double(max(1, gridChanges)) * 1e6)
        // The same rows, against the floor.
        readRatios.append(readSeconds / rawSeconds)
        servedRatios.append(servedSeconds / rawSeconds)
    }
    emit(
        "pull_serving",
        [
            "changes": changeCount, "log_entries": entryCount, "rounds": readRatios.count,
            "read_us_per_change": median(readMicros), "read_and_encode_us_per_change": median(servedMicros),
            "one_grid_read_and_encode_us_per_change": median(gridMicros), "raw_us_per_row": median(rawMicros),
            "read_vs_raw_median": median(readRatios), "read_and_encode_vs_raw_median": median(servedRatios),
            "read_vs_raw": readRatios, "read_and_encode_vs_raw": servedRatios,
        ])
}

// 3. Latency of one local issue report (one durable transaction: issue row + reported event).
if wanted("latency") {
    let n = quick ? 300 : 2000
    func reportLatencies(durable: Bool) throws -> [Double] {
        var config = Replica.Configuration()
        config.durable = durable
        let r = try Replica(path: folder.appendingPathComponent("latency-\(durable).sqlite").path, configuration: config)
        var samples: [Double] = []
        for k in 0..<n {
            let s = try seconds {
                _ = try r.reportIssue(
                    IssueReport(
                        grid: "xizang/lhasa/maizhokunggar/zhaxigang/v3/g2", kind: .hazard, title: "\(titles[k % titles.count]) \(k)",
                        reporter: "扎西"))
            }
            samples.append(s * 1000)
        }
        return samples.sorted()
    }
    let samples = try reportLatencies(durable: true)
    let cpuOnly = try reportLatencies(durable: false)
    // The floor under it: one durable single-row insert into a plain SQLite table on the same disk.
    var config = Configuration()
    config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
    let raw = try DatabasePool(path: folder.appendingPathComponent("raw-latency.sqlite").path, configuration: config)
    try raw.write { db in try db.execute(sql: "CREATE TABLE t (id TEXT PRIMARY KEY, title TEXT)") }
    var rawSamples: [Double] = []
    for k in 0..<n {
        let s = try seconds {
            try raw.write { db in
                try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [UUID().uuidString, titles[k % titles.count]])
            }
        }
        rawSamples.append(s * 1000)
    }
    rawSamples.sort()
    func pct(_ xs: [Double], _ p: Double) -> Double { xs[min(xs.count - 1, Int(Double(xs.count) * p))] }
    emit(
        "issue_report_latency",
        [
            "reports": n, "p50_ms": pct(samples, 0.5), "p99_ms": pct(samples, 0.99), "max_ms": samples.last!, "target_p99_ms": 2.0,
            "raw_insert_p50_ms": pct(rawSamples, 0.5), "raw_insert_p99_ms": pct(rawSamples, 0.99),
            "no_fsync_p50_ms": pct(cpuOnly, 0.5), "no_fsync_p99_ms": pct(cpuOnly, 0.99),
        ])
}
