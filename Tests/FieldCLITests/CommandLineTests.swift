import Foundation
import Testing

/// Parsing, help and error paths of `gridsync`, on the built binary.
@Suite struct CommandLineTests {
    static let commands: [[String]] = [
        ["init"], ["status"], ["household"], ["household", "add"], ["household", "edit"], ["household", "list"], ["household", "show"],
        ["household", "delete"], ["issue"], ["issue", "report"], ["issue", "edit"], ["issue", "list"], ["issue", "show"],
        ["issue", "delete"], ["issue", "dispatch"], ["issue", "accept"], ["issue", "visit"], ["issue", "escalate"],
        ["issue", "deescalate"], ["issue", "resolve"], ["issue", "follow-up"], ["issue", "reopen"], ["issue", "close"], ["photo"],
        ["photo", "attach"], ["photo", "fetch"], ["search"], ["conflict"], ["conflict", "list"], ["conflict", "show"],
        ["conflict", "resolve"], ["sync"], ["report"], ["export"], ["demo"],
    ]

    @Test func everyCommandHasHelp() {
        for command in Self.commands {
            let r = Cluster.run("gridsync", command + ["--help"])
            #expect(r.status == 0, "\(command)")
            #expect(r.output.contains("USAGE: gridsync \(command.joined(separator: " "))"), "\(command): \(r.output)")
        }
        let sync = Cluster.run("gridsync", ["sync", "--help"]).output
        for option in ["--watch", "--max-bytes", "--retries", "--json", "--home", "--lang"] { #expect(sync.contains(option)) }
        let report = Cluster.run("gridsync", ["report", "--help"]).output
        for option in ["--from", "--to", "--area", "--json"] { #expect(report.contains(option)) }
    }

    /// The README's first command: the whole story on loopback, ending in the county report.
    @Test func theDemoRunsToTheEnd() {
        let r = Cluster.run("gridsync", ["demo"])
        #expect(r.status == 0, "\(r.errors)")
        for step in ["enrolled as", "photos: 0 uploaded", "photos: 2 uploaded", "✔ converged", "closure rate: ", "Done."] {
            #expect(r.output.contains(step), "missing \(step)")
        }
        let zh = Cluster.run("gridsync", ["demo", "--lang", "zh"])
        #expect(zh.status == 0 && zh.output.contains("办结率：") && zh.output.contains("演示完成"), "\(zh.errors)")
        let bo = Cluster.run("gridsync", ["demo"], environment: ["LANG": "bo_CN.UTF-8"])
        #expect(bo.status == 0 && bo.output.contains("ལེགས་གྲུབ་ཚད།") && bo.output.contains("ལེགས་གྲུབ། `gridsync demo"), "\(bo.errors)")
        #expect(bo.output.contains("ཞུ་བ་ཕུལ་བ། → བཀོད་སྒྲིག"), "the Tibetan demo walks the order loop")
    }

    /// A command line that cannot be run is refused in one line of the user's language, with the
    /// README's exit statuses: 64 for what is not understood, 65 for a value that is refused.
    @Test func argumentErrorsAreOneLineInTheUsersLanguage() {
        let cases: [([String], Int32, String)] = [
            (["issue", "report", "--kind", "quarrel", "--title", "x"], 65, "dispute, hazard"),
            (["report", "--from", "2026-13-01", "--to", "2026-12-01"], 65, "2026-13-01"),
            (["report", "--from", "2026-02-30", "--to", "2026-12-01"], 65, "2026-02-30"),
            (["report", "--from", "2026-12-02", "--to", "2026-12-01"], 65, "--from"),
            (["issue", "follow-up", "abcd", "--satisfaction", "9"], 65, "--satisfaction"),
            (["photo", "attach", "x.jpg"], 65, "--issue"),
            (["export", "--format", "csv"], 65, "--out"),
            (["household", "add", "--members", "-3"], 64, "--members="),
            (["household", "add", "--members", "many"], 65, "many"),
            (["stauts"], 64, "status"),
            (["household", "lst"], 64, "list"),
            (["issue", "report", "--titel", "x"], 64, "--title"),
            (["issue"], 64, "report"),
            (["issue", "show"], 64, "<id>"),
            (["status", "--lang", "fr"], 65, "en, zh"),
            (["status", "--lang", "--json"], 64, "--lang"),
            (["issue", "list", "--mine=yes"], 64, "--mine"),
            (["issue", "show", "abcd", "efgh"], 64, "efgh"),
        ]
        for (args, status, mention) in cases {
            let r = Cluster.run("gridsync", args + ["--home", "/nonexistent"])
            #expect(r.status == status, "\(args): \(r.status) \(r.errors)")
            let lines = r.errors.split(separator: "\n")
            #expect(lines.count == 1 && r.errors.hasPrefix("gridsync: error: "), "\(args): \(r.errors)")
            #expect(r.errors.contains(mention), "\(args): \(r.errors)")
            #expect(r.errors.hasSuffix(status == 64 ? "[usage]\n" : "[bad_value]\n"), "\(args): \(r.errors)")
            #expect(!r.errors.contains("Usage:") && !r.errors.contains("Fatal error"))
        }
        // The parser's own root options still work.
        let completion = Cluster.run("gridsync", ["--generate-completion-script", "bash"])
        #expect(completion.status == 0 && completion.output.contains("gridsync"), "\(completion.errors)")
        // In Chinese and Tibetan, from --lang (before or after the command) or LANG.
        let zh = Cluster.run("gridsync", ["--lang", "zh", "issue", "follow-up", "abcd", "--satisfaction", "9"])
        #expect(zh.errors == "gridsync: 错误: --satisfaction 须为 1 到 5 [bad_value]\n", "\(zh.errors)")
        let bo = Cluster.run("gridsync", ["stauts"], environment: ["LANG": "bo_CN.UTF-8"])
        #expect(bo.status == 64 && bo.errors.contains("ནོར་འཁྲུལ") && bo.errors.contains("status"), "\(bo.errors)")
        let date = Cluster.run("gridsync", ["report", "--from", "2026-99-01", "--to", "2026-12-01", "--lang", "bo"])
        #expect(date.status == 65 && date.errors.contains("ཚེས་གྲངས"), "\(date.errors)")
    }

    @Test func aDeviceNotSetUpSaysHowToSetItUp() {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-none-\(UUID().uuidString.prefix(6))").path
        for args in [["status"], ["household", "list"], ["sync"], ["issue", "list"]] {
            let r = Cluster.run("gridsync", args + ["--home", home])
            #expect(r.status == 78, "\(args)")
            #expect(r.errors.split(separator: "\n").count == 1)
            #expect(r.errors.contains("gridsync init") && r.errors.contains("[not_initialised]"), "\(r.errors)")
        }
        let zh = Cluster.run("gridsync", ["status", "--home", home, "--lang", "zh"])
        #expect(zh.errors.contains("没有设置设备"), "\(zh.errors)")
        let fromLang = Cluster.run("gridsync", ["status", "--home", home], environment: ["LANG": "zh_CN.UTF-8"])
        #expect(fromLang.errors.contains("错误"), "\(fromLang.errors)")
        #expect(!FileManager.default.fileExists(atPath: home + "/replica.sqlite"))
    }

    /// `gridsync` carries no HTTP or TLS code, so that recording starts at once; it hands `init`,
    /// `sync` and `photo fetch` to `gridsync-net`, and says so in one line when that is missing.
    @Test func serverCommandsAreHandedToTheNetworkHelper() throws {
        let lean = try Data(contentsOf: Cluster.binaries.appendingPathComponent("gridsync"))
        let full = try Data(contentsOf: Cluster.binaries.appendingPathComponent("gridsync-net"))
        #expect(full.range(of: Data("AsyncHTTPClient".utf8)) != nil)
        #expect(lean.range(of: Data("AsyncHTTPClient".utf8)) == nil)
        #expect(lean.range(of: Data("NIOSSL".utf8)) == nil)
        // Alone in a folder, `gridsync` still records, but cannot sync.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-alone-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let alone = folder.appendingPathComponent("gridsync")
        try FileManager.default.copyItem(at: Cluster.binaries.appendingPathComponent("gridsync"), to: alone)
        for args in [["sync"], ["photo", "fetch", "--all"], ["init", "--server", "https://x", "--enroll", "C", "--ca", "x.pem"]] {
            let p = Process()
            p.executableURL = alone
            p.arguments = args + ["--home", folder.appendingPathComponent("home").path]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 78, "\(args): \(text)")
            #expect(text.contains("gridsync-net") && text.contains("[helper_missing]"), "\(args): \(text)")
        }
        // With the helper next to it, the arguments reach the helper unchanged (here --home and --lang).
        let handed = Cluster.run("gridsync", ["sync", "--home", folder.appendingPathComponent("none").path, "--lang", "zh"])
        #expect(handed.status == 78 && handed.errors.contains("[not_initialised]"), "\(handed.errors)")
        #expect(handed.errors.contains("none") && handed.errors.contains("没有设置设备"), "\(handed.errors)")
    }

    @Test func enrollmentErrorsAreClear() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let home = cluster.folder.appendingPathComponent("d").path
        // A wrong code: refused, nothing left behind, and a later good code works.
        let wrong = Cluster.run(
            "gridsync", ["init", "--home", home, "--server", cluster.url, "--enroll", "AAAA-BBBB-CCCC", "--ca", cluster.ca])
        #expect(wrong.status == 77)
        #expect(wrong.errors.contains("[enrollment_refused]"), "\(wrong.errors)")
        #expect(!FileManager.default.fileExists(atPath: home + "/replica.sqlite"))
        // A CA that did not sign the server's certificate: the device sends nothing.
        let other = cluster.folder.appendingPathComponent("other")
        #expect(Cluster.run("gridsync-server", ["init", other.path]).status == 0)
        let code = try cluster.code(scopes: [g2])
        let untrusted = Cluster.run(
            "gridsync",
            ["init", "--home", home, "--server", cluster.url, "--enroll", code, "--ca", other.appendingPathComponent("ca.pem").path])
        #expect(untrusted.status == 77)
        #expect(untrusted.errors.contains("[untrusted_server]"), "\(untrusted.errors)")
        // Plain http is refused before anything is sent.
        let http = Cluster.run(
            "gridsync", ["init", "--home", home, "--server", "http://localhost:\(cluster.port)", "--enroll", code, "--ca", cluster.ca])
        #expect(http.status == 65 && http.errors.contains("https://"))
        // No server listening.
        let dead = Cluster.run(
            "gridsync", ["init", "--home", home, "--server", "https://localhost:9", "--enroll", code, "--ca", cluster.ca])
        #expect(dead.status == 69 && dead.errors.contains("[unreachable]"), "\(dead.errors)")
        // The unused code still works, and the credential is private to the user.
        let good = Cluster.run(
            "gridsync", ["init", "--home", home, "--server", cluster.url, "--enroll", code, "--ca", cluster.ca, "--name", "扎西"])
        #expect(good.status == 0, "\(good.errors)")
        let mode = try FileManager.default.attributesOfItem(atPath: home + "/credential")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let again = Cluster.run("gridsync", ["init", "--home", home, "--server", cluster.url, "--enroll", code, "--ca", cluster.ca])
        #expect(again.status == 65 && again.errors.contains("[already_initialised]"))
    }

