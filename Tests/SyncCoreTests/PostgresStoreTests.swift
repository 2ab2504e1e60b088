import Foundation
import GRDB
import Logging
import PostgresFixture
import PostgresNIO
import SyncPostgres
import Synchronization
import Testing

@testable import SyncCore

/// The PostgreSQL store against a cluster of its own (`TemporaryPostgres`): it merges and pulls
/// exactly as a SQLite replica does, and its change log is numbered in commit order, so a pull
/// never passes over a change that commits later.
@Suite(.serialized) struct PostgresStoreTests {
    @Test func mergesAndPullsAsAReplicaDoes() async throws {
        let postgres = try TemporaryPostgres()
        var rng = SeededRandom(seed: 4242)
        let folder = TemporaryFolder()
        let site: UInt64 = 0x5e_4e_4e_4e
        let clock = ManualWallClock(millis: testEpochMillis + 3_600_000)
        let replica = try makeReplica(folder, "target", clock: clock, site: site)
        // The same batches as `LoadedRowsTests`: small, from trusted and untrusted senders, some
        // with a later release's data.
        let batches = try Workload.pushBatches(from: try Workload.offlineDevices(folder, &rng), &rng)
        #expect(batches.count > 10)
        let work = batches

        try await postgres.withClient { client in
            let store = try await PostgresStore.open(
                client: PostgresPrimary(running: client), newSite: SiteID(rawValue: site), wallClock: clock)
            #expect(try await store.localVersion() == 0)
            for (n, batch) in work.enumerated() {
                clock.advance(by: 500)
                let expected = try replica.apply(batch: batch)
                let got = try await store.apply(batch: batch)
                #expect(got.map(\.summary) == expected.map(\.summary), "reports differ at batch \(n)")
            }
            #expect(try await store.localVersion() == replica.localVersion())
            let sliced = PostgresStore(client: PostgresPrimary(running: client), site: store.site, wallClock: clock, firstRowSlice: 3)
            // Whole pulls, paged pulls and scoped pulls give the same batches and cursors.
            for (maxChanges, scopes) in [
                (100_000, nil), (37, nil), (25, [try AreaPath(Workload.grids[0])]), (1000, [try AreaPath("xizang/lhasa")]),
            ]
                as [(Int, [AreaPath]?)]
            {
                var cursor: Int64 = 0
                var pages = 0
                while true {
                    let expected = try replica.changes(since: cursor, maxChanges: maxChanges, scopes: scopes)
                    let got = try await store.changes(since: cursor, maxChanges: maxChanges, scopes: scopes)
                    #expect(got.changeset == expected.changeset, "pull of \(maxChanges) from \(cursor) in \(scopes ?? []) differs")
                    // The store reads a page's rows a slice of entries at a time, twice as many
                    // each time the page needs more: from 3 entries, a page of 146 rows takes
                    // seven slices.
                    let sliced = try await sliced.changes(since: cursor, maxChanges: maxChanges, scopes: scopes)
                    #expect(
                        sliced.changeset == expected.changeset && sliced.cursor == expected.cursor && sliced.hasMore == expected.hasMore)
                    #expect(got.cursor == expected.cursor && got.hasMore == expected.hasMore)
                    cursor = expected.cursor
                    pages += 1
                    if !expected.hasMore { break }
                }
                #expect(pages >= 1)
            }
        }
        // What psql sees: the derived states as the replica holds them.
        let derived = try postgres.psql("SELECT id || ' ' || _status || ' ' || coalesce(_tier, '-') FROM issues ORDER BY id")
            .split(separator: "\n").map(String.init)
        let here = try replica.read { db in
            try String.fetchAll(db, sql: "SELECT id || ' ' || _status || ' ' || ifnull(_tier, '-') FROM issues ORDER BY id")
        }
        #expect(derived == here)
    }

    /// Push A takes its local versions from the counter and waits before committing; push B,
    /// which starts later, must not commit before A, and a pull between them must not move past
    /// A's numbers (it would never see them). Then both land and the pulls catch up.
    @Test func changesAreNumberedInCommitOrder() async throws {
        let postgres = try TemporaryPostgres()
        let folder = TemporaryFolder()
        var rng = SeededRandom(seed: 77)
        let source = try makeReplica(folder, "source", site: 9)
        try Workload().seed(source, &rng, households: 9, issues: 2)
        let all = try source.changes(since: 0, maxChanges: 100_000).changeset
        let first = Changeset(rows: Array(all.rows.prefix(3)))
        let held = Changeset(rows: Array(all.rows.dropFirst(3).prefix(3)))
        let later = Changeset(rows: Array(all.rows.dropFirst(6)))

        try await postgres.withClient { client in
            let store = try await PostgresStore.open(client: PostgresPrimary(running: client), newSite: SiteID(rawValue: 1))
            _ = try await store.apply(batch: [(first, .server)])
            let before = try await store.localVersion()
            #expect(before == 3)
            // A: written and numbered, not committed until released.
            let (released, release) = AsyncStream<Void>.makeStream()
            let (written, wrote) = AsyncStream<Void>.makeStream()
            let a = Task {
                try await store.apply(batch: [(held, .server)]) { _ in
                    wrote.yield()
                    for await _ in released { break }
                }
            }
            for await _ in written { break }
            // B: started after A took its numbers.
            let b = Task { try await store.apply(batch: [(later, .server)]) }
            try await Task.sleep(for: .milliseconds(500))
            // B waits on the counter; a pull now sees neither and stays before A's numbers.
            let middle = try await store.changes(since: 0, maxChanges: 100_000)
            #expect(middle.cursor == before, "a pull moved to \(middle.cursor), past A's numbers from \(before + 1)")
            #expect(Set(middle.changeset.rows.map(\.rowID)) == Set(first.rows.map(\.rowID)))
            #expect(try await store.localVersion() == before)
            release.yield()
            let aReports = try await a.value
            let bReports = try await b.value
            let aVersions = aReports[0].storedVersions
            #expect(aVersions == [before + 1, before + 2, before + 3])
            #expect(bReports[0].storedVersions.allSatisfy { $0 > before + 3 }, "B numbered before A: \(bReports[0].storedVersions)")
            // The pull from where the middle one stopped brings all of A and B.
            let rest = try await store.changes(since: middle.cursor, maxChanges: 100_000)
            #expect(rest.cursor == (try await store.localVersion()))
            #expect(Set(rest.changeset.rows.map(\.rowID)) == Set((held.rows + later.rows).map(\.rowID)))
        }
    }

    /// Ids that Swift's `==` takes for one ("é" as one code point and as "e" with a combining
    /// accent) are two rows, as in SQLite: a device of grid A cannot reach grid B's "é" by writing
    /// its twin first.
    @Test func canonicallyEquivalentIdsAreDifferentRows() async throws {
        let postgres = try TemporaryPostgres()
        let folder = TemporaryFolder()
        let replica = try makeReplica(folder, "target", site: 0x77)
        let victim = try makeReplica(folder, "victim", site: 0x78)
        let hostile = try makeReplica(folder, "hostile", site: 0x79)
        let (gridA, gridB) = (Workload.grids[0], Workload.grids[1])
        try victim.addHousehold(grid: gridB, HouseholdFields(doorPlate: "受害者"), id: "\u{e9}")
        try hostile.addHousehold(grid: gridA, HouseholdFields(doorPlate: "1"), id: "e\u{301}")
        try hostile.addHousehold(grid: gridA, HouseholdFields(doorPlate: "2"), id: "\u{e9}")
        let first = try victim.changes(since: 0, maxChanges: 1000).changeset
        let second = try hostile.changes(since: 0, maxChanges: 1000).changeset
        let sender = Sender(scopes: [try AreaPath(gridA)], site: SiteID(rawValue: 0x79))
        try await postgres.withClient { client in
            let store = try await PostgresStore.open(client: PostgresPrimary(running: client), newSite: SiteID(rawValue: 0x77))
            for (changeset, from) in [(first, Sender.server), (second, sender)] {
                let expected = try replica.apply(changeset, from: from)
                let got = try await store.apply(batch: [(changeset, from)])[0]
                #expect(got.summary == expected.summary)
            }
            let pulled = try await store.changes(since: 0, maxChanges: 1000, scopes: [try AreaPath(gridA)])
            #expect(pulled.changeset == (try replica.changes(since: 0, maxChanges: 1000, scopes: [try AreaPath(gridA)]).changeset))
            #expect(pulled.changeset.rows.allSatisfy { $0.grid == gridA })
            #expect(!pulled.changeset.rows.contains { $0.changes.contains { $0.value == .text("受害者") } })
        }
    }

    /// Many pushes at once, to the same rows, from several connections (as several servers
    /// would), with pulls running throughout: every pull sequence sees every change exactly in
    /// the order of the final log, and the store ends as a replica that merged all of it.
    @Test func concurrentPushesAndPullsStayExact() async throws {
        let postgres = try TemporaryPostgres()
        var rng = SeededRandom(seed: 9001)
        let folder = TemporaryFolder()
        let sources = try Workload.offlineDevices(folder, &rng, steps: 200)
        var pushes: [Changeset] = []
        for source in sources {
            var cursor: Int64 = 0
            while true {
                let b = try source.changes(since: cursor, maxChanges: 15)
                if !b.changeset.isEmpty { pushes.append(b.changeset) }
                cursor = b.cursor
                if !b.hasMore { break }
            }
        }
        pushes.shuffle(using: &rng)
        let reference = try makeReplica(folder, "reference", site: 5)
        for push in pushes { _ = try reference.apply(push) }
        let work = pushes

        try await postgres.withClient { client in
            let store = try await PostgresStore.open(client: PostgresPrimary(running: client), newSite: SiteID(rawValue: 5))
            let lanes = 6
            // Pullers follow the log throughout, keeping the newest of every column they are sent.
            let done = Flag()
            let pullers = (0..<2).map { _ in
                Task { () -> [String: String] in
                    var cursor: Int64 = 0
                    var view: [String: String] = [:]
                    var finished = false
                    while true {
                        let b = try await store.changes(since: cursor, maxChanges: 50)
                        view.merge(Self.latest(b.changeset, includeConflicts: true)) { _, new in new }
                        cursor = b.cursor
                        if !b.hasMore {
                            if finished { return view }
                            finished = done.value.withLock { $0 }
                            try await Task.sleep(for: .milliseconds(5))
                        }
                    }
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<lanes {
                    group.addTask {
                        for (i, push) in work.enumerated() where i % lanes == lane {
                            _ = try await store.apply(batch: [(push, .server)])
                        }
                    }
                }
                try await group.waitForAll()
            }
            done.value.withLock { $0 = true }
            let final = try await store.changes(since: 0, maxChanges: 1_000_000)
            for puller in pullers {
                let view = try await puller.value
                #expect(view == Self.latest(final.changeset, includeConflicts: true), "a puller following the log ended elsewhere")
            }
            // The merged data equals the reference replica's, whatever the order of commits.
            let expected = try reference.changes(since: 0, maxChanges: 1_000_000).changeset
            #expect(Self.latest(final.changeset) == Self.latest(expected))
        }
    }

    /// Each (table, row, column)'s value and version in `changeset`.
    static func latest(_ changeset: Changeset, includeConflicts: Bool = false) -> [String: String] {
        var out: [String: String] = [:]
        for row in changeset.rows where includeConflicts || row.table != "conflicts" {
            for change in row.changes { out["\(row.table)/\(row.rowID)/\(change.column)"] = "\(change.value)@\(change.version)" }
        }
        return out
    }
}

/// A flag set by one task and read by others.
final class Flag: Sendable {
    let value = Mutex(false)
}
