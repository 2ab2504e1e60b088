import Foundation
import Testing

@testable import SyncCore

/// Seeded randomized convergence: replicas with skewed clocks edit the same records offline and
/// exchange changes in partial, duplicated and reordered batches; in the end all hold the same data
/// and the same conflicts. Set GRIDSYNC_SEEDS=N (and GRIDSYNC_OPS=M) to run more by hand.
@Suite struct ConvergenceTests {
    static let seeds: [UInt64] = {
        let n = Int(ProcessInfo.processInfo.environment["GRIDSYNC_SEEDS"] ?? "") ?? 8
        return (1...UInt64(max(1, n))).map { $0 &* 7919 }
    }()
    static let operations = Int(ProcessInfo.processInfo.environment["GRIDSYNC_OPS"] ?? "") ?? 2000

    @Test(arguments: seeds) func replicasConverge(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let folder = TemporaryFolder()
        let count = 5
        // Clocks from three days behind to two minutes ahead (inside the drift bound).
        let clocks = (0..<count).map { _ in
            ManualWallClock(millis: UInt64(Int64(testEpochMillis) + Int64.random(in: -3 * 86_400_000...120_000, using: &rng)))
        }
        // Devices here swap changes directly, so none may refuse another's clock (a real device
        // learns the server's time instead; ClockTests checks the refusal).
        let week: UInt64 = 7 * 86_400_000
        let replicas = try (0..<count).map {
            try makeReplica(folder, "r\($0)", clock: clocks[$0], site: UInt64.random(in: 1...UInt64.max, using: &rng), maxDriftMillis: week)
        }
        var cursors = Array(repeating: Array(repeating: Int64(0), count: count), count: count)
        try Workload().seed(replicas[0], &rng)
        for j in 1..<count { cursors[0][j] = try sync(replicas[0], replicas[j]) }

        for _ in 0..<Self.operations {
            let i = Int.random(in: 0..<count, using: &rng)
            clocks[i].advance(by: Int64.random(in: -200...400, using: &rng))
            if Int.random(in: 0..<10, using: &rng) < 8 {
                try Workload().step(replicas[i], &rng)
            } else {
                var j = Int.random(in: 0..<count - 1, using: &rng)
                if j >= i { j += 1 }
                cursors[i][j] = try exchangeBadly(from: replicas[i], to: replicas[j], since: cursors[i][j], &rng)
            }
        }
        // Heal: complete, in-order exchanges until a whole round changes nothing.
        var rounds = 0
        while true {
            rounds += 1
            let before = try replicas.map { try $0.localVersion() }
            for i in 0..<count {
                for j in 0..<count where i != j { cursors[i][j] = try sync(replicas[i], replicas[j], since: cursors[i][j]) }
            }
            let after = try replicas.map { try $0.localVersion() }
            if before == after || rounds > 10 { break }
        }
        let reference = try replicas[0].dump()
        for (k, r) in replicas.enumerated().dropFirst() {
            let d = try r.dump()
            #expect(d == reference, "replica \(k) differs from replica 0 (seed \(seed)):\n\(difference(reference, d))")
        }
        let conflicts = try replicas.map { try $0.conflicts(includeResolved: true).map(\.id) }
        #expect(Set(conflicts.map { $0.joined(separator: ",") }).count == 1, "conflicts differ (seed \(seed))")
        #expect(rounds <= 10, "no quiescence after 10 rounds (seed \(seed))")
        for r in replicas { #expect(try r.integrityCheck() == "ok") }
    }

    /// Sends `from`'s changes in small batches, shuffled, some duplicated and some lost; returns the
    /// cursor up to which every batch arrived.
    func exchangeBadly(from: Replica, to: Replica, since: Int64, _ rng: inout SeededRandom) throws -> Int64 {
        var batches: [(Changeset, Int64)] = []
        var cursor = since
        while true {
            let b = try from.changes(since: cursor, maxChanges: Int.random(in: 3...40, using: &rng))
            cursor = b.cursor
            if !b.changeset.isEmpty { batches.append((b.changeset, b.cursor)) }
            if !b.hasMore { break }
        }
        var delivered = Set<Int>()
        var order = Array(batches.indices).shuffled(using: &rng)
        order += order.filter { _ in Int.random(in: 0..<4, using: &rng) == 0 }  // duplicates
        for k in order where Int.random(in: 0..<5, using: &rng) != 0 {  // one in five lost
            let bytes = ChangesetEncoding.encode(batches[k].0)
            _ = try to.apply(try ChangesetEncoding.decode(bytes))
            delivered.insert(k)
        }
        var acknowledged = since
        for k in batches.indices {
            guard delivered.contains(k) else { break }
            acknowledged = batches[k].1
        }
        return delivered.count == batches.count ? cursor : acknowledged
    }
}
