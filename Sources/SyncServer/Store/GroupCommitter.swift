import Dispatch
import Foundation
import SyncCore

/// Group commit: pushes that arrive while the store is committing wait, then go in together in
/// the next transaction. Each device still gets its own report and its own receipt, but a burst
/// of devices costs one fsync per group instead of one per device (and, on PostgreSQL, one turn
/// of the change-log counter per group).
final class GroupCommitter: @unchecked Sendable {
    /// A push waiting for the next commit, with the receipt it earns.
    struct Push: Sendable {
        var changes: Changeset
        var sender: Sender
        var receipt: Receipt?
    }

    private struct Pending {
        var push: Push
        var continuation: CheckedContinuation<ApplyReport, any Error>
    }

    private let merge: @Sendable ([Push]) async throws -> [ApplyReport]
    private let lock = NSLock()
    private var pending: [Pending] = []
    private var draining = false
    /// At most this many changes go into one transaction.
    let maxChangesPerCommit: Int

    /// A committer merging each group with `merge`, in one transaction.
    init(maxChangesPerCommit: Int = 50_000, merge: @escaping @Sendable ([Push]) async throws -> [ApplyReport]) {
        self.merge = merge
        self.maxChangesPerCommit = maxChangesPerCommit
    }

    /// Merges `changes` durably (together with whatever else is waiting) and returns its report.
    func apply(_ changes: Changeset, from sender: Sender, receipt: Receipt? = nil) async throws -> ApplyReport {
        try await withCheckedThrowingContinuation { continuation in
            lock.lock()
            pending.append(Pending(push: Push(changes: changes, sender: sender, receipt: receipt), continuation: continuation))
            let start = !draining
            draining = true
            lock.unlock()
            if start { Task { await self.drain() } }
        }
    }

    /// The next group to commit (empty, and the committer idle, when none waits).
    private func nextGroup() -> [Pending] {
        lock.lock()
        defer { lock.unlock() }
        var count = 0
        var take = 0
        while take < pending.count && (take == 0 || count + pending[take].push.changes.changeCount <= maxChangesPerCommit) {
            count += pending[take].push.changes.changeCount
            take += 1
        }
        let group = Array(pending.prefix(take))
        pending.removeFirst(take)
        if group.isEmpty { draining = false }
        return group
    }

    private func drain() async {
        while true {
            let group = nextGroup()
            if group.isEmpty { return }
            do {
                let reports = try await merge(group.map(\.push))
                for (item, report) in zip(group, reports) { item.continuation.resume(returning: report) }
            } catch {
                for item in group { item.continuation.resume(throwing: error) }
            }
        }
    }
}
