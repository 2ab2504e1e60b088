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
        // The restored handheld has back what it recorded after the backup (pulled from the server).
        #expect(restored.ok(["household", "list", "--json"]).output.contains("备份后 1"))
    }

    /// A device folder copied to a second handheld: the copy will not record under the first
    /// one's site; adopted with a new code, it writes under a site of its own and sends what the
    /// first never sent, and both go on syncing.
    @Test func aFolderCopiedToAnotherHandheldTakesItsOwnSiteAndLosesNothing() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let first = try cluster.device("first", scopes: [g2], person: "扎西", environment: ["GRIDSYNC_MACHINE_ID": "handheld-one"])
        first.ok(["household", "add", "--door-plate", "复制前 已同步"])
        first.sync()
        first.ok(["household", "add", "--door-plate", "复制前 未同步"])
        let copyHome = cluster.folder.appendingPathComponent("second").path
        try FileManager.default.copyItem(atPath: first.home, toPath: copyHome)
        var second = Device(home: copyHome)
        second.environment["GRIDSYNC_MACHINE_ID"] = "handheld-two"

        let refused = second.run(["household", "add", "--door-plate", "副本"])
        #expect(
            refused.status == 78 && refused.errors.contains("[copied_device]") && refused.errors.contains("--adopt"), "\(refused.errors)")
        #expect(second.run(["sync"]).status == 78)
        #expect(second.run(["status"]).status == 0, "a copy can still be looked at")

        let adopted = second.ok(["init", "--adopt", "--enroll", try cluster.code(scopes: [g2], person: "扎西")])
        #expect(adopted.output.contains("site"), "\(adopted.output)")
        let sites = [first, second].map { d in
            (try? Replica(path: d.replicaPath)).map { ($0.site, $0.formerSites) }
        }
        #expect(sites[0]!.0 != sites[1]!.0, "two handhelds never share a site id")
        #expect(sites[1]!.1 == [sites[0]!.0])
        second.ok(["household", "add", "--door-plate", "第二台"])
        let summary = second.sync()
        #expect((summary["refused"] as? [Any])?.isEmpty == true, "\(summary)")
        first.ok(["household", "add", "--door-plate", "第一台"])
        #expect((first.sync()["refused"] as? [Any])?.isEmpty == true)
        second.sync()

        let county = try cluster.device("county", role: "county", scopes: [county])
        county.sync()
        let listed = county.ok(["household", "list", "--json"]).output
        for plate in ["复制前 已同步", "复制前 未同步", "第二台", "第一台"] { #expect(listed.contains(plate), "\(plate) missing") }
        #expect(second.ok(["household", "list", "--json"]).output.contains("第一台"))
        #expect(first.ok(["household", "list", "--json"]).output.contains("第二台"))
    }
}
