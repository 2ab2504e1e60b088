import Foundation
import Testing

@testable import SyncCore

/// A hostile (or broken) enrolled device speaking the wire protocol directly: every trick it tries
/// is refused with its reason, the server stays up with bounded memory, and a county device pulling
/// afterwards holds none of it.
@Suite(.serialized) struct HostileDeviceTests {
    static let gridA = ServerTests.gridA
    static let gridB = ServerTests.gridB
    static let county = "xizang/lhasa/maizhokunggar"

    /// A version of `site` stamped now by the real clock (the server bounds timestamps by its own).
    static func stamp(_ counter: UInt64, site: SiteID, millisAhead: UInt64 = 0) -> Version {
        Version(timestamp: HLCTimestamp(millis: UInt64(Date().timeIntervalSince1970 * 1000) + millisAhead, counter: counter), site: site)
    }

    static func row(_ table: String, _ id: String, grid: String, _ values: [(String, Value)], _ v: Version) -> RowChanges {
        RowChanges(
            table: table, rowID: id, grid: grid, changes: values.map { ColumnChange(column: $0.0, value: $0.1, version: v, base: nil) })
    }

    /// An event row, `at` its version's timestamp unless given.
    static func event(_ id: String, issue: String, grid: String, kind: String, _ v: Version, at: HLCTimestamp? = nil, actor: String?)
        -> RowChanges
    {
        var values: [(String, Value)] = [
            ("issue_id", .text(issue)), ("kind", .text(kind)), ("at", .integer(Int64(bitPattern: (at ?? v.timestamp).rawValue))),
        ]
        if let actor { values.append(("actor", .text(actor))) }
        return row("issue_events", id, grid: grid, values, v)
    }

    /// Pushes `rows` as one raw request; returns the refusal codes by row id (nil: stored whole).
    static func push(_ device: TestDevice, _ rows: [RowChanges]) async throws -> [String: Set<String>] {
        // Rejections count rows in the order the server decoded them: changeset format 2's.
        let rows = ChangesetEncoding.canonical(Changeset(rows: rows)).rows
        let r = try await device.exchange(SyncRequest(pullCursor: 0, pushThrough: 1, maxPullChanges: 1, changes: Changeset(rows: rows)))
        guard r.status == 200 else { throw ServerTestError.http(r.status, String(decoding: r.body, as: UTF8.self)) }
        var codes: [String: Set<String>] = [:]
        for rejection in try SyncMessageCoding.decodeResponse(r.body).rejections {
            codes[rows[rejection.row].rowID, default: []].insert(rejection.code)
        }
        return codes
    }

    /// The resident memory of the server process, in MiB.
    static func residentMiB(_ server: LiveServer) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(server.process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
    }

