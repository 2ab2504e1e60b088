import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import PostgresFixture
import SyncCore

/// A real `gridsync-server` process on loopback with a fresh data folder and CA.
final class LiveServer: @unchecked Sendable {
    let folder: URL
    let process = Process()
    let port: Int
    let client: HTTPClient
    /// The cluster holding the records of a server made with `store: .postgres`.
    private(set) var postgres: TemporaryPostgres?

    static var binaries: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    }

    /// Runs `gridsync-server ARGS` to completion and returns its output (stdout, then stderr) and status.
    @discardableResult
    static func run(_ arguments: [String]) throws -> (output: String, status: Int32) {
        let p = Process()
        p.executableURL = binaries.appendingPathComponent("gridsync-server")
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (String(decoding: data, as: UTF8.self), p.terminationStatus)
    }

    /// A server on a new data folder made by `gridsync-server init`.
    convenience init(extraInit: [String] = []) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-server-\(UUID().uuidString.prefix(8))")
        let made = try Self.run(["init", folder.path, "--port", "0"] + extraInit)
        guard made.status == 0 else { throw ServerTestError.setup(made.output) }
        try self.init(serving: folder)
    }

    /// A server whose records are in `store`: the data folder's SQLite file, or a PostgreSQL
    /// cluster of its own (`init --store`).
    convenience init(store: StoreKind, extraInit: [String] = []) throws {
        switch store {
        case .sqlite:
            try self.init(extraInit: extraInit)
        case .postgres:
            let cluster = try TemporaryPostgres()
            try self.init(extraInit: extraInit + ["--store", cluster.address])
            postgres = cluster
        }
    }

    /// A server on an existing data folder (one made by an earlier release, say).
    init(serving folder: URL) throws {
        self.folder = folder
        let log = try Self.start(
            process, Self.binaries.appendingPathComponent("gridsync-server"), ["serve", "--data", folder.path], in: folder)
        var text = ""
        let deadline = Date().addingTimeInterval(30)
        // Hummingbird logs "… listening on …" first; ours is the line that starts with it.
        while !text.split(separator: "\n").contains(where: { $0.hasPrefix("listening on") }), Date() < deadline, process.isRunning {
            usleep(50_000)
            text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on") }),
            let port = Int(line.split(separator: ":").last ?? "")
        else { throw ServerTestError.setup("server did not start: \(text)") }
        self.port = port
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(folder.appendingPathComponent("ca.pem").path))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    /// A front for servers already running: `executable ARGUMENTS` (haproxy, say) listening on
    /// `port`, trusted with the CA at `ca`; `folder` is its own (removed with it).
    init(front executable: String, arguments: [String], port: Int, folder: URL, ca: URL) throws {
        self.folder = folder
        self.port = port
        let log = try Self.start(process, URL(fileURLWithPath: executable), arguments, in: folder)
        let deadline = Date().addingTimeInterval(30)
        while !Self.accepts(port: port), Date() < deadline, process.isRunning { usleep(50_000) }
        guard Self.accepts(port: port) else {
            throw ServerTestError.setup("\(executable) did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca.path))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    /// Runs `executable ARGUMENTS` as `process`, its output going to `server.log` in `folder` (a
    /// pipe nobody drains would fill and stall it); returns the log's address.
    static func start(_ process: Process, _ executable: URL, _ arguments: [String], in folder: URL) throws -> URL {
        process.executableURL = executable
        process.arguments = arguments
        let log = folder.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return log
    }

    /// Whether something accepts TCP connections on loopback `port`.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    var baseURL: String { "https://localhost:\(port)" }
    /// What the server has logged so far.
    var log: String { (try? String(contentsOf: folder.appendingPathComponent("server.log"), encoding: .utf8)) ?? "" }
    var caPath: String { folder.appendingPathComponent("ca.pem").path }

    func enrollmentCode(scopes: [String], role: String = "worker", name: String? = nil) throws -> String {
        let r = try Self.run(
            ["enroll", "--data", folder.path, "--role", role] + scopes.flatMap { ["--scope", $0] } + (name.map { ["--name", $0] } ?? []))
        guard r.status == 0 else { throw ServerTestError.setup(r.output) }
        return r.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Sends a request and returns status and body.
    func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = []) async throws -> (
        status: Int, body: [UInt8], headers: HTTPHeaders
    ) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), Array(buffer: bytes), response.headers)
    }

    /// Set once `finish` or `stop` has run (by the test's own task, or by `deinit` after it).
    private var ended = false

    /// A server a test dropped without ending it (a test that threw during its setup, a missing
    /// haproxy) is ended here: its process stopped, its client shut down. HTTPClient stops the
    /// whole test run when it goes without a shutdown.
    deinit {
        if !ended { finish() }
    }

    /// Stops the server process at once and shuts the client down in the background: for `defer` in
    /// tests. (A task started in `defer` to call `stop()` may never run before the test process
    /// exits, which left servers running after `swift test`.)
    func finish() {
        ended = true
        if ProcessInfo.processInfo.environment["GRIDSYNC_KEEP_SERVER_LOG"] == "1" {
            try? FileManager.default.copyItem(
                at: folder.appendingPathComponent("server.log"), to: URL(fileURLWithPath: "/tmp/\(folder.lastPathComponent).log"))
        }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
        postgres = nil
        let client = self.client
        Task { try? await client.shutdown() }
    }

    func stop(keepingFolder: Bool = false) async {
        ended = true
        try? await client.shutdown()
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        if !keepingFolder { try? FileManager.default.removeItem(at: folder) }
    }
}

