import ArgumentParser
import Foundation
import SyncCore

/// `gridsync report`: the county center's report on a period.
struct ReportCommand: DeviceCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Closure rate (办结率) per township and grid, overdue issues, escalations by tier, follow-up satisfaction.",
        discussion:
            "Counts the issues reported from --from to --to (both days included, local time) in the data this device holds. An issue counts as closed when its status is closed now. Overdue issues are those due before --today and not resolved, whenever they were reported."
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var output: JSONFlag
    @Option(help: "First day, YYYY-MM-DD.") var from: String
    @Option(help: "Last day, YYYY-MM-DD (included).") var to: String
    @Option(help: "Only this area (a township, village or grid path).") var area: String?
    @Option(help: "The day overdue is judged on (default: today).") var today: String?
    @Option(help: "List at most this many overdue issues in text (all in JSON).") var overdueLimit = 20

    func validate() throws {
        let start = try parseDay(from, option: "--from")
        let end = try parseDay(to, option: "--to")
        guard start <= end else { throw ValidationError("--from \(from) is after --to \(to)") }
        if let today { _ = try parseDay(today, option: "--today") }
    }

    func execute() async throws {
        let r = try Recording(common)
        let start = try parseDay(from, option: "--from")
        let end = Calendar.current.date(byAdding: .day, value: 1, to: try parseDay(to, option: "--to"))!
        let report = try r.replica.countyReport(
            fromMillis: UInt64(start.timeIntervalSince1970 * 1000), toMillis: UInt64(end.timeIntervalSince1970 * 1000),
            today: today ?? FieldCLI.today(), area: area)
        if output.json { return try Output.json(report) }
        print(say("Report \(from) to \(to)", "报告 \(from) 至 \(to)") + (area.map { " · \($0)" } ?? ""))
        print(say("closure rate: ", "办结率：") + Self.rate(report.total))
        print("\n" + say("By township", "按乡镇"))
        print(Self.table(report.townships))
        print("\n" + say("By grid", "按网格"))
        print(Self.table(report.grids))
        print(
            "\n"
                + say(
                    "Overdue (due before \(report.today), not resolved): \(report.overdue.count)",
                    "逾期（\(report.today) 前到期且未办结）：\(report.overdue.count) 件"))
        if !report.overdue.isEmpty {
            print(
                TextWidth.table(
                    [say("id", "编号"), say("due", "期限"), say("tier", "层级"), say("status", "状态"), say("grid", "网格"), say("title", "标题")],
                    report.overdue.prefix(overdueLimit).map {
                        [short($0.id), $0.dueDate, $0.tier.rawValue, $0.status.rawValue, $0.grid, $0.title]
                    }))
            if report.overdue.count > overdueLimit {
                print(say("… and \(report.overdue.count - overdueLimit) more", "…… 另有 \(report.overdue.count - overdueLimit) 件"))
            }
        }
        print("\n" + say("Escalations by tier", "按层级的升级"))
        print(
            TextWidth.table(
                [say("to tier", "升至"), say("escalations", "次数")],
                IssueTier.allCases.filter { $0 != .small }.map { [$0.rawValue, "\(report.escalations[$0.rawValue] ?? 0)"] }))
        let f = report.followUps
        print("\n" + say("Follow-up visits (回访): \(f.visits)", "回访：\(f.visits) 次"))
        if let average = f.average {
            print(
                say("average satisfaction ", "平均满意度 ") + String(format: "%.2f / 5", average) + "  ("
                    + f.bySatisfaction.enumerated().map { "\($0.offset + 1)★ \($0.element)" }.joined(separator: ", ") + ")")
        }
    }

    /// Closure figures as a table, with a name column when the replica knows names of the areas.
    static func table(_ figures: [ClosureFigures]) -> String {
        let named = figures.contains { $0.name != nil }
        let header =
            [say("area", "区域")] + (named ? [say("name", "名称")] : []) + [say("reported", "上报"), say("closed", "办结"), say("rate", "办结率")]
        return TextWidth.table(
            header,
            figures.map { c in
                [c.area] + (named ? [c.name ?? ""] : [])
                    + ["\(c.reported)", "\(c.closed)", c.rate.map { String(format: "%.1f%%", $0 * 100) } ?? "-"]
            }, maxColumn: 64)
    }

    static func rate(_ c: ClosureFigures) -> String {
        "\(c.closed) / \(c.reported)" + (c.rate.map { String(format: " = %.1f%%", $0 * 100) } ?? "")
    }
}
