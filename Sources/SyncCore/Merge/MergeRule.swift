/// The per-column merge rule, a pure function of the two versions of one column.
///
/// - The higher version (hybrid logical timestamp, then site id) wins: last writer wins.
/// - a tombstone (`ColumnMerge.sticky`, the `deleted` columns) is sticky: the larger value wins whatever the versions, so no
///   replica, however stale, can bring a deleted record back.
/// - The losing value is a conflict when its writer's work was overwritten by someone who had not
///   seen it: the winner's base is not the loser's version, the writers differ and the values differ.
///   This is exact for direct overwrites and errs towards reporting when an older value arrives
///   after a chain of later edits (a person can dismiss it; a silent loss cannot be undone).
enum MergeRule {
    /// A value with its clock, one side of a merge.
    struct Side {
        var value: Value
        var version: Version
        var base: Version?
    }

    /// What merging an incoming value into a local one does.
    enum Outcome: Equatable {
        /// Same version: nothing to do (this is what makes apply idempotent).
        case unchanged
        /// The incoming value wins; `lost` is the local value if it was lost to a concurrent write.
        case takeIncoming(lostLocal: Bool)
        /// The local value stays; `lost` tells whether the incoming value was a concurrent write.
        case keepLocal(lostIncoming: Bool)
    }

    static func merge(_ rule: ColumnMerge, local: Side?, incoming: Side) -> Outcome {
        guard let local else { return .takeIncoming(lostLocal: false) }
        if local.version == incoming.version { return .unchanged }
        let incomingWins: Bool
        if rule == .sticky {
            let l = local.value.integer ?? 0
            let r = incoming.value.integer ?? 0
            incomingWins = l != r ? r > l : incoming.version > local.version
        } else {
            incomingWins = incoming.version > local.version
        }
        let (winner, loser) = incomingWins ? (incoming, local) : (local, incoming)
        let lost =
            winner.value != loser.value
            && winner.base != loser.version
            && winner.version.site != loser.version.site
        return incomingWins ? .takeIncoming(lostLocal: lost) : .keepLocal(lostIncoming: lost)
    }
}
