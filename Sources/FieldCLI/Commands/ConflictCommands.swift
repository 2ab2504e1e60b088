import ArgumentParser
import Foundation
import SyncCore

/// `gridsync conflict …`: values that lost to a concurrent edit, kept for a person to review.
struct ConflictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflict", abstract: "Review values overwritten by concurrent edits: list, show, resolve.",
        subcommands: [List.self, Show.self, Resolve.self])

    /// A conflict with the value that won.
    struct Shown: Encodable {
        var conflict: ConflictRecord
        var currentValue: String?
    }

    static func shown(_ c: ConflictRecord, _ replica: Replica) throws -> Shown {
        let current = try Schema.table(named: c.table).flatMap { t throws(SyncCoreError) in
            t.index(of: c.column) == nil ? nil : try replica.currentValue(table: t, id: c.rowID, column: c.column)
        }
        return Shown(conflict: c, currentValue: current)
    }

    struct List: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List conflicts waiting for review.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Flag(help: "Include resolved ones.") var all = false

        func execute() async throws {
            let r = try Recording(common)
            let list = try r.replica.conflicts(includeResolved: all).map { try ConflictCommand.shown($0, r.replica) }
            if output.json { return try Output.json(list) }
            print(
                TextWidth.table(
                    [say("id", "编号"), say("field", "字段"), say("kept", "现值"), say("overwritten", "被覆盖的值"), say("when", "时间")],
                    list.map { s in
                        let c = s.conflict
                        return [
                            "\(c.table)/\(short(c.rowID))/\(c.column)", c.column, s.currentValue ?? "", c.lostValue ?? "",
                            Output.time(c.lostAt.millis) + (c.resolved ? " ✓" : ""),
                        ]
                    }, maxColumn: 36))
            let waiting = list.filter { !$0.conflict.resolved }.count
            print(
                waiting == 0
                    ? say("no conflict waits for review", "没有待处理的冲突")
                    : say(
                        "\(waiting) conflict(s) to review; resolve with `gridsync conflict resolve ID` (the id as listed)",
                        "共 \(waiting) 个冲突待处理；用 `gridsync conflict resolve ID`（按列出的编号）处理"))
        }
    }

    struct Show: DeviceCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show one conflict: the value kept, the one overwritten, who and when.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: "The conflict's id or its first characters (e.g. issues/3f2a91bc/title).") var id: String

        func execute() async throws {
            let r = try Recording(common)
            let id = try ConflictCommand.resolve(id, r)
            guard let c = try r.replica.conflicts(includeResolved: true).first(where: { $0.id == id }) else {
                throw SyncCoreError.notFound(kind: "conflict", id: id)
            }
            let s = try ConflictCommand.shown(c, r.replica)
            if output.json { return try Output.json(s) }
            print(
                TextWidth.table(
                    [say("what", "项目"), say("value", "内容")],
                    [
                        [say("id", "编号"), c.id], [say("record", "记录"), "\(c.table)/\(c.rowID)"], [say("field", "字段"), c.column],
                        [say("value kept", "保留的值"), s.currentValue ?? ""], [say("value overwritten", "被覆盖的值"), c.lostValue ?? ""],
                        [say("overwritten value written", "被覆盖值的写入时间"), Output.time(c.lostAt.millis)],
                        [say("by device", "写入设备"), c.lostSite],
                        [say("resolved", "已处理"), c.resolved ? "\(c.resolvedBy ?? "") \(c.resolution ?? "")" : say("no", "否")],
                    ], maxColumn: 100))
        }
    }

    struct Resolve: DeviceCommand {
        static let configuration = CommandConfiguration(
            commandName: "resolve", abstract: "Mark a conflict as reviewed (edit the record first if the overwritten value should win).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The conflict's id or its first characters.") var id: String
        @Option(help: "What was decided.") var note: String?

        func execute() async throws {
            let r = try Recording(common)
            let id = try ConflictCommand.resolve(id, r)
            try r.replica.resolveConflict(id, by: r.author, resolution: note)
            print(say("conflict \(id) resolved", "冲突 \(id) 已处理"))
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
                    say(
                        "\(given) names \(matches.count) conflicts: use one of their ids, \(matches.prefix(5).map(\.id).joined(separator: ", "))",
                        "\(given) 对应 \(matches.count) 个冲突：请使用其编号之一：\(matches.prefix(5).map(\.id).joined(separator: "、"))"),
                    status: .badInput)
            }
        }
        return try r.replica.resolveID(given, in: Schema.conflicts)
    }
}
