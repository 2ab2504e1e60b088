import ArgumentParser
import Foundation
import SyncCore

/// `gridsync issue …`: issues and the events of their lifecycle.
struct IssueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: tr("help.issue.record_issues_their_lifecycle"),
        discussion: tr("help.issue.lifecycle_reported_dispatched_accepted"),
        subcommands: [
            Report.self, Edit.self, List.self, Show.self, Delete.self,
            Dispatch.self, Accept.self, Visit.self, Escalate.self, Deescalate.self, Resolve.self, FollowUp.self, Reopen.self, Close.self,
            Publish.self,
        ])

    struct Report: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "report", abstract: tr("help.issue.report_new_issue"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Option(help: ArgumentHelp(tr("help.household.grid_default_device_s"))) var grid: String?
        @Option(help: ArgumentHelp(tr("help.issue.dispute_hazard_request_public"))) var kind: IssueKind
        @Option(help: ArgumentHelp(tr("help.issue.small_grid_medium_township"))) var tier: IssueTier = .small
        @Option(help: ArgumentHelp(tr("help.issue.short_title"))) var title: String
        @Option(help: ArgumentHelp(tr("help.issue.what_happened"))) var description: String?
        @Option(help: ArgumentHelp(tr("help.issue.household_concerned_id_its"))) var household: String?
        @Option(help: ArgumentHelp(tr("help.issue.where"))) var location: String?
        @Option(help: ArgumentHelp(tr("help.issue.who_handles_it"))) var handler: String?
        @Option(help: ArgumentHelp(tr("help.issue.due_date_yyyy_mm"))) var due: String?
        @Option(help: ArgumentHelp(tr("help.issue.requester"))) var requester: String?
        @Option(help: ArgumentHelp(tr("help.issue.channel"))) var channel: IssueChannel?

        func execute() async throws {
            let r = try Recording(common)
            try r.checkPermitted(table: Schema.issues)
            let household = try household.map { try r.id($0, Schema.households) }
            let id = try r.replica.reportIssue(
                IssueReport(
                    grid: try r.grid(grid), kind: kind, tier: tier, title: title, description: description, householdID: household,
                    location: location, reporter: r.author, handler: handler, dueDate: due, requester: requester, channel: channel))
            if output.json { return try Output.json(["id": id]) }
            print(tr("issue.issue_reported", id))
        }
    }

    struct Edit: DeviceCommand {
        static let configuration = CommandConfiguration(
            commandName: "edit", abstract: tr("help.issue.change_fields_issue_clears"))
        @OptionGroup var common: CommonOptions
        @Argument(help: ArgumentHelp(tr("help.issue.issue_s_id_its"))) var id: String
        @Option(help: ArgumentHelp(tr("help.issue.dispute_hazard_request_public"))) var kind: IssueKind?
        @Option var title: String?
        @Option var description: String?
        @Option(help: ArgumentHelp(tr("help.issue.household_concerned_id_its"))) var household: String?
        @Option var location: String?
        @Option var handler: String?
        @Option(help: ArgumentHelp(tr("help.issue.due_date_yyyy_mm"))) var due: String?

        func execute() async throws {
            let r = try Recording(common)
            let id = try r.id(id, Schema.issues)
            let household = try household.map { $0.isEmpty ? "" : try r.id($0, Schema.households) }
            // Who handles it changes by dispatch, for the roles that dispatch (the server refuses the
            // rest); the same handler again is no change, and is not written as a newer one.
            let current = try r.replica.currentValue(table: Schema.issues, id: id, column: "handler") ?? ""
            let handler = handler.flatMap { given -> String? in
                let trimmed = given.trimmingCharacters(in: .whitespacesAndNewlines)
                return trimmed == current ? nil : given
            }
            // An issue this device reported and has not sent yet is still being created: its
            // handler may be put right (the server takes it with the new record).
            if handler != nil, let role = DeviceRole(rawValue: r.config.role),
                WritePolicy.refusal(role: role, changing: "handler", of: Schema.issues.name) != nil,
                !(try r.replica.hasOwnWrite(
                    table: Schema.issues.name, rowID: id, column: "tier", after: r.replica.peerCursor(r.config.server).acknowledged))
            {
                throw Failure("not_permitted", tr("role.may_not_reassign", tr("role." + role.rawValue)), status: .badInput)
            }
            try r.replica.editIssue(
                id,
                IssueFields(
                    kind: kind, title: title, description: description, householdID: household, location: location, handler: handler,
                    dueDate: due))
            print(tr("issue.issue_saved", id))
        }
    }

    struct List: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: tr("help.issue.list_issues_newest_first"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Option(help: ArgumentHelp(tr("help.issue.reported_dispatched_accepted_reopened"))) var status: IssueStatus?
        @Option(help: ArgumentHelp(tr("help.issue.small_medium_large"))) var tier: IssueTier?
        @Option var kind: IssueKind?
        @Option(help: ArgumentHelp(tr("help.household.only_this_grid_area"))) var grid: String?
        @Flag(help: ArgumentHelp(tr("help.issue.only_issues_past_their"))) var overdue = false
        @Option(help: ArgumentHelp(tr("help.issue.day_overdue_judged_yyyy"))) var today: String?
        @Option(help: ArgumentHelp(tr("help.household.at_most_this_many"))) var limit = 1000
        @Option(help: ArgumentHelp(tr("help.issue.only_this_handler"))) var handler: String?
        @Flag(help: ArgumentHelp(tr("help.issue.only_mine"))) var mine = false

        func validate() throws {
            if let today { _ = try parseDay(today, option: "--today") }
            if mine && handler != nil { throw ValidationError(tr("args.mine_or_handler")) }
        }

        func execute() async throws {
            let r = try Recording(common)
            var filter = IssueFilter(
                status: status, tier: tier, kind: kind, area: grid, overdueOn: overdue ? (today ?? FieldCLI.today()) : nil)
            filter.limit = limit
            filter.handler = handler
            if mine {
                guard let me = r.author else { throw Failure("no_name", tr("issue.device_has_no_name"), status: .badInput) }
                filter.handler = me
            }
            let list = try r.replica.issues(filter)
            if output.json { return try Output.json(list) }
            print(
                TextWidth.table(
                    [tr("conflict.id"), tr("issue.status"), tr("issue.tier"), tr("issue.kind"), tr("issue.due"), tr("issue.title")],
                    list.map {
                        [
                            short($0.id), Terms.term(.status, $0.status.rawValue),
                            Terms.term(.tier, $0.tier.rawValue),
                            Terms.term(.kind, $0.kind.rawValue), $0.dueDate ?? "", $0.title,
                        ]
                    }))
            print(tr("issue.issue_s", list.count))
        }
    }

    struct Show: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: tr("help.issue.show_issue_its_events"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: ArgumentHelp(tr("help.issue.issue_s_id_its"))) var id: String

        func execute() async throws {
            let r = try Recording(common)
            let id = try r.id(id, Schema.issues)
            guard let d = try r.replica.issueDetail(id) else { throw SyncCoreError.notFound(kind: "issue", id: id) }
            if output.json { return try Output.json(d) }
            let i = d.issue
            let rows: [[String]] =
                [
                    [tr("conflict.id"), i.id], [tr("household.grid"), "\(try r.replica.areaNames().label(i.grid)) (\(i.grid))"],
                    [tr("issue.title"), i.title],
                    [tr("issue.kind"), Terms.term(.kind, i.kind.rawValue)], [tr("issue.status"), Terms.term(.status, i.status.rawValue)],
                    [
                        tr("issue.tier"),
                        i.tier == i.reportedTier
                            ? Terms.term(.tier, i.tier.rawValue)
                            : "\(Terms.term(.tier, i.tier.rawValue)) (\(tr("issue.reported")) \(Terms.term(.tier, i.reportedTier.rawValue)))",
                    ],
                    [
                        tr("issue.requester"),
                        [i.requester, i.channel.map { Terms.term(.channel, $0.rawValue) }].compactMap { $0 }.joined(separator: " · "),
                    ],
                    [tr("issue.description"), i.description ?? ""], [tr("issue.household"), i.householdID ?? ""],
                    [tr("household.location"), i.location ?? ""], [tr("issue.reporter"), i.reporter ?? ""],
                    [tr("issue.handler"), i.handler ?? ""], [tr("issue.due"), i.dueDate ?? ""],
                ] + (i.deleted ? [[tr("household.state"), tr("household.deleted")]] : [])
            print(TextWidth.table([tr("conflict.field"), tr("conflict.value")], rows, maxColumn: 100))
            print("")
            print(
                TextWidth.table(
                    [tr("conflict.when"), tr("issue.event"), tr("issue.by"), tr("issue.details")],
                    d.events.map { e in
                        let details = [
                            e.assignee.map { "→ \($0)" }, e.tier.map { "→ \(Terms.term(.tier, $0.rawValue))" },
                            e.satisfaction.map { tr("issue.satisfaction", $0) }, e.note,
                        ]
                        .compactMap { $0 }.joined(separator: " ")
                        return [Output.time(e.at.millis), Terms.term(.event, e.kind.rawValue), e.actor ?? "", details]
                    }, maxColumn: 80))
            let conflicts = try r.replica.conflicts(rowID: id)
            if !conflicts.isEmpty {
                print(
                    tr("issue.open_conflict_s_on_this", conflicts.count))
            }
            PhotoCommand.printList(d.photos, blobs: try r.home.blobs())
        }
    }

    struct Delete: DeviceCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete", abstract: tr("help.issue.delete_issue_it_stays"))
        @OptionGroup var common: CommonOptions
        @Argument(help: ArgumentHelp(tr("help.issue.issue_s_id_its"))) var id: String

        func execute() async throws {
            let r = try Recording(common)
            let id = try r.id(id, Schema.issues)
            try r.replica.deleteIssue(id)
            print(tr("issue.issue_deleted", id))
        }
    }
}

