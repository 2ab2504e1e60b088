import Foundation
import PostgresFixture
import SyncCore
import Testing

/// The database goes away in the middle of a burst. A PostgreSQL primary with a synchronous standby,
/// both in the server's address (`postgres://…@PRIMARY,STANDBY/…`), crashes and the standby is
/// promoted: the server follows it. Or the only database crashes and comes back. Devices get
/// `503 unavailable` in between and try again; every device finishes, no acknowledged change is
/// lost or doubled, and all replicas converge.
@Suite(.serialized) struct FailoverTests {
    static let grids = (1...2).map { "xizang/lhasa/maizhokunggar/zhaxigang/v1/g\($0)" }

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

    /// Six devices in two grids record and edit in rounds while `disruption` runs half a second in;
    /// every failed answer must be `503 unavailable`, and `database` must hold everything.
    static func burst(_ server: LiveServer, checkedIn database: TemporaryPostgres, disruption: @escaping @Sendable () async throws -> Void)
        async throws
    {
        let burst = try await DisruptedBurst(front: server, grids: grids) { _ in server }
        try await burst.run(rounds: 12, pause: .milliseconds(100)) {
            try await Task.sleep(for: .milliseconds(500))
            burst.strikes()
            try await disruption()
        }
        #expect(burst.disruptedWhileRunning.withLock { $0 } == [true], "the database went down after the burst")
        // In between, the server said it could not reach its database, and nothing else went wrong.
        let statuses = burst.statuses.withLock { $0 }
        #expect(statuses[503, default: 0] > 0, "no 503 while the database was away: \(statuses)")
        #expect(statuses.keys.allSatisfy { $0 == 503 }, "\(statuses): \(burst.bodies.withLock { $0 })")
        #expect(burst.bodies.withLock { $0 }.allSatisfy { $0.contains("\"unavailable\"") })
        try burst.check(database)
        print("database away during a burst: \(burst.written.withLock { $0.count }) households by 6 devices; failed answers \(statuses)")
    }
}
