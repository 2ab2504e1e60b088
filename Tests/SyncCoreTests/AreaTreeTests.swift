import Foundation
import Testing

@testable import SyncCore

@Suite struct AreaTreeTests {
    static let county = "xizang/lhasa/maizhokunggar"
    static let township = county + "/zhaxigang"
    static let village = township + "/v3"
    static let grid = village + "/g2"

    static let file = """
        \u{FEFF}path,level,name_zh,name_bo\r
        \(county),county,墨竹工卡县,མལ་གྲོ་གུང་དཀར་རྫོང་།\r
        \(township),乡镇,扎西岗乡,བཀྲ་ཤིས་སྒང་ཤང་།\r
        \(village),village,"3村, 东",གྲོང་ཚོ་གསུམ་པ།\r
        \(grid),grid,"2\"\"网格\"\"",\r
        \(village)/g3,grid,3网格,དྲ་མིག་གསུམ་པ།\r

        """

    @Test func csvRecordsFollowRFC4180() throws {
        let records = try CSV.records("a,\"b,c\",\"d\"\"e\"\r\n\r\n\"multi\nline\",x\nlast")
        #expect(records.map(\.fields) == [["a", "b,c", "d\"e"], ["multi\nline", "x"], ["last"]])
        #expect(records.map(\.line) == [1, 3, 5])
        for line in [["a", "b,c", "d\"e", " pad "], ["", "x"]] {
            #expect(try CSV.records(CSV.line(line)).map(\.fields) == [line])
        }
        #expect(throws: SyncCoreError.invalidInput("line 1: a quoted field is not closed")) { try CSV.records("\"open,x") }
        #expect(throws: SyncCoreError.invalidInput("line 2: a quote inside an unquoted field")) { try CSV.records("ok\nab\"c") }
    }

