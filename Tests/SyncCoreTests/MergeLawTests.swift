import Testing

@testable import SyncCore

/// apply is commutative, associative and idempotent on changesets made by real replicas.
///
/// The laws are checked on the records (values, versions, derived status). Conflict records are
/// left out here: which replica first notices a lost value depends on the order values meet, and
/// conflict records replicate, so they agree after exchange (ConvergenceTests checks that).
@Suite struct MergeLawTests {
    /// Three changesets written concurrently by three replicas from a shared start.
    func threeChangesets(seed: UInt64, folder: TemporaryFolder) throws -> [Changeset] {
        var rng = SeededRandom(seed: seed)
        let origin = try makeReplica(folder, "origin")
        try Workload().seed(origin, &rng)
        var sets: [Changeset] = []
        for k in 0..<3 {
            let clock = ManualWallClock(millis: testEpochMillis + UInt64(k) * 1000)
            let r = try makeReplica(folder, "writer\(k)", clock: clock)
            try sync(origin, r)
            for _ in 0..<60 {
                clock.advance(by: Int64.random(in: 0...50, using: &rng))
                try Workload().step(r, &rng)
            }
            sets.append(try r.changes(since: 0, maxChanges: 1_000_000).changeset)
        }
        return sets
    }

    func state(after changesets: [Changeset], _ folder: TemporaryFolder, _ name: String) throws -> String {
        let r = try makeReplica(folder, name, clock: ManualWallClock(millis: testEpochMillis + 10_000))
        for c in changesets { _ = try r.apply(c) }
        return try r.dump(includeConflicts: false)
    }

    @Test(arguments: 1...6) func commutative(seed: UInt64) throws {
        let folder = TemporaryFolder()
        let s = try threeChangesets(seed: seed, folder: folder)
        let ab = try state(after: [s[0], s[1], s[2]], folder, "abc")
        let ba = try state(after: [s[2], s[1], s[0]], folder, "cba")
        let mixed = try state(after: [s[1], s[2], s[0]], folder, "bca")
        #expect(ab == ba, "seed \(seed): \(difference(ab, ba))")
        #expect(ab == mixed, "seed \(seed): \(difference(ab, mixed))")
    }

    @Test(arguments: 1...6) func associative(seed: UInt64) throws {
        let folder = TemporaryFolder()
        let s = try threeChangesets(seed: seed, folder: folder)
        // (a · b) · c against a · (b · c), where b · c is what a replica holds after merging b and c.
        let bc = try makeReplica(folder, "bc", clock: ManualWallClock(millis: testEpochMillis + 10_000))
        _ = try bc.apply(s[1])
        _ = try bc.apply(s[2])
        let merged = try bc.changes(since: 0, maxChanges: 1_000_000).changeset
        let left = try state(after: [s[0], s[1], s[2]], folder, "left")
        let right = try state(after: [s[0], merged], folder, "right")
        #expect(left == right, "seed \(seed): \(difference(left, right))")
    }

    @Test(arguments: 1...6) func idempotent(seed: UInt64) throws {
        let folder = TemporaryFolder()
        let s = try threeChangesets(seed: seed, folder: folder)
        let once = try state(after: [s[0], s[1]], folder, "once")
        let twice = try state(after: [s[0], s[1], s[0], s[1], s[1]], folder, "twice")
        #expect(once == twice, "seed \(seed): \(difference(once, twice))")
        let r = try makeReplica(folder, "again", clock: ManualWallClock(millis: testEpochMillis + 10_000))
        _ = try r.apply(s[0])
        let version = try r.localVersion()
        let report = try r.apply(s[0])
        #expect(report.applied == 0 && report.conflictsFound == 0)
        #expect(try r.localVersion() == version, "a repeated changeset writes nothing")
    }
}

/// The first line where two dumps differ.
func difference(_ a: String, _ b: String) -> String {
    let la = a.split(separator: "\n"), lb = b.split(separator: "\n")
    for (x, y) in zip(la, lb) where x != y { return "\n- \(x)\n+ \(y)" }
    return "line counts \(la.count) vs \(lb.count)"
}
