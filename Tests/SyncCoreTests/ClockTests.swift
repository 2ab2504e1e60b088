import Testing

@testable import SyncCore

@Suite struct ClockTests {
    @Test func followsTheWallClockWhenItMovesForward() throws {
        var clock = HybridLogicalClock()
        let a = try clock.now(wallMillis: 1000)
        let b = try clock.now(wallMillis: 2000)
        #expect(a == HLCTimestamp(millis: 1000, counter: 0))
        #expect(b == HLCTimestamp(millis: 2000, counter: 0))
    }

    @Test func neverGoesBackwardsWhenTheWallClockJumpsBack() throws {
        var clock = HybridLogicalClock()
        let a = try clock.now(wallMillis: testEpochMillis)
        let b = try clock.now(wallMillis: testEpochMillis - 3 * 86_400_000)  // RTC reset three days back
        let c = try clock.now(wallMillis: testEpochMillis - 3 * 86_400_000)
        #expect(a < b && b < c)
        #expect(b.millis == a.millis && b.counter == 1)
    }

    @Test func counterOverflowBorrowsTheNextMillisecond() throws {
        var clock = HybridLogicalClock(last: HLCTimestamp(millis: 5000, counter: HLCTimestamp.maxCounter - 1))
        let a = try clock.now(wallMillis: 10)
        let b = try clock.now(wallMillis: 10)
        #expect(a == HLCTimestamp(millis: 5000, counter: HLCTimestamp.maxCounter))
        #expect(b == HLCTimestamp(millis: 5001, counter: 0))
        #expect(a < b)
    }

    @Test func exhaustedClockThrowsInsteadOfWrapping() {
        var clock = HybridLogicalClock(last: HLCTimestamp(millis: HLCTimestamp.maxMillis, counter: HLCTimestamp.maxCounter))
        #expect(throws: ClockError.exhausted) { try clock.now(wallMillis: 0) }
    }

    @Test func receivingMovesPastTheRemoteTimestamp() throws {
        var clock = HybridLogicalClock()
        _ = try clock.now(wallMillis: 1000)
        try clock.receive(HLCTimestamp(millis: 1200, counter: 7), wallMillis: 1000)
        let next = try clock.now(wallMillis: 1000)
        #expect(next == HLCTimestamp(millis: 1200, counter: 8))
    }

