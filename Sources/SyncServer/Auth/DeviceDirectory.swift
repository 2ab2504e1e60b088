import Foundation
import Logging
import PostgresNIO
import SyncCore
import SyncPostgres

/// Enrollment codes, devices and their receipts: `DeviceRegistry` in the data folder's SQLite
/// file, or `PostgresDeviceRegistry` in the database that holds the records, which every server
/// sharing it sees (an enrollment or a revocation on one is in force on all at the next request).
protocol DeviceDirectory: Sendable {
    /// The store's epoch, 16 hex digits (protocol.md §4.3).
    var epoch: String { get }
    /// Creates a one-time enrollment code for a device of `role` with `scopes`; returns the code.
    func createEnrollment(role: DeviceRole, scopes: [AreaPath], name: String?, ttlSeconds: Int, nowMillis: Int64) async throws -> String
    /// Redeems `code` for a new device with site id `site` (see `DeviceRegistry.enroll`).
    func enroll(code: String, site: SiteID, reserved: SiteID?, formerCredential: String?, nowMillis: Int64) async throws -> (Device, String)
    /// The device holding `credential`; throws when unknown or revoked.
    func authenticate(credential: String) async throws -> Device
    /// Revokes device `id` at once; false when there is no such device.
    func revoke(_ id: String, nowMillis: Int64) async throws -> Bool
    /// Records a completed sync and the device's receipt (which only moves forward).
    func recordSync(_ id: String, acknowledged: Int64, nowMillis: Int64) async throws
    /// Writes sync records still waiting, if the directory keeps any.
    func flushSyncRecords() async throws
    /// Every device, by enrollment time.
    func devices() async throws -> [Device]
}

extension DeviceRegistry: DeviceDirectory {}

extension Device {
    /// A device enrolled now from an enrollment of `role`, `scopes` and (the operator's) `name`:
    /// the person is the operator's to name, and the device's id stands in when none was given.
    static func enrolled(role: DeviceRole, scopes: String, name: String?, site: SiteID, formerSites: [String], nowMillis: Int64) -> Device {
        let id = "dev-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        var device = Device(
            id: id, site: site.hex, role: role, name: name ?? id, scopes: scopes.split(separator: " ").map(String.init),
            enrolledMillis: nowMillis, revokedMillis: nil, lastSyncMillis: nil, acknowledged: 0)
        device.formerSites = formerSites
        return device
    }
}

/// The device directory in PostgreSQL, beside the records (`init --store`).
struct PostgresDeviceRegistry: DeviceDirectory {
    let client: PostgresPrimary
    let logger: Logger
    let epoch: String

    static let statements = [
        """
        CREATE TABLE IF NOT EXISTS enrollments (
            code_digest text PRIMARY KEY, role text NOT NULL, scopes text NOT NULL, expires_millis bigint NOT NULL,
            used_by text, name text)
        """,
        """
        CREATE TABLE IF NOT EXISTS devices (
            id text PRIMARY KEY, credential_digest text NOT NULL UNIQUE, site text NOT NULL UNIQUE, role text NOT NULL,
            scopes text NOT NULL, enrolled_millis bigint NOT NULL, revoked_millis bigint, last_sync_millis bigint,
            acknowledged bigint NOT NULL DEFAULT 0, name text, former_sites text NOT NULL DEFAULT '')
        """,
        "CREATE TABLE IF NOT EXISTS server_meta (key text PRIMARY KEY, value text NOT NULL)",
    ]

