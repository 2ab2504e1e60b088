import AsyncHTTPClient
import Foundation
import NIOSSL
import SyncCore
import Testing

/// Against the real `gridsync-server` binary over TLS on loopback.
@Suite(.serialized) struct ServerTests {
    static let gridA = "xizang/lhasa/maizhokunggar/zhaxigang/v3/g2"
    static let gridB = "xizang/lhasa/maizhokunggar/zhaxigang/v5/g1"

    func sequence(_ server: LiveServer) async throws -> Int {
        let r = try await server.send(.GET, "/health")
        let json = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any]
        return json?["sequence"] as? Int ?? -1
    }

    @Test func enrollmentCodesWorkOnceAndTwoDevicesConvergeThroughTheServer() async throws {
        let server = try LiveServer()
        defer { Task { await server.stop() } }
        let worker = try TestDevice(server: server, name: "worker")
        let officer = try TestDevice(server: server, name: "officer")
        let code = try server.enrollmentCode(scopes: [Self.gridA])
        try await worker.enroll(code: code)
        await #expect(throws: ServerTestError.self) { try await officer.enroll(code: code) }  // used
        await #expect(throws: ServerTestError.self) { try await officer.enroll(code: "AAAA-BBBB-CCCC") }  // unknown
        try await officer.enroll(code: try server.enrollmentCode(scopes: ["xizang/lhasa/maizhokunggar/zhaxigang"], role: "township"))
        #expect(worker.credential.count >= 43)  // 256 bits, base64url

        let h = try worker.replica.addHousehold(
            grid: Self.gridA, HouseholdFields(doorPlate: "3村12号", headNameZh: "次仁", headNameBo: "ཚེ་རིང་།"))
        let issue = try worker.replica.reportIssue(
            IssueReport(grid: Self.gridA, kind: .dispute, title: "草场使用权纠纷", description: "两户争议", householdID: h))
        try await worker.sync()
        try await officer.sync()
        #expect(try officer.replica.issueDetail(issue)?.issue.title == "草场使用权纠纷")

        // S2: both edit the same issue offline, sync in either order.
        try worker.replica.editIssue(issue, IssueFields(description: "已初步调解"))
        try officer.replica.editIssue(issue, IssueFields(description: "乡镇司法所介入"))
        try officer.replica.appendEvent(issueID: issue, kind: .escalated, tier: .medium)
        try await officer.sync()
        try await worker.sync()
        try await officer.sync()
        let a = try #require(try worker.replica.issueDetail(issue))
        let b = try #require(try officer.replica.issueDetail(issue))
        #expect(a == b)
        #expect(a.issue.tier == .medium)
        #expect(try worker.replica.conflicts() == officer.replica.conflicts())
        #expect(try worker.replica.conflicts().count == 1)
        // The receipt covers everything the worker wrote.
        let cursor = try worker.replica.peerCursor(server.baseURL)
        #expect(cursor.acknowledged == (try worker.replica.localVersion()))
    }

    /// S6: a change into a grid outside the device's scopes is refused with its reason; the rest lands.
    @Test func outOfScopeChangesAreRefusedWhileTheRestOfTheBatchLands() async throws {
        let server = try LiveServer()
        defer { Task { await server.stop() } }
        let device = try TestDevice(server: server, name: "a")
        try await device.enroll(code: try server.enrollmentCode(scopes: [Self.gridA]))
        try device.replica.addHousehold(grid: Self.gridA, HouseholdFields(doorPlate: "A1"), id: "in-scope")
        try device.replica.addHousehold(grid: Self.gridB, HouseholdFields(doorPlate: "B1"), id: "out-of-scope")
        let rejections = try await device.sync()
        #expect(!rejections.isEmpty && rejections.allSatisfy { $0.code == "out_of_scope" })
        #expect(rejections.first?.message.contains(Self.gridB) == true)
        let county = try TestDevice(server: server, name: "county")
        try await county.enroll(code: try server.enrollmentCode(scopes: ["xizang/lhasa/maizhokunggar"], role: "county"))
        try await county.sync()
        #expect(try county.replica.households().map(\.id) == ["in-scope"])
    }

    /// S5: a revoked device is refused at once; others are not affected.
    @Test func aRevokedDeviceIsRefusedAndOthersAreNot() async throws {
        let server = try LiveServer()
        defer { Task { await server.stop() } }
        let lost = try TestDevice(server: server, name: "lost")
        let other = try TestDevice(server: server, name: "other")
        try await lost.enroll(code: try server.enrollmentCode(scopes: [Self.gridA]))
        try await other.enroll(code: try server.enrollmentCode(scopes: [Self.gridA]))
        try await lost.sync()
        let devices = try LiveServer.run(["devices", "--data", server.folder.path, "--json"])
        let list = try JSONSerialization.jsonObject(with: Data(devices.output.utf8)) as? [[String: Any]] ?? []
        let id = try #require(list.first { ($0["site"] as? String) == lost.replica.site.hex }?["id"] as? String)
        #expect(try LiveServer.run(["revoke", "--data", server.folder.path, id]).status == 0)
        let r = try await lost.exchange(try SyncSession(replica: lost.replica, peer: server.baseURL).nextRequest())
        #expect(r.status == 403)
        #expect(String(decoding: r.body, as: UTF8.self).contains("\"revoked\""))
        try other.replica.addHousehold(grid: Self.gridA, HouseholdFields(doorPlate: "7号"))
        try await other.sync()
        #expect(!devices.output.contains(lost.credential), "credentials never leave the server")
    }

    /// S4: a device years behind learns the server's time; changes stamped days ahead are refused.
    @Test func devicesWithWrongClocksAreHandled() async throws {
        let server = try LiveServer()
        defer { Task { await server.stop() } }
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let behindClock = ManualWallClock(millis: now - 4 * 365 * 86_400_000)
        let aheadClock = ManualWallClock(millis: now + 3 * 86_400_000)
        let behind = try TestDevice(server: server, name: "behind", clock: behindClock)
        let ahead = try TestDevice(server: server, name: "ahead", clock: aheadClock)
        let reference = try TestDevice(server: server, name: "reference")
        for d in [behind, ahead, reference] { try await d.enroll(code: try server.enrollmentCode(scopes: [Self.gridA])) }

        let id = try reference.replica.addHousehold(grid: Self.gridA, HouseholdFields(doorPlate: "1号", headNameZh: "扎西"))
        try await reference.sync()
        try await behind.sync()  // pulls the household, learns the server's time
        #expect(try behind.replica.household(id)?.headNameZh == "扎西")
        #expect(try behind.replica.clockOffsetMillis() > 3 * 365 * 86_400_000)
        try behind.replica.editHousehold(id, HouseholdFields(headNameZh: "次仁"))  // stamped with the corrected clock
        try await behind.sync()
        try await reference.sync()
        #expect(try reference.replica.household(id)?.headNameZh == "次仁")

        try ahead.replica.addHousehold(grid: Self.gridA, HouseholdFields(doorPlate: "未来"), id: "from-the-future")
        let rejections = try await ahead.sync()
        #expect(!rejections.isEmpty && rejections.allSatisfy { $0.code == "clock_skew" })
        #expect(rejections.first?.message.contains("ahead") == true)
        try await reference.sync()
        #expect(try reference.replica.household("from-the-future") == nil)
    }

    @Test func aBatchRepeatedAfterALostResponseIsAppliedOnce() async throws {
        let server = try LiveServer()
        defer { Task { await server.stop() } }
        let device = try TestDevice(server: server, name: "d")
        try await device.enroll(code: try server.enrollmentCode(scopes: [Self.gridA]))
        for n in 0..<20 { try device.replica.addHousehold(grid: Self.gridA, HouseholdFields(doorPlate: "\(n)号")) }
        let request = try SyncSession(replica: device.replica, peer: server.baseURL).nextRequest()
        let first = try await device.exchange(request)  // its response "lost": the device does not handle it
        #expect(first.status == 200)
        let stored = try await sequence(server)
        let second = try await device.exchange(request)
        #expect(second.status == 200)
        #expect(try await sequence(server) == stored, "the repeat stored nothing new")
        let a = try SyncMessageCoding.decodeResponse(first.body)
        let b = try SyncMessageCoding.decodeResponse(second.body)
        #expect(a.receipt == b.receipt && a.receipt == request.pushThrough)
        #expect(stored == 20)
    }

    @Test func badRequestsGetClearErrorsAndStoreNothing() async throws {
        let server = try LiveServer()
        defer { Task { await server.stop() } }
        let device = try TestDevice(server: server, name: "d")
        try await device.enroll(code: try server.enrollmentCode(scopes: [Self.gridA]))
        let auth = ("Authorization", "Bearer \(device.credential)")
        let type = ("Content-Type", "application/x-gridsync")
        let before = try await sequence(server)
        let garbage = try await server.send(.POST, "/v1/sync", body: [0x53, 1, 0xFF, 0xFF], headers: [auth, type])
        #expect(garbage.status == 400)
        #expect(String(decoding: garbage.body, as: UTF8.self).contains("bad_request"))
        let wrongVersion = try await server.send(.POST, "/v1/sync", body: [0x53, 9, 0, 0, 0], headers: [auth, type])
        #expect(wrongVersion.status == 400)
        #expect(String(decoding: wrongVersion.body, as: UTF8.self).contains("expected one of 1, found 9"))
        let huge = try await server.send(.POST, "/v1/sync", body: [UInt8](repeating: 0, count: 9 << 20), headers: [auth, type])
        #expect(huge.status == 413)
        let anonymous = try await server.send(
            .POST, "/v1/sync", body: SyncMessageCoding.encode(SyncRequest(pullCursor: 0, pushThrough: 0, changes: Changeset())),
            headers: [type])
        #expect(anonymous.status == 401)
        let forged = try await server.send(
            .POST, "/v1/sync", body: [0x53, 1, 0, 0, 0], headers: [("Authorization", "Bearer forged"), type])
        #expect(forged.status == 401)
        let badEnroll = try await server.send(.POST, "/v1/enroll", body: Array("{\"code\": 5}".utf8))
        #expect(badEnroll.status == 400)
        #expect(try await sequence(server) == before)
        #expect(try await server.send(.GET, "/health").status == 200)
    }

    @Test func plainHTTPAndClientsThatDoNotTrustTheCAAreRefused() async throws {
        let server = try LiveServer()
        defer { Task { await server.stop() } }
        let plain = HTTPClient(eventLoopGroupProvider: .singleton)
        await #expect(throws: (any Error).self) {
            _ = try await plain.execute(HTTPClientRequest(url: "http://localhost:\(server.port)/health"), timeout: .seconds(10))
        }
        await #expect(throws: (any Error).self) {
            _ = try await plain.execute(HTTPClientRequest(url: "https://localhost:\(server.port)/health"), timeout: .seconds(10))
        }
        try await plain.shutdown()
        #expect(try await server.send(.GET, "/health").status == 200)
    }

    /// The system `openssl` as an independent peer: TLS 1.1 refused, 1.3 negotiated, chain verifies.
    @Test func opensslSeesTLS13AndAVerifiedChainAndNoTLS11() async throws {
        let server = try LiveServer()
        defer { Task { await server.stop() } }
        func sClient(_ extra: [String]) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments =
                ["s_client", "-connect", "127.0.0.1:\(server.port)", "-servername", "localhost", "-CAfile", server.caPath] + extra
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            p.standardInput = FileHandle.nullDevice
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        let modern = try sClient(["-brief"])
        #expect(modern.contains("TLSv1.3"), "\(modern)")
        #expect(modern.contains("Verification: OK"), "\(modern)")
        let tls12 = try sClient(["-brief", "-tls1_2"])
        #expect(tls12.contains("TLSv1.2"), "\(tls12)")
        // SECLEVEL=0 lets this openssl offer TLS 1.1 at all, so the refusal comes from the server.
        let old = try sClient(["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        #expect(old.contains("alert protocol version"), "\(old)")
        #expect(old.contains("Cipher is (NONE)"), "no session was established: \(old)")
    }
}