    @Test func theTreeFileIsCheckedLineByLine() throws {
        let areas = try AreaTreeFile.parse(Self.file)
        #expect(areas.map(\.path) == [Self.county, Self.township, Self.village, Self.grid, Self.village + "/g3"])
        #expect(areas.map(\.level) == [.county, .township, .village, .grid, .grid])
        #expect(areas[2].nameZh == "3村, 东" && areas[3].nameZh == "2\"网格\"" && areas[3].nameBo == nil)

        let refusals: [(String, String)] = [
            ("\(Self.county),township,x,", "line 1: \(Self.county) is at the county level (3 segments), not township"),
            ("\(Self.county),county,x\n\(Self.county),county,y", "line 2: \(Self.county) is listed again (first on line 1)"),
            ("\(Self.county),county,,ཁ", "line 1: \(Self.county) has no Chinese name"),
            (
                "\(Self.county),county,x\n\(Self.village),village,y",
                "line 2: the parent of \(Self.village), \(Self.township), is not listed"
            ),
            ("\(Self.grid)/x,grid,x", "line 1: \(Self.grid)/x has 7 segments; the tree ends at grids (6)"),
            ("\(Self.county),shire,x", "line 1: unknown level \"shire\"; use region, prefecture, county, township, village, grid"),
            ("\(Self.county),county", "line 1: expected path, level, Chinese name, Tibetan name; found 2 field(s)"),
            ("path,level,name_zh,name_bo\n", "the file lists no areas"),
        ]
        for (text, message) in refusals {
            #expect(throws: SyncCoreError.invalidInput(message)) { try AreaTreeFile.parse(text) }
        }
        #expect(throws: SyncCoreError.self) { try AreaTreeFile.parse("Xizang,region,西藏") }
        #expect(throws: SyncCoreError.self) {
            try AreaTreeFile.parse("xizang,region,\("长".padding(toLength: 100, withPad: "长", startingAt: 0))")
        }
    }

    @Test func importingAgainRenamesAddsAndRemovesButNeverUnderRecords() throws {
        let folder = TemporaryFolder()
        let server = try makeReplica(folder, "server")
        var result = try server.importAreas(try AreaTreeFile.parse(Self.file))
        #expect(result.added.count == 5 && result.renamed.isEmpty && result.removed.isEmpty)
        #expect(try server.importAreas(try AreaTreeFile.parse(Self.file)) == AreaImport(unchanged: 5))

        // A household in g3: g3 cannot be removed, and a refused import changes nothing.
        _ = try server.addHousehold(grid: Self.village + "/g3", HouseholdFields(doorPlate: "3村31号"))
        let withoutG3 = Self.file.replacingOccurrences(of: "\(Self.village)/g3,grid,3网格,དྲ་མིག་གསུམ་པ།\r\n", with: "")
            .replacingOccurrences(of: "扎西岗乡", with: "扎西岗镇")
        #expect(throws: SyncCoreError.self) { try server.importAreas(try AreaTreeFile.parse(withoutG3)) }
        #expect(try server.areas().map(\.nameZh).contains("扎西岗乡"))

        // Without records under it, it goes; the rename lands.
        try server.deleteHousehold(try #require(try server.households(limit: 10).first).id)
        result = try server.importAreas(try AreaTreeFile.parse(withoutG3))
        #expect(result == AreaImport(renamed: [Self.township], removed: [Self.village + "/g3"], unchanged: 3))
        #expect(try server.areas().count == 4)
        #expect(try server.knowsArea(Self.village + "/g3") == false)
        #expect(try server.knowsArea(Self.village) && server.knowsArea("xizang") && !server.knowsArea("xizang/nagqu"))
    }

    @Test func placesAreReadByName() throws {
        let names = AreaNames(try AreaTreeFile.parse(Self.file))
        #expect(names.label(Self.grid) == "扎西岗乡 / 3村, 东 / 2\"网格\"")
        #expect(names.label(Self.grid, tibetan: true) == "བཀྲ་ཤིས་སྒང་ཤང་། / གྲོང་ཚོ་གསུམ་པ། / 2\"网格\"")
        #expect(names.label(Self.county) == "墨竹工卡县")
        #expect(names.label(Self.village + "/g9") == "扎西岗乡 / 3村, 东 / g9")
        #expect(AreaNames.ancestor(Self.grid, at: .township) == Self.township)
        #expect(AreaNames.ancestor(Self.township, at: .village) == nil)
    }

    /// A grid's device receives the names of its own areas and of those above them, never the
    /// names of other grids', and what a device pushes into `grids` is refused.
    @Test func namesReachDevicesUnderAndAboveThem() throws {
        let folder = TemporaryFolder()
        let server = try makeReplica(folder, "server")
        _ = try server.importAreas(try AreaTreeFile.parse(Self.file + "\(Self.county)/gyama,township,甲玛乡,\r\n"))
        for plan in [Replica.PullPlan.walk, .index] {
            let batch = try server.changes(
                since: 0, maxChanges: 100, maxBytes: 4 << 20, scopes: [try AreaPath(Self.grid)], skipping: [], plan: plan)
            #expect(batch.changeset.rows.map(\.rowID).sorted() == [Self.county, Self.township, Self.village, Self.grid], "\(plan)")
        }
        let township = try server.changes(since: 0, scopes: [try AreaPath(Self.township)])
        #expect(Set(township.changeset.rows.map(\.rowID)) == [Self.county, Self.township, Self.village, Self.grid, Self.village + "/g3"])

        let device = try makeReplica(folder, "device")
        #expect(try device.apply(try server.changes(since: 0, scopes: [try AreaPath(Self.grid)]).changeset).rejected.isEmpty)
        #expect(try device.areaNames().label(Self.grid) == "扎西岗乡 / 3村, 东 / 2\"网格\"")

        try device.putGrid(Self.grid, nameZh: "假名字", nameBo: nil)
        let report = try server.apply(
            try device.changes(since: 0).changeset, from: Sender(scopes: [try AreaPath(Self.grid)], role: .worker))
        #expect(report.applied == 0)
        #expect(report.rejected.filter { $0.rowID == Self.grid }.map(\.reason.code) == ["not_permitted"])
        #expect(try server.areaNames().name(Self.grid) == "2\"网格\"")
    }
}
