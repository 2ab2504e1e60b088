import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The database a store writes to: the host of its address, or, with several
/// (`postgres://USER@HOST1:PORT1,HOST2:PORT2/DATABASE`, a primary and its standbys), whichever of
/// them is the primary now.
///
/// A monitor asks every host `SELECT pg_is_in_recovery()` twice a second, all at once, over one
/// connection of its own per host. Work goes to the primary in use while it answers as one; it is
/// given up after `missesAllowed` surveys in a row without that answer, or at once if it says it is
/// a standby, and another host is taken only when it is the one host that says it is a primary.
/// While there is none (the database is down, or its primary died and no standby is promoted yet)
/// work fails at once with `PostgresStoreError.noPrimary`, which a server answers with
/// `503 unavailable`; devices try again. Promoting a standby is the operator's act (`pg_ctl
/// promote`, `pg_promote()`); the monitor only follows it.
///
/// When the primary is given up, its pool is replaced by a fresh one, and the work still running
/// on the old pool fails at once. PostgresNIO 1.33 can leave a query written just as its
/// connection closes waiting for ever; such work would otherwise hold a pool connection, a request
/// and the server's shutdown for good. For the same reason any work still unanswered after
/// `workDeadline` (connections cut while the database stayed up) fails with
/// `PostgresStoreError.noAnswer`.
public final class PostgresPrimary: Sendable {
    private struct Host {
        /// The pool, and its task when this object runs it (nil: the caller runs it).
        var client: PostgresClient
        var running: Task<Void, Never>?
        /// The work running on `client`.
        var outstanding = Outstanding()
        /// The monitor's connection.
        var probe: PostgresConnection?
    }

    private struct State {
        var hosts: [Host]
        /// The host work goes to; nil while none is known to be a primary.
        var primary: Int?
        /// Whether the monitor has asked every host once.
        var surveyed: Bool
        /// Surveys in a row in which the current primary did not answer as one.
        var misses = 0
        /// The hosts that last said they were primaries (to log two of them once, not each survey).
        var primaries: [Int] = []
        /// Set when `run()` ends: no new work.
        var closed = false
    }

    /// Surveys in a row the primary may miss (a checkpoint's stall, a full connection table) before
    /// it is given up.
    static let missesAllowed = 3

    private let state: Mutex<State>
    private let address: PostgresAddress?
    private let connections: Int
    private let logger: Logger
    /// How often the monitor asks, and how long it waits for an answer or a connection.
    let interval: Duration
    let timeout: Duration
    /// How long work may go unanswered before it fails.
    let workDeadline: Duration
    /// The hosts, `HOST:PORT`, for messages.
    public let names: [String]

    /// The hosts of `address`, each with a pool of at most `connections` connections; `run()`
    /// runs them (and the monitor, with several hosts).
    public init(
        _ address: PostgresAddress, connections: Int = 20, logger: Logger, interval: Duration = .milliseconds(500),
        timeout: Duration = .seconds(2), workDeadline: Duration = .seconds(60)
    ) {
        let pools = address.clientConfigurations(connections: connections).map {
            Host(client: PostgresClient(configuration: $0, backgroundLogger: logger))
        }
        state = Mutex(State(hosts: pools, primary: pools.count == 1 ? 0 : nil, surveyed: pools.count == 1))
        self.address = address
        self.connections = connections
        names = address.hosts.map { "\($0.host):\($0.port)" }
        self.logger = logger
        self.interval = interval
        self.timeout = timeout
        self.workDeadline = workDeadline
    }

    /// One pool that the caller runs (tests, tools): no monitor, no other host.
    public init(running client: PostgresClient, logger: Logger = Logger(label: "gridsync.postgres")) {
        state = Mutex(State(hosts: [Host(client: client)], primary: 0, surveyed: true))
        address = nil
        connections = 0
        names = ["(one pool)"]
        self.logger = logger
        interval = .seconds(1)
        timeout = .seconds(1)
        workDeadline = .seconds(60)
    }

