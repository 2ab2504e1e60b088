import ArgumentParser
import Foundation
import SyncCore

/// `gridsync issue …`: issues and the events of their lifecycle.
struct IssueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Record issues and their lifecycle: report, edit, list, show, delete, and the events.",
        discussion: "Lifecycle: reported → dispatched → accepted → resolved → followed up (回访) → closed; reopen goes back.",
        subcommands: [
            Report.self, Edit.self, List.self, Show.self, Delete.self,
            Dispatch.self, Accept.self, Visit.self, Escalate.self, Deescalate.self, Resolve.self, FollowUp.self, Reopen.self, Close.self,
        ])

    struct Report: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "report", abstract: "Report a new issue.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Option(help: "The grid (default: the device's scope when it has one).") var grid: String?
        @Option(help: "dispute, hazard, request, public_order, environment or other.") var kind: IssueKind
        @Option(help: "small (grid), medium (township) or large (county).") var tier: IssueTier = .small
        @Option(help: "A short title.") var title: String
        @Option(help: "What happened.") var description: String?
        @Option(help: "The household concerned (id or its first characters).") var household: String?
        @Option(help: "Where.") var location: String?
        @Option(help: "Who handles it.") var handler: String?
        @Option(help: "Due date, YYYY-MM-DD.") var due: String?

        func execute() async throws {
            let r = try Recording(common)
            try r.checkPermitted(table: Schema.issues)
            let household = try household.map { try r.id($0, Schema.households) }
            let id = try r.replica.reportIssue(
                IssueReport(
                    grid: try r.grid(grid), kind: kind, tier: tier, title: title, description: description, householdID: household,
                    location: location, reporter: r.author, handler: handler, dueDate: due))
            if output.json { return try Output.json(["id": id]) }
            print(say("issue reported: \(id)", "已上报事件：\(id)"))
        }
    }

    struct Edit: DeviceCommand {
        static let configuration = CommandConfiguration(
            commandName: "edit", abstract: "Change fields of an issue (\"\" clears one; status and tier change by events).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The issue's id (or its first characters).") var id: String
        @Option(help: "dispute, hazard, request, public_order, environment or other.") var kind: IssueKind?
        @Option var title: String?
        @Option var description: String?
        @Option(help: "The household concerned (id or its first characters).") var household: String?
        @Option var location: String?
        @Option var handler: String?
        @Option(help: "Due date, YYYY-MM-DD.") var due: String?

        func execute() async throws {
            let r = try Recording(common)
            let id = try r.id(id, Schema.issues)
            let household = try household.map { $0.isEmpty ? "" : try r.id($0, Schema.households) }
            try r.replica.editIssue(
                id,
                IssueFields(
                    kind: kind, title: title, description: description, householdID: household, location: location, handler: handler,
                    dueDate: due))
            print(say("issue \(id) saved", "事件 \(id) 已保存"))
        }
    }

    struct List: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List issues, newest first.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Option(help: "reported, dispatched, accepted, reopened, resolved, followed_up or closed.") var status: IssueStatus?
        @Option(help: "small, medium or large.") var tier: IssueTier?
        @Option var kind: IssueKind?
        @Option(help: "Only this grid or area.") var grid: String?
        @Flag(help: "Only issues past their due date and not resolved.") var overdue = false
        @Option(help: "The day overdue is judged on, YYYY-MM-DD (default: today).") var today: String?
        @Option(help: "At most this many.") var limit = 1000

        func validate() throws {
            if let today { _ = try parseDay(today, option: "--today") }
        }

        func execute() async throws {
            let r = try Recording(common)
            var filter = IssueFilter(
                status: status, tier: tier, kind: kind, area: grid, overdueOn: overdue ? (today ?? FieldCLI.today()) : nil)
            filter.limit = limit
            let list = try r.replica.issues(filter)
            if output.json { return try Output.json(list) }
            print(
                TextWidth.table(
                    [say("id", "编号"), say("status", "状态"), say("tier", "层级"), say("kind", "类型"), say("due", "期限"), say("title", "标题")],
                    list.map {
                        [
                            short($0.id), Terms.term(.status, $0.status.rawValue, Language.current.rawValue),
                            Terms.term(.tier, $0.tier.rawValue, Language.current.rawValue),
                            Terms.term(.kind, $0.kind.rawValue, Language.current.rawValue), $0.dueDate ?? "", $0.title,
                        ]
                    }))
            print(say("\(list.count) issue(s)", "共 \(list.count) 件"))
        }
    }

    struct Show: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show an issue with its events and photos.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: "The issue's id (or its first characters).") var id: String

        func execute() async throws {
            let r = try Recording(common)
            let id = try r.id(id, Schema.issues)
            guard let d = try r.replica.issueDetail(id) else { throw SyncCoreError.notFound(kind: "issue", id: id) }
            if output.json { return try Output.json(d) }
            let i = d.issue
            let rows: [[String]] =
                [
                    [say("id", "编号"), i.id], [say("grid", "网格"), "\(try r.replica.areaNames().label(i.grid)) (\(i.grid))"],
                    [say("title", "标题"), i.title],
                    [say("kind", "类型"), i.kind.rawValue], [say("status", "状态"), i.status.rawValue],
                    [
                        say("tier", "层级"),
                        i.tier == i.reportedTier
                            ? i.tier.rawValue : "\(i.tier.rawValue) (\(say("reported", "上报时")) \(i.reportedTier.rawValue))",
                    ],
                    [say("description", "描述"), i.description ?? ""], [say("household", "住户"), i.householdID ?? ""],
                    [say("location", "位置"), i.location ?? ""], [say("reporter", "上报人"), i.reporter ?? ""],
                    [say("handler", "处理人"), i.handler ?? ""], [say("due", "期限"), i.dueDate ?? ""],
                ] + (i.deleted ? [[say("state", "状态"), say("deleted", "已删除")]] : [])
            print(TextWidth.table([say("field", "字段"), say("value", "内容")], rows, maxColumn: 100))
            print("")
            print(
                TextWidth.table(
                    [say("when", "时间"), say("event", "事件"), say("by", "人员"), say("details", "详情")],
                    d.events.map { e in
                        let details = [
                            e.tier.map { "→ \($0.rawValue)" }, e.satisfaction.map { say("satisfaction \($0)/5", "满意度 \($0)/5") }, e.note,
                        ]
                        .compactMap { $0 }.joined(separator: " ")
                        return [Output.time(e.at.millis), e.kind.rawValue, e.actor ?? "", details]
                    }, maxColumn: 80))
            let conflicts = try r.replica.conflicts(rowID: id)
            if !conflicts.isEmpty {
                print(
                    say(
                        "\(conflicts.count) open conflict(s) on this issue: see `gridsync conflict list`",
                        "此事件有 \(conflicts.count) 个待处理冲突：请查看 `gridsync conflict list`"))
            }
            PhotoCommand.printList(d.photos, blobs: try r.home.blobs())
        }
    }

    struct Delete: DeviceCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete", abstract: "Delete an issue (it stays as a tombstone and never comes back).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The issue's id (or its first characters).") var id: String

        func execute() async throws {
            let r = try Recording(common)
            let id = try r.id(id, Schema.issues)
            try r.replica.deleteIssue(id)
            print(say("issue \(id) deleted", "事件 \(id) 已删除"))
        }
    }
}

