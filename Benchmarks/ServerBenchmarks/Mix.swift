import AsyncHTTPClient
import Foundation
import NIOCore
import SyncCore

// Realistic mix (`--mix`): a county's morning sync, as the field has it, instead of one device
// per grid pushing only new rows.
// - 2, 3 or 4 devices per grid (3 on average), each a real replica (in memory) driven by the
//   device's own `SyncSession`, enrolled with its replica's site.
// - Before the clock starts, each grid's first device records the grid's register (households
//   and issues) and sends it; every device of the grid pulls it. Then every device records its
//   morning offline: new households, a new issue with its report, visits on existing issues, edits
//   of existing households and issues (about a third of the changes; devices of a grid edit
//   overlapping rows, so the server records conflicts), and on one device in ten a photo.
// - Timed: every device syncs at once (its push and a pull of what the others had sent by then,
//   page after page while the server says more waits), and uploads its photo. `--county N` county
//   devices (default 4) pull the whole county all along the burst. The burst's time ends when the
//   last device is done; the county's catch-up after it is reported on its own.
// Prints one JSON line: changes pushed per second, sync p50/p99 (every request of the devices),
// photo uploads, the county pulls, conflicts recorded, the server's CPU time per change, and, with
// `perf` on the machine, the share of the server's CPU spent inside SQLite.

/// One simulated handheld: its replica and its session with the server.
struct MixDevice: @unchecked Sendable {
    var replica: Replica
    var session: SyncSession
    var credential: String
    var grid: String
    /// The photo it took this morning (one device in ten).
    var photo: [UInt8]?
}

/// Sends one request of `session` and takes in the answer as the device does; returns the answer.
@discardableResult
func exchange(_ device: MixDevice, _ request: SyncRequest) async throws -> SyncResponse {
    let (status, answer) = try await post(
        "/v1/sync", SyncMessageCoding.encode(request),
        [
            ("Authorization", "Bearer \(device.credential)"), ("Content-Type", "application/x-gridsync"),
            (PeerVersions.header, PeerVersions.current.description),
        ])
    guard status == 200 else { throw MixFailure("sync \(status): \(String(decoding: answer.prefix(300), as: UTF8.self))") }
    return try SyncMessageCoding.decodeResponse(answer)
}

/// Syncs `device` until its session needs no other round (not timed: setup).
func syncFully(_ device: MixDevice) async throws {
    for _ in 0..<1000 {
        let request = try device.session.nextRequest()
        let response = try await exchange(device, request)
        let outcome = try device.session.handle(response, wallMillis: UInt64(Date().timeIntervalSince1970 * 1000))
        guard outcome.rejections.isEmpty else { throw MixFailure("refused in setup: \(outcome.rejections.prefix(2))") }
        if !outcome.needsAnotherRound { return }
    }
    throw MixFailure("setup sync did not finish")
}

struct MixFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Figures of the burst, shared by the device tasks.
actor MixFigures {
    var syncLatencies: [Double] = []
    var countyLatencies: [Double] = []
    var photoLatencies: [Double] = []
    var pushed = 0
    var edits = 0
    var pulledByDevices = 0
    var pulledByCounty = 0
    var photoBytes = 0
    var errors: [String] = []
    var devicesDone = 0
    var lastDeviceDone: ContinuousClock.Instant?

    func sync(_ seconds: Double, pushed: Int = 0, pulled: Int) {
        syncLatencies.append(seconds)
        self.pushed += pushed
        pulledByDevices += pulled
    }
    func county(_ seconds: Double, pulled: Int) {
        countyLatencies.append(seconds)
        pulledByCounty += pulled
    }
    func photo(_ seconds: Double, bytes: Int) {
        photoLatencies.append(seconds)
        photoBytes += bytes
    }
    func edited(_ n: Int) { edits += n }
    func failed(_ message: String) { if errors.count < 5 { errors.append(message) } }
    func deviceDone() {
        devicesDone += 1
        lastDeviceDone = ContinuousClock.now
    }
}

