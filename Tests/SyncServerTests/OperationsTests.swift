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
