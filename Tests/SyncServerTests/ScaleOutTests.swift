import Foundation
import PostgresFixture
import SyncCore
import Synchronization
import Testing

/// Several servers on one PostgreSQL database behind haproxy (Debian's package, TCP mode, TLS
/// ending at the servers, health checks on `/health`): devices sync through haproxy while one
/// server is killed with SIGKILL in the middle of a burst and another later. Every device finishes
/// (retrying through the others), no acknowledged change is lost or doubled, receipts are right,
/// and all replicas converge.
@Suite(.serialized) struct ScaleOutTests {
    static let county = "xizang/lhasa/maizhokunggar"
    static let grids = (1...3).map { "xizang/lhasa/maizhokunggar/zhaxigang/v1/g\($0)" }

    /// Three servers sharing `postgres`, the first's CA and key, and a photos folder; returns them serving.
    static func servers(_ postgres: TemporaryPostgres) throws -> [LiveServer] {
        let photos = postgres.folder.appendingPathComponent("photos").path
        let first = try LiveServer(extraInit: ["--store", postgres.address, "--photos", photos])
        var servers = [first]
        for _ in 1..<3 {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-server-\(UUID().uuidString.prefix(8))")
            let made = try LiveServer.run([
                "init", folder.path, "--port", "0", "--store", postgres.address, "--photos", photos,
                "--certificate", first.folder.appendingPathComponent("server.pem").path,
                "--key", first.folder.appendingPathComponent("server-key.pem").path,
                "--ca", first.folder.appendingPathComponent("ca.pem").path,
            ])
            guard made.status == 0 else { throw ServerTestError.setup(made.output) }
            servers.append(try LiveServer(serving: folder))
        }
        return servers
    }

    /// haproxy in front of `servers`: round robin, a server out after two failed checks.
    static func haproxy(_ servers: [LiveServer]) throws -> LiveServer {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-haproxy-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let port = try TemporaryPostgres.freePort()
        let config = HAProxyConfig.text(port: port, servers: servers.map(\.port))
        let path = folder.appendingPathComponent("haproxy.cfg")
        try config.write(to: path, atomically: true, encoding: .utf8)
        return try LiveServer(
            front: "/usr/sbin/haproxy", arguments: ["-db", "-f", path.path], port: port, folder: folder,
            ca: servers[0].folder.appendingPathComponent("ca.pem"))
    }

