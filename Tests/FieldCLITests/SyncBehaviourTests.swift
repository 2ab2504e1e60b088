import Foundation
import SyncCore
import Testing

/// A `gridsync-link` process between devices and the server.
final class LinkProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let statsPath: String

    init(to serverPort: Int, folder: URL, _ arguments: [String]) throws {
        statsPath = folder.appendingPathComponent("link-\(UUID().uuidString.prefix(6)).json").path
        process.executableURL = Cluster.binaries.appendingPathComponent("gridsync-link")
        process.arguments = ["--to", "localhost:\(serverPort)", "--stats", statsPath] + arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let more = out.fileHandleForReading.availableData
            if more.isEmpty { break }
            line += more
        }
        guard let text = String(data: line, encoding: .utf8), text.hasPrefix("listening on"),
            let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":").last ?? "")
        else { throw ClusterError.setup("gridsync-link did not start: \(String(decoding: line, as: UTF8.self))") }
        self.port = port
    }

    var url: String { "https://localhost:\(port)" }

    /// Bytes carried up (device to server) and down, and cuts made.
    var stats: (up: Int, down: Int, cuts: Int) {
        let object = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: statsPath)))) as? [String: Any] ?? [:]
        return (object["bytesUp"] as? Int ?? 0, object["bytesDown"] as? Int ?? 0, object["cuts"] as? Int ?? 0)
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// How `gridsync sync` behaves on the links of the field.
@Suite struct SyncBehaviourTests {
    /// S3: the link drops again and again during sync and during a photo upload; sync completes,
    /// and nothing the server acknowledged is sent again (an upload that restarted from zero could
    /// never pass a link cut every 24 KB).
    @Test func s3ASyncCutEvery24KBCompletesAndResumes() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let worker = try cluster.device("worker", scopes: [g2], person: "扎西")
        let center = try cluster.device("county", role: "county", scopes: [county])
        // Three hundred households (written beneath the command line, to keep the test short).
        let replica = try Replica(path: worker.replicaPath)
        for n in 0..<300 {
            try replica.addHousehold(
                grid: g2,
                HouseholdFields(doorPlate: "3村\(n)号", headNameZh: "次仁\(n)", headNameBo: "ཚེ་རིང་། \(n)", notes: "牧户，夏季草场在北坡 \(n * 7919)"))
        }
        let issue = worker.id(["issue", "report", "--kind", "dispute", "--title", "草场使用权纠纷"])
        let file = try photoFile(in: cluster.folder, "p.jpg", size: 400_000, seed: 7)
        let hash = worker.ok(["photo", "attach", file, "--issue", issue, "--json"]).object["sha256"] as? String ?? ""

        let link = try LinkProcess(to: cluster.port, folder: cluster.folder, ["--cut-after", "24000"])
        defer { link.stop() }
        let summary = worker.sync(["--via", link.url, "--backoff", "0.05", "--retries", "8"])
        #expect(summary["photosUploaded"] as? Int == 1 && summary["photosWaiting"] as? Int == 0)
        #expect((summary["refused"] as? [Any])?.isEmpty == true)
        let carried = link.stats
        #expect(carried.cuts >= 10, "\(carried)")
        #expect(carried.up < 3 * 400_000, "\(carried)")
        let status = worker.ok(["status", "--json"]).object
        #expect(status["changesWaiting"] as? Int == 0 && status["receipt"] as? Int == status["localVersion"] as? Int)