/// Where a live server keeps its records.
enum StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres
    var description: String { rawValue }
}

enum ServerTestError: Error {
    case setup(String)
    case http(Int, String)
}

/// A field device: its own replica file, its credential, and the sync loop over HTTPS.
final class TestDevice: @unchecked Sendable {
    let replica: Replica
    let server: LiveServer
    var credential = ""
    let clock: ManualWallClock?

    init(server: LiveServer, name: String, clock: ManualWallClock? = nil) throws {
        var config = Replica.Configuration()
        if let clock { config.wallClock = clock }
        replica = try Replica(path: server.folder.appendingPathComponent("\(name).sqlite").path, configuration: config)
        self.server = server
        self.clock = clock
    }

    /// The same device (its replica, its credential) talking to `server`: a server put in place of another.
    init(_ device: TestDevice, server: LiveServer) {
        replica = device.replica
        credential = device.credential
        clock = device.clock
        self.server = server
    }

    func enroll(code: String) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["code": code, "site": replica.site.hex])
        let r = try await server.send(.POST, "/v1/enroll", body: Array(body), headers: [("Content-Type", "application/json")])
        guard r.status == 200, let json = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any],
            let credential = json["credential"] as? String
        else { throw ServerTestError.http(r.status, String(decoding: r.body, as: UTF8.self)) }
        self.credential = credential
    }

    /// The versions this device says it speaks (nil: it says nothing, as releases before protocol
    /// document version 2 did), and the changeset format it writes.
    var speaks: PeerVersions? = nil
    var writesFormat: UInt8 = ChangesetEncoding.formatVersion

    /// One raw exchange.
    func exchange(_ request: SyncRequest, pullOwn: Bool = false) async throws -> (status: Int, body: [UInt8], headers: HTTPHeaders) {
        var headers = [("Authorization", "Bearer \(credential)"), ("Content-Type", "application/x-gridsync")]
        if pullOwn { headers.append(("GridSync-Pull", "own")) }
        if let speaks { headers.append((PeerVersions.header, speaks.description)) }
        return try await server.send(
            .POST, "/v1/sync", body: SyncMessageCoding.encode(request, changesetFormat: writesFormat), headers: headers)
    }

    /// Syncs until nothing is left to send or receive; returns every rejection seen.
    @discardableResult
    func sync(maxPullChanges: Int = 5000) async throws -> [SyncRejection] {
        let session = SyncSession(replica: replica, peer: server.baseURL, maxPullChanges: maxPullChanges)
        var rejections: [SyncRejection] = []
        for _ in 0..<50 {
            let request = try session.nextRequest()
            let r = try await exchange(request, pullOwn: try session.pullsOwnWrites())
            guard r.status == 200 else { throw ServerTestError.http(r.status, String(decoding: r.body, as: UTF8.self)) }
            let outcome = try session.handle(
                try SyncMessageCoding.decodeResponse(r.body), wallMillis: clock?.nowMillis() ?? 0,
                storeEpoch: r.headers.first(name: "GridSync-Store-Epoch"),
                restoredHint: r.headers.first(name: "GridSync-Replica") == "restored")
            rejections += outcome.rejections
            if !outcome.needsAnotherRound { return rejections }
        }
        throw ServerTestError.setup("sync did not finish in 50 rounds")
    }
}
