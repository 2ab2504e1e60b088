import Foundation
import PostgresFixture
import SyncCore
import Synchronization
import Testing

/// Devices in several grids recording and editing in rounds, syncing after each (a failed sync is
/// tried again, as in the field), while a test breaks something on the server's side; then the
/// checks every such test makes against the database left: receipts, nothing lost or doubled,
/// replicas converged, the change log passed over by no pull.
final class DisruptedBurst: @unchecked Sendable {
    static let county = "xizang/lhasa/maizhokunggar"

    let grids: [String]
    let front: LiveServer
    private(set) var devices: [(TestDevice, String)] = []
    private(set) var countyDevice: TestDevice!
    /// The households the burst wrote, how many devices are done, failed answers by status (0: no
    /// answer) and the first bodies, whether the disruption came while devices were still at work.
    let written = Mutex<Set<String>>([])
    let finished = Mutex(0)
    let statuses = Mutex<[Int: Int]>([:])
    let bodies = Mutex<[String]>([])
    let disruptedWhileRunning = Mutex<[Bool]>([])

    /// `perGrid` devices in each grid and a county device, all talking to `front`; device `d` of a
    /// grid is enrolled with a code from `enrolling(d)`.
    init(front: LiveServer, grids: [String], perGrid: Int = 3, enrolling: (Int) -> LiveServer) async throws {
        self.front = front
        self.grids = grids
        for (g, grid) in grids.enumerated() {
            for d in 0..<perGrid {
                let device = try TestDevice(server: front, name: "w\(g)-\(d)")
                try await device.enroll(code: try enrolling(d).enrollmentCode(scopes: [grid]))
                devices.append((device, grid))
            }
        }
        countyDevice = try TestDevice(server: front, name: "county")
        try await countyDevice.enroll(code: try enrolling(perGrid - 1).enrollmentCode(scopes: [Self.county], role: "county"))
        // A register of four households per grid that everyone edits later.
        for (device, grid) in devices where device === devices.first(where: { $0.1 == grid })!.0 {
            for k in 0..<4 {
                try device.replica.addHousehold(grid: grid, HouseholdFields(doorPlate: "\(k)号"), id: "\(grid.suffix(2))-shared-\(k)")
            }
            try await sync(device)
        }
        for (device, _) in devices { try await sync(device) }
    }

    /// Syncs `device` until it succeeds, noting each failed answer.
    func sync(_ device: TestDevice, attempts: Int = 150) async throws {
        var failures = 0
        while true {
            do {
                try await device.sync()
                return
            } catch ServerTestError.http(let status, let body) {
                statuses.withLock { $0[status, default: 0] += 1 }
                bodies.withLock { if $0.count < 20 { $0.append(body) } }
            } catch {
                statuses.withLock { $0[0, default: 0] += 1 }
            }
            failures += 1
            if failures >= attempts { throw ServerTestError.setup("sync still failing after \(failures) tries: \(bodies.withLock { $0 })") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Notes whether devices were still at work; the disruption calls it as it strikes.
    func strikes() { disruptedWhileRunning.withLock { $0.append(finished.withLock { $0 } < devices.count) } }

    /// Every device records five households and edits a shared one per round, then syncs; `disrupt`
    /// runs beside them. Then every device and the county sync once more.
    func run(rounds: Int, pause: Duration = .zero, disrupt: @escaping @Sendable () async throws -> Void) async throws {
        let work = devices
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (n, (device, grid)) in work.enumerated() {
                group.addTask {
                    for round in 0..<rounds {
                        for k in 0..<5 {
                            let id = try device.replica.addHousehold(grid: grid, HouseholdFields(doorPlate: "\(round)-\(k)号 \(n)"))
                            self.written.withLock { _ = $0.insert(id) }
                        }
                        try device.replica.editHousehold(
                            "\(grid.suffix(2))-shared-\(round % 4)", HouseholdFields(notes: "第\(round)轮 设备\(n)"))
                        try await self.sync(device)
                        if pause > .zero { try await Task.sleep(for: pause) }
                    }
                    self.finished.withLock { $0 += 1 }
                }
            }
            group.addTask { try await disrupt() }
            try await group.waitForAll()
        }
        for (device, _) in devices { try await sync(device) }
        try await sync(countyDevice)
    }

    /// The checks, against `database` (the one left).
    func check(_ database: TemporaryPostgres) throws {
        // Receipts: every device's writes are acknowledged, and the database holds that receipt.
        let receipts = try database.psql("SELECT site || ' ' || acknowledged FROM devices")
        for (device, _) in devices {
            let cursor = try device.replica.peerCursor(front.baseURL)
            #expect(try device.replica.pendingOwnChanges(after: cursor.acknowledged) == 0)
            #expect(receipts.contains("\(device.replica.site.hex) \(cursor.acknowledged)"), "receipt of \(device.replica.site.hex)")
        }
        // Nothing lost, nothing doubled: the county holds each written household once, and the store as many.
        let held = try countyDevice.replica.households(limit: 100_000).map(\.id)
        let written = written.withLock { $0 }
        #expect(held.count == Set(held).count)
        #expect(Set(held).isSuperset(of: written))
        #expect(held.count == written.count + 4 * grids.count)
        #expect(try database.psql("SELECT count(*) FROM households") == "\(held.count)\n")
        // Convergence: the devices of a grid hold the same register, as the county sees it.
        for (device, grid) in devices {
            let countyView = try countyDevice.replica.households(area: grid, limit: 100_000).map { "\($0.id) \($0.notes ?? "")" }
            #expect(try device.replica.households(area: grid, limit: 100_000).map { "\($0.id) \($0.notes ?? "")" } == countyView)
        }
        // The change log was numbered by one counter: no gap in commit order that a pull passed
        // over (the county's cursor equals the newest number).
        let newest = try database.psql("SELECT last_lv FROM gridsync_meta").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try countyDevice.replica.peerCursor(front.baseURL).pulled == Int64(newest))
    }
}
