import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import SyncCore

// gridsync-loadtest: N simulated devices (default 1,000), each enrolled with its own grid, push
// 50 changes and pull, all at once, over TLS against one `gridsync-server` process on loopback.
// Prints JSON: changes/s, sync latency p50/p99, server peak memory.
//
//   swift build -c release && .build/release/gridsync-loadtest [--devices N] [--changes 50] [--server PATH]
//   [--pause S] (wait S seconds after enrolling, e.g. to attach a profiler to the printed server pid)
//   [--duration S [--interval 2]]: soak instead of a burst; see Soak.swift.
//   [--mix [--county 4]]: the realistic mix instead (2-4 devices per grid, edits, pulls, photos,
//   county pulls during the burst); see Mix.swift.
//   [--store postgres://USER@HOST:PORT/DB [--servers N]]: the records in PostgreSQL (an empty
//   database), served by N servers behind haproxy (/usr/sbin/haproxy) when N > 1.

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: String) -> String {
    arguments.firstIndex(of: name).map { arguments[$0 + 1] } ?? fallback
}
let deviceCount = Int(option("--devices", "1000"))!
let changesPerDevice = Int(option("--changes", "50"))!
/// Soak mode: devices sync again and again for this many seconds (see `Soak.swift`).
let soakSeconds = Double(option("--duration", "0"))!
let mix = arguments.contains("--mix")
let binaries = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
let serverBinary = option("--server", binaries.appendingPathComponent("gridsync-server").path)
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-load-\(UUID().uuidString.prefix(8))")
defer { try? FileManager.default.removeItem(at: folder) }

@discardableResult
func run(_ args: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: serverBinary)
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { fatalError("gridsync-server \(args.first ?? "") failed") }
    return String(decoding: data, as: UTF8.self)
}

let county = "xizang/lhasa/maizhokunggar"
/// The PostgreSQL database holding the records (`--store`), or nil for the data folder's SQLite.
let database = arguments.contains("--store") ? option("--store", "") : nil
let serverCount = database == nil ? 1 : max(1, Int(option("--servers", "1"))!)
try run(["init", folder.path, "--port", "0"] + (database.map { ["--store", $0] } ?? []))
// Further servers share the database, the CA and the server's key.
var folders = [folder]
for n in 1..<serverCount {
    let more = folder.appendingPathExtension("\(n)")
    try run([
        "init", more.path, "--port", "0", "--store", database!, "--certificate", folder.appendingPathComponent("server.pem").path,
        "--key", folder.appendingPathComponent("server-key.pem").path, "--ca", folder.appendingPathComponent("ca.pem").path,
    ])
    folders.append(more)
}
defer { for more in folders.dropFirst() { try? FileManager.default.removeItem(at: more) } }
// One grid per device, as in the field: `{n}` becomes 1, 2, 3, … In soak mode two devices share
// each grid, so that every sync also pulls what the other one wrote.
let grids = soakSeconds > 0 ? (deviceCount + 1) / 2 : deviceCount
var codes: [String] = []
while !mix && codes.count < deviceCount {
    codes += try run(["enroll", "--data", folder.path, "--scope", "\(county)/zhaxigang/v1/g{n}", "--count", String(grids)])
        .split(separator: "\n").map(String.init)
}
codes = Array(codes.prefix(deviceCount))