    /// Runs the pools and the monitor until the task is cancelled.
    public func run() async {
        guard address != nil else { return }
        state.withLock { state in
            for i in state.hosts.indices {
                let client = state.hosts[i].client
                state.hosts[i].running = Task { await client.run() }
            }
        }
        while !Task.isCancelled {
            await survey()
            let overdue = state.withLock { $0.hosts.map(\.outstanding) }
            for work in overdue { work.fail(startedBefore: .now - workDeadline, PostgresStoreError.noAnswer(workDeadline.description)) }
            try? await Task.sleep(for: interval)
        }
        let (tasks, probes, outstanding) = state.withLock { state in
            defer {
                state.closed = true
                state.primary = nil
                for i in state.hosts.indices {
                    state.hosts[i].running = nil
                    state.hosts[i].probe = nil
                }
            }
            return (state.hosts.compactMap(\.running), state.hosts.compactMap(\.probe), state.hosts.map(\.outstanding))
        }
        for work in outstanding { work.fail(startedBefore: nil, PostgresStoreError.noPrimary("(the store is closing)")) }
        for probe in probes { try? await probe.close() }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    /// Waits until the monitor has asked every host once (bounded by its timeouts), so that a
    /// store opened right after `run()` starts finds its primary.
    public func ready() async {
        let deadline = ContinuousClock.now + timeout * (names.count + 1) + .seconds(1)
        while !state.withLock({ $0.surveyed }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The host work goes to now, `HOST:PORT`, or nil while there is none.
    public var current: String? { state.withLock { $0.primary.map { names[$0] } } }

    /// Runs `work` on the primary's pool, in a task of its own that the caller stops waiting for
    /// when the pool is given up, the work is overdue, or the caller is cancelled.
    private func bounded<T: Sendable>(_ work: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let gate = Gate<T, any Error>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                gate.open(continuation)
                // The pool and its record of work are taken together, so that work never joins a
                // record the monitor has already given up.
                let taken = state.withLock { state -> (PostgresClient, Outstanding, UInt64)? in
                    guard let primary = state.primary, !state.closed else { return nil }
                    let outstanding = state.hosts[primary].outstanding
                    return (state.hosts[primary].client, outstanding, outstanding.add { error in gate.resume(.failure(error)) })
                }
                guard let (client, outstanding, id) = taken else {
                    gate.resume(.failure(PostgresStoreError.noPrimary(names.joined(separator: ", "))))
                    return
                }
                Task {
                    let result: Result<T, any Error>
                    do {
                        result = .success(try await work(client))
                    } catch {
                        result = .failure(error)
                    }
                    outstanding.remove(id)
                    gate.resume(result)
                }
            }
        } onCancel: {
            gate.resume(.failure(CancellationError()))
        }
    }

    // MARK: Work, as on a PostgresClient

    @discardableResult
    public func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await bounded { client in try await client.query(query, logger: logger) }
    }

    public func withConnection<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws
        -> Result
    {
        try await bounded { client in try await client.withConnection(body) }
    }

    /// Runs `body` in a transaction on one connection, opened with `begin` (`BEGIN ISOLATION LEVEL
    /// …`, say), throwing what went wrong itself (the body's error, the BEGIN's or the COMMIT's,
    /// PostgreSQL's SQLSTATEs unwrapped).
    ///
    /// Not PostgresNIO's `withTransaction`: after a body that failed because the connection was
    /// lost (the database crashed, say), it sends ROLLBACK into the closed connection, and in
    /// PostgresNIO 1.33 a query written to a closed connection never completes, so the request
    /// waited forever and the server could not stop. Here a lost connection is not rolled back:
    /// PostgreSQL ends a transaction whose connection is gone by itself.
    package func transaction<T: Sendable>(
        logger: Logger, begin: PostgresQuery = "BEGIN", _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection { connection in
            try await connection.query(begin, logger: logger)
            let value: T
            do {
                value = try await body(connection)
            } catch {
                if !connection.isClosed { _ = try? await connection.query("ROLLBACK", logger: logger) }
                throw error
            }
            try await connection.query("COMMIT", logger: logger)
            return value
        }
    }

    // MARK: The monitor

    /// What a host said it is.
    enum Role: Equatable, Sendable, CustomStringConvertible {
        case primary, standby, unreachable
        var description: String {
            switch self {
            case .primary: "primary"
            case .standby: "standby"
            case .unreachable: "unreachable"
            }
        }
    }

    /// Asks every host at once, then moves work to the primary if it is elsewhere now.
    ///
    /// The primary in use is given up only after `missesAllowed` surveys in a row in which it did
    /// not answer as a primary. Another host is taken only when it is the one host that says it is
    /// a primary: with two (an old primary started again beside the promoted one), work waits with
    /// `noPrimary` rather than risk the wrong one.
    private func survey() async {
        let roles = await withTaskGroup(of: (Int, Role).self) { group -> [Role] in
            for i in names.indices { group.addTask { (i, await self.role(of: i)) } }
            var roles = [Role](repeating: .unreachable, count: names.count)
            for await (i, role) in group { roles[i] = role }
            return roles
        }
        let primaries = roles.indices.filter { roles[$0] == .primary }
        let (before, after, first, newlySeen) = state.withLock { state -> (Int?, Int?, Bool, Bool) in
            let first = !state.surveyed
            state.surveyed = true
            let newlySeen = primaries != state.primaries
            state.primaries = primaries
            let before = state.primary
            if let current = before {
                if roles[current] == .primary {
                    state.misses = 0
                    return (before, before, first, newlySeen)
                }
                state.misses += 1
                if state.misses < Self.missesAllowed && roles[current] == .unreachable { return (before, before, first, newlySeen) }
                // Work on a host that is gone fails now; a fresh pool stands ready for its return.
                state.hosts[current].outstanding.fail(startedBefore: nil, PostgresStoreError.noPrimary(names[current]))
                state.hosts[current].outstanding = Outstanding()
                if roles[current] == .unreachable, let address {
                    state.hosts[current].running?.cancel()
                    let fresh = PostgresClient(
                        configuration: address.clientConfigurations(connections: connections)[current], backgroundLogger: logger)
                    state.hosts[current].client = fresh
                    state.hosts[current].running = Task { await fresh.run() }
                }
            }
            state.misses = 0
            state.primary = primaries.count == 1 ? primaries[0] : nil
            return (before, state.primary, first, newlySeen)
        }
        let roleList = zip(names, roles).map { "\($0) \($1)" }.joined(separator: ", ")
        if before != after || first {
            logger.log(
                level: first ? .info : .warning, "PostgreSQL primary: \(after.map { names[$0] } ?? "none")",
                metadata: ["hosts": "\(roleList)"])
        }
        if primaries.count > 1 && newlySeen {
            logger.error(
                "more than one PostgreSQL host says it is the primary; writing to \(after.map { names[$0] } ?? "none of them")",
                metadata: ["hosts": "\(roleList)"])
        }
    }

