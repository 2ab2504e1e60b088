import Foundation
import PostgresFixture
import SyncCore
import Testing

/// Several servers on one PostgreSQL database behind haproxy (Debian's package, TCP mode, TLS
/// ending at the servers, health checks on `/health`): devices sync through haproxy while one
/// server is killed with SIGKILL in the middle of a burst and another later. Every device finishes
/// (retrying through the others), no acknowledged change is lost or doubled, receipts are right,
/// and all replicas converge.
@Suite(.serialized) struct ScaleOutTests {
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

    @Test func devicesFinishAndConvergeWhenServersDie() async throws {
        let postgres = try TemporaryPostgres()
        let servers = try Self.servers(postgres)
        let front = try Self.haproxy(servers)
        defer {
            front.finish()
            for server in servers { server.finish() }
        }
        // Three devices in each of three grids, and a county device, all through haproxy, each
        // enrolled by another server.
        let burst = try await DisruptedBurst(front: front, grids: Self.grids) { servers[$0] }
        try await burst.run(rounds: 10) {
            try await Task.sleep(for: .milliseconds(600))
            kill(servers[0].process.processIdentifier, SIGKILL)
            burst.strikes()
            try await Task.sleep(for: .milliseconds(1200))
            kill(servers[1].process.processIdentifier, SIGKILL)
            burst.strikes()
        }
        for server in servers.prefix(2) { server.process.waitUntilExit() }
        #expect(servers[0].process.terminationReason == .uncaughtSignal && servers[1].process.terminationReason == .uncaughtSignal)
        #expect(burst.disruptedWhileRunning.withLock { $0 } == [true, true], "a server died after the burst")
        try burst.check(postgres)
        print(
            "scale-out: \(burst.written.withLock { $0.count }) households written by 9 devices through 3 servers, 2 killed during the burst; failed answers \(burst.statuses.withLock { $0 })"
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
        try await county.enroll(code: try servers[2].enrollmentCode(scopes: [DisruptedBurst.county], role: "county"))
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
