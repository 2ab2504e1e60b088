/// The role a device is enrolled with: what its person does in the order loop (PRODUCT.md).
public enum DeviceRole: String, Codable, CaseIterable, Sendable {
    /// A grid worker (网格员): the register and the issues of their grids.
    case worker
    /// Village or community staff: dispatch, close small matters, reopen.
    case village
    /// Township staff: take and close medium matters, de-escalate.
    case township
    /// The county center: any event on any issue of the county.
    case county
    /// The server's operator: devices, scopes and the area tree, nothing in the data.
    case `operator`
}

/// Who may write what: by role, by table and by event kind. The server enforces it on every push;
/// the field tool checks it before recording, so a refusal is said at once and locally.
public enum WritePolicy {
    /// The event kinds each role may record (`closed` is further limited by the issue's tier).
    static func eventKinds(_ role: DeviceRole) -> Set<IssueEventKind> {
        let worker: Set<IssueEventKind> = [.reported, .visit, .accepted, .escalated, .resolved, .followUp, .closed]
        switch role {
        case .worker: return worker
        case .village: return worker.union([.dispatched, .reopened, .published])
        case .township, .county: return worker.union([.dispatched, .reopened, .deescalated, .published])
        case .operator: return []
        }
    }

    /// The highest tier of issue each role may close: small matters stay in the village (小事不出村),
    /// medium ones in the township, large ones go to the county.
    public static func highestTierClosed(by role: DeviceRole) -> IssueTier? {
        switch role {
        case .worker, .village: return .small
        case .township: return .medium
        case .county: return .large
        case .operator: return nil
        }
    }

    /// Why `role` may not write rows of `table`, or nil.
    public static func refusal(role: DeviceRole, table: String) -> String? {
        if role == .operator { return "an operator's device writes no records" }
        if table == Schema.grids.name { return "area names come from the operator, not from devices" }
        return nil
    }

    /// Why `role` may not change `column` of an existing row of `table`, or nil: who handles an
    /// issue is named when it is reported, and changed after only by dispatching it (村派单), which a
    /// grid worker does not do.
    public static func refusal(role: DeviceRole, changing column: String, of table: String) -> String? {
        guard role == .worker, table == Schema.issues.name, column == "handler" else { return nil }
        return "a grid worker does not reassign an issue: it is dispatched by the village, township or county"
    }

    /// Why a device of `role` whose person is `person` may not accept an issue whose handler is
    /// `handler`, or nil: a grid worker accepts what was dispatched to them (网格员接单), or an issue
    /// no one handles yet.
    public static func refusal(role: DeviceRole, accepting handler: String?, as person: String?) -> String? {
        guard role == .worker, let handler, let person, handler != person else { return nil }
        return "a grid worker accepts only what was dispatched to them (this issue is dispatched to \(handler))"
    }

    /// Why `role` may not record an event of `kind` on an issue standing at `tier`, or nil.
    public static func refusal(role: DeviceRole, event kind: IssueEventKind, issueTier tier: IssueTier?) -> String? {
        guard eventKinds(role).contains(kind) else { return "a \(role.rawValue) may not record \(kind.rawValue) events" }
        if kind == .closed, let tier, let highest = highestTierClosed(by: role), tier > highest {
            return "a \(role.rawValue) may not close a \(tier.rawValue) issue (at most \(highest.rawValue))"
        }
        return nil
    }
}

/// Who sent a changeset, and so which rules beyond the data's own apply to it.
///
/// A replica merging what its server sent trusts the server for identity and roles (`Sender.server`)
/// but still checks every rule of the data. The server merging a device's push binds it to that
/// device: its site, its role, its enrolled person and its scopes.
public struct Sender: Sendable {
    /// The grids the sender may write (nil: any).
    public var scopes: [AreaPath]?
    /// The site the sender's changes must carry (nil: any).
    public var site: SiteID?
    /// Sites the sender's changes may carry besides `site`: those of the device folder it adopted
    /// (a copy taken over on another handheld), whose unsent writes it sends.
    public var formerSites: Set<SiteID> = []
    /// The sender's role, whose `WritePolicy` applies (nil: none).
    public var role: DeviceRole?
    /// Whether tables, columns and values this release does not know (a later release's) are
    /// kept as they came and sent on in pulls, rather than refused: a server keeps what newer
    /// devices send. The sender's other rules still apply to them: scope, site, timestamps, sizes.
    public var keepsUnknown = false
    /// The person the sender's events and reports are recorded under, when checked.
    public var author: Author

    /// Whether and how the author columns (`issue_events.actor`, `issues.reporter`) are checked.
    public enum Author: Sendable, Equatable {
        /// Not checked.
        case unchecked
        /// Must be this name (nil: must be empty).
        case named(String?)
    }

    /// A sender limited to `scopes` and nothing else (nil: any).
    public init(
        scopes: [AreaPath]? = nil, site: SiteID? = nil, formerSites: Set<SiteID> = [], role: DeviceRole? = nil, author: Author = .unchecked
    ) {
        self.scopes = scopes
        self.site = site
        self.formerSites = formerSites
        self.role = role
        self.author = author
    }

    /// A replica's server: trusted for identity and roles, not for the data's rules.
    public static let server = Sender()
}
