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

    @Test(arguments: StoreKind.allCases) func enrollmentCodesWorkOnceAndTwoDevicesConvergeThroughTheServer(store: StoreKind) async throws {
        let server = try LiveServer(store: store)
        defer { server.finish() }
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
        #expect(try worker.replica.pendingOwnChanges(after: cursor.acknowledged) == 0)
        if let postgres = server.postgres {
            // The records are in PostgreSQL, not in the data folder.
            #expect(try postgres.psql("SELECT door_plate FROM households") == "3村12号\n")
            #expect(!FileManager.default.fileExists(atPath: server.folder.appendingPathComponent("store.sqlite").path))
        }
    }

    /// An answer carries as many changes as the device asks for, up to the server's cap; a device
    /// that asks for none in particular (`max pull` 0) gets 5,000, or the cap when it is lower.
    @Test func anAnswerCarriesWhatTheDeviceAsksForWithinTheServersCap() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-server-\(UUID().uuidString.prefix(8))")
        let made = try LiveServer.run(["init", folder.path, "--port", "0"])
        try #require(made.status == 0, "\(made.output)")
        let file = folder.appendingPathComponent("config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        #expect(config["maxPullChanges"] as? Int == 50_000)
        config["maxPullChanges"] = 6000
        try JSONSerialization.data(withJSONObject: config).write(to: file)
        let server = try LiveServer(serving: folder)
        defer { server.finish() }
        let worker = try TestDevice(server: server, name: "worker")
        try await worker.enroll(code: try server.enrollmentCode(scopes: [Self.gridA]))
        for n in 0..<1000 {
            try worker.replica.addHousehold(
                grid: Self.gridA,
                HouseholdFields(
                    doorPlate: "\(n)号", headNameZh: "次仁\(n)", headNameBo: "ཚེ་རིང་། \(n)", members: n % 7 + 1, phone: "1390000\(n)",
                    tags: ["牧户"], notes: "第\(n)户"))
        }
        try await worker.sync()
        let written = try worker.replica.changes(since: 0, maxChanges: 100_000).changeset.changeCount
        try #require(written > 7000)
        let county = try TestDevice(server: server, name: "county")
        try await county.enroll(code: try server.enrollmentCode(scopes: ["xizang/lhasa/maizhokunggar"], role: "county"))
        func answer(asking asked: Int) async throws -> Int {
            let r = try await county.exchange(
                SyncRequest(pullCursor: 0, pushThrough: 0, maxPullChanges: asked, changes: Changeset(rows: [])))
            #expect(r.status == 200)
            let response = try SyncMessageCoding.decodeResponse(r.body)
            #expect(response.hasMore)
            return response.changes.changeCount
        }
        // A row's changes are never split: a batch stops at the last whole row that fits.
        #expect((4990...5000).contains(try await answer(asking: 0)))
        #expect((5790...5800).contains(try await answer(asking: 5800)))
        #expect((5990...6000).contains(try await answer(asking: 1_000_000)))
        #expect((90...100).contains(try await answer(asking: 100)))
    }

    /// S6: a change into a grid outside the device's scopes is refused with its reason; the rest lands.
    @Test(arguments: StoreKind.allCases) func outOfScopeChangesAreRefusedWhileTheRestOfTheBatchLands(store: StoreKind) async throws {
        let server = try LiveServer(store: store)
        defer { server.finish() }
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

    /// Every device pulls exactly the records under its scopes, in small batches and large, at
    /// first and later: grids, a village (areas below it) and the county, with a sibling grid whose
    /// name extends another's (g2 and g20).
    @Test(arguments: StoreKind.allCases) func eachDevicePullsExactlyWhatLiesUnderItsScopes(store: StoreKind) async throws {
        let server = try LiveServer(store: store)
        defer { server.finish() }
        let village = "xizang/lhasa/maizhokunggar/zhaxigang/v3"
        let grids = [Self.gridA, village + "/g20", Self.gridB]
        var workers: [TestDevice] = []
        for (n, grid) in grids.enumerated() {
            let worker = try TestDevice(server: server, name: "worker\(n)")
            try await worker.enroll(code: try server.enrollmentCode(scopes: [grid]))
            workers.append(worker)
        }
        let villageDevice = try TestDevice(server: server, name: "village")
        try await villageDevice.enroll(code: try server.enrollmentCode(scopes: [village], role: "township"))
        let countyDevice = try TestDevice(server: server, name: "county")
        try await countyDevice.enroll(code: try server.enrollmentCode(scopes: ["xizang/lhasa/maizhokunggar"], role: "county"))
        var written: [String: Set<String>] = [:]
        for round in 0..<2 {
            for (worker, grid) in zip(workers, grids) {
                for k in 0..<12 {
                    let id = try worker.replica.addHousehold(grid: grid, HouseholdFields(doorPlate: "\(round)-\(k)号", headNameZh: "多吉"))
                    written[grid, default: []].insert(id)
                }
                try await worker.sync()
            }
            // Workers pull in batches of 7 changes (a household carries 2), readers in batches of 7 and of 5,000.
            for worker in workers { try await worker.sync(maxPullChanges: 7) }
            try await villageDevice.sync(maxPullChanges: 7)
            try await countyDevice.sync()
            func held(_ device: TestDevice) throws -> Set<String> { Set(try device.replica.households().map(\.id)) }
            for (worker, grid) in zip(workers, grids) {
                #expect(try held(worker) == written[grid]!, "round \(round), \(grid)")
            }
            #expect(try held(villageDevice) == written[grids[0]]!.union(written[grids[1]]!), "round \(round)")
            #expect(try held(countyDevice) == written.values.reduce(Set()) { $0.union($1) }, "round \(round)")
        }
    }

    /// S5: a revoked device is refused at once; others are not affected.
    @Test(arguments: StoreKind.allCases) func aRevokedDeviceIsRefusedAndOthersAreNot(store: StoreKind) async throws {
        let server = try LiveServer(store: store)
        defer { server.finish() }
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

    /// A store restored by other means than `backup` (PostgreSQL's own tools) gets a new epoch
    /// with `renew-epoch`: a device that synced before sees it change and sends everything again.
    @Test(arguments: StoreKind.allCases) func renewEpochMakesDevicesSyncAgainFromTheStart(store: StoreKind) async throws {
        let server = try LiveServer(store: store)
        defer { server.finish() }
        let worker = try TestDevice(server: server, name: "worker")
        try await worker.enroll(code: try server.enrollmentCode(scopes: [Self.gridA]))
        try worker.replica.addHousehold(grid: Self.gridA, HouseholdFields(doorPlate: "1号"))
        func epoch() async throws -> String? {
            let r = try await worker.exchange(try SyncSession(replica: worker.replica, peer: server.baseURL).nextRequest())
            return r.headers.first(name: "GridSync-Store-Epoch")
        }
        try await worker.sync()
        let before = try await epoch()
        server.process.terminate()
        server.process.waitUntilExit()
        #expect(try LiveServer.run(["renew-epoch", "--data", server.folder.path]).status == 0)
        let again = try LiveServer(serving: server.folder)
        defer { again.finish() }
        let device = TestDevice(worker, server: again)
        let after = try await device.exchange(try SyncSession(replica: device.replica, peer: again.baseURL).nextRequest())
            .headers.first(name: "GridSync-Store-Epoch")
        #expect(before != nil && after != nil && before != after)
    }

    /// The operator's area tree, on either store: imported, listed, sent to the devices under it;
    /// an import that would remove an area holding records is refused whole.
    @Test(arguments: StoreKind.allCases) func theAreaTreeIsTheOperatorsOnEitherStore(store: StoreKind) async throws {
        let server = try LiveServer(store: store)
        defer { server.finish() }
        let tree = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../Sources/FieldCLI/Demo/areas-maizhokunggar.csv"
        ).standardized
        let imported = try LiveServer.run(["areas", "import", "--data", server.folder.path, tree.path])
        #expect(imported.status == 0, "\(imported.output)")
        #expect(imported.output.contains("15 added"))
        let listed = try LiveServer.run([
            "areas", "list", "--data", server.folder.path, "--under", "xizang/lhasa/maizhokunggar/zhaxigang", "--json",
        ])
        let areas = try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]] ?? []
        #expect(areas.first?["nameZh"] as? String == "扎西岗乡")
        #expect(try LiveServer.run(["areas", "list", "--data", server.folder.path, "--under", "xizang/nowhere"]).status != 0)
        let grid = "xizang/lhasa/maizhokunggar/zhaxigang/v1/g1"
        let worker = try TestDevice(server: server, name: "worker")
        try await worker.enroll(code: try server.enrollmentCode(scopes: [grid]))
        try worker.replica.addHousehold(grid: grid, HouseholdFields(doorPlate: "1村1号"))
        try await worker.sync()
        #expect(try worker.replica.areaNames().byPath[grid]?.nameZh == "1网格")
        // Leaving out the worker's grid, which holds a household now, is refused and changes nothing.
        let smaller = server.folder.appendingPathComponent("smaller.csv")
        let text = try String(contentsOf: tree, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix(grid + ",") }
            .joined(separator: "\n")
        try text.write(to: smaller, atomically: true, encoding: .utf8)
        let refused = try LiveServer.run(["areas", "import", "--data", server.folder.path, smaller.path])
        #expect(refused.status != 0 && refused.output.contains("hold records"), "\(refused.output)")
        try #require(try LiveServer.run(["name-area", "--data", server.folder.path, grid, "--zh", "一网格"]).status == 0)
        let county = try TestDevice(server: server, name: "county")
        try await county.enroll(code: try server.enrollmentCode(scopes: ["xizang/lhasa/maizhokunggar"], role: "county"))
        try await county.sync()
        #expect(try county.replica.areas().count == 15)
        #expect(try county.replica.areaNames().byPath[grid]?.nameZh == "一网格")
    }

    /// S4: a device years behind learns the server's time; changes stamped days ahead are refused.
    @Test func devicesWithWrongClocksAreHandled() async throws {
        let server = try LiveServer()
        defer { server.finish() }
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
        // The server refuses the write as too far ahead; having learned the server's time, the
        // device stamps it again and sends it in the same sync: no refusal is left.
        let rejections = try await ahead.sync()
        #expect(rejections.isEmpty, "\(rejections)")
        try await reference.sync()
        #expect(try reference.replica.household("from-the-future")?.doorPlate == "未来")
        // Its new writes carry sensible times.
        try ahead.replica.editHousehold("from-the-future", HouseholdFields(notes: "时钟已校正"))
        #expect(try await ahead.sync().isEmpty)
        try await reference.sync()
        #expect(try reference.replica.household("from-the-future")?.notes == "时钟已校正")
        #expect(try ahead.replica.lastTimestamp().millis < now + 60_000)
    }

    @Test func aBatchRepeatedAfterALostResponseIsAppliedOnce() async throws {
        let server = try LiveServer()
        defer { server.finish() }
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
        defer { server.finish() }
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

    @Test func metricsCountChangesAndLogsNeverShowCredentials() async throws {
        let server = try LiveServer()
        defer { server.finish() }
        let device = try TestDevice(server: server, name: "d")
        try await device.enroll(code: try server.enrollmentCode(scopes: [Self.gridA]))
        try device.replica.addHousehold(grid: Self.gridA, HouseholdFields(doorPlate: "1号", headNameZh: "卓玛"))
        try device.replica.addHousehold(grid: Self.gridB, HouseholdFields(doorPlate: "2号"))
        try await device.sync()
        let metrics = String(decoding: try await server.send(.GET, "/metrics").body, as: UTF8.self)
        #expect(metrics.contains("gridsync_changes_accepted_total 3"), "\(metrics)")
        #expect(metrics.contains("gridsync_changes_refused_total{reason=\"out_of_scope\"} 2"), "\(metrics)")
        #expect(metrics.contains("gridsync_sync_bytes_in_total"))
        #expect(metrics.contains("gridsync_sync_duration_seconds"))
        #expect(metrics.contains("http_server_request_duration") || metrics.contains("hb_requests"))
        let log = server.log
        #expect(log.contains("sync") && log.contains("accepted=3"), "\(log)")
        #expect(!log.contains(device.credential), "the credential must never be logged")
    }

    @Test func sigtermShutsDownGracefullyKeepingEveryAcknowledgedChange() async throws {
        // Sync records wait a minute to be written, so only the shutdown can have written them.
        let server = try LiveServer(extraInit: ["--sync-record-delay", "60000"])
        let device = try TestDevice(server: server, name: "d")
        try await device.enroll(code: try server.enrollmentCode(scopes: [Self.gridA]))
        for n in 0..<30 { try device.replica.addHousehold(grid: Self.gridA, HouseholdFields(doorPlate: "\(n)号")) }
        let h = try device.replica.addHousehold(grid: Self.gridA, HouseholdFields(doorPlate: "photo"))
        try device.replica.attachPhoto(to: .household, id: h, sha256: String(repeating: "ab", count: 32))
        try await device.sync()
        let listed = try LiveServer.run(["devices", "--data", server.folder.path])
        #expect(listed.output.contains("pending photos 1"), "\(listed.output)")
        let acknowledged = try device.replica.peerCursor(server.baseURL).acknowledged
        server.process.terminate()  // SIGTERM
        server.process.waitUntilExit()
        #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0)
        let store = try Replica(path: server.folder.appendingPathComponent("store.sqlite").path)
        #expect(try store.integrityCheck() == "ok")
        #expect(try store.households().count == 31)
        #expect(acknowledged == (try device.replica.localVersion()))
        // The device's sync record, still waiting when `devices` ran, was written on the way out.
        func record() throws -> [String: Any]? {
            let list =
                try JSONSerialization.jsonObject(
                    with: Data(LiveServer.run(["devices", "--data", server.folder.path, "--json"]).output.utf8)) as? [[String: Any]]
            return list?.first { ($0["site"] as? String) == device.replica.site.hex }
        }
        #expect(listed.output.contains("last sync never"), "\(listed.output)")
        let written = try #require(try record())
        #expect(written["lastSyncMillis"] is Int && written["acknowledged"] as? Int == Int(acknowledged))
        await server.stop()
    }

    /// `init --certificate --key --ca`: the operator's own CA (made here with the system openssl)
    /// instead of the one `init` makes.
    @Test func anOperatorsOwnCASignedCertificateIsServed() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-opca-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        func openssl(_ args: [String]) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = args
            p.currentDirectoryURL = work
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "openssl \(args.first ?? "")")
        }
        try Data("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n".utf8).write(
            to: work.appendingPathComponent("ext.cnf"))
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "30", "-subj", "/O=County IT/CN=Operator CA",
        ])
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=localhost",
        ])
        try openssl([
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
            "-days", "30", "-extfile", "ext.cnf",
        ])
        let server = try LiveServer(
            extraInit: [
                "--certificate", work.appendingPathComponent("server.pem").path, "--key", work.appendingPathComponent("server.key").path,
                "--ca", work.appendingPathComponent("ca.pem").path,
            ])
        defer { server.finish() }
        #expect(try await server.send(.GET, "/health").status == 200)  // the client trusts the operator's CA only
        let device = try TestDevice(server: server, name: "d")
        try await device.enroll(code: try server.enrollmentCode(scopes: [Self.gridA]))
        try await device.sync()
    }

    @Test func plainHTTPAndClientsThatDoNotTrustTheCAAreRefused() async throws {
        let server = try LiveServer()
        defer { server.finish() }
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
        defer { server.finish() }
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

/// Photos: metadata first, chunked uploads that resume from what the server holds, verified by hash.
@Suite(.serialized) struct PhotoTests {
    let grid = ServerTests.gridA

    func json(_ body: [UInt8]) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:]
    }

    func status(_ device: TestDevice, _ hash: String) async throws -> [String: Any] {
        let body = try JSONSerialization.data(withJSONObject: ["hashes": [hash]])
        let r = try await device.server.send(
            .POST, "/v1/photos/status", body: Array(body), headers: [("Authorization", "Bearer \(device.credential)")])
        return (json(r.body)["photos"] as? [[String: Any]])?.first ?? [:]
    }

    func put(_ device: TestDevice, _ hash: String, _ bytes: Data, offset: Int, count: Int) async throws -> (
        status: Int, body: [String: Any]
    ) {
        let chunk = [UInt8](bytes[offset..<min(bytes.count, offset + count)])
        let r = try await device.server.send(
            .PUT, "/v1/photos/\(hash)?offset=\(offset)&total=\(bytes.count)", body: chunk,
            headers: [("Authorization", "Bearer \(device.credential)")])
        return (r.status, json(r.body))
    }

    @Test func anUploadCutMidwayResumesFromTheServersOffsetAndTheCountyFetchesIt() async throws {
        let server = try LiveServer()
        defer { server.finish() }
        let worker = try TestDevice(server: server, name: "worker")
        let county = try TestDevice(server: server, name: "county")
        let elsewhere = try TestDevice(server: server, name: "elsewhere")
        try await worker.enroll(code: try server.enrollmentCode(scopes: [grid]))
        try await county.enroll(code: try server.enrollmentCode(scopes: ["xizang/lhasa/maizhokunggar"], role: "county"))
        try await elsewhere.enroll(code: try server.enrollmentCode(scopes: [ServerTests.gridB]))

        var rng = SystemRandomNumberGenerator()
        let photo = Data((0..<300_000).map { _ in UInt8.random(in: 0...255, using: &rng) })
        let blobs = try BlobStore(folder: server.folder.appendingPathComponent("worker-photos"))
        let hash = try blobs.put(photo)
        let issue = try worker.replica.reportIssue(IssueReport(grid: grid, kind: .hazard, title: "电瓶车入户充电"))
        try worker.replica.attachPhoto(to: .issue, id: issue, sha256: hash, byteCount: photo.count)

        // Records first: before they are synced the server refuses the bytes.
        #expect(try await put(worker, hash, photo, offset: 0, count: 65_536).status == 409)
        try await worker.sync()
        #expect(try await status(worker, hash)["received"] as? Int == 0)

        // Two chunks, then the link drops.
        #expect(try await put(worker, hash, photo, offset: 0, count: 65_536).body["received"] as? Int == 65_536)
        #expect(try await put(worker, hash, photo, offset: 65_536, count: 65_536).body["received"] as? Int == 131_072)
        // A retry of an acknowledged chunk is refused with the offset to resume from.
        let stale = try await put(worker, hash, photo, offset: 0, count: 65_536)
        #expect(stale.status == 409 && (stale.body["error"] as? [String: Any])?["code"] as? String == "wrong_offset")
        // A third chunk is cut after 10,000 of its 65,536 bytes: the server keeps what arrived.
        let cut = Process()
        cut.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        cut.arguments = ["s_client", "-connect", "127.0.0.1:\(server.port)", "-CAfile", server.caPath, "-quiet"]
        let input = Pipe()
        cut.standardInput = input
        cut.standardOutput = FileHandle.nullDevice
        cut.standardError = FileHandle.nullDevice
        try cut.run()
        let head =
            "PUT /v1/photos/\(hash)?offset=131072&total=\(photo.count) HTTP/1.1\r\nHost: localhost\r\n"
            + "Authorization: Bearer \(worker.credential)\r\nContent-Type: application/octet-stream\r\nContent-Length: 65536\r\n\r\n"
        try input.fileHandleForWriting.write(contentsOf: Data(head.utf8) + photo[131_072..<141_072])
        try await Task.sleep(nanoseconds: 500_000_000)
        try input.fileHandleForWriting.close()
        cut.waitUntilExit()
        var kept = 0
        for _ in 0..<50 where kept != 141_072 {
            kept = try await status(worker, hash)["received"] as? Int ?? 0
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(kept == 141_072, "the part of the cut chunk that arrived is kept")
        // Reconnected: ask where to resume, send only the rest.
        var offset = try #require(try await status(worker, hash)["received"] as? Int)
        #expect(offset == 141_072)
        var sent = 0
        while offset < photo.count {
            let r = try await put(worker, hash, photo, offset: offset, count: 65_536)
            #expect(r.status == 200)
            sent += min(65_536, photo.count - offset)
            offset = try #require(r.body["received"] as? Int)
        }
        #expect(sent == photo.count - 141_072, "nothing the server holds was sent again")
        #expect(try await status(worker, hash)["complete"] as? Bool == true)

        // The county pulls the records, sees the reference and fetches the photo, whole and by range.
        try await county.sync()
        #expect(try county.replica.issueDetail(issue)?.photos.map(\.sha256) == [hash])
        let whole = try await server.send(.GET, "/v1/photos/\(hash)", headers: [("Authorization", "Bearer \(county.credential)")])
        #expect(whole.status == 200 && BlobStore.sha256(whole.body) == hash)
        let part = try await server.send(
            .GET, "/v1/photos/\(hash)", headers: [("Authorization", "Bearer \(county.credential)"), ("Range", "bytes=1000-1999")])
        #expect(part.status == 206 && Data(part.body) == photo[1000..<2000])
        // A device of another grid cannot see it.
        let hidden = try await server.send(.GET, "/v1/photos/\(hash)", headers: [("Authorization", "Bearer \(elsewhere.credential)")])
        #expect(hidden.status == 404)
    }

    @Test func aCorruptUploadIsRefusedAndDiscarded() async throws {
        let server = try LiveServer()
        defer { server.finish() }
        let worker = try TestDevice(server: server, name: "worker")
        try await worker.enroll(code: try server.enrollmentCode(scopes: [grid]))
        let photo = Data(repeating: 7, count: 100_000)
        let hash = BlobStore.sha256(photo)
        let h = try worker.replica.addHousehold(grid: grid, HouseholdFields(doorPlate: "5号"))
        try worker.replica.attachPhoto(to: .household, id: h, sha256: hash)
        try await worker.sync()
        var damaged = photo
        damaged[50_000] = 8  // a bit flipped on the way
        #expect(try await put(worker, hash, damaged, offset: 0, count: 60_000).status == 200)
        let last = try await put(worker, hash, damaged, offset: 60_000, count: 60_000)
        #expect(last.status == 422 && (last.body["error"] as? [String: Any])?["code"] as? String == "hash_mismatch")
        let after = try await status(worker, hash)
        #expect(after["received"] as? Int == 0 && after["complete"] as? Bool == false)
        // The right bytes are then accepted.
        #expect(try await put(worker, hash, photo, offset: 0, count: 100_000).body["complete"] as? Bool == true)
    }
}
