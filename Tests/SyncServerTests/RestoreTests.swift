import Foundation
import SyncCore
import Testing

/// A replica put back from an older copy (a backup restored, a card moved to a new handheld) loses
/// nothing: what it writes afterwards reaches the server, although its local versions repeat
/// numbers the server had already acknowledged.
@Suite(.serialized) struct RestoreTests {
    @Test func aReplicaRestoredFromAnOlderCopyStillSendsEverythingItWritesAfter() async throws {
        let server = try LiveServer()
        defer { server.finish() }
        let grid = ServerTests.gridA
        let code = try server.enrollmentCode(scopes: [grid], name: "扎西")
        var credential = ""
        do {
            let device = try TestDevice(server: server, name: "device")
            try await device.enroll(code: code)
            credential = device.credential
            for i in 0..<5 { try device.replica.addHousehold(grid: grid, HouseholdFields(doorPlate: "备份前 \(i)")) }
            try await device.sync()
            // The backup: the replica's files as they are now.
            for suffix in ["", "-wal", "-shm"] {
                try? FileManager.default.copyItem(
                    at: server.folder.appendingPathComponent("device.sqlite\(suffix)"),
                    to: server.folder.appendingPathComponent("restored.sqlite\(suffix)"))
            }
            for i in 0..<5 { try device.replica.addHousehold(grid: grid, HouseholdFields(doorPlate: "备份后 \(i)")) }
            try await device.sync()
        }
        // The handheld is restored from the backup and goes on working, syncing twice.
        let restored = try TestDevice(server: server, name: "restored")
        restored.credential = credential
        for i in 0..<3 { try restored.replica.addHousehold(grid: grid, HouseholdFields(doorPlate: "恢复后 \(i)")) }
        try await restored.sync()
        for i in 0..<2 { try restored.replica.addHousehold(grid: grid, HouseholdFields(doorPlate: "再后 \(i)")) }
        try await restored.sync()
        #expect(try restored.replica.pendingOwnChanges(after: try restored.replica.peerCursor(server.baseURL).acknowledged) == 0)

        let county = try TestDevice(server: server, name: "county")
        try await county.enroll(code: try server.enrollmentCode(scopes: ["xizang/lhasa/maizhokunggar"], role: "county"))
        try await county.sync()
        let plates = Set(try county.replica.households(limit: 100).compactMap(\.doorPlate))
        #expect(plates.count == 15, "\(plates.sorted())")
        #expect(plates.contains("再后 1") && plates.contains("备份后 4"))
        // It also has back what it wrote and synced after its backup was taken, pulled once.
        let held = Set(try restored.replica.households(limit: 100).compactMap(\.doorPlate))
        #expect(held == plates, "\(plates.subtracting(held).sorted()) missing on the restored replica")
        let mark = try restored.replica.peerCursor(server.baseURL).ownPullMark
        #expect(mark < 0, "the pull of its own writes ended")
        try await restored.sync()
        #expect(try restored.replica.peerCursor(server.baseURL).ownPullMark == mark, "and is not repeated")
    }
}
