import Foundation
import Testing

@testable import SyncCore

/// Day numbers, checked against Foundation's Gregorian calendar in UTC.
@Suite struct CalendarDateTests {
    @Test func dayNumbersAgreeWithFoundationsCalendar() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        for n in stride(from: 0, through: 2_932_896, by: 97) + [0, 58, 59, 60, 365, 11_016, 11_017, 2_932_896] {
            let text = CalendarDate.text(dayNumber: n)
            #expect(CalendarDate.dayNumber(text) == n, "\(n) \(text)")
            let c = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(n) * 86_400))
            #expect(text == String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!), "\(n)")
        }
        #expect(CalendarDate.text(dayNumber: 11_016) == "2000-02-29" && CalendarDate.dayNumber("9999-12-31") == 2_932_896)
        for bad in ["2026-02-29", "1900-02-29", "1969-12-31", "2026-13-01", "2026-1-01", "２０２６-01-01", "2026-01-00", "2026/01/01", ""] {
            #expect(CalendarDate.dayNumber(bad) == nil, "\(bad)")
        }
    }
}

/// The rules of the data (`Schema`, `ColumnRule`, `WritePolicy`), checked by the merge on every
/// replica as the local API checks them, and the identity rules a server applies to a device.
@Suite struct DataRulesTests {
    static let gridA = "xizang/lhasa/a/g1"
    static let gridB = "xizang/lhasa/b/g2"
    static let hostile = SiteID(rawValue: 0xbad)

    /// A change stamped `millisAhead` after the test epoch by `site`.
    static func version(_ counter: UInt64 = 1, site: SiteID = hostile, millisAhead: UInt64 = 0) -> Version {
        Version(timestamp: HLCTimestamp(millis: testEpochMillis + millisAhead, counter: counter), site: site)
    }

    /// A whole event row as a hostile device would write it.
    static func event(
        _ id: String, issue: String, grid: String, kind: String = "closed", at: HLCTimestamp? = nil, version v: Version = version(),
        actor: String? = nil
    ) -> RowChanges {
        var changes = [
            ColumnChange(column: "issue_id", value: .text(issue), version: v, base: nil),
            ColumnChange(column: "kind", value: .text(kind), version: v, base: nil),
            ColumnChange(column: "at", value: .integer(Int64(bitPattern: (at ?? v.timestamp).rawValue)), version: v, base: nil),
        ]
        if let actor { changes.append(ColumnChange(column: "actor", value: .text(actor), version: v, base: nil)) }
        return RowChanges(table: "issue_events", rowID: id, grid: grid, changes: changes)
    }

    static func row(_ table: String, _ id: String, grid: String = gridA, _ values: [(String, Value)], version v: Version = version())
        -> RowChanges
    {
        RowChanges(
            table: table, rowID: id, grid: grid, changes: values.map { ColumnChange(column: $0.0, value: $0.1, version: v, base: nil) })
    }

    @Test func referencesIntoAnotherGridAreRefusedAndNeverFoldedIn() throws {
        let folder = TemporaryFolder()
        let server = try makeReplica(folder, "server")
        let issueB = try server.reportIssue(IssueReport(grid: Self.gridB, kind: .dispute, title: "草场使用权纠纷"))
        let householdB = try server.addHousehold(grid: Self.gridB, HouseholdFields(doorPlate: "3村12号"))
        let issueA = try server.reportIssue(IssueReport(grid: Self.gridA, kind: .hazard, title: "电瓶车入户充电"))
        let report = try server.apply(
            Changeset(rows: [
                Self.event("e-close", issue: issueB, grid: Self.gridA),
                Self.event("e-up", issue: issueB, grid: Self.gridA, kind: "escalated"),
                Self.row("photo_refs", "p1", [("owner_table", .text("issues")), ("owner_id", .text(issueB))]),
                Self.row("issues", "i1", [("kind", .text("other")), ("title", .text("x")), ("household_id", .text(householdB))]),
                Self.row("issues", issueA, [("household_id", .text(householdB))]),
                Self.row(
                    "conflicts", "c1",
                    [("tbl", .text("issues")), ("row_id", .text(issueB)), ("col", .text("title")), ("lost_hlc", .integer(5))]),
            ]))
        #expect(report.applied == 4, "the other columns of mergeable rows still land: \(report.rejected)")
        #expect(report.rejected.map(\.reason.code) == Array(repeating: "cross_grid", count: 12), "\(report.rejected)")
        // An event is refused whole; of the other rows the reference and the column naming its table.
        #expect(
            report.rejected.filter { $0.table != "issue_events" }.map(\.column) == [
                "household_id", "household_id", "owner_table", "owner_id", "tbl", "row_id",
            ])
        #expect(try server.issueDetail(issueB)?.issue.status == .reported)

