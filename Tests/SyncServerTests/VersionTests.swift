import Foundation
import SyncCore
import Testing

/// Every sync says which versions each side speaks; a device older than the server's window is
/// told to update, clearly, and nothing of its request is stored.
@Suite(.serialized) struct VersionTests {
    @Test func eachSideSaysItsVersionsAndAnOldDeviceIsToldToUpdate() async throws {
        let server = try LiveServer()
        defer { server.finish() }
        let device = try TestDevice(server: server, name: "device")
        try await device.enroll(code: try server.enrollmentCode(scopes: [ServerTests.gridA]))
        try device.replica.addHousehold(grid: ServerTests.gridA, HouseholdFields(doorPlate: "1号"))
        let request = SyncMessageCoding.encode(try SyncSession(replica: device.replica, peer: server.baseURL).nextRequest())
        func sync(_ versions: String?) async throws -> (status: Int, body: String) {
            var headers = [("Authorization", "Bearer \(device.credential)"), ("Content-Type", "application/x-gridsync")]
            if let versions { headers.append((PeerVersions.header, versions)) }
            let r = try await server.send(.POST, "/v1/sync", body: request, headers: headers)
            return (r.status, String(decoding: r.body, as: UTF8.self))
        }
        let sequence = try await ServerTests().sequence(server)
        let old = try await sync("protocol=0;changeset=1;schema=1")
        #expect(old.status == 426 && old.body.contains("\"upgrade_needed\"") && old.body.contains("update the field tool"), "\(old.body)")
        let garbled = try await sync("protocol=one")
        #expect(garbled.status == 400)
        #expect(try await ServerTests().sequence(server) == sequence, "nothing of a refused request is stored")
        // This build's versions, and a device that sends none (an earlier release), are served.
        #expect(try await sync(PeerVersions.current.description).status == 200)
        #expect(try await sync(nil).status == 200)
        #expect(try await sync("protocol=1;changeset=1;schema=9;later-key=3").status == 200)
        let health = try await server.send(.GET, "/health")
        let json = try JSONSerialization.jsonObject(with: Data(health.body)) as? [String: Any]
        #expect(json?["schema"] as? Int == PeerVersions.current.schema && json?["oldestProtocol"] as? Int == PeerVersions.oldestProtocol)
        #expect(PeerVersions(header: "protocol=1;changeset=2;schema=4;oldest-protocol=1") == .current)
    }

    /// The changeset format a sync response was written in (responses encode deterministically).
    static func format(ofResponse bytes: [UInt8]) throws -> UInt8? {
        let response = try SyncMessageCoding.decodeResponse(bytes)
        return [UInt8(1), 2].first { SyncMessageCoding.encode(response, changesetFormat: $0) == bytes }
    }