    @Test func badInputIsRefusedWithOneLineAndNothingIsLost() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let d = try cluster.device("d", scopes: [g2], person: "扎西")
        let h = d.id(["household", "add", "--door-plate", "3村12号", "--head-zh", "次仁"])
        let i = d.id(["issue", "report", "--kind", "dispute", "--title", "草场纠纷"])
        let notAPhoto = cluster.folder.appendingPathComponent("notes.txt").path
        try "不是照片".write(toFile: notAPhoto, atomically: true, encoding: .utf8)
        let photo = try photoFile(in: cluster.folder, "p.jpg", size: 2000, seed: 5)
        d.ok(["photo", "attach", photo, "--issue", String(i.prefix(8))])
        let cases: [([String], String)] = [
            (["household", "add", "--grid", g3, "--door-plate", "1号"], "[out_of_scope]"),
            (["household", "add", "--grid", "Bad Path", "--door-plate", "1号"], "[invalid_input]"),
            (["household", "edit", "ffffffff", "--notes", "x"], "[not_found]"),
            (["household", "add", "--door-plate", "1号", "--members=-3"], "[invalid_input]"),
            (["issue", "report", "--kind", "dispute", "--title", "a\u{7}b"], "[invalid_input]"),
            (["issue", "close", String(i.prefix(8))], "[lifecycle]"),
            (["issue", "escalate", String(i.prefix(8)), "--tier", "small"], "[lifecycle]"),
            (["issue", "edit", String(i.prefix(8)), "--due", "tomorrow"], "[invalid_input]"),
            (["photo", "attach", "/nonexistent.jpg", "--issue", String(i.prefix(8))], "[no_file]"),
            (["conflict", "resolve", "nothing"], "[not_found]"),
            (["issue", "edit", String(i.prefix(8)), "--due", "2026-02-30"], "[invalid_input]"),
            (["issue", "edit", String(i.prefix(8)), "--due", "2026-04-31"], "[invalid_input]"),
            (["issue", "show", String(i.prefix(3))], "[invalid_input]"),
            (["photo", "attach", cluster.folder.path, "--issue", String(i.prefix(8))], "[not_a_file]"),
            (["photo", "attach", notAPhoto, "--issue", String(i.prefix(8))], "[not_a_photo]"),
            (["photo", "attach", photo, "--issue", String(i.prefix(8))], "[already_attached]"),
        ]
        for (args, code) in cases {
            let r = d.run(args)
            #expect(r.status == 65, "\(args): \(r.status) \(r.errors)")
            #expect(r.errors.contains(code) && r.errors.split(separator: "\n").count == 1, "\(args): \(r.errors)")
        }
        // The engine's refusals in the worker's language, the field named as the form names it.
        let zh = d.run(["issue", "edit", String(i.prefix(8)), "--due", "2026-02-30", "--lang", "zh"])
        #expect(zh.errors == "gridsync: 错误: 期限须为实际存在的日期，格式 YYYY-MM-DD：\"2026-02-30\" [invalid_input]\n", "\(zh.errors)")
        let bo = d.run(["household", "add", "--door-plate", "1号", "--members=-3", "--lang", "bo"])
        #expect(bo.status == 65 && bo.errors.contains("མི་གྲངས་") && !bo.errors.contains("members"), "\(bo.errors)")
        let short = d.run(["issue", "show", String(i.prefix(2)), "--lang", "zh"])
        #expect(short.errors.contains("编号至少输入 4 位"), "\(short.errors)")

