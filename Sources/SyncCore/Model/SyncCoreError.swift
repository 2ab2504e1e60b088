/// An error of the engine: a stable code, a human message and the context it happened in.
public enum SyncCoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An argument or a stored value does not satisfy the domain's rules.
    case invalidInput(String)
    /// No record with this id (of this kind) exists.
    case notFound(kind: String, id: String)
    /// The record was deleted; its tombstone stays and it can no longer change.
    case deleted(kind: String, id: String)
    /// The lifecycle does not allow this event now (e.g. closing an issue that is not resolved).
    case lifecycle(String)
    /// The local database file is damaged or not a GridSync replica.
    case damagedReplica(String)
    /// The clock refused a timestamp.
    case clock(ClockError)
    /// SQLite reported an error (message and, where known, the SQL that failed).
    case database(String)

    /// A short, stable code for logs, exit codes and protocol errors.
    public var code: String {
        switch self {
        case .invalidInput: return "invalid_input"
        case .notFound: return "not_found"
        case .deleted: return "deleted"
        case .lifecycle: return "lifecycle"
        case .damagedReplica: return "damaged_replica"
        case .clock: return "clock"
        case .database: return "database"
        }
    }

    public var description: String {
        switch self {
        case let .invalidInput(m): return m
        case let .notFound(kind, id): return "no \(kind) with id \(id)"
        case let .deleted(kind, id): return "\(kind) \(id) was deleted"
        case let .lifecycle(m): return m
        case let .damagedReplica(m): return "damaged replica: \(m)"
        case let .clock(e): return e.description
        case let .database(m): return "database error: \(m)"
        }
    }
}
