// gridsync-clibench: wall times of the field tool as a person meets them, on the built binaries.
//
//   swift build -c release && .build/release/gridsync-clibench [--households 60000] [--issues 9000] [--runs 50] [--read-runs 7]
//     [--packaged dist/gridsync-…/bin]   (also time `issue report` and the county reads of a `scripts/package` build, alternating)
//
// 1. `gridsync issue report` wall time, process start to exit (target ≤ 30 ms).
// 2. S7: a county of 300 grids is pushed to a real server over TLS on loopback, then a fresh county
//    device pulls it all with `gridsync sync`, timed (target ≤ 10 s).
// With --field (or --field-only), through `gridsync-link`:
// 3. a 5 MB photo and its records through a link cut every 32 KiB: bytes carried ÷ an uncut run;
// 4. a worker's day (30 records) through the 2g profile: time until the records are synced ÷ the
//    physical bound (3 round trips + bytes ÷ bandwidth), and round trips per metadata sync.
import Foundation
import SyncCore

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let v = Int(arguments[i + 1]) else { return fallback }
    return v
}
let householdCount = option("--households", 60_000)
let issueCount = option("--issues", 9_000)
let runs = option("--runs", 50)
/// Runs of each county read after its first (this machine is noisy: one run says little).
let readRuns = option("--read-runs", 7)
let gridCount = 300

let binaries = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-clibench-\(UUID().uuidString.prefix(6))")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
defer { if ProcessInfo.processInfo.environment["GRIDSYNC_BENCH_KEEP"] == nil { try? FileManager.default.removeItem(at: folder) } }

@discardableResult
func run(_ binary: String, _ args: [String]) -> (status: Int32, output: String, seconds: Double) {
    let p = Process()
    p.executableURL = binaries.appendingPathComponent(binary)
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    let start = DispatchTime.now()
    try! p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    return (p.terminationStatus, String(decoding: data, as: UTF8.self), seconds)
}

/// Wall time of `binary ARGS` started with posix_spawn and waited for (Foundation's Process closes
/// every possible file descriptor before exec, which adds tens of milliseconds to what is measured).
func spawnSeconds(_ binary: String, _ args: [String]) -> Double {
    let path = binary.hasPrefix("/") ? binary : binaries.appendingPathComponent(binary).path
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    let argv = ([path] + args).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let start = DispatchTime.now()
    guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { fatalError("cannot start \(path)") }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    posix_spawn_file_actions_destroy(&actions)
    guard status == 0 else { fatalError("\(binary) \(args.joined(separator: " ")) failed: \(status)") }
    return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

func check(_ r: (status: Int32, output: String, seconds: Double), _ what: String) {
    guard r.status == 0 else { fatalError("\(what) failed with status \(r.status): \(r.output)") }
}

func pct(_ xs: [Double], _ p: Double) -> Double { xs.sorted()[min(xs.count - 1, Int(Double(xs.count) * p))] }

// A server with a fresh CA.
let data = folder.appendingPathComponent("server")
check(run("gridsync-server", ["init", data.path, "--port", "0"]), "server init")
let server = Process()
server.executableURL = binaries.appendingPathComponent("gridsync-server")
server.arguments = ["serve", "--data", data.path]
let log = data.appendingPathComponent("server.log")
FileManager.default.createFile(atPath: log.path, contents: nil)
server.standardOutput = try FileHandle(forWritingTo: log)
server.standardError = server.standardOutput
try server.run()
defer { server.terminate() }
var port = 0
for _ in 0..<600 where port == 0 {
    usleep(50_000)
    let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on") }) {
        port = Int(line.split(separator: ":").last!)!
    }
}
let url = "https://localhost:\(port)"
let county = "xizang/lhasa/maizhokunggar"

func device(_ name: String, role: String, scope: String) -> String {
    let code = run("gridsync-server", ["enroll", "--data", data.path, "--role", role, "--scope", scope]).output
        .trimmingCharacters(in: .whitespacesAndNewlines)
    let home = folder.appendingPathComponent(name).path
    check(
        run("gridsync", ["init", "--home", home, "--server", url, "--enroll", code, "--ca", data.appendingPathComponent("ca.pem").path]),
        "init \(name)")
    return home
}

/// With --packaged DIR (`scripts/package`'s bin folder): its `gridsync` (static Swift runtime, as
/// a handheld or an office PC runs it), timed alternately with this build's.
let packagedTool = arguments.firstIndex(of: "--packaged").flatMap { i in
    i + 1 < arguments.count ? URL(fileURLWithPath: arguments[i + 1]).appendingPathComponent("gridsync").path : nil
}

/// Median wall time in ms of `readRuns` new `gridsync` processes, this build's and (alternating
/// with it) the packaged one's when given; printed as "N ms" or "N ms (packaged M ms)".
func medianOfRuns(_ args: [String]) -> String {
    var own: [Double] = []
    var packaged: [Double] = []
    for _ in 0..<readRuns {
        own.append(spawnSeconds("gridsync", args) * 1000)
        if let packagedTool { packaged.append(spawnSeconds(packagedTool, args) * 1000) }
    }
    let text = String(format: "%.0f ms", pct(own, 0.5))
    return packaged.isEmpty ? text : text + String(format: " (packaged %.0f ms)", pct(packaged, 0.5))
}

