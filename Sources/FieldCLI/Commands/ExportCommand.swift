import ArgumentParser
import Foundation
import SyncCore

/// `gridsync export`: households, issues, the event log, the photo manifest and conflicts as CSV
/// files or one JSON document, for a spreadsheet user: headers and values in the user's language,
/// ISO dates, names beside ids, the area's names per level.
struct ExportCommand: DeviceCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable { case csv, json }

    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: tr("help.export.export_households_issues_events"),
        discussion: tr("help.export.csv_households_csv_issues")
    )

    @OptionGroup var common: CommonOptions
    @Option(help: ArgumentHelp(tr("help.export.csv_json"))) var format: Format
    @Option(help: ArgumentHelp(tr("help.export.csv_folder_write_json"))) var out: String?
    @Flag(inversion: .prefixedNo, help: ArgumentHelp(tr("help.export.start_csv_files_utf"))) var bom = true
    @Option(help: ArgumentHelp(tr("help.export.only_this_area_county"))) var area: String?
    @Flag(help: ArgumentHelp(tr("help.export.copy_photo_files_held"))) var photos = false

    func validate() throws {
        if format == .csv && out == nil { throw ValidationError(tr("args.csv_needs_out")) }
        if photos && out == nil { throw ValidationError(tr("args.photos_need_out")) }
        if let area { do { _ = try AreaPath(area) } catch { throw ValidationError(Failure.from(error).message) } }
    }

    func execute() async throws {
        let r = try Recording(common)
        if let area, try !r.replica.knowsArea(area, scopes: r.config.scopes) {
            throw SyncCoreError.notFound(kind: "area", id: area)
        }
        let blobs = try r.home.blobs()
        let tables = try ExportTables.build(r.replica, blobs: blobs, area: area, language: Language.current.rawValue)
        switch format {
        case .json:
            let data = try ExportTables.json(tables)
            if let out {
                try DeviceHome.writeDurably(data, to: URL(fileURLWithPath: out), mode: 0o644)
                print(tr("export.exported", out))
            } else {
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            }
        case .csv:
            let folder = URL(fileURLWithPath: out!)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for table in tables {
                var text = bom ? "\u{FEFF}" : ""
                text += CSV.line(table.headers)
                for row in table.rows { text += CSV.line(row) }
                try DeviceHome.writeDurably(Data(text.utf8), to: folder.appendingPathComponent(table.file), mode: 0o644)
            }
            let count = { (file: String) in tables.first { $0.file == file }?.rows.count ?? 0 }
            print(
                tr(
                    "export.exported_households_issues_events_photos", count("households.csv"), count("issues.csv"), count("events.csv"),
                    count("photos.csv"), count("conflicts.csv"), folder.path))
        }
        if photos, let out {
            let base = format == .csv ? URL(fileURLWithPath: out) : URL(fileURLWithPath: out).deletingLastPathComponent()
            let folder = base.appendingPathComponent("photos")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var copied = 0
            for (hash, name) in ExportTables.photoFiles(tables) {
                let bytes = try blobs.read(hash)
                try DeviceHome.writeDurably(bytes, to: folder.appendingPathComponent(name), mode: 0o644)
                copied += 1
            }
            print(tr("export.copied_photo_file_s", copied, folder.path))
        }
    }
}

/// The export's tables: each a file name, headers in the chosen language, and rows of text.
struct ExportTables {
    var file: String
    var headers: [String]
    var rows: [[String]]
    /// The JSON key of the table.
    var key: String

    /// A column's header in English (also its JSON key under `--lang en`), Chinese and Tibetan.
    typealias Header = (en: String, zh: String, bo: String)

    static func header(_ h: Header, _ language: String) -> String { language == "zh" ? h.zh : language == "bo" ? h.bo : h.en }

    static let areaHeaders: [Header] = [
        ("township", "乡镇", "ཤང་།"), ("village", "村（社区）", "གྲོང་ཚོ།"), ("grid", "网格", "དྲ་མིག"), ("grid_path", "网格路径", "དྲ་མིག་ལམ་ཐིག"),
    ]

