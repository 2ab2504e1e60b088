import Foundation
import GRDB
import SyncCore
import Synchronization

/// What a device may do: a worker writes its grids, township and county staff see and write
/// everything under their area, an operator manages the server.
enum DeviceRole: String, Codable, CaseIterable {
    case worker, township, county, `operator`
}

/// An enrolled device as the server knows it.
struct Device: Codable, Equatable {
    var id: String
    var site: String
    var role: DeviceRole
    var scopes: [String]
    var enrolledMillis: Int64
    var revokedMillis: Int64?
    var lastSyncMillis: Int64?
    /// The receipt: the highest local version of this device stored on the server.
    var acknowledged: Int64

    var areaScopes: [AreaPath] { scopes.compactMap { try? AreaPath($0) } }
}

/// Why a request is not authenticated or an enrollment is refused.
enum AuthError: Error, Equatable {
    case unknownCredential
    case revoked(deviceID: String)
    case invalidCode
    case invalid(String)
}

/// Enrollment codes and devices, in their own SQLite file. Codes and credentials are stored only as
/// SHA-256 digests; a code works once and expires.
final class DeviceRegistry: Sendable {
    private let database: DatabasePool
    /// Sync records not yet written, and whether a thread is writing them (see `recordSync`).
    private let waitingSyncs = Mutex<(records: [String: (acknowledged: Int64, nowMillis: Int64)], writing: Bool)>(([:], false))

    init(path: String) throws {
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
        try migrator.migrate(database)
    }

    /// Creates a one-time enrollment code for a device of `role` with `scopes`; returns the code.
    func createEnrollment(role: DeviceRole, scopes: [AreaPath], ttlSeconds: Int, nowMillis: Int64) throws -> String {
        guard !scopes.isEmpty else { throw AuthError.invalid("a device needs at least one scope") }
        let code = Secrets.enrollmentCode()
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO enrollments (code_digest, role, scopes, expires_millis) VALUES (?, ?, ?, ?)",
                arguments: [
                    Secrets.digest(Secrets.normalizeCode(code)), role.rawValue, scopes.map(\.string).joined(separator: " "),
                    nowMillis + Int64(ttlSeconds) * 1000,
                ])
        }
        return code
    }

    /// Redeems `code` for a new device with site id `site`; returns the device and its credential.
    func enroll(code: String, site: SiteID, nowMillis: Int64) throws -> (Device, String) {
        let digest = Secrets.digest(Secrets.normalizeCode(code))
        let credential = Secrets.credential()
        let device = try database.write { db -> Device in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM enrollments WHERE code_digest = ?", arguments: [digest]),
                (row["used_by"] as String?) == nil, (row["expires_millis"] as Int64) > nowMillis
            else { throw AuthError.invalidCode }
            let id = "dev-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
            let device = Device(
                id: id, site: site.hex, role: DeviceRole(rawValue: row["role"]) ?? .worker,
                scopes: (row["scopes"] as String).split(separator: " ").map(String.init), enrolledMillis: nowMillis,
                revokedMillis: nil, lastSyncMillis: nil, acknowledged: 0)
            try db.execute(sql: "UPDATE enrollments SET used_by = ? WHERE code_digest = ?", arguments: [id, digest])
            try db.execute(
                sql: "INSERT INTO devices (id, credential_digest, site, role, scopes, enrolled_millis) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    id, Secrets.digest(credential), site.hex, device.role.rawValue, device.scopes.joined(separator: " "), nowMillis,
                ])
            return device
        }
        return (device, credential)
    }

    /// The device holding `credential`; throws when unknown or revoked.
    func authenticate(credential: String) throws -> Device {
        let digest = Secrets.digest(credential)
        guard
            let row = try database.read({ db in
                try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM devices WHERE credential_digest = ?"), arguments: [digest])
            })
        else { throw AuthError.unknownCredential }
        let device = Self.device(row)
        if device.revokedMillis != nil { throw AuthError.revoked(deviceID: device.id) }
        return device
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
    /// Written without waiting for the disk (enrollments and revocations do wait): a power cut may
    /// lose the last moments' sync times, which only inform — receipts are recomputed from what
    /// devices send, and the records themselves are in the store. This keeps one fsync per sync.
    ///
    /// Records that arrive while another thread is writing are left to it: that thread writes
    /// everything waiting, one transaction per round, before it returns. A burst of syncs costs a
    /// few transactions, not one each.
    func recordSync(_ id: String, acknowledged: Int64, nowMillis: Int64) throws {
        let writeHere = waitingSyncs.withLock { state in
            let old = state.records[id]
            state.records[id] = (max(old?.acknowledged ?? 0, acknowledged), max(old?.nowMillis ?? 0, nowMillis))
            if state.writing { return false }
            state.writing = true
            return true
        }
        guard writeHere else { return }
        while true {
            let records = waitingSyncs.withLock { state in
                let records = state.records
                state.records = [:]
                if records.isEmpty { state.writing = false }
                return records
            }
            if records.isEmpty { return }
            do {
                try database.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA synchronous = NORMAL")
                    defer { try? db.execute(sql: "PRAGMA synchronous = FULL") }
                    try db.inTransaction {
                        let update = try db.cachedStatement(
                            sql: "UPDATE devices SET acknowledged = max(acknowledged, ?), last_sync_millis = ? WHERE id = ?")
                        for (device, record) in records {
                            try update.execute(arguments: [record.acknowledged, record.nowMillis, device])
                        }
                        return .commit
                    }
                }
            } catch {
                // Put them back for the next writer (newer records of the same device win).
                waitingSyncs.withLock { state in
                    state.records.merge(records) { newer, older in
                        (max(newer.acknowledged, older.acknowledged), max(newer.nowMillis, older.nowMillis))
                    }
                    state.writing = false
                }
                throw error
            }
        }
    }

    /// Every device, by enrollment time.
    func devices() throws -> [Device] {
        try database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM devices ORDER BY enrolled_millis, id").map(Self.device) }
    }

    static func device(_ row: Row) -> Device {
        Device(
            id: row["id"], site: row["site"], role: DeviceRole(rawValue: row["role"]) ?? .worker,
            scopes: (row["scopes"] as String).split(separator: " ").map(String.init), enrolledMillis: row["enrolled_millis"],
            revokedMillis: row["revoked_millis"], lastSyncMillis: row["last_sync_millis"], acknowledged: row["acknowledged"])
    }
}