        // Everything recorded before is still there, unchanged.
        let households = d.ok(["household", "list", "--json"]).json as? [[String: Any]] ?? []
        #expect(households.count == 1 && households.first?["id"] as? String == h)
        let issues = d.ok(["issue", "list", "--json"]).json as? [[String: Any]] ?? []
        #expect(issues.count == 1 && issues.first?["status"] as? String == "reported")
        #expect((d.ok(["issue", "show", i, "--json"]).object["photos"] as? [Any])?.count == 1, "attached once")

        // A damaged device.json is damage (74), not a device never set up (78).
        try "{not json".write(toFile: d.home + "/device.json", atomically: true, encoding: .utf8)
        let damaged = d.run(["status"])
        #expect(damaged.status == 74 && damaged.errors.contains("[bad_config]"), "\(damaged.status) \(damaged.errors)")
    }

    /// With no signal at all, `sync` answers within 15 seconds by default, in one line that says
    /// the records are safe, with no library text, and exits 69.
    @Test func syncWithNoSignalAnswersSoonAndSaysTheRecordsAreSafe() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let d = try cluster.device("d", scopes: [g2], person: "扎西")
        d.ok(["household", "add", "--door-plate", "无信号"])
        cluster.stop()
        let started = Date()
        let r = d.run(["sync"])
        let seconds = Date().timeIntervalSince(started)
        #expect(r.status == 69, "\(r.status) \(r.errors)")
        #expect(seconds < 20, "\(seconds) s")
        let lines = r.errors.split(separator: "\n").filter { $0.hasPrefix("gridsync: error:") }
        #expect(lines.count == 1 && lines[0].contains("wait safely on this device") && lines[0].contains("[unreachable]"), "\(r.errors)")
        #expect(!r.errors.contains("errno") && !r.errors.contains("HTTPClientError"), "\(r.errors)")
    }
}
