import ArgumentParser
import Foundation
import SyncCore

/// `gridsync report`: the county center's report on a period and an area.
struct ReportCommand: DeviceCommand {
    enum Level: String, ExpressibleByArgument, CaseIterable { case township, village, grid }

    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: tr("help.report.closure_rate_township_village"),
        discussion: tr("help.report.counts_issues_reported_from")
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var output: JSONFlag
    @Flag(help: ArgumentHelp(tr("help.report.print_closure_tables_areas"))) var csv = false
    @Option(help: ArgumentHelp(tr("help.report.first_day_yyyy_mm"))) var from: String
    @Option(help: ArgumentHelp(tr("help.report.last_day_yyyy_mm"))) var to: String
    @Option(help: ArgumentHelp(tr("help.export.only_this_area_county"))) var area: String?
    @Option(help: ArgumentHelp(tr("help.report.level_break_area_down"))) var by: Level?
    @Flag(help: ArgumentHelp(tr("help.report.show_area_paths_beside"))) var paths = false
    @Option(help: ArgumentHelp(tr("help.report.day_overdue_judged_default"))) var today: String?
    @Option(help: ArgumentHelp(tr("help.report.list_at_most_this"))) var limit = 20
    @Option(help: ArgumentHelp(tr("help.report.devices_not_synced_this"))) var staleDays = 3

    func validate() throws {
        let start = try parseDay(from, option: "--from")
        let end = try parseDay(to, option: "--to")
        guard start <= end else { throw ValidationError(tr("args.from_after_to", from, to)) }
        if let today { _ = try parseDay(today, option: "--today") }
        if let area { do { _ = try AreaPath(area) } catch { throw ValidationError(Failure.from(error).message) } }
        guard !(csv && output.json) else { throw ValidationError(tr("args.json_or_csv")) }
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
            ? tr("report.days_value", String(format: "%.1f", h / 24))
            : tr("report.hours_value", String(format: "%.1f", h))
    }

