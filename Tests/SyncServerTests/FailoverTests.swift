import Foundation
import PostgresFixture
import SyncCore
import Synchronization
import Testing

/// The database goes away in the middle of a burst. A PostgreSQL primary with a synchronous standby,
/// both in the server's address (`postgres://…@PRIMARY,STANDBY/…`), crashes and the standby is
/// promoted: the server follows it. Or the only database crashes and comes back. Devices get
/// `503 unavailable` in between and try again; every device finishes, no acknowledged change is
/// lost or doubled, and all replicas converge.
@Suite(.serialized) struct FailoverTests {
    static let county = "xizang/lhasa/maizhokunggar"
    static let grids = (1...2).map { "xizang/lhasa/maizhokunggar/zhaxigang/v1/g\($0)" }

    /// What the devices saw while the database moved.
    final class Seen: Sendable {
        let written = Mutex<Set<String>>([])
        let statuses = Mutex<[Int: Int]>([:])
        let bodies = Mutex<[String]>([])
        let crashedWhileRunning = Mutex(false)
        let finished = Mutex(0)
    }

    /// Syncs `device` until it succeeds, noting each failed answer's status.
    static func syncRetrying(_ device: TestDevice, _ seen: Seen) async throws {
        var failures = 0
        while true {
            do {
                try await device.sync()
                return
            } catch ServerTestError.http(let status, let body) {
                seen.statuses.withLock { $0[status, default: 0] += 1 }
                seen.bodies.withLock { if $0.count < 20 { $0.append(body) } }
                failures += 1
            } catch {
                seen.statuses.withLock { $0[0, default: 0] += 1 }
                failures += 1
            }
            if failures >= 150 { throw ServerTestError.setup("sync still failing after \(failures) tries: \(seen.bodies.withLock { $0 })") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    @Test(.timeLimit(.minutes(3))) func devicesFinishWhenTheStandbyIsPromoted() async throws {
        let primary = try TemporaryPostgres()
        let standby = try TemporaryPostgres(standbyOf: primary)
        try primary.requireSynchronousStandby()
        let address = "postgres://gridsync@127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)/postgres?sslmode=disable"
        let server = try LiveServer(extraInit: ["--store", address])
        defer { server.finish() }
        try await Self.burst(server, checkedIn: standby) {
            try primary.crash()
            // Long enough for the server to see no primary, and answer so.
            try await Task.sleep(for: .milliseconds(1500))
            try standby.promote()
        }
        #expect(server.log.contains("PostgreSQL primary: 127.0.0.1:\(standby.port)"))
        #expect(try standby.psql("SELECT pg_is_in_recovery()") == "f\n")
    }

    /// One database host that crashes and comes back: requests cut by the crash, and those that come
    /// while it is down, are answered `503 unavailable`; none waits for ever, and after its recovery
    /// every device finishes.
    @Test(.timeLimit(.minutes(3))) func devicesFinishWhenTheOnlyDatabaseRestarts() async throws {
        let database = try TemporaryPostgres()
        let server = try LiveServer(extraInit: ["--store", database.address])
        defer { server.finish() }
        try await Self.burst(server, checkedIn: database) {
            try database.crash()
            try await Task.sleep(for: .milliseconds(1500))
            try database.restart()
        }
    }

    /// Devices in two grids record and edit in rounds, syncing after each, while `disruption` runs
    /// half a second in; then every device and the county sync once more, and the database
    /// `checkedIn` must hold every receipt and every household once.
    static func burst(_ server: LiveServer, checkedIn database: TemporaryPostgres, disruption: @escaping @Sendable () async throws -> Void)
        async throws
    {
        var devices: [(TestDevice, String)] = []
        for (g, grid) in Self.grids.enumerated() {
            for d in 0..<3 {
                let device = try TestDevice(server: server, name: "w\(g)-\(d)")
                try await device.enroll(code: try server.enrollmentCode(scopes: [grid]))
                devices.append((device, grid))
            }
        }
        let county = try TestDevice(server: server, name: "county")
        try await county.enroll(code: try server.enrollmentCode(scopes: [Self.county], role: "county"))
        let seen = Seen()
        for (device, grid) in devices where device === devices.first(where: { $0.1 == grid })!.0 {
            for k in 0..<4 {
                try device.replica.addHousehold(grid: grid, HouseholdFields(doorPlate: "\(k)号"), id: "\(grid.suffix(2))-shared-\(k)")
            }
            try await Self.syncRetrying(device, seen)
        }
        for (device, _) in devices { try await Self.syncRetrying(device, seen) }

        let work = devices
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (n, (device, grid)) in work.enumerated() {
                group.addTask {
                    for round in 0..<12 {
                        for k in 0..<5 {
                            let id = try device.replica.addHousehold(grid: grid, HouseholdFields(doorPlate: "\(round)-\(k)号 \(n)"))
                            seen.written.withLock { _ = $0.insert(id) }
                        }
                        try device.replica.editHousehold(
                            "\(grid.suffix(2))-shared-\(round % 4)", HouseholdFields(notes: "第\(round)轮 设备\(n)"))
                        try await Self.syncRetrying(device, seen)
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    seen.finished.withLock { $0 += 1 }
                }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(500))
                seen.crashedWhileRunning.withLock { $0 = seen.finished.withLock { $0 } < work.count }
                try await disruption()
            }
            try await group.waitForAll()
        }
        #expect(seen.crashedWhileRunning.withLock { $0 }, "the database went down after the burst")
        for (device, _) in devices { try await Self.syncRetrying(device, seen) }
        try await Self.syncRetrying(county, seen)

        // In between, the server said it could not reach its database, and nothing else went wrong.
        let statuses = seen.statuses.withLock { $0 }
        #expect(statuses[503, default: 0] > 0, "no 503 while the database was away: \(statuses)")
        #expect(statuses.keys.allSatisfy { $0 == 503 }, "\(statuses): \(seen.bodies.withLock { $0 })")
        #expect(seen.bodies.withLock { $0 }.allSatisfy { $0.contains("\"unavailable\"") })

        // Every device's writes are acknowledged, and the database holds those receipts.
        let receipts = try database.psql("SELECT site || ' ' || acknowledged FROM devices")
        for (device, _) in devices {
            let cursor = try device.replica.peerCursor(server.baseURL)
            #expect(try device.replica.pendingOwnChanges(after: cursor.acknowledged) == 0)
            #expect(receipts.contains("\(device.replica.site.hex) \(cursor.acknowledged)"), "receipt of \(device.replica.site.hex)")
        }
        // Nothing lost, nothing doubled, every replica of a grid the same as the county's view.
        let held = try county.replica.households(limit: 100_000).map(\.id)
        let written = seen.written.withLock { $0 }
        #expect(held.count == Set(held).count)
        #expect(Set(held).isSuperset(of: written))
        #expect(held.count == written.count + 4 * Self.grids.count)
        #expect(try database.psql("SELECT count(*) FROM households") == "\(held.count)\n")
        for (device, grid) in devices {
            let countyView = try county.replica.households(area: grid, limit: 100_000).map { "\($0.id) \($0.notes ?? "")" }
            #expect(try device.replica.households(area: grid, limit: 100_000).map { "\($0.id) \($0.notes ?? "")" } == countyView)
        }
        let newest = try database.psql("SELECT last_lv FROM gridsync_meta").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try county.replica.peerCursor(server.baseURL).pulled == Int64(newest))
        print("database away during a burst: \(written.count) households by 6 devices; failed answers \(statuses)")
    }
}