/// The options of every event command.
struct EventOptions: ParsableArguments {
    @Argument(help: ArgumentHelp(tr("help.issue.issue_s_id_its"))) var id: String
    @Option(help: ArgumentHelp(tr("help.issue.note"))) var note: String?
}

/// Appends one event to an issue's log and prints the new status.
func recordEvent(
    _ common: CommonOptions, _ options: EventOptions, _ kind: IssueEventKind, note: String? = nil, tier: IssueTier? = nil,
    satisfaction: Int? = nil, handler: String? = nil
) throws {
    let r = try Recording(common)
    let id = try r.id(options.id, Schema.issues)
    let current = try r.replica.issueDetail(id)?.issue
    try r.checkPermitted(event: kind, issueTier: current?.tier)
    // A worker accepts what was dispatched to them, not an order meant for someone else.
    if kind == .accepted, let role = DeviceRole(rawValue: r.config.role), let assigned = current?.handler,
        WritePolicy.refusal(role: role, accepting: assigned, as: r.author) != nil
    {
        throw Failure("not_permitted", tr("issue.dispatched_to_someone_else", assigned), status: .badInput)
    }
    if let handler { try r.replica.editIssue(id, IssueFields(handler: handler)) }
    try r.replica.appendEvent(
        issueID: id, kind: kind, actor: r.author, note: note ?? options.note, tier: tier, satisfaction: satisfaction,
        assignee: kind == .dispatched ? handler : nil)
    let issue = try r.replica.issueDetail(id)?.issue
    print(
        tr(
            "issue.recorded_issue_now_at_tier", Terms.term(.event, kind.rawValue),
            issue.map { Terms.term(.status, $0.status.rawValue) } ?? "?",
            issue.map { Terms.term(.tier, $0.tier.rawValue) } ?? "?"))
}

