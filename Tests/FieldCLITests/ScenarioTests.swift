import Foundation
import SyncCore
import Testing

/// The scenarios of PRODUCT.md, end to end: the built server and several `gridsync` processes,
/// each device with its own replica file, over TLS on loopback.
@Suite struct ScenarioTests {
    /// S1: three days offline with households, a dispute with two photos and a visit; sync in town;
    /// the county sees all of it, photos included.
    @Test func s1OfflineWorkReachesTheCountyWithPhotos() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let worker = try cluster.device("worker", scopes: [g2], person: "扎西")
        let center = try cluster.device("county", role: "county", scopes: [county])
        cluster.stop()  // no signal from here on

        let h1 = worker.id([
            "household", "add", "--door-plate", "3村12号", "--head-zh", "次仁", "--head-bo", "ཚེ་རིང་།", "--members", "5", "--tag", "牧户",
        ])
        worker.ok(["household", "add", "--door-plate", "3村14号", "--head-zh", "卓玛", "--head-bo", "སྒྲོལ་མ།", "--tag", "独居老人"])
        let issue = worker.id([
            "issue", "report", "--kind", "dispute", "--title", "草场使用权纠纷 ཞིང་ཁའི་རྩོད་གཞི།", "--household", String(h1.prefix(8)),
        ])
        worker.ok(["issue", "visit", issue, "--note", "上门了解情况"])
        var hashes: [String] = []
        for (n, size) in [(1, 210_000), (2, 150_000)] {
            let file = try photoFile(in: cluster.folder, "p\(n).jpg", size: size, seed: UInt64(n))
            hashes.append((worker.ok(["photo", "attach", file, "--issue", issue, "--json"]).object["sha256"] as? String) ?? "")
        }
        let status = worker.ok(["status", "--json"]).object
        #expect(status["photosWaiting"] as? Int == 2)
        #expect((status["changesWaiting"] as? Int ?? 0) > 20)
        // Trying to sync without a signal fails cleanly and loses nothing.
        let failed = worker.run(["sync", "--retries", "1", "--backoff", "0.1"])
        #expect(failed.status == 69 && failed.errors.contains("[unreachable]"), "\(failed.errors)")
        #expect(worker.ok(["status", "--json"]).object["changesWaiting"] as? Int == status["changesWaiting"] as? Int)

        try cluster.start()  // in town
        let summary = worker.sync()
        #expect(summary["refused"] as? [Any] != nil && (summary["refused"] as! [Any]).isEmpty)
        #expect(summary["photosUploaded"] as? Int == 2 && summary["photosWaiting"] as? Int == 0)
        let after = worker.ok(["status", "--json"]).object
        #expect(after["changesWaiting"] as? Int == 0 && after["photosWaiting"] as? Int == 0)
        #expect(after["receipt"] as? Int == after["localVersion"] as? Int)

