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

        let sources = try Workload.offlineDevices(folder, &rng)
        // Their changes reach both stores in small batches, from senders trusted and not.
        var rounds = 0
        for batch in try Workload.pushBatches(from: sources, &rng) {
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
            for (key, row) in rows
            where key.table == Schema.issueEvents.number && row.values[issueColumn].text.map(ExactString.init) == issue {
                loaded.load(key, row)
            }
            loaded.loadedAllEvents(of: issue.string)
        }
        for blob in wants.kept { loaded.loadKept(blob, exists: kept[blob] != nil) }
    }
}
