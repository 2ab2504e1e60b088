import Foundation
import GRDB
import Logging
import SyncCore
import Synchronization

/// An enrolled device as the server knows it.
struct Device: Codable, Equatable {
    var id: String
    var site: String
    var role: DeviceRole
    /// The enrolled person (nil for devices enrolled before names were recorded).
    var name: String?
    var scopes: [String]
    var enrolledMillis: Int64
    var revokedMillis: Int64?
    var lastSyncMillis: Int64?
    /// The receipt: the highest local version of this device stored on the server.
    var acknowledged: Int64
    /// Site ids of the device folder it took over (`gridsync init --adopt`), whose writes it may send.
    var formerSites: [String] = []

    var areaScopes: [AreaPath] { scopes.compactMap { try? AreaPath($0) } }

    /// The sender its pushes are merged as: bound to its site, role, person and scopes. A device
    /// enrolled before names were recorded has its author columns unchecked.
    var sender: Sender {
        var sender = Sender(
            scopes: areaScopes, site: SiteID(hex: site), formerSites: Set(formerSites.compactMap(SiteID.init(hex:))), role: role,
            author: name.map { .named($0) } ?? .unchecked)
        // What a device of a later release writes that this one does not know is kept and sent on.
        sender.keepsUnknown = true
        return sender
    }
}

/// Why a request is not authenticated or an enrollment is refused.
enum AuthError: Error, Equatable {
    case unknownCredential
    case revoked(deviceID: String)
    case invalidCode
    case invalid(String)
    /// Another device already has this site id.
    case siteTaken
}

/// Enrollment codes and devices, in their own SQLite file. Codes and credentials are stored only as
/// SHA-256 digests; a code works once and expires.
final class DeviceRegistry: Sendable {
    private let database: DatabasePool
    /// Sync records not yet written, whether a write of them is scheduled, and how many writes have
    /// taken records off the queue (see `recordSync`).
    private let waitingSyncs = Mutex<(records: [String: SyncRecord], scheduled: Bool, flushes: Int)>(([:], false, 0))
    /// How long a sync record waits to be written with the others that arrive meanwhile.
    let syncRecordDelay: DispatchTimeInterval

    struct SyncRecord: Equatable {
        var acknowledged: Int64
        var nowMillis: Int64

        func merged(_ other: SyncRecord) -> SyncRecord {
            SyncRecord(acknowledged: max(acknowledged, other.acknowledged), nowMillis: max(nowMillis, other.nowMillis))
        }
    }

    /// Where a failed background write of sync records is reported.
    let logger: Logger?