    @Test func everyTrickOfAHostileDeviceIsRefusedWithItsReason() async throws {
        let server = try LiveServer()
        defer { server.finish() }
        let victim = try TestDevice(server: server, name: "victim")
        let hostile = try TestDevice(server: server, name: "hostile")
        let center = try TestDevice(server: server, name: "county")
        try await victim.enroll(code: try server.enrollmentCode(scopes: [Self.gridB], name: "卓玛"))
        try await hostile.enroll(code: try server.enrollmentCode(scopes: [Self.gridA], name: "坏人"))
        try await center.enroll(code: try server.enrollmentCode(scopes: [Self.county], role: "county", name: "县综治中心"))
        _ = try LiveServer.run(["name-area", "--data", server.folder.path, Self.gridB, "--zh", "2网格"])

        // The victim's grid: a household and a dispute, synced.
        let householdB = try victim.replica.addHousehold(grid: Self.gridB, HouseholdFields(doorPlate: "5村3号"))
        let issueB = try victim.replica.reportIssue(IssueReport(grid: Self.gridB, kind: .dispute, title: "草场使用权纠纷", reporter: "卓玛"))
        #expect(try await victim.sync().isEmpty)

        // The hostile device's own issue, honestly recorded and synced.
        let ownIssue = try hostile.replica.reportIssue(IssueReport(grid: Self.gridA, kind: .hazard, title: "电瓶车入户充电", reporter: "坏人"))
        #expect(try await hostile.sync().isEmpty)

        let me = hostile.replica.site
        let them = victim.replica.site
        let refused = try await Self.push(
            hostile,
            [
                // Cross-grid references of every kind.
                Self.event("x-close", issue: issueB, grid: Self.gridA, kind: "closed", Self.stamp(1, site: me), actor: "坏人"),
                Self.event("x-escalate", issue: issueB, grid: Self.gridA, kind: "escalated", Self.stamp(2, site: me), actor: "坏人"),
                Self.row(
                    "photo_refs", "x-photo", grid: Self.gridA, [("owner_table", .text("issues")), ("owner_id", .text(issueB))],
                    Self.stamp(3, site: me)),
                Self.row("issues", ownIssue, grid: Self.gridA, [("household_id", .text(householdB))], Self.stamp(4, site: me)),
                Self.row(
                    "conflicts", "x-conflict", grid: Self.gridA, [("tbl", .text("issues")), ("row_id", .text(issueB))],
                    Self.stamp(5, site: me)),
                // Forged provenance: another device's site, another person's name.
                Self.event("x-site", issue: ownIssue, grid: Self.gridA, kind: "visit", Self.stamp(6, site: them), actor: "坏人"),
                Self.event("x-actor", issue: ownIssue, grid: Self.gridA, kind: "visit", Self.stamp(7, site: me), actor: "卓玛"),
                // Event time games: closed "ten years ahead" under a current version.
                Self.event(
                    "x-future", issue: ownIssue, grid: Self.gridA, kind: "closed", Self.stamp(8, site: me),
                    at: HLCTimestamp(millis: UInt64(Date().timeIntervalSince1970 * 1000) + 10 * 365 * 86_400_000, counter: 0), actor: "坏人"),
                // Area names are the operator's; another grid's path is out of scope anyway.
                Self.row("grids", Self.gridB, grid: Self.gridB, [("name_zh", .text("假名字"))], Self.stamp(9, site: me)),
                Self.row("grids", Self.gridA, grid: Self.gridA, [("name_zh", .text("假名字"))], Self.stamp(10, site: me)),
                // Roles: a worker neither dispatches nor reopens.
                Self.event("x-dispatch", issue: ownIssue, grid: Self.gridA, kind: "dispatched", Self.stamp(11, site: me), actor: "坏人"),
                // Values the API refuses.
                Self.row(
                    "households", "x-big", grid: Self.gridA, [("notes", .text(String(repeating: "a", count: 40_000)))],
                    Self.stamp(12, site: me)
                ),
                Self.row("households", "x-ctl", grid: Self.gridA, [("door_plate", .text("1号\u{1B}[2J"))], Self.stamp(13, site: me)),
                Self.row("households", "x-phone", grid: Self.gridA, [("phone", .text("call 110"))], Self.stamp(14, site: me)),
                Self.row("issues", "x-due", grid: Self.gridA, [("due_date", .text("2026-02-30"))], Self.stamp(15, site: me)),
                // What an honest device writes lands beside all that.
                Self.event("ok-visit", issue: ownIssue, grid: Self.gridA, kind: "visit", Self.stamp(16, site: me), actor: "坏人"),
            ])
        let expected: [String: Set<String>] = [
            "x-close": ["cross_grid"], "x-escalate": ["cross_grid"], "x-photo": ["cross_grid"], ownIssue: ["cross_grid"],
            "x-conflict": ["cross_grid"], "x-site": ["forged_site"], "x-actor": ["forged_author"], "x-future": ["invalid"],
            Self.gridB: ["out_of_scope"], Self.gridA: ["not_permitted"], "x-dispatch": ["not_permitted"], "x-big": ["invalid"],
            "x-ctl": ["invalid"], "x-phone": ["invalid"], "x-due": ["invalid"],
        ]
        #expect(refused == expected)

        // An event once written is never rewritten.
        let rewrite = try await Self.push(
            hostile, [Self.event("ok-visit", issue: ownIssue, grid: Self.gridA, kind: "closed", Self.stamp(17, site: me), actor: "坏人")])
        #expect(rewrite == ["ok-visit": ["written_once"]])
        // A site id belongs to one device.
        let taken = try await server.send(
            .POST, "/v1/enroll",
            body: Array(
                try JSONSerialization.data(withJSONObject: ["code": try server.enrollmentCode(scopes: [Self.gridA]), "site": them.hex])),
            headers: [("Content-Type", "application/json")])
        #expect(taken.status == 409 && String(decoding: taken.body, as: UTF8.self).contains("site_taken"))
        // Unknown routes answer JSON, as every error does.
        let unknown = try await server.send(.GET, "/v1/nothing-here")
        #expect(unknown.status == 404 && String(decoding: unknown.body, as: UTF8.self).contains("\"not_found\""))

        // A head that does not parse gets JSON too.
        let raw = Process()
        raw.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        raw.arguments = ["s_client", "-connect", "127.0.0.1:\(server.port)", "-CAfile", server.caPath, "-quiet"]
        let input = Pipe()
        let output = Pipe()
        raw.standardInput = input
        raw.standardOutput = output
        raw.standardError = FileHandle.nullDevice
        try raw.run()
        try input.fileHandleForWriting.write(contentsOf: Data("GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n".utf8))
        let answer = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        raw.waitUntilExit()
        #expect(answer.hasPrefix("HTTP/1.1 400") && answer.contains("{\"error\":{\"code\":\"bad_request\""), "\(answer)")

        // The county holds none of it; the victim's issue is as its worker left it.
        #expect(try await center.sync().isEmpty)
        let seen = try #require(try center.replica.issueDetail(issueB))
        #expect(seen.issue.status == .reported && seen.issue.tier == .small && seen.events.map(\.kind) == [.reported])
        #expect(try center.replica.areas().first { $0.path == Self.gridB }?.nameZh == "2网格")
        #expect(try center.replica.areas().contains { $0.nameZh == "假名字" } == false)
        #expect(try center.replica.issueDetail(ownIssue)?.events.map(\.kind) == [.reported, .visit])
        #expect(try center.replica.issueDetail(ownIssue)?.issue.householdID == nil)
        #expect(try center.replica.households(limit: 100).allSatisfy { !$0.id.hasPrefix("x-") })
        #expect(try center.replica.quarantined().isEmpty)
        #expect(try await victim.sync().isEmpty)
        #expect(try victim.replica.issueDetail(issueB)?.issue.status == .reported)
        #expect(try await server.send(.GET, "/health").status == 200)
    }