/// CPU seconds (user + system) process `pid` has used so far.
func cpuSeconds(_ pid: Int32) -> Double {
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    // Fields after the command name, which is in parentheses and may hold spaces.
    guard let close = stat.lastIndex(of: ")") else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func realisticMix(devices deviceCount: Int, countyDevices: Int, changesPerDevice: Int) async throws -> [String: Any] {
    guard deviceCount >= 2, countyDevices >= 1 else { throw MixFailure("--mix needs --devices 2 or more and --county 1 or more") }
    // Grids of 2, 3 and 4 devices in turn, until there are enough devices.
    var gridSizes: [Int] = []
    while gridSizes.reduce(0, +) < deviceCount { gridSizes.append(2 + gridSizes.count % 3) }
    gridSizes[gridSizes.count - 1] -= gridSizes.reduce(0, +) - deviceCount
    if gridSizes.last! < 1 { gridSizes.removeLast() }
    let gridCount = gridSizes.count
    let maxPerGrid = gridSizes.max()!
    // One code per grid and pass; pass k enrolls the k-th device of every grid.
    var codes: [[String]] = []
    for _ in 0..<maxPerGrid {
        codes.append(
            try run(["enroll", "--data", folder.path, "--scope", "\(county)/zhaxigang/v1/g{n}", "--count", String(gridCount)])
                .split(separator: "\n").map(String.init))
    }
    let countyCodes = try run(["enroll", "--data", folder.path, "--scope", county, "--role", "county", "--count", String(countyDevices)])
        .split(separator: "\n").map(String.init)

    let url = "https://localhost:\(port)"
    func enroll(_ code: String, grid: String) async throws -> MixDevice {
        let replica = try Replica(path: nil)
        let body = try JSONSerialization.data(withJSONObject: ["code": code, "site": replica.site.hex])
        let (status, answer) = try await post("/v1/enroll", Array(body), [("Content-Type", "application/json")])
        guard status == 200, let json = try JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any],
            let credential = json["credential"] as? String
        else { throw MixFailure("enroll \(status)") }
        return MixDevice(replica: replica, session: SyncSession(replica: replica, peer: url), credential: credential, grid: grid)
    }
    var grids: [[MixDevice]] = []
    for g in 0..<gridCount {
        let grid = "\(county)/zhaxigang/v1/g\(g + 1)"
        var members: [MixDevice] = []
        for k in 0..<gridSizes[g] { members.append(try await enroll(codes[k][g], grid: grid)) }
        grids.append(members)
    }
    var countyDevicesList: [MixDevice] = []
    for code in countyCodes { countyDevicesList.append(try await enroll(code, grid: county)) }

    // The register each grid already has: 8 households and 3 issues, sent by its first device and
    // pulled by the others (setup, not timed).
    let started = Date()
    var seeds: [[(households: [String], issues: [String])]] = []
    for members in grids {
        let first = members[0]
        var households: [String] = []
        for n in 0..<8 {
            households.append(
                try first.replica.addHousehold(
                    grid: first.grid,
                    HouseholdFields(
                        doorPlate: "3村\(n + 1)号", headNameZh: "次仁\(n)", headNameBo: "ཚེ་རིང་། \(n)", members: n % 6 + 1,
                        phone: "0891-\(6_000_000 + n)", tags: ["牧户"])))
        }
        var issues: [String] = []
        for n in 0..<3 {
            issues.append(
                try first.replica.reportIssue(
                    IssueReport(
                        grid: first.grid, kind: n == 0 ? .dispute : .hazard, title: n == 0 ? "草场使用权纠纷" : "电瓶车入户充电 \(n)",
                        description: "入户走访时发现", householdID: households[n], dueDate: "2026-12-20")))
        }
        try await syncFully(first)
        seeds.append([(households, issues)])
    }
    for members in grids { for d in members.dropFirst() { try await syncFully(d) } }
    for d in countyDevicesList { try await syncFully(d) }
    note("registers sent and pulled")

    // Each device's morning, recorded offline (setup, not timed). About a third of the changes edit
    // rows that exist; device k of a grid edits households k to k+5 of the grid's register and issues
    // k and k+1, so neighbours' edits overlap.
    let figures = MixFigures()
    var photoCount = 0
    var deviceIndex = 0
    for (g, members) in grids.enumerated() {
        let (households, issues) = seeds[g][0]
        for (k, var d) in members.enumerated() {
            let r = d.replica
            var edits = 0
            for i in 0..<6 {
                try r.editHousehold(
                    households[(k + i) % households.count],
                    HouseholdFields(members: (k + i) % 7 + 1, notes: "回访：\(k) 号设备记录，电瓶车已移出"))
                edits += 2
            }
            for i in 0..<2 {
                try r.editIssue(
                    issues[(k + i) % issues.count], IssueFields(description: "已联系双方，约定下周调解（设备 \(k)）", dueDate: "2026-12-2\(k)"))
                edits += 2
            }
            _ = try r.appendEvent(issueID: issues[(k + 1) % issues.count], kind: .visit, note: "第\(k + 1)次走访")
            // New records fill the rest of the device's share.
            var n = 0
            let acknowledged = try r.peerCursor(url).acknowledged
            while try r.pendingOwnChanges(after: acknowledged) < changesPerDevice {
                if n % 3 == 2 {
                    let issue = try r.reportIssue(
                        IssueReport(grid: d.grid, kind: .hazard, title: "消防隐患 \(deviceIndex)-\(n)", description: "柴草堆放靠近炉灶"))
                    if n == 2 && deviceIndex % 10 == 0 {
                        var bytes = [UInt8](repeating: 0, count: 96 * 1024)
                        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: (i &* 2_654_435_761) >> 13 &+ deviceIndex) }
                        bytes[0] = 0xff
                        bytes[1] = 0xd8
                        // Each device's photo its own (a photo the server holds already costs no upload).
                        for k in 0..<4 { bytes[2 + k] = UInt8(truncatingIfNeeded: deviceIndex >> (8 * k)) }
                        _ = try r.attachPhoto(
                            to: .issue, id: issue, sha256: BlobStore.sha256(bytes), byteCount: bytes.count, caption: "现场照片")
                        d.photo = bytes
                        photoCount += 1
                    }
                } else {
                    _ = try r.addHousehold(
                        grid: d.grid,
                        HouseholdFields(
                            doorPlate: "4村\(deviceIndex)-\(n)号", headNameZh: "卓玛\(n)", headNameBo: "སྒྲོལ་མ། \(n)", members: n % 5 + 1,
                            tags: ["牧户"]))
                }
                n += 1
            }
            await figures.edited(edits)
            grids[g][k] = d
            deviceIndex += 1
        }
    }
    let setupSeconds = Date().timeIntervalSince(started)
    note("mornings recorded")
    // Every device's first request, encoded before the clock starts (a device's own work).
    var firstRequests: [[SyncRequest]] = []
    for members in grids { firstRequests.append(try members.map { try $0.session.nextRequest() }) }
    let countyCursors = try countyDevicesList.map { try $0.replica.peerCursor(url).pulled }

    // The server's CPU, sampled by perf if this machine has it.
    let perfData = folder.appendingPathComponent("server.perf").path
    // System-wide, the report keeping the server's samples.
    var perfPID: pid_t = 0
    let profiling =
        !CommandLine.arguments.contains("--no-profile") && FileManager.default.isExecutableFile(atPath: "/usr/bin/perf")
        && spawn(["/usr/bin/perf", "record", "-a", "-g", "-F", "499", "-o", perfData, "--quiet"], pid: &perfPID)
    if profiling { try await Task.sleep(nanoseconds: 300_000_000) }

    note("burst")
    let serverCPUBefore = servers.reduce(0) { $0 + cpuSeconds($1.processIdentifier) }
    let databaseCPUBefore = database == nil ? 0 : databaseCPUSeconds()
    let ownCPUBefore = cpuSeconds(getpid())
    let proxyCPUBefore = haproxy.isRunning ? cpuSeconds(haproxy.processIdentifier) : 0
    let start = ContinuousClock.now
    let workers = grids.reduce(0) { $0 + $1.count }
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (g, members) in grids.enumerated() {
            for (k, d) in members.enumerated() {
                let first = firstRequests[g][k]
                group.addTask {
                    do {
                        // The push, and a pull of what the others have sent so far.
                        var t0 = ContinuousClock.now
                        var response = try await exchange(d, first)
                        guard response.rejections.isEmpty, response.receipt == first.pushThrough else {
                            throw MixFailure("push refused: \(response.rejections.prefix(2)), receipt \(response.receipt)")
                        }
                        await figures.sync(seconds(since: t0), pushed: first.changes.changeCount, pulled: response.changes.changeCount)
                        // Then pulls until nothing is left, as the device's sync does.
                        var cursor = response.cursor
                        while response.hasMore {
                            t0 = ContinuousClock.now
                            response = try await exchange(
                                d,
                                SyncRequest(pullCursor: cursor, pushThrough: first.pushThrough, maxPullChanges: 5000, changes: Changeset()))
                            await figures.sync(seconds(since: t0), pulled: response.changes.changeCount)
                            cursor = response.cursor
                        }
                        if let photo = d.photo {
                            t0 = ContinuousClock.now
                            let (status, answer) = try await put(
                                "/v1/photos/\(BlobStore.sha256(photo))?offset=0&total=\(photo.count)", photo, credential: d.credential)
                            guard status == 200 else { throw MixFailure("photo \(status): \(String(decoding: answer, as: UTF8.self))") }
                            await figures.photo(seconds(since: t0), bytes: photo.count)
                        }
                    } catch {
                        await figures.failed("\(error)")
                    }
                    await figures.deviceDone()
                }
            }
        }
        // The county center pulls all along the burst, then once more at its end.
        for (c, d) in countyDevicesList.enumerated() {
            let startCursor = countyCursors[c]
            group.addTask {
                var cursor = startCursor
                var finishing = false
                do {
                    while true {
                        let t0 = ContinuousClock.now
                        let response = try await exchange(
                            d, SyncRequest(pullCursor: cursor, pushThrough: 0, maxPullChanges: 5000, changes: Changeset()))
                        await figures.county(seconds(since: t0), pulled: response.changes.changeCount)
                        cursor = response.cursor
                        if response.hasMore { continue }
                        if finishing { break }
                        if await figures.devicesDone == workers { finishing = true } else { try await Task.sleep(nanoseconds: 200_000_000) }
                    }
                } catch {
                    await figures.failed("county: \(error)")
                }
            }
        }
        try await group.waitForAll()
    }
    let drained = seconds(since: start)
    let wall =
        await figures.lastDeviceDone.map { d -> Double in
            let s = d - start
            return Double(s.components.seconds) + Double(s.components.attoseconds) / 1e18
        } ?? drained
    let serverCPU = servers.reduce(0) { $0 + cpuSeconds($1.processIdentifier) } - serverCPUBefore
    let databaseCPU = database == nil ? 0 : databaseCPUSeconds() - databaseCPUBefore
    let ownCPU = cpuSeconds(getpid()) - ownCPUBefore
    let proxyCPU = haproxy.isRunning ? cpuSeconds(haproxy.processIdentifier) - proxyCPUBefore : 0
    var sqliteShare: Double?
    if profiling {
        kill(perfPID, SIGINT)
        var status: Int32 = 0
        waitpid(perfPID, &status, 0)
        sqliteShare = sqliteShareOfSamples(perfData, pid: server.processIdentifier)
        // `--keep-profile PATH`: keep perf's samples for `perf report -i PATH --pid <server_pid>`.
        if let i = CommandLine.arguments.firstIndex(of: "--keep-profile"), i + 1 < CommandLine.arguments.count {
            try? FileManager.default.copyItem(atPath: perfData, toPath: CommandLine.arguments[i + 1])
        }
    }

    let syncs = await figures.syncLatencies.sorted()
    let countyPulls = await figures.countyLatencies.sorted()
    let photos = await figures.photoLatencies.sorted()
    let pushed = await figures.pushed
    var record: [String: Any] = [
        "benchmark": "server_load_mix", "devices": workers, "grids": gridCount, "county_devices": countyDevicesList.count,
        "changes_pushed": pushed, "edit_changes": await figures.edits, "changes_per_s": Double(pushed) / wall, "wall_seconds": wall,
        "county_caught_up_seconds": drained,
        "setup_seconds": setupSeconds, "syncs": syncs.count, "sync_p50_ms": percentile(syncs, 0.5), "sync_p99_ms": percentile(syncs, 0.99),
        "pulled_by_devices": await figures.pulledByDevices, "county_pulls": countyPulls.count,
        "county_pulled": await figures.pulledByCounty, "county_pull_p50_ms": percentile(countyPulls, 0.5),
        "county_pull_p99_ms": percentile(countyPulls, 0.99), "photos": photos.count, "photo_bytes": await figures.photoBytes,
        "photo_p50_ms": percentile(photos, 0.5), "photo_p99_ms": percentile(photos, 0.99),
        "server_cpu_s": serverCPU, "server_cpu_us_per_change": serverCPU / Double(max(1, pushed)) * 1e6,
        "load_generator_cpu_s": ownCPU, "conflicts_recorded": conflictsRecorded(), "errors": await figures.errors,
        "target_changes_per_s": 50_000, "target_p99_ms": 500, "server_pid": server.processIdentifier,
    ]
    if let sqliteShare, database == nil { record["server_cpu_share_in_sqlite"] = sqliteShare }
    if database != nil {
        // PostgreSQL's own processes: its share of the CPU the servers and the database used.
        record["store"] = "postgresql"
        record["servers"] = servers.count
        record["database_cpu_s"] = databaseCPU
        record["database_cpu_us_per_change"] = databaseCPU / Double(max(1, pushed)) * 1e6
        record["database_cpu_share"] = databaseCPU / max(1e-9, databaseCPU + serverCPU)
        if servers.count > 1 { record["haproxy_cpu_s"] = proxyCPU }
    } else {
        record["store"] = "sqlite"
    }
    if photoCount != photos.count { record["photos_expected"] = photoCount }
    return record
}