    init(path: String, syncRecordDelay: DispatchTimeInterval = .milliseconds(100), logger: Logger? = nil) throws {
        self.syncRecordDelay = syncRecordDelay
        self.logger = logger
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        database = try DatabasePool(path: path, configuration: config)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-devices") { db in
            try db.execute(
                sql: """
                    CREATE TABLE enrollments (
                        code_digest TEXT PRIMARY KEY NOT NULL,
                        role TEXT NOT NULL,
                        scopes TEXT NOT NULL,
                        expires_millis INTEGER NOT NULL,
                        used_by TEXT);
                    CREATE TABLE devices (
                        id TEXT PRIMARY KEY NOT NULL,
                        credential_digest TEXT NOT NULL UNIQUE,
                        site TEXT NOT NULL,
                        role TEXT NOT NULL,
                        scopes TEXT NOT NULL,
                        enrolled_millis INTEGER NOT NULL,
                        revoked_millis INTEGER,
                        last_sync_millis INTEGER,
                        acknowledged INTEGER NOT NULL DEFAULT 0);
                    """)
        }
        migrator.registerMigration("v2-names") { db in
            try db.execute(
                sql: """
                    ALTER TABLE enrollments ADD COLUMN name TEXT;
                    ALTER TABLE devices ADD COLUMN name TEXT;
                    CREATE INDEX devices_site ON devices(site);
                    """)
        }
        migrator.registerMigration("v3-store-epoch") { db in
            // Which life of the store this is: a backup served in its place gets a new one, and
            // devices that see it change sync again from the start (protocol.md §4.3).
            try db.execute(sql: "CREATE TABLE server_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)")
            try db.execute(sql: "INSERT INTO server_meta (key, value) VALUES ('epoch', ?)", arguments: [Self.newEpoch()])
        }
        migrator.registerMigration("v4-former-sites") { db in
            // The sites of a device folder a device took over on another handheld (protocol.md §4.2).
            try db.execute(sql: "ALTER TABLE devices ADD COLUMN former_sites TEXT NOT NULL DEFAULT ''")
        }
        try migrator.migrate(database)
        epoch = try database.read { db in try String.fetchOne(db, sql: "SELECT value FROM server_meta WHERE key = 'epoch'") } ?? ""
    }

    /// The store's epoch, 16 hex digits: new at `init`, new in every backup.
    let epoch: String

    static func newEpoch() -> String { Hex.string((0..<8).map { _ in UInt8.random(in: 0...255) }) }

    /// Gives the registry at `path` (a backup's) a new epoch, so devices that synced with the
    /// server after the backup was taken notice when it is served in the server's place.
    static func renewEpoch(path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "UPDATE server_meta SET value = ? WHERE key = 'epoch'", arguments: [newEpoch()])
        }
        try queue.close()
    }

    /// Creates a one-time enrollment code for a device of `role` with `scopes`; returns the code.
    func createEnrollment(role: DeviceRole, scopes: [AreaPath], name: String? = nil, ttlSeconds: Int, nowMillis: Int64) throws -> String {
        guard !scopes.isEmpty else { throw AuthError.invalid("a device needs at least one scope") }
        let code = Secrets.enrollmentCode()
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO enrollments (code_digest, role, scopes, expires_millis, name) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    Secrets.digest(Secrets.normalizeCode(code)), role.rawValue, scopes.map(\.string).joined(separator: " "),
                    nowMillis + Int64(ttlSeconds) * 1000, name,
                ])
        }
        return code
    }

    /// Redeems `code` for a new device with site id `site`; returns the device and its credential.
    /// A site id belongs to one device: a site another device has is refused (the code stays
    /// unused), and so is `reserved` (the server's own). The person is the operator's name for the
    /// code, else the device's id.
    /// With `formerCredential` (a known device's, revoked or not), the new device continues that
    /// device's folder: it may also send changes under that device's sites.
    func enroll(code: String, site: SiteID, reserved: SiteID? = nil, formerCredential: String? = nil, nowMillis: Int64) throws -> (
        Device, String
    ) {
        let digest = Secrets.digest(Secrets.normalizeCode(code))
        let credential = Secrets.credential()
        let device = try database.write { db -> Device in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM enrollments WHERE code_digest = ?", arguments: [digest]),
                (row["used_by"] as String?) == nil, (row["expires_millis"] as Int64) > nowMillis
            else { throw AuthError.invalidCode }
            if try site == reserved || Bool.fetchOne(db, sql: "SELECT 1 FROM devices WHERE site = ?", arguments: [site.hex]) != nil {
                throw AuthError.siteTaken
            }
            var formerSites: [String] = []
            if let formerCredential {
                guard
                    let former = try Row.fetchOne(
                        db, sql: "SELECT * FROM devices WHERE credential_digest = ?", arguments: [Secrets.digest(formerCredential)])
                else { throw AuthError.invalid("the former credential belongs to no device of this server") }
                let device = Self.device(former)
                formerSites = device.formerSites + [device.site]
            }
            let device = Device.enrolled(
                role: DeviceRole(rawValue: row["role"]) ?? .worker, scopes: row["scopes"], name: row["name"], site: site,
                formerSites: formerSites, nowMillis: nowMillis)
            try db.execute(sql: "UPDATE enrollments SET used_by = ? WHERE code_digest = ?", arguments: [device.id, digest])
            try db.execute(
                sql: """
                    INSERT INTO devices (id, credential_digest, site, role, scopes, enrolled_millis, name, former_sites)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    device.id, Secrets.digest(credential), site.hex, device.role.rawValue, device.scopes.joined(separator: " "), nowMillis,
                    device.name, formerSites.joined(separator: " "),
                ])
            return device
        }
        return (device, credential)
    }

    /// The device holding `credential`; throws when unknown or revoked.
    func authenticate(credential: String) throws -> Device {
        let digest = Secrets.digest(credential)
        while true {
            let flushes = waitingSyncs.withLock { $0.flushes }
            guard
                // One statement is its own snapshot: no transaction around it (every request pays for one).
                let row = try database.unsafeRead({ db in
                    try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM devices WHERE credential_digest = ?"), arguments: [digest])
                })
            else { throw AuthError.unknownCredential }
            var device = Self.device(row)
            if device.revokedMillis != nil { throw AuthError.revoked(deviceID: device.id) }
            // A receipt recorded but not yet written still counts. If a write took records off the
            // queue since the file was read, read again: the receipt may be in neither.
            let (waiting, flushesNow) = waitingSyncs.withLock { ($0.records[device.id], $0.flushes) }
            if flushesNow != flushes { continue }
            if let waiting { device.acknowledged = max(device.acknowledged, waiting.acknowledged) }
            return device
        }
    }

    /// Revokes device `id` at once; false when there is no such device.
    func revoke(_ id: String, nowMillis: Int64) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "UPDATE devices SET revoked_millis = IFNULL(revoked_millis, ?) WHERE id = ?", arguments: [nowMillis, id])
            return db.changesCount > 0
        }
    }

    /// Records a completed sync and the device's new receipt (which only moves forward).
    ///
    /// Sync records are written in the background, `syncRecordDelay` after the first one waiting,
    /// together with every record that arrived meanwhile, without waiting for the disk (enrollments
    /// and revocations do wait): a burst of syncs costs a few transactions, not one each. A crash or
    /// power cut may lose the last moments' sync times, which only inform: receipts are recomputed
    /// from what devices send, the changes themselves are in the store, and `authenticate` counts a
    /// receipt still waiting. `flushSyncRecords` writes what is waiting at once (on shutdown).
    func recordSync(_ id: String, acknowledged: Int64, nowMillis: Int64) {
        let record = SyncRecord(acknowledged: acknowledged, nowMillis: nowMillis)
        let schedule = waitingSyncs.withLock { state in
            state.records[id] = state.records[id].map { $0.merged(record) } ?? record
            if state.scheduled { return false }
            state.scheduled = true
            return true
        }
        if schedule { scheduleFlush() }
    }

    private func scheduleFlush(after delay: DispatchTimeInterval? = nil) {
        DispatchQueue.global().asyncAfter(deadline: .now() + (delay ?? syncRecordDelay)) { [self] in
            waitingSyncs.withLock { $0.scheduled = false }
            do {
                try flushSyncRecords()
            } catch {
                // The records stay in the queue: try again in a second (or sooner, with the next sync).
                let count = waitingSyncs.withLock { state in
                    state.scheduled = true
                    return state.records.count
                }
                logger?.error("sync records not written", metadata: ["waiting": "\(count)", "error": "\(error)"])
                scheduleFlush(after: .seconds(1))
            }
        }
    }

    /// Writes every sync record waiting, in one transaction. Records stay in the queue until they
    /// are written, so `authenticate` sees every receipt either there or in the file.
    func flushSyncRecords() throws {
        let records = waitingSyncs.withLock { $0.records }
        if records.isEmpty { return }
        try database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            defer { try? db.execute(sql: "PRAGMA synchronous = FULL") }
            try db.inTransaction {
                // Both only move forward, whatever order two writes of the same device come in.
                let update = try db.cachedStatement(
                    sql: """
                        UPDATE devices SET acknowledged = max(acknowledged, ?),
                        last_sync_millis = max(ifnull(last_sync_millis, 0), ?) WHERE id = ?
                        """)
                for (device, record) in records {
                    try update.execute(arguments: [record.acknowledged, record.nowMillis, device])
                }
                return .commit
            }
        }
        waitingSyncs.withLock { state in
            state.flushes += 1
            for (device, written) in records {
                if let waiting = state.records[device], written.merged(waiting) == written { state.records[device] = nil }
            }
        }
    }

    /// Every device, by enrollment time.
    func devices() throws -> [Device] {
        try database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM devices ORDER BY enrolled_millis, id").map(Self.device) }
    }

    static func device(_ row: Row) -> Device {
        Device(
            id: row["id"], site: row["site"], role: DeviceRole(rawValue: row["role"]) ?? .worker, name: row["name"],
            scopes: (row["scopes"] as String).split(separator: " ").map(String.init), enrolledMillis: row["enrolled_millis"],
            revokedMillis: row["revoked_millis"], lastSyncMillis: row["last_sync_millis"], acknowledged: row["acknowledged"],
            formerSites: ((row["former_sites"] as String?) ?? "").split(separator: " ").map(String.init))
    }
}
