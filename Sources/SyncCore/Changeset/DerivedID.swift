import Crypto

/// Ids that child rows take from what they belong to (protocol.md §3.5), so that changeset format 2
/// need not carry them: an event's from its issue and version, a photo reference's from its owner
/// and photo. A derived id is an ordinary id (a UUID's text, RFC 9562 version 8); a replica that
/// cannot use one (it is taken) picks a random id, which then travels.
public enum DerivedID {
    /// The id an event of issue `issueID` written with `version` takes.
    public static func event(issueID: String, version: Version) -> String {
        derive(["issue_events", issueID, String(version.timestamp.rawValue), version.site.hex])
    }

    /// The id a reference from `ownerTable`'s row `ownerID` to photo `sha256` takes.
    public static func photoRef(ownerTable: String, ownerID: String, sha256: String) -> String {
        derive(["photo_refs", ownerTable, ownerID, sha256])
    }

    /// The id `row` would have if derived, or nil when its table derives none or the row lacks a
    /// column the derivation needs.
    static func of(table: String, version: Version, value: (String) -> Value?) -> String? {
        switch table {
        case "issue_events":
            guard case let .text(issue)? = value("issue_id") else { return nil }
            return event(issueID: issue, version: version)
        case "photo_refs":
            guard case let .text(owner)? = value("owner_table"), case let .text(id)? = value("owner_id"),
                case let .text(hash)? = value("sha256")
            else { return nil }
            return photoRef(ownerTable: owner, ownerID: id, sha256: hash)
        default: return nil
        }
    }

    /// The first 16 bytes of SHA-256 over the parts' UTF-8 joined by single 0 bytes, marked as a
    /// version-8 UUID (byte 6's high nibble 8, byte 8's high bits 10) and written 8-4-4-4-12 in
    /// lowercase hex.
    static func derive(_ parts: [String]) -> String {
        var hasher = SHA256()
        for (i, part) in parts.enumerated() {
            if i > 0 { hasher.update(data: [0]) }
            hasher.update(data: Array(part.utf8))
        }
        var bytes = Array(hasher.finalize().prefix(16))
        bytes[6] = bytes[6] & 0x0F | 0x80
        bytes[8] = bytes[8] & 0x3F | 0x80
        return ChangesetEncoding.unpackUUID(bytes[...])
    }
}
