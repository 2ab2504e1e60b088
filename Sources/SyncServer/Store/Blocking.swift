import Dispatch

/// Runs blocking work (SQLite) on a global dispatch queue and awaits its result, so slow store
/// calls cannot hold every thread of the concurrency pool on a 2-core machine.
func runBlocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}