        center.sync()
        #expect(center.export(area: g2) == worker.export(area: g2))
        let detail = center.ok(["issue", "show", issue, "--json"]).object
        #expect((detail["events"] as? [Any])?.count == 2)
        #expect(Set(((detail["photos"] as? [[String: Any]]) ?? []).compactMap { $0["sha256"] as? String }) == Set(hashes))
        let fetched = center.ok(["photo", "fetch", "--all", "--json"]).object
        #expect(Set(fetched["fetched"] as? [String] ?? []) == Set(hashes))
        for hash in hashes {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: center.home + "/photos/" + hash))
            #expect(BlobStore.sha256(bytes) == hash)
        }
        // With --out the photos also get names a person reads: what it shows, the hash, the extension.
        let readable = cluster.folder.appendingPathComponent("readable").path
        let copied = center.ok(["photo", "fetch", "--all", "--out", readable, "--json"]).object["files"] as? [String] ?? []
        let names = Set(copied.map { URL(fileURLWithPath: $0).lastPathComponent })
        #expect(names == Set(hashes.map { "issue-\($0.prefix(8)).jpg" }), "\(names)")
    }

    /// S2: the worker and the township officer edit the same issue offline; both sync, in either
    /// order; every replica ends identical and the overwritten text is a conflict.
    @Test(arguments: [true, false])
    func s2ConcurrentEditsConvergeWithAConflict(workerFirst: Bool) throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let worker = try cluster.device("worker", scopes: [g2], person: "扎西")
        let officer = try cluster.device("officer", role: "township", scopes: [township], person: "卓玛")
        let center = try cluster.device("county", role: "county", scopes: [county])
        let issue = worker.id(["issue", "report", "--kind", "dispute", "--title", "邻里纠纷"])
        worker.sync()
        officer.sync()

        worker.ok(["issue", "edit", issue, "--description", "已初步调解"])
        worker.ok(["issue", "accept", issue])
        officer.ok(["issue", "edit", issue, "--description", "乡镇司法所介入"])
        officer.ok(["issue", "escalate", issue, "--tier", "medium"])
        let order = workerFirst ? [worker, officer, worker] : [officer, worker, officer]
        for device in order { device.sync() }
        center.sync()

        let exports = [worker, officer, center].map { $0.export(area: g2) }
        #expect(Set(exports).count == 1)
        let conflicts = [worker, officer, center].map { $0.ok(["conflict", "list", "--json"]).output }
        #expect(Set(conflicts).count == 1)
        let list = center.ok(["conflict", "list", "--json"]).json as? [[String: Any]] ?? []
        #expect(list.count == 1)
        let conflict = list.first?["conflict"] as? [String: Any]
        let texts = Set([conflict?["lostValue"] as? String, list.first?["currentValue"] as? String].compactMap { $0 })
        #expect(texts == ["已初步调解", "乡镇司法所介入"])
        // The overwritten value's writer by name: 扎西 wrote the first text, 卓玛 the second.
        let lostBy = list.first?["lostBy"] as? String
        #expect(lostBy == (conflict?["lostValue"] as? String == "已初步调解" ? "扎西" : "卓玛"), "\(list)")
        let shown = center.ok(["issue", "show", issue, "--json"]).object["issue"] as? [String: Any]
        #expect(shown?["status"] as? String == "accepted" && shown?["tier"] as? String == "medium")
        // The id as `conflict list` prints it names the conflict.
        let printed =
            "\(conflict?["table"] as? String ?? "")/\((conflict?["rowID"] as? String ?? "").prefix(8))/\(conflict?["column"] as? String ?? "")"
        #expect(center.ok(["conflict", "list"]).output.contains(printed), "\(printed)")
        center.ok(["conflict", "show", printed])
        // A person reviews it; the resolution replicates too.
        officer.ok(["conflict", "resolve", String((conflict?["id"] as? String ?? "").prefix(20)), "--note", "以乡镇意见为准"])
        officer.sync()
        worker.sync()
        #expect(worker.ok(["conflict", "list", "--json"]).output.trimmingCharacters(in: .whitespacesAndNewlines) == "[\n\n]")
        #expect(worker.ok(["conflict", "list"]).output.contains("no conflict waits for review"))
    }

    /// A worker's day in each of the three languages (from LANG, as a handheld sets it): every line
    /// the worker reads is in that language, terms included, and the records are the same.
    @Test(arguments: [
        ("en_US.UTF-8", ["household added: ", "issue reported: ", "door plate", "on this device only", "dispatched", "follow-up visit"]),
        ("zh_CN.UTF-8", ["已添加住户：", "已上报事项：", "门牌", "仅在本机", "已派单", "回访"]),
        ("bo_CN.UTF-8", ["ཁྱིམ་ཚང་ཁ་སྣོན་བྱས་ཟིན།", "དོན་དག་སྙན་སེང་ཞུས་ཟིན།", "སྒོ་ཨང་།", "སྒྲིག་ཆས་འདི་ཁོ་ནར་ཡོད་པ།", "བགོ་འགྲེམ་བྱས་ཟིན།", "རྗེས་འདྲི།"]),
    ])
    func aWorkersDayInTheirLanguage(locale: String, expected: [String]) throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        var worker = try cluster.device("worker", scopes: [g2], person: "扎西")
        var officer = try cluster.device("officer", role: "township", scopes: [township], person: "次仁")
        worker.environment["LANG"] = locale
        officer.environment["LANG"] = locale
        var seen = worker.ok(["household", "add", "--door-plate", "3村12号", "--head-zh", "次仁", "--head-bo", "ཚེ་རིང་།"]).output
        let report = worker.ok(["issue", "report", "--kind", "request", "--title", "饮水管冻裂", "--requester", "格桑", "--channel", "phone"])
        seen += report.output
        let issue = try #require((worker.ok(["issue", "list", "--json"]).json as? [[String: Any]])?.first?["id"] as? String)
        seen += worker.ok(["household", "list"]).output + worker.ok(["status"]).output
        worker.sync()
        officer.sync()
        officer.ok(["issue", "dispatch", issue, "--to", "扎西"])
        officer.sync()
        worker.sync()
        seen += worker.ok(["issue", "list", "--mine"]).output
        worker.ok(["issue", "accept", issue])
        worker.ok(["issue", "resolve", issue, "--resolution", "已更换管段"])
        seen += worker.ok(["issue", "follow-up", issue, "--satisfaction", "5"]).output
        for text in expected { #expect(seen.contains(text), "\(locale) lacks \(text): \(seen)") }
        // An error in the same language, one line.
        let error = worker.run(["issue", "close", "zzzz"])
        #expect(error.status == 65 && error.errors.split(separator: "\n").count == 1, "\(error.errors)")
        if locale.hasPrefix("en") {
            #expect(!error.errors.contains("错误"))
        } else {
            #expect(!error.errors.contains("error:"), "\(error.errors)")
        }
    }

    /// S4: a device whose clock is years back and one days ahead both sync; what they record is
    /// ordered correctly and the ahead one is set back to the server's time.
    @Test func s4WrongClocksSyncCorrectly() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        var behind = try cluster.device("behind", scopes: [g2], person: "扎西")
        var ahead = try cluster.device("ahead", scopes: [g2], person: "卓玛")
        let center = try cluster.device("county", role: "county", scopes: [county])
        behind.environment["GRIDSYNC_CLOCK_SKEW_SECONDS"] = "\(-3 * 365 * 86400)"
        ahead.environment["GRIDSYNC_CLOCK_SKEW_SECONDS"] = "\(3 * 86400)"

        let issue = behind.id(["issue", "report", "--kind", "hazard", "--title", "电瓶车入户充电"])
        behind.sync()
        // Recorded days ahead before it ever synced: the server refuses it as too far ahead, and the
        // same sync restamps it with the server's time and sends it again.
        let early = ahead.id(["household", "add", "--door-plate", "3村9号"])
        let first = ahead.sync()
        #expect((first["refused"] as? [Any])?.isEmpty == true, "\(first)")
        #expect(ahead.ok(["status", "--json"]).object["changesWaiting"] as? Int == 0)
        // The device days ahead learned the server's time: its new writes are not stamped days ahead.
        ahead.ok(["issue", "edit", issue, "--title", "电瓶车入户充电（已整改）"])
        let aheadSync = ahead.sync()
        #expect((aheadSync["refused"] as? [Any])?.isEmpty == true, "\(aheadSync)")
        // The device years behind edits after: its edit comes later, so it wins.
        behind.ok(["issue", "edit", issue, "--title", "电瓶车入户充电（复查）"])
        behind.sync()
        ahead.sync()
        center.sync()
        for device in [behind, ahead, center] {
            let title = (device.ok(["issue", "show", issue, "--json"]).object["issue"] as? [String: Any])?["title"] as? String
            #expect(title == "电瓶车入户充电（复查）")
        }
        #expect(center.ok(["household", "show", early, "--json"]).output.contains("3村9号"))
        let offset = behind.ok(["status", "--json"]).object["clockOffsetMillis"] as? Int ?? 0
        #expect(offset > 3 * 365 * 86_400_000 - 60_000)
        #expect(Set([behind, ahead, center].map { $0.export(area: g2) }).count == 1)
    }

    /// S5: a lost device is revoked; its next request is refused; nobody else is affected.
    @Test func s5ARevokedDeviceIsRefusedAndOthersAreNot() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let lost = try cluster.device("lost", scopes: [g2])
        let other = try cluster.device("other", scopes: [g2])
        lost.ok(["household", "add", "--door-plate", "1号"])
        lost.sync()
        let device = lost.ok(["status", "--json"]).object["device"] as? String ?? ""
        _ = try cluster.serverCommand(["revoke", "--data", cluster.data.path, device])
        lost.ok(["household", "add", "--door-plate", "2号"])  // offline work goes on
        let refused = lost.run(["sync"])
        #expect(refused.status == 77 && refused.errors.contains("[revoked]"), "\(refused.errors)")
        #expect(lost.ok(["status", "--json"]).object["changesWaiting"] as? Int ?? 0 > 0)
        other.ok(["household", "add", "--door-plate", "3号"])
        let summary = other.sync()
        #expect(summary["pulled"] as? Int ?? 0 > 0)
        let plates = (other.ok(["household", "list", "--json"]).json as? [[String: Any]] ?? []).compactMap { $0["doorPlate"] as? String }
        #expect(Set(plates) == ["1号", "3号"])
    }

    /// S6: a device of grid A pushes a change into grid B: that change is refused with its reason,
    /// the rest of the batch lands.
    @Test func s6AChangeOutsideTheScopeIsRefusedAndTheRestLands() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let worker = try cluster.device("worker", scopes: [g2])
        let center = try cluster.device("county", role: "county", scopes: [county])
        worker.ok(["household", "add", "--door-plate", "g2-1号"])
        // The command line refuses a record outside the device's scopes …
        #expect(worker.run(["household", "add", "--grid", g3, "--door-plate", "x"]).status == 65)
        // … so the stray record is written beneath it, as a device reassigned from grid B would hold one.
        let replica = try Replica(path: worker.replicaPath)
        let stray = try replica.addHousehold(grid: g3, HouseholdFields(doorPlate: "g3-1号"))
        worker.ok(["household", "add", "--door-plate", "g2-2号"])
        let summary = worker.sync()
        let refused = summary["refused"] as? [[String: Any]] ?? []
        #expect(!refused.isEmpty && refused.allSatisfy { $0["code"] as? String == "out_of_scope" && $0["row"] as? String == stray })
        #expect(worker.ok(["sync"]).output.contains("[out_of_scope]") == false)  // refused once, not re-sent
        center.sync()
        let plates = (center.ok(["household", "list", "--json"]).json as? [[String: Any]] ?? []).compactMap { $0["doorPlate"] as? String }
        #expect(Set(plates) == ["g2-1号", "g2-2号"])
    }
}