    @Test func floodsCannotFillTheServerAndOverCompressibleRecordsStillSync() async throws {
        let server = try LiveServer()
        defer { server.finish() }
        let hostile = try TestDevice(server: server, name: "hostile")
        let honest = try TestDevice(server: server, name: "honest")
        try await hostile.enroll(code: try server.enrollmentCode(scopes: [Self.gridA]))
        try await honest.enroll(code: try server.enrollmentCode(scopes: [Self.gridA]))
        let sequence = try await ServerTests().sequence(server)

        // One 30 KB string named by 2,000 rows: a few KB on the wire, 60 MB once stored.
        let big = String(repeating: "草", count: 10_000)
        let v = Self.stamp(1, site: hostile.replica.site)
        let rows = (0..<2000).map { Self.row("households", "flood-\($0)", grid: Self.gridA, [("notes", .text(big))], v) }
        let body = [0x53, 1, 0, 1, 0] + ChangesetEncoding.encodeCompressedRegardless(Changeset(rows: rows))
        let before = Self.residentMiB(server)
        for _ in 0..<20 {
            let r = try await server.send(
                .POST, "/v1/sync", body: body,
                headers: [("Authorization", "Bearer \(hostile.credential)"), ("Content-Type", "application/x-gridsync")])
            #expect(r.status == 400 && String(decoding: r.body, as: UTF8.self).contains("split it"))
        }
        #expect(try await ServerTests().sequence(server) == sequence, "nothing of a refused request is stored")
        #expect(Self.residentMiB(server) < before + 200, "memory stays bounded: \(before) → \(Self.residentMiB(server)) MiB")

        // A real device with four 32 KiB notes of one letter (compresses beyond 256x) syncs.
        for i in 0..<4 {
            try honest.replica.addHousehold(
                grid: Self.gridA, HouseholdFields(doorPlate: "\(i)号", notes: String(repeating: "a", count: Limits.longText)))
        }
        let after = try honest.replica.addHousehold(grid: Self.gridA, HouseholdFields(doorPlate: "记录之后"))
        #expect(try await honest.sync().isEmpty)
        #expect(try await ServerTests().sequence(server) == sequence + 5)
        #expect(try honest.replica.peerCursor(server.baseURL).acknowledged >= 5, "the records behind it are not held up: \(after)")
    }

