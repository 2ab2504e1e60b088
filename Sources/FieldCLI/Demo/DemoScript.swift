import Foundation
import SyncCore

/// The demo's steps, printed as they happen. Each device is a folder of its own, driven by the
/// `gridsync` binary in a child process exactly as a person would type it.
final class DemoScript: @unchecked Sendable {
    let folder: URL
    let county = "xizang/lhasa/maizhokunggar"
    let g2 = "xizang/lhasa/maizhokunggar/zhaxigang/v3/g2"
    let g3 = "xizang/lhasa/maizhokunggar/zhaxigang/v3/g3"
    private var server: Process?

    init(folder: URL) { self.folder = folder }

    func step(_ text: String) { print("\n▶ " + text) }

    /// Runs `gridsync ARGS` on device `device`, prints the command and its output, returns stdout.
    @discardableResult
    func gridsync(_ device: String, _ arguments: [String], show: Bool = true, expectFailure: Bool = false) throws -> String {
        let args = arguments + ["--home", folder.appendingPathComponent(device).path, "--lang", Language.current.rawValue]
        let result = try Processes.run("gridsync", args)
        if show {
            print("  [\(device)] $ gridsync " + arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " "))
            for line in (result.output + result.errors).split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
                print("      " + line)
            }
        }
        if (result.status == 0) == expectFailure {
            throw Failure(
                "demo", "gridsync \(arguments.joined(separator: " ")) exited \(result.status): \(result.errors)", status: .software)
        }
        return result.output
    }

    func server(_ arguments: [String]) throws -> String {
        let result = try Processes.run("gridsync-server", arguments)
        guard result.status == 0 else {
            throw Failure("demo", "gridsync-server \(arguments.first ?? "") failed: \(result.output)\(result.errors)", status: .software)
        }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func stopServer() {
        if let server, server.isRunning {
            server.terminate()
            server.waitUntilExit()
        }
    }

    /// The id printed by a `--json` command.
    func id(_ json: String) throws -> String {
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], let id = object["id"] as? String
        else {
            throw Failure("demo", "no id in \(json)", status: .software)
        }
        return id
    }

    /// A stand-in photo: `size` bytes derived from `seed` after a JPEG's signature (what a 200 KB JPEG weighs).
    func photo(_ name: String, size: Int, seed: UInt8) throws -> String {
        var bytes = [UInt8](repeating: 0, count: size)
        var x = UInt32(seed) &* 2_654_435_761 | 1
        for i in bytes.indices {
            x ^= x << 13
            x ^= x >> 17
            x ^= x << 5
            bytes[i] = UInt8(truncatingIfNeeded: x)
        }
        // A JPEG's first bytes (start of image, JFIF segment): `photo attach` checks the signature.
        bytes.replaceSubrange(0..<min(4, bytes.count), with: [0xFF, 0xD8, 0xFF, 0xE0].prefix(bytes.count))
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func run() throws {
        print(tr("demo_script.gridsync_demo_everything_in", folder.path))

        step(tr("demo_script.operator_sets_up_sync_server"))
        let data = folder.appendingPathComponent("server")
        _ = try server(["init", data.path, "--port", "0"])
        let (process, port) = try Processes.startServer(data: data)
        server = process
        let url = "https://localhost:\(port)"
        let ca = data.appendingPathComponent("ca.pem").path
        print("  " + tr("demo_script.gridsync_server_listening_on_tls", url, ca))

        step(tr("demo_script.operator_imports_county_s_area"))
        let tree = folder.appendingPathComponent("areas-maizhokunggar.csv")
        try Data(PackageResources.areas_maizhokunggar_csv).write(to: tree)
        print("  $ gridsync-server areas import \(tree.lastPathComponent)")
        print("      " + (try server(["areas", "import", "--data", data.path, tree.path])))

        step(tr("demo_script.three_devices_enroll_with_one"))
        let devices: [(String, String, [String], String)] = [
            ("tashi", "worker", [g2], "扎西"), ("drolma", "worker", [g2, g3], "卓玛"), ("county", "county", [county], "县综治中心"),
        ]
        for (name, role, scopes, person) in devices {
            let code = try server(["enroll", "--data", data.path, "--role", role, "--name", person] + scopes.flatMap { ["--scope", $0] })
            try gridsync(name, ["init", "--server", url, "--enroll", code, "--ca", ca, "--name", person])
        }

        step(tr("demo_script.out_on_grassland_no_signal"))
        var households: [String] = []
        for (plate, zh, bo, members, tag) in [
            ("3村12号", "次仁", "ཚེ་རིང་།", "5", "牧户"), ("3村14号", "卓玛", "སྒྲོལ་མ།", "1", "独居老人"),
            ("3村15号", "多吉", "རྡོ་རྗེ།", "4", "低保户"), ("3村17号", "格桑", "སྐལ་བཟང་།", "6", "牧户"),
        ] {
            households.append(
                try id(
                    try gridsync(
                        "tashi",
                        [
                            "household", "add", "--door-plate", plate, "--head-zh", zh, "--head-bo", bo, "--members", members, "--tag", tag,
                            "--json",
                        ], show: false)))
        }
        try gridsync("tashi", ["household", "list"])
        let dispute = try id(
            try gridsync(
                "tashi",
                [
                    "issue", "report", "--kind", "dispute", "--title", "草场使用权纠纷 ཞིང་ཁའི་རྩོད་གཞི།", "--description", "两户对夏季草场边界有争议",
                    "--household", households[0], "--due", day(Date().addingTimeInterval(7 * 86400)), "--json",
                ]))
        try gridsync("tashi", ["issue", "visit", String(dispute.prefix(8)), "--note", "上门了解情况，双方各执一词"])
        try gridsync(
            "tashi",
            [
                "photo", "attach", try photo("boundary-1.jpg", size: 220_000, seed: 1), "--issue", String(dispute.prefix(8)), "--caption",
                "草场边界 北",
            ])
        try gridsync(
            "tashi",
            [
                "photo", "attach", try photo("boundary-2.jpg", size: 180_000, seed: 2), "--issue", String(dispute.prefix(8)), "--caption",
                "草场边界 南",
            ])
        let hazard = try id(
            try gridsync(
                "tashi",
                [
                    "issue", "report", "--kind", "hazard", "--title", "电瓶车入户充电 མེ་སྐྱོན་ཉེན་ཁ།", "--household", households[1],
                    "--due", day(Date().addingTimeInterval(-2 * 86400)), "--json",
                ], show: false))
        for event in [
            ["accept"], ["resolve", "--resolution", "已劝导，改为楼下集中充电"],
            ["follow-up", "--satisfaction", "5", "--note", "回访：住户满意"], ["close"],
        ] {
            try gridsync("tashi", ["issue", event[0], String(hazard.prefix(8))] + event.dropFirst(), show: event[0] == "close")
        }
        _ = try gridsync(
            "tashi",
            [
                "issue", "report", "--kind", "request", "--title", "独居老人申请冬季取暖补助", "--household", households[1],
                "--due", day(Date().addingTimeInterval(-86400)), "--json",
            ], show: false)
        try gridsync("tashi", ["issue", "list"])
        try gridsync("tashi", ["search", "草场"])
        try gridsync("tashi", ["status"])

        step(tr("demo_script.drolma_works_grid_g_offline"))
        let g3Household = try id(
            try gridsync(
                "drolma",
                [
                    "household", "add", "--grid", g3, "--door-plate", "3村31号", "--head-zh", "平措", "--head-bo", "ཕུན་ཚོགས།", "--members", "3",
                    "--json",
                ], show: false))
        let neighbours = try id(
            try gridsync(
                "drolma",
                [
                    "issue", "report", "--grid", g3, "--kind", "dispute", "--title", "邻里纠纷：院墙滴水", "--household", g3Household, "--json",
                ]))
        try gridsync("drolma", ["issue", "escalate", String(neighbours.prefix(8)), "--tier", "medium", "--note", "需乡镇司法所调解"])

        step(tr("demo_script.tashi_reaches_town_link_metered"))
        try gridsync("tashi", ["sync", "--max-bytes", "150000"])
        try gridsync("tashi", ["status"])

        step(tr("demo_script.next_sync_upload_resumes_from"))
        try gridsync("tashi", ["sync"])

        step(tr("demo_script.drolma_syncs_receives_tashi_s"))
        try gridsync("drolma", ["sync"])

        step(tr("demo_script.both_edit_same_dispute_offline"))
        let short = String(dispute.prefix(8))
        try gridsync("tashi", ["issue", "edit", short, "--description", "已初步调解，双方同意实地勘界"])
        try gridsync("drolma", ["issue", "edit", short, "--description", "乡镇司法所介入调解"])
        try gridsync("drolma", ["issue", "escalate", short, "--tier", "medium", "--note", "牵涉两个村的草场"])
        try gridsync("tashi", ["issue", "accept", short])

        step(tr("demo_script.they_sync_in_either_order"))
        try gridsync("drolma", ["sync", "--quiet"])
        try gridsync("tashi", ["sync", "--quiet"])
        try gridsync("drolma", ["sync", "--quiet"])
        try gridsync("tashi", ["issue", "show", short])
        try gridsync("drolma", ["conflict", "list"])

        step(tr("demo_script.county_center_pulls_whole_county"))
        try gridsync("county", ["sync"])
        try gridsync("county", ["photo", "fetch", "--all"])

        step(tr("demo_script.order_loop"))
        let order = String(
            try id(
                try gridsync(
                    "tashi",
                    [
                        "issue", "report", "--kind", "request", "--title", "冬季饮水管冻裂 ཆུ་དུང་འཁྱགས་ནས་གས་པ།", "--requester", "格桑",
                        "--channel", "walk_in", "--household", households[3], "--json",
                    ])
            ).prefix(8))
        try gridsync("tashi", ["sync", "--quiet"])
        try gridsync("county", ["sync", "--quiet"])
        try gridsync("county", ["issue", "dispatch", order, "--to", "扎西", "--note", "请三日内处理"])
        try gridsync("county", ["sync", "--quiet"])
        try gridsync("tashi", ["sync", "--quiet"])
        try gridsync("tashi", ["issue", "list", "--mine"])
        for event in [
            ["accept"], ["resolve", "--resolution", "已联系水管员更换管段"], ["follow-up", "--satisfaction", "5", "--note", "回访：已通水"], ["close"],
        ] {
            try gridsync("tashi", ["issue", event[0], order] + event.dropFirst(), show: event[0] == "accept" || event[0] == "close")
        }
        try gridsync("tashi", ["sync", "--quiet"])
        try gridsync("county", ["sync", "--quiet"])
        try gridsync("county", ["issue", "publish", order])
        try gridsync("county", ["sync", "--quiet"])
        try gridsync("tashi", ["sync", "--quiet"])
        try gridsync("drolma", ["sync", "--quiet"])
        try gridsync("tashi", ["issue", "show", order])

        step(tr("demo_script.check_three_replicas_hold_same"))
        // Everything but the photo manifest, which says which photo files each device holds.
        let exports = try ["tashi", "drolma", "county"].map { device -> String in
            let text = try gridsync(device, ["export", "--format", "json", "--area", g2], show: false)
            guard var document = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                throw Failure("demo", "export is not JSON: \(text.prefix(200))", status: .software)
            }
            document["photos"] = nil
            return String(decoding: try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]), as: UTF8.self)
        }
        let conflicts = try ["tashi", "drolma", "county"].map { try gridsync($0, ["conflict", "list", "--json"], show: false) }
        guard Set(exports).count == 1, Set(conflicts).count == 1 else {
            throw Failure("demo", "the replicas differ after syncing", status: .software)
        }
        print("  ✔ " + tr("demo_script.converged_households_issues_events_conflicts"))

        step(tr("demo_script.county_report_per_township_grid"))
        try gridsync("county", ["report", "--from", day(Date().addingTimeInterval(-30 * 86400)), "--to", day(Date())])
        try gridsync("county", ["export", "--format", "csv", "--photos", "--out", folder.appendingPathComponent("county-export").path])
    }

    /// Starts the county's dashboard and prints its address; with `keepOpen` it serves until the
    /// demo is interrupted, else it is closed again once it answered.
    func openDashboard(keepOpen: Bool, port: Int) throws {
        step(tr("demo_script.county_center_s_dashboard_served"))
        let p = Process()
        p.executableURL = Processes.binaries.appendingPathComponent("gridsync")
        p.arguments = [
            "dashboard", "--home", folder.appendingPathComponent("county").path, "--port", "\(port)", "--lang", Language.current.rawValue,
        ]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        var line = ""
        while !line.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += String(decoding: chunk, as: UTF8.self)
        }
        guard let start = line.range(of: "http://").map({ line[$0.lowerBound...] }) else {
            p.terminate()
            throw Failure("demo", "the dashboard did not start: \(line)", status: .software)
        }
        let url = start.trimmingCharacters(in: .whitespacesAndNewlines)
        print("  [county] $ gridsync dashboard")
        print("      " + tr("demo_script.county_dashboard", url))
        if keepOpen {
            print(tr("demo_script.done_dashboard_stays_open_at", url))
            p.waitUntilExit()
        } else {
            p.terminate()
            p.waitUntilExit()
            print(
                tr("demo_script.done_gridsync_demo_dashboard_keeps"))
        }
    }
}