/// The options of every event command.
struct EventOptions: ParsableArguments {
    @Argument(help: "The issue's id (or its first characters).") var id: String
    @Option(help: "A note.") var note: String?
}

/// Appends one event to an issue's log and prints the new status.
func recordEvent(
    _ common: CommonOptions, _ options: EventOptions, _ kind: IssueEventKind, note: String? = nil, tier: IssueTier? = nil,
    satisfaction: Int? = nil, handler: String? = nil
) throws {
    let r = try Recording(common)
    let id = try r.id(options.id, Schema.issues)
    try r.checkPermitted(event: kind, issueTier: try r.replica.issueDetail(id)?.issue.tier)
    if let handler { try r.replica.editIssue(id, IssueFields(handler: handler)) }
    try r.replica.appendEvent(
        issueID: id, kind: kind, actor: r.author, note: note ?? options.note, tier: tier, satisfaction: satisfaction)
    let issue = try r.replica.issueDetail(id)?.issue
    print(
        say(
            "\(kind.rawValue) recorded; the issue is now \(issue?.status.rawValue ?? "?") at tier \(issue?.tier.rawValue ?? "?")",
            "已记录 \(kind.rawValue)；事件现为 \(issue?.status.rawValue ?? "?")，层级 \(issue?.tier.rawValue ?? "?")"))
}

extension IssueCommand {
    struct Dispatch: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "dispatch", abstract: "Dispatch the issue to a handler.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        @Option(help: "The handler it goes to.") var to: String?
        func execute() async throws { try recordEvent(common, event, .dispatched, handler: to) }
    }

    struct Accept: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "accept", abstract: "Accept the issue (the handler takes it on).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        func execute() async throws { try recordEvent(common, event, .accepted) }
    }

    struct Visit: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "visit", abstract: "Record a visit, with a note of what was found.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        func validate() throws { guard event.note != nil else { throw ValidationError("a visit needs --note") } }
        func execute() async throws { try recordEvent(common, event, .visit) }
    }

    struct Escalate: DeviceCommand {
        static let configuration = CommandConfiguration(
            commandName: "escalate", abstract: "Escalate to a higher tier (medium: township, large: county).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        @Option(help: "medium or large.") var tier: IssueTier
        func execute() async throws { try recordEvent(common, event, .escalated, tier: tier) }
    }

    struct Deescalate: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "deescalate", abstract: "Hand the issue back down to a lower tier.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        @Option(help: "small or medium.") var tier: IssueTier
        func execute() async throws { try recordEvent(common, event, .deescalated, tier: tier) }
    }

    struct Resolve: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "resolve", abstract: "Resolve the issue, saying how.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        @Option(help: "How it was resolved.") var resolution: String?
        func validate() throws {
            guard resolution != nil || event.note != nil else { throw ValidationError("say how it was resolved with --resolution") }
        }
        func execute() async throws { try recordEvent(common, event, .resolved, note: resolution) }
    }

    struct FollowUp: DeviceCommand {
        static let configuration = CommandConfiguration(
            commandName: "follow-up", abstract: "Record a follow-up visit (回访) and the resident's satisfaction (1-5).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        @Option(help: "The resident's satisfaction, 1 (very unhappy) to 5 (very satisfied).") var satisfaction: Int
        func validate() throws {
            guard (1...5).contains(satisfaction) else { throw ValidationError("--satisfaction is 1 to 5") }
        }
        func execute() async throws { try recordEvent(common, event, .followUp, satisfaction: satisfaction) }
    }

    struct Reopen: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "reopen", abstract: "Reopen a resolved or closed issue.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        func execute() async throws { try recordEvent(common, event, .reopened) }
    }

    struct Close: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "close", abstract: "Close a resolved issue.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        func execute() async throws { try recordEvent(common, event, .closed) }
    }
}
