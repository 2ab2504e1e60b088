import Foundation
import GRDB
import SyncCore
import Testing

/// Stores made by a release, kept so that every later build proves it opens, migrates and syncs
/// them, and still speaks to the devices of that release (`Fixtures/<release>/README.md`).
@Suite(.serialized) struct FixtureTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let release = "2026-11-30"
    static let gridA = ServerTests.gridA
    static let county = "xizang/lhasa/maizhokunggar"
    /// The server's files and the two devices' replicas and credentials, all in one folder.
    static let files = [
        "config.json", "ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "store.sqlite", "devices.sqlite",
        "photo-grants.sqlite", "worker.sqlite", "county.sqlite", "worker.credential", "county.credential",
        "exchange-request.bin", "exchange-response.bin", "exchange-versions.txt",
    ]

    /// Writes the fixtures of this release (run by hand once per release:
    /// `GRIDSYNC_WRITE_FIXTURES=1 swift test --filter FixtureTests/writeTheFixturesOfThisRelease`).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["GRIDSYNC_WRITE_FIXTURES"] == "1"))
    func writeTheFixturesOfThisRelease() async throws {
        let server = try LiveServer()
        // The devices' replicas close when `recordAndSync` returns, before their files are copied.
        let hash: String
        do {
            hash = try await Self.recordAndSync(server)
        } catch {
            server.finish()
            throw error
        }
        await server.stop(keepingFolder: true)
        let target = Self.fixtures.appendingPathComponent(Self.release)
        try? FileManager.default.removeItem(at: target)
        try FileManager.default.createDirectory(at: target.appendingPathComponent("photos"), withIntermediateDirectories: true)
        for name in Self.files {
            let source = server.folder.appendingPathComponent(name)
            if name.hasSuffix(".sqlite") {
                // Everything in the main file: no -wal beside it.
                try Self.checkpoint(source.path)
            }
            try FileManager.default.copyItem(at: source, to: target.appendingPathComponent(name))
        }
        try FileManager.default.copyItem(
            at: server.folder.appendingPathComponent("photos").appendingPathComponent(hash),
            to: target.appendingPathComponent("photos").appendingPathComponent(hash))
        try? FileManager.default.removeItem(at: server.folder)
    }

    /// Moves everything of a SQLite file into its main file and leaves WAL mode.
    static func checkpoint(_ path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE") }
        try queue.close()
    }

    /// A worker's and a county's day of this release, synced; returns the photo's hash.
    static func recordAndSync(_ server: LiveServer) async throws -> String {
        let worker = try TestDevice(server: server, name: "worker")
        let center = try TestDevice(server: server, name: "county")
        try await worker.enroll(code: try server.enrollmentCode(scopes: [Self.gridA], name: "扎西"))
        try await center.enroll(code: try server.enrollmentCode(scopes: [Self.county], role: "county", name: "县综治中心"))
        _ = try LiveServer.run(["name-area", "--data", server.folder.path, Self.gridA, "--zh", "2网格", "--bo", "ཁུལ་ ༢"])

        let home = try worker.replica.addHousehold(
            grid: Self.gridA, HouseholdFields(doorPlate: "3村12号", headNameZh: "次仁", headNameBo: "ཚེ་རིང་།", members: 5, tags: ["牧户"]))
        let issue = try worker.replica.reportIssue(
            IssueReport(
                grid: Self.gridA, kind: .dispute, title: "草场使用权纠纷", description: "北坡草场边界", householdID: home, reporter: "扎西",
                dueDate: "2026-12-05"))
        try worker.replica.appendEvent(issueID: issue, kind: .accepted, actor: "扎西")
        try worker.replica.appendEvent(issueID: issue, kind: .visit, actor: "扎西", note: "上门了解情况")
        let photo = Data((0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        let hash = BlobStore.sha256(photo)
        try worker.replica.attachPhoto(to: .issue, id: issue, sha256: hash, byteCount: photo.count, caption: "边界")
        try await worker.sync()
        #expect(try await PhotoTests().put(worker, hash, photo, offset: 0, count: photo.count).body["complete"] as? Bool == true)
        try await center.sync()
        try center.replica.editIssue(issue, IssueFields(handler: "乡综治办"))
        try await center.sync()
        try await worker.sync()

        // One protocol-1 exchange as this release's device makes it (with its versions header, in
        // the changeset format it writes): a new household pushed.
        try worker.replica.addHousehold(grid: Self.gridA, HouseholdFields(doorPlate: "3村14号"))
        let session = SyncSession(replica: worker.replica, peer: server.baseURL)
        let request = SyncMessageCoding.encode(try session.nextRequest())
        let reply = try await server.send(
            .POST, "/v1/sync", body: request,
            headers: [
                ("Authorization", "Bearer \(worker.credential)"), ("Content-Type", "application/x-gridsync"),
                (PeerVersions.header, PeerVersions.current.description),
            ])
        try Data(PeerVersions.current.description.utf8).write(to: server.folder.appendingPathComponent("exchange-versions.txt"))
        #expect(reply.status == 200)
        _ = try session.handle(try SyncMessageCoding.decodeResponse(reply.body), wallMillis: 0)
        try await center.sync()
        try Data(request).write(to: server.folder.appendingPathComponent("exchange-request.bin"))
        try Data(reply.body).write(to: server.folder.appendingPathComponent("exchange-response.bin"))
        try Data(worker.credential.utf8).write(to: server.folder.appendingPathComponent("worker.credential"))
        try Data(center.credential.utf8).write(to: server.folder.appendingPathComponent("county.credential"))
        return hash
    }

    /// Every release's fixtures: the server and both devices open them (migrating what they must),
    /// keep syncing, and the captured protocol-1 exchange is answered as it was.
    @Test(arguments: ["2026-11-29", "2026-11-30"])
    func theStoresOfAnEarlierReleaseOpenMigrateAndSync(release: String) async throws {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-fixture-\(UUID().uuidString.prefix(8))")
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent(release), to: copy)
        // Git keeps no permissions but the executable bit: the data folder is the server's alone.
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: copy.path)
        let server = try LiveServer(serving: copy)
        defer { server.finish() }
        let before = try await ServerTests().sequence(server)
        #expect(before > 0)

        let worker = try TestDevice(server: server, name: "worker")
        let center = try TestDevice(server: server, name: "county")
        worker.credential = try String(contentsOf: copy.appendingPathComponent("worker.credential"), encoding: .utf8)
        center.credential = try String(contentsOf: copy.appendingPathComponent("county.credential"), encoding: .utf8)
        // What the devices recorded then reads the same now.
        let issues = try worker.replica.issues()
        #expect(issues.count == 1 && issues[0].status == .accepted && issues[0].handler == "乡综治办")
        let detail = try #require(try center.replica.issueDetail(issues[0].id))
        #expect(detail.events.map(\.kind) == [.reported, .accepted, .visit] && detail.photos.count == 1)
        #expect(try center.replica.households(limit: 10).count == 2)
        // Every row's clocks are still a blob after the columns of document version 4 were added.
        for path in [worker.replica.path, center.replica.path].compactMap({ $0 }) {
            let db = try GRDB.DatabaseQueue(path: path)
            let notBlobs = try await db.read { db in
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT (SELECT count(*) FROM issues WHERE typeof(_clock) != 'blob') + (SELECT count(*) FROM issue_events WHERE typeof(_clock) != 'blob')"
                )
            }
            #expect(notBlobs == 0)
        }

        // The captured request, replayed as a device of that release sends it: answered, nothing new stored.
        let request = try [UInt8](Data(contentsOf: copy.appendingPathComponent("exchange-request.bin")))
        let then = try SyncMessageCoding.decodeResponse([UInt8](Data(contentsOf: copy.appendingPathComponent("exchange-response.bin"))))
        // A release that sent a versions header is replayed with it (the answer then comes in its format).
        var headers = [("Authorization", "Bearer \(worker.credential)"), ("Content-Type", "application/x-gridsync")]
        if let versions = try? String(contentsOf: copy.appendingPathComponent("exchange-versions.txt"), encoding: .utf8) {
            headers.append((PeerVersions.header, versions))
        }
        let replay = try await server.send(.POST, "/v1/sync", body: request, headers: headers)
        #expect(replay.status == 200)
        let now = try SyncMessageCoding.decodeResponse(replay.body)
        #expect(now.receipt == then.receipt && now.rejections.isEmpty)
        #expect(try await ServerTests().sequence(server) == before)

        // Both keep syncing: a new record goes up from the worker and reaches the county; the photo
        // of that release stays readable by the county.
        let added = try worker.replica.addHousehold(grid: Self.gridA, HouseholdFields(doorPlate: "3村20号"))
        #expect(try await worker.sync().isEmpty)
        #expect(try await center.sync().isEmpty)
        #expect(try center.replica.households(limit: 10).contains { $0.id == added })
        let hash = try #require(detail.photos.first?.sha256)
        let fetched = try await server.send(.GET, "/v1/photos/\(hash)", headers: [("Authorization", "Bearer \(center.credential)")])
        #expect(fetched.status == 200 && BlobStore.sha256(fetched.body) == hash)
    }
}