// 1. `gridsync issue report`, each run a new process writing one durable transaction.
if !arguments.contains("--field-only") {
    let worker = device("worker", role: "worker", scope: "\(county)/zhaxigang/v3/g2")
    var reportTimes: [Double] = []
    for n in 0..<runs {
        reportTimes.append(
            spawnSeconds(
                "gridsync",
                ["issue", "report", "--home", worker, "--kind", "hazard", "--title", "电瓶车入户充电 \(n)", "--description", "消防隐患，已提醒住户"]) * 1000)
    }
    let listTimes = (0..<runs).map { _ in spawnSeconds("gridsync", ["issue", "list", "--home", worker]) * 1000 }
    let helpTimes = (0..<runs).map { _ in spawnSeconds("gridsync", ["--help"]) * 1000 }
    print(
        String(
            format: "gridsync issue report: %d runs, wall p50 %.1f ms, p99 %.1f ms (target ≤ 30 ms)", runs, pct(reportTimes, 0.5),
            pct(reportTimes, 0.99)))
    print(String(format: "gridsync issue list:   %d runs, wall p50 %.1f ms, p99 %.1f ms", runs, pct(listTimes, 0.5), pct(listTimes, 0.99)))
    print(
        String(
            format: "gridsync --help:       %d runs, wall p50 %.1f ms (process start, Swift runtime, argument parsing)", runs,
            pct(helpTimes, 0.5)))
    // With --packaged DIR (`scripts/package`'s bin folder): the same `issue report`, alternating
    // between this build and the packaged one (static Swift runtime) in one run.
    if let packaged = packagedTool {
        var dynamic: [Double] = []
        var statically: [Double] = []
        for n in 0..<runs {
            let args = ["issue", "report", "--home", worker, "--kind", "hazard", "--title", "入户充电 \(n)"]
            dynamic.append(spawnSeconds("gridsync", args) * 1000)
            statically.append(spawnSeconds(packaged, args) * 1000)
        }
        let helpDynamic = (0..<runs).map { _ in spawnSeconds("gridsync", ["--help"]) * 1000 }
        let helpStatic = (0..<runs).map { _ in spawnSeconds(packaged, ["--help"]) * 1000 }
        print(
            String(
                format:
                    "issue report, alternating: this build p50 %.1f ms, packaged (static Swift runtime) p50 %.1f ms; --help %.1f vs %.1f ms",
                pct(dynamic, 0.5), pct(statically, 0.5), pct(helpDynamic, 0.5), pct(helpStatic, 0.5)))
    }
}

