import Foundation
import SyncCore
import Testing

/// `gridsync backup`: a copy of the device folder that works as one, taken while the device works.
@Suite struct DeviceBackupTests {
    @Test func aDeviceRestoredFromItsBackupGoesOnAndLosesNothingItRecords() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let worker = try cluster.device("worker", scopes: [g2], person: "扎西")
        for i in 0..<3 { worker.ok(["household", "add", "--door-plate", "备份前 \(i)"]) }
        worker.sync()
        let copy = cluster.folder.appendingPathComponent("worker-backup").path
        let made = worker.ok(["backup", "--to", copy])
        #expect(made.output.contains("backed up"), "\(made.output)")
        #expect(worker.run(["backup", "--to", copy]).status == 65, "never over a folder")
        for i in 0..<2 { worker.ok(["household", "add", "--door-plate", "备份后 \(i)"]) }
        worker.sync()

        // The handheld is restored from the copy and goes on recording and syncing.
        let restored = Device(home: copy)
        #expect(restored.ok(["household", "list", "--json"]).output.contains("备份前 2"))
        for i in 0..<2 { restored.ok(["household", "add", "--door-plate", "恢复后 \(i)"]) }
        restored.sync()
        restored.ok(["household", "add", "--door-plate", "最后"])
        let summary = restored.sync()
        #expect((summary["refused"] as? [Any])?.isEmpty == true)

        let county = try cluster.device("county", role: "county", scopes: [county])
        county.sync()
        let listed = county.ok(["household", "list", "--json"]).output
        for plate in ["备份前 0", "备份后 1", "恢复后 1", "最后"] { #expect(listed.contains(plate), "\(plate) missing") }
    }
}
