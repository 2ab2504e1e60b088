import PostgresNIO
import SyncPostgres

/// Telling a database that cannot be reached from other faults.
enum StoreFailure {
    /// Whether `error` says the database is out of reach for now (no primary, a connection lost or
    /// refused, a server shutting down or still starting, a standby refusing writes): the same
    /// request may succeed shortly, through a promoted standby or a restarted server.
    static func isUnavailable(_ error: any Error) -> Bool {
        switch error {
        case let error as PostgresStoreError:
            switch error {
            case .noPrimary, .noAnswer: return true
            default: return false
            }
        case let error as PSQLError:
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
                return true
            default:
                // 08: connection exception; 57P01-57P03: shutting down or not accepting yet;
                // 25006: a read-only transaction (a standby, or a primary just demoted).
                guard let state = error.serverInfo?[.sqlState] else { return false }
                return state.hasPrefix("08") || ["57P01", "57P02", "57P03", "25006"].contains(state)
            }
        default:
            // The pool's own errors (no connection could be made for a while) come from a module
            // PostgresNIO does not export.
            return String(reflecting: type(of: error)).hasSuffix("ConnectionPoolError")
        }
    }
}
