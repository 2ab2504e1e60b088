import Foundation
import Testing

/// The randomized multi-replica test, over the real server through the link emulator with random
/// cuts: three workers record, edit the same records and sync at random; at the end every replica
/// and the county hold the same data and the same conflicts. `GRIDSYNC_LINK_SEEDS=50 swift test
/// --filter ConvergenceOverLinkTests` runs more seeds by hand; CI runs two.
@Suite struct ConvergenceOverLinkTests {
    static var seeds: [UInt64] {
        let n = Int(ProcessInfo.processInfo.environment["GRIDSYNC_LINK_SEEDS"] ?? "") ?? 2
        let first = UInt64(ProcessInfo.processInfo.environment["GRIDSYNC_SEED"] ?? "") ?? UInt64.random(in: 1...1_000_000)
        return (0..<UInt64(n)).map { first + $0 }
    }

    @Test func replicasConvergeThroughACuttingLink() throws {
        var cuts = 0
        var up = 0
        for seed in Self.seeds {
            let carried = try run(seed: seed)
            cuts += carried.cuts
            up += carried.up
        }
        // The link did cut (a seed whose syncs carry little may go uncut: its cuts are random).
        #expect(cuts > 0 || up == 0, "seeds \(Self.seeds)")
    }

    func run(seed: UInt64) throws -> (up: Int, down: Int, cuts: Int) {
        var rng = SeededGenerator(seed: seed)
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let workers = try (0..<3).map { try cluster.device("w\($0)", scopes: [g2], person: ["扎西", "卓玛", "次仁"][$0]) }
        let center = try cluster.device("county", role: "county", scopes: [county])
        let link = try LinkProcess(to: cluster.port, folder: cluster.folder, ["--cut-mean", "4000", "--seed", "\(seed)"])
        defer { link.stop() }
        func ids(_ d: Device, _ what: String) -> [String] {
            (d.ok([what, "list", "--json"]).json as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }.sorted()
        }
        for step in 0..<24 {
            let d = workers[Int(rng.next() % 3)]
            switch rng.next() % 6 {
            case 0:
                d.ok(["household", "add", "--door-plate", "\(step)号", "--head-zh", "户主\(step)", "--members", "\(rng.next() % 9 + 1)"])
            case 1:
                if let h = ids(d, "household").randomElement(using: &rng) {
                    d.ok(["household", "edit", h, "--notes", "第\(step)步的备注 \(seed)"])
                }
            case 2:
                d.ok(["issue", "report", "--kind", "dispute", "--title", "纠纷 \(step)"])
            case 3:
                if let i = ids(d, "issue").randomElement(using: &rng) {
                    d.ok(["issue", "edit", i, "--description", "描述 \(step)"])
                    d.ok(["issue", "visit", i, "--note", "走访 \(step)"])
                }
            default:
                // A sync through the cutting link; it may give up after its retries: that is a cut-off sync.
                _ = d.run(["sync", "--via", link.url, "--backoff", "0.02", "--retries", "4", "--quiet"])
            }
        }
        // Everyone syncs until nothing moves (directly: the link has done its damage).
        for _ in 0..<3 { for d in workers { d.sync(["--retries", "3"]) } }
        center.sync()
        let exports = (workers + [center]).map { $0.export(area: g2) }
        #expect(Set(exports).count == 1, "seed \(seed): replicas differ")
        let conflicts = (workers + [center]).map { $0.ok(["conflict", "list", "--all", "--json"]).output }
        #expect(Set(conflicts).count == 1, "seed \(seed): conflicts differ")
        let carried = link.stats
        let conflictCount = (try? JSONSerialization.jsonObject(with: Data(conflicts[0].utf8)) as? [Any])?.count ?? 0
        print(
            "convergence over link: seed \(seed), \(carried.cuts) cuts, \(carried.up + carried.down) bytes carried, \(conflictCount) conflicts, converged"
        )
        return carried
    }
}
