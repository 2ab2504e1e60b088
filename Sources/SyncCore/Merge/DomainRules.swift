/// What values the domain's columns may hold, checked on every incoming change as on local writes,
/// so a hostile or broken peer cannot store what the API would refuse (a `deleted` of 2, an
/// unknown event kind, a malformed photo hash). Null is always allowed.
enum DomainRules {
    static func check(table: String, change: ColumnChange) -> RejectionReason? {
        let value = change.value
        if value == .null { return nil }
        let ok: Bool
        switch (table, change.column) {
        case (_, "deleted"), ("conflicts", "resolved"):
            ok = value == .integer(0) || value == .integer(1)
        case ("issues", "kind"):
            ok = value.text.flatMap(IssueKind.init(rawValue:)) != nil
        case ("issues", "tier"), ("issue_events", "tier"), ("issue_events", "from_tier"):
            ok = value.text.flatMap(IssueTier.init(rawValue:)) != nil
        case ("issue_events", "kind"):
            ok = value.text.flatMap(IssueEventKind.init(rawValue:)) != nil
        case ("issue_events", "satisfaction"):
            ok = (1...5).contains(value.integer ?? 0)
        case ("issue_events", "at"):
            ok = (value.integer ?? 0) > 0
        case ("households", "members"):
            ok = (0...500).contains(value.integer ?? -1)
        case ("photo_refs", "sha256"):
            ok = (try? InputRules.sha256(value.text ?? "")) == value
        case ("photo_refs", "owner_table"):
            ok = value.text.flatMap(PhotoOwner.init(rawValue:)) != nil
        case ("photo_refs", "byte_count"):
            ok = (value.integer ?? -1) >= 0
        case ("issues", "due_date"):
            ok = (try? InputRules.date(value.text, field: "due date")) == value
        default:
            ok = true
        }
        return ok ? nil : .invalid("\(table).\(change.column) cannot be \(value)")
    }
}
