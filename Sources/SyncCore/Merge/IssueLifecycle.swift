/// Derives an issue's status and tier from its event log — the lifecycle-aware part of the merge.
///
/// Events are a set that merges by union, so concurrent events all survive. Folded in timestamp
/// order (then event id), they give the same answer on every replica:
/// - forward events move the status forward only (a late "accepted" does not undo "resolved");
/// - only `reopened` moves it back;
/// - `escalated` raises the tier and never lowers it; only `deescalated` lowers it, and only from
///   the tier its author saw (so a concurrent escalation wins).
public enum IssueLifecycle {
    /// One event as the fold sees it.
    public struct Step: Sendable {
        public var kind: IssueEventKind
        public var at: HLCTimestamp
        public var id: String
        public var tier: IssueTier?
        /// For a de-escalation: the tier its author saw and lowered.
        public var fromTier: IssueTier?

        /// A step of kind `kind` recorded at `at`.
        public init(kind: IssueEventKind, at: HLCTimestamp, id: String, tier: IssueTier?, fromTier: IssueTier? = nil) {
            self.kind = kind
            self.at = at
            self.id = id
            self.tier = tier
            self.fromTier = fromTier
        }
    }

    /// The status and tier after `events`, starting from `reportedTier`.
    public static func derive(reportedTier: IssueTier, events: [Step]) -> (status: IssueStatus, tier: IssueTier) {
        var status = IssueStatus.reported
        var tier = reportedTier
        let ordered = events.sorted { $0.at != $1.at ? $0.at < $1.at : $0.id < $1.id }
        for event in ordered {
            switch event.kind {
            case .reported, .visit, .published:
                break
            case .dispatched: status = advance(status, to: .dispatched)
            case .accepted: status = advance(status, to: .accepted)
            case .resolved: status = advance(status, to: .resolved)
            case .followUp: status = advance(status, to: .followedUp)
            case .closed: status = advance(status, to: .closed)
            case .reopened: status = .reopened
            case .escalated:
                if let t = event.tier { tier = max(tier, t) }
            case .deescalated:
                // Only a de-escalation of the tier its author saw counts: one made without having
                // seen a concurrent escalation does not undo it.
                if let t = event.tier, event.fromTier == tier { tier = t }
            }
        }
        return (status, tier)
    }

    static func advance(_ status: IssueStatus, to next: IssueStatus) -> IssueStatus {
        next.rank > status.rank ? next : status
    }
}