/// Starts `gridsync-server serve` on `data`; returns the process and its port.
func serve(_ data: URL) throws -> (Process, Int) {
    let server = Process()
    server.executableURL = URL(fileURLWithPath: serverBinary)
    server.arguments = ["serve", "--data", data.path]
    let serverOut = Pipe()
    server.standardOutput = serverOut
    server.standardError = FileHandle.nullDevice
    try server.run()
    var banner = ""
    while !banner.split(separator: "\n").contains(where: { $0.hasPrefix("listening on") }) {
        let chunk = serverOut.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        banner += String(decoding: chunk, as: UTF8.self)
    }
    return (server, Int(banner.split(separator: "\n").first { $0.hasPrefix("listening on") }!.split(separator: ":").last!)!)
}
let serverFolders = folders
let started = try serverFolders.map(serve)
let servers = started.map(\.0)
let server = servers[0]
defer { for s in servers { s.terminate() } }
/// The port devices talk to: the server's, or haproxy's in front of several.
let port: Int
let haproxy = Process()
if serverCount > 1 {
    let front = try freeLoopbackPort()
    var config = [
        "global", "    maxconn 8192", "defaults", "    mode tcp", "    timeout connect 2s", "    timeout client 300s",
        "    timeout server 300s", "frontend gridsync", "    bind 127.0.0.1:\(front)", "    default_backend servers", "backend servers",
        "    balance roundrobin", "    option httpchk GET /health", "    http-check expect status 200",
    ]
    for (n, s) in started.enumerated() { config.append("    server s\(n + 1) 127.0.0.1:\(s.1) check check-ssl verify none inter 1s") }
    let path = folder.appendingPathComponent("haproxy.cfg")
    try (config.joined(separator: "\n") + "\n").write(to: path, atomically: true, encoding: .utf8)
    haproxy.executableURL = URL(fileURLWithPath: option("--haproxy", "/usr/sbin/haproxy"))
    haproxy.arguments = ["-db", "-f", path.path]
    haproxy.standardOutput = FileHandle.nullDevice
    haproxy.standardError = FileHandle.nullDevice
    try haproxy.run()
    try await Task.sleep(for: .seconds(2))  // its first health checks
    port = front
} else {
    port = started[0].1
}
/// Stops every server and haproxy.
func stopServers() {
    for s in servers where s.isRunning { s.terminate() }
    if haproxy.isRunning { haproxy.terminate() }
    for data in serverFolders { try? FileManager.default.removeItem(at: data) }
}
defer { stopServers() }

var tls = TLSConfiguration.makeClientConfiguration()
tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(folder.appendingPathComponent("ca.pem").path))
var clientConfig = HTTPClient.Configuration(tlsConfiguration: tls)
clientConfig.connectionPool = .init(
    idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: Int(option("--connections", "64"))!)
clientConfig.timeout = .init(connect: .seconds(300), read: .seconds(300))
let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfig)

func post(_ path: String, _ body: [UInt8], _ headers: [(String, String)]) async throws -> (Int, [UInt8]) {
    var request = HTTPClientRequest(url: "https://localhost:\(port)\(path)")
    request.method = .POST
    for (k, v) in headers { request.headers.add(name: k, value: v) }
    request.body = .bytes(ByteBuffer(bytes: body))
    let response = try await client.execute(request, timeout: .seconds(120))
    return (Int(response.status.code), Array(buffer: try await response.body.collect(upTo: 64 << 20)))
}

if mix {
    let record = try await realisticMix(
        devices: deviceCount, countyDevices: Int(option("--county", "4"))!, changesPerDevice: changesPerDevice)
    try await client.shutdown() as Void
    print(String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self))
    stopServers()  // `exit` runs no `defer`
    exit((record["errors"] as? [String])?.isEmpty == true ? 0 : 1)
}

struct SimulatedDevice {
    var site: SiteID
    var grid: String
    var credential = ""
}

// Enroll every device (not timed).
var devices: [SimulatedDevice] = []
for (n, code) in codes.enumerated() {
    var d = SimulatedDevice(site: .random(), grid: "\(county)/zhaxigang/v1/g\(n % grids + 1)")
    let body = try JSONSerialization.data(withJSONObject: ["code": code, "site": d.site.hex])
    let (status, answer) = try await post("/v1/enroll", Array(body), [("Content-Type", "application/json")])
    guard status == 200, let json = try JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any] else {
        fatalError("enroll \(status)")
    }
    d.credential = json["credential"] as! String
    devices.append(d)
}

