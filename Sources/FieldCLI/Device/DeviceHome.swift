import Foundation
import SyncCore

#if canImport(Glibc)
    import Glibc
#endif

/// What `gridsync init` learned at enrollment: the server, this device's name, role and scopes.
package struct DeviceConfig: Codable, Sendable {
    package var server: String
    package var device: String
    package var role: String
    package var scopes: [String]
    package var site: String
    /// The person the operator enrolled this device for: the author of its events and reports.
    package var name: String?
    package var enrolledAtMillis: UInt64
    /// The newest changeset format the server reads, as it last said (nil: not known, so 1).
    package var serverChangesetFormat: Int?
    /// The handheld this folder belongs to (`MachineIdentity`); nil until first seen. A folder
    /// found on another handheld is a copy, which must take its own site before it records.
    package var machine: String?

    package init(
        server: String, device: String, role: String, scopes: [String], site: String, name: String?, enrolledAtMillis: UInt64,
        serverChangesetFormat: Int? = nil, machine: String? = nil
    ) {
        self.serverChangesetFormat = serverChangesetFormat
        self.machine = machine
        self.server = server
        self.device = device
        self.role = role
        self.scopes = scopes
        self.site = site
        self.name = name
        self.enrolledAtMillis = enrolledAtMillis
    }
}

