import Foundation
import GRDB
import Testing

@testable import SyncCore

/// The merge run away from the database (`LoadedRows`: load what a batch names, merge in memory,
/// load what was missed and merge again, then write) stores exactly what the merge into a SQLite
/// replica stores: the same rows with the same clocks and local versions, the same change log,
/// derived states, reports and refusals, for trusted and untrusted senders alike.
@Suite struct LoadedRowsTests {
    @Test(arguments: [UInt64(11), 23, 37]) func loadedMergeStoresWhatTheReplicaStores(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let folder = TemporaryFolder()
        let site: UInt64 = 0x5e_4e_4e_4e
        let clock = ManualWallClock(millis: testEpochMillis + 3_600_000)
        let replica = try makeReplica(folder, "target", clock: clock, site: site)
        let store = DictionaryStore(site: SiteID(rawValue: site), wallClock: clock, localVersion: try replica.localVersion())
        store.clock = HybridLogicalClock(last: try replica.lastTimestamp(), maxDriftMillis: HybridLogicalClock.defaultMaxDriftMillis)

        // Three devices working on the same records offline, trading some changes among themselves.
        let sources = try (0..<3).map { i in
            try makeReplica(folder, "source\(i)", clock: ManualWallClock(millis: testEpochMillis + UInt64(i) * 1000), site: UInt64(100 + i))
        }
        try Workload().seed(sources[0], &rng)
        for j in 1..<3 { try sync(sources[0], sources[j]) }
        for _ in 0..<300 {
            let i = Int.random(in: 0..<3, using: &rng)
            try Workload().step(sources[i], &rng)
            if Int.random(in: 0..<20, using: &rng) == 0 { try sync(sources[i], sources[(i + 1) % 3]) }
        }

        // Their changes reach both stores in small batches, from senders trusted and not.
        let worker = Sender(
            scopes: [try AreaPath(Workload.grids[0])], site: SiteID(rawValue: 101), role: .worker, author: .unchecked)
        var cursors = [Int64](repeating: 0, count: 3)
        var rounds = 0
        while cursors.enumerated().contains(where: { (try? sources[$0.offset].localVersion()) ?? 0 > $0.element }) {
            var batch: [(Changeset, Sender)] = []
            for _ in 0..<Int.random(in: 1...2, using: &rng) {
                let i = Int.random(in: 0..<3, using: &rng)
                let b = try sources[i].changes(since: cursors[i], maxChanges: Int.random(in: 5...60, using: &rng))
                cursors[i] = b.cursor
                var sender = Int.random(in: 0..<4, using: &rng) == 0 ? worker : Sender.server
                var changeset = b.changeset
                if Int.random(in: 0..<8, using: &rng) == 0, let first = changeset.rows.first?.changes.first {
                    // Data of a later release, which a server keeps and sends on.
                    sender.keepsUnknown = true
                    changeset.rows.append(
                        RowChanges(
                            table: "livestock", rowID: "yak-\(rounds)", grid: Workload.grids[1],
                            changes: [
                                ColumnChange(column: "count", value: .integer(Int64(rounds)), version: first.version, base: nil)
                            ]))
                }
                batch.append((changeset, sender))
            }
            clock.advance(by: 500)
            let expected = try replica.apply(batch: batch)
            let got = try store.apply(batch)
            #expect(got.map(\.summary) == expected.map(\.summary), "reports differ (seed \(seed), round \(rounds))")
            rounds += 1
        }
        #expect(rounds > 10)
        #expect(store.reruns > 0, "no batch needed a second load: the test does not reach the reload path")

        // The same rows, clocks and local versions.
        try replica.read { db in
            for table in Schema.all {
                let ids = try String.fetchAll(db, sql: "SELECT id FROM \(table.name)")
                #expect(ids.count == store.rows.keys.filter { $0.table == table.number }.count, "\(table.name) row count")
                for id in ids {
                    let stored = try Replica.loadRow(db, table, id: id)
                    #expect(store.rows[LoadedRows.Key(table: table.number, id: id)] == stored, "\(table.name)/\(id) differs")
                }
            }
            let log = try Row.fetchAll(db, sql: "SELECT lv, tbl, row_id, grid FROM change_log ORDER BY lv").map {
                "\($0[0] as Int64) \($0[1] as Int) \(($0[1] as Int) == Schema.keptNumber ? "kept" : $0[2] as String) \($0[3] as String)"
            }
            let storeLog = store.log.values.sorted { $0.localVersion < $1.localVersion }.map {
                "\($0.localVersion) \($0.table) \($0.table == Schema.keptNumber ? "kept" : $0.id) \($0.grid)"
            }
            #expect(log == storeLog, "change logs differ")
            // Every issue's derived state; one never derived keeps the defaults its insert gave it.
            for row in try Row.fetchAll(db, sql: "SELECT id, _status, _tier FROM issues") {
                let id: String = row[0]
                let here = "\(row[1] as String)/\(row[2] as String? ?? "-")"
                let there = store.derived[id].map { "\($0.status.rawValue)/\($0.tier.rawValue)" } ?? "reported/-"
                #expect(here == there, "derived state of issue \(id)")
            }
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM kept") == store.kept.count)
        }
        #expect(try replica.localVersion() == store.localVersion)
        #expect(try replica.lastTimestamp() == store.clock.last)
    }
}

