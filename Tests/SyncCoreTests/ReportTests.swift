import Foundation
import GRDB
import Testing

@testable import SyncCore

/// Every figure of the county report against the same figure computed here, independently, from
/// the raw rows of `issues` and `issue_events` (SQL and plain loops, no report code).
@Suite struct ReportTests {
    static let county = "xizang/lhasa/maizhokunggar"
    static let grids = ["zhaxigang", "gyama"].flatMap { t in
        ["v1", "v2"].flatMap { v in ["g1", "g2"].map { "\(county)/\(t)/\(v)/\($0)" } }
    }

    /// A county of 8 grids with issues over about a year (100 issues, up to 10 events each): random kinds, tiers, people, due dates
    /// and event sequences (escalations, de-escalations, follow-ups, reopenings), hours to weeks apart.
    static func seed(_ replica: Replica, clock: ManualWallClock, seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let people = ["扎西", "卓玛", "次仁", "格桑"]
        let names = ["扎西岗乡", "甲玛乡"]
        var tree = "path,level,name_zh,name_bo\n\(county),county,墨竹工卡县,\n"
        for (i, t) in ["zhaxigang", "gyama"].enumerated() {
            tree += "\(county)/\(t),township,\(names[i]),\n"
            for v in ["v1", "v2"] {
                tree += "\(county)/\(t)/\(v),village,\(v)村,\n"
                for g in ["g1", "g2"] { tree += "\(county)/\(t)/\(v)/\(g),grid,\(g)网格,\n" }
            }
        }
        _ = try replica.importAreas(try AreaTreeFile.parse(tree))
        for n in 0..<100 {
            clock.advance(by: Int64.random(in: 1...86_400_000, using: &random))
            let grid = grids.randomElement(using: &random)!
            let due =
                Bool.random(using: &random)
                ? String(format: "2026-%02d-%02d", Int.random(in: 1...12, using: &random), Int.random(in: 1...28, using: &random)) : nil
            let id = try replica.reportIssue(
                IssueReport(
                    grid: grid, kind: IssueKind.allCases.randomElement(using: &random)!,
                    tier: IssueTier.allCases.randomElement(using: &random)!,
                    title: "事项 \(n)", reporter: people.randomElement(using: &random),
                    handler: Bool.random(using: &random) ? people.randomElement(using: &random) : nil,
                    dueDate: due))
            // Part of the way along dispatched → accepted → resolved → follow-up → closed, with
            // visits, escalations, de-escalations and reopenings between the steps.
            let path: [IssueEventKind] = [.dispatched, .accepted, .resolved, .followUp, .closed]
            var steps: [IssueEventKind] = []
            for step in path.prefix(Int.random(in: 0...5, using: &random)) {
                if Int.random(in: 0..<3, using: &random) == 0 {
                    steps.append([.visit, .escalated, .deescalated, .reopened].randomElement(using: &random)!)
                }
                steps.append(step)
            }
            for kind in steps {
                clock.advance(by: Int64.random(in: 60_000...(2 * 86_400_000), using: &random))
                let tier: IssueTier? = kind == .escalated || kind == .deescalated ? IssueTier.allCases.randomElement(using: &random) : nil
                let satisfaction = kind == .followUp ? Int.random(in: 1...5, using: &random) : nil
                do {
                    _ = try replica.appendEvent(
                        issueID: id, kind: kind, actor: people.randomElement(using: &random), note: "说明 \(n)", tier: tier,
                        satisfaction: satisfaction)
                } catch { continue }  // the lifecycle refuses some steps; the rest stand
            }
        }
    }

    struct RawIssue {
        var id, grid, kind, reportedTier, tier, status, title: String
        var reporter, handler, due: String?
        var events: [(kind: String, at: UInt64, tier: String?, satisfaction: Int?, actor: String?, note: String?)]
    }