extension IssueCommand {
    struct Dispatch: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "dispatch", abstract: tr("help.issue.dispatch_issue_handler"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        @Option(help: ArgumentHelp(tr("help.issue.handler_it_goes"))) var to: String?
        func execute() async throws { try recordEvent(common, event, .dispatched, handler: to) }
    }

    struct Accept: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "accept", abstract: tr("help.issue.accept_issue_handler_takes"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        func execute() async throws { try recordEvent(common, event, .accepted) }
    }

    struct Visit: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "visit", abstract: tr("help.issue.record_visit_note_what"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        func validate() throws { guard event.note != nil else { throw ValidationError(tr("args.visit_needs_note")) } }
        func execute() async throws { try recordEvent(common, event, .visit) }
    }

    struct Escalate: DeviceCommand {
        static let configuration = CommandConfiguration(
            commandName: "escalate", abstract: tr("help.issue.escalate_higher_tier_medium"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        @Option(help: ArgumentHelp(tr("help.issue.medium_large"))) var tier: IssueTier
        func execute() async throws { try recordEvent(common, event, .escalated, tier: tier) }
    }

    struct Deescalate: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "deescalate", abstract: tr("help.issue.hand_issue_back_down"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        @Option(help: ArgumentHelp(tr("help.issue.small_medium"))) var tier: IssueTier
        func execute() async throws { try recordEvent(common, event, .deescalated, tier: tier) }
    }

    struct Resolve: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "resolve", abstract: tr("help.issue.resolve_issue_saying_how"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        @Option(help: ArgumentHelp(tr("help.issue.how_it_was_resolved"))) var resolution: String?
        func validate() throws {
            guard resolution != nil || event.note != nil else { throw ValidationError(tr("args.resolution_needed")) }
        }
        func execute() async throws { try recordEvent(common, event, .resolved, note: resolution) }
    }

    struct FollowUp: DeviceCommand {
        static let configuration = CommandConfiguration(
            commandName: "follow-up", abstract: tr("help.issue.record_follow_up_visit"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        @Option(help: ArgumentHelp(tr("help.issue.resident_s_satisfaction_very"))) var satisfaction: Int
        func validate() throws {
            guard (1...5).contains(satisfaction) else { throw ValidationError(tr("args.satisfaction_range")) }
        }
        func execute() async throws { try recordEvent(common, event, .followUp, satisfaction: satisfaction) }
    }

    struct Reopen: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "reopen", abstract: tr("help.issue.reopen_resolved_closed_issue"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        func execute() async throws { try recordEvent(common, event, .reopened) }
    }

    struct Close: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "close", abstract: tr("help.issue.close_resolved_issue"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        func execute() async throws { try recordEvent(common, event, .closed) }
    }

    struct Publish: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "publish", abstract: tr("help.issue.publish"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var event: EventOptions
        func execute() async throws { try recordEvent(common, event, .published) }
    }
}