    @Test func aHashAloneDoesNotUnlockAnotherGridsPhoto() async throws {
        let server = try LiveServer()
        defer { server.finish() }
        let owner = try TestDevice(server: server, name: "owner")
        let hostile = try TestDevice(server: server, name: "hostile")
        let holder = try TestDevice(server: server, name: "holder")
        let center = try TestDevice(server: server, name: "county")
        try await owner.enroll(code: try server.enrollmentCode(scopes: [Self.gridB]))
        try await hostile.enroll(code: try server.enrollmentCode(scopes: [Self.gridA]))
        try await holder.enroll(code: try server.enrollmentCode(scopes: ["xizang/lhasa/maizhokunggar/zhaxigang/v3/g7"]))
        try await center.enroll(code: try server.enrollmentCode(scopes: [Self.county], role: "county"))
        let photos = PhotoTests()

        var rng = SystemRandomNumberGenerator()
        let photo = Data((0..<50_000).map { _ in UInt8.random(in: 0...255, using: &rng) })
        let hash = BlobStore.sha256(photo)
        let h = try owner.replica.addHousehold(grid: Self.gridB, HouseholdFields(doorPlate: "1号"))
        try owner.replica.attachPhoto(to: .household, id: h, sha256: hash)
        try await owner.sync()
        #expect(try await photos.put(owner, hash, photo, offset: 0, count: photo.count).body["complete"] as? Bool == true)

        // The hostile device learned the hash and names it from a record of its own grid.
        let own = try hostile.replica.addHousehold(grid: Self.gridA, HouseholdFields(doorPlate: "2号"))
        try hostile.replica.attachPhoto(to: .household, id: own, sha256: hash)
        try await hostile.sync()
        func get(_ device: TestDevice) async throws -> Int {
            try await server.send(.GET, "/v1/photos/\(hash)", headers: [("Authorization", "Bearer \(device.credential)")]).status
        }
        #expect(try await get(hostile) == 404)
        // Re-sending a chunk of a photo the server holds unlocks nothing either.
        _ = try await photos.put(hostile, hash, photo, offset: 0, count: 10)
        #expect(try await get(hostile) == 404)
        let status = try await photos.status(hostile, hash)
        let challenge = try #require(status["challenge"] as? String)
        func prove(_ device: TestDevice, _ challenge: String, _ proof: String) async throws -> Int {
            let body = try JSONSerialization.data(withJSONObject: ["challenge": challenge, "proof": proof])
            return try await server.send(
                .POST, "/v1/photos/\(hash)/proof", body: Array(body), headers: [("Authorization", "Bearer \(device.credential)")]
            ).status
        }
        // Without the bytes it cannot answer; a made-up challenge is refused as stale.
        #expect(try await prove(hostile, challenge, String(repeating: "0", count: 64)) == 403)
        #expect(try await prove(hostile, String(repeating: "1", count: 64), PhotoProof.answer(challenge: challenge, photo: photo)!) == 409)
        #expect(try await get(hostile) == 404)

        // A device of another grid that holds the same photo proves it and may then read it.
        let mine = try holder.replica.addHousehold(grid: "xizang/lhasa/maizhokunggar/zhaxigang/v3/g7", HouseholdFields(doorPlate: "3号"))
        try holder.replica.attachPhoto(to: .household, id: mine, sha256: hash)
        try await holder.sync()
        let theirs = try #require(try await photos.status(holder, hash)["challenge"] as? String)
        #expect(try await prove(holder, theirs, PhotoProof.answer(challenge: theirs, photo: photo)!) == 200)
        #expect(try await get(holder) == 200)
        #expect(try await get(center) == 200)
        #expect(try await get(owner) == 200)
        #expect(try await get(hostile) == 404)
    }
}
