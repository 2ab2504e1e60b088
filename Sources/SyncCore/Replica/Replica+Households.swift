/// The fields of a household a worker fills in; nil leaves a field as it is, "" clears it.
public struct HouseholdFields: Sendable {
    public var doorPlate: String?
    public var headNameZh: String?
    public var headNameBo: String?
    public var members: Int?
    public var phone: String?
    public var location: String?
    public var tags: [String]?
    public var notes: String?

    /// Fields to set; every one defaults to "leave as it is".
    public init(
        doorPlate: String? = nil, headNameZh: String? = nil, headNameBo: String? = nil, members: Int? = nil,
        phone: String? = nil, location: String? = nil, tags: [String]? = nil, notes: String? = nil
    ) {
        self.doorPlate = doorPlate
        self.headNameZh = headNameZh
        self.headNameBo = headNameBo
        self.members = members
        self.phone = phone
        self.location = location
        self.tags = tags
        self.notes = notes
    }

    func edits() throws(SyncCoreError) -> [(String, Value)] {
        var e: [(String, Value)] = []
        if let v = doorPlate { e.append(("door_plate", try InputRules.text(v, Schema.households["door_plate"], field: .doorPlate))) }
        if let v = headNameZh {
            e.append(("head_name_zh", try InputRules.text(v, Schema.households["head_name_zh"], field: .headNameZh)))
        }
        if let v = headNameBo {
            e.append(("head_name_bo", try InputRules.text(v, Schema.households["head_name_bo"], field: .headNameBo)))
        }
        if let v = members {
            guard (0...500).contains(v) else { throw .input(.members(v)) }
            e.append(("members", Value(v)))
        }
        if let v = phone { e.append(("phone", try InputRules.phone(v))) }
        if let v = location { e.append(("location", try InputRules.text(v, Schema.households["location"], field: .location))) }
        if let v = tags { e.append(("tags", try InputRules.tags(v))) }
        if let v = notes { e.append(("notes", try InputRules.text(v, Schema.households["notes"], field: .notes))) }
        return e
    }
}

extension Replica {
    /// Adds a household to the register of `grid`; returns its new id.
    @discardableResult
    public func addHousehold(grid: String, _ fields: HouseholdFields, id: String? = nil) throws(SyncCoreError) -> String {
        let grid = try InputRules.grid(grid)
        var edits = try fields.edits().filter { $0.1 != .null }
        if edits.allSatisfy({ !["door_plate", "head_name_zh", "head_name_bo"].contains($0.0) }) {
            throw .input(.householdNeedsPlateOrHead)
        }
        let id = id ?? InputRules.newID()
        edits.append(("deleted", .integer(0)))
        try write { context in
            if try context.loadRow(Schema.households, id: id) != nil {
                throw SyncCoreError.input(.alreadyExists(kind: "household", id: id))
            }
            try context.writeLocal(Schema.households, id: id, grid: grid, edits)
        }
        return id
    }

    /// Changes the given fields of household `id`.
    public func editHousehold(_ id: String, _ fields: HouseholdFields) throws(SyncCoreError) {
        let edits = try fields.edits()
        try write { context in
            _ = try context.liveRow(Schema.households, id: id, kind: "household")
            try context.writeLocal(Schema.households, id: id, grid: "", edits)
        }
    }

    /// Deletes household `id`, leaving a tombstone that no stale replica can undo.
    public func deleteHousehold(_ id: String) throws(SyncCoreError) {
        try write { context in
            _ = try context.liveRow(Schema.households, id: id, kind: "household")
            try context.writeLocal(Schema.households, id: id, grid: "", [("deleted", .integer(1))])
        }
    }
}

extension WriteContext {
    /// Loads a row that must exist and not be deleted.
    func liveRow(_ table: SyncedTable, id: String, kind: String) throws -> StoredRow {
        guard let row = try loadRow(table, id: id) else { throw SyncCoreError.notFound(kind: kind, id: id) }
        if let i = table.index(of: "deleted"), row.values[i].integer == 1 {
            throw SyncCoreError.deleted(kind: kind, id: id)
        }
        return row
    }
}