/// The device folder: `device.json`, the `credential` (mode 0600), the pinned `ca.pem`, the replica
/// `replica.sqlite`, the photos (`photos/`) and which of them the server holds
/// (`photos-on-server.json`).
package struct DeviceHome: Sendable {
    package let folder: URL

    /// `--home`, else `$GRIDSYNC_HOME`, else `~/.gridsync`.
    package static func resolve(_ option: String?) -> DeviceHome {
        if let option { return DeviceHome(folder: URL(fileURLWithPath: option)) }
        if let env = ProcessInfo.processInfo.environment["GRIDSYNC_HOME"], !env.isEmpty {
            return DeviceHome(folder: URL(fileURLWithPath: env))
        }
        return DeviceHome(folder: FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".gridsync"))
    }

    package var configURL: URL { folder.appendingPathComponent("device.json") }
    package var credentialURL: URL { folder.appendingPathComponent("credential") }
    package var caURL: URL { folder.appendingPathComponent("ca.pem") }
    package var replicaPath: String { folder.appendingPathComponent("replica.sqlite").path }
    package var photosFolder: URL { folder.appendingPathComponent("photos") }
    package var onServerURL: URL { folder.appendingPathComponent("photos-on-server.json") }
    /// The devices under a county or township device's scopes, as the server last listed them.
    package var devicesURL: URL { folder.appendingPathComponent("devices.json") }

    /// That list, nil when this device never received one.
    package func deviceListing() -> DeviceListing? {
        guard let data = try? Data(contentsOf: devicesURL) else { return nil }
        return try? JSONDecoder().decode(DeviceListing.self, from: data)
    }

    package var isInitialised: Bool { FileManager.default.fileExists(atPath: configURL.path) }

    package func config() throws -> DeviceConfig {
        guard let data = try? Data(contentsOf: configURL) else {
            throw Failure(
                "not_initialised",
                tr("device_home.no_device_set_up_in", folder.path),
                status: .config)
        }
        do {
            return try JSONDecoder().decode(DeviceConfig.self, from: data)
        } catch {
            // A file that is there but unreadable is damage (74), not a device never set up (78).
            throw Failure(
                "bad_config",
                tr("device_home.damaged_restore_device_folder_from", configURL.path), status: .io)
        }
    }

    package func credential() throws -> String {
        guard let text = try? String(contentsOf: credentialURL, encoding: .utf8), !text.isEmpty else {
            throw Failure("no_credential", tr("device_home.device_has_no_credential_enroll"), status: .config)
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The replica, for recording and syncing; callers read `config()` first, which says so when
    /// the device is not set up. A folder copied here from another handheld is refused until it is
    /// adopted (`gridsync init --adopt`): two handhelds writing under one site id would stamp
    /// different values with the same versions. A folder set up before handhelds were recorded
    /// takes this one.
    package func openReplica() throws -> Replica {
        var config = try config()
        if let here = MachineIdentity.current() {
            if let setUp = config.machine, setUp != here {
                throw Failure(
                    "copied_device",
                    tr("device_home.this_device_folder_was_set", setUp.prefix(8), here.prefix(8)), status: .config)
            }
            if config.machine == nil {
                config.machine = here
                try save(config)
            }
        }
        return try Self.replica(at: replicaPath)
    }

    /// The replica, to read (status, backups): also in a folder copied from another handheld.
    package func readReplica() throws -> Replica { try Self.replica(at: replicaPath) }

    /// Opens (or creates) the replica at `path` with the device's wall clock.
    package static func replica(at path: String) throws -> Replica {
        var configuration = Replica.Configuration()
        configuration.wallClock = SkewedWallClock.fromEnvironment()
        configuration.gridIndexes = true
        configuration.mappedReadBytes = 256 << 20
        configuration.writerCacheBytes = 64 << 20
        return try Replica(path: path, configuration: configuration)
    }

    package func blobs() throws -> BlobStore { try BlobStore(folder: photosFolder) }

    /// The hashes of the photos the server is known to hold completely.
    package func photosOnServer() -> Set<String> {
        guard let data = try? Data(contentsOf: onServerURL), let list = try? JSONDecoder().decode([String].self, from: data) else {
            return []
        }
        return Set(list)
    }

    /// Hashes of photos held here, referenced by a living record, and not known to be on the server.
    package func photosWaiting(replica: Replica, blobs: BlobStore) throws -> [String] {
        let onServer = photosOnServer()
        return try replica.referencedPhotos().filter { !onServer.contains($0) && blobs.contains($0) }
    }

    package func savePhotosOnServer(_ hashes: Set<String>) throws {
        try Self.writeDurably(try JSONEncoder().encode(hashes.sorted()), to: onServerURL, mode: 0o644)
    }

    package func save(_ config: DeviceConfig) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try Self.writeDurably(try encoder.encode(config), to: configURL, mode: 0o644)
    }

    package func saveCredential(_ credential: String) throws {
        try Self.writeDurably(Data(credential.utf8), to: credentialURL, mode: 0o600)
    }

    /// Writes `data` to a new file with permissions `mode`, flushes it, and renames it over `url`:
    /// a crash leaves the old file or the new one, never a mix.
    package static func writeDurably(_ data: Data, to url: URL, mode: mode_t) throws {
        let temporary = url.path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { throw Failure("io", "cannot write \(temporary): \(String(cString: strerror(errno)))", status: .io) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == data.count, synced == 0, rename(temporary, url.path) == 0 else {
            unlink(temporary)
            throw Failure("io", "cannot write \(url.path): \(String(cString: strerror(errno)))", status: .io)
        }
        let dir = open(url.deletingLastPathComponent().path, O_RDONLY)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }
}

/// The system clock shifted by `GRIDSYNC_CLOCK_SKEW_SECONDS` (may be negative): a way to rehearse a
/// handheld whose clock is wrong, as in scenario S4. Unset, it is the system clock.
struct SkewedWallClock: WallClock {
    let skewMillis: Int64

    static func fromEnvironment() -> any WallClock {
        guard let text = ProcessInfo.processInfo.environment["GRIDSYNC_CLOCK_SKEW_SECONDS"], let seconds = Int64(text), seconds != 0 else {
            return SystemWallClock()
        }
        return SkewedWallClock(skewMillis: seconds * 1000)
    }

    func nowMillis() -> UInt64 {
        let now = Int64(Date().timeIntervalSince1970 * 1000) + skewMillis
        return UInt64(max(1, now))
    }
}

/// Which handheld this is: `$GRIDSYNC_MACHINE_ID`, else the system's machine id (`/etc/machine-id`,
/// `/var/lib/dbus/machine-id`), else nil (then copies cannot be told apart and are not checked).
package enum MachineIdentity {
    package static func current() -> String? {
        if let set = ProcessInfo.processInfo.environment["GRIDSYNC_MACHINE_ID"], !set.isEmpty { return set }
        for path in ["/etc/machine-id", "/var/lib/dbus/machine-id"] {
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if !id.isEmpty { return id }
            }
        }
        return nil
    }
}