        center.sync()
        #expect(center.export(area: g2) == worker.export(area: g2))
        center.ok(["photo", "fetch", hash, "--via", link.url, "--backoff", "0.05", "--retries", "8"])
        #expect(BlobStore.sha256(try Data(contentsOf: URL(fileURLWithPath: center.home + "/photos/" + hash))) == hash)
    }

    /// Over a fast link a pull asks for bigger answers as they keep arriving quickly (fewer
    /// transactions rewriting the same index pages); over a link with a long round trip it keeps
    /// asking for 5,000 changes at a time. Both end with everything.
    @Test func aFastLinkGetsBiggerAnswersAndASlowOneDoesNot() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let worker = try cluster.device("worker", scopes: [g2], person: "扎西")
        // 4,000 households of 7 changes each (written beneath the command line).
        var config = Replica.Configuration()
        config.durable = false
        let replica = try Replica(path: worker.replicaPath, configuration: config)
        for n in 0..<4000 {
            try replica.addHousehold(
                grid: g2,
                HouseholdFields(
                    doorPlate: "3村\(n)号", headNameZh: "次仁\(n)", headNameBo: "ཚེ་རིང་། \(n)", members: n % 7 + 1, tags: ["牧户"],
                    notes: "夏季草场在北坡 \(n * 7919)"))
        }
        let written = try replica.changes(since: 0, maxChanges: 1_000_000).changeset.changeCount
        try #require(written > 25_000)
        worker.sync()

        let fast = try cluster.device("county", role: "county", scopes: [county])
        let quick = fast.sync()
        #expect(quick["pulled"] as? Int == written)
        // 5,000 + 10,000 + 20,000 (6 rounds of 5,000 without growing; one answer that came slowly
        // on a busy machine leaves 5).
        #expect((quick["rounds"] as? Int ?? 99) < 6, "\(quick)")

        let slow = try cluster.device("township", role: "county", scopes: [county])
        let link = try LinkProcess(to: cluster.port, folder: cluster.folder, ["--rtt-ms", "1700"])
        defer { link.stop() }
        let patient = slow.sync(["--via", link.url])
        #expect(patient["pulled"] as? Int == written)
        #expect(patient["rounds"] as? Int == (written + 4999) / 5000, "\(patient)")
        #expect(slow.export(area: county) == fast.export(area: county))
    }

    /// Progress says which photo goes up ("photo 2 of 2"), counts what the server acknowledged, and
    /// writes no line twice; the summary counts the bytes the photos took, once.
    @Test func progressCountsAcknowledgedBytesPhotoByPhoto() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let worker = try cluster.device("worker", scopes: [g2])
        let issue = worker.id(["issue", "report", "--kind", "hazard", "--title", "消防隐患"])
        for seed: UInt64 in [21, 22] {
            worker.ok(["photo", "attach", try photoFile(in: cluster.folder, "p\(seed).jpg", size: 100_000, seed: seed), "--issue", issue])
        }
        let r = worker.ok(["sync"])
        #expect(r.errors.contains("photo 1 of 2") && r.errors.contains("photo 2 of 2"), "\(r.errors)")
        let lines = r.errors.split(separator: "\n")
        #expect(zip(lines, lines.dropFirst()).allSatisfy { $0 != $1 }, "a line written twice: \(r.errors)")
        #expect(r.output.contains("photos: 2 uploaded (195 KiB)"), "\(r.output)")
        let again = worker.sync()
        #expect(again["photosUploaded"] as? Int == 0 && again["photoBytesSent"] as? Int == 0, "\(again)")
    }

    /// `--max-bytes`: records always go; photos wait when over budget, then resume where they stopped.
    @Test func aByteBudgetSendsRecordsAndLeavesPhotosForLater() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let worker = try cluster.device("worker", scopes: [g2])
        let issue = worker.id(["issue", "report", "--kind", "hazard", "--title", "消防隐患"])
        let file = try photoFile(in: cluster.folder, "p.jpg", size: 200_000, seed: 3)
        worker.ok(["photo", "attach", file, "--issue", issue])
        let first = worker.sync(["--max-bytes", "50000"])
        #expect(first["pushed"] as? Int ?? 0 > 0 && first["photosWaiting"] as? Int == 1)
        #expect(first["photoBytesSent"] as? Int ?? 0 <= 50000)
        #expect(worker.ok(["status", "--json"]).object["photosWaiting"] as? Int == 1)
        let none = worker.sync(["--max-bytes", "0"])
        #expect(none["photoBytesSent"] as? Int == 0 && none["photosWaiting"] as? Int == 1)
        let second = worker.sync()
        #expect(second["photosUploaded"] as? Int == 1 && second["photosWaiting"] as? Int == 0)
        #expect((first["photoBytesSent"] as? Int ?? 0) + (second["photoBytesSent"] as? Int ?? 0) == 200_000)
    }

    /// Photos are stored by content: a second device with the same photo sends none of its bytes.
    @Test func aPhotoTheServerHoldsIsNotSentAgainByAnotherDevice() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let file = try photoFile(in: cluster.folder, "same.jpg", size: 150_000, seed: 11)
        var sent: [Int] = []
        for name in ["first", "second"] {
            let worker = try cluster.device(name, scopes: [g2])
            let issue = worker.id(["issue", "report", "--kind", "hazard", "--title", "消防隐患 \(name)"])
            worker.ok(["photo", "attach", file, "--issue", issue])
            let summary = worker.sync()
            #expect(summary["photosWaiting"] as? Int == 0)
            sent.append(summary["photoBytesSent"] as? Int ?? -1)
        }
        #expect(sent == [150_000, 0])
    }

    /// A photo damaged on the device (its bytes no longer hash to its name) is set aside with a clear
    /// message and a non-zero exit; the photos after it still go up, and its bytes are kept.
    @Test func aPhotoDamagedOnTheDeviceIsSetAsideAndTheOthersStillGoUp() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let worker = try cluster.device("worker", scopes: [g2])
        let issue = worker.id(["issue", "report", "--kind", "hazard", "--title", "电瓶车入户充电"])
        var hashes: [String] = []
        for seed: UInt64 in [3, 4] {
            let file = try photoFile(in: cluster.folder, "p\(seed).jpg", size: 120_000, seed: seed)
            hashes.append((worker.ok(["photo", "attach", file, "--issue", issue, "--json"]).object["sha256"] as? String) ?? "")
        }
        // Photos go up in hash order: damage the first, so the other waits behind it.
        let bad = hashes.min()!
        let good = hashes.max()!
        let stored = URL(fileURLWithPath: worker.home).appendingPathComponent("photos").appendingPathComponent(bad)
        var bytes = try Data(contentsOf: stored)
        bytes[60_000] ^= 0xFF
        try bytes.write(to: stored)

        let first = worker.run(["sync", "--json", "--backoff", "0.2"])
        #expect(first.status == 74, "\(first.errors)")
        #expect(first.errors.contains("[photo_damaged]") && first.errors.contains("damaged"), "\(first.errors)")
        #expect(first.object["photosUploaded"] as? Int == 1 && first.object["photosWaiting"] as? Int == 0)
        let damaged = first.object["photosDamaged"] as? [[String: Any]] ?? []
        #expect(damaged.count == 1 && damaged.first?["sha256"] as? String == bad)
        // Nothing is lost: the damaged bytes are kept where the message says.
        let movedTo = try #require(damaged.first?["movedTo"] as? String)
        #expect(try Data(contentsOf: URL(fileURLWithPath: movedTo)) == bytes)
        #expect(!FileManager.default.fileExists(atPath: stored.path))

        let second = worker.sync()
        #expect(second["photosUploaded"] as? Int == 0 && second["photosWaiting"] as? Int == 0)
        #expect((second["photosDamaged"] as? [Any])?.isEmpty == true)
        // The county gets the good photo; the damaged one is reported missing, not fetched wrong.
        let countyDevice = try cluster.device("county", role: "county", scopes: [county])
        countyDevice.sync()
        let fetched = countyDevice.ok(["photo", "fetch", "--all", "--json"]).object
        #expect(fetched["fetched"] as? [String] == [good] && fetched["missing"] as? [String] == [bad])
    }

    /// `--watch` waits for a signal, syncs whenever there is something to send, and stops on SIGTERM.
    @Test func watchSyncsWhenTheSignalComesAndStopsCleanly() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let worker = try cluster.device("worker", scopes: [g2])
        let center = try cluster.device("county", role: "county", scopes: [county])
        cluster.stop()  // no signal yet
        let watch = Process()
        watch.executableURL = Cluster.binaries.appendingPathComponent("gridsync")
        watch.arguments = ["sync", "--watch", "--interval", "1", "--backoff", "0.2", "--retries", "0", "--home", worker.home]
        let log = cluster.folder.appendingPathComponent("watch.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        watch.standardOutput = handle
        watch.standardError = handle
        try watch.run()
        defer { if watch.isRunning { watch.interrupt() } }

        worker.ok(["household", "add", "--door-plate", "1号"])
        usleep(1_500_000)
        try cluster.start()  // the signal comes back, on the same address
        func countySees(_ plates: Set<String>) -> Bool {
            for _ in 0..<60 {
                center.sync()
                let seen = (center.ok(["household", "list", "--json"]).json as? [[String: Any]] ?? []).compactMap {
                    $0["doorPlate"] as? String
                }
                if Set(seen) == plates { return true }
                usleep(250_000)
            }
            return false
        }
        #expect(countySees(["1号"]))
        worker.ok(["household", "add", "--door-plate", "2号"])
        #expect(countySees(["1号", "2号"]))
        watch.terminate()
        let deadline = Date().addingTimeInterval(15)
        while watch.isRunning && Date() < deadline { usleep(50_000) }
        #expect(!watch.isRunning && watch.terminationStatus == 0, "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(text.contains("no signal") && text.contains("synced:") && text.contains("stopped"), "\(text)")
    }
}