    @Test func farFutureRemoteTimestampIsRefusedWithHowFar() throws {
        var clock = HybridLogicalClock(maxDriftMillis: 60_000)
        let twoDays: UInt64 = 2 * 86_400_000
        #expect(throws: ClockError.remoteTooFarAhead(aheadMillis: twoDays, maxDriftMillis: 60_000)) {
            try clock.receive(HLCTimestamp(millis: testEpochMillis + twoDays, counter: 0), wallMillis: testEpochMillis)
        }
        #expect(clock.last == .zero)
        let error = ClockError.remoteTooFarAhead(aheadMillis: twoDays, maxDriftMillis: 60_000)
        #expect(error.description.contains("2d 0h ahead"))
        // Within the bound it is taken.
        try clock.receive(HLCTimestamp(millis: testEpochMillis + 59_000, counter: 0), wallMillis: testEpochMillis)
        #expect(clock.last.millis == testEpochMillis + 59_000)
    }

    @Test func aReplicaWhoseClockIsYearsBackStillOrdersItsWritesAfterWhatItReceived() throws {
        let folder = TemporaryFolder()
        let now = ManualWallClock(millis: testEpochMillis)
        let past = ManualWallClock(millis: testEpochMillis - 5 * 365 * 86_400_000)  // five years back
        let a = try makeReplica(folder, "a", clock: now)
        let b = try makeReplica(folder, "b", clock: past)
        let id = try a.addHousehold(grid: "xizang/lhasa/g1", HouseholdFields(doorPlate: "1号", headNameZh: "扎西"))
        // Before it learns the server's time, everything looks years ahead and is refused...
        #expect(try b.apply(try a.changes(since: 0).changeset).rejected.allSatisfy { $0.reason.code == "clock_skew" })
        #expect(try b.households().isEmpty)
        // ...then it learns the time (as every sync response tells it) and takes the changes.
        let offset = try b.learnServerTime(now.nowMillis())
        #expect(offset == 5 * 365 * 86_400_000)
        try sync(a, b)
        try b.editHousehold(id, HouseholdFields(headNameZh: "次仁"))
        try sync(b, a)
        #expect(try a.household(id)?.headNameZh == "次仁")
        #expect(try a.lastTimestamp() == b.lastTimestamp())  // a learned the edit's timestamp
        #expect(try b.lastTimestamp().millis >= testEpochMillis)
        #expect(try a.conflicts().isEmpty)
    }

    /// A device days ahead restamps its writes when it learns the server's time; the writes keep
    /// their order, so an issue resolved then reopened stays reopened, escalated then de-escalated
    /// stays at the lower tier, on the device and wherever it syncs.
    @Test func writesRestampedAfterAClockRanAheadKeepTheirOrder() throws {
        let folder = TemporaryFolder()
        let now = ManualWallClock(millis: testEpochMillis)
        let ahead = ManualWallClock(millis: testEpochMillis + 3 * 86_400_000)
        let center = try makeReplica(folder, "center", clock: now)
        let device = try makeReplica(folder, "device", clock: ahead)
        var issues: [String] = []
        for n in 0..<8 {
            let issue = try device.reportIssue(IssueReport(grid: "xizang/lhasa/g1", kind: .dispute, title: "草场使用权纠纷 \(n)"))
            try device.appendEvent(issueID: issue, kind: .escalated, tier: .medium)
            try device.appendEvent(issueID: issue, kind: .resolved)
            try device.appendEvent(issueID: issue, kind: .reopened)
            try device.appendEvent(issueID: issue, kind: .deescalated, tier: .small)
            issues.append(issue)
        }
        try device.learnServerTime(now.nowMillis())
        #expect(try device.lastTimestamp().millis < testEpochMillis + 3 * 86_400_000)
        let report = try center.apply(try device.changes(since: 0).changeset)
        #expect(report.rejected.isEmpty)
        for replica in [device, center] {
            for issue in issues {
                let detail = try #require(try replica.issueDetail(issue))
                #expect(detail.issue.status == .reopened && detail.issue.tier == .small)
                let kinds = detail.events.sorted { ($0.at, $0.id) < ($1.at, $1.id) }.map(\.kind)
                #expect(kinds == [.reported, .escalated, .resolved, .reopened, .deescalated])
            }
        }
    }

    @Test func aReplicaDaysAheadIsRefusedBeyondTheBoundAndAcceptedWithinIt() throws {
        let folder = TemporaryFolder()
        let now = ManualWallClock(millis: testEpochMillis)
        let ahead = ManualWallClock(millis: testEpochMillis + 3 * 86_400_000)
        let center = try makeReplica(folder, "center", clock: now)
        let device = try makeReplica(folder, "device", clock: ahead)
        try device.addHousehold(grid: "xizang/lhasa/g1", HouseholdFields(doorPlate: "2号"))
        let report = try center.apply(try device.changes(since: 0).changeset)
        #expect(report.applied == 0)
        #expect(!report.rejected.isEmpty)
        #expect(report.rejected.allSatisfy { $0.reason.code == "clock_skew" })
        #expect(try center.households().isEmpty)
        // The device learns the center's time (its clock is fixed), and its next write is accepted.
        ahead.set(testEpochMillis)
        let fresh = try makeReplica(folder, "fresh", clock: ahead)
        try fresh.addHousehold(grid: "xizang/lhasa/g1", HouseholdFields(doorPlate: "3号"))
        #expect(try center.apply(try fresh.changes(since: 0).changeset).rejected.isEmpty)
    }
}