/// A device's day: households with 5 fields each, stamped now.
func changes(for device: SimulatedDevice) -> Changeset {
    let now = HLCTimestamp(millis: UInt64(Date().timeIntervalSince1970 * 1000), counter: 0)
    let version = Version(timestamp: now, site: device.site)
    var rows: [RowChanges] = []
    var left = changesPerDevice
    var k = 0
    while left > 0 {
        let fields: [(String, Value)] = [
            ("door_plate", .text("\(k + 1)号")), ("head_name_zh", .text("扎西")), ("head_name_bo", .text("བཀྲ་ཤིས།")),
            ("members", .integer(Int64(k % 7 + 1))), ("notes", .text("电瓶车入户充电 \(k)")),
        ].prefix(left).map { $0 }
        rows.append(
            RowChanges(
                table: "households", rowID: UUID().uuidString.lowercased(), grid: device.grid,
                changes: fields.map { ColumnChange(column: $0.0, value: $0.1, version: version, base: nil) }))
        left -= fields.count
        k += 1
    }
    return Changeset(rows: rows)
}

FileHandle.standardError.write(Data("enrolled \(devices.count) devices; server pid \(server.processIdentifier); syncing\n".utf8))
if let pause = Double(option("--pause", "0")), pause > 0 { try await Task.sleep(nanoseconds: UInt64(pause * 1e9)) }
if soakSeconds > 0 {
    let record = try await soak(
        devices, seconds: soakSeconds, interval: Double(option("--interval", "2"))!, changes: changesPerDevice,
        serverPID: server.processIdentifier)
    try await client.shutdown() as Void
    print(String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self))
    stopServers()
    exit(record["errors"] as? Int == 0 ? 0 : 1)
}
// Each device's request is encoded before the clock starts: on a real device that work is the
// device's, and here it would take the server's cores.
let bodies = devices.map { device in
    SyncMessageCoding.encode(
        SyncRequest(pullCursor: 0, pushThrough: Int64(changesPerDevice), maxPullChanges: 0, changes: changes(for: device)))
}
let memoryBefore = peakMemoryKiB(server.processIdentifier)
let start = ContinuousClock.now
let latencies = try await withThrowingTaskGroup(of: Double.self) { group in
    for (device, body) in zip(devices, bodies) {
        group.addTask {
            let t0 = ContinuousClock.now
            let (status, body) = try await post(
                "/v1/sync", body,
                [("Authorization", "Bearer \(device.credential)"), ("Content-Type", "application/x-gridsync")])
            let elapsed = ContinuousClock.now - t0
            guard status == 200 else { fatalError("sync \(status): \(String(decoding: body, as: UTF8.self))") }
            let response = try SyncMessageCoding.decodeResponse(body)
            guard response.rejections.isEmpty, response.receipt == Int64(changesPerDevice) else {
                fatalError("rejected: \(response.rejections.prefix(2))")
            }
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
    }
    var all: [Double] = []
    for try await l in group { all.append(l) }
    return all.sorted()
}
let total = ContinuousClock.now - start
let seconds = Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18
let peak = peakMemoryKiB(server.processIdentifier)
try await client.shutdown() as Void

func peakMemoryKiB(_ pid: Int32) -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
}

func pct(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] * 1000 }
let record: [String: Any] = [
    "benchmark": "server_load", "devices": deviceCount, "changes_per_device": changesPerDevice,
    "changes_per_s": Double(deviceCount * changesPerDevice) / seconds, "wall_seconds": seconds,
    "sync_p50_ms": pct(0.5), "sync_p99_ms": pct(0.99), "server_peak_rss_mib": Double(peak) / 1024,
    "server_rss_before_mib": Double(memoryBefore) / 1024, "target_changes_per_s": 10_000, "target_p99_ms": 1000,
]
print(String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self))
