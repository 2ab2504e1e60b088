import Foundation
import SyncCore
import Testing

/// SIGKILL at random moments: `gridsync sync` killed mid-sync and mid-upload, the server killed
/// mid-sync; after restarts everything the worker recorded is on the server exactly once and every
/// file passes `PRAGMA integrity_check`. `GRIDSYNC_KILLS=200 swift test --filter CrashTests` runs
/// the long campaign; CI runs 12 kills.
@Suite struct CrashTests {
    static var kills: Int { Int(ProcessInfo.processInfo.environment["GRIDSYNC_KILLS"] ?? "") ?? 12 }
    static var seed: UInt64 { UInt64(ProcessInfo.processInfo.environment["GRIDSYNC_SEED"] ?? "") ?? UInt64.random(in: 1...1_000_000) }

    @Test func killedSyncsAndAKilledServerLoseAndDuplicateNothing() throws {
        let seed = Self.seed
        var rng = SeededGenerator(seed: seed)
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let worker = try cluster.device("worker", scopes: [g2], person: "扎西")
        let center = try cluster.device("county", role: "county", scopes: [county])
        let replica = try Replica(path: worker.replicaPath)
        for n in 0..<150 {
            try replica.addHousehold(grid: g2, HouseholdFields(doorPlate: "3村\(n)号", headNameZh: "次仁\(n)", notes: "牧户 \(n)"))
        }
        let issue = worker.id(["issue", "report", "--kind", "dispute", "--title", "草场使用权纠纷"])
        var recorded = 150
        var serverKills = 0
        var syncKills = 0
        for k in 0..<Self.kills {
            // New work, each reported saved before the next step.
            worker.ok(["household", "add", "--door-plate", "新\(k)号", "--head-zh", "卓玛\(k)"])
            recorded += 1
            if k % 4 == 0 {
                let file = try photoFile(in: cluster.folder, "p\(k).jpg", size: 150_000 + Int(rng.next() % 150_000), seed: rng.next())
                worker.ok(["photo", "attach", file, "--issue", issue])
            }
            // A link slow enough for a kill to land mid-transfer (2 Mbit/s, 20 ms).
            let link = try LinkProcess(
                to: cluster.port, folder: cluster.folder, ["--up-kbps", "2000", "--down-kbps", "2000", "--rtt-ms", "20"])
            let sync = Process()
            sync.executableURL = Cluster.binaries.appendingPathComponent("gridsync")
            sync.arguments = [
                "sync", "--home", worker.home, "--via", link.url, "--backoff", "0.05", "--retries", "3", "--quiet", "--chunk-kib", "16",
            ]
            sync.standardOutput = FileHandle.nullDevice
            sync.standardError = FileHandle.nullDevice
            try sync.run()
            usleep(UInt32(20_000 + rng.next() % 600_000))
            if k % 3 == 2 {
                // The server dies mid-sync (power cut in the county town); it comes back on the same port.
                kill(cluster.server!.processIdentifier, SIGKILL)
                cluster.server!.waitUntilExit()
                serverKills += 1
                sync.waitUntilExit()
                try cluster.start()
            } else if sync.isRunning {
                kill(sync.processIdentifier, SIGKILL)
                syncKills += 1
            }
            sync.waitUntilExit()
            link.stop()
            #expect(try Replica(path: worker.replicaPath).integrityCheck() == "ok", "seed \(seed), kill \(k)")
        }
        // A calm sync at the end: everything arrives, once.
        let final = worker.sync(["--retries", "5"])
        #expect(final["photosWaiting"] as? Int == 0, "seed \(seed)")
        #expect(worker.ok(["status", "--json"]).object["changesWaiting"] as? Int == 0, "seed \(seed)")
        center.sync()
        let exported = center.export(area: g2)
        #expect(exported == worker.export(area: g2), "seed \(seed)")
        let households = (center.ok(["household", "list", "--json"]).json as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(households.count == recorded && Set(households).count == recorded, "seed \(seed)")
        let fetched = center.ok(["photo", "fetch", "--all", "--json", "--backoff", "0.05"]).object
        #expect((fetched["missing"] as? [Any])?.isEmpty == true, "seed \(seed)")
        for hash in fetched["fetched"] as? [String] ?? [] {
            #expect(BlobStore.sha256(try Data(contentsOf: URL(fileURLWithPath: center.home + "/photos/" + hash))) == hash)
        }
        #expect(try Replica(path: cluster.data.appendingPathComponent("store.sqlite").path).integrityCheck() == "ok")
        #expect(try Replica(path: center.replicaPath).integrityCheck() == "ok")
        print(
            "crash campaign: seed \(seed), \(syncKills) gridsync kills, \(serverKills) server kills, \(recorded) households, all present once"
        )
    }
}

/// SplitMix64, so a failing campaign can be replayed with GRIDSYNC_SEED.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
