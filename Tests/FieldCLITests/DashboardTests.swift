import Foundation
import SyncCore
import Testing

/// Debian's `chromium`, headless: the DOM of a page after it loaded, and screenshots.
struct Browser {
    static let path = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    let profile: URL

    func run(_ arguments: [String]) throws -> String {
        guard let path = Self.path else { throw ClusterError.setup("chromium is not installed (apt-get install chromium; .ci/run does)") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-proxy-server",
                "--hide-scrollbars", "--user-data-dir=\(profile.path)",
            ] + arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func dom(_ url: String) throws -> String { try run(["--dump-dom", url]) }

    func screenshot(_ url: String, to file: URL, height: Int = 1600) throws {
        _ = try run(["--screenshot=\(file.path)", "--window-size=1280,\(height)", url])
    }
}

/// The county center's dashboard in a real browser: every figure against `gridsync report --json`
/// on the same replica, drill-down links followed, languages switched, screenshots saved.
@Suite(.serialized) struct DashboardTests {
    static let county = "xizang/lhasa/maizhokunggar"

    /// The area tree of `CountyTests.seed` with names.
    static func tree(gridsPerTownship: Int) -> String {
        var lines = ["path,level,name_zh,name_bo", "\(county),county,墨竹工卡县,མལ་གྲོ་གུང་དཀར་རྫོང་།"]
        let townships = ["zhaxigang": ("扎西岗乡", "བཀྲ་ཤིས་སྒང་ཤང་།"), "gyama": ("甲玛乡", "རྒྱ་མ་ཤང་།"), "rinchengang": ("仁钦岗乡", "རིན་ཆེན་སྒང་ཤང་།")]
        for t in CountyTests.townships {
            lines.append("\(county)/\(t),township,\(townships[t]!.0),\(townships[t]!.1)")
            for v in Set((0..<gridsPerTownship).map { $0 / 5 + 1 }).sorted() {
                lines.append("\(county)/\(t)/v\(v),village,\(v)村,གྲོང་ཚོ་\(v)")
            }
            for g in 0..<gridsPerTownship { lines.append("\(county)/\(t)/v\(g / 5 + 1)/g\(g),grid,\(g)网格,དྲ་མིག་\(g)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Starts `gridsync dashboard` on `device` and returns its process and base URL.
    static func start(_ device: Device, _ extra: [String] = []) throws -> (Process, String) {
        let p = Process()
        p.executableURL = Cluster.binaries.appendingPathComponent("gridsync")
        p.arguments = ["dashboard", "--home", device.home, "--port", "0", "--lang", "zh"] + extra
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        var line = ""
        let handle = out.fileHandleForReading
        while !line.contains("\n") {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            line += String(decoding: chunk, as: UTF8.self)
        }
        guard let start = line.range(of: "http://") else {
            p.terminate()
            throw ClusterError.setup("dashboard did not start: \(line)")
        }
        let url = line[start.lowerBound...].trimmingCharacters(in: .whitespacesAndNewlines)
        return (p, url)
    }

    static func figure(_ html: some StringProtocol, _ name: String) -> String? {
        guard let r = html.range(of: "data-figure=\"\(name)\">") else { return nil }
        return String(html[r.upperBound...].prefix { $0 != "<" })
    }

    static func percent(_ value: Any?) -> String {
        (value as? Double).map { String(format: "%.1f%%", $0 * 100) } ?? "-"
    }

    @Test func theDashboardShowsTheReportsFiguresInABrowser() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let grids = 6
        let treeFile = cluster.folder.appendingPathComponent("tree.csv")
        try Self.tree(gridsPerTownship: grids).write(to: treeFile, atomically: true, encoding: .utf8)
        _ = try cluster.serverCommand(["areas", "import", "--data", cluster.data.path, treeFile.path])
        let seeder = try cluster.device("seeder", role: "county", scopes: [Self.county])
        try CountyTests.seed(try Replica(path: seeder.replicaPath), gridsPerTownship: grids, households: 3)
        seeder.sync()

        // A worker's closed issue with a household, a photo, and the resident's name and phone in its texts.
        let grid = "\(Self.county)/zhaxigang/v1/g0"
        let worker = try cluster.device("tashi", scopes: [grid], person: "扎西")
        let household = worker.id(["household", "add", "--door-plate", "1村8号", "--head-zh", "次仁多吉", "--phone", "13800001111", "--json"])
        let issue = worker.id(
            ["issue", "report", "--kind", "hazard", "--title", "次仁多吉家电瓶车入户充电", "--household", household, "--json"])
        worker.ok([
            "photo", "attach", try photoFile(in: cluster.folder, "charger.jpg", size: 30_000, seed: 7), "--issue", issue, "--caption",
            "充电处",
        ])
        worker.ok(["issue", "accept", issue])
        worker.ok(["issue", "resolve", issue, "--resolution", "已劝导次仁多吉，电话13800001111，改为集中充电"])
        worker.ok(["issue", "follow-up", issue, "--satisfaction", "5"])
        worker.ok(["issue", "close", issue])
        worker.sync()
        let center = try cluster.device("county", role: "county", scopes: [Self.county])
        center.sync()
        center.ok(["photo", "fetch", "--all"])
        // The county publishes the result (晒单): the board shows published results only.
        center.ok(["issue", "publish", issue])

        let (dashboard, base) = try Self.start(center)
        defer { dashboard.terminate(); dashboard.waitUntilExit() }
        let browser = Browser(profile: cluster.folder.appendingPathComponent("chromium"))
        let period = "from=2020-01-01&to=2099-12-31&today=2026-01-01"
        func report(_ area: String) -> [String: Any] {
            center.ok(["report", "--from", "2020-01-01", "--to", "2099-12-31", "--today", "2026-01-01", "--area", area, "--json"]).object
        }

        // The overview against the report, county level.
        let overview = try browser.dom("\(base)?\(period)")
        let expected = report(Self.county)
        let total = expected["total"] as? [String: Any] ?? [:]
        #expect(Self.figure(overview, "total-reported") == "\(total["reported"] as? Int ?? -1)")
        #expect(Self.figure(overview, "total-closed") == "\(total["closed"] as? Int ?? -1)")
        #expect(Self.figure(overview, "total-rate") == Self.percent(total["rate"]))
        #expect(Self.figure(overview, "overdue") == "\((expected["overdue"] as? [Any])?.count ?? -1)")
        let satisfaction = expected["satisfaction"] as? [String: Any] ?? [:]
        #expect(Self.figure(overview, "satisfied-rate") == Self.percent(satisfaction["satisfiedRate"]))
        #expect(Self.figure(overview, "coverage") == Self.percent(satisfaction["coverage"]))
        let open = (expected["byTier"] as? [[String: Any]] ?? []).reduce(0) { $0 + ($1["open"] as? Int ?? 0) }
        #expect(Self.figure(overview, "open") == "\(open)")
        #expect(overview.contains("<html lang=\"zh-Hans\"") && overview.contains("扎西岗乡") && overview.contains("<svg"))
        // Each township's row, then the drill-down link of one, followed in the browser.
        for township in expected["townships"] as? [[String: Any]] ?? [] {
            let path = township["area"] as? String ?? ""
            guard let row = overview.range(of: "data-area=\"\(path)\"") else {
                Testing.Issue.record("no row for \(path)")
                continue
            }
            let tail = overview[row.upperBound...]
            #expect(Self.figure(tail, "reported") == "\(township["reported"] as? Int ?? -1)")
            #expect(Self.figure(tail, "closed") == "\(township["closed"] as? Int ?? -1)")
            #expect(Self.figure(tail, "overdue") == nil || tail.contains("\(township["overdue"] as? Int ?? -1)</a>"))
        }
        let zhaxigang = "\(Self.county)/zhaxigang"
        let linkStart = try #require(overview.range(of: "href=\"/?lang=zh&amp;area=\(zhaxigang)"))
        let href = String(overview[linkStart.lowerBound...].dropFirst(6).prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&")
        let township = try browser.dom(base.dropLast() + href)
        let townshipReport = report(zhaxigang)
        #expect(Self.figure(township, "total-reported") == "\((townshipReport["total"] as? [String: Any])?["reported"] as? Int ?? -1)")
        #expect(township.contains("1村") && township.contains("墨竹工卡县"))  // its villages, and the way back up
        for village in townshipReport["villages"] as? [[String: Any]] ?? [] {
            #expect(township.contains("data-area=\"\(village["area"] as? String ?? "?")\""))
        }

        // Languages.
        let tibetan = try browser.dom("\(base)?lang=bo&\(period)")
        #expect(tibetan.contains("<html lang=\"bo\"") && tibetan.contains("མཇུག་བསྒྲིལ་ཚད།") && tibetan.contains("བཀྲ་ཤིས་སྒང་ཤང་།"))
        #expect(Self.figure(tibetan, "total-reported") == Self.figure(overview, "total-reported"))
        let english = try browser.dom("\(base)?lang=en&\(period)")
        #expect(english.contains("Closure rate") && english.contains("href=\"/?lang=bo"))

        // Issue list: filters and search in both scripts.
        let overdueList = try browser.dom("\(base)issues?\(period)&overdue=1")
        #expect(Self.figure(overdueList, "count") == "\((expected["overdue"] as? [Any])?.count ?? -1)")
        let found = try browser.dom(
            "\(base)issues?\(period)&q=\("电瓶车".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&status=closed")
        // The worker's, and one closed hazard per seeded grid.
        #expect(found.contains("data-issue=\"\(issue)\"") && Self.figure(found, "count") == "\(1 + 3 * grids)")
        let tier = try browser.dom("\(base)issues?\(period)&tier=medium")
        #expect(Self.figure(tier, "count") == "\(3 * grids)")

        // The issue page: its timeline in names, the household, the photo from the replica's store.
        let page = try browser.dom("\(base)issue/\(issue)?lang=zh")
        #expect(page.components(separatedBy: "data-event=").count - 1 == 6 && page.contains("晒单"), "reported … closed, published")
        #expect(page.contains("扎西") && page.contains("接单") && page.contains("1村8号") && page.contains("<img src=\"/photo/"))
        #expect(Self.figure(page, "status") == "已办结")

        // The results board: the resident's name and phone masked.
        let board = try browser.dom("\(base)board?\(period)")
        #expect(board.contains("data-issue=\"\(issue)\"") && board.contains("次***家电瓶车入户充电"))
        #expect(board.components(separatedBy: "data-issue=").count == 2, "only the published result is on the board")
        #expect(!board.contains("次仁多吉") && !board.contains("13800001111") && board.contains("★★★★★"))

        // Unknown areas are an error page, not an empty one.
        let unknown = try browser.dom("\(base)?area=\(Self.county)/nowhere")
        #expect(unknown.contains("未找到") && Self.figure(unknown, "total-reported") == nil)

        // Screenshots for people (and the README), non-trivial PNGs.
        let shots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/dashboard-screenshots")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        for (name, path) in [
            ("overview-zh", "?\(period)"), ("overview-bo", "?lang=bo&\(period)"), ("township-en", "?lang=en&area=\(zhaxigang)&\(period)"),
            ("issue-zh", "issue/\(issue)"), ("board-zh", "board?\(period)"),
        ] {
            let file = shots.appendingPathComponent("\(name).png")
            try? FileManager.default.removeItem(at: file)
            try browser.screenshot(base + path, to: file)
            let png = try Data(contentsOf: file)
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000, "\(name): \(png.count) bytes")
        }
    }

    /// Device oversight: the county learns from the server which devices under it have not synced
    /// lately (never, here), by the person's name; a worker may not ask.
    @Test func theCountySeesWhichDevicesHaveNotSynced() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let grid = "\(Self.county)/zhaxigang/v1/g0"
        let worker = try cluster.device("tashi", scopes: [grid], person: "扎西")
        _ = try cluster.device("pema", role: "township", scopes: ["\(Self.county)/zhaxigang"], person: "白玛")
        _ = try cluster.device("other", scopes: ["xizang/nagqu/amdo/x/v1/g1"], person: "外县")
        worker.ok(["household", "add", "--door-plate", "1村1号"])
        worker.sync()
        let center = try cluster.device("county", role: "county", scopes: [Self.county], person: "县综治中心")
        center.sync()

        let report = center.ok(["report", "--from", "2020-01-01", "--to", "2099-12-31", "--stale-days", "1", "--json"]).object
        let devices = try #require(report["devices"] as? [String: Any])
        #expect(devices["listed"] as? Int == 3)  // the worker, the township officer and the county itself: not the other county's
        let stale = devices["stale"] as? [[String: Any]] ?? []
        #expect(stale.map { $0["name"] as? String } == ["白玛"] && stale.first?["lastSyncMillis"] == nil)
        let text = center.ok(["report", "--from", "2020-01-01", "--to", "2099-12-31", "--lang", "zh"]).output
        #expect(text.contains("超过 3 天未同步的设备：1 / 3") && text.contains("白玛") && text.contains("从未"), "\(text)")

        let (dashboard, base) = try Self.start(center)
        defer { dashboard.terminate(); dashboard.waitUntilExit() }
        let page = Cluster.run("/usr/bin/curl", ["-s", "--noproxy", "*", base]).output
        #expect(Self.figure(page, "stale-devices") == "1" && page.contains("白玛"))

        let credential = try String(contentsOfFile: worker.home + "/credential", encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        let asked = Cluster.run(
            "/usr/bin/curl",
            [
                "-s", "--noproxy", "*", "--cacert", cluster.ca, "-H", "Authorization: Bearer \(credential)", "-w", "%{http_code}",
                cluster.url + "/v1/devices",
            ])
        #expect(asked.output.hasSuffix("403") && asked.output.contains("not_permitted"))
    }

    @Test func servingBeyondThisMachineNeedsAnAccessCodeAndEveryPageIsLockedDown() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let center = try cluster.device("county", role: "county", scopes: [Self.county])
        let refused = center.run(["dashboard", "--listen", "0.0.0.0"])
        #expect(refused.status == 65 && refused.errors.contains("--access-code") && refused.errors.hasSuffix("[bad_value]\n"))

        let (dashboard, base) = try Self.start(center, ["--listen", "0.0.0.0", "--access-code", "gesang-2026"])
        defer { dashboard.terminate(); dashboard.waitUntilExit() }
        let local = base.replacingOccurrences(of: "0.0.0.0", with: "127.0.0.1")
        func curl(_ arguments: [String]) -> String {
            Cluster.run("/usr/bin/curl", ["-s", "-i", "--noproxy", "*"] + arguments).output
        }
        let first = curl([local])
        #expect(first.hasPrefix("HTTP/1.1 303") && first.lowercased().contains("location: /login"))
        #expect(first.lowercased().contains("content-security-policy: default-src 'none'"))
        #expect(curl(["-d", "code=wrong-code", local + "login"]).hasPrefix("HTTP/1.1 403"))
        let ok = curl(["-d", "code=gesang-2026", local + "login"])
        let cookie = try #require(ok.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") })
        let value = String(cookie.dropFirst("set-cookie: ".count).prefix { $0 != ";" })
        let page = curl(["-H", "Cookie: \(value)", local])
        #expect(page.hasPrefix("HTTP/1.1 200") && page.contains("办结率"), "\(ok)\n\(page.prefix(400))")
        #expect(page.lowercased().contains("content-security-policy: default-src 'none'") && !page.contains("<script"))
        #expect(!page.contains("http://") && !page.contains("https://"))  // no outside requests
    }
}