    static func build(_ replica: Replica, blobs: BlobStore, area: String?, language: String) throws -> [ExportTables] {
        let names = try replica.areaNames()
        let tibetan = language == "bo"
        // Worked out once per grid: a county has hundreds of grids and tens of thousands of records.
        var columnsOf: [String: [String]] = [:]
        func areaColumns(_ grid: String) -> [String] {
            if let known = columnsOf[grid] { return known }
            let made =
                [AreaLevel.township, .village, .grid].map { level in
                    AreaNames.ancestor(grid, at: level).map { names.name($0, tibetan: tibetan) } ?? ""
                } + [grid]
            columnsOf[grid] = made
            return made
        }
        func term(_ group: Terms.Group, _ key: String?) -> String { key.map { Terms.term(group, $0, language) } ?? "" }
        let iso = ISO8601DateFormatter()
        iso.timeZone = TimeZone.current
        func time(_ millis: UInt64?) -> String { millis.map { iso.string(from: Date(timeIntervalSince1970: Double($0) / 1000)) } ?? "" }
        func table(_ file: String, _ key: String, _ headers: [Header], _ rows: [[String]]) -> ExportTables {
            ExportTables(file: file, headers: headers.map { header($0, language) }, rows: rows, key: key)
        }

        let households = try replica.households(area: area, limit: Int.max)
        let householdByID = Dictionary(households.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var filter = IssueFilter(area: area)
        filter.limit = Int.max
        // By grid and id, so that every replica exports the same bytes for the same data.
        let issues = try replica.issues(filter).sorted { ($0.grid, $0.id) < ($1.grid, $1.id) }
        let issueByID = Dictionary(issues.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let events = try replica.events(area: area)
        let eventsByIssue = Dictionary(grouping: events, by: \.issueID)
        func householdLabel(_ id: String?) -> String {
            guard let id, let h = householdByID[id] else { return "" }
            return [h.doorPlate, h.headNameZh, h.headNameBo].compactMap { $0 }.joined(separator: " ")
        }

        let householdTable = table(
            "households.csv", "households",
            [("id", "编号", "ཨང་རྟགས།")] + areaHeaders + [
                ("door_plate", "门牌", "སྒོ་བྱང་།"), ("head_name_zh", "户主（中文）", "ཁྱིམ་བདག (རྒྱ་ཡིག)"), ("head_name_bo", "户主（藏文）", "ཁྱིམ་བདག (བོད་ཡིག)"),
                ("members", "人口", "མི་གྲངས།"), ("phone", "电话", "ཁ་པར།"), ("location", "位置", "གནས་ཡུལ།"), ("tags", "标签", "མཚོན་རྟགས།"),
                ("notes", "备注", "མཆན།"),
            ],
            households.map { h in
                [h.id] + areaColumns(h.grid) + [
                    h.doorPlate ?? "", h.headNameZh ?? "", h.headNameBo ?? "", h.members.map(String.init) ?? "", h.phone ?? "",
                    h.location ?? "",
                    h.tags.joined(separator: ","), h.notes ?? "",
                ]
            })

        let issueTable = table(
            "issues.csv", "issues",
            [("id", "编号", "ཨང་རྟགས།")] + areaHeaders + [
                ("kind", "类别", "རིགས།"), ("tier", "层级", "རིམ་པ།"), ("reported_tier", "上报层级", "སྙན་སེང་རིམ་པ།"), ("status", "状态", "གནས་སྟངས།"),
                ("title", "标题", "ཁ་བྱང་།"), ("description", "描述", "འགྲེལ་བཤད།"), ("household_id", "住户编号", "ཁྱིམ་ཚང་ཨང་རྟགས།"),
                ("household", "住户", "ཁྱིམ་ཚང་།"), ("location", "位置", "གནས་ཡུལ།"), ("reporter", "上报人", "སྙན་སེང་བ།"),
                ("handler", "承办人", "འགན་འཁུར་བ།"), ("requester", "诉求人", "ཞུ་བ་ཕུལ་མཁན།"), ("channel", "诉求来源", "ཞུ་བའི་ལམ།"),
                ("due_date", "期限", "དུས་བཀག"), ("reported_at", "上报时间", "སྙན་སེང་དུས་ཚོད།"), ("closed_at", "办结时间", "མཇུག་བསྒྲིལ་དུས་ཚོད།"),
            ],
            issues.map { i in
                let log = eventsByIssue[i.id] ?? []
                return [i.id] + areaColumns(i.grid) + [
                    term(.kind, i.kind.rawValue), term(.tier, i.tier.rawValue), term(.tier, i.reportedTier.rawValue),
                    term(.status, i.status.rawValue),
                    i.title, i.description ?? "", i.householdID ?? "", householdLabel(i.householdID), i.location ?? "", i.reporter ?? "",
                    i.handler ?? "", i.requester ?? "", i.channel.map { term(.channel, $0.rawValue) } ?? "", i.dueDate ?? "",
                    time(log.first { $0.kind == .reported }?.at.millis),
                    i.status == .closed ? time(log.last { $0.kind == .closed }?.at.millis) : "",
                ]
            })

        // The event log, each tier change with the tier before it (a de-escalation's as recorded).
        var eventRows: [[String]] = []
        var tierNow: [String: IssueTier] = [:]
        for e in events {
            guard let issue = issueByID[e.issueID] else { continue }
            let before = tierNow[e.issueID] ?? issue.reportedTier
            var from = ""
            if let to = e.tier, e.kind == .escalated || e.kind == .deescalated {
                let seen = e.fromTier ?? before
                from = term(.tier, seen.rawValue)
                tierNow[e.issueID] = e.kind == .escalated ? max(before, to) : to
            }
            eventRows.append(
                [e.id, e.issueID, issue.title] + areaColumns(issue.grid) + [
                    time(e.at.millis), term(.event, e.kind.rawValue), e.actor ?? "", e.assignee ?? "", e.note ?? "", from,
                    term(.tier, e.tier?.rawValue), e.satisfaction.map(String.init) ?? "",
                ])
        }
        let eventTable = table(
            "events.csv", "events",
            [("id", "编号", "ཨང་རྟགས།"), ("issue_id", "事项编号", "དོན་དག་ཨང་རྟགས།"), ("issue", "事项", "དོན་དག")] + areaHeaders + [
                ("at", "时间", "དུས་ཚོད།"), ("kind", "事件", "བྱ་བ།"), ("actor", "人员", "མི།"), ("assignee", "派给", "བཀོད་སྒྲིག་ཡུལ།"),
                ("note", "说明", "གསལ་བཤད།"),
                ("from_tier", "原层级", "སྔོན་གྱི་རིམ་པ།"),
                ("tier", "层级", "རིམ་པ།"), ("satisfaction", "满意度", "ཚིམ་ཚད།"),
            ], eventRows)

        let ownerNames: [String: Header] = [
            "households": ("household", "住户", "ཁྱིམ་ཚང་།"), "issues": ("issue", "事项", "དོན་དག"), "issue_events": ("event", "事件", "བྱ་བ།"),
        ]
        let eventByID = Dictionary(events.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let photoTable = table(
            "photos.csv", "photos",
            [
                ("sha256", "SHA-256", "SHA-256"), ("file", "文件名", "ཡིག་ཆའི་མིང་།"), ("bytes", "大小（字节）", "ཚད། (byte)"),
                ("on_this_device", "本机已有", "འཕྲུལ་ཆས་འདིར་ཡོད།"), ("caption", "说明", "གསལ་བཤད།"), ("owner", "所属", "བདག་པོ།"),
                ("owner_id", "所属编号", "བདག་པོའི་ཨང་རྟགས།"), ("owner_name", "所属名称", "བདག་པོའི་མིང་།"),
            ] + areaHeaders,
            try replica.photoRefs(area: area).map { (grid, p) in
                let ownerName: String
                switch p.ownerTable {
                case "households": ownerName = householdLabel(p.ownerID)
                case "issues": ownerName = issueByID[p.ownerID]?.title ?? ""
                default:
                    ownerName =
                        eventByID[p.ownerID].map { "\(issueByID[$0.issueID]?.title ?? "") · \(term(.event, $0.kind.rawValue))" } ?? ""
                }
                let held = blobs.contains(p.sha256)
                return [
                    p.sha256, Self.fileName(p.sha256, blobs: blobs), p.byteCount.map(String.init) ?? "", held ? "1" : "0", p.caption ?? "",
                    ownerNames[p.ownerTable].map { header($0, language) } ?? p.ownerTable, p.ownerID, ownerName,
                ] + areaColumns(grid)
            })

        var conflictFilter = try replica.conflicts(includeResolved: true)
        if let area, let path = try? AreaPath(area) { conflictFilter = conflictFilter.filter { AreaPath.isInScopes($0.grid, [path]) } }
        let conflictTable = table(
            "conflicts.csv", "conflicts",
            [
                ("id", "编号", "ཨང་རྟགས།"), ("table", "表", "རེའུ་མིག"), ("row_id", "记录编号", "ཐོ་འགོད་ཨང་རྟགས།"), ("field", "字段", "ཡིག་ཚགས།"),
                ("lost_value", "被覆盖的值", "ཚབ་བྱས་པའི་གྲངས།"), ("lost_at", "写入时间", "འབྲི་དུས།"), ("lost_site", "写入设备", "འབྲི་མཁན་འཕྲུལ་ཆས།"),
                ("resolved", "已处理", "ཐག་བཅད་ཟིན།"), ("resolved_by", "处理人", "ཐག་གཅོད་མཁན།"), ("resolution", "处理结果", "ཐག་གཅོད་གྲུབ་འབྲས།"),
            ] + areaHeaders,
            conflictFilter.sorted { $0.id < $1.id }.map { c in
                [
                    c.id, ownerNames[c.table].map { header($0, language) } ?? c.table, c.rowID, c.column, c.lostValue ?? "",
                    time(c.lostAt.millis),
                    c.lostSite, c.resolved ? "1" : "0", c.resolvedBy ?? "", c.resolution ?? "",
                ] + areaColumns(c.grid)
            })
        return [householdTable, issueTable, eventTable, photoTable, conflictTable]
    }

    /// A photo's file name: its hash and the extension its bytes' format has (`.jpg` when the
    /// photo is not on this device yet, the format handhelds' cameras write).
    static func fileName(_ sha256: String, blobs: BlobStore) -> String {
        let format = blobs.contains(sha256) ? (try? blobs.read(sha256, range: 0..<12)).flatMap(PhotoFormat.init) : nil
        return "\(sha256).\((format ?? .jpeg).fileExtension)"
    }

    /// The photos of the manifest held on this device, with their file names.
    static func photoFiles(_ tables: [ExportTables]) -> [(String, String)] {
        guard let manifest = tables.first(where: { $0.key == "photos" }) else { return [] }
        var seen: Set<String> = []
        return manifest.rows.compactMap { row in
            guard row[3] == "1", seen.insert(row[0]).inserted else { return nil }
            return (row[0], row[1])
        }
    }

    /// One JSON document: each table an array of objects keyed by its headers, in column order.
    static func json(_ tables: [ExportTables]) throws -> Data {
        var text = "{\n"
        for (t, table) in tables.enumerated() {
            text += "  \(quoted(table.key)): ["
            for (r, row) in table.rows.enumerated() {
                text += (r == 0 ? "\n" : ",\n") + "    {"
                text += zip(table.headers, row).map { "\(quoted($0)): \(quoted($1))" }.joined(separator: ", ")
                text += "}"
            }
            text += table.rows.isEmpty ? "]" : "\n  ]"
            text += t == tables.count - 1 ? "\n" : ",\n"
        }
        return Data((text + "}").utf8)
    }

    static func quoted(_ s: String) -> String {
        let data = try! JSONEncoder().encode(s)
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\\/", with: "/")
    }
}