/// Starts `arguments` (a full path first) with /dev/null as its output; false if it cannot start.
func spawn(_ arguments: [String], pid: inout pid_t) -> Bool {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    // SIGINT stops it: not ignored (as in a program started in the background).
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var signals = sigset_t()
    sigemptyset(&signals)
    sigaddset(&signals, SIGINT)
    posix_spawnattr_setsigdefault(&attributes, &signals)
    // Nor blocked: the thread spawning it blocks most signals (Dispatch's threads do).
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    var argv = arguments.map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    return posix_spawn(&pid, arguments[0], &actions, &attributes, &argv, environ) == 0
}

func note(_ text: String) { FileHandle.standardError.write(Data("\(text)\n".utf8)) }

/// Sends a photo's bytes (one chunk) as the device's upload does.
func put(_ path: String, _ body: [UInt8], credential: String) async throws -> (Int, [UInt8]) {
    var request = HTTPClientRequest(url: "https://localhost:\(port)\(path)")
    request.method = .PUT
    request.headers.add(name: "Authorization", value: "Bearer \(credential)")
    request.headers.add(name: PeerVersions.header, value: PeerVersions.current.description)
    request.body = .bytes(ByteBuffer(bytes: body))
    let response = try await client.execute(request, timeout: .seconds(120))
    return (Int(response.status.code), Array(buffer: try await response.body.collect(upTo: 1 << 20)))
}

