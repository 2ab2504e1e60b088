import ArgumentParser
import Foundation
import SyncCore
import SyncPostgres

/// `gridsync-server init DIR`: a data folder with the store, a private CA, a server certificate
/// and the config.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a server data folder: store, private CA, server certificate, config.")

    @Argument(help: "The folder to create.")
    var folder: String

    @Option(name: .customLong("host"), help: "A host name or IPv4 address the certificate is for (repeatable).")
    var hosts: [String] = ["localhost", "127.0.0.1"]

    @Option(help: "Port to listen on (0: any free port).")
    var port: Int = 8443

    @Option(help: "Seconds a connection may stay idle or drip an incomplete request before it is closed.")
    var idleTimeout: Int = 60

    @Option(
        help:
            "Seconds a request's head may take from its first byte; its body gets as long again plus 1 s per 256 bytes. Slower clients are closed."
    )
    var requestTimeout: Int = 30

    @Option(
        help:
            "Milliseconds a device's last-sync time and receipt wait to be written to the device registry, together with those that arrive meanwhile."
    )
    var syncRecordDelay: Int = 100

    @Option(help: "Bytes of records (ids and values) one device may push per day (default 64 MiB).")
    var deviceRecordBudget: Int = 64 << 20

    @Option(help: "Bytes of photos one device may upload per day (default 1 GiB).")
    var devicePhotoBudget: Int = 1 << 30

    @Option(
        help: ArgumentHelp(
            "Keep the records in this PostgreSQL database instead of the data folder's SQLite file, so that several servers can share them.",
            valueName: "postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"))
    var store: String?

    @Option(
        help: ArgumentHelp(
            "With --store: keep photos in this folder, one every server sharing the database mounts, instead of the data folder.",
            valueName: "DIR"))
    var photos: String?

    @Option(help: "Use this CA-signed certificate (PEM) instead of making a CA; needs --key and --ca.")
    var certificate: String?
    @Option(help: "The private key (PEM) of --certificate.")
    var key: String?
    @Option(help: "The CA certificate (PEM) that signed --certificate, given to devices to pin.")
    var ca: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("port must be 0 to 65535") }
        guard idleTimeout >= 1 else { throw ValidationError("--idle-timeout must be at least 1 second") }
        guard requestTimeout >= 1 else { throw ValidationError("--request-timeout must be at least 1 second") }
        guard (0...60_000).contains(syncRecordDelay) else { throw ValidationError("--sync-record-delay must be 0 to 60000 ms") }
        let given = [certificate, key, ca].compactMap { $0 }.count
        guard given == 0 || given == 3 else { throw ValidationError("--certificate, --key and --ca go together") }
        guard !hosts.isEmpty else { throw ValidationError("give at least one --host") }
        if let store { _ = try PostgresAddress(store) }
        if photos != nil && store == nil {
            throw ValidationError("--photos goes with --store (one server keeps photos in its data folder)")
        }
        guard deviceRecordBudget >= 1 << 20, devicePhotoBudget >= 1 << 20 else {
            throw ValidationError("--device-record-budget and --device-photo-budget are at least 1048576 bytes")
        }
    }

    func run() async throws {
        let folder = DataFolder(self.folder)
        if FileManager.default.fileExists(atPath: folder.config.path) {
            throw ValidationError("\(self.folder) is already a server data folder")
        }
        try FileManager.default.createDirectory(
            at: folder.url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var config = ServerConfig()
        config.port = port
        config.idleTimeoutSeconds = idleTimeout
        config.requestTimeoutSeconds = requestTimeout
        config.syncRecordDelayMillis = syncRecordDelay
        config.deviceRecordBytesPerDay = deviceRecordBudget
        config.devicePhotoBytesPerDay = devicePhotoBudget
        config.hosts = hosts
        if let certificate, let key, let ca {
            try Data(contentsOf: URL(fileURLWithPath: ca)).write(to: folder.caCertificate)
            try Data(contentsOf: URL(fileURLWithPath: certificate)).write(to: folder.serverCertificate)
            try DataFolder.writeSecret(
                String(decoding: try Data(contentsOf: URL(fileURLWithPath: key)), as: UTF8.self), to: folder.serverKey)
        } else {
            // A name of its own (the date and a random tag): a device trusting an old and a new CA
            // during a rollover (README) tells them apart by name when it builds the chain.
            let tag = Hex.string((0..<4).map { _ in UInt8.random(in: 0...255) })
            let day = ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withFullDate])
            let authority = try CertificateFactory.makeCA(name: "GridSync CA \(hosts[0]) \(day) \(tag)")
            let server = try CertificateFactory.makeServerCertificate(
                hosts: hosts, caCertificatePEM: authority.certificatePEM, caKeyPEM: authority.keyPEM)
            try DataFolder.pem(authority.certificatePEM).write(to: folder.caCertificate)
            try DataFolder.writeSecret(authority.keyPEM, to: folder.caKey)
            try DataFolder.pem(server.certificatePEM).write(to: folder.serverCertificate)
            try DataFolder.writeSecret(server.keyPEM, to: folder.serverKey)
        }
        if let store {
            // The tables, made now so that a wrong address fails here rather than at `serve`.
            let address = try PostgresAddress(store)
            _ = try await PostgresDatabase.withStore(address, newSite: .random()) { store in
                _ = try await PostgresDeviceRegistry.open(client: store.client, logger: store.logger)
            }
            config.database = store
            if let photos {
                let shared = URL(fileURLWithPath: photos, isDirectory: true).standardizedFileURL
                try FileManager.default.createDirectory(
                    at: shared, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                config.photosFolder = shared.path
            }
        } else {
            _ = try Replica(path: folder.store.path)
            _ = try DeviceRegistry(path: folder.registry.path)
        }
        try folder.save(config)
        print(
            "created \(self.folder): store\(store.map { " in \((try? PostgresAddress($0))?.description ?? $0)" } ?? ""), CA (\(folder.caCertificate.lastPathComponent)), certificate for \(hosts.joined(separator: ", ")), port \(port)"
        )
    }
}
