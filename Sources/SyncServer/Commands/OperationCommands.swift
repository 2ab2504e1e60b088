import ArgumentParser
import Foundation
import GRDB
import SyncCore
import SyncPostgres

/// `gridsync-server backup --to DIR`: a consistent copy of the data folder, taken while serving.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the data folder while the server runs: stores (SQLite's online backup), keys, config, photos.")

    @OptionGroup var data: DataOption

    @Option(help: "The folder to write: a new data folder, served as it is (`serve --data DIR`) to restore.")
    var to: String

    func run() throws {
        let source = DataFolder(data.data)
        if let database = try source.loadConfig().database {
            throw ServerError.setup(
                "the records and devices of \(data.data) are in PostgreSQL (\((try? PostgresAddress(database))?.description ?? database)): "
                    + "back them up with pg_dump or pg_basebackup (README, \"Several servers on PostgreSQL\"), and this folder's keys and photos as files"
            )
        }
        let target = DataFolder(to)
        if FileManager.default.fileExists(atPath: target.url.path) {
            throw ValidationError("\(to) exists: back up into a new folder")
        }
        try FileManager.default.createDirectory(at: target.url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // Each store is copied page by page under one read snapshot, so it is consistent whatever
        // the server commits meanwhile (SQLite's online backup).
        var sequence: Int64 = 0
        for (from, into) in [(source.store, target.store), (source.registry, target.registry), (source.photoGrants, target.photoGrants)]
        where FileManager.default.fileExists(atPath: from.path) {
            var config = Configuration()
            config.busyMode = .timeout(10)
            config.readonly = true
            let reader = try DatabaseQueue(path: from.path, configuration: config)
            let writer = try DatabaseQueue(path: into.path)
            try reader.backup(to: writer)
            if from == source.store {
                sequence = try writer.read { db in try Int64.fetchOne(db, sql: "SELECT local_version FROM replica_meta") ?? 0 }
            }
            try writer.close()
            try reader.close()
        }
        // A new epoch: served one day in the server's place, it tells devices to sync from the start.
        try DeviceRegistry.renewEpoch(path: target.registry.path)
        for file in [source.config, source.caCertificate, source.caKey, source.serverCertificate, source.serverKey]
        where FileManager.default.fileExists(atPath: file.path) {
            try FileManager.default.copyItem(at: file, to: target.url.appendingPathComponent(file.lastPathComponent))
        }
        // Complete photos never change once named by their hash; unfinished uploads are left out.
        let blobs = try BlobStore(folder: source.photos)
        let copies = try BlobStore(folder: target.photos)
        for hash in blobs.completeHashes() {
            try FileManager.default.copyItem(
                at: source.photos.appendingPathComponent(hash), to: copies.folder.appendingPathComponent(hash))
        }
        print(
            "backed up \(data.data) to \(to): store at sequence \(sequence), devices, photo grants, keys, \(blobs.completeHashes().count) photo(s)"
        )
    }
}

