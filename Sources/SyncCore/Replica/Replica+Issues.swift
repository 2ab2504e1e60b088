/// What a worker records when reporting an issue.
public struct IssueReport: Sendable {
    public var grid: String
    public var kind: IssueKind
    public var tier: IssueTier
    public var title: String
    public var description: String?
    public var householdID: String?
    public var location: String?
    public var reporter: String?
    public var handler: String?
    /// Due date, `YYYY-MM-DD`.
    public var dueDate: String?
    /// The resident who asked, and how the request came in (群众点单).
    public var requester: String? = nil
    public var channel: IssueChannel? = nil

    /// A report of a `kind` issue at `tier` in `grid`.
    public init(
        grid: String, kind: IssueKind, tier: IssueTier = .small, title: String, description: String? = nil,
        householdID: String? = nil, location: String? = nil, reporter: String? = nil, handler: String? = nil,
        dueDate: String? = nil, requester: String? = nil, channel: IssueChannel? = nil
    ) {
        self.requester = requester
        self.channel = channel
        self.grid = grid
        self.kind = kind
        self.tier = tier
        self.title = title
        self.description = description
        self.householdID = householdID
        self.location = location
        self.reporter = reporter
        self.handler = handler
        self.dueDate = dueDate
    }
}

/// Editable fields of an issue; nil leaves a field as it is, "" clears it. The tier changes only
/// through escalation events, the status only through events.
public struct IssueFields: Sendable {
    public var kind: IssueKind?
    public var title: String?
    public var description: String?
    public var householdID: String?
    public var location: String?
    public var handler: String?
    public var dueDate: String?

    /// Fields to set; every one defaults to "leave as it is".
    public init(
        kind: IssueKind? = nil, title: String? = nil, description: String? = nil, householdID: String? = nil,
        location: String? = nil, handler: String? = nil, dueDate: String? = nil
    ) {
        self.kind = kind
        self.title = title
        self.description = description
        self.householdID = householdID
        self.location = location
        self.handler = handler
        self.dueDate = dueDate
    }

    func edits() throws(SyncCoreError) -> [(String, Value)] {
        var e: [(String, Value)] = []
        if let v = kind { e.append(("kind", .text(v.rawValue))) }
        if let v = title { e.append(("title", try InputRules.required(v, Schema.issues["title"], field: .title))) }
        if let v = description {
            e.append(("description", try InputRules.text(v, Schema.issues["description"], field: .description)))
        }
        if let v = householdID { e.append(("household_id", try InputRules.text(v, Schema.issues["household_id"], field: .householdID))) }
        if let v = location { e.append(("location", try InputRules.text(v, Schema.issues["location"], field: .location))) }
        if let v = handler { e.append(("handler", try InputRules.text(v, Schema.issues["handler"], field: .handler))) }
        if let v = dueDate { e.append(("due_date", try InputRules.date(v, field: .dueDate))) }
        return e
    }
}

extension Replica {
    /// Records a new issue and its `reported` event in one transaction; returns the issue's id.
    @discardableResult
    public func reportIssue(_ report: IssueReport, id: String? = nil) throws(SyncCoreError) -> String {
        let grid = try InputRules.grid(report.grid)
        var edits = try IssueFields(
            kind: report.kind, title: report.title, description: report.description, householdID: report.householdID,
            location: report.location, handler: report.handler, dueDate: report.dueDate
        ).edits().filter { $0.1 != .null }
        edits += [
            ("tier", .text(report.tier.rawValue)), ("deleted", .integer(0)),
            ("reporter", try InputRules.text(report.reporter, Schema.issues["reporter"], field: .reporter)),
            ("requester", try InputRules.text(report.requester, Schema.issues["requester"], field: .requester)),
            ("channel", report.channel.map { .text($0.rawValue) } ?? .null),
        ]
        let id = id ?? InputRules.newID()
        try write { context in
            if try context.loadRow(Schema.issues, id: id) != nil {
                throw SyncCoreError.input(.alreadyExists(kind: "issue", id: id))
            }
            if let household = report.householdID, !household.isEmpty {
                try context.checkSameGrid(household: household, grid: grid)
            }
            try context.writeLocal(Schema.issues, id: id, grid: grid, edits.filter { $0.1 != .null })
            try context.appendEvent(
                issueID: id, grid: grid, kind: .reported, actor: report.reporter, note: nil, tier: nil, satisfaction: nil)
            try context.rederiveTouchedIssues()
        }
        return id
    }

    /// Changes the given fields of issue `id`.
    public func editIssue(_ id: String, _ fields: IssueFields) throws(SyncCoreError) {
        let edits = try fields.edits()
        if edits.contains(where: { $0.0 == "title" && $0.1 == .null }) { throw .input(.empty(.title)) }
        try write { context in
            let issue = try context.liveRow(Schema.issues, id: id, kind: "issue")
            if let household = edits.first(where: { $0.0 == "household_id" })?.1.text {
                try context.checkSameGrid(household: household, grid: issue.grid)
            }
            try context.writeLocal(Schema.issues, id: id, grid: "", edits)
        }
    }

    /// Deletes issue `id`, leaving a tombstone; its events stay in the log.
    public func deleteIssue(_ id: String) throws(SyncCoreError) {
        try write { context in
            _ = try context.liveRow(Schema.issues, id: id, kind: "issue")
            try context.writeLocal(Schema.issues, id: id, grid: "", [("deleted", .integer(1))])
        }
    }
}

extension WriteContext {
    /// Refuses a household that is unknown, deleted, or of another grid than the issue naming it.
    func checkSameGrid(household: String, grid: String) throws {
        let row = try liveRow(Schema.households, id: household, kind: "household")
        guard row.grid == grid else {
            throw SyncCoreError.input(.householdInOtherGrid(household: household, grid: row.grid, issueGrid: grid))
        }
    }
}