if !arguments.contains("--field-only") {
    // 2. S7: seed a county into one device's replica, push it, then time a fresh county pull.
    let seeder = device("seeder", role: "county", scope: county)
    var config = Replica.Configuration()
    config.durable = false
    let replica = try Replica(path: seeder + "/replica.sqlite", configuration: config)
    let seedStart = Date()
    let townships = ["zhaxigang", "gyama", "rinchengang", "tangga", "menba", "nyima", "ridoi", "jiarong", "gongkar", "mozhu"]
    var grids: [String] = []
    for g in 0..<gridCount {
        let grid = "\(county)/\(townships[g % townships.count])/v\(g / 30 + 1)/g\(g)"
        grids.append(grid)
        try replica.putGrid(grid, nameZh: "第\(g)网格", nameBo: nil)
    }
    for n in 0..<householdCount {
        try replica.addHousehold(
            grid: grids[n % gridCount],
            HouseholdFields(
                doorPlate: "\(n / 100)村\(n % 100)号", headNameZh: "次仁\(n)", headNameBo: "ཚེ་རིང་། \(n)", members: n % 7 + 1, tags: ["牧户"]))
    }
    for n in 0..<issueCount {
        let issue = try replica.reportIssue(
            IssueReport(grid: grids[n % gridCount], kind: .dispute, title: "草场使用权纠纷 \(n)", dueDate: "2026-12-01"))
        if n % 3 == 0 {
            for kind in [IssueEventKind.dispatched, .accepted, .resolved] { try replica.appendEvent(issueID: issue, kind: kind) }
            try replica.appendEvent(issueID: issue, kind: .followUp, satisfaction: n % 5 + 1)
            try replica.appendEvent(issueID: issue, kind: .closed)
            try replica.appendEvent(issueID: issue, kind: .published)
        } else if n % 3 == 1 {
            try replica.appendEvent(issueID: issue, kind: .escalated, tier: .medium)
        }
    }
    print(
        String(
            format: "seeded %d households and %d issues in %d grids in %.1f s", householdCount, issueCount, gridCount,
            Date().timeIntervalSince(seedStart)))
    let push = run("gridsync", ["sync", "--home", seeder, "--json"])
    check(push, "seeder sync")
    print(String(format: "seeder pushed the county in %.1f s", push.seconds))

    let center = device("county", role: "county", scope: county)
    let pull = run("gridsync", ["sync", "--home", center, "--json"])
    check(pull, "county pull")
    let summary = (try? JSONSerialization.jsonObject(with: Data(pull.output.utf8))) as? [String: Any] ?? [:]
    let bytes = (summary["recordBytesReceived"] as? Int ?? 0) + (summary["recordBytesSent"] as? Int ?? 0)
    print(
        String(
            format: "S7 county pull: %d changes in %d round trips (%d retries), %.1f MiB, wall %.2f s (target ≤ 10 s)",
            summary["pulled"] as? Int ?? 0, summary["rounds"] as? Int ?? 0, summary["retries"] as? Int ?? 0, Double(bytes) / 1_048_576,
            pull.seconds))
    let report = run("gridsync", ["report", "--home", center, "--from", "2020-01-01", "--to", "2099-12-31"])
    check(report, "county report")
    let reportTimes = medianOfRuns(["report", "--home", center, "--from", "2020-01-01", "--to", "2099-12-31"])
    print(
        String(
            format: "county report over %d issues: wall %.0f ms first, median of %d more %@ (target ≤ 150 ms)", issueCount,
            report.seconds * 1000, readRuns, reportTimes))
    print(report.output.split(separator: "\n").prefix(2).joined(separator: "\n"))
    let export = run(
        "gridsync", ["export", "--home", center, "--format", "csv", "--bom", "--out", folder.appendingPathComponent("export").path])
    check(export, "county export")
    print(String(format: "county CSV export: wall %.2f s", export.seconds))
    // Reading at county size: a grid's register, a township's, and searches (the first one also
    // indexes every record that arrived with the pull).
    let reads: [(String, [String])] = [
        ("household list of one grid (200 households)", ["household", "list", "--grid", grids[0]]),
        ("household list of one township (6,000 households)", ["household", "list", "--grid", "\(county)/zhaxigang", "--limit", "10000"]),
        ("first search (indexes the pulled records)", ["search", "次仁12345"]),
        ("search in Chinese", ["search", "次仁12346"]),
        ("search in Tibetan", ["search", "ཚེ་རིང་། 2345"]),
        ("issue show with events", ["issue", "show", (try? replica.issues().first?.id) ?? ""]),
    ]
    for (label, arguments) in reads {
        let r = run("gridsync", arguments + ["--home", center])
        check(r, label)
        let times = medianOfRuns(arguments + ["--home", center])
        print(String(format: "county replica, %@: wall %.0f ms first, median of %d more %@", label, r.seconds * 1000, readRuns, times))
    }
    try dashboardTimings(center: center, issue: (try? replica.issues().first?.id) ?? "")
}

/// The county dashboard's pages as curl fetches them: the server's time (from the request sent to
/// the first byte of the answer), median of 7 fetches after one warm-up.
func dashboardTimings(center: String, issue: String) throws {
    let p = Process()
    p.executableURL = binaries.appendingPathComponent("gridsync")
    p.arguments = ["dashboard", "--home", center, "--port", "0"]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    defer { p.terminate(); p.waitUntilExit() }
    var line = ""
    while !line.contains("\n") {
        let chunk = out.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        line += String(decoding: chunk, as: UTF8.self)
    }
    guard let start = line.range(of: "http://") else { fatalError("no dashboard: \(line)") }
    let base = line[start.lowerBound...].trimmingCharacters(in: .whitespacesAndNewlines)
    let period = "from=2020-01-01&to=2099-12-31"
    for (label, path, target) in [
        ("overview page (county, 10 townships)", "?\(period)", 300.0), ("issue page", "issue/\(issue)", 50),
        ("issue list filtered (overdue, medium tier)", "issues?\(period)&overdue=1&tier=medium", 100),
        ("issue list searched (Chinese)", "issues?\(period)&q=%E8%8D%89%E5%9C%BA%E4%BD%BF%E7%94%A8", 100),
        ("results board (closed issues)", "board?\(period)", 300),
    ] {
        var times: [Double] = []
        var bytes = 0
        for _ in 0..<8 {
            let c = Process()
            c.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            c.arguments = [
                "-s", "--noproxy", "*", "-o", "/dev/null", "-w", "%{http_code} %{time_pretransfer} %{time_starttransfer} %{size_download}",
                base + path,
            ]
            let o = Pipe()
            c.standardOutput = o
            try c.run()
            let text = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ")
            c.waitUntilExit()
            guard text.count == 4, text[0] == "200", let a = Double(text[1]), let b = Double(text[2]) else {
                fatalError("\(label): \(text)")
            }
            times.append((b - a) * 1000)
            bytes = Int(text[3]) ?? 0
        }
        print(
            String(
                format: "dashboard %@: server %.0f ms median (target ≤ %.0f ms), %d KiB", label, pct(Array(times.dropFirst()), 0.5), target,
                bytes / 1024))
    }
}

if arguments.contains("--field") || arguments.contains("--field-only") {
    try fieldFigures()
}
