import Foundation
import GRDB
import Testing

@testable import SyncCore

@Suite struct ReplicaTests {
    let grid = "xizang/lhasa/maizhokunggar/zhaxigang/v3/g2"

    @Test func recordsAndReadsBilingualHouseholds() throws {
        let folder = TemporaryFolder()
        let r = try makeReplica(folder, "device")
        let id = try r.addHousehold(
            grid: grid,
            HouseholdFields(
                doorPlate: "扎西岗乡3村12号", headNameZh: "扎西", headNameBo: "བཀྲ་ཤིས།", members: 5, phone: "+86 139-0000-0000",
                tags: ["独居老人", "低保"]))
        let h = try #require(try r.household(id))
        #expect(h.headNameBo == "བཀྲ་ཤིས།" && h.members == 5 && h.tags == ["独居老人", "低保"])
        try r.editHousehold(id, HouseholdFields(phone: "", notes: "草场使用权纠纷\n已调解"))
        #expect(try r.household(id)?.phone == nil)
        #expect(try r.household(id)?.notes == "草场使用权纠纷\n已调解")
        #expect(try r.households(area: "xizang/lhasa").count == 1)
        #expect(try r.households(area: "xizang/shigatse").isEmpty)
    }

    /// A register sorted in memory (every row of the area within the limit) is in exactly the
    /// order SQLite's `ORDER BY door_plate, id` gives, and one cut by the limit too: NULL plates
    /// first, bytes compared (not Swift's canonical equivalence), ties by id.
    @Test func registerOrderIsSQLitesByteOrder() throws {
        let folder = TemporaryFolder()
        let r = try makeReplica(folder, "device")
        let plates = ["10", "9", "é", "e\u{301}", "a", "A", "村1", "村10", "村2", "ཁྱིམ་ 3", "9", "村1", "", "a "]
        for (n, plate) in plates.enumerated() {
            try r.addHousehold(grid: n % 2 == 0 ? grid : grid + "x", HouseholdFields(doorPlate: plate, headNameZh: "户\(n)"))
        }
        // A plate merged in without a value (a device may send any row): NULL sorts first.
        try r.database.write { db in try db.execute(sql: "UPDATE households SET door_plate = NULL WHERE head_name_zh IN ('户3', '户6')") }
        let area = "xizang/lhasa/maizhokunggar/zhaxigang/v3"
        let expected = try r.database.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT id FROM households WHERE IFNULL(deleted, 0) = 0 AND (grid = ? OR (grid >= ? AND grid < ?))
                    ORDER BY door_plate, id
                    """,
                arguments: [area, area + "/", area + "0"])
        }
        #expect(expected.count == plates.count)
        #expect(try r.households(area: area).map(\.id) == expected)  // sorted here
        #expect(try r.households(area: area, limit: 5).map(\.id) == Array(expected.prefix(5)))  // sorted by SQLite
        #expect(try r.households(area: area, limit: plates.count).map(\.id) == expected)
        #expect(try r.households(limit: Int.max).map(\.id) == expected)
        #expect(try r.households(area: area, limit: 0).isEmpty)
    }

    /// A register is read from SQLite's column buffers, each row's grid and tags taken from the
    /// row before when they are the same: every value comes back as it was written, whatever
    /// the rows before it held, and as GRDB's own decoding reads it.
    @Test func registerRowsReadBackEveryValue() throws {
        let folder = TemporaryFolder()
        let r = try makeReplica(folder, "device")
        let other = grid + "0"
        // Same length as `grid`, other bytes: the kept grid is compared by content, not length.
        let sibling = String(grid.dropLast()) + "9"
        let written: [(String, HouseholdFields)] = [
            (
                grid,
                HouseholdFields(
                    doorPlate: "1", headNameZh: "次仁", headNameBo: "ཚེ་རིང་།", members: 4, phone: "13900000001",
                    location: "29.65,91.13", tags: ["牧户", "低保户"], notes: "夏季草场在北坡")
            ),
            (grid, HouseholdFields(doorPlate: "2", tags: ["牧户", "低保户"])),
            (grid, HouseholdFields(doorPlate: "3")),
            (grid, HouseholdFields(doorPlate: "4", members: 0, tags: ["牧户"])),
            (other, HouseholdFields(doorPlate: "5", tags: ["牧户"])),
            (other, HouseholdFields(doorPlate: "6", tags: [])),
            (grid, HouseholdFields(doorPlate: "7", tags: ["牧户", "低保户"])),
            (sibling, HouseholdFields(doorPlate: "8", tags: ["农户", "低保户"])),
        ]
        for (g, fields) in written { try r.addHousehold(grid: g, fields) }
        let deleted = try r.addHousehold(grid: grid, HouseholdFields(doorPlate: "9", tags: ["五保户"]))
        try r.deleteHousehold(deleted)
        // An empty text, not NULL (recording stores none; a merged row may hold one).
        try r.database.write { db in try db.execute(sql: "UPDATE households SET head_name_zh = '' WHERE door_plate = '6'") }
        let read = try r.households(area: "xizang/lhasa", limit: Int.max)
        #expect(read.map(\.doorPlate) == ["1", "2", "3", "4", "5", "6", "7", "8"])
        #expect(read.map(\.grid) == [grid, grid, grid, grid, other, other, grid, sibling])
        #expect(
            read.map(\.tags) == [["牧户", "低保户"], ["牧户", "低保户"], [], ["牧户"], ["牧户"], [], ["牧户", "低保户"], ["农户", "低保户"]])
        #expect(read.map(\.members) == [4, nil, nil, 0, nil, nil, nil, nil])
        #expect(read[0].headNameBo == "ཚེ་རིང་།" && read[0].phone == "13900000001" && read[0].location == "29.65,91.13")
        #expect(read[0].notes == "夏季草场在北坡" && read[1].notes == nil && read[5].headNameZh == "")
        #expect(read.allSatisfy { !$0.deleted })
        #expect(try r.household(deleted)?.deleted == true && r.household(deleted)?.tags == ["五保户"])
        #expect(try r.household("no such household") == nil)
        // The same rows as GRDB reads them, by name.
        let byGRDB = try r.database.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Replica.householdColumns) FROM households ORDER BY door_plate").map { row in
                [
                    row["id"], row["grid"], row["door_plate"], row["head_name_zh"], row["head_name_bo"], row["phone"], row["location"],
                    row["tags"], row["notes"],
                ] as [String?]
            }
        }
        let ours = try read.indices.map { i in try r.household(read[i].id)! } + [r.household(deleted)!]
        #expect(byGRDB.map { $0[0] } == ours.map(\.id))
        #expect(byGRDB.map { $0[8] } == ours.map(\.notes))
        #expect(byGRDB.map { $0[2] } == ours.map(\.doorPlate))
    }

    /// Pulls and merges read stored rows from SQLite's column buffers: every storage class comes
    /// back as it is stored, text byte for byte (a decomposed vowel sign stays decomposed; an
    /// embedded NUL, which GRDB's `Row` would cut the text at, is kept), with the row's clocks.
    @Test func storedRowsReadBackEveryStorageClass() throws {
        let folder = TemporaryFolder()
        let r = try makeReplica(folder, "device")
        let id = try r.addHousehold(grid: grid, HouseholdFields(doorPlate: "1", headNameZh: "次仁", members: 4, tags: ["牧户"]))
        let decomposed = "e\u{301}ཀ\u{F7A}"
        try r.database.write { db in
            try db.execute(
                sql: """
                    UPDATE households SET members = 2.5, phone = X'00FF10', notes = 'a' || char(0) || 'b', location = NULL,
                    head_name_bo = ?, door_plate = '' WHERE id = ?
                    """, arguments: [decomposed, id])
        }
        let table = Schema.households
        let (row, clockBlob, missing) = try r.database.read { db in
            (
                try Replica.loadRow(db, table, id: id),
                try Data.fetchOne(db, sql: "SELECT _clock FROM households WHERE id = ?", arguments: [id]),
                try Replica.loadRow(db, table, id: "no such row")
            )
        }
        let stored = try #require(row)
        func value(_ column: String) -> Value { stored.values[table.index(of: column)!] }
        #expect(stored.grid == grid)
        #expect(value("members") == .real(2.5))
        #expect(value("phone") == .blob([0x00, 0xFF, 0x10]))
        #expect(value("notes") == .text("a\u{0}b") && value("notes").text?.utf8.count == 3)
        #expect(value("location") == .null && value("door_plate") == .text(""))
        #expect(value("head_name_zh") == .text("次仁") && value("tags") == .text("牧户"))
        #expect(value("head_name_bo").text.map { Array($0.utf8) } == Array(decomposed.utf8))
        #expect(try stored.clocks == ColumnClocks(blob: #require(clockBlob), count: table.columns.count))
        #expect(missing == nil)
        // Read again with the statement reused: the same row.
        #expect(try r.database.read { db in try Replica.loadRow(db, table, id: id) } == stored)
    }

    /// The merge writes rows by binding each value by its kind: every kind comes back as it was
    /// stored (a real, an empty and a full blob, an empty text, NULL), with its clocks; the change
    /// log gets the row's entry, and a rewrite drops the entries of versions no column holds.
    @Test func storedRowsWriteEveryKindOfValue() throws {
        let folder = TemporaryFolder()
        let r = try makeReplica(folder, "device")
        let table = Schema.conflicts
        let lost: [Value] = [.real(2.5), .blob([]), .blob([0, 1, 255]), .text(""), .integer(-7), .null, .text("ཀ\u{F7A} 次仁")]
        func row(_ value: Value, version: Int64) -> StoredRow {
            var clocks = ColumnClocks(count: table.columns.count)
            for i in clocks.entries.indices {
                clocks.entries[i] = ColumnClock(
                    version: Version(timestamp: HLCTimestamp(rawValue: UInt64(1000 + i)), site: SiteID(rawValue: 9)), base: nil,
                    localVersion: i < 3 ? version : version - 1)
            }
            var values = Array(repeating: Value.null, count: table.columns.count)
            values[table.index(of: "tbl")!] = .text("households")
            values[table.index(of: "lost_value")!] = value
            values[table.index(of: "resolution")!] = .text("")
            return StoredRow(grid: grid, values: values, clocks: clocks)
        }
        try r.write { context in
            for (n, value) in lost.enumerated() {
                try context.storeRow(
                    table, id: "c\(n)", row: row(value, version: Int64(10 + 2 * n)), localVersion: Int64(10 + 2 * n), previous: nil)
            }
        }
        let read = try r.database.read { db in try lost.indices.map { try Replica.loadRow(db, table, id: "c\($0)") } }
        for (n, value) in lost.enumerated() {
            #expect(read[n] == row(value, version: Int64(10 + 2 * n)), "value \(value)")
            #expect(read[n]?.values[table.index(of: "lost_value")!].isIdentical(to: value) == true, "value \(value)")
        }
        // Written again at version 50 over versions 10 and 9: c0's entry goes, 50's comes.
        try r.write { context in
            try context.storeRow(
                table, id: "c0", row: row(.integer(1), version: 50), localVersion: 50, previous: row(.real(2.5), version: 10))
        }
        let logged = try r.database.read { db in try Int64.fetchAll(db, sql: "SELECT lv FROM change_log WHERE row_id = 'c0' ORDER BY lv") }
        #expect(logged == [50])
        // A row that does not have the table's columns is refused, and nothing is written.
        #expect(throws: SyncCoreError.self) {
            try r.write { context in
                try context.storeRow(
                    table, id: "short", row: StoredRow(grid: grid, values: [.null], clocks: ColumnClocks(count: 1)), localVersion: 60,
                    previous: nil)
            }
        }
        #expect(try r.database.read { db in try Replica.loadRow(db, table, id: "short") } == nil)
    }

    /// A device's register is read from its covering index alone (one range of it, not two
    /// joined by OR), and an old device's grid index is replaced by it when the replica opens.
    @Test func registerIsReadFromItsCoveringIndex() throws {
        let folder = TemporaryFolder()
        let path = folder.path("device.sqlite")
        var config = Replica.Configuration()
        config.gridIndexes = true
        try Replica(path: path).database.write { db in try db.execute(sql: "CREATE INDEX households_grid ON households(grid)") }
        let r = try Replica(path: path, configuration: config)
        try r.addHousehold(grid: grid, HouseholdFields(doorPlate: "3号", headNameZh: "卓玛"))
        let plan = try r.database.read { db in
            var sql = "EXPLAIN QUERY PLAN SELECT \(Replica.householdColumns) FROM households WHERE IFNULL(deleted, 0) = 0"
            var arguments: [DatabaseValueConvertible] = []
            Replica.areaCondition("xizang/lhasa", sql: &sql, arguments: &arguments)
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { $0["detail"] as String? ?? "" }
        }
        #expect(plan == ["SEARCH households USING COVERING INDEX households_register (grid>? AND grid<?)"])
        let indexes = try r.database.read { db in
            try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'households' AND sql IS NOT NULL")
        }
        #expect(indexes.sorted() == ["households_lv", "households_register"])
        #expect(try r.households(area: "xizang/lhasa").map(\.headNameZh) == ["卓玛"])
    }

    /// The writing connection keeps as many pages as configured; the reading ones keep SQLite's
    /// default and map the file instead.
    @Test func theWriterKeepsTheConfiguredPageCache() throws {
        let folder = TemporaryFolder()
        var config = Replica.Configuration()
        config.writerCacheBytes = 64 << 20
        config.mappedReadBytes = 1 << 20
        let r = try Replica(path: folder.path("device.sqlite"), configuration: config)
        try r.addHousehold(grid: grid, HouseholdFields(doorPlate: "1号"))
        #expect(try r.database.write { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") } == -65536)
        #expect(try r.database.read { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") } == -2000)
        #expect(try r.database.read { db in try Int.fetchOne(db, sql: "PRAGMA mmap_size") } == 1 << 20)
        let plain = try makeReplica(folder, "plain")
        #expect(try plain.database.write { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") } == -2000)
    }

    /// The last connection to close leaves an empty WAL: the next process has no old frames to
    /// index again and copy into the database again when it closes.
    @Test func closingLeavesAnEmptyWAL() throws {
        let folder = TemporaryFolder()
        let path = folder.path("device.sqlite")
        do {
            let r = try makeReplica(folder, "device")
            for n in 0..<50 { try r.addHousehold(grid: grid, HouseholdFields(doorPlate: "\(n)号")) }
            #expect((try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0) > 0)
        }
        #expect((try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) == 0)
        #expect(try makeReplica(folder, "device").households().count == 50)
    }

    @Test func badInputGetsAClearErrorAndStoresNothing() throws {
        let folder = TemporaryFolder()
        let r = try makeReplica(folder, "device")
        let before = try r.localVersion()
        #expect(throws: SyncCoreError.self) { try r.addHousehold(grid: "Xizang/../g1", HouseholdFields(doorPlate: "1")) }
        #expect(throws: SyncCoreError.self) { try r.addHousehold(grid: grid, HouseholdFields(members: 3)) }
        #expect(throws: SyncCoreError.self) { try r.addHousehold(grid: grid, HouseholdFields(doorPlate: "1\u{0}2")) }
        #expect(throws: SyncCoreError.self) { try r.addHousehold(grid: grid, HouseholdFields(doorPlate: "1", phone: "call me")) }
        #expect(throws: SyncCoreError.self) { try r.reportIssue(IssueReport(grid: grid, kind: .hazard, title: "  ")) }
        #expect(throws: SyncCoreError.self) { try r.reportIssue(IssueReport(grid: grid, kind: .hazard, title: "x", dueDate: "2026-13-01")) }
        #expect(throws: SyncCoreError.notFound(kind: "household", id: "nope")) { try r.editHousehold("nope", HouseholdFields(notes: "x")) }
        #expect(try r.localVersion() == before)
    }

    @Test func lifecycleDerivesStatusAndRefusesMovingBack() throws {
        let folder = TemporaryFolder()
        let r = try makeReplica(folder, "device")
        let id = try r.reportIssue(IssueReport(grid: grid, kind: .hazard, tier: .small, title: "电瓶车入户充电", reporter: "次仁"))
        #expect(try r.issueDetail(id)?.issue.status == .reported)
        try r.appendEvent(issueID: id, kind: .dispatched)
        try r.appendEvent(issueID: id, kind: .accepted)
        try r.appendEvent(issueID: id, kind: .visit, note: "已上门宣传")
        #expect(throws: SyncCoreError.self) { try r.appendEvent(issueID: id, kind: .closed) }
        try r.appendEvent(issueID: id, kind: .resolved, note: "已搬出室外充电")
        #expect(throws: SyncCoreError.self) { try r.appendEvent(issueID: id, kind: .accepted) }
        try r.appendEvent(issueID: id, kind: .followUp, satisfaction: 5)
        try r.appendEvent(issueID: id, kind: .closed)
        #expect(try r.issueDetail(id)?.issue.status == .closed)
        try r.appendEvent(issueID: id, kind: .reopened, note: "又发现入户充电")
        #expect(try r.issueDetail(id)?.issue.status == .reopened)
        try r.appendEvent(issueID: id, kind: .escalated, tier: .medium)
        #expect(throws: SyncCoreError.self) { try r.appendEvent(issueID: id, kind: .escalated, tier: .small) }
        let detail = try #require(try r.issueDetail(id))
        #expect(detail.issue.tier == .medium && detail.issue.reportedTier == .small)
        #expect(
            detail.events.map(\.kind) == [.reported, .dispatched, .accepted, .visit, .resolved, .followUp, .closed, .reopened, .escalated])
        #expect(try r.issues(IssueFilter(tier: .medium)).map(\.id) == [id])
        #expect(try r.issues(IssueFilter(status: .closed)).isEmpty)
    }

    @Test func concurrentEventsAllSurviveAndTierNeverDropsByMerge() throws {
        let folder = TemporaryFolder()
        let worker = try makeReplica(folder, "worker")
        let township = try makeReplica(folder, "township")
        let id = try worker.reportIssue(IssueReport(grid: grid, kind: .dispute, tier: .small, title: "草场使用权纠纷"))
        try sync(worker, township)
        try worker.appendEvent(issueID: id, kind: .escalated, tier: .large)
        try township.appendEvent(issueID: id, kind: .escalated, tier: .medium)
        try township.appendEvent(issueID: id, kind: .visit, note: "乡镇调解")
        try sync(worker, township)
        try sync(township, worker)
        for r in [worker, township] {
            let d = try #require(try r.issueDetail(id))
            #expect(d.issue.tier == .large)
            #expect(d.events.count == 4)
        }
        #expect(try worker.dump() == township.dump())
    }

    /// S2: the worker and the township officer edit the same issue offline; both orders converge and
    /// the overwritten text is a conflict with who and when.
    @Test(arguments: [true, false]) func concurrentEditsConvergeAndKeepTheLoserAsAConflict(workerFirst: Bool) throws {
        let folder = TemporaryFolder()
        let server = try makeReplica(folder, "server", site: 1)
        let worker = try makeReplica(folder, "worker", clock: ManualWallClock(millis: testEpochMillis + 1000), site: 2)
        let officer = try makeReplica(folder, "officer", clock: ManualWallClock(millis: testEpochMillis + 2000), site: 3)
        let id = try worker.reportIssue(IssueReport(grid: grid, kind: .dispute, title: "邻里纠纷", description: "两户因院墙发生争执"))
        try sync(worker, server)
        try sync(server, officer)
        try worker.editIssue(id, IssueFields(description: "已初步调解，约定下周回访"))
        try officer.editIssue(id, IssueFields(description: "乡镇司法所介入"))
        let order = workerFirst ? [worker, officer] : [officer, worker]
        for r in order { try sync(r, server) }
        for r in [worker, officer] { try sync(server, r) }
        try sync(server, worker)
        #expect(try worker.dump() == server.dump())
        #expect(try officer.dump() == server.dump())
        #expect(try server.issueDetail(id)?.issue.description == "乡镇司法所介入")  // later timestamp wins
        let conflicts = try server.conflicts()
        #expect(conflicts.count == 1)
        #expect(conflicts.first?.lostValue == "已初步调解，约定下周回访")
        #expect(conflicts.first?.lostSite == SiteID(rawValue: 2).hex)
        // A knowing overwrite is not a conflict.
        try worker.editIssue(id, IssueFields(description: "同意乡镇意见"))
        try sync(worker, server)
        #expect(try server.conflicts().count == 1)
        try server.resolveConflict(conflicts[0].id, by: "罗布", resolution: "以乡镇意见为准")
        #expect(try server.conflicts().isEmpty)
        #expect(try server.conflicts(includeResolved: true).first?.resolvedBy == "罗布")
    }

    @Test func aDeletedRecordNeverComesBackFromAStaleReplica() throws {
        let folder = TemporaryFolder()
        let a = try makeReplica(folder, "a")
        let stale = try makeReplica(folder, "stale", clock: ManualWallClock(millis: testEpochMillis + 60_000))
        let id = try a.addHousehold(grid: grid, HouseholdFields(doorPlate: "9号"))
        try sync(a, stale)
        try a.deleteHousehold(id)
        try stale.editHousehold(id, HouseholdFields(notes: "later edit on a stale replica"))
        try sync(stale, a)
        try sync(a, stale)
        #expect(try a.household(id)?.deleted == true)
        #expect(try stale.household(id)?.deleted == true)
        #expect(try a.households().isEmpty)
        #expect(throws: SyncCoreError.deleted(kind: "household", id: id)) { try a.editHousehold(id, HouseholdFields(notes: "x")) }
        // A hostile "undelete" with a newer timestamp loses too.
        let undelete = RowChanges(
            table: "households", rowID: id, grid: grid,
            changes: [
                ColumnChange(
                    column: "deleted", value: .integer(0),
                    version: Version(timestamp: HLCTimestamp(millis: testEpochMillis + 100_000, counter: 0), site: SiteID(rawValue: 99)),
                    base: nil)
            ])
        _ = try a.apply(Changeset(rows: [undelete]))
        #expect(try a.household(id)?.deleted == true)
    }

    @Test func outOfScopeAndMalformedChangesAreRefusedWhileTheRestLands() throws {
        let folder = TemporaryFolder()
        let device = try makeReplica(folder, "device")
        let center = try makeReplica(folder, "center")
        try device.addHousehold(grid: "xizang/lhasa/maizhokunggar/zhaxigang/v1/g1", HouseholdFields(doorPlate: "A1"), id: "in")
        try device.addHousehold(grid: "xizang/lhasa/maizhokunggar/zhaxigang/v2/g7", HouseholdFields(doorPlate: "B7"), id: "out")
        var changeset = try device.changes(since: 0).changeset
        let v = Version(timestamp: HLCTimestamp(millis: testEpochMillis, counter: 1), site: SiteID(rawValue: 5))
        changeset.rows.append(
            RowChanges(
                table: "households", rowID: "typed", grid: "xizang/lhasa/maizhokunggar/zhaxigang/v1/g1",
                changes: [
                    ColumnChange(column: "members", value: .text("five"), version: v, base: nil),
                    ColumnChange(column: "no_such_column", value: .text("x"), version: v, base: nil),
                ]))
        changeset.rows.append(
            RowChanges(
                table: "passwords", rowID: "x", grid: "xizang/lhasa/maizhokunggar/zhaxigang/v1/g1",
                changes: [ColumnChange(column: "a", value: .null, version: v, base: nil)]))
        let report = try center.apply(changeset, scopes: [try AreaPath("xizang/lhasa/maizhokunggar/zhaxigang/v1")])
        #expect(Set(report.rejected.map(\.reason.code)) == ["out_of_scope", "type_mismatch", "unknown_column", "unknown_table"])
        #expect(
            report.rejected.filter { $0.rowID == "out" }.allSatisfy {
                $0.reason == .outOfScope(grid: "xizang/lhasa/maizhokunggar/zhaxigang/v2/g7")
            })
        #expect(try center.households().map(\.id) == ["in"])
    }

    /// A server leaves out of a device's pull what that device just pushed, but not what others
    /// wrote to the same rows.
    @Test func aPullSkipsTheVersionsItsOwnPushStored() throws {
        let folder = TemporaryFolder()
        let a = try makeReplica(folder, "a")
        let b = try makeReplica(folder, "b")
        let server = try makeReplica(folder, "server")
        let grid = "xizang/lhasa/maizhokunggar/zhaxigang/v1/g1"
        try a.addHousehold(grid: grid, HouseholdFields(doorPlate: "A1"), id: "shared")
        try a.addHousehold(grid: grid, HouseholdFields(doorPlate: "A2"), id: "only-a")
        _ = try server.apply(try a.changes(since: 0).changeset)
        let start = try server.localVersion()
        // b knows "shared" and edits its notes; a edits its members; both pushes land.
        _ = try b.apply(try a.changes(since: 0).changeset)
        try b.editHousehold("shared", HouseholdFields(notes: "牧户"))
        try a.editHousehold("shared", HouseholdFields(members: 4))
        try a.editHousehold("only-a", HouseholdFields(members: 2))
        let fromB = try server.apply(try b.changes(since: try b.localVersion() - 1).changeset)
        let fromA = try server.apply(try a.changes(since: 2).changeset)
        #expect(fromA.storedVersions.count == 2 && fromB.storedVersions.count == 1)
        let pull = try server.changes(since: start, scopes: [try AreaPath(grid)], skipping: Set(fromA.storedVersions))
        // "only-a" holds nothing new but a's own edit; "shared" comes, for b's notes.
        #expect(pull.changeset.rows.map(\.rowID) == ["shared"])
        #expect(pull.changeset.rows[0].changes.contains { $0.column == "notes" })
        #expect(pull.cursor == (try server.localVersion()))
        let all = try server.changes(since: start, scopes: [try AreaPath(grid)])
        #expect(Set(all.changeset.rows.map(\.rowID)) == ["shared", "only-a"])
    }

    @Test func changesComeInBoundedBatchesAndRespectScopes() throws {
        let folder = TemporaryFolder()
        let r = try makeReplica(folder, "r")
        for n in 0..<50 {
            try r.addHousehold(grid: "xizang/a/g\(n % 2)", HouseholdFields(doorPlate: "\(n)", headNameZh: "多吉"), id: "h\(n)")
        }
        var cursor: Int64 = 0
        var rows: [String] = []
        while true {
            let batch = try r.changes(since: cursor, maxChanges: 7)
            #expect(batch.changeset.changeCount <= 7)
            rows += batch.changeset.rows.map(\.rowID)
            cursor = batch.cursor
            if !batch.hasMore { break }
        }
        #expect(rows.count == 50 && Set(rows).count == 50)
        let scoped = try r.changes(since: 0, maxChanges: 10_000, scopes: [try AreaPath("xizang/a/g1")])
        #expect(scoped.changeset.rows.count == 25 && scoped.changeset.rows.allSatisfy { $0.grid == "xizang/a/g1" })
        // Only what changed since the cursor is sent: one edited column.
        try r.editHousehold("h3", HouseholdFields(headNameZh: "顿珠"))
        let delta = try r.changes(since: cursor)
        #expect(delta.changeset.rows.count == 1 && delta.changeset.changeCount == 1)
        #expect(delta.changeset.rows[0].changes[0].base != nil)
    }

    @Test func aScopedPullChoosesItsPlanAndEitherPlanReturnsTheSameBatches() throws {
        let folder = TemporaryFolder()
        let r = try makeReplica(folder, "r")
        // 322 rows: every 16th in g2, three of them in g3, the rest in g1; two in xizang/b/g9.
        for n in 0..<322 {
            let grid = n >= 320 ? "xizang/b/g9" : n % 16 == 0 ? (n < 48 ? "xizang/a/g3" : "xizang/a/g2") : "xizang/a/g1"
            try r.addHousehold(grid: grid, HouseholdFields(doorPlate: "\(n)", headNameZh: "多吉"), id: "h\(n)")
        }
        let latest = try r.localVersion()
        func plan(_ scope: String, since: Int64 = 0) throws -> Replica.PullPlan {
            let filter = Replica.ScopeFilter([try AreaPath(scope)])
            return try r.read { db in try Replica.pullPlan(db, since: since, latest: latest, maxChanges: 7, filter: filter) }
        }
        // Grids: the index finds their entries past the cursor directly.
        #expect(try plan("xizang/a/g1") == .walk)  // most entries are in scope: walking finds a batch at once
        #expect(try plan("xizang/a/g2") == .index)  // past the counting bound, but a sixteenth of the log
        #expect(try plan("xizang/a/g3") == .index)  // counted: fewer than a batch
        #expect(try plan("xizang/a/g1", since: latest - 5) == .index)  // fewer entries left than a batch
        // Areas with grids below: the index reads all their entries, whatever the cursor.
        #expect(try plan("xizang/a") == .walk)
        #expect(try plan("xizang/a", since: latest - 5) == .walk)  // walking reads only the last five
        #expect(try plan("xizang/b") == .index)  // a small share of the log
        // Both plans bring the same batches: every row in scope once, and nothing else.
        func batches(_ scope: String, _ plan: Replica.PullPlan) throws -> [[String]] {
            var cursor: Int64 = 0
            var all: [[String]] = []
            while true {
                let batch = try r.changes(
                    since: cursor, maxChanges: 7, maxBytes: 4 << 20, scopes: [try AreaPath(scope)], skipping: [], plan: plan)
                #expect(batch.changeset.changeCount <= 7 && batch.changeset.rows.allSatisfy { $0.grid.hasPrefix(scope) })
                all.append(batch.changeset.rows.map(\.rowID) + ["cursor \(batch.cursor)"])
                cursor = batch.cursor
                if !batch.hasMore { break }
            }
            #expect(cursor == latest)
            return all
        }
        for (scope, count) in [("xizang/a/g1", 300), ("xizang/a/g2", 17), ("xizang/a/g3", 3), ("xizang/a", 320), ("xizang/b", 2)] {
            let walked = try batches(scope, .walk)
            #expect(try batches(scope, .index) == walked)
            let rows = walked.flatMap { $0.dropLast() }
            #expect(rows.count == count && Set(rows).count == count)
            let chosen = try r.changes(since: 0, maxChanges: 7, scopes: [try AreaPath(scope)])
            #expect(chosen.changeset.rows.map(\.rowID) + ["cursor \(chosen.cursor)"] == walked[0])
        }
    }

    @Test func searchFindsChineseSubstringsAndTibetanSyllables() throws {
        let folder = TemporaryFolder()
        let r = try makeReplica(folder, "r")
        let voc = Vocabulary.shared
        for (n, name) in voc.names.enumerated() {
            try r.addHousehold(grid: grid, HouseholdFields(doorPlate: "\(n + 1)号", headNameZh: name.zh, headNameBo: name.bo), id: "h\(n)")
        }
        let hazard = try r.reportIssue(IssueReport(grid: grid, kind: .hazard, title: "消防隐患：配电室线路老化", description: "མེ་སྐྱོན་ཉེན་ཁ། 需尽快整改"))
        let dispute = try r.reportIssue(IssueReport(grid: grid, kind: .dispute, title: "草场使用权纠纷", description: "ཞིང་ཁའི་རྩོད་གཞི།"))
        #expect(try r.search("扎西").map(\.id) == ["h0"])
        #expect(try r.search("配电室").map(\.id) == [hazard])
        #expect(try r.search("线路老").map(\.id) == [hazard])  // a substring across word boundaries
        #expect(try r.search("路").map(\.id) == [hazard])  // a single character
        #expect(try r.search("纠纷").map(\.id) == [dispute])
        #expect(try r.search("རྩོད་གཞི").map(\.id) == [dispute])  // Tibetan syllables, without the shad
        #expect(try r.search("ཉེན་ཁ།").map(\.id) == [hazard])
        #expect(try r.search("བཀྲ་ཤིས").map(\.id) == ["h0"])
        #expect(try r.search("草原").isEmpty)
        #expect(try r.search("").isEmpty)
        #expect(try r.search("\"*( OR").isEmpty)  // query syntax characters are only text
        // Edits and deletes reach the index.
        try r.editIssue(dispute, IssueFields(title: "邻里纠纷"))
        #expect(try r.search("草场").isEmpty)
        try r.deleteHousehold("h0")
        #expect(try r.search("扎西").isEmpty)
    }
}

@Suite struct ReplicaMetadataTests {
    @Test func gridsOfTheAreaTreeReplicate() throws {
        let folder = TemporaryFolder()
        let a = try makeReplica(folder, "a")
        let b = try makeReplica(folder, "b")
        try a.putGrid("xizang/lhasa/maizhokunggar/zhaxigang/v3/g2", nameZh: "扎西岗乡3村2网格", nameBo: "བཀྲ་ཤིས་སྒང་།")
        try a.putGrid("xizang/shigatse/gyirong/v1/g1", nameZh: "吉隆1网格", nameBo: nil)
        try sync(a, b)
        #expect(try b.areas(under: "xizang/lhasa").map(\.path) == ["xizang/lhasa/maizhokunggar/zhaxigang/v3/g2"])
        #expect(try b.areas().count == 2)
        #expect(throws: SyncCoreError.self) { try a.putGrid("Bad Path", nameZh: "x", nameBo: nil) }
    }

    @Test func peerCursorsOnlyMoveForwardAndCountWhatWaits() throws {
        let folder = TemporaryFolder()
        let r = try makeReplica(folder, "r")
        for n in 0..<5 { try r.addHousehold(grid: "xizang/a/g1", HouseholdFields(doorPlate: "\(n)")) }
        #expect(try r.peerCursor("https://server").acknowledged == 0)
        #expect(try r.pendingRowCount(after: 0) == 5)
        try r.recordPeerCursor(
            PeerCursor(peer: "https://server", acknowledged: 3, pulled: 40, lastSyncMillis: testEpochMillis, clockOffsetMillis: -1200))
        try r.recordPeerCursor(PeerCursor(peer: "https://server", acknowledged: 2, pulled: 10, lastSyncMillis: nil, clockOffsetMillis: nil))
        let cursor = try r.peerCursor("https://server")
        #expect(
            cursor.acknowledged == 3 && cursor.pulled == 40 && cursor.clockOffsetMillis == -1200 && cursor.lastSyncMillis == testEpochMillis
        )
        #expect(try r.pendingRowCount(after: cursor.acknowledged) == 2)
    }
}

@Suite struct SchemaTests {
    /// The shipped migration and the `Schema` the code reads and writes must name the same columns.
    @Test func migrationMatchesSchema() throws {
        let folder = TemporaryFolder()
        let r = try makeReplica(folder, "r")
        for table in Schema.all {
            let columns = try r.read { db in try db.columns(in: table.name).map(\.name) }
            #expect(Array(columns.filter { !$0.hasPrefix("_") && $0 != "id" && $0 != "grid" }) == table.columns, "\(table.name)")
        }
    }

    @Test func hostileValuesAreRefusedByDomainRules() throws {
        let folder = TemporaryFolder()
        let r = try makeReplica(folder, "r")
        let v = Version(timestamp: HLCTimestamp(millis: testEpochMillis, counter: 1), site: SiteID(rawValue: 7))
        func change(_ table: String, _ column: String, _ value: Value) -> RowChanges {
            RowChanges(
                table: table, rowID: "x-\(column)", grid: "xizang/a/g1",
                changes: [ColumnChange(column: column, value: value, version: v, base: nil)])
        }
        let report = try r.apply(
            Changeset(rows: [
                change("households", "deleted", .integer(2)), change("issues", "tier", .text("huge")),
                change("issue_events", "kind", .text("teleported")), change("issue_events", "satisfaction", .integer(9)),
                change("photo_refs", "sha256", .text("not-a-hash")), change("issues", "due_date", .text("tomorrow")),
                change("households", "notes", .text("fine")),
            ]))
        #expect(report.rejected.count == 6 && report.rejected.allSatisfy { $0.reason.code == "invalid" })
        #expect(report.applied == 1)
    }

    /// Status only moves back through an explicit reopen: a step behind the status, stamped later on
    /// a device that had not seen the resolution, does not undo it when they merge.
    @Test func aLaterStampedStepBackDoesNotMoveTheStatusBackButAReopenDoes() throws {
        let folder = TemporaryFolder()
        let handler = try makeReplica(folder, "handler", clock: ManualWallClock(millis: testEpochMillis))
        let worker = try makeReplica(folder, "worker", clock: ManualWallClock(millis: testEpochMillis + 60_000))
        let id = try handler.reportIssue(IssueReport(grid: "xizang/a/g1", kind: .hazard, title: "电瓶车入户充电"))
        try handler.appendEvent(issueID: id, kind: .dispatched)
        try sync(handler, worker)
        try handler.appendEvent(issueID: id, kind: .resolved)
        try worker.appendEvent(issueID: id, kind: .accepted)  // a minute later, without the resolution
        #expect(try worker.issueDetail(id)?.issue.status == .accepted)
        try sync(handler, worker)
        try sync(worker, handler)
        #expect(try handler.issueDetail(id)?.issue.status == .resolved)
        #expect(try worker.issueDetail(id)?.issue.status == .resolved)
        // Moving back takes a reopen, which then holds everywhere.
        try worker.appendEvent(issueID: id, kind: .reopened)
        try sync(worker, handler)
        #expect(try handler.issueDetail(id)?.issue.status == .reopened)
    }

    /// A de-escalation made without seeing a concurrent escalation does not undo it.
    @Test func aConcurrentEscalationBeatsADeescalationThatDidNotSeeIt() throws {
        let folder = TemporaryFolder()
        let county = try makeReplica(folder, "county", clock: ManualWallClock(millis: testEpochMillis))
        let township = try makeReplica(folder, "township", clock: ManualWallClock(millis: testEpochMillis + 60_000))
        let id = try county.reportIssue(IssueReport(grid: "xizang/a/g1", kind: .dispute, tier: .medium, title: "草场纠纷"))
        try sync(county, township)
        try county.appendEvent(issueID: id, kind: .escalated, tier: .large)
        try township.appendEvent(issueID: id, kind: .deescalated, tier: .small)  // later, but from medium
        try sync(county, township)
        try sync(township, county)
        #expect(try county.issueDetail(id)?.issue.tier == .large)
        #expect(try township.issueDetail(id)?.issue.tier == .large)
        // A de-escalation that saw the escalation does lower it.
        try township.appendEvent(issueID: id, kind: .deescalated, tier: .medium)
        try sync(township, county)
        #expect(try county.issueDetail(id)?.issue.tier == .medium)
    }
}
