import Foundation
import SyncCore
import Testing

/// The operator's tools on a running server: an online backup that serves as it is, a check of
/// the stores, and a new server certificate under the same CA that devices accept without
/// enrolling again.
@Suite(.serialized) struct OperationsTests {
    @Test func aBackupTakenWhileServingIsADataFolderThatServes() async throws {
        let server = try LiveServer()
        defer { server.finish() }
        let worker = try TestDevice(server: server, name: "worker")
        try await worker.enroll(code: try server.enrollmentCode(scopes: [ServerTests.gridA], name: "扎西"))
        for i in 0..<20 { try worker.replica.addHousehold(grid: ServerTests.gridA, HouseholdFields(doorPlate: "\(i)号")) }
        let photo = Data((0..<30_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let hash = BlobStore.sha256(photo)
        let issue = try worker.replica.reportIssue(IssueReport(grid: ServerTests.gridA, kind: .hazard, title: "消防隐患", reporter: "扎西"))
        try worker.replica.attachPhoto(to: .issue, id: issue, sha256: hash)
        try await worker.sync()
        #expect(try await PhotoTests().put(worker, hash, photo, offset: 0, count: photo.count).body["complete"] as? Bool == true)
        let atBackup = try await ServerTests().sequence(server)

        let backup = server.folder.deletingLastPathComponent().appendingPathComponent("gridsync-backup-\(UUID().uuidString.prefix(8))")
        // Devices keep syncing while it is taken.
        async let more: Void = {
            for i in 0..<5 {
                try worker.replica.addHousehold(grid: ServerTests.gridA, HouseholdFields(doorPlate: "之后 \(i)"))
                try await worker.sync()
            }
        }()
        let made = try LiveServer.run(["backup", "--data", server.folder.path, "--to", backup.path])
        try await more
        #expect(made.status == 0, "\(made.output)")
        #expect(try LiveServer.run(["check", "--data", backup.path]).output.contains("ok"))
        #expect(try LiveServer.run(["backup", "--data", server.folder.path, "--to", backup.path]).status != 0, "never over a folder")
        let revoked = try LiveServer.run(["revoke", "--data", server.folder.path, "dev-nosuch"])
        #expect(revoked.status != 0 && revoked.output.split(separator: "\n").count == 1 && revoked.output.contains("no device dev-nosuch"))

        // The backup serves as it is: the records up to the backup, the photo, the same CA.
        let restored = try LiveServer(serving: backup)
        defer { restored.finish() }
        let sequence = try await ServerTests().sequence(restored)
        #expect(sequence >= atBackup && sequence <= atBackup + 5)
        let county = try TestDevice(server: restored, name: "county")
        try await county.enroll(code: try restored.enrollmentCode(scopes: ["xizang/lhasa/maizhokunggar"], role: "county"))
        try await county.sync()
        #expect(try county.replica.households(limit: 100).count >= 20)
        let fetched = try await restored.send(.GET, "/v1/photos/\(hash)", headers: [("Authorization", "Bearer \(county.credential)")])
        #expect(fetched.status == 200 && BlobStore.sha256(fetched.body) == hash)
    }

    @Test func aRenewedCertificateIsAcceptedByDevicesWithoutEnrollingAgain() async throws {
        let server = try LiveServer()
        let folder = server.folder
        let worker = try TestDevice(server: server, name: "worker")
        try await worker.enroll(code: try server.enrollmentCode(scopes: [ServerTests.gridA]))
        let credential = worker.credential
        try worker.replica.addHousehold(grid: ServerTests.gridA, HouseholdFields(doorPlate: "1号"))
        try await worker.sync()
        let before = try String(contentsOf: folder.appendingPathComponent("server.pem"), encoding: .utf8)
        await server.stop(keepingFolder: true)

        let renewed = try LiveServer.run(["renew-certificate", "--data", folder.path, "--days", "30"])
        #expect(renewed.status == 0, "\(renewed.output)")
        #expect(try String(contentsOf: folder.appendingPathComponent("server.pem"), encoding: .utf8) != before)
        let attributes = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent("server-key.pem").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        let again = try LiveServer(serving: folder)
        defer { again.finish() }
        let device = try TestDevice(server: again, name: "worker")
        device.credential = credential
        try device.replica.addHousehold(grid: ServerTests.gridA, HouseholdFields(doorPlate: "2号"))
        #expect(try await device.sync().isEmpty)
        #expect(try device.replica.peerCursor(again.baseURL).acknowledged > 0)
    }
}

/// A server put back from a backup has forgotten what devices sent and pulled after it was taken;
/// devices notice its new epoch and sync again from the start, so nothing is lost.
@Suite(.serialized) struct ServerRestoreTests {
    @Test func devicesResyncWithAServerRestoredFromABackupAndNothingIsLost() async throws {
        let server = try LiveServer()
        let worker = try TestDevice(server: server, name: "worker")
        let county = try TestDevice(server: server, name: "county")
        try await worker.enroll(code: try server.enrollmentCode(scopes: [ServerTests.gridA]))
        try await county.enroll(code: try server.enrollmentCode(scopes: ["xizang/lhasa/maizhokunggar"], role: "county"))
        for i in 0..<3 { try worker.replica.addHousehold(grid: ServerTests.gridA, HouseholdFields(doorPlate: "备份前 \(i)")) }
        try await worker.sync()
        try await county.sync()
        let backup = server.folder.deletingLastPathComponent().appendingPathComponent("gridsync-backup-\(UUID().uuidString.prefix(8))")
        #expect(try LiveServer.run(["backup", "--data", server.folder.path, "--to", backup.path]).status == 0)
        // After the backup: the worker sends more, the county pulls it; then the server's disk dies.
        for i in 0..<4 { try worker.replica.addHousehold(grid: ServerTests.gridA, HouseholdFields(doorPlate: "备份后 \(i)")) }
        try await worker.sync()
        try await county.sync()
        let port = server.port
        await server.stop(keepingFolder: true)
        defer { try? FileManager.default.removeItem(at: server.folder) }

        // The backup is served in its place, at the same address.
        var config =
            try JSONSerialization.jsonObject(with: Data(contentsOf: backup.appendingPathComponent("config.json"))) as? [String: Any] ?? [:]
        config["port"] = port
        try JSONSerialization.data(withJSONObject: config).write(to: backup.appendingPathComponent("config.json"))
        let restored = try LiveServer(serving: backup)
        defer { restored.finish() }
        #expect(restored.port == port)
        #expect(try await ServerTests().sequence(restored) < 8, "the restored store lacks what came after the backup")
        let worker2 = TestDevice(worker, server: restored)
        let county2 = TestDevice(county, server: restored)
        try await worker2.sync()
        try await county2.sync()
        let plates = Set(try county2.replica.households(limit: 100).compactMap(\.doorPlate))
        #expect(plates.count == 7)
        // A county enrolled on the restored server sees all of it too: the worker sent it again.
        let fresh = try TestDevice(server: restored, name: "fresh")
        try await fresh.enroll(code: try restored.enrollmentCode(scopes: ["xizang/lhasa/maizhokunggar"], role: "county"))
        try await fresh.sync()
        #expect(Set(try fresh.replica.households(limit: 100).compactMap(\.doorPlate)) == plates)
    }
}
