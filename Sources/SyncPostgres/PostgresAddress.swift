import Foundation
import Logging
import PostgresNIO
import SyncCore

/// Where a PostgreSQL store lives: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`, with
/// `?sslmode=disable|prefer|require` (default `prefer`, as libpq's). Without a password in the
/// address, `PGPASSWORD` gives it (or none: trust or peer authentication).
public struct PostgresAddress: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: String

    /// Parses `text`; throws a one-line explanation of what is wrong.
    public init(_ text: String) throws {
        guard let url = URLComponents(string: text), url.scheme == "postgres" || url.scheme == "postgresql" else {
            throw PostgresStoreError.address("\(text): expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        guard let user = url.user, !user.isEmpty else { throw PostgresStoreError.address("\(text): the user is missing") }
        guard let host = url.host, !host.isEmpty else { throw PostgresStoreError.address("\(text): the host is missing") }
        let database = String(url.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw PostgresStoreError.address("\(text): the database is missing") }
        let port = url.port ?? 5432
        guard (1...65535).contains(port) else { throw PostgresStoreError.address("\(text): port \(port) is out of range") }
        let mode = url.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        guard ["disable", "prefer", "require"].contains(mode) else {
            throw PostgresStoreError.address("\(text): sslmode is disable, prefer or require")
        }
        self.user = user
        self.password = url.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
        self.host = host
        self.port = port
        self.database = database
        self.sslMode = mode
    }

    /// The address without its password.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)?sslmode=\(sslMode)" }

    /// A client configuration for this address, with at most `connections` connections.
    public func clientConfiguration(connections: Int = 20) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch sslMode {
            case "disable": .disable
            case "require": .require(.makeClientConfiguration())
            default: .prefer(.makeClientConfiguration())
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = connections
        return configuration
    }
}

/// Running a client for a PostgreSQL store.
public enum PostgresDatabase {
    /// Opens the store at `address` (creating its tables, with `newSite`, on first use), runs
    /// `body` with it, and closes the client.
    public static func withStore<T: Sendable>(
        _ address: PostgresAddress, newSite: SiteID, wallClock: any WallClock = SystemWallClock(),
        maxDriftMillis: UInt64 = HybridLogicalClock.defaultMaxDriftMillis, connections: Int = 20,
        logger: Logger = Logger(label: "gridsync.postgres"), _ body: @Sendable (PostgresStore) async throws -> T
    ) async throws -> T {
        let client = PostgresClient(configuration: address.clientConfiguration(connections: connections), backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let store = try await PostgresStore.open(
                client: client, newSite: newSite, wallClock: wallClock, maxDriftMillis: maxDriftMillis, logger: logger)
            return try await body(store)
        }
    }
}

extension PostgresClient {
    /// `withTransaction`, throwing what went wrong itself: the body's error, else the commit's or
    /// the BEGIN's, so that callers see their own errors and PostgreSQL's SQLSTATEs unwrapped.
    package func transaction<T>(logger: Logger, _ body: (PostgresConnection) async throws -> sending T) async throws -> sending T {
        do {
            return try await withTransaction(logger: logger, body)
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.commitError ?? error.beginError ?? error
        }
    }
}
