import Foundation
import SyncCore
import Testing

@testable import SyncServer

/// The device registry's sync records, written late and together.
@Suite struct RegistryTests {
    @Test func syncRecordsWaitThenGoInTogetherAndOnlyMoveForward() throws {
        let folder = try RegistryFolder()
        defer { folder.remove() }
        let path = folder.path
        // A minute's delay: nothing is written unless flushed here.
        let registry = try DeviceRegistry(path: path, syncRecordDelay: .seconds(60))
        let code = try registry.createEnrollment(role: .worker, scopes: [try AreaPath("xizang/a/g1")], ttlSeconds: 3600, nowMillis: 1_000)
        let (device, credential) = try registry.enroll(code: code, site: SiteID(rawValue: 7), nowMillis: 1_000)
        // What another process (`gridsync-server devices`) reads from the file.
        func onFile() throws -> Device { try #require(try DeviceRegistry(path: path).devices().first { $0.id == device.id }) }

        registry.recordSync(device.id, acknowledged: 40, nowMillis: 2_000)
        #expect(try registry.authenticate(credential: credential).acknowledged == 40)  // counted while waiting
        #expect(try onFile().acknowledged == 0 && (try onFile().lastSyncMillis) == nil)  // not written yet

        try registry.flushSyncRecords()
        #expect(try onFile().acknowledged == 40 && (try onFile().lastSyncMillis) == 2_000)

        // An older record (a retried sync's) moves neither the receipt nor the last sync back.
        registry.recordSync(device.id, acknowledged: 30, nowMillis: 1_500)
        try registry.flushSyncRecords()
        #expect(try onFile().acknowledged == 40 && (try onFile().lastSyncMillis) == 2_000)
        #expect(try registry.authenticate(credential: credential).acknowledged == 40)
    }

    /// Codes and credentials are stored only as SHA-256 digests: neither appears in the registry's
    /// files (the database and its write-ahead log), their digests do.
    @Test func codesAndCredentialsAreStoredOnlyAsDigests() throws {
        let folder = try RegistryFolder()
        defer { folder.remove() }
        let path = folder.path
        let registry = try DeviceRegistry(path: path)
        let code = try registry.createEnrollment(role: .worker, scopes: [try AreaPath("xizang/a/g1")], ttlSeconds: 60, nowMillis: 1)
        let (_, credential) = try registry.enroll(code: code, site: SiteID(rawValue: 9), nowMillis: 2)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.url.path).filter { $0.hasPrefix("devices.sqlite") }
        let stored = try files.reduce(Data()) { $0 + (try Data(contentsOf: folder.url.appendingPathComponent($1))) }
        func holds(_ text: String) -> Bool { stored.range(of: Data(text.utf8)) != nil }
        #expect(!holds(credential) && !holds(code) && !holds(Secrets.normalizeCode(code)))
        #expect(holds(Secrets.digest(credential)) && holds(Secrets.digest(Secrets.normalizeCode(code))))
    }

    @Test func waitingSyncRecordsAreWrittenInTheBackground() throws {
        let folder = try RegistryFolder()
        defer { folder.remove() }
        let path = folder.path
        let registry = try DeviceRegistry(path: path, syncRecordDelay: .milliseconds(20))
        var devices: [Device] = []
        for n in 0..<3 {
            let code = try registry.createEnrollment(role: .worker, scopes: [try AreaPath("xizang/a/g\(n)")], ttlSeconds: 60, nowMillis: 1)
            devices.append(try registry.enroll(code: code, site: SiteID(rawValue: UInt64(n + 1)), nowMillis: 1).0)
        }
        for (n, device) in devices.enumerated() { registry.recordSync(device.id, acknowledged: Int64(10 + n), nowMillis: 5) }
        // Nobody flushes here: the timer must.
        let reader = try DeviceRegistry(path: path)
        let deadline = Date().addingTimeInterval(10)
        while try reader.devices().contains(where: { $0.lastSyncMillis == nil }), Date() < deadline { usleep(10_000) }
        let written = try reader.devices()
        #expect(written.map(\.acknowledged).sorted() == [10, 11, 12] && written.allSatisfy { $0.lastSyncMillis == 5 })
    }
}

/// A fresh folder for a registry file, removed by `remove()`.
struct RegistryFolder {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-registry-\(UUID().uuidString.prefix(8))")
    var path: String { url.appendingPathComponent("devices.sqlite").path }

    init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }

    func remove() { try? FileManager.default.removeItem(at: url) }
}
