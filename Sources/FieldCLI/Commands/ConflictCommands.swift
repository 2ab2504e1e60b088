import ArgumentParser
import Foundation
import SyncCore

/// `gridsync conflict …`: values that lost to a concurrent edit, kept for a person to review.
struct ConflictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflict", abstract: tr("help.conflict.review_values_overwritten_concurrent"),
        subcommands: [List.self, Show.self, Resolve.self])

    /// A conflict with the value that won.
    struct Shown: Encodable {
        var conflict: ConflictRecord
        var currentValue: String?
        /// The person whose value lost, when an event of theirs has been seen here.
        var lostBy: String? = nil
    }

    static func shown(_ c: ConflictRecord, _ replica: Replica, names: [String: String] = [:]) throws -> Shown {
        let current = try Schema.table(named: c.table).flatMap { t throws(SyncCoreError) in
            t.index(of: c.column) == nil ? nil : try replica.currentValue(table: t, id: c.rowID, column: c.column)
        }
        return Shown(conflict: c, currentValue: current, lostBy: names[c.lostSite])
    }

    struct List: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: tr("help.conflict.list_conflicts_waiting_review"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Flag(help: ArgumentHelp(tr("help.conflict.include_resolved_ones"))) var all = false

        func execute() async throws {
            let r = try Recording(common)
            let names = try r.replica.writerNames()
            let list = try r.replica.conflicts(includeResolved: all).map { try ConflictCommand.shown($0, r.replica, names: names) }
            if output.json { return try Output.json(list) }
            print(
                TextWidth.table(
                    [
                        tr("conflict.id"), tr("conflict.field"), tr("conflict.kept"), tr("conflict.overwritten"), tr("conflict.by"),
                        tr("conflict.when"),
                    ],
                    list.map { s in
                        let c = s.conflict
                        return [
                            "\(c.table)/\(short(c.rowID))/\(c.column)", c.column, s.currentValue ?? "", c.lostValue ?? "",
                            s.lostBy ?? c.lostSite, Output.time(c.lostAt.millis) + (c.resolved ? " ✓" : ""),
                        ]
                    }, maxColumn: 36))
            let waiting = list.filter { !$0.conflict.resolved }.count
            print(
                waiting == 0
                    ? tr("conflict.no_conflict_waits_for_review")
                    : tr("conflict.conflict_s_review_resolve_with", waiting))
        }
    }

    struct Show: DeviceCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: tr("help.conflict.show_one_conflict_value"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: ArgumentHelp(tr("help.conflict.conflict_s_id_its"))) var id: String

        func execute() async throws {
            let r = try Recording(common)
            let id = try ConflictCommand.resolve(id, r)
            guard let c = try r.replica.conflicts(includeResolved: true).first(where: { $0.id == id }) else {
                throw SyncCoreError.notFound(kind: "conflict", id: id)
            }
            let s = try ConflictCommand.shown(c, r.replica, names: try r.replica.writerNames())
            if output.json { return try Output.json(s) }
            print(
                TextWidth.table(
                    [tr("conflict.what"), tr("conflict.value")],
                    [
                        [tr("conflict.id"), c.id], [tr("conflict.record"), "\(c.table)/\(c.rowID)"], [tr("conflict.field"), c.column],
                        [tr("conflict.value_kept"), s.currentValue ?? ""], [tr("conflict.value_overwritten"), c.lostValue ?? ""],
                        [tr("conflict.overwritten_value_written"), Output.time(c.lostAt.millis)],
                        [tr("conflict.by_device"), s.lostBy.map { "\($0) (\(c.lostSite))" } ?? c.lostSite],
                        [tr("conflict.resolved"), c.resolved ? "\(c.resolvedBy ?? "") \(c.resolution ?? "")" : tr("conflict.no")],
                    ], maxColumn: 100))
        }
    }

    struct Resolve: DeviceCommand {
        static let configuration = CommandConfiguration(
            commandName: "resolve", abstract: tr("help.conflict.mark_conflict_as_reviewed"))
        @OptionGroup var common: CommonOptions
        @Argument(help: ArgumentHelp(tr("help.conflict.conflict_s_id_its_2"))) var id: String
        @Option(help: ArgumentHelp(tr("help.conflict.what_was_decided"))) var note: String?

        func execute() async throws {
            let r = try Recording(common)
            let id = try ConflictCommand.resolve(id, r)
            try r.replica.resolveConflict(id, by: r.author, resolution: note)
            print(tr("conflict.conflict_resolved", id))
        }
    }

    /// The conflict named by `given`: its id (or the id's first characters), or the form `conflict
    /// list` prints, `TABLE/ROW/FIELD` with the row's first characters.
    static func resolve(_ given: String, _ r: Recording) throws -> String {
        let parts = given.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 3, Schema.table(named: parts[0]) != nil, !parts[1].isEmpty {
            let all = try r.replica.conflicts(includeResolved: true).filter {
                $0.table == parts[0] && $0.rowID.hasPrefix(parts[1]) && $0.column == parts[2]
            }
            // Waiting ones first: the printed form names the field, which may have had several.
            let matches = all.contains { !$0.resolved } ? all.filter { !$0.resolved } : all
            switch matches.count {
            case 0: throw SyncCoreError.notFound(kind: "conflict", id: given)
            case 1: return matches[0].id
            default:
                throw Failure(
                    "ambiguous",
                    tr("conflict.names_conflicts_use_one_their", given, matches.count, matches.prefix(5).map(\.id).joined(separator: ", ")),
                    status: .badInput)
            }
        }
        return try r.replica.resolveID(given, in: Schema.conflicts)
    }
}