    /// A device of an earlier release (changeset format 1, no versions header) and one of this
    /// release sync through the same server both ways: each is answered in the format it reads, and
    /// both end up holding the same records, the derived ids of events and photo references included.
    @Test func anOldFormatDeviceAndANewOneSyncBothWays() async throws {
        let server = try LiveServer()
        defer { server.finish() }
        let old = try TestDevice(server: server, name: "old")
        old.writesFormat = 1
        let new = try TestDevice(server: server, name: "new")
        new.speaks = .current
        for d in [old, new] { try await d.enroll(code: try server.enrollmentCode(scopes: [ServerTests.gridA])) }
        for (d, name) in [(old, "旧设备"), (new, "新设备")] {
            let h = try d.replica.addHousehold(grid: ServerTests.gridA, HouseholdFields(doorPlate: name))
            let issue = try d.replica.reportIssue(
                IssueReport(grid: ServerTests.gridA, kind: .hazard, tier: .small, title: "\(name) 电瓶车入户充电", householdID: h))
            try d.replica.appendEvent(issueID: issue, kind: .visit, note: "ཞིབ་བཤེར། \(name)")
            try d.replica.attachPhoto(to: .issue, id: issue, sha256: String(repeating: name == "旧设备" ? "a1" : "b2", count: 32))
        }
        for d in [old, new, old] { #expect(try await d.sync().isEmpty) }
        // Each is answered in the format it reads.
        for (d, expected) in [(old, UInt8(1)), (new, UInt8(2))] {
            let r = try await d.exchange(SyncRequest(pullCursor: 0, pushThrough: 0, changes: Changeset()))
            #expect(r.status == 200)
            #expect(try Self.format(ofResponse: r.body) == expected)
        }
        func everything(_ d: TestDevice) throws -> [String] {
            try d.replica.changes(since: 0, maxChanges: 100_000).changeset.rows
                .flatMap { row in row.changes.map { "\(row.table)/\(row.rowID)/\($0.column)=\($0.value)@\($0.version)" } }.sorted()
        }
        let held = try everything(old)
        #expect(held.count > 30)
        #expect(held == (try everything(new)))
    }

    /// What a device of a later release writes that this release does not know (a table, a column,
    /// a value of a list) is kept by the server as it came and sent on to the devices in scope,
    /// which set it aside until they learn it; the rest of the device's rules still hold for it.
    @Test func dataOfALaterReleaseIsKeptAndSentOn() async throws {
        let server = try LiveServer()
        defer { server.finish() }
        let newer = try TestDevice(server: server, name: "newer")
        try await newer.enroll(code: try server.enrollmentCode(scopes: [ServerTests.gridA], name: "扎西"))
        let older = try TestDevice(server: server, name: "older")
        try await older.enroll(code: try server.enrollmentCode(scopes: [ServerTests.gridA]))
        let site = newer.replica.site
        let v = HostileDeviceTests.stamp(1, site: site)
        let rows = [
            HostileDeviceTests.row(
                "households", "h-later", grid: ServerTests.gridA, [("door_plate", .text("5号")), ("roof_type", .text("metal"))], v),
            HostileDeviceTests.row("water_points", "w-1", grid: ServerTests.gridA, [("name", .text("泉水")), ("flow", .integer(3))], v),
            HostileDeviceTests.row(
                "issues", "i-flood", grid: ServerTests.gridA,
                [("kind", .text("flood")), ("tier", .text("small")), ("title", .text("洪水")), ("reporter", .text("扎西"))], v),
            HostileDeviceTests.event("e-later", issue: "i-flood", grid: ServerTests.gridA, kind: "transferred", v, actor: "扎西"),
            HostileDeviceTests.row("water_points", "w-out", grid: ServerTests.gridB, [("name", .text("外面"))], v),
            HostileDeviceTests.row(
                "water_points", "w-forged", grid: ServerTests.gridA, [("name", .text("冒充"))],
                HostileDeviceTests.stamp(1, site: SiteID(rawValue: 77))),
        ]
        let refused = try await HostileDeviceTests.push(newer, rows)
        #expect(refused == ["w-out": ["out_of_scope"], "w-forged": ["forged_site"]], "\(refused)")
        let sequence = try await ServerTests().sequence(server)
        #expect(try await HostileDeviceTests.push(newer, rows).count == 2)
        #expect(try await ServerTests().sequence(server) == sequence, "kept once")

        // A device of this release pulls it: the known part lands, the rest is set aside, shown, kept.
        try await older.sync()
        #expect(try older.replica.households(limit: 10).contains { $0.doorPlate == "5号" })
        let aside = try older.replica.quarantined()
        for what in ["households/h-later", "water_points/w-1", "issues/i-flood", "issue_events/e-later"] {
            #expect(aside.contains { "\($0.table)/\($0.rowID)" == what }, "\(what) not set aside: \(aside)")
        }
        #expect(!aside.contains { $0.rowID == "w-out" || $0.rowID == "w-forged" })
        let county = try TestDevice(server: server, name: "county")
        try await county.enroll(code: try server.enrollmentCode(scopes: ["xizang/lhasa/maizhokunggar"], role: "county"))
        try await county.sync()
        #expect(try county.replica.quarantined().contains { $0.table == "water_points" && $0.rowID == "w-1" })
    }
}
