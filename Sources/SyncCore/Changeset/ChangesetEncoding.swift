/// The binary encoding of changesets, format version 1 (specified in protocol.md, "Changeset
/// encoding"): an envelope of version, flags and body length, then a body that lists every string
/// and site id once and refers to them by index, optionally zlib-compressed.
public enum ChangesetEncoding {
    /// The format version this code writes.
    public static let formatVersion: UInt8 = 1
    /// Format versions this code reads.
    public static let supportedVersions: [UInt8] = [1]
    /// Default limit on a decoded body: 32 MiB.
    public static let defaultMaxBodyBytes = 32 << 20

    static let flagCompressed: UInt8 = 1

    enum Tag: UInt8 {
        case null = 0, integer = 1, real = 2, text = 3, blob = 4
    }

    /// Encodes `changeset`, compressing the body when that makes it smaller.
    public static func encode(_ changeset: Changeset, compress: Bool = true) -> [UInt8] {
        let body = encodeBody(changeset)
        var out = ByteWriter()
        out.byte(formatVersion)
        let packed = compress ? Deflate.compress(body) : body
        let useCompressed = compress && packed.count < body.count
        out.byte(useCompressed ? flagCompressed : 0)
        out.varint(body.count)
        out.append(useCompressed ? packed : body)
        return out.bytes
    }

    static func encodeBody(_ changeset: Changeset) -> [UInt8] {
        var strings: [String] = []
        var stringIndex: [String: Int] = [:]
        var sites: [SiteID] = []
        var siteIndex: [SiteID: Int] = [:]
        func intern(_ s: String) -> Int {
            if let i = stringIndex[s] { return i }
            stringIndex[s] = strings.count
            strings.append(s)
            return strings.count - 1
        }
        func site(_ s: SiteID) -> Int {
            if let i = siteIndex[s] { return i }
            siteIndex[s] = sites.count
            sites.append(s)
            return sites.count - 1
        }
        var rows = ByteWriter()
        rows.varint(changeset.rows.count)
        var previous: Int64 = 0
        for row in changeset.rows {
            rows.varint(intern(row.table))
            rows.varint(intern(row.rowID))
            rows.varint(intern(row.grid))
            rows.varint(row.changes.count)
            for change in row.changes {
                rows.varint(intern(change.column))
                switch change.value {
                case .null: rows.byte(Tag.null.rawValue)
                case let .integer(i):
                    rows.byte(Tag.integer.rawValue)
                    rows.zigzag(i)
                case let .real(d):
                    rows.byte(Tag.real.rawValue)
                    rows.uint64LE(d.bitPattern)
                case let .text(s):
                    rows.byte(Tag.text.rawValue)
                    rows.varint(intern(s))
                case let .blob(b):
                    rows.byte(Tag.blob.rawValue)
                    rows.varint(b.count)
                    rows.append(b)
                }
                let ts = Int64(bitPattern: change.version.timestamp.rawValue)
                rows.zigzag(ts &- previous)
                previous = ts
                rows.varint(site(change.version.site))
                if let base = change.base {
                    rows.varint(site(base.site) + 1)
                    rows.zigzag(ts &- Int64(bitPattern: base.timestamp.rawValue))
                } else {
                    rows.varint(0)
                }
            }
        }
        var body = ByteWriter()
        body.varint(strings.count)
        for s in strings {
            let utf8 = Array(s.utf8)
            body.varint(utf8.count)
            body.append(utf8)
        }
        body.varint(sites.count)
        for s in sites { body.uint64LE(s.rawValue) }
        body.append(rows.bytes)
        return body.bytes
    }
}
