import Crypto
import Foundation
import GRDB
import Logging
import PostgresNIO
import SyncCore
import SyncPostgres

/// Which grids may see a photo: those where a device showed it holds the bytes, by uploading them
/// whole or by answering a challenge over them. A record naming a hash is not enough: a hash alone
/// must not unlock another grid's photo.
final class PhotoGrants: Sendable {
    private let database: DatabaseQueue?
    /// Where the grants are kept instead of `database` (the servers' shared PostgreSQL database).
    private let postgres: PostgresPhotoGrants?
    /// The key challenges are derived from: random at every start for one server (a challenge
    /// lives minutes), or derived from the key every server shares (`sharedChallengeKey`), so
    /// that a challenge one server gave is answered to another.
    private let challengeKey: [UInt8]
    /// How long a challenge stays valid: its own period and the next.
    static let challengePeriodMillis: UInt64 = 10 * 60 * 1000

    /// Grants in the servers' PostgreSQL database, challenges keyed by `challengeKey`.
    init(postgres: PostgresPhotoGrants, challengeKey: [UInt8]) {
        self.database = nil
        self.postgres = postgres
        self.challengeKey = challengeKey
    }

    /// The challenge key of servers sharing the private key in `serverKeyPEM`.
    static func sharedChallengeKey(serverKeyPEM: Data) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Data("gridsync photo challenges".utf8), using: SymmetricKey(data: serverKeyPEM)))
    }

    init(path: String) throws {
        postgres = nil
        challengeKey = (0..<32).map { _ in UInt8.random(in: 0...255) }
        var config = Configuration()
        config.busyMode = .timeout(5)
        let database = try DatabaseQueue(path: path, configuration: config)
        self.database = database
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-photo-grants") { db in
            try db.execute(
                sql: """
                    CREATE TABLE photo_grants (sha256 TEXT NOT NULL, grid TEXT NOT NULL, PRIMARY KEY (sha256, grid)) WITHOUT ROWID;
                    CREATE TABLE grants_meta (key TEXT PRIMARY KEY NOT NULL);
                    """)
        }
        try migrator.migrate(database)
    }

    /// Lets `grids` see photo `hash`.
    func grant(_ hash: String, grids: [String]) async throws {
        if grids.isEmpty { return }
        if let postgres { return try await postgres.grant(hash, grids: grids) }
        guard let database else { return }
        try await database.write { db in
            for grid in grids {
                try db.execute(sql: "INSERT OR IGNORE INTO photo_grants (sha256, grid) VALUES (?, ?)", arguments: [hash, grid])
            }
        }
    }

    /// The grids that may see photo `hash`.
    func grids(_ hash: String) async throws -> Set<String> {
        if let postgres { return try await postgres.grids(hash) }
        guard let database else { return [] }
        return Set(
            try await database.read { db in
                try String.fetchAll(db, sql: "SELECT grid FROM photo_grants WHERE sha256 = ?", arguments: [hash])
            })
    }

    /// Once per data folder: photos completed before grants existed stay visible to the grids
    /// whose records referenced them then (their uploaders'); from then on a grid needs a grant.
    func grantPhotosHeldBeforeGrants(blobs: BlobStore, store: any SyncStore) async throws {
        guard let database else { return }  // grants in PostgreSQL came with them
        let done = try await database.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM grants_meta WHERE key = 'legacy'") != nil }
        if done { return }
        for hash in blobs.completeHashes() { try await grant(hash, grids: try await store.photoGrids(hash)) }
        try await database.write { db in try db.execute(sql: "INSERT INTO grants_meta (key) VALUES ('legacy')") }
    }

    /// The challenge for `device` over photo `hash` in the period of `nowMillis` (64 hex digits).
    func challenge(device: String, hash: String, nowMillis: UInt64, periodsBack: UInt64 = 0) -> String {
        let period = nowMillis / Self.challengePeriodMillis - periodsBack
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(device)|\(hash)|\(period)".utf8), using: SymmetricKey(data: challengeKey))
        return Hex.string(mac)
    }

    /// True when `challenge` is one this server gave `device` for `hash` lately.
    func isCurrent(_ challenge: String, device: String, hash: String, nowMillis: UInt64) -> Bool {
        (0...1).contains {
            Self.sameInConstantTime(challenge, self.challenge(device: device, hash: hash, nowMillis: nowMillis, periodsBack: UInt64($0)))
        }
    }

    /// Compares two texts in time that depends only on their lengths (secrets and proofs).
    static func sameInConstantTime(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}

/// Photo grants in the PostgreSQL database the servers share.
struct PostgresPhotoGrants: Sendable {
    let client: PostgresPrimary
    let logger: Logger

    static func open(client: PostgresPrimary, logger: Logger) async throws -> PostgresPhotoGrants {
        try await client.transaction(logger: logger) { connection in
            // One creator at a time: servers starting together on an empty database.
            try await connection.query("SELECT pg_advisory_xact_lock(8)", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS photo_grants (sha256 text NOT NULL, grid text NOT NULL, PRIMARY KEY (sha256, grid))",
                logger: logger)
        }
        return PostgresPhotoGrants(client: client, logger: logger)
    }

    func grant(_ hash: String, grids: [String]) async throws {
        try await client.query(
            "INSERT INTO photo_grants (sha256, grid) SELECT \(hash), g FROM unnest(\(grids)::text[]) AS g ON CONFLICT DO NOTHING",
            logger: logger)
    }

    func grids(_ hash: String) async throws -> Set<String> {
        var grids: Set<String> = []
        for try await grid in try await client.query("SELECT grid FROM photo_grants WHERE sha256 = \(hash)", logger: logger).decode(
            String.self)
        {
            grids.insert(grid)
        }
        return grids
    }
}