extension ApplyReport {
    /// Everything a report says, with its stored versions in order.
    var summary: String {
        "applied \(applied) unchanged \(unchanged) conflicts \(conflictsFound) kept \(kept) stored \(storedVersions) rejected \(rejected.map { "\($0)" }.sorted())"
    }
}

/// A store that keeps its rows in dictionaries and merges through `LoadedRows`, as a store across a
/// network does: load what a batch names, merge in memory, load what was missed, write once.
final class DictionaryStore {
    var rows: [LoadedRows.Key: StoredRow] = [:]
    var derived: [String: (status: IssueStatus, tier: IssueTier)] = [:]
    var kept: [[UInt8]: Int64] = [:]
    var log: [Int64: LoadedRows.LogEntry] = [:]
    var localVersion: Int64
    var clock = HybridLogicalClock(last: .zero, maxDriftMillis: HybridLogicalClock.defaultMaxDriftMillis)
    let site: SiteID
    let wallClock: any WallClock
    /// Batches whose merge asked for rows not loaded ahead, and was run again.
    var reruns = 0

    init(site: SiteID, wallClock: any WallClock, localVersion: Int64) {
        self.site = site
        self.wallClock = wallClock
        self.localVersion = localVersion
    }

    func apply(_ batch: [(Changeset, Sender)]) throws -> [ApplyReport] {
        var loaded = LoadedRows(site: site, clock: clock, wallClock: wallClock)
        var wants = RowWants(for: batch)
        while true {
            load(wants, into: &loaded)
            let (merged, reports) = try loaded.merged(batch)
            guard merged.missed.isEmpty else {
                reruns += 1
                wants = merged.missed
                continue
            }
            let base = localVersion
            let (written, entries, keptRows) = merged.numbered(after: base)
            for (key, row) in written { rows[key] = row }
            for lv in merged.superseded { log[lv] = nil }
            for entry in entries { log[entry.localVersion] = entry }
            for k in keptRows { kept[k.blob] = k.localVersion }
            for (id, state) in merged.derived { derived[id] = state }
            localVersion += merged.versionsTaken
            clock = merged.clock
            return reports.map { report in
                var report = report
                report.storedVersions = report.storedVersions.map { $0 < 0 ? base - $0 : $0 }
                return report
            }
        }
    }

    private func load(_ wants: RowWants, into loaded: inout LoadedRows) {
        for key in wants.rows { loaded.load(key, rows[key]) }
        let issueColumn = Schema.issueEvents.index(of: "issue_id")!
        for issue in wants.eventsOf {
            for (key, row) in rows where key.table == Schema.issueEvents.number && row.values[issueColumn].text == issue {
                loaded.load(key, row)
            }
            loaded.loadedAllEvents(of: issue)
        }
        for blob in wants.kept { loaded.loadKept(blob, exists: kept[blob] != nil) }
    }
}