    /// Syncs `device` until it succeeds: a connection cut by a dying server is tried again, as a
    /// device in the field does.
    static func syncRetrying(_ device: TestDevice, attempts: Int = 60) async throws -> Int {
        var failures = 0
        while true {
            do {
                try await device.sync()
                return failures
            } catch {
                failures += 1
                if failures >= attempts { throw error }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    @Test func devicesFinishAndConvergeWhenServersDie() async throws {
        let postgres = try TemporaryPostgres()
        let servers = try Self.servers(postgres)
        let front = try Self.haproxy(servers)
        defer {
            front.finish()
            for server in servers { server.finish() }
        }
        // Three devices in each of three grids, and a county device, all through haproxy.
        var devices: [(TestDevice, String)] = []
        for (g, grid) in Self.grids.enumerated() {
            for d in 0..<3 {
                let device = try TestDevice(server: front, name: "w\(g)-\(d)")
                try await device.enroll(code: try servers[d].enrollmentCode(scopes: [grid]))
                devices.append((device, grid))
            }
        }
        let county = try TestDevice(server: front, name: "county")
        try await county.enroll(code: try servers[2].enrollmentCode(scopes: [Self.county], role: "county"))
        // A register everyone edits later.
        for (device, grid) in devices where device === devices.first(where: { $0.1 == grid })!.0 {
            for k in 0..<4 {
                try device.replica.addHousehold(grid: grid, HouseholdFields(doorPlate: "\(k)号"), id: "\(grid.suffix(2))-shared-\(k)")
            }
            _ = try await Self.syncRetrying(device)
        }
        for (device, _) in devices { _ = try await Self.syncRetrying(device) }

        let tally = Tally()
        let work = devices
        // The burst: every device records and edits in rounds, syncing after each; servers die during it.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (n, (device, grid)) in work.enumerated() {
                group.addTask {
                    for round in 0..<10 {
                        for k in 0..<5 {
                            let id = try device.replica.addHousehold(grid: grid, HouseholdFields(doorPlate: "\(round)-\(k)号 \(n)"))
                            tally.written.withLock { _ = $0.insert(id) }
                        }
                        try device.replica.editHousehold(
                            "\(grid.suffix(2))-shared-\(round % 4)", HouseholdFields(notes: "第\(round)轮 设备\(n)"))
                        let failed = try await Self.syncRetrying(device)
                        tally.retries.withLock { $0 += failed }
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(600))
                kill(servers[0].process.processIdentifier, SIGKILL)
                tally.killedWhileRunning.withLock { $0.append(tally.finished.withLock { $0 } < 9) }
                try await Task.sleep(for: .milliseconds(1200))
                kill(servers[1].process.processIdentifier, SIGKILL)
                tally.killedWhileRunning.withLock { $0.append(tally.finished.withLock { $0 } < 9) }
            }
            try await group.waitForAll()
        }
        for server in servers.prefix(2) { server.process.waitUntilExit() }
        #expect(servers[0].process.terminationReason == .uncaughtSignal && servers[1].process.terminationReason == .uncaughtSignal)
        #expect(tally.killedWhileRunning.withLock { $0 } == [true, true], "a server died after the burst")
        // Settle: every device syncs once more (through the last server), then checks.
        for (device, _) in devices { _ = try await Self.syncRetrying(device) }
        _ = try await Self.syncRetrying(county)

        // Receipts: every device's writes are acknowledged, and the database holds that receipt.
        let receipts = try postgres.psql("SELECT site || ' ' || acknowledged FROM devices")
        for (device, _) in devices {
            let cursor = try device.replica.peerCursor(front.baseURL)
            #expect(try device.replica.pendingOwnChanges(after: cursor.acknowledged) == 0)
            #expect(receipts.contains("\(device.replica.site.hex) \(cursor.acknowledged)"), "receipt of \(device.replica.site.hex)")
        }
        // Nothing lost, nothing doubled: the county holds each written household once, and the store as many.
        let held = try county.replica.households(limit: 100_000).map(\.id)
        #expect(held.count == Set(held).count)
        #expect(Set(held).isSuperset(of: tally.written.withLock { $0 }))
        #expect(held.count == tally.written.withLock { $0.count } + 12)
        #expect(try postgres.psql("SELECT count(*) FROM households") == "\(held.count)\n")
        // Convergence: the devices of a grid hold the same register, as the county sees it.
        for grid in Self.grids {
            let views = try devices.filter { $0.1 == grid }.map { device, _ in
                try device.replica.households(area: grid, limit: 100_000).map { "\($0.id) \($0.notes ?? "")" }
            }
            let countyView = try county.replica.households(area: grid, limit: 100_000).map { "\($0.id) \($0.notes ?? "")" }
            for view in views { #expect(view == countyView, "\(grid) differs") }
        }
        // The change log was numbered by one counter across the servers: no gaps in commit order
        // that a pull passed over (the county's cursor equals the newest number).
        let newest = try postgres.psql("SELECT last_lv FROM gridsync_meta").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try county.replica.peerCursor(front.baseURL).pulled == Int64(newest))
        print(
            "scale-out: \(tally.written.withLock { $0.count }) households written by 9 devices through 3 servers, 2 killed during the burst; \(tally.retries.withLock { $0 }) syncs retried"
        )
    }
}

extension ScaleOutTests {
    /// A photo's upload started on one server resumes on another from what the first received;
    /// a third serves it to the county; a challenge one server gives is answered to another.
    @Test func photosMoveBetweenServers() async throws {
        let postgres = try TemporaryPostgres()
        let servers = try Self.servers(postgres)
        defer { for server in servers { server.finish() } }
        let grid = Self.grids[0]
        let worker = try TestDevice(server: servers[0], name: "worker")
        try await worker.enroll(code: try servers[0].enrollmentCode(scopes: [grid]))
        let county = try TestDevice(server: servers[2], name: "county")
        try await county.enroll(code: try servers[2].enrollmentCode(scopes: [Self.county], role: "county"))
        let other = try TestDevice(server: servers[1], name: "other")
        try await other.enroll(code: try servers[1].enrollmentCode(scopes: [Self.grids[1]]))

        var rng = SystemRandomNumberGenerator()
        let photo = Data((0..<300_000).map { _ in UInt8.random(in: 0...255, using: &rng) })
        let hash = BlobStore.sha256(photo)
        let issue = try worker.replica.reportIssue(IssueReport(grid: grid, kind: .hazard, title: "电瓶车入户充电"))
        try worker.replica.attachPhoto(to: .issue, id: issue, sha256: hash, byteCount: photo.count)
        try await worker.sync()
        let photos = PhotoTests()
        // The first 100 KB to server 1, then the link drops; server 2 knows where to resume.
        #expect(try await photos.put(worker, hash, photo, offset: 0, count: 100_000).status == 200)
        let onSecond = TestDevice(worker, server: servers[1])
        #expect(try await photos.status(onSecond, hash)["received"] as? Int == 100_000)
        let done = try await photos.put(onSecond, hash, photo, offset: 100_000, count: 200_000)
        #expect(done.body["complete"] as? Bool == true)
        // Server 3 serves it to the county.
        try await county.sync()
        let fetched = try await servers[2].send(.GET, "/v1/photos/\(hash)", headers: [("Authorization", "Bearer \(county.credential)")])
        #expect(fetched.status == 200 && Data(fetched.body) == photo)
        // Another grid's device names it: challenged by server 2, it proves it holds the bytes to server 1.
        let h = try other.replica.addHousehold(grid: Self.grids[1], HouseholdFields(doorPlate: "2号"))
        try other.replica.attachPhoto(to: .household, id: h, sha256: hash)
        try await other.sync()
        let challenge = try #require(try await photos.status(other, hash)["challenge"] as? String)
        let body = try JSONSerialization.data(
            withJSONObject: ["challenge": challenge, "proof": PhotoProof.answer(challenge: challenge, photo: photo)!])
        let proved = try await servers[0].send(
            .POST, "/v1/photos/\(hash)/proof", body: Array(body), headers: [("Authorization", "Bearer \(other.credential)")])
        #expect(proved.status == 200, "\(String(decoding: proved.body, as: UTF8.self))")
        let seen = try await servers[2].send(.GET, "/v1/photos/\(hash)", headers: [("Authorization", "Bearer \(other.credential)")])
        #expect(seen.status == 200)
    }
}

/// haproxy's configuration for servers on loopback: TCP mode (TLS ends at the servers), round
/// robin, health checks `GET /health` over TLS every half second, a server out after two failures.
enum HAProxyConfig {
    static func text(port: Int, servers: [Int], host: String = "127.0.0.1") -> String {
        var lines = [
            "global",
            "    maxconn 4096",
            "defaults",
            "    mode tcp",
            "    timeout connect 2s",
            "    timeout client 120s",
            "    timeout server 120s",
            "    retries 2",
            "    option redispatch",
            "frontend gridsync",
            "    bind \(host):\(port)",
            "    default_backend servers",
            "backend servers",
            "    balance roundrobin",
            "    option httpchk GET /health",
            "    http-check expect status 200",
        ]
        for (n, server) in servers.enumerated() {
            lines.append("    server s\(n + 1) \(host):\(server) check check-ssl verify none inter 500 fall 2 rise 2")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// What the burst's devices wrote and how often their syncs were tried again.
final class Tally: Sendable {
    let written = Mutex<Set<String>>([])
    let retries = Mutex(0)
    let finished = Mutex(0)
    let killedWhileRunning = Mutex<[Bool]>([])
}
