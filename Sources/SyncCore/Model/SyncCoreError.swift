/// An error of the engine: a stable code, a human message and the context it happened in.
public enum SyncCoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An argument or a stored value does not satisfy the domain's rules.
    case invalidInput(String)
    /// What a person typed breaks a rule they can correct (code `invalid_input` as well).
    case input(InputRefusal)
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
        case .invalidInput, .input: return "invalid_input"
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
        case let .input(r): return r.description
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

/// A field a person fills in, named by a stable key (`door_plate`) so that a tool can say it in the
/// person's language; `english` is the name in the engine's English messages.
public enum InputField: String, Sendable, CaseIterable {
    case actor, assignee, caption, description, handler, location, name, note, notes, phone, reporter, requester, resolution,
        tag, title
    case doorPlate = "door_plate", dueDate = "due_date", headNameZh = "head_name_zh", headNameBo = "head_name_bo"
    case householdID = "household_id", resolvedBy = "resolved_by", areaNameZh = "area_name_zh", areaNameBo = "area_name_bo"

    public var english: String {
        switch self {
        case .doorPlate: return "door plate"
        case .dueDate: return "due date"
        case .headNameZh: return "head of household (Chinese)"
        case .headNameBo: return "head of household (Tibetan)"
        case .householdID: return "household id"
        case .resolvedBy: return "resolved by"
        case .areaNameZh: return "Chinese name"
        case .areaNameBo: return "Tibetan name"
        default: return rawValue
        }
    }
}

/// Why what a person typed is refused before anything is stored: each case names what they can
/// correct, so that a tool can say it in their language (`description` is English).
public enum InputRefusal: Equatable, Sendable, CustomStringConvertible {
    case empty(InputField)
    case tooLong(InputField, maxBytes: Int)
    case controlCharacter(InputField, scalar: UInt32)
    /// Not `YYYY-MM-DD`, or a day the calendar does not have (2026-02-30).
    case notADate(InputField, text: String)
    /// A phone number holds only digits, spaces and + - ( ).
    case phone(text: String)
    case tagWithComma(String)
    /// A photo hash is 64 hex digits.
    case photoHash(String)
    /// A household has 0 to 500 members.
    case members(Int)
    /// Satisfaction is 1 to 5.
    case satisfaction(Int)
    case householdNeedsPlateOrHead
    /// `kind` is `household` or `issue`.
    case alreadyExists(kind: String, id: String)
    /// An id is 1 to 256 bytes.
    case idLength
    /// An id prefix shorter than `minimum` characters matches too much to act on.
    case idTooShort(prefix: String, minimum: Int)
    /// An id prefix shared by several records (at most six listed).
    case ambiguousID(prefix: String, candidates: [String])
    case householdInOtherGrid(household: String, grid: String, issueGrid: String)
    case searchTooLong(maxBytes: Int)
    /// A report's period whose start is not before its end.
    case emptyPeriod
    /// An area path has 1 to 12 segments of a-z, 0-9, - and _.
    case areaPath(String)

    public var description: String {
        switch self {
        case let .empty(f): return "\(f.english) must not be empty"
        case let .tooLong(f, max): return "\(f.english) is longer than \(max) bytes"
        case let .controlCharacter(f, v): return "\(f.english) contains a control character (U+\(String(v, radix: 16, uppercase: true)))"
        case let .notADate(f, t): return "\(f.english) must be an existing date YYYY-MM-DD: \(t.debugDescription)"
        case let .phone(t): return "phone may hold only digits, spaces and + - ( ): \(t.debugDescription)"
        case let .tagWithComma(t): return "a tag may not contain a comma: \(t.debugDescription)"
        case let .photoHash(t): return "a photo hash is 64 hex digits (SHA-256): \(t.debugDescription)"
        case let .members(n): return "members must be 0 to 500, not \(n)"
        case let .satisfaction(n): return "satisfaction is 1 to 5, not \(n)"
        case .householdNeedsPlateOrHead: return "a household needs a door plate or the name of its head"
        case let .alreadyExists(kind, id): return "\(kind) \(id) already exists"
        case .idLength: return "an id is 1 to 256 characters"
        case let .idTooShort(prefix, minimum): return "type at least \(minimum) characters of the id, not \(prefix)"
        case let .ambiguousID(prefix, ids):
            return "\(prefix) could be any of \(ids.prefix(5).joined(separator: ", "))\(ids.count > 5 ? ", …" : ""): type more of the id"
        case let .householdInOtherGrid(h, grid, issueGrid):
            return "household \(h) belongs to grid \(grid), not to the issue's grid \(issueGrid)"
        case let .searchTooLong(max): return "search text is longer than \(max) bytes"
        case .emptyPeriod: return "the report period is empty: its start is not before its end"
        case let .areaPath(p):
            return "\(p.debugDescription) is not an area path: 1 to 12 parts joined by /, each 1 to 64 of a-z, 0-9, - and _"
        }
    }
}
