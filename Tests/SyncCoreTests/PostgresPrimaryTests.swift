import Foundation
import Logging
import PostgresFixture
import SyncPostgres
import Testing

/// Which host `PostgresPrimary` writes to, against real clusters: never one of two primaries, the
/// one left when the other is gone, none while the only one is down, and it again once back.
@Suite(.serialized) struct PostgresPrimaryTests {
    /// Waits up to `seconds` for `primary.current` to be `expected` (long: with the whole suite
    /// running, a question to a host can take seconds).
    static func waitFor(_ expected: String?, on primary: PostgresPrimary, seconds: Double = 60) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while primary.current != expected && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
    }

    @Test(.timeLimit(.minutes(5))) func writesOnlyToTheOnePrimary() async throws {
        let a = try TemporaryPostgres()
        let b = try TemporaryPostgres()
        let (nameA, nameB) = ("127.0.0.1:\(a.port)", "127.0.0.1:\(b.port)")
        let address = try PostgresAddress("postgres://gridsync@\(nameA),\(nameB)/postgres?sslmode=disable")
        let primary = PostgresPrimary(
            address, connections: 2, logger: Logger(label: "test.primary"), interval: .milliseconds(100), timeout: .seconds(3))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await primary.run() }
            defer { group.cancelAll() }
            await primary.ready()
            // Two hosts that both say they are primaries: neither is written to.
            #expect(primary.current == nil)
            await #expect(throws: PostgresStoreError.self) { try await primary.query("SELECT 1", logger: Logger(label: "test")) }
            // One of them gone: the other is the primary.
            try b.crash()
            try await Self.waitFor(nameA, on: primary)
            #expect(primary.current == nameA)
            var answered = 0
            for try await one in try await primary.query("SELECT 1", logger: Logger(label: "test")).decode(Int.self) { answered = one }
            #expect(answered == 1)
            // The only primary down: work fails at once, after a few missed surveys.
            try a.crash()
            try await Self.waitFor(nil, on: primary)
            #expect(primary.current == nil)
            let started = ContinuousClock.now
            await #expect(throws: PostgresStoreError.self) { try await primary.query("SELECT 1", logger: Logger(label: "test")) }
            #expect(ContinuousClock.now - started < .seconds(1))
            // Back: written to again, through a fresh pool.
            try a.restart()
            try await Self.waitFor(nameA, on: primary)
            #expect(primary.current == nameA)
            let rows = try await primary.withConnection { connection in
                var total = 0
                for try await n in try await connection.query("SELECT 41 + 1", logger: Logger(label: "test")).decode(Int.self) { total = n }
                return total
            }
            #expect(rows == 42)
        }
    }
}
