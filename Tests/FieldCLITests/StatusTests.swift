import Foundation
import Testing

/// `status` says which records exist on this device only, and that they are safe there.
@Suite struct StatusTests {
    @Test func statusCountsAndListsWhatOnlyThisDeviceHolds() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let grid = "xizang/lhasa/maizhokunggar/zhaxigang/v3/g2"
        let worker = try cluster.device("tashi", scopes: [grid], person: "扎西")
        _ = worker.id(["household", "add", "--door-plate", "3村12号", "--head-zh", "次仁", "--json"])
        let issue = worker.id(["issue", "report", "--kind", "hazard", "--title", "电瓶车入户充电", "--json"])
        worker.ok(["photo", "attach", try photoFile(in: cluster.folder, "p.jpg", size: 2000, seed: 5), "--issue", issue])

        let counts = worker.ok(["status", "--json"]).object["onThisDeviceOnly"] as? [String: Int]
        #expect(counts == ["households": 1, "issues": 1, "issue_events": 1, "photo_refs": 1])
        let text = worker.ok(["status", "--lang", "zh"]).output
        #expect(text.contains("1 户、1 件事项、1 条事件、1 条照片记录——安全保存在本机"), "\(text)")
        let listed = worker.ok(["status", "--pending", "--lang", "zh"]).output
        #expect(listed.contains("3村12号 次仁") && listed.contains("电瓶车入户充电") && listed.contains("住户"), "\(listed)")

        worker.sync()
        #expect((worker.ok(["status", "--json"]).object["onThisDeviceOnly"] as? [String: Int]) == [:])
        #expect(worker.ok(["status", "--pending"]).output.contains("nothing: the server has stored every record of this device"))
    }
}
