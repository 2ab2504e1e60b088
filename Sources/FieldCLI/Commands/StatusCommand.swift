import ArgumentParser
import Foundation
import SyncCore

/// `gridsync status`: what waits to be sent and what the server has confirmed.
struct StatusCommand: DeviceCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show changes and photos waiting to be sent, the last receipt, last sync and clock offset.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var output: JSONFlag
    @Flag(help: "List the records that are on this device only (not yet stored by the server).") var pending = false

    struct Report: Codable {
        var device: String
        var role: String
        var server: String
        var scopes: [String]
        var localVersion: Int64
        var changesWaiting: Int
        /// Records with changes the server has not stored yet, by table: safe here, sent at the next sync.
        var onThisDeviceOnly: [String: Int]
        var receipt: Int64
        var lastSyncMillis: UInt64?
        var clockOffsetMillis: Int64?
        var photosWaiting: Int
        var openConflicts: Int
        /// Changes received from the server that this device refused: kept, retried at every sync.
        var quarantined: [SetAsideChange]
        /// Changes of this device the server refused: not sent again.
        var refusedByServer: [SetAsideChange]
    }

    func execute() async throws {
        let home = common.device
        let config = try home.config()
        let replica = try home.readReplica()
        let cursor = try replica.peerCursor(config.server)
        let pendingRows = try replica.pendingOwnRows(after: cursor.acknowledged)
        let report = Report(
            device: config.device, role: config.role, server: config.server, scopes: config.scopes,
            localVersion: try replica.localVersion(),
            changesWaiting: try replica.pendingOwnChanges(after: cursor.acknowledged),
            onThisDeviceOnly: Dictionary(grouping: pendingRows, by: \.table).mapValues(\.count), receipt: cursor.acknowledged,
            lastSyncMillis: cursor.lastSyncMillis, clockOffsetMillis: cursor.clockOffsetMillis,
            photosWaiting: try home.photosWaiting(replica: replica, blobs: try home.blobs()).count,
            openConflicts: try replica.conflicts().count, quarantined: try replica.quarantined(),
            refusedByServer: try replica.refusedPushes())
        if output.json && !pending { return try Output.json(report) }
        if pending { return try Self.listPending(pendingRows, replica: replica, json: output.json) }
        var rows: [[String]] = [
            [say("device", "设备"), "\(report.device) (\(report.role))"],
            [say("server", "服务器"), report.server],
            [say("scopes", "范围"), report.scopes.joined(separator: ", ")],
            [say("on this device only", "仅在本机"), Self.pendingLine(report.onThisDeviceOnly)],
            [say("changes waiting", "待发送的修改"), "\(report.changesWaiting)"],
            [
                say("receipt", "回执"),
                say(
                    "the server has stored everything up to local version \(report.receipt) (of \(report.localVersion)), except changes it refused when they were synced",
                    "服务器已保存至本地版本 \(report.receipt)（共 \(report.localVersion)），同步时被拒收的修改除外"),
            ],
            [say("last sync", "上次同步"), report.lastSyncMillis.map(Output.time) ?? say("never", "从未")],
            [
                say("clock offset", "时钟偏差"),
                report.clockOffsetMillis.map { say("server is \($0) ms ahead of this device", "服务器比本机快 \($0) 毫秒") } ?? "-",
            ],
            [say("photos waiting", "待上传照片"), "\(report.photosWaiting)"],
            [say("open conflicts", "待处理冲突"), "\(report.openConflicts)"],
        ]
        if !report.quarantined.isEmpty {
            rows.append([
                say("received, set aside", "已接收但暂存"),
                say(
                    "\(report.quarantined.count) change(s) this device refused; kept and retried at every sync",
                    "本机拒收的 \(report.quarantined.count) 项修改；已保存，每次同步时重试"),
            ])
        }
        if !report.refusedByServer.isEmpty {
            rows.append([
                say("refused by the server", "被服务器拒收"),
                say("\(report.refusedByServer.count) change(s), not sent again", "\(report.refusedByServer.count) 项修改，不再发送"),
            ])
        }
        print(TextWidth.table([say("what", "项目"), say("value", "值")], rows, maxColumn: 120))
        for item in (report.quarantined + report.refusedByServer).prefix(10) {
            print("  \(item.table)/\(short(item.rowID)) \(item.column): \(item.reason) [\(item.code)]")
        }
    }

    /// "2 households, 1 issue … — safe on this device, sent with the next sync", or that nothing waits.
    static func pendingLine(_ counts: [String: Int]) -> String {
        let order: [(String, String, String)] = [
            ("households", "household(s)", "户"), ("issues", "issue(s)", "件事项"), ("issue_events", "event(s)", "条事件"),
            ("photo_refs", "photo reference(s)", "条照片记录"), ("conflicts", "conflict review(s)", "条冲突处理"),
        ]
        let parts = order.compactMap { key, en, zh in counts[key].map { say("\($0) \(en)", "\($0) \(zh)") } }
        guard !parts.isEmpty else { return say("nothing: the server has stored every record of this device", "无：服务器已保存本机的全部记录") }
        return parts.joined(separator: say(", ", "、"))
            + say(
                " — safe on this device, sent with the next sync (`status --pending` lists them)",
                "——安全保存在本机，下次同步时发送（`status --pending` 列出）")
    }

    /// The records on this device only, each with what a person recognises it by.
    static func listPending(_ rows: [(table: String, rowID: String)], replica: Replica, json: Bool) throws {
        struct Item: Encodable {
            var table: String
            var id: String
            var label: String
        }
        var items: [Item] = []
        for (table, id) in rows {
            var label = ""
            switch table {
            case "households":
                if let h = try replica.household(id) {
                    label = [h.doorPlate, h.headNameZh, h.headNameBo].compactMap { $0 }.joined(separator: " ")
                }
            case "issues":
                label = try replica.issueDetail(id)?.issue.title ?? ""
            default:
                label = ""
            }
            items.append(Item(table: table, id: id, label: label))
        }
        if json { return try Output.json(items) }
        if items.isEmpty { return print(pendingLine([:])) }
        print(
            TextWidth.table(
                [say("record", "记录"), say("id", "编号"), say("what", "内容")],
                items.map { [Terms.recordName($0.table, Language.current.rawValue), short($0.id), $0.label] }))
        print(pendingLine(Dictionary(grouping: rows, by: \.table).mapValues(\.count)))
    }
}
