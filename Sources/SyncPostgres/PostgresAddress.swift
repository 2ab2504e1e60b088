import Foundation
import Logging
import NIOSSL
import PostgresNIO
import SyncCore

/// Where a PostgreSQL store lives: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`, with
/// `?sslmode=disable|prefer|require` (default `prefer`, as libpq's). Without a password in the
/// address, `PGPASSWORD` gives it (or none: trust or peer authentication). Several hosts, as libpq
/// writes them (`HOST1:PORT1,HOST2:PORT2`, an IPv6 address in brackets), are a primary and its
/// standbys: the server writes to whichever is the primary (`PostgresPrimary`).
public struct PostgresAddress: Sendable, Equatable, CustomStringConvertible {
    public struct Host: Sendable, Equatable {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public var user: String
    public var password: String?
    public var hosts: [Host]
    public var database: String
    public var sslMode: String

    /// Parses `text`; throws a one-line explanation of what is wrong.
    public init(_ given: String) throws {
        // Messages show the address with its password hidden.
        let text = Self.hidingPassword(given)
        let form = "expected postgres://USER[:PASSWORD]@HOST[:PORT][,HOST[:PORT]...]/DATABASE"
        guard let scheme = ["postgres://", "postgresql://"].first(where: given.hasPrefix) else {
            throw PostgresStoreError.address("\(text): \(form)")
        }
        guard !given.contains("#") else { throw PostgresStoreError.address("\(text): a # must be written %23") }
        var rest = Substring(given.dropFirst(scheme.count))
        var query = Substring("")
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw PostgresStoreError.address("\(text): the database is missing") }
        let authority = rest[..<slash]
        guard let database = String(rest[rest.index(after: slash)...]).removingPercentEncoding, !database.isEmpty,
            !database.contains("/")
        else { throw PostgresStoreError.address("\(text): the database is missing") }
        guard let at = authority.lastIndex(of: "@") else { throw PostgresStoreError.address("\(text): the user is missing") }
        let userInfo = authority[..<at]
        let user = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = user.first, !first.isEmpty else { throw PostgresStoreError.address("\(text): the user is missing") }
        guard let name = String(first).removingPercentEncoding else {
            throw PostgresStoreError.address("\(text): the user is not valid percent-encoding")
        }
        var password: String?
        if user.count == 2 {
            guard let decoded = String(user[1]).removingPercentEncoding else {
                throw PostgresStoreError.address("the password in \(scheme)\(name):…@ is not valid percent-encoding")
            }
            password = decoded
        }
        var hosts: [Host] = []
        for part in authority[authority.index(after: at)...].split(separator: ",", omittingEmptySubsequences: false) {
            hosts.append(try Self.host(part, in: text))
        }
        var mode = "prefer"
        for item in query.split(separator: "&") {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if pair.first == "sslmode" { mode = pair.count == 2 ? String(pair[1]) : "" }
        }
        guard ["disable", "prefer", "require"].contains(mode) else {
            throw PostgresStoreError.address("\(text): sslmode is disable, prefer or require")
        }
        self.user = name
        self.password = password ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
        self.hosts = hosts
        self.database = database
        self.sslMode = mode
    }

    /// `text` with the password of its user part, if any, written `…`.
    static func hidingPassword(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return text }
        let afterScheme = text[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? afterScheme.endIndex
        guard let at = afterScheme[..<authorityEnd].lastIndex(of: "@"),
            let colon = afterScheme[..<at].firstIndex(of: ":")
        else { return text }
        return String(text[..<afterScheme.index(after: colon)]) + "…" + String(text[at...])
    }

    /// `HOST`, `HOST:PORT`, `[IPV6]` or `[IPV6]:PORT`.
    private static func host(_ part: Substring, in text: String) throws -> Host {
        var name = part
        var portText: Substring?
        if part.hasPrefix("[") {
            guard let close = part.firstIndex(of: "]") else { throw PostgresStoreError.address("\(text): an IPv6 host lacks its ]") }
            name = part[part.index(after: part.startIndex)..<close]
            let after = part[part.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw PostgresStoreError.address("\(text): unexpected \(after) after a host")
            }
        } else if let colon = part.firstIndex(of: ":") {
            name = part[..<colon]
            portText = part[part.index(after: colon)...]
        }
        guard !name.isEmpty else { throw PostgresStoreError.address("\(text): the host is missing") }
        var port = 5432
        if let portText, !portText.isEmpty {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw PostgresStoreError.address("\(text): port \(portText) is out of range")
            }
            port = number
        }
        return Host(host: String(name), port: port)
    }

    /// The address without its password.
    public var description: String {
        let hostList = hosts.map { ($0.host.contains(":") ? "[\($0.host)]" : $0.host) + ":\($0.port)" }.joined(separator: ",")
        return "postgres://\(user)@\(hostList)/\(database)?sslmode=\(sslMode)"
    }

    /// A pool's configuration for each host, with at most `connections` connections.
    public func clientConfigurations(connections: Int = 20) -> [PostgresClient.Configuration] {
        let tls: PostgresClient.Configuration.TLS =
            switch sslMode {
            case "disable": .disable
            case "require": .require(.makeClientConfiguration())
            default: .prefer(.makeClientConfiguration())
            }
        return hosts.map { host in
            var configuration = PostgresClient.Configuration(
                host: host.host, port: host.port, username: user, password: password, database: database, tls: tls)
            configuration.options.maximumConnections = connections
            return configuration
        }
    }

    /// A single connection's configuration for host `index` (the primary's monitor), giving up
    /// on connecting after `timeout`.
    func connectionConfiguration(host index: Int, timeout: Duration) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            switch sslMode {
            case "disable": .disable
            case "require": .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            default: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        var configuration = PostgresConnection.Configuration(
            host: hosts[index].host, port: hosts[index].port, username: user, password: password, database: database, tls: tls)
        let (seconds, attoseconds) = timeout.components
        configuration.options.connectTimeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
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
        let client = PostgresPrimary(address, connections: connections, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            await client.ready()
            let store = try await PostgresStore.open(
                client: client, newSite: newSite, wallClock: wallClock, maxDriftMillis: maxDriftMillis, logger: logger)
            return try await body(store)
        }
    }
}
