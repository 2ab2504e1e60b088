import ArgumentParser
import Foundation
import SyncCore

/// `gridsync report`: the county center's report on a period and an area.
struct ReportCommand: DeviceCommand {
    enum Level: String, ExpressibleByArgument, CaseIterable { case township, village, grid }

    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract:
            "Closure rate (办结率) by township, village and grid; handled within tier; breakdowns by tier, kind, handler and worker; follow-ups and satisfaction; times; overdue issues; escalations; the monthly trend.",
        discussion:
            "Counts the issues reported from --from to --to (both days included, local time) under --area in the data this device holds. An issue counts as closed when its status is closed now. Overdue issues are those due before --today and not resolved, whenever they were reported. Places are shown by the names of the area tree; --paths shows their paths too. --json prints every figure; --csv prints the closure tables as CSV."
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var output: JSONFlag
    @Flag(help: "Print the closure tables (areas, tiers, kinds, handlers, workers, months) as CSV.") var csv = false
    @Option(help: "First day, YYYY-MM-DD.") var from: String
    @Option(help: "Last day, YYYY-MM-DD (included).") var to: String
    @Option(help: "Only this area (a county, township, village or grid path).") var area: String?
    @Option(help: "The level to break the area down by in text (default: the one below --area).") var by: Level?
    @Flag(help: "Show area paths beside their names.") var paths = false
    @Option(help: "The day overdue is judged on (default: today).") var today: String?
    @Option(help: "List at most this many overdue issues and escalations in text (all in JSON).") var limit = 20
    @Option(help: "Devices not synced for this many days are listed (county and township devices).") var staleDays = 3

    func validate() throws {
        let start = try parseDay(from, option: "--from")
        let end = try parseDay(to, option: "--to")
        guard start <= end else { throw ValidationError("--from \(from) is after --to \(to)") }
        if let today { _ = try parseDay(today, option: "--today") }
        if let area { do { _ = try AreaPath(area) } catch { throw ValidationError(error.description) } }
        guard !(csv && output.json) else { throw ValidationError("choose --json or --csv, not both") }
    }

    func execute() async throws {
        let r = try Recording(common)
        let period = try reportPeriod(from: from, to: to)
        var report = try r.replica.countyReport(
            fromMillis: period.fromMillis, toMillis: period.toMillis, today: today ?? FieldCLI.today(), area: area,
            utcOffsetSeconds: period.utcOffsetSeconds, scopes: r.config.scopes)
        if let listing = r.home.deviceListing() {
            report.devices = DeviceOversight(
                listing, area: area, staleDays: staleDays, nowMillis: Int64(Date().timeIntervalSince1970 * 1000))
        }
        if output.json { return try Output.json(report) }
        if csv { return print(Self.csv(report), terminator: "") }
        print(Self.text(report, from: from, to: to, by: by ?? Self.levelBelow(area), paths: paths, limit: limit))
    }

    /// The level a drill-down shows below `area`: townships under a county, villages under a
    /// township, grids under a village.
    static func levelBelow(_ area: String?) -> Level {
        switch AreaLevel.below(area) {
        case .village: return .village
        case .township: return .township
        default: return .grid
        }
    }

    static func percent(_ rate: Double?) -> String { rate.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }
    static func hours(_ h: Double?) -> String {
        guard let h else { return "-" }
        return h >= 48
            ? say(String(format: "%.1f days", h / 24), String(format: "%.1f 天", h / 24))
            : say(String(format: "%.1f h", h), String(format: "%.1f 小时", h))
    }
    static func term(_ group: Terms.Group, _ key: String) -> String { Terms.term(group, key, Language.current.rawValue) }

