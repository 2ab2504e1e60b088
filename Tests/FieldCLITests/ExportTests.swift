import Foundation
import SyncCore
import Testing

/// Exports a Chinese spreadsheet user can open: headers and values in the chosen language, ISO
/// times, names beside ids, area names per level, the event log with the tier before each change,
/// the photo manifest with the photo files, and conflicts.
@Suite struct ExportTests {
    static let county = "xizang/lhasa/maizhokunggar"
    static let township = county + "/zhaxigang"
    static let grid = township + "/v3/g2"

    /// Parses RFC 4180 CSV (after an optional byte order mark) into records.
    static func records(_ data: Data) throws -> [[String]] {
        let text = String(decoding: data.starts(with: [0xEF, 0xBB, 0xBF]) ? data.dropFirst(3) : data, as: UTF8.self)
        return try CSV.records(text).map(\.fields)
    }

    @Test func aCountyExportsItsGridWithNamesInChineseAndEnglish() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let tree = cluster.folder.appendingPathComponent("tree.csv")
        try """
        path,level,name_zh,name_bo
        \(Self.county),county,墨竹工卡县,
        \(Self.township),township,扎西岗乡,བཀྲ་ཤིས་སྒང་ཤང་།
        \(Self.township)/v3,village,3村,
        \(Self.grid),grid,2网格,
        """.write(to: tree, atomically: true, encoding: .utf8)
        _ = try cluster.serverCommand(["areas", "import", "--data", cluster.data.path, tree.path])
        let worker = try cluster.device("tashi", scopes: [Self.grid], person: "扎西")
        let officer = try cluster.device("officer", role: "township", scopes: [Self.township], person: "白玛")
        let center = try cluster.device("county", role: "county", scopes: [Self.county])

        let household = worker.id(["household", "add", "--door-plate", "3村12号", "--head-zh", "次仁", "--head-bo", "ཚེ་རིང་།", "--json"])
        let issue = worker.id(["issue", "report", "--kind", "dispute", "--title", "草场使用权纠纷", "--household", household, "--json"])
        let photo = try photoFile(in: cluster.folder, "boundary.jpg", size: 4000, seed: 3)
        worker.ok(["photo", "attach", photo, "--issue", issue, "--caption", "草场边界"])
        worker.ok(["issue", "escalate", issue, "--tier", "medium", "--note", "需乡镇调解"])
        worker.sync()
        officer.sync()
        officer.ok(["issue", "deescalate", issue, "--tier", "small", "--note", "村内可调解"])
        // Both edit the description offline: one value is kept as a conflict.
        worker.ok(["issue", "edit", issue, "--description", "双方同意实地勘界"])
        officer.ok(["issue", "edit", issue, "--description", "司法所介入"])
        officer.sync()
        worker.sync()
        center.sync()
        center.ok(["photo", "fetch", "--all"])

        let out = cluster.folder.appendingPathComponent("export-zh")
        center.ok(["export", "--format", "csv", "--photos", "--out", out.path, "--lang", "zh"])
        let issues = try Data(contentsOf: out.appendingPathComponent("issues.csv"))
        #expect(issues.starts(with: [0xEF, 0xBB, 0xBF]))
        let issueRows = try Self.records(issues)
        #expect(issueRows.first?.prefix(6) == ["编号", "乡镇", "村（社区）", "网格", "网格路径", "类别"])
        let row = try #require(issueRows.dropFirst().first)
        let column = { (name: String) in row[issueRows[0].firstIndex(of: name)!] }
        #expect(column("编号") == issue && column("乡镇") == "扎西岗乡" && column("村（社区）") == "3村" && column("网格") == "2网格")
        #expect(column("类别") == "矛盾纠纷" && column("层级") == "小事（村级）" && column("状态") == "已上报")
        #expect(column("住户编号") == household && column("住户") == "3村12号 次仁 ཚེ་རིང་།")
        #expect(column("上报时间").wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)/) != nil)

        let events = try Self.records(try Data(contentsOf: out.appendingPathComponent("events.csv")))
        let kind = events[0].firstIndex(of: "事件")!
        let from = events[0].firstIndex(of: "原层级")!
        let to = events[0].firstIndex(of: "层级")!
        #expect(events.dropFirst().map { $0[kind] } == ["上报", "上交", "下交"])
        #expect(events.dropFirst().map { [$0[from], $0[to]] } == [["", ""], ["小事（村级）", "中事（乡级）"], ["中事（乡级）", "小事（村级）"]])
        #expect(events.dropFirst().allSatisfy { $0[events[0].firstIndex(of: "事项")!] == "草场使用权纠纷" })

        let photos = try Self.records(try Data(contentsOf: out.appendingPathComponent("photos.csv")))
        #expect(photos.count == 2)
        let manifest = Dictionary(uniqueKeysWithValues: zip(photos[0], photos[1]))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: photo))
        #expect(manifest["文件名"] == manifest["SHA-256"]! + ".jpg" && manifest["大小（字节）"] == "\(bytes.count)")
        #expect(manifest["所属"] == "事项" && manifest["所属名称"] == "草场使用权纠纷" && manifest["说明"] == "草场边界" && manifest["本机已有"] == "1")
        #expect(try Data(contentsOf: out.appendingPathComponent("photos").appendingPathComponent(manifest["文件名"]!)) == bytes)

        let conflicts = try Self.records(try Data(contentsOf: out.appendingPathComponent("conflicts.csv")))
        #expect(conflicts.count == 2 && conflicts[1][conflicts[0].firstIndex(of: "字段")!] == "description")
        #expect(["双方同意实地勘界", "司法所介入"].contains(conflicts[1][conflicts[0].firstIndex(of: "被覆盖的值")!]))

        // JSON in English: the same tables, keyed by the English headers.
        let json = center.ok(["export", "--format", "json", "--lang", "en"]).object
        let first = try #require((json["issues"] as? [[String: Any]])?.first)
        #expect(first["township"] as? String == "扎西岗乡" && first["kind"] as? String == "dispute" && first["id"] as? String == issue)
        #expect((json["events"] as? [[String: Any]])?.count == 3 && (json["conflicts"] as? [Any])?.count == 1)
        #expect((json["households"] as? [[String: Any]])?.first?["grid_path"] as? String == Self.grid)

        // Lists show places by name and the terms of the language.
        #expect(center.ok(["household", "list", "--lang", "zh"]).output.contains("扎西岗乡 / 3村 / 2网格"))
        let issueList = center.ok(["issue", "list", "--lang", "zh"]).output
        #expect(issueList.contains("矛盾纠纷") && issueList.contains("小事（村级）"), "\(issueList)")
        #expect(center.ok(["issue", "show", issue]).output.contains("扎西岗乡 / 3村 / 2网格 (\(Self.grid))"))

        let unknown = center.run(["export", "--format", "json", "--area", Self.county + "/nowhere"])
        #expect(unknown.status == 65 && unknown.errors.contains("[not_found]"))
    }
}