/// CPU seconds of every PostgreSQL process on this machine (the server and its backends).
func databaseCPUSeconds() -> Double {
    let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
    return pids.reduce(0) { total, pid in
        let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
        return comm.hasPrefix("postgres") ? total + cpuSeconds(pid) : total
    }
}

/// A free TCP port on loopback.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw MixFailure("no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Conflicts the server recorded (its store, read after the burst).
func conflictsRecorded() -> Int {
    let p = Process()
    if let database {
        p.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        p.arguments = [database, "-Atc", "SELECT count(*) FROM conflicts"]
    } else {
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        p.arguments = [folder.appendingPathComponent("store.sqlite").path, "SELECT count(*) FROM conflicts"]
    }
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return -1 }
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
}

/// The share of perf's samples of the server that fell in SQLite's library.
func sqliteShareOfSamples(_ path: String, pid: Int32) -> Double? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/perf")
    p.arguments = [
        "report", "-i", path, "--pid", String(pid), "--sort", "dso", "--stdio", "--percentage", "relative", "--percent-limit", "0",
    ]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return nil }
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    for line in text.split(separator: "\n") where line.contains("libsqlite3") {
        if let percent = line.split(separator: " ").first(where: { $0.hasSuffix("%") }) {
            return Double(percent.dropLast()).map { $0 / 100 }
        }
    }
    return nil
}
