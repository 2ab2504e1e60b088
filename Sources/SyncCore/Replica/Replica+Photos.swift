import GRDB

/// What a photo is attached to.
public enum PhotoOwner: String, CaseIterable, Sendable {
    case household = "households"
    case issue = "issues"
    case event = "issue_events"

    var table: SyncedTable {
        switch self {
        case .household: return Schema.households
        case .issue: return Schema.issues
        case .event: return Schema.issueEvents
        }
    }
}

extension Replica {
    /// Attaches the photo with SHA-256 `sha256` to a household, issue or event; returns the
    /// reference's id. The bytes are stored and sent separately, by hash.
    @discardableResult
    public func attachPhoto(
        to owner: PhotoOwner, id ownerID: String, sha256: String, byteCount: Int? = nil, caption: String? = nil
    ) throws(SyncCoreError) -> String {
        let hash = try InputRules.sha256(sha256)
        if let byteCount, byteCount < 0 { throw .invalidInput("byte count must not be negative") }
        return try write { context in
            let row = try context.liveRow(owner.table, id: ownerID, kind: String(owner.table.name.dropLast()))
            // The id derived from the owner and the photo, which changeset format 2 need not send.
            // The same photo attached again is the same reference; once detached (a tombstone is
            // final) it is attached anew under a random id.
            var id = DerivedID.photoRef(ownerTable: owner.rawValue, ownerID: ownerID, sha256: hash.text ?? "")
            if let existing = try context.loadRow(Schema.photoRefs, id: id) {
                guard existing.values[Schema.photoRefs.index(of: "deleted")!].integer == 1 else { return id }
                id = InputRules.newID()
            }
            let edits: [(String, Value)] = [
                ("owner_table", .text(owner.rawValue)), ("owner_id", .text(ownerID)), ("sha256", hash),
                ("caption", try InputRules.text(caption, Schema.photoRefs["caption"], field: .caption)), ("byte_count", Value(byteCount)),
                ("deleted", .integer(0)),
            ]
            try context.writeLocal(Schema.photoRefs, id: id, grid: row.grid, edits.filter { $0.1 != .null })
            return id
        }
    }

    /// True when photo `sha256` is attached (and not detached) to `owner`'s row `ownerID`.
    public func isPhotoAttached(to owner: PhotoOwner, id ownerID: String, sha256: String) throws(SyncCoreError) -> Bool {
        let hash = try InputRules.sha256(sha256)
        return try read { db in
            try Bool.fetchOne(
                db,
                sql: "SELECT 1 FROM photo_refs WHERE owner_table = ? AND owner_id = ? AND sha256 = ? AND IFNULL(deleted, 0) = 0 LIMIT 1",
                arguments: [owner.rawValue, ownerID, hash.databaseValue]) == true
        }
    }

    /// The grids of the living records that reference photo `sha256` (where it may be seen).
    public func gridsReferencing(photo sha256: String) throws(SyncCoreError) -> [String] {
        let hash = try InputRules.sha256(sha256)
        return try read { db in
            try String.fetchAll(
                db, sql: "SELECT DISTINCT grid FROM photo_refs WHERE sha256 = ? AND IFNULL(deleted, 0) = 0", arguments: [hash.databaseValue]
            )
        }
    }

    /// Every photo hash referenced by a living record here.
    public func referencedPhotos() throws(SyncCoreError) -> [String] {
        try read { db in
            try String.fetchAll(
                db, sql: "SELECT DISTINCT sha256 FROM photo_refs WHERE IFNULL(deleted, 0) = 0 AND sha256 IS NOT NULL ORDER BY sha256")
        }
    }
}