    static func text(_ report: CountyReport, from: String, to: String, by level: Level, paths: Bool, limit: Int) -> String {
        var out: [String] = []
        let place = report.total.area == "*" ? "" : " · \(report.total.name)" + (paths ? " (\(report.total.area))" : "")
        out.append(say("Report \(from) to \(to)", "报告 \(from) 至 \(to)") + place)
        out.append(
            say("closure rate: ", "办结率：") + "\(report.total.closed) / \(report.total.reported)"
                + (report.total.rate.map { String(format: " = %.1f%%", $0 * 100) } ?? "")
                + say("  ·  overdue now: \(report.total.overdue)", "  ·  当前逾期：\(report.total.overdue) 件"))

        let areas: [AreaFigures]
        let heading: String
        switch level {
        case .township: (areas, heading) = (report.townships, say("By township", "按乡镇"))
        case .village: (areas, heading) = (report.villages, say("By village", "按村（社区）"))
        case .grid: (areas, heading) = (report.grids, say("By grid", "按网格"))
        }
        out.append("\n" + heading)
        out.append(
            TextWidth.table(
                [say("area", "区域")] + (paths ? [say("path", "路径")] : [])
                    + [say("reported", "上报"), say("closed", "办结"), say("rate", "办结率"), say("overdue", "逾期")],
                areas.map { a in
                    [a.name] + (paths ? [a.area] : []) + ["\(a.reported)", "\(a.closed)", percent(a.rate), "\(a.overdue)"]
                }, maxColumn: 64))

        out.append("\n" + say("Handled within tier (小事不出村、中事不出乡、大事不出县)", "在本级办理（小事不出村、中事不出乡、大事不出县）"))
        out.append(
            TextWidth.table(
                [say("reported at", "上报层级"), say("resolved", "已办理"), say("within tier", "本级办理"), say("share", "占比")],
                report.withinTier.map { t in
                    [t.tier == "*" ? say("all", "全部") : term(.tier, t.tier), "\(t.resolved)", "\(t.withinTier)", percent(t.rate)]
                }))

        for (title, group, rows) in [
            (say("By tier (now)", "按层级（当前）"), Terms.Group.tier, report.byTier),
            (say("By kind", "按类别"), .kind, report.byKind),
            (say("By handler", "按承办人"), nil, report.byHandler),
            (say("By worker (who reported)", "按网格员（上报人）"), nil, report.byWorker),
        ] as [(String, Terms.Group?, [BreakdownFigures])] {
            out.append("\n" + title)
            out.append(
                TextWidth.table(
                    ["", say("reported", "上报"), say("closed", "办结"), say("rate", "办结率"), say("open", "未办理")],
                    rows.prefix(limit).map { b in
                        [group.map { term($0, b.key) } ?? b.key, "\(b.reported)", "\(b.closed)", percent(b.rate), "\(b.open)"]
                    }, maxColumn: 40))
        }

        let s = report.satisfaction
        out.append("\n" + say("Follow-up visits (回访) and satisfaction", "回访与满意度"))
        out.append(
            say(
                "follow-up coverage: \(s.followedUp) / \(s.resolved) resolved = \(percent(s.coverage))",
                "回访率：\(s.followedUp) / \(s.resolved) 件已办理 = \(percent(s.coverage))"))
        out.append(
            say(
                "satisfied (4-5): \(percent(s.satisfiedRate)) of \(s.visits) visits",
                "满意率（4-5 分）：\(percent(s.satisfiedRate))，共 \(s.visits) 次回访")
                + (s.average.map { say(String(format: "; average %.2f / 5", $0), String(format: "；平均 %.2f / 5", $0)) } ?? "")
                + "  (" + s.bySatisfaction.enumerated().map { "\($0.offset + 1)★ \($0.element)" }.joined(separator: ", ") + ")")

        out.append("\n" + say("Time from report", "办理用时"))
        out.append(
            TextWidth.table(
                ["", say("issues", "件数"), say("median", "中位数"), say("90th percentile", "90 分位")],
                [
                    [
                        say("to resolved", "至办理"), "\(report.toResolved.count)", hours(report.toResolved.medianHours),
                        hours(report.toResolved.p90Hours),
                    ],
                    [
                        say("to closed", "至办结"), "\(report.toClosed.count)", hours(report.toClosed.medianHours),
                        hours(report.toClosed.p90Hours),
                    ],
                ]))

        out.append(
            "\n"
                + say(
                    "Overdue (due before \(report.today), not resolved): \(report.overdue.count)",
                    "逾期（\(report.today) 前到期且未办理）：\(report.overdue.count) 件"))
        if !report.overdue.isEmpty {
            out.append(
                say("by tier: ", "按层级：")
                    + IssueTier.allCases.map { "\(term(.tier, $0.rawValue)) \(report.overdueByTier[$0.rawValue] ?? 0)" }.joined(
                        separator: ", ")
                    + say(" · by days overdue: ", " · 按逾期天数：")
                    + report.overdueByAge.map { "\($0.band) \($0.count)" }.joined(separator: ", "))
            out.append(
                TextWidth.table(
                    [
                        say("id", "编号"), say("due", "期限"), say("days", "逾期天数"), say("tier", "层级"), say("status", "状态"), say("area", "区域"),
                        say("title", "标题"),
                    ],
                    report.overdue.prefix(limit).map {
                        [
                            short($0.id), $0.dueDate, "\($0.daysOverdue)", term(.tier, $0.tier.rawValue), term(.status, $0.status.rawValue),
                            $0.name, $0.title,
                        ]
                    }))
            if report.overdue.count > limit {
                out.append(say("… and \(report.overdue.count - limit) more", "…… 另有 \(report.overdue.count - limit) 件"))
            }
        }

        out.append("\n" + say("Escalations and de-escalations: \(report.tierChanges.count)", "上交与下交：\(report.tierChanges.count) 次"))
        if !report.tierChanges.isEmpty {
            out.append(
                TextWidth.table(
                    [say("when", "时间"), say("id", "编号"), "", say("from", "从"), say("to", "至"), say("by", "操作人"), say("note", "说明")],
                    report.tierChanges.prefix(limit).map {
                        [
                            Output.time($0.atMillis), short($0.issueID), term(.event, $0.kind.rawValue), term(.tier, $0.fromTier.rawValue),
                            term(.tier, $0.toTier.rawValue), $0.actor ?? "", $0.note ?? "",
                        ]
                    }, maxColumn: 48))
            if report.tierChanges.count > limit {
                out.append(say("… and \(report.tierChanges.count - limit) more", "…… 另有 \(report.tierChanges.count - limit) 次"))
            }
        }

        if let d = report.devices {
            out.append(
                "\n"
                    + say(
                        "Devices not synced for \(d.staleDays) days: \(d.stale.count) of \(d.listed) (as the server listed them at \(Output.time(UInt64(d.listedMillis))))",
                        "超过 \(d.staleDays) 天未同步的设备：\(d.stale.count) / \(d.listed) 台（服务器于 \(Output.time(UInt64(d.listedMillis))) 的列表）"))
            if !d.stale.isEmpty {
                out.append(
                    TextWidth.table(
                        [say("person", "人员"), say("role", "角色"), say("last sync", "最近同步"), say("receipt", "回执"), say("scopes", "范围")],
                        d.stale.prefix(limit).map {
                            [
                                $0.name ?? "-", $0.role, $0.lastSyncMillis.map { Output.time(UInt64($0)) } ?? say("never", "从未"),
                                "\($0.acknowledged)",
                                $0.scopes.joined(separator: " "),
                            ]
                        }, maxColumn: 64))
            }
        }

        out.append("\n" + say("By month (of report)", "按月（上报月份）"))
        out.append(
            TextWidth.table(
                [say("month", "月份"), say("reported", "上报"), say("closed", "办结"), say("rate", "办结率")],
                report.months.map { [$0.month, "\($0.reported)", "\($0.closed)", percent($0.rate)] }))
        return out.joined(separator: "\n")
    }

