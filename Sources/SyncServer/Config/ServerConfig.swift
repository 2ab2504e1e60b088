import Foundation

/// The settings of a server data folder, stored as `config.json` beside the store and the keys.
struct ServerConfig: Codable, Equatable {
    /// TCP port to listen on (0: any free port, printed at start).
    var port: Int = 8443
    /// Address to bind.
    var bindAddress: String = "127.0.0.1"
    /// Host names and IP addresses the server certificate is valid for.
    var hosts: [String] = ["localhost", "127.0.0.1"]
    /// How far ahead of the server's clock a change's timestamp may be.
    var maxDriftMillis: UInt64 = 5 * 60 * 1000
    /// Largest request body accepted.
    var maxBodyBytes: Int = 8 << 20
    /// Most changes sent in one sync response, whatever the device asks for. A device that asks
    /// for none in particular (`max pull` 0) gets `defaultPullChanges`, or this when lower.
    var maxPullChanges: Int = 50_000

    /// The changes a sync response carries when the device leaves `max pull` at 0.
    static let defaultPullChanges = 5000

    /// The changes one response carries for a device asking for `asked` (0: the default).
    func pullLimit(asked: Int) -> Int {
        max(1, asked > 0 ? min(asked, maxPullChanges) : min(Self.defaultPullChanges, maxPullChanges))
    }
    /// How long an enrollment code stays valid.
    var enrollmentTTLSeconds: Int = 24 * 3600
    /// Largest photo accepted.
    var maxPhotoBytes: Int = 20 << 20
    /// Seconds a connection may sit without a complete request before it is closed (slow-drip
    /// clients, dead links); nil in configs written before it existed: the default.
    var idleTimeoutSeconds: Int?

    /// Seconds a request's head may take from its first byte; its body gets as long again plus one
    /// second per 256 bytes (see `RequestDeadline`). nil in older configs: the default.
    var requestTimeoutSeconds: Int?

    /// Milliseconds a sync record (a device's last-sync time and receipt) waits to be written to the
    /// device registry with the others that arrive meanwhile (see `DeviceRegistry.recordSync`). nil
    /// in older configs: the default.
    var syncRecordDelayMillis: Int?

    /// Bytes of records (ids and values) one device may push per day; nil in older configs: the default.
    var deviceRecordBytesPerDay: Int?

    /// Bytes of photos one device may upload per day; nil in older configs: the default.
    var devicePhotoBytesPerDay: Int?

    /// The PostgreSQL database holding the records (`postgres://USER@HOST:PORT/DATABASE`); nil:
    /// the embedded SQLite store in the data folder.
    var database: String?

    /// Connections one server opens to the database at most; nil: the default. Several servers
    /// together must stay under PostgreSQL's `max_connections` (100 unless raised).
    var databaseConnectionsMax: Int?

    /// The folder of photos and unfinished uploads when it is not the data folder's `photos`: one
    /// every server sharing a database mounts (`init --photos`), so that an upload cut on one
    /// server resumes on another.
    var photosFolder: String?

    /// The database connections in effect: 20 per server.
    var databaseConnections: Int { databaseConnectionsMax ?? 20 }

    /// The daily record budget in effect: 64 MiB, thousands of times a worker's day.
    var recordBudget: Int { deviceRecordBytesPerDay ?? 64 << 20 }

    /// The daily photo budget in effect: 1 GiB, a hundred times a worker's day.
    var photoBudget: Int { devicePhotoBytesPerDay ?? 1 << 30 }

    /// The idle timeout in effect.
    var idleTimeout: Int { idleTimeoutSeconds ?? 60 }

    /// The request timeout in effect.
    var requestTimeout: Int { requestTimeoutSeconds ?? 30 }

    /// The sync-record delay in effect.
    var syncRecordDelay: Int { syncRecordDelayMillis ?? 100 }
}

/// The files of a server data folder.
struct DataFolder {
    let url: URL

    init(_ path: String) { url = URL(fileURLWithPath: path, isDirectory: true) }

    var config: URL { url.appendingPathComponent("config.json") }
    var store: URL { url.appendingPathComponent("store.sqlite") }
    var registry: URL { url.appendingPathComponent("devices.sqlite") }
    var caCertificate: URL { url.appendingPathComponent("ca.pem") }
    var caKey: URL { url.appendingPathComponent("ca-key.pem") }
    var serverCertificate: URL { url.appendingPathComponent("server.pem") }
    var serverKey: URL { url.appendingPathComponent("server-key.pem") }
    var photos: URL { url.appendingPathComponent("photos") }
    /// The photos folder `config` names (`photosFolder`), else the data folder's own.
    func photos(_ config: ServerConfig) -> URL { config.photosFolder.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? photos }
    /// Which grids may see which photo (`PhotoGrants`).
    var photoGrants: URL { url.appendingPathComponent("photo-grants.sqlite") }

    func loadConfig() throws -> ServerConfig {
        guard FileManager.default.fileExists(atPath: config.path) else {
            throw ServerError.setup(
                "\(url.path) is not a server data folder (no config.json): run `gridsync-server init \(url.path)` first")
        }
        do {
            return try JSONDecoder().decode(ServerConfig.self, from: Data(contentsOf: config))
        } catch {
            throw ServerError.setup("cannot read \(config.path): \(error)")
        }
    }

    func save(_ config: ServerConfig) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(config).write(to: self.config, options: .atomic)
    }

    /// A PEM text as a file's bytes, ending with a newline (so that files joined with `cat` stay
    /// valid PEM).
    static func pem(_ text: String) -> Data { Data((text.hasSuffix("\n") ? text : text + "\n").utf8) }

    /// Writes a new secret file, created readable by its owner only (never widened, then narrowed).
    static func writeSecret(_ text: String, to url: URL) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ServerError.setup("cannot create \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(pem(text))
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            throw ServerError.setup("cannot write \(url.path): \(String(cString: strerror(errno)))")
        }
    }
}

/// Errors of the server's setup and commands, shown as one line.
enum ServerError: Error, CustomStringConvertible {
    case setup(String)

    var description: String {
        switch self {
        case let .setup(m): return m
        }
    }
}
