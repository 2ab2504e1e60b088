import Foundation
import Logging
import PostgresNIO

/// A PostgreSQL cluster of its own for a test: `initdb` in a temporary folder, the server on a free
/// loopback port, stopped and removed when the value is released. Uses Debian's `postgresql`
/// package (`.ci/run` installs it); `GRIDSYNC_PG_BIN` names another folder of its programs. When
/// run as root, the cluster runs as the `postgres` user, since PostgreSQL refuses root.
public final class TemporaryPostgres: @unchecked Sendable {
    public let folder: URL
    public let port: Int
    public let bin: String
    private let runAs: [String]

    /// A new cluster of its own.
    public convenience init() throws {
        try self.init { runAs, bin, data in
            try Self.run(runAs + ["\(bin)/initdb", "-D", data, "-A", "trust", "-U", "gridsync", "-E", "UTF8", "--locale=C", "--no-sync"])
        }
    }

    /// A streaming standby of `primary` (`pg_basebackup -R`), started, in recovery until
    /// `promote()`. `primary.requireSynchronousStandby()` makes its commits wait for it.
    public convenience init(standbyOf primary: TemporaryPostgres) throws {
        try self.init { runAs, bin, data in
            try Self.run(
                runAs + [
                    "\(bin)/pg_basebackup", "-h", "127.0.0.1", "-p", "\(primary.port)", "-U", "gridsync", "-D", data, "-R", "-X", "stream",
                    "-c", "fast", "--no-sync",
                ])
        }
    }

    private init(makeData: (_ runAs: [String], _ bin: String, _ data: String) throws -> Void) throws {
        bin = try Self.findPrograms()
        folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("gridsync-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        port = try Self.freePort()
        if getuid() == 0 {
            runAs = ["/usr/sbin/runuser", "-u", "postgres", "--"]
            try Self.run(["/bin/chown", "postgres", folder.path])
        } else {
            runAs = []
        }
        try makeData(runAs, bin, data)
        try restart()
    }

    private var data: String { folder.appendingPathComponent("data").path }

    /// Makes every commit wait until a standby has its WAL on disk (`synchronous_standby_names`),
    /// and waits until one is streaming synchronously.
    public func requireSynchronousStandby() throws {
        _ = try psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        _ = try psql("SELECT pg_reload_conf()")
        for _ in 0..<200 {
            if try psql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") == "1\n" { return }
            usleep(50_000)
        }
        throw TemporaryPostgresError(message: "no synchronous standby after 10 s")
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`: no shutdown checkpoint).
    public func crash() throws {
        try Self.run(runAs + ["\(bin)/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"])
    }

    /// Starts the server (again, after `crash()`: it recovers from its WAL).
    public func restart() throws {
        try Self.run(
            runAs + [
                "\(bin)/pg_ctl", "-D", data, "-l", folder.appendingPathComponent("log").path, "-w", "-t", "60", "-o",
                "-p \(port) -k \(folder.path) -c listen_addresses=127.0.0.1 -c max_connections=200", "start",
            ])
    }

    /// Ends recovery: a standby becomes a primary (`pg_ctl promote`, waiting until it is).
    public func promote() throws {
        try Self.run(runAs + ["\(bin)/pg_ctl", "-D", data, "-w", "-t", "60", "promote"])
    }

    deinit {
        try? Self.run(runAs + ["\(bin)/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(at: folder)
    }

    /// A client for database `postgres` as `gridsync` over TCP; the caller runs it (`run()`).
    public func client(logger: Logger = Logger(label: "test.postgres")) -> PostgresClient {
        var configuration = PostgresClient.Configuration(
            host: "127.0.0.1", port: port, username: "gridsync", password: nil, database: "postgres", tls: .disable)
        configuration.options.maximumConnections = 20
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    /// Runs `body` with a running client, shut down afterwards.
    public func withClient<T: Sendable>(_ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let client = client()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// The cluster's address for `gridsync-server init --store`.
    public var address: String { "postgres://gridsync@127.0.0.1:\(port)/postgres?sslmode=disable" }

    /// `psql` against the cluster, for checks by hand in a test.
    public func psql(_ sql: String) throws -> String {
        try Self.run(["\(bin)/psql", "-h", "127.0.0.1", "-p", "\(port)", "-U", "gridsync", "-d", "postgres", "-Atc", sql])
    }

    static func findPrograms() throws -> String {
        if let bin = ProcessInfo.processInfo.environment["GRIDSYNC_PG_BIN"] { return bin }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        if let newest = versions.last, FileManager.default.isExecutableFile(atPath: "\(root)/\(newest)/bin/initdb") {
            return "\(root)/\(newest)/bin"
        }
        throw TemporaryPostgresError(
            message: "PostgreSQL's programs were not found under /usr/lib/postgresql (apt-get install postgresql; .ci/run does) "
                + "or in GRIDSYNC_PG_BIN")
    }

    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw TemporaryPostgresError(message: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs a program to its end and returns its output; spawned and awaited with `waitpid`
    /// (Foundation's `Process` can miss the end of a child whose own child lives on, as `pg_ctl
    /// start` leaves the server).
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let output = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("gridsync-pg-run-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
        guard spawned == 0 else { throw TemporaryPostgresError(message: "\(arguments[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw TemporaryPostgresError(message: "\(arguments.joined(separator: " ")) failed (\(status)): \(text)")
        }
        return text
    }
}

public struct TemporaryPostgresError: Error, CustomStringConvertible {
    let message: String
    public var description: String { message }
}