    static func raw(_ replica: Replica) throws -> [RawIssue] {
        let queue = try DatabaseQueue(path: replica.path!)
        return try queue.read { db in
            var issues: [String: RawIssue] = [:]
            for r in try Row.fetchAll(
                db,
                sql: "SELECT id, grid, kind, tier, _tier, _status, title, reporter, handler, due_date FROM issues WHERE deleted IS NOT 1")
            {
                issues[r[0]] = RawIssue(
                    id: r[0], grid: r[1], kind: r[2], reportedTier: r[3], tier: r[4] ?? r[3], status: r[5], title: r[6], reporter: r[7],
                    handler: r[8], due: r[9], events: [])
            }
            for r in try Row.fetchAll(
                db, sql: "SELECT issue_id, kind, at, tier, satisfaction, actor, note FROM issue_events ORDER BY at, id")
            {
                let at = UInt64(bitPattern: r[2] as Int64) >> 16
                issues[r[0] as String]?.events.append((r[1], at, r[3], r[4], r[5], r[6]))
            }
            return issues.values.sorted { $0.id < $1.id }
        }
    }

    /// A device reads the report's events from two partial indexes that hold what it reads (a
    /// county's 17 MiB of events were scanned twice), and reports what a replica without them
    /// reports, for the county and for a township.
    @Test func aDevicesReportReadsItsEventsFromTheirIndexes() throws {
        let folder = TemporaryFolder()
        let clock = ManualWallClock(millis: 1_767_225_600_000)  // 2026-01-01 UTC
        let plain = try makeReplica(folder, "county", clock: clock)
        try Self.seed(plain, clock: clock, seed: 4)
        var config = Replica.Configuration()
        config.wallClock = clock
        config.durable = false
        config.gridIndexes = true
        let device = try Replica(path: folder.path("device.sqlite"), configuration: config)
        var cursor: Int64 = 0
        while true {
            let batch = try plain.changes(since: cursor, maxChanges: 500)
            _ = try device.apply(batch.changeset)
            cursor = batch.cursor
            if !batch.hasMore { break }
        }
        let township = "\(Self.county)/gyama"
        for area in [nil, township] {
            let period = (from: UInt64(1_769_904_000_000), to: UInt64(1_785_542_400_000))
            let expected = try plain.countyReport(fromMillis: period.from, toMillis: period.to, today: "2026-09-15", area: area)
            #expect(expected.total.reported > 0)
            #expect(try device.countyReport(fromMillis: period.from, toMillis: period.to, today: "2026-09-15", area: area) == expected)
            for (kinds, index) in [(Replica.reportedEventKinds, "issue_events_report"), (Replica.tierEventKinds, "issue_events_tiers")] {
                let plan = try device.database.read { db in
                    var sql = "EXPLAIN QUERY PLAN SELECT issue_id, grid, at, satisfaction FROM issue_events WHERE \(kinds)"
                    if kinds == Replica.tierEventKinds {
                        sql =
                            "EXPLAIN QUERY PLAN SELECT issue_id, grid, id, kind, at, actor, note, tier, from_tier, satisfaction "
                            + "FROM issue_events WHERE \(kinds)"
                    }
                    var arguments: [DatabaseValueConvertible] = []
                    if let area { Replica.areaCondition(area, sql: &sql, arguments: &arguments) }
                    if kinds == Replica.tierEventKinds { sql += " ORDER BY at, id" }
                    return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { $0["detail"] as String? ?? "" }
                }
                #expect(plan.count == 1 && plan[0].contains("COVERING INDEX \(index)"), "\(plan)")
            }
        }
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func everyFigureMatchesOneComputedFromRawRows(seed: UInt64) throws {
        let folder = TemporaryFolder()
        let clock = ManualWallClock(millis: 1_767_225_600_000)  // 2026-01-01 UTC
        let replica = try makeReplica(folder, "county", clock: clock)
        try Self.seed(replica, clock: clock, seed: seed)
        let from: UInt64 = 1_769_904_000_000  // 2026-02-01
        let to: UInt64 = 1_785_542_400_000  // 2026-08-01
        let today = "2026-09-15"
        let report = try replica.countyReport(fromMillis: from, toMillis: to, today: today, utcOffsetSeconds: 8 * 3600)
        let issues = try Self.raw(replica)
        let done: Set = ["resolved", "followed_up", "closed"]

        // The cohort: issues whose reported event falls in the period.
        let cohort = issues.filter { i in i.events.first { $0.kind == "reported" }.map { $0.at >= from && $0.at < to } ?? false }
        #expect(cohort.count > 20 && cohort.count < issues.count)
        #expect(report.total.reported == cohort.count)
        #expect(report.total.closed == cohort.filter { $0.status == "closed" }.count)

        // Per township, village and grid: prefixes of the grid path.
        for (figures, depth) in [(report.townships, 4), (report.villages, 5), (report.grids, 6)] {
            var expected: [String: (Int, Int)] = [:]
            for i in cohort {
                let key = i.grid.split(separator: "/").prefix(depth).joined(separator: "/")
                expected[key, default: (0, 0)].0 += 1
                if i.status == "closed" { expected[key]!.1 += 1 }
            }
            #expect(
                Dictionary(uniqueKeysWithValues: figures.filter { $0.reported > 0 }.map { ($0.area, [$0.reported, $0.closed]) })
                    == expected.mapValues { [$0.0, $0.1] })
            #expect(figures.allSatisfy { $0.rate == ($0.reported == 0 ? nil : Double($0.closed) / Double($0.reported)) })
        }
        #expect(report.townships.first { $0.area.hasSuffix("zhaxigang") }?.name == "扎西岗乡")
        #expect(report.grids.first?.name.hasPrefix("甲玛乡 / v1村 / ") == true)

        // Breakdowns.
        func breakdown(_ figures: [BreakdownFigures], _ key: (RawIssue) -> String) {
            var expected: [String: [Int]] = [:]
            for i in cohort {
                var v = expected[key(i)] ?? [0, 0, 0]
                v[0] += 1
                if i.status == "closed" { v[1] += 1 }
                if !done.contains(i.status) { v[2] += 1 }
                expected[key(i)] = v
            }
            #expect(Dictionary(uniqueKeysWithValues: figures.map { ($0.key, [$0.reported, $0.closed, $0.open]) }) == expected)
        }
        breakdown(report.byTier) { $0.tier }
        breakdown(report.byKind) { $0.kind }
        breakdown(report.byHandler) { $0.handler ?? "-" }
        breakdown(report.byWorker) { $0.reporter ?? "-" }

        // Handled within tier.
        let resolved = cohort.filter { done.contains($0.status) }
        #expect(report.withinTier.first { $0.tier == "*" }?.resolved == resolved.count)
        #expect(report.withinTier.first { $0.tier == "*" }?.withinTier == resolved.filter { $0.tier == $0.reportedTier }.count)
        for t in ["small", "medium", "large"] {
            let of = resolved.filter { $0.reportedTier == t }
            #expect((report.withinTier.first { $0.tier == t }?.withinTier ?? 0) == of.filter { $0.tier == t }.count)
        }

        // Satisfaction.
        let visits = cohort.flatMap { $0.events.filter { $0.kind == "follow_up" }.compactMap(\.satisfaction) }
        #expect(report.satisfaction.visits == visits.count)
        #expect(report.satisfaction.followedUp == resolved.filter { $0.events.contains { $0.kind == "follow_up" } }.count)
        #expect(
            report.satisfaction.satisfiedRate == (visits.isEmpty ? nil : Double(visits.filter { $0 >= 4 }.count) / Double(visits.count)))
        if !visits.isEmpty { #expect(abs(report.satisfaction.average! - Double(visits.reduce(0, +)) / Double(visits.count)) < 1e-9) }

        // Times: nearest rank over sorted hours.
        func nearestRank(_ values: [Double], _ p: Double) -> Double? {
            values.isEmpty ? nil : values.sorted()[Int((Double(values.count) * p).rounded(.up)) - 1]
        }
        func hours(_ i: RawIssue, until kind: String) -> Double? {
            guard let start = i.events.first(where: { $0.kind == "reported" })?.at, let end = i.events.last(where: { $0.kind == kind })?.at
            else { return nil }
            return Double(end - start) / 3_600_000
        }
        let toResolved = resolved.compactMap { hours($0, until: "resolved") }
        let toClosed = cohort.filter { $0.status == "closed" }.compactMap { hours($0, until: "closed") }
        #expect(
            report.toResolved
                == DurationFigures(
                    count: toResolved.count, medianHours: nearestRank(toResolved, 0.5), p90Hours: nearestRank(toResolved, 0.9)))
        #expect(
            report.toClosed
                == DurationFigures(count: toClosed.count, medianHours: nearestRank(toClosed, 0.5), p90Hours: nearestRank(toClosed, 0.9)))

        // Overdue, whenever reported: due before today, not done. Days by the calendar.
        let calendar = Calendar(identifier: .gregorian)
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        let overdue = issues.filter { ($0.due ?? "9999") < today && !done.contains($0.status) }
        #expect(Set(report.overdue.map(\.id)) == Set(overdue.map(\.id)) && !overdue.isEmpty)
        for o in report.overdue {
            let days = calendar.dateComponents([.day], from: formatter.date(from: o.dueDate)!, to: formatter.date(from: today)!).day!
            #expect(o.daysOverdue == days)
        }
        #expect(report.overdueByAge.map(\.count).reduce(0, +) == overdue.count)
        #expect(report.overdueByTier == Dictionary(grouping: overdue, by: \.tier).mapValues(\.count))

        // Escalations and de-escalations of the period, the tier before each replayed in time order.
        var changes: [String] = []
        for i in issues {
            var tier = ["small": 0, "medium": 1, "large": 2][i.reportedTier]!
            for e in i.events where e.kind == "escalated" || e.kind == "deescalated" {
                let target = ["small": 0, "medium": 1, "large": 2][e.tier!]!
                let before = tier
                tier = e.kind == "escalated" ? max(tier, target) : target
                if e.at >= from && e.at < to { changes.append("\(i.id) \(e.kind) \(before)→\(target) \(e.note ?? "")") }
            }
        }
        let rank = ["small": 0, "medium": 1, "large": 2]
        #expect(
            report.tierChanges.map {
                "\($0.issueID) \($0.kind.rawValue) \(rank[$0.fromTier.rawValue]!)→\(rank[$0.toTier.rawValue]!) \($0.note ?? "")"
            }.sorted()
                == changes.sorted())

        #expect(!changes.isEmpty && !toClosed.isEmpty && !visits.isEmpty && report.months.count >= 5)

        // Months in UTC+8.
        var months: [String: [Int]] = [:]
        var utc8 = calendar
        utc8.timeZone = TimeZone(secondsFromGMT: 8 * 3600)!
        for i in cohort {
            let at = i.events.first { $0.kind == "reported" }!.at
            let c = utc8.dateComponents([.year, .month], from: Date(timeIntervalSince1970: Double(at) / 1000))
            let key = String(format: "%04d-%02d", c.year!, c.month!)
            months[key, default: [0, 0]][0] += 1
            if i.status == "closed" { months[key]![1] += 1 }
        }
        #expect(Dictionary(uniqueKeysWithValues: report.months.map { ($0.month, [$0.reported, $0.closed]) }) == months)
        #expect(report.months.map(\.month) == months.keys.sorted())

        // An area: only what lies under it; an unknown area is an error, not an empty report.
        let township = "\(Self.county)/gyama"
        let part = try replica.countyReport(fromMillis: from, toMillis: to, today: today, area: township)
        #expect(part.total.reported == cohort.filter { $0.grid.hasPrefix(township + "/") }.count)
        #expect(part.total.name == "甲玛乡" && part.townships.map(\.area) == [township] && part.grids.count == 4)
        #expect(report.townships.count == 2 && report.villages.count == 4 && report.grids.count == 8)
        #expect(throws: SyncCoreError.notFound(kind: "area", id: "\(Self.county)/nowhere")) {
            try replica.countyReport(fromMillis: from, toMillis: to, today: today, area: "\(Self.county)/nowhere")
        }
    }
}
