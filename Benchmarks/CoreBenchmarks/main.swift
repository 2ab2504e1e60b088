import CZlib
import Foundation
import GRDB
import SyncCore

// gridsync-bench: the SyncCore figures of BENCHMARKS.md, measured in one run on the same data and
// printed as JSON lines. Build in release: `swift run -c release gridsync-bench [--quick]`.

let quick = CommandLine.arguments.contains("--quick")
/// `--only NAME` runs one part: size, merge or latency.
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

func issueRowsOnly(_ c: Changeset) -> Changeset { Changeset(rows: c.rows.filter { $0.table == "issues" }) }

func zlib(_ bytes: [UInt8]) -> Int {
    var bound = compressBound(uLong(bytes.count))
    var out = [UInt8](repeating: 0, count: Int(bound))
    _ = bytes.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { compress2($0.baseAddress, &bound, src.baseAddress, uLong(src.count), 9) }
    }
    return Int(bound)
}

/// The same changes as compact JSON lines, one object per row (its id and grid written once).
func jsonLines(_ c: Changeset) -> [UInt8] {
    var out = ""
    for row in c.rows {
        let changes: [[String: Any]] = row.changes.map { ch in
            var o: [String: Any] = ["c": ch.column, "t": ch.version.timestamp.rawValue, "s": ch.version.site.hex]
            switch ch.value {
            case .null: o["v"] = NSNull()
            case let .integer(i): o["v"] = i
            case let .real(d): o["v"] = d
            case let .text(s): o["v"] = s
            case let .blob(b): o["v"] = Data(b).base64EncodedString()
            }
            if let b = ch.base { o["b"] = [b.timestamp.rawValue, b.site.hex] as [Any] }
            return o
        }
        let obj: [String: Any] = ["tbl": row.table, "id": row.rowID, "g": row.grid, "ch": changes]
        out += String(decoding: try! JSONSerialization.data(withJSONObject: obj, options: [.withoutEscapingSlashes]), as: UTF8.self) + "\n"
    }
    return Array(out.utf8)
}

// 1. Encoded size: a full changeset of 10,000 issues (8 fields each) and a delta of 1,000 field edits.
if wanted("size") {
    let count = quick ? 2000 : 10_000
    let (source, ids) = try sourceReplica("size.sqlite", issues: count)
    let full = issueRowsOnly(try source.changes(since: 0, maxChanges: Int.max / 2).changeset)
    let cursor = try source.localVersion()
    for n in 0..<(count / 10) {
        let id = ids[(n * 7919) % ids.count]
        switch n % 3 {
        case 0: try source.editIssue(id, IssueFields(handler: "\(names[(n + 5) % names.count])（乡镇）"))
        case 1: try source.editIssue(id, IssueFields(title: "\(titles[(n + 1) % titles.count]) 已回访 \(n)"))
        default: try source.editIssue(id, IssueFields(dueDate: "2027-01-\(String(format: "%02d", n % 28 + 1))"))
        }
    }
    let delta = issueRowsOnly(try source.changes(since: cursor, maxChanges: Int.max / 2).changeset)
    for (name, c) in [("changeset_size_full", full), ("changeset_size_delta", delta)] {
        let encoded = ChangesetEncoding.encode(c).count
        let json = jsonLines(c)
        let jsonZ = zlib(json)
        emit(
            name,
            [
                "rows": c.rows.count, "changes": c.changeCount, "encoded_bytes": encoded, "json_bytes": json.count,
                "json_zlib_bytes": jsonZ, "ratio_to_json_zlib": Double(encoded) / Double(jsonZ),
                "target": name.hasSuffix("full") ? 0.85 : 0.80,
            ])
    }
}

// 2. Merge throughput: 100,000 remote column changes applied, against the same 100,000 changes
//    inserted raw, one row each, into a plain SQLite table, in batches of the same size, both with
//    durable commits.
if wanted("merge") {
    let issues = quick ? 2500 : 12_500  // × 8 columns = 100,000 changes
    let (source, _) = try sourceReplica("merge-source.sqlite", issues: issues)
    var batches: [Changeset] = []
    var cursor: Int64 = 0
    while true {
        let b = try source.changes(since: cursor, maxChanges: 5000)
        let rows = issueRowsOnly(b.changeset)
        if !rows.isEmpty { batches.append(rows) }
        cursor = b.cursor
        if !b.hasMore { break }
    }
    let total = batches.reduce(0) { $0 + $1.changeCount }
    // Alternate the two, five rounds on fresh files, and report the median ratio: the disk here is
    // noisy and both sides fsync at every batch.
    var ratios: [Double] = []
    var applyRates: [Double] = []
    var rawRates: [Double] = []
    for round in 0..<(quick ? 2 : 5) {
        let target = try Replica(path: folder.appendingPathComponent("merge-target-\(round).sqlite").path)
        let applySeconds = try seconds { for b in batches { _ = try target.apply(b) } }
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
    func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
    emit(
        "merge_throughput",
        [
            "changes": total, "batches": batches.count, "rounds": ratios.count, "apply_changes_per_s": median(applyRates),
            "raw_inserts_per_s": median(rawRates), "ratio_median": median(ratios), "ratios": ratios, "target": 0.5,
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