/// `gridsync-server check`: the stores' integrity and the records' references, read only.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Check the data folder: SQLite integrity, references across grids, photos missing.")

    @OptionGroup var data: DataOption

    func run() throws {
        let folder = DataFolder(data.data)
        if try folder.loadConfig().database != nil {
            throw ServerError.setup("the records of \(data.data) are in PostgreSQL: `check` reads a data folder's SQLite stores only")
        }
        var problems: [String] = []
        for file in [folder.store, folder.registry, folder.photoGrants] where FileManager.default.fileExists(atPath: file.path) {
            var config = Configuration()
            config.readonly = true
            let queue = try DatabaseQueue(path: file.path, configuration: config)
            let result = try queue.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
            if result != ["ok"] { problems.append("\(file.lastPathComponent): \(result.prefix(3).joined(separator: "; "))") }
            try queue.close()
        }
        var config = Configuration()
        config.readonly = true
        let store = try DatabaseQueue(path: folder.store.path, configuration: config)
        let crossGrid = try store.read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT (SELECT count(*) FROM issue_events e JOIN issues i ON i.id = e.issue_id WHERE i.grid <> e.grid)
                         + (SELECT count(*) FROM issues i JOIN households h ON h.id = i.household_id WHERE h.grid <> i.grid)
                         + (SELECT count(*) FROM photo_refs p JOIN issues i ON p.owner_table = 'issues' AND i.id = p.owner_id WHERE i.grid <> p.grid)
                         + (SELECT count(*) FROM photo_refs p JOIN households h ON p.owner_table = 'households' AND h.id = p.owner_id WHERE h.grid <> p.grid)
                    """) ?? 0
        }
        if crossGrid > 0 { problems.append("\(crossGrid) reference(s) into another grid (stored before the rules; readers ignore them)") }
        let referenced = try store.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT sha256 FROM photo_refs WHERE IFNULL(deleted, 0) = 0 AND sha256 IS NOT NULL")
        }
        let blobs = try BlobStore(folder: folder.photos)
        let missing = referenced.filter { !blobs.contains($0) }.count
        try store.close()
        print("\(data.data): \(referenced.count) photo(s) referenced, \(missing) not uploaded yet")
        if problems.isEmpty {
            print("ok")
        } else {
            for p in problems { print("problem: \(p)") }
            throw ExitCode(1)
        }
    }
}

/// `gridsync-server renew-certificate`: a new server certificate under the same CA.
struct RenewCertificateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renew-certificate",
        abstract:
            "Make a new server certificate and key under the folder's CA; devices keep syncing (they pin the CA). Restart `serve` to use it."
    )

    @OptionGroup var data: DataOption

    @Option(name: .customLong("host"), help: "Host names and addresses for the new certificate (default: those configured).")
    var hosts: [String] = []

    @Option(help: "Days the new certificate is valid.")
    var days: Int = 825

    func validate() throws {
        guard (1...3650).contains(days) else { throw ValidationError("--days must be 1 to 3650") }
    }

    func run() throws {
        let folder = DataFolder(data.data)
        var config = try folder.loadConfig()
        guard FileManager.default.fileExists(atPath: folder.caKey.path) else {
            throw ValidationError(
                "\(folder.caKey.path) is missing: this folder serves a certificate of your own CA; renew it with that CA and put it in place of server.pem and server-key.pem"
            )
        }
        if !hosts.isEmpty { config.hosts = hosts }
        let issued = try CertificateFactory.makeServerCertificate(
            hosts: config.hosts, caCertificatePEM: String(decoding: try Data(contentsOf: folder.caCertificate), as: UTF8.self),
            caKeyPEM: String(decoding: try Data(contentsOf: folder.caKey), as: UTF8.self), days: days)
        // Written beside, then renamed over the old ones: a crash leaves the old pair or the new.
        let key = folder.url.appendingPathComponent("server-key.pem.new")
        let certificate = folder.url.appendingPathComponent("server.pem.new")
        try? FileManager.default.removeItem(at: key)
        try DataFolder.writeSecret(issued.keyPEM, to: key)
        try DataFolder.pem(issued.certificatePEM).write(to: certificate, options: .atomic)
        guard rename(key.path, folder.serverKey.path) == 0, rename(certificate.path, folder.serverCertificate.path) == 0 else {
            throw ServerError.setup("cannot put the new certificate in place: \(String(cString: strerror(errno)))")
        }
        try folder.save(config)
        print("renewed the server certificate for \(config.hosts.joined(separator: ", ")), valid \(days) days: restart `serve` to use it")
    }
}

/// `gridsync-server renew-epoch`: a new store epoch, for a store restored from a backup by other
/// means than `backup` (which renews it itself): PostgreSQL's `pg_restore` or `pg_basebackup`.
/// Devices that synced after the backup notice the new epoch and sync again from the start, sending
/// what the backup lacks (protocol.md §4.3). Run it with every server stopped, before they serve.
struct RenewEpochCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renew-epoch", abstract: "Give a restored store a new epoch, so that devices send again what it lacks.")

    @OptionGroup var data: DataOption

    func run() async throws {
        let folder = DataFolder(data.data)
        let config = try folder.loadConfig()
        if let database = config.database {
            let address = try PostgresAddress(database)
            try await PostgresDatabase.withStore(address, newSite: .random(), logger: DataFolder.quietLogger) { store in
                _ = try await PostgresDeviceRegistry.open(client: store.client, logger: store.logger)
                try await PostgresDeviceRegistry.renewEpoch(client: store.client, logger: store.logger)
            }
        } else {
            try DeviceRegistry.renewEpoch(path: folder.registry.path)
        }
        print("renewed the store epoch of \(data.data): devices will sync again from the start")
    }
}