    static func text(_ report: CountyReport, from: String, to: String, by level: Level, paths: Bool, limit: Int) -> String {
        var out: [String] = []
        let place = report.total.area == "*" ? "" : " · \(report.total.name)" + (paths ? " (\(report.total.area))" : "")
        out.append(tr("report.report", from, to) + place)
        out.append(
            tr("report.closure_rate") + "\(report.total.closed) / \(report.total.reported)"
                + (report.total.rate.map { String(format: " = %.1f%%", $0 * 100) } ?? "")
                + tr("report.overdue_now", report.total.overdue))

        let areas: [AreaFigures]
        let heading: String
        switch level {
        case .township: (areas, heading) = (report.townships, tr("report.by_township"))
        case .village: (areas, heading) = (report.villages, tr("report.by_village"))
        case .grid: (areas, heading) = (report.grids, tr("report.by_grid"))
        }
        out.append("\n" + heading)
        out.append(
            TextWidth.table(
                [tr("report.area")] + (paths ? [tr("report.path")] : [])
                    + [tr("report.reported"), tr("report.closed"), tr("report.rate"), tr("report.overdue")],
                areas.map { a in
                    [a.name] + (paths ? [a.area] : []) + ["\(a.reported)", "\(a.closed)", percent(a.rate), "\(a.overdue)"]
                }, maxColumn: 64))

        out.append("\n" + tr("report.handled_within_tier"))
        out.append(
            TextWidth.table(
                [tr("report.reported_at"), tr("report.resolved"), tr("report.within_tier"), tr("report.share")],
                report.withinTier.map { t in
                    [t.tier == "*" ? tr("report.all") : Terms.term(.tier, t.tier), "\(t.resolved)", "\(t.withinTier)", percent(t.rate)]
                }))

        for (title, group, rows) in [
            (tr("report.by_tier_now"), Terms.Group.tier, report.byTier),
            (tr("report.by_kind"), .kind, report.byKind),
            (tr("report.by_handler"), nil, report.byHandler),
            (tr("report.by_worker_who_reported"), nil, report.byWorker),
        ] as [(String, Terms.Group?, [BreakdownFigures])] {
            out.append("\n" + title)
            out.append(
                TextWidth.table(
                    ["", tr("report.reported"), tr("report.closed"), tr("report.rate"), tr("report.open")],
                    rows.prefix(limit).map { b in
                        [group.map { Terms.term($0, b.key) } ?? b.key, "\(b.reported)", "\(b.closed)", percent(b.rate), "\(b.open)"]
                    }, maxColumn: 40))
        }

        let s = report.satisfaction
        out.append("\n" + tr("report.follow_up_visits_satisfaction"))
        out.append(
            tr("report.follow_up_coverage_resolved", s.followedUp, s.resolved, percent(s.coverage)))
        out.append(
            tr("report.satisfied_visits", percent(s.satisfiedRate), s.visits)
                + (s.average.map { tr("report.average_value", String(format: "%.2f", $0)) } ?? "")
                + "  (" + s.bySatisfaction.enumerated().map { "\($0.offset + 1)★ \($0.element)" }.joined(separator: ", ") + ")")

        out.append("\n" + tr("report.time_from_report"))
        out.append(
            TextWidth.table(
                ["", tr("report.issues"), tr("report.median"), tr("report.th_percentile")],
                [
                    [
                        tr("report.resolved_2"), "\(report.toResolved.count)", hours(report.toResolved.medianHours),
                        hours(report.toResolved.p90Hours),
                    ],
                    [
                        tr("report.closed_2"), "\(report.toClosed.count)", hours(report.toClosed.medianHours),
                        hours(report.toClosed.p90Hours),
                    ],
                ]))

        out.append(
            "\n"
                + tr("report.overdue_due_before_not_resolved", report.today, report.overdue.count))
        if !report.overdue.isEmpty {
            out.append(
                tr("report.by_tier")
                    + IssueTier.allCases.map { "\(Terms.term(.tier, $0.rawValue)) \(report.overdueByTier[$0.rawValue] ?? 0)" }.joined(
                        separator: ", ")
                    + tr("report.by_days_overdue")
                    + report.overdueByAge.map { "\($0.band) \($0.count)" }.joined(separator: ", "))
            out.append(
                TextWidth.table(
                    [
                        tr("conflict.id"), tr("issue.due"), tr("report.days"), tr("issue.tier"), tr("issue.status"), tr("report.area"),
                        tr("issue.title"),
                    ],
                    report.overdue.prefix(limit).map {
                        [
                            short($0.id), $0.dueDate, "\($0.daysOverdue)", Terms.term(.tier, $0.tier.rawValue),
                            Terms.term(.status, $0.status.rawValue),
                            $0.name, $0.title,
                        ]
                    }))
            if report.overdue.count > limit {
                out.append(tr("report.more", report.overdue.count - limit))
            }
        }

        out.append("\n" + tr("report.escalations_de_escalations", report.tierChanges.count))
        if !report.tierChanges.isEmpty {
            out.append(
                TextWidth.table(
                    [tr("conflict.when"), tr("conflict.id"), "", tr("report.from"), tr("report.to"), tr("report.by"), tr("report.note")],
                    report.tierChanges.prefix(limit).map {
                        [
                            Output.time($0.atMillis), short($0.issueID), Terms.term(.event, $0.kind.rawValue),
                            Terms.term(.tier, $0.fromTier.rawValue),
                            Terms.term(.tier, $0.toTier.rawValue), $0.actor ?? "", $0.note ?? "",
                        ]
                    }, maxColumn: 48))
            if report.tierChanges.count > limit {
                out.append(tr("report.more_2", report.tierChanges.count - limit))
            }
        }

        if let d = report.devices {
            out.append(
                "\n"
                    + tr("report.devices_not_synced_for_days", d.staleDays, d.stale.count, d.listed, Output.time(UInt64(d.listedMillis))))
            if !d.stale.isEmpty {
                out.append(
                    TextWidth.table(
                        [tr("report.person"), tr("report.role"), tr("report.last_sync"), tr("report.receipt"), tr("report.scopes")],
                        d.stale.prefix(limit).map {
                            [
                                $0.name ?? "-", $0.role, $0.lastSyncMillis.map { Output.time(UInt64($0)) } ?? tr("report.never"),
                                "\($0.acknowledged)",
                                $0.scopes.joined(separator: " "),
                            ]
                        }, maxColumn: 64))
            }
        }

        out.append("\n" + tr("report.by_month_report"))
        out.append(
            TextWidth.table(
                [tr("report.month"), tr("report.reported"), tr("report.closed"), tr("report.rate")],
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
                    section, b.key, group.map { Terms.term($0, b.key) } ?? b.key, "\(b.reported)", "\(b.closed)", rate(b.rate), "\(b.open)",
                    "",
                ])
            }
        }
        for m in report.months { text += CSV.line(["month", m.month, m.month, "\(m.reported)", "\(m.closed)", rate(m.rate), "", ""]) }
        return text
    }
}
