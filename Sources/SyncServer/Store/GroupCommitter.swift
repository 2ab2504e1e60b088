import Dispatch
import Foundation
import SyncCore

/// Group commit: pushes that arrive while the store is committing wait, then go in together in
/// the next transaction. Each device still gets its own report and its own receipt, but a burst
/// of devices costs one fsync per group instead of one per device.
final class GroupCommitter: @unchecked Sendable {
    private struct Pending {
        var changes: Changeset
        var sender: Sender
        var continuation: CheckedContinuation<ApplyReport, any Error>
    }

    private let merge: @Sendable ([(Changeset, Sender)]) throws -> [ApplyReport]
    private let lock = NSLock()
    private var pending: [Pending] = []
    private var draining = false
    /// At most this many changes go into one transaction.
    let maxChangesPerCommit: Int

    /// A committer merging each group with `merge`, in one transaction.
    init(maxChangesPerCommit: Int = 50_000, merge: @escaping @Sendable ([(Changeset, Sender)]) throws -> [ApplyReport]) {
        self.merge = merge
        self.maxChangesPerCommit = maxChangesPerCommit
    }

    /// Merges `changes` durably (together with whatever else is waiting) and returns its report.
    func apply(_ changes: Changeset, from sender: Sender) async throws -> ApplyReport {
        try await withCheckedThrowingContinuation { continuation in
            lock.lock()
            pending.append(Pending(changes: changes, sender: sender, continuation: continuation))
            let start = !draining
            draining = true
            lock.unlock()
            if start { DispatchQueue.global().async { self.drain() } }
        }
    }

    private func drain() {
        while true {
            lock.lock()
            var count = 0
            var take = 0
            while take < pending.count && (take == 0 || count + pending[take].changes.changeCount <= maxChangesPerCommit) {
                count += pending[take].changes.changeCount
                take += 1
            }
            let group = Array(pending.prefix(take))
            pending.removeFirst(take)
            if group.isEmpty { draining = false }
            lock.unlock()
            if group.isEmpty { return }
            do {
                let reports = try merge(group.map { ($0.changes, $0.sender) })
                for (item, report) in zip(group, reports) { item.continuation.resume(returning: report) }
            } catch {
                for item in group { item.continuation.resume(throwing: error) }
            }
        }
    }
}