        // Re-aiming a reference by changing the table it names is checked as well: a household of
        // grid A given the id of grid B's issue, then the photo's owner table switched to issues.
        let v2 = Self.version(20)
        #expect(
            try server.apply(
                Changeset(rows: [
                    Self.row("households", issueB, [("door_plate", .text("同名"))], version: v2),
                    Self.row("photo_refs", "p2", [("owner_table", .text("households")), ("owner_id", .text(issueB))], version: v2),
                ])
            ).rejected.isEmpty)
        let reaimed = try server.apply(
            Changeset(rows: [Self.row("photo_refs", "p2", [("owner_table", .text("issues"))], version: Self.version(21))]))
        #expect(reaimed.rejected.map(\.reason.code) == ["cross_grid"])

        // An event naming an issue not known yet is kept, but never counts for an issue of another grid.
        let early = try makeReplica(folder, "early")
        #expect(try early.apply(Changeset(rows: [Self.event("e-early", issue: issueB, grid: Self.gridA)])).rejected.isEmpty)
        try sync(server, early)
        #expect(try early.issueDetail(issueB)?.issue.status == .reported)
        #expect(try early.issueDetail(issueB)?.events.map(\.kind) == [.reported])
        #expect(try early.countyReport(fromMillis: 0, toMillis: UInt64.max >> 2, today: "2026-12-01").total.closed == 0)
    }

    @Test func anEventIsWrittenOnceAtItsOwnTime() throws {
        let folder = TemporaryFolder()
        let r = try makeReplica(folder, "r")
        let issue = try r.reportIssue(IssueReport(grid: Self.gridA, kind: .hazard, title: "消防隐患"))
        let v = Self.version(3)
        #expect(try r.apply(Changeset(rows: [Self.event("e1", issue: issue, grid: Self.gridA, kind: "visit", version: v)])).applied == 3)
        // The same row again changes nothing; a different write of it is refused and reported.
        let again = try r.apply(Changeset(rows: [Self.event("e1", issue: issue, grid: Self.gridA, kind: "visit", version: v)]))
        #expect(again.rejected.isEmpty && again.applied == 0 && again.unchanged == 3)
        let rewrite = try r.apply(
            Changeset(rows: [Self.event("e1", issue: issue, grid: Self.gridA, kind: "closed", version: Self.version(9))]))
        #expect(rewrite.rejected.count == 3 && rewrite.rejected.allSatisfy { $0.reason.code == "written_once" })
        let added = try r.apply(Changeset(rows: [Self.row("issue_events", "e1", [("note", .text("later"))], version: Self.version(10))]))
        #expect(added.rejected.map(\.reason.code) == ["written_once"])
        #expect(try r.issueDetail(issue)?.events.map(\.kind) == [.reported, .visit])

        // `at` is the timestamp the event was written with: a closing "ten years ahead" is refused.
        let tenYears = HLCTimestamp(millis: testEpochMillis + 10 * 365 * 86_400_000, counter: 0)
        let future = try r.apply(
            Changeset(rows: [Self.event("e2", issue: issue, grid: Self.gridA, at: tenYears, version: Self.version(11))]))
        #expect(future.rejected.map(\.reason.code).contains("invalid") && future.applied == 0, "\(future.rejected)")
        // Parts of one event with different versions, or an event missing its kind, are refused.
        var split = Self.event("e3", issue: issue, grid: Self.gridA, kind: "visit", version: Self.version(12))
        split.changes[1].version = Self.version(13)
        #expect(try r.apply(Changeset(rows: [split])).rejected.allSatisfy { $0.reason.code == "written_once" })
        var partial = Self.event("e4", issue: issue, grid: Self.gridA, kind: "visit", version: Self.version(14))
        partial.changes.remove(at: 1)
        #expect(try r.apply(Changeset(rows: [partial])).rejected.first?.reason.description.contains("needs kind") == true)
        try r.appendEvent(issueID: issue, kind: .accepted)
        try r.appendEvent(issueID: issue, kind: .resolved)
        try r.appendEvent(issueID: issue, kind: .reopened)
        #expect(try r.issueDetail(issue)?.issue.status == .reopened)
    }

    @Test func valuesTheAPIRefusesTheMergeRefusesToo() throws {
        let folder = TemporaryFolder()
        let r = try makeReplica(folder, "r")
        let longNote = String(repeating: "a", count: Limits.longText + 1)
        let cases: [(String, String, Value)] = [
            ("households", "notes", .text(longNote)), ("households", "door_plate", .text(String(repeating: "号", count: 30))),
            ("households", "head_name_zh", .text("次仁\u{1}")), ("households", "phone", .text("call me")),
            ("households", "tags", .text("独居,,低保")), ("households", "tags", .text("牧户,牧户")),
            ("issues", "title", .text("line\nbreak")), ("issues", "due_date", .text("2026-02-30")),
            ("issues", "due_date", .text("2026-04-31")), ("issues", "due_date", .text("2025-02-29")),
            ("issues", "handler", .text(String(repeating: "x", count: 257))), ("photo_refs", "caption", .text("\u{7F}")),
            ("conflicts", "lost_site", .text("zz")), ("grids", "name_zh", .text(String(repeating: "名", count: 100))),
        ]
        for (i, c) in cases.enumerated() {
            let report = try r.apply(Changeset(rows: [Self.row(c.0, "row-\(i)", [(c.1, c.2)])]))
            #expect(report.rejected.map(\.reason.code) == ["invalid"], "\(c.0).\(c.1) = \(c.2)")
        }
        let fine = try r.apply(
            Changeset(rows: [
                Self.row("households", "ok", [("notes", .text("第一行\n第二行\t")), ("tags", .text("独居,低保")), ("phone", .text("+86 891-1234"))])
            ]))
        #expect(fine.rejected.isEmpty && fine.applied == 3)
        // The local API refuses the same values, with the field named.
        #expect(throws: SyncCoreError.self) { try r.addHousehold(grid: Self.gridA, HouseholdFields(doorPlate: "1", notes: longNote)) }
        #expect(throws: SyncCoreError.self) {
            try r.reportIssue(IssueReport(grid: Self.gridA, kind: .other, title: "x", dueDate: "2026-02-30"))
        }
        #expect(throws: SyncCoreError.self) {
            try r.reportIssue(IssueReport(grid: Self.gridA, kind: .other, title: "x", dueDate: "2026-04-31"))
        }
        _ = try r.reportIssue(IssueReport(grid: Self.gridA, kind: .other, title: "x", dueDate: "2028-02-29"))
    }

    @Test func aServerBindsEachChangeToTheDeviceThatSentIt() throws {
        let folder = TemporaryFolder()
        let server = try makeReplica(folder, "server")
        let issue = try server.reportIssue(IssueReport(grid: Self.gridA, kind: .dispute, tier: .medium, title: "邻里纠纷"))
        let own = SiteID(rawValue: 0x1234)
        let worker = Sender(scopes: [try AreaPath(Self.gridA)], site: own, role: .worker, author: .named("扎西"))
        let v = Self.version(site: own)
        let report = try server.apply(
            Changeset(rows: [
                Self.event("forged-site", issue: issue, grid: Self.gridA, kind: "visit", actor: "扎西"),
                Self.event(
                    "forged-author", issue: issue, grid: Self.gridA, kind: "visit", version: Self.version(2, site: own), actor: "卓玛"),
                Self.event(
                    "dispatch", issue: issue, grid: Self.gridA, kind: "dispatched", version: Self.version(3, site: own), actor: "扎西"),
                Self.event(
                    "close-medium", issue: issue, grid: Self.gridA, kind: "closed", version: Self.version(4, site: own), actor: "扎西"),
                Self.row("grids", Self.gridA, [("name_zh", .text("假名"))], version: v),
                Self.row("issues", "i2", [("kind", .text("other")), ("title", .text("x")), ("reporter", .text("卓玛"))], version: v),
                Self.event("visit", issue: issue, grid: Self.gridA, kind: "visit", version: Self.version(5, site: own), actor: "扎西"),
            ]), from: worker)
        let codes = Dictionary(grouping: report.rejected, by: \.rowID).mapValues { Set($0.map(\.reason.code)) }
        #expect(codes["forged-site"] == ["forged_site"])
        #expect(codes["forged-author"] == ["forged_author"])
        #expect(codes["dispatch"] == ["not_permitted"])
        #expect(codes["close-medium"] == ["not_permitted"])
        #expect(codes[Self.gridA] == ["not_permitted"])
        #expect(codes["i2"] == ["forged_author"])
        #expect(codes["visit"] == nil && report.applied == 4 + 2, "\(report.rejected)")
        #expect(try server.issueDetail(issue)?.issue.status == .reported)

        // A township may close a medium issue; an operator's device writes nothing.
        let township = Sender(scopes: [try AreaPath("xizang/lhasa/a")], site: own, role: .township, author: .named("村干部"))
        let close = Self.event("close", issue: issue, grid: Self.gridA, kind: "closed", version: Self.version(6, site: own), actor: "村干部")
        #expect(try server.apply(Changeset(rows: [close]), from: township).rejected.isEmpty)
        #expect(try server.issueDetail(issue)?.issue.status == .closed)
        let op = Sender(scopes: [try AreaPath("xizang")], site: own, role: .operator, author: .named("运维"))
        let household = Self.row("households", "h", [("door_plate", .text("1号"))], version: Self.version(7, site: own))
        #expect(try server.apply(Changeset(rows: [household]), from: op).rejected.map(\.reason.code) == ["not_permitted"])
    }

    /// Document version 4: the requester and channel of an issue, the assignee of a dispatch and
    /// the `published` step, checked by the local API and the merge alike.
    @Test func theOrderLoopsColumnsFollowTheirRules() throws {
        let folder = TemporaryFolder()
        let replica = try makeReplica(folder, "device")
        let issue = try replica.reportIssue(
            IssueReport(grid: Self.gridA, kind: .request, title: "冬季饮水管冻裂", requester: "格桑", channel: .walkIn))
        try replica.appendEvent(issueID: issue, kind: .dispatched, actor: "次仁", assignee: "扎西")
        var detail = try #require(try replica.issueDetail(issue))
        #expect(detail.issue.requester == "格桑" && detail.issue.channel == .walkIn)
        #expect(detail.events.last?.kind == .dispatched && detail.events.last?.assignee == "扎西")
        #expect(throws: SyncCoreError.self) { try replica.appendEvent(issueID: issue, kind: .accepted, assignee: "扎西") }
        // Published only once closed, and it leaves the status where it is.
        #expect(throws: SyncCoreError.self) { try replica.appendEvent(issueID: issue, kind: .published) }
        for kind in [IssueEventKind.accepted, .resolved] { try replica.appendEvent(issueID: issue, kind: kind) }
        try replica.appendEvent(issueID: issue, kind: .followUp, satisfaction: 5)
        try replica.appendEvent(issueID: issue, kind: .closed)
        try replica.appendEvent(issueID: issue, kind: .published)
        detail = try #require(try replica.issueDetail(issue))
        #expect(detail.issue.status == .closed && detail.events.last?.kind == .published)
        // The merge refuses what the API refuses.
        let report = try replica.apply(
            Changeset(rows: [
                Self.row("issues", issue, [("channel", .text("telepathy"))], version: Self.version(millisAhead: 10)),
                Self.row(
                    "issues", issue, [("requester", .text(String(repeating: "名", count: 200)))], version: Self.version(millisAhead: 11)),
                Self.row("issues", issue, [("channel", .text("hotline"))], version: Self.version(millisAhead: 12)),
            ]))
        #expect(report.rejected.map(\.reason.code) == ["invalid", "invalid"], "\(report.rejected)")
        #expect(try replica.issueDetail(issue)?.issue.channel == .hotline)
        #expect(WritePolicy.refusal(role: .worker, event: .published, issueTier: .small) != nil)
        #expect(WritePolicy.refusal(role: .village, event: .published, issueTier: .small) == nil)
    }

    @Test func writePolicyFollowsTheOrderLoop() {
        #expect(WritePolicy.refusal(role: .worker, event: .closed, issueTier: .small) == nil)
        #expect(WritePolicy.refusal(role: .worker, event: .closed, issueTier: .medium) != nil)
        #expect(WritePolicy.refusal(role: .worker, event: .reopened, issueTier: .small) != nil)
        #expect(WritePolicy.refusal(role: .worker, event: .deescalated, issueTier: .medium) != nil)
        #expect(WritePolicy.refusal(role: .village, event: .dispatched, issueTier: .small) == nil)
        #expect(WritePolicy.refusal(role: .village, event: .closed, issueTier: .medium) != nil)
        #expect(WritePolicy.refusal(role: .township, event: .closed, issueTier: .large) != nil)
        #expect(WritePolicy.refusal(role: .township, event: .deescalated, issueTier: .medium) == nil)
        #expect(WritePolicy.refusal(role: .county, event: .closed, issueTier: .large) == nil)
        #expect(IssueEventKind.allCases.allSatisfy { WritePolicy.refusal(role: .operator, event: $0, issueTier: .small) != nil })
        #expect(WritePolicy.refusal(role: .county, table: "grids") != nil)
        #expect(WritePolicy.refusal(role: .worker, table: "households") == nil)
    }

    /// The order loop on the server: a worker's device that bypasses its tool can neither accept an
    /// issue dispatched to someone else nor reassign an issue to itself; what dispatchers do, and
    /// a worker naming a handler on an issue it reports, still lands.
    @Test func aWorkerNeitherAcceptsAnothersOrderNorReassignsOne() throws {
        let folder = TemporaryFolder()
        let server = try makeReplica(folder, "server")
        let village = try makeReplica(folder, "village", site: 0x1111)
        let tashi = try makeReplica(folder, "tashi", site: 0x2222)
        let drolma = try makeReplica(folder, "drolma", site: 0x3333)
        let scope = [try AreaPath(Self.gridA)]
        func push(_ from: Replica, _ sender: Sender, since: Int64) throws -> ApplyReport {
            let batch = try from.changes(since: since, maxChanges: 1000)
            let own = batch.changeset.rows.compactMap { row -> RowChanges? in
                let mine = row.changes.filter { from.isOwn($0.version) }
                return mine.isEmpty ? nil : RowChanges(table: row.table, rowID: row.rowID, grid: row.grid, changes: mine)
            }
            return try server.apply(Changeset(rows: own), from: sender)
        }
        let officer = Sender(scopes: scope, site: village.site, role: .village, author: .named("次仁"))
        let asTashi = Sender(scopes: scope, site: tashi.site, role: .worker, author: .named("扎西"))
        let asDrolma = Sender(scopes: scope, site: drolma.site, role: .worker, author: .named("卓玛"))

        let issue = try village.reportIssue(IssueReport(grid: Self.gridA, kind: .dispute, title: "草场使用权纠纷", reporter: "次仁"))
        try village.editIssue(issue, IssueFields(handler: "卓玛"))
        _ = try village.appendEvent(issueID: issue, kind: .dispatched, actor: "次仁", assignee: "卓玛")
        #expect(try push(village, officer, since: 0).rejected.isEmpty)
        try sync(server, tashi)
        try sync(server, drolma)

        // 扎西 accepts 卓玛's order, and makes himself its handler: both refused, by role.
        let mark = try tashi.localVersion()
        _ = try tashi.appendEvent(issueID: issue, kind: .accepted, actor: "扎西")
        let accept = try push(tashi, asTashi, since: mark)
        #expect(!accept.rejected.isEmpty && accept.rejected.allSatisfy { $0.reason.code == "not_permitted" }, "\(accept.rejected)")
        let mark2 = try tashi.localVersion()
        try tashi.editIssue(issue, IssueFields(description: "双方同意调解", handler: "扎西"))
        let reassign = try push(tashi, asTashi, since: mark2)
        #expect(reassign.rejected.map(\.column) == ["handler"] && reassign.rejected.first?.reason.code == "not_permitted")
        #expect(reassign.applied == 1, "the description lands")
        #expect(try server.issueDetail(issue)?.issue.handler == "卓玛")
        #expect(try server.issueDetail(issue)?.issue.status == .dispatched)

        // 卓玛 accepts her order; 扎西 reports an issue he handles himself.
        let mark3 = try drolma.localVersion()
        _ = try drolma.appendEvent(issueID: issue, kind: .accepted, actor: "卓玛")
        #expect(try push(drolma, asDrolma, since: mark3).rejected.isEmpty)
        #expect(try server.issueDetail(issue)?.issue.status == .accepted)
        let mark4 = try tashi.localVersion()
        let own = try tashi.reportIssue(IssueReport(grid: Self.gridA, kind: .hazard, title: "电瓶车入户充电", reporter: "扎西", handler: "扎西"))
        _ = try tashi.appendEvent(issueID: own, kind: .accepted, actor: "扎西")
        #expect(try push(tashi, asTashi, since: mark4).rejected.isEmpty)
        #expect(try server.issueDetail(own)?.issue.status == .accepted)
        // The village moves his issue to 卓玛; his device sends its old writes again (a retry, a
        // copy restored): they lose to the newer handler as before, and nothing is refused.
        try sync(server, village)
        let mark5 = try village.localVersion()
        try village.editIssue(own, IssueFields(handler: "卓玛"))
        #expect(try push(village, officer, since: mark5).rejected.isEmpty)
        #expect(try push(tashi, asTashi, since: mark4).rejected.isEmpty)
        #expect(try server.issueDetail(own)?.issue.handler == "卓玛")
    }

    @Test func oneStringReferencedManyTimesCannotFloodAReceiver() throws {
        // 2,000 rows all naming one 32 KiB text: a few KB on the wire, 64 MB of values once stored.
        let big = String(repeating: "草", count: 10_000)
        let v = Self.version()
        let rows = (0..<2000).map {
            RowChanges(
                table: "households", rowID: "h\($0)", grid: Self.gridA,
                changes: [ColumnChange(column: "notes", value: .text(big), version: v, base: nil)])
        }
        let bytes = ChangesetEncoding.encodeCompressedRegardless(Changeset(rows: rows))
        #expect(bytes.count < 64 << 10)
        #expect(throws: ChangesetDecodingError.self) { try ChangesetEncoding.decode(bytes) }

        // A device with four 32 KiB notes of one letter: the encoder keeps within the bound.
        func oneLetterNotes(_ count: Int) -> Changeset {
            Changeset(
                rows: (0..<count).map {
                    Self.row("households", "n\($0)", [("notes", .text(String(repeating: "a", count: Limits.longText)))], version: v)
                })
        }
        let encoded = ChangesetEncoding.encode(oneLetterNotes(4))
        #expect(try ChangesetEncoding.decode(encoded, maxBodyBytes: 8 << 20).rows.count == 4)
        let many = oneLetterNotes(200)
        let wide = ChangesetEncoding.encode(many)
        #expect(wide[1] == 0, "sent as it is when compressing would break the bound")
        #expect(try ChangesetEncoding.decode(wide).rows.count == 200)
    }

    @Test func aPulledChangeThisReplicaRefusesIsQuarantinedAndRetried() throws {
        let folder = TemporaryFolder()
        let clock = ManualWallClock(millis: testEpochMillis)
        let device = try makeReplica(folder, "device", clock: clock)
        let issueB = try device.reportIssue(IssueReport(grid: Self.gridB, kind: .dispute, title: "草场使用权纠纷"))
        // Ten minutes ahead of this device's clock, and an event into another grid's issue.
        let ahead = Self.row("households", "h-ahead", [("door_plate", .text("5号"))], version: Self.version(millisAhead: 600_000))
        let cross = Self.event("e-cross", issue: issueB, grid: Self.gridA)
        let report = try device.applyFromServer(Changeset(rows: [ahead, cross]))
        #expect(report.rejected.count == 4)
        let held = try device.quarantined()
        #expect(held.map(\.code).sorted() == ["clock_skew", "cross_grid"])
        #expect(held.first { $0.code == "cross_grid" }?.column == "issue_id,kind,at")
        // Once the clock has caught up, the retry takes the household in; the cross-grid event stays.
        clock.advance(by: 600_000)
        let retried = try device.retryQuarantine()
        #expect(retried.applied == 1)
        #expect(try device.quarantined().map(\.code) == ["cross_grid"])
        #expect(try device.households(limit: 10).contains { $0.id == "h-ahead" })
        // A repeat of the same pull does not hold it twice.
        _ = try device.applyFromServer(Changeset(rows: [cross]))
        #expect(try device.quarantined().count == 1)
    }

    @Test func whatIsSetOnceStaysAsFirstWritten() throws {
        let folder = TemporaryFolder()
        let server = try makeReplica(folder, "server")
        let own = SiteID(rawValue: 0x1234)
        let worker = Sender(scopes: [try AreaPath(Self.gridA)], site: own, role: .worker, author: .named("扎西"))
        // A large issue and its closing in one push, the event listed first: refused all the same.
        let issue = Self.row(
            "issues", "big", [("kind", .text("dispute")), ("tier", .text("large")), ("title", .text("大事")), ("reporter", .text("扎西"))],
            version: Self.version(1, site: own))
        let close = Self.event(
            "close-big", issue: "big", grid: Self.gridA, kind: "closed", version: Self.version(2, site: own), actor: "扎西")
        let first = try server.apply(Changeset(rows: [close, issue]), from: worker)
        #expect(Set(first.rejected.map(\.rowID)) == ["close-big"] && first.rejected.allSatisfy { $0.reason.code == "not_permitted" })
        // The tier reported and the reporter are set at creation: a worker cannot lower the tier by
        // rewriting it (only a de-escalation event does), nor take the issue over.
        let rewrite = try server.apply(
            Changeset(rows: [
                Self.row("issues", "big", [("tier", .text("small")), ("title", .text("小事"))], version: Self.version(3, site: own))
            ]),
            from: worker)
        #expect(rewrite.rejected.map(\.column) == ["tier"] && rewrite.applied == 1)
        #expect(try server.issueDetail("big")?.issue.tier == .large)

        // The same event again under a newer version changes nothing, clocks included.
        let visit = Self.event("v1", issue: "big", grid: Self.gridA, kind: "visit", version: Self.version(4, site: own), actor: "扎西")
        #expect(try server.apply(Changeset(rows: [visit]), from: worker).applied == 3 + 1)
        var again = visit
        for i in again.changes.indices { again.changes[i].version = Self.version(9, site: own) }
        again.changes[1].value = .text("visit")
        #expect(try server.apply(Changeset(rows: [again]), from: worker).applied == 0)
        let stored = try server.changes(since: 0).changeset.rows.first { $0.rowID == "v1" }
        #expect(stored?.changes.allSatisfy { $0.version == Self.version(4, site: own) } == true)

        // The local API refuses a household of another grid, as the server would.
        let householdB = try server.addHousehold(grid: Self.gridB, HouseholdFields(doorPlate: "1号"))
        #expect(throws: SyncCoreError.self) {
            try server.reportIssue(IssueReport(grid: Self.gridA, kind: .other, title: "x", householdID: householdB))
        }
        let mine = try server.reportIssue(IssueReport(grid: Self.gridA, kind: .other, title: "y"))
        #expect(throws: SyncCoreError.self) { try server.editIssue(mine, IssueFields(householdID: householdB)) }
    }
}
