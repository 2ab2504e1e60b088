/// An error of the engine: a stable code, a human message and the context it happened in.
public enum SyncCoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An argument or a stored value does not satisfy the domain's rules.
    case invalidInput(String)
    /// No record with this id (of this kind) exists.
    case notFound(kind: String, id: String)
    /// The record was deleted; its tombstone stays and it can no longer change.
    case deleted(kind: String, id: String)
    /// The lifecycle does not allow this event now (e.g. closing an issue that is not resolved).
    case lifecycle(LifecycleRefusal)
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
        case let .lifecycle(r): return r.description
        case let .damagedReplica(m): return "damaged replica: \(m)"
        case let .clock(e): return e.description
        case let .database(m): return "database error: \(m)"
        }
    }
}

/// Why the lifecycle refuses an event now: each case names what a person can act on, so that a
/// tool can say it in the person's language (`description` is English).
public enum LifecycleRefusal: Equatable, Sendable, CustomStringConvertible {
    /// An issue is reported once, when it is recorded.
    case reportedOnce
    /// Escalation needs a tier above the current one.
    case escalationNeedsHigherTier(current: IssueTier)
    /// De-escalation needs a tier below the current one.
    case deescalationNeedsLowerTier(current: IssueTier)
    /// Only a resolved or closed issue can be reopened.
    case reopenNeedsDone(status: IssueStatus)
    /// A closed issue takes no visit until it is reopened.
    case closedReopenFirst
    /// A follow-up visit records the resident's satisfaction.
    case followUpNeedsSatisfaction
    /// The event would move the status back (only reopening does).
    case wouldMoveBack(status: IssueStatus, event: IssueEventKind)
    /// The event needs a resolved issue.
    case needsResolved(event: IssueEventKind, status: IssueStatus)
    /// Only a closed issue's result is published.
    case publishNeedsClosed(status: IssueStatus)

    public var description: String {
        switch self {
        case .reportedOnce: return "an issue is reported once, when it is recorded"
        case let .escalationNeedsHigherTier(t): return "escalation needs a tier above \(t.rawValue)"
        case let .deescalationNeedsLowerTier(t): return "de-escalation needs a tier below \(t.rawValue)"
        case let .reopenNeedsDone(s): return "only a resolved or closed issue can be reopened (it is \(s.rawValue))"
        case .closedReopenFirst: return "the issue is closed: reopen it first"
        case .followUpNeedsSatisfaction: return "a follow-up visit records the resident's satisfaction (1-5)"
        case let .wouldMoveBack(s, e): return "the issue is already \(s.rawValue); \(e.rawValue) would move it back (reopen it first)"
        case let .needsResolved(e, s): return "\(e.rawValue) needs a resolved issue (it is \(s.rawValue))"
        case let .publishNeedsClosed(s): return "only a closed issue's result is published (it is \(s.rawValue))"
        }
    }
}
