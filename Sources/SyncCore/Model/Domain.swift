/// The kinds of issue a grid worker records.
public enum IssueKind: String, CaseIterable, Codable, Sendable {
    case dispute, hazard, request
    case publicOrder = "public_order"
    case environment, other
}

/// Who handles an issue: the grid, the township or the county (小事不出村、大事不出乡镇).
public enum IssueTier: String, CaseIterable, Codable, Sendable, Comparable {
    case small, medium, large

    var rank: Int {
        switch self {
        case .small: return 0
        case .medium: return 1
        case .large: return 2
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

/// The kinds of event in an issue's append-only log.
public enum IssueEventKind: String, CaseIterable, Codable, Sendable {
    case reported, dispatched, accepted, visit, escalated, deescalated, resolved
    case followUp = "follow_up"
    case reopened, closed
    /// The result is published on the public results board (晒单): after closing, by village,
    /// township or county staff. It does not change the status.
    case published
}

/// How an issue reached the grid worker (群众点单): the channel the resident used.
public enum IssueChannel: String, CaseIterable, Codable, Sendable {
    /// The resident came or spoke to the worker in person.
    case walkIn = "walk_in"
    case phone
    /// A photo the resident sent (随手拍).
    case photo
    /// The 12345 hotline or another service line.
    case hotline
    /// The worker found it on patrol, with no one asking.
    case patrol
}

/// Where an issue stands, derived from its events.
public enum IssueStatus: String, CaseIterable, Codable, Sendable {
    case reported, dispatched, accepted, reopened, resolved
    case followedUp = "followed_up"
    case closed

    /// Progress along reported → dispatched → accepted → resolved → followed up → closed; a
    /// reopened issue stands where an accepted one does.
    var rank: Int {
        switch self {
        case .reported: return 0
        case .dispatched: return 1
        case .accepted, .reopened: return 2
        case .resolved: return 3
        case .followedUp: return 4
        case .closed: return 5
        }
    }

    /// True once the issue is resolved (or further along).
    public var isDone: Bool { rank >= IssueStatus.resolved.rank }
}

/// A household of the register.
public struct Household: Codable, Equatable, Sendable {
    public var id: String
    public var grid: String
    public var doorPlate: String?
    public var headNameZh: String?
    public var headNameBo: String?
    public var members: Int?
    public var phone: String?
    public var location: String?
    public var tags: [String]
    public var notes: String?
    public var deleted: Bool
}

/// An issue, with its status and tier as derived from its events.
public struct Issue: Codable, Equatable, Sendable {
    public var id: String
    public var grid: String
    public var kind: IssueKind
    /// The tier it was reported at.
    public var reportedTier: IssueTier
    /// The tier it stands at now (escalations and explicit de-escalations applied).
    public var tier: IssueTier
    public var status: IssueStatus
    public var title: String
    public var description: String?
    public var householdID: String?
    public var location: String?
    public var reporter: String?
    public var handler: String?
    /// Due date as `YYYY-MM-DD`.
    public var dueDate: String?
    public var deleted: Bool
    /// The resident who asked (群众点单), by name.
    public var requester: String? = nil
    /// How the request came in.
    public var channel: IssueChannel? = nil
}

/// One event of an issue's log.
public struct IssueEvent: Codable, Equatable, Sendable {
    public var id: String
    public var issueID: String
    public var kind: IssueEventKind
    /// When it happened: the hybrid logical timestamp of the transaction that recorded it.
    public var at: HLCTimestamp
    public var actor: String?
    public var note: String?
    /// The tier escalated or de-escalated to.
    public var tier: IssueTier?
    /// The tier a de-escalation saw when it was recorded (nil for other events).
    public var fromTier: IssueTier? = nil
    /// The resident's satisfaction (1-5) at a follow-up visit.
    public var satisfaction: Int?
    /// The person a dispatch sent the issue to.
    public var assignee: String? = nil
}

/// A photo attached to a household, issue or event, referenced by the SHA-256 of its bytes.
public struct PhotoRef: Codable, Equatable, Sendable {
    public var id: String
    public var ownerTable: String
    public var ownerID: String
    public var sha256: String
    public var caption: String?
    public var byteCount: Int?
}

/// A value that lost to a concurrent edit, waiting for (or past) a person's review.
public struct ConflictRecord: Codable, Equatable, Sendable {
    public var id: String
    public var grid: String
    public var table: String
    public var rowID: String
    public var column: String
    /// The value that lost, as text.
    public var lostValue: String?
    /// When it was written.
    public var lostAt: HLCTimestamp
    /// Which replica wrote it.
    public var lostSite: String
    public var resolved: Bool
    public var resolvedBy: String?
    public var resolution: String?
}

extension HLCTimestamp: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(UInt64.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}
