import ArgumentParser
import Foundation
import SyncCore

/// `gridsync status`: what waits to be sent and what the server has confirmed.
struct StatusCommand: DeviceCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: tr("help.status.show_changes_photos_waiting"))

    @OptionGroup var common: CommonOptions
    @OptionGroup var output: JSONFlag
    @Flag(help: ArgumentHelp(tr("help.status.list_records_that_are"))) var pending = false

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
        let writes = try replica.ownWrites(after: cursor.acknowledged).rows
        let pendingRows = writes.map { (table: $0.table, rowID: $0.rowID) }
        let report = Report(
            device: config.device, role: config.role, server: config.server, scopes: config.scopes,
            localVersion: try replica.localVersion(),
            changesWaiting: writes.reduce(0) { $0 + $1.columns },
            onThisDeviceOnly: Dictionary(grouping: pendingRows, by: \.table).mapValues(\.count), receipt: cursor.acknowledged,
            lastSyncMillis: cursor.lastSyncMillis, clockOffsetMillis: cursor.clockOffsetMillis,
            photosWaiting: try home.photosWaiting(replica: replica, blobs: try home.blobs()).count,
            openConflicts: try replica.conflicts().count, quarantined: try replica.quarantined(),
            refusedByServer: try replica.refusedPushes())
        if output.json && !pending { return try Output.json(report) }
        if pending { return try Self.listPending(pendingRows, replica: replica, json: output.json) }
        var rows: [[String]] = [
            [tr("status.device"), "\(report.device) (\(report.role))"],
            [tr("status.server"), report.server],
            [tr("report.scopes"), report.scopes.joined(separator: ", ")],
            [tr("status.on_this_device_only"), Self.pendingLine(report.onThisDeviceOnly)],
            [tr("status.changes_waiting"), "\(report.changesWaiting)"],
            [
                tr("report.receipt"),
                tr("status.server_has_stored_everything_up", report.receipt, report.localVersion),
            ],
            [tr("status.last_sync"), report.lastSyncMillis.map(Output.time) ?? tr("report.never")],
            [
                tr("status.clock_offset"),
                report.clockOffsetMillis.map { tr("status.server_ms_ahead_this_device", $0) } ?? "-",
            ],
            [tr("status.photos_waiting"), "\(report.photosWaiting)"],
            [tr("status.open_conflicts"), "\(report.openConflicts)"],
        ]
        if !report.quarantined.isEmpty {
            rows.append([
                tr("status.received_set_aside"),
                tr("status.change_s_this_device_refused", report.quarantined.count),
            ])
        }
        if !report.refusedByServer.isEmpty {
            rows.append([
                tr("status.refused_by_server"),
                tr("status.change_s_not_sent_again", report.refusedByServer.count),
            ])
        }
        print(TextWidth.table([tr("conflict.what"), tr("status.value")], rows, maxColumn: 120))
        for item in (report.quarantined + report.refusedByServer).prefix(10) {
            print("  \(item.table)/\(short(item.rowID)) \(item.column): \(item.reason) [\(item.code)]")
        }
    }

    /// "2 households, 1 issue … — safe on this device, sent with the next sync", or that nothing waits.
    static func pendingLine(_ counts: [String: Int]) -> String {
        let order = ["households", "issues", "issue_events", "photo_refs", "conflicts"]
        let parts = order.compactMap { table in counts[table].map { tr("status.count_" + table, $0) } }
        guard !parts.isEmpty else { return tr("status.nothing_server_has_stored_every") }
        return parts.joined(separator: tr("status.separator"))
            + tr("status.safe_on_this_device_sent")
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
                [tr("conflict.record"), tr("conflict.id"), tr("photo.what")],
                items.map { [Terms.recordName($0.table, Language.current.rawValue), short($0.id), $0.label] }))
        print(pendingLine(Dictionary(grouping: rows, by: \.table).mapValues(\.count)))
    }
}