    /// Opens the directory, creating its tables on first use.
    static func open(client: PostgresPrimary, logger: Logger) async throws -> PostgresDeviceRegistry {
        try await client.transaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(7)", logger: logger)
            for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
            try await connection.query(
                "INSERT INTO server_meta (key, value) VALUES ('epoch', \(DeviceRegistry.newEpoch())) ON CONFLICT (key) DO NOTHING",
                logger: logger)
        }
        var epoch = ""
        for try await value in try await client.query("SELECT value FROM server_meta WHERE key = 'epoch'", logger: logger).decode(
            String.self)
        {
            epoch = value
        }
        return PostgresDeviceRegistry(client: client, logger: logger, epoch: epoch)
    }

    static let deviceColumns =
        "id, site, role, name, scopes, enrolled_millis, revoked_millis, last_sync_millis, acknowledged, former_sites"

    static func device(_ row: PostgresRow) throws -> Device {
        let (id, site, role, name, scopes, enrolled, revoked, lastSync, acknowledged, former) = try row.decode(
            (String, String, String, String?, String, Int64, Int64?, Int64?, Int64, String).self)
        return Device(
            id: id, site: site, role: DeviceRole(rawValue: role) ?? .worker, name: name,
            scopes: scopes.split(separator: " ").map(String.init),
            enrolledMillis: enrolled, revokedMillis: revoked, lastSyncMillis: lastSync, acknowledged: acknowledged,
            formerSites: former.split(separator: " ").map(String.init))
    }

    func createEnrollment(role: DeviceRole, scopes: [AreaPath], name: String?, ttlSeconds: Int, nowMillis: Int64) async throws -> String {
        guard !scopes.isEmpty else { throw AuthError.invalid("a device needs at least one scope") }
        let code = Secrets.enrollmentCode()
        let scopeText = scopes.map(\.string).joined(separator: " ")
        try await client.query(
            """
            INSERT INTO enrollments (code_digest, role, scopes, expires_millis, name)
            VALUES (\(Secrets.digest(Secrets.normalizeCode(code))), \(role.rawValue), \(scopeText), \(nowMillis + Int64(ttlSeconds) * 1000), \(name))
            """, logger: logger)
        return code
    }

    func enroll(code: String, site: SiteID, reserved: SiteID?, formerCredential: String?, nowMillis: Int64) async throws -> (Device, String)
    {
        do {
            return try await redeem(code: code, site: site, reserved: reserved, formerCredential: formerCredential, nowMillis: nowMillis)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            // Another server enrolled a device with this site at the same moment.
            throw AuthError.siteTaken
        }
    }

    private func redeem(code: String, site: SiteID, reserved: SiteID?, formerCredential: String?, nowMillis: Int64) async throws -> (
        Device, String
    ) {
        let digest = Secrets.digest(Secrets.normalizeCode(code))
        let credential = Secrets.credential()
        let device = try await client.transaction(logger: logger) { connection -> Device in
            var enrollment: (role: String, scopes: String, name: String?)?
            for try await (role, scopes, name, used, expires) in try await connection.query(
                "SELECT role, scopes, name, used_by, expires_millis FROM enrollments WHERE code_digest = \(digest) FOR UPDATE",
                logger: logger
            ).decode((String, String, String?, String?, Int64).self) where used == nil && expires > nowMillis {
                enrollment = (role, scopes, name)
            }
            guard let enrollment else { throw AuthError.invalidCode }
            var taken = site == reserved
            for try await _ in try await connection.query("SELECT 1 FROM devices WHERE site = \(site.hex)", logger: logger) { taken = true }
            if taken { throw AuthError.siteTaken }
            var formerSites: [String] = []
            if let formerCredential {
                var former: Device?
                for try await row in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "SELECT \(Self.deviceColumns) FROM devices WHERE credential_digest = $1",
                        binds: try {
                            var b = PostgresBindings(); try b.append(Secrets.digest(formerCredential)); return b
                        }()), logger: logger)
                {
                    former = try Self.device(row)
                }
                guard let former else { throw AuthError.invalid("the former credential belongs to no device of this server") }
                formerSites = former.formerSites + [former.site]
            }
            let device = Device.enrolled(
                role: DeviceRole(rawValue: enrollment.role) ?? .worker, scopes: enrollment.scopes, name: enrollment.name, site: site,
                formerSites: formerSites, nowMillis: nowMillis)
            try await connection.query("UPDATE enrollments SET used_by = \(device.id) WHERE code_digest = \(digest)", logger: logger)
            try await connection.query(
                """
                INSERT INTO devices (id, credential_digest, site, role, scopes, enrolled_millis, name, former_sites)
                VALUES (\(device.id), \(Secrets.digest(credential)), \(site.hex), \(device.role.rawValue), \(device.scopes.joined(separator: " ")),
                \(nowMillis), \(device.name), \(formerSites.joined(separator: " ")))
                """, logger: logger)
            return device
        }
        return (device, credential)
    }

    func authenticate(credential: String) async throws -> Device {
        var found: Device?
        var binds = PostgresBindings()
        try binds.append(Secrets.digest(credential))
        for try await row in try await client.query(
            PostgresQuery(unsafeSQL: "SELECT \(Self.deviceColumns) FROM devices WHERE credential_digest = $1", binds: binds), logger: logger
        ) {
            found = try Self.device(row)
        }
        guard let device = found else { throw AuthError.unknownCredential }
        if device.revokedMillis != nil { throw AuthError.revoked(deviceID: device.id) }
        return device
    }

    func revoke(_ id: String, nowMillis: Int64) async throws -> Bool {
        var revoked = false
        for try await _ in try await client.query(
            "UPDATE devices SET revoked_millis = coalesce(revoked_millis, \(nowMillis)) WHERE id = \(id) RETURNING id", logger: logger)
        {
            revoked = true
        }
        return revoked
    }

    func recordSync(_ id: String, acknowledged: Int64, nowMillis: Int64) async throws {
        try await Self.recordSync(id, acknowledged: acknowledged, nowMillis: nowMillis, on: nil, client: client, logger: logger)
    }

    /// The receipt and last-sync time of device `id`, both only moving forward; on `connection`
    /// (inside a push's transaction) when given.
    static func recordSync(
        _ id: String, acknowledged: Int64, nowMillis: Int64, on connection: PostgresConnection?, client: PostgresPrimary, logger: Logger
    ) async throws {
        let query: PostgresQuery = """
            UPDATE devices SET acknowledged = greatest(acknowledged, \(acknowledged)),
            last_sync_millis = greatest(coalesce(last_sync_millis, 0), \(nowMillis)) WHERE id = \(id)
            """
        if let connection {
            try await connection.query(query, logger: logger)
        } else {
            try await client.query(query, logger: logger)
        }
    }

    func flushSyncRecords() async throws {}

    /// Gives the store a new epoch (after a restore from a backup: see `RenewEpochCommand`).
    static func renewEpoch(client: PostgresPrimary, logger: Logger) async throws {
        try await client.query("UPDATE server_meta SET value = \(DeviceRegistry.newEpoch()) WHERE key = 'epoch'", logger: logger)
    }

    func devices() async throws -> [Device] {
        var devices: [Device] = []
        for try await row in try await client.query(
            PostgresQuery(unsafeSQL: "SELECT \(Self.deviceColumns) FROM devices ORDER BY enrolled_millis, id"), logger: logger)
        {
            devices.append(try Self.device(row))
        }
        return devices
    }
}
