import Foundation
import SyncCore
import Testing

/// S7 at a reduced size: the county center pulls a county, reports on it and exports it.
@Suite struct CountyTests {
    static let townships = ["zhaxigang", "gyama", "rinchengang"]

    /// The grids of the seeded county with their Chinese names (given by the operator).
    static func gridNames(gridsPerTownship: Int) -> [(path: String, name: String)] {
        townships.flatMap { t in (0..<gridsPerTownship).map { g in ("\(county)/\(t)/v\(g / 5 + 1)/g\(g)", "\(t)\(g)网格") } }
    }

    /// Writes `grids` grids per township with `households` households each and three issues per
    /// grid: one closed after a follow-up, one escalated to medium, one overdue.
    static func seed(_ replica: Replica, gridsPerTownship: Int, households: Int) throws {
        var k = 0
        for t in townships {
            for g in 0..<gridsPerTownship {
                let grid = "\(county)/\(t)/v\(g / 5 + 1)/g\(g)"
                for n in 0..<households {
                    try replica.addHousehold(
                        grid: grid,
                        HouseholdFields(doorPlate: "\(g)村\(n)号", headNameZh: "次仁\(n)", headNameBo: "ཚེ་རིང་། \(n)", members: n % 7 + 1))
                }
                let closed = try replica.reportIssue(IssueReport(grid: grid, kind: .hazard, title: "电瓶车入户充电 \(k)"))
                for kind in [IssueEventKind.dispatched, .accepted, .resolved] {
                    try replica.appendEvent(issueID: closed, kind: kind, note: "ok")
                }
                try replica.appendEvent(issueID: closed, kind: .followUp, satisfaction: k % 5 + 1)
                try replica.appendEvent(issueID: closed, kind: .closed)
                let escalated = try replica.reportIssue(IssueReport(grid: grid, kind: .dispute, title: "草场使用权纠纷, \"北坡\" \(k)"))
                try replica.appendEvent(issueID: escalated, kind: .escalated, tier: .medium)
                _ = try replica.reportIssue(
                    IssueReport(grid: grid, kind: .request, title: "取暖补助 \(k)", description: "独居老人\n申请取暖补助", dueDate: "2020-01-01"))
                k += 1
            }
        }
    }

    @Test func s7TheCountyPullsReportsAndExports() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let seeder = try cluster.device("seeder", role: "county", scopes: [county])
        let center = try cluster.device("county", role: "county", scopes: [county])
        let grids = 10
        try Self.seed(try Replica(path: seeder.replicaPath), gridsPerTownship: grids, households: 20)
        for (path, name) in Self.gridNames(gridsPerTownship: grids) {
            _ = try cluster.serverCommand(["name-area", "--data", cluster.data.path, path, "--zh", name])
        }
        seeder.sync()
        let pulled = center.sync()
        #expect(pulled["pulled"] as? Int ?? 0 > 600 * 5)

        let report = center.ok(["report", "--from", "2020-01-01", "--to", "2099-12-31", "--today", "2026-01-01", "--json"]).object
        let total = report["total"] as? [String: Any]
        #expect(total?["reported"] as? Int == 90 && total?["closed"] as? Int == 30)
        let townships = report["townships"] as? [[String: Any]] ?? []
        #expect(townships.map { $0["area"] as? String } == Self.townships.sorted().map { "\(county)/\($0)" })
        #expect(townships.allSatisfy { $0["reported"] as? Int == 30 && $0["closed"] as? Int == 10 })
        let perGrid = report["grids"] as? [[String: Any]] ?? []
        #expect(perGrid.count == 30 && perGrid.allSatisfy { $0["reported"] as? Int == 3 && $0["closed"] as? Int == 1 && $0["name"] != nil })
        #expect((report["overdue"] as? [Any])?.count == 30)
        let changes = report["tierChanges"] as? [[String: Any]] ?? []
        #expect(changes.count == 30 && changes.allSatisfy { $0["toTier"] as? String == "medium" && $0["fromTier"] as? String == "small" })
        let satisfaction = report["satisfaction"] as? [String: Any]
        #expect(satisfaction?["visits"] as? Int == 30 && satisfaction?["bySatisfaction"] as? [Int] == [6, 6, 6, 6, 6])
        #expect(satisfaction?["average"] as? Double == 3.0 && satisfaction?["coverage"] as? Double == 1.0)
        let text = center.ok(["report", "--from", "2020-01-01", "--to", "2099-12-31", "--area", "\(county)/zhaxigang", "--by", "grid"])
            .output
        #expect(text.contains("10 / 30 = 33.3%") && text.contains("zhaxigang0网格"), "\(text)")
        let zh = center.ok(["report", "--from", "2020-01-01", "--to", "2099-12-31", "--lang", "zh"]).output
        #expect(zh.contains("办结率：30 / 90 = 33.3%"), "\(zh)")

        // CSV with a byte order mark: one line per record plus the header, titles with commas,
        // quotes and line breaks quoted per RFC 4180.
        let out = cluster.folder.appendingPathComponent("export")
        center.ok(["export", "--format", "csv", "--bom", "--out", out.path])
        let issues = try Data(contentsOf: out.appendingPathComponent("issues.csv"))
        #expect(Array(issues.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let csv = String(decoding: issues.dropFirst(3), as: UTF8.self)
        #expect(csv.hasPrefix("id,township,village,grid,grid_path,kind,tier,reported_tier,status,title,"))
        #expect(csv.contains("\"草场使用权纠纷, \"\"北坡\"\" 0\"") && csv.contains("\"独居老人\n申请取暖补助\""))
        #expect(Self.csvRecords(csv) == 91)
        let households = String(decoding: try Data(contentsOf: out.appendingPathComponent("households.csv")).dropFirst(3), as: UTF8.self)
        #expect(Self.csvRecords(households) == 601 && households.contains("ཚེ་རིང་། 0"))
        let events = String(decoding: try Data(contentsOf: out.appendingPathComponent("events.csv")).dropFirst(3), as: UTF8.self)
        #expect(Self.csvRecords(events) == 1 + 30 * 6 + 30 * 2 + 30)
        let plain = cluster.folder.appendingPathComponent("plain")
        center.ok(["export", "--format", "csv", "--no-bom", "--out", plain.path])
        #expect(try Data(contentsOf: plain.appendingPathComponent("issues.csv")).first == UInt8(ascii: "i"))

        let json = center.ok(["export", "--format", "json"]).object
        #expect((json["households"] as? [Any])?.count == 600 && (json["issues"] as? [Any])?.count == 90)
        #expect(center.export(area: county) == seeder.export(area: county))
    }

    /// Counts CSV records: CRLF line ends outside quotes.
    static func csvRecords(_ text: String) -> Int {
        var quoted = false
        var count = 0
        var previous: Character = " "
        for ch in text {
            if ch == "\"" { quoted.toggle() }
            if ch == "\r\n" && !quoted { count += 1 }
            if ch == "\n" && previous == "\r" && !quoted { count += 1 }
            previous = ch
        }
        return count
    }
}