    /// Asks host `i` whether it is in recovery, over the monitor's connection (made again when it
    /// is gone). Gives up after `timeout` without waiting for the question: PostgresNIO can leave
    /// a query written as its connection closes unanswered for ever.
    private func role(of i: Int) async -> Role {
        // nil: no answer in time.
        let gate = Gate<Role?, Never>()
        Task { gate.resume(.success(await self.ask(i))) }
        let timer = Task {
            try? await Task.sleep(for: self.timeout)
            gate.resume(.success(nil))
        }
        let answer = await withCheckedContinuation { gate.open($0) }
        // Answered in time: the timer need not live out its wait (its late resume does nothing).
        timer.cancel()
        guard let answer else {
            // The connection may still be waiting for its answer: the next survey makes a new one.
            try? await dropProbe(i)?.close()
            return .unreachable
        }
        return answer
    }

    private func dropProbe(_ i: Int) -> PostgresConnection? {
        state.withLock { state in
            defer { state.hosts[i].probe = nil }
            return state.hosts[i].probe
        }
    }

    private func ask(_ i: Int) async -> Role {
        guard let address else { return .primary }
        do {
            var probe = state.withLock { $0.hosts[i].probe }
            if probe == nil || probe?.isClosed == true {
                let made = try await PostgresConnection.connect(
                    on: MultiThreadedEventLoopGroup.singleton.any(),
                    configuration: try address.connectionConfiguration(host: i, timeout: timeout), id: i, logger: logger
                ).get()
                state.withLock { $0.hosts[i].probe = made }
                probe = made
            }
            guard let probe else { return .unreachable }
            for try await recovering in try await probe.query("SELECT pg_is_in_recovery()", logger: logger).decode(Bool.self) {
                return recovering ? .standby : .primary
            }
            return .unreachable
        } catch {
            try? await dropProbe(i)?.close()
            return .unreachable
        }
    }
}

/// The work running on one pool, each with the way to stop waiting for it.
private final class Outstanding: Sendable {
    private struct Entry {
        let started: ContinuousClock.Instant
        let fail: @Sendable (any Error) -> Void
    }

    private let state = Mutex<(next: UInt64, work: [UInt64: Entry])>((0, [:]))

    func add(_ fail: @escaping @Sendable (any Error) -> Void) -> UInt64 {
        state.withLock { state in
            state.next += 1
            state.work[state.next] = Entry(started: .now, fail: fail)
            return state.next
        }
    }

    func remove(_ id: UInt64) { _ = state.withLock { $0.work.removeValue(forKey: id) } }

    /// Fails the work started before `instant` (all of it when nil) with `error`.
    func fail(startedBefore instant: ContinuousClock.Instant?, _ error: any Error) {
        let failed = state.withLock { state -> [Entry] in
            let ids = state.work.filter { entry in instant.map { entry.value.started < $0 } ?? true }.map(\.key)
            return ids.compactMap { state.work.removeValue(forKey: $0) }
        }
        for entry in failed { entry.fail(error) }
    }
}

/// A continuation resumed once: by the work's end, or by giving up on it, whichever comes first.
/// `open` may come after `resume` (a caller cancelled before it waited): the first result is kept.
private final class Gate<T: Sendable, E: Error>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, E>?
    private var early: Result<T, E>?
    private var done = false

    /// Hands the continuation over; resumes it at once if a result came first.
    func open(_ continuation: CheckedContinuation<T, E>) {
        lock.lock()
        if let early {
            lock.unlock()
            continuation.resume(with: early)
            return
        }
        self.continuation = continuation
        lock.unlock()
    }

    func resume(_ result: Result<T, E>) {
        lock.lock()
        guard !done else {
            lock.unlock()
            return
        }
        done = true
        guard let waiting = continuation else {
            early = result
            lock.unlock()
            return
        }
        continuation = nil
        lock.unlock()
        waiting.resume(with: result)
    }
}
