import ArgumentParser
import Foundation
import SyncCore

/// `gridsync export`: households, issues and events as CSV or JSON, in UTF-8.
struct ExportCommand: DeviceCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable { case csv, json }

    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export households, issues and events as CSV files or one JSON document (UTF-8).",
        discussion:
            "CSV: households.csv, issues.csv and events.csv in the --out folder, RFC 4180 (CRLF lines, quoted fields). Add --bom so that spreadsheet programs read the UTF-8 correctly. JSON: one document to --out (a file) or to standard output."
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "csv or json.") var format: Format
    @Option(help: "CSV: the folder to write to; JSON: the file (default: standard output).") var out: String?
    @Flag(help: "Start CSV files with a UTF-8 byte order mark (for spreadsheet programs).") var bom = false
    @Option(help: "Only this area (a township, village or grid path).") var area: String?

    func validate() throws {
        if format == .csv && out == nil { throw ValidationError("CSV export needs --out FOLDER") }
    }

    func execute() async throws {
        let r = try Recording(common)
        let households = try r.replica.households(area: area, limit: Int.max)
        var filter = IssueFilter(area: area)
        filter.limit = Int.max
        // By grid and id, so that every replica exports the same bytes for the same data.
        let issues = try r.replica.issues(filter).sorted { ($0.grid, $0.id) < ($1.grid, $1.id) }
        let events = try r.replica.events(area: area)
        switch format {
        case .json:
            struct Document: Encodable {
                var households: [Household]
                var issues: [Issue]
                var events: [IssueEvent]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = try encoder.encode(Document(households: households, issues: issues, events: events))
            if let out {
                try DeviceHome.writeDurably(data, to: URL(fileURLWithPath: out), mode: 0o644)
                print(say("exported to \(out)", "已导出到 \(out)"))
            } else {
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            }
        case .csv:
            let folder = URL(fileURLWithPath: out!)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try write(
                folder, "households.csv",
                ["id", "grid", "door_plate", "head_name_zh", "head_name_bo", "members", "phone", "location", "tags", "notes"],
                households.map { h in
                    [
                        h.id, h.grid, h.doorPlate, h.headNameZh, h.headNameBo, h.members.map(String.init), h.phone, h.location,
                        h.tags.joined(separator: ","), h.notes,
                    ]
                })
            try write(
                folder, "issues.csv",
                [
                    "id", "grid", "kind", "tier", "reported_tier", "status", "title", "description", "household_id", "location", "reporter",
                    "handler", "due_date",
                ],
                issues.map { i in
                    [
                        i.id, i.grid, i.kind.rawValue, i.tier.rawValue, i.reportedTier.rawValue, i.status.rawValue, i.title, i.description,
                        i.householdID, i.location, i.reporter, i.handler, i.dueDate,
                    ]
                })
            try write(
                folder, "events.csv", ["id", "issue_id", "kind", "at", "actor", "note", "tier", "satisfaction"],
                events.map { e in
                    [
                        e.id, e.issueID, e.kind.rawValue, Output.time(e.at.millis), e.actor, e.note, e.tier?.rawValue,
                        e.satisfaction.map(String.init),
                    ]
                })
            print(
                say(
                    "exported \(households.count) households, \(issues.count) issues, \(events.count) events to \(folder.path)",
                    "已导出 \(households.count) 户、\(issues.count) 件事件、\(events.count) 条事件记录到 \(folder.path)"))
        }
    }

    private func write(_ folder: URL, _ name: String, _ header: [String], _ rows: [[String?]]) throws {
        var text = bom ? "\u{FEFF}" : ""
        text += CSV.line(header)
        for row in rows { text += CSV.line(row.map { $0 ?? "" }) }
        try DeviceHome.writeDurably(Data(text.utf8), to: folder.appendingPathComponent(name), mode: 0o644)
    }
}