    /// The closure tables as one CSV: section, key, name, reported, closed, rate, open, overdue.
    static func csv(_ report: CountyReport) -> String {
        var text = CSV.line(["section", "key", "name", "reported", "closed", "rate", "open", "overdue"])
        func rate(_ r: Double?) -> String { r.map { String(format: "%.4f", $0) } ?? "" }
        for (section, areas) in [
            ("total", [report.total]), ("township", report.townships), ("village", report.villages), ("grid", report.grids),
        ] {
            for a in areas {
                text += CSV.line([section, a.area, a.name, "\(a.reported)", "\(a.closed)", rate(a.rate), "", "\(a.overdue)"])
            }
        }
        for (section, group, rows) in [
            ("tier", Terms.Group.tier, report.byTier), ("kind", .kind, report.byKind), ("handler", nil, report.byHandler),
            ("worker", nil, report.byWorker),
        ] as [(String, Terms.Group?, [BreakdownFigures])] {
            for b in rows {
                text += CSV.line([
                    section, b.key, group.map { term($0, b.key) } ?? b.key, "\(b.reported)", "\(b.closed)", rate(b.rate), "\(b.open)", "",
                ])
            }
        }
        for m in report.months { text += CSV.line(["month", m.month, m.month, "\(m.reported)", "\(m.closed)", rate(m.rate), "", ""]) }
        return text
    }
}
