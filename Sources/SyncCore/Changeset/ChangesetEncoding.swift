/// The binary encoding of changesets (protocol.md §3): an envelope of format, flags and body
/// length, then a body, optionally zlib-compressed. Format 1 lists every string and site id once and
/// refers to them by index; format 2 (`ChangesetFormat2.swift`) groups rows by table and values by
/// column, derives child rows' ids and compresses with a preset dictionary.
public enum ChangesetEncoding {
    /// The newest format this code writes (to peers that read it).
    public static let formatVersion: UInt8 = 2
    /// Format versions this code reads and writes.
    public static let supportedVersions: [UInt8] = [1, 2]
    /// Default limit on a decoded body: 32 MiB.
    public static let defaultMaxBodyBytes = 32 << 20

    static let flagCompressed: UInt8 = 1

    /// The bound an encoder keeps to: the one receivers of document version 1 enforced (64 KiB in
    /// any case), so that older servers and devices accept what this one sends.
    static func sendingLimit(encodedBytes: Int) -> Int {
        max(64 << 10, encodedBytes.multipliedReportingOverflow(by: 256).partialValue)
    }

    /// How many bytes of body, and of ids and values counted each time they are referred to, an
    /// encoded changeset of `encodedBytes` bytes may stand for: 256 times its size, and 1 MiB in
    /// any case. A small input cannot make a receiver allocate or store much more than it sent.
    public static func expansionLimit(encodedBytes: Int) -> Int {
        max(1 << 20, encodedBytes.multipliedReportingOverflow(by: 256).partialValue)
    }

    enum Tag: UInt8 {
        case null = 0, integer = 1, real = 2, text = 3, blob = 4
    }

    /// Encodes `changeset` in `format` (1 or 2), compressing the body when that makes it smaller.
    /// Format 2 sends rows in the order `canonical(_:)` gives.
    public static func encode(_ changeset: Changeset, format: UInt8 = formatVersion, compress: Bool = true) -> [UInt8] {
        precondition(supportedVersions.contains(format), "changeset format \(format) is not one this code writes")
        let body = format == 1 ? encodeBody(changeset) : encodeBody2(changeset)
        // A zlib stream takes at least 8 bytes, so a body that short (an empty changeset's) is never
        // worth compressing, and zlib's setup would cost more than everything else here.
        let tryCompressing = compress && body.count > Deflate.minimumStreamBytes
        let packed =
            !tryCompressing ? body : format == 1 ? Deflate.compress(body) : Deflate.compress(body, dictionary: PresetDictionary.bytes)
        // Compressed only when smaller and within the bound a receiver enforces: a body of one
        // letter repeated compresses far beyond it, and is then sent as it is.
        let expanded = max(body.count, expandedBytes(changeset))
        let useCompressed = tryCompressing && packed.count < body.count && expanded <= sendingLimit(encodedBytes: packed.count)
        return envelope(body: body, compressed: useCompressed ? packed : nil, format: format)
    }

    /// The envelope around `body`, carrying `compressed` (its zlib stream) when given, whatever
    /// bound that breaks (tests of receivers' bounds build such inputs).
    static func envelope(body: [UInt8], compressed: [UInt8]?, format: UInt8 = formatVersion) -> [UInt8] {
        var out = ByteWriter()
        out.byte(format)
        out.byte(compressed == nil ? 0 : flagCompressed)
        out.varint(body.count)
        out.append(compressed ?? body)
        return out.bytes
    }

    /// `changeset` compressed whatever its expansion: what a hostile sender could send.
    static func encodeCompressedRegardless(_ changeset: Changeset, format: UInt8 = formatVersion) -> [UInt8] {
        if format == 1 {
            let body = encodeBody(changeset)
            return envelope(body: body, compressed: Deflate.compress(body), format: 1)
        }
        let body = encodeBody2(changeset)
        return envelope(body: body, compressed: Deflate.compress(body, dictionary: PresetDictionary.bytes), format: 2)
    }

    /// The bytes of ids and values `changeset` stands for, as a decoder counts them.
    public static func expandedBytes(_ changeset: Changeset) -> Int {
        var n = 0
        for row in changeset.rows {
            n += row.rowID.utf8.count + row.grid.utf8.count
            for change in row.changes { n += change.value.expandedBytes }
        }
        return n
    }

    static func encodeBody(_ changeset: Changeset) -> [UInt8] {
        var strings: [String] = []
        var stringIndex: [ExactString: Int] = [:]
        var sites: [SiteID] = []
        var siteIndex: [SiteID: Int] = [:]
        func intern(_ s: String) -> Int {
            if let i = stringIndex[ExactString(s)] { return i }
            stringIndex[ExactString(s)] = strings.count
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
            if let uuid = packedUUID(s) {
                body.varint(1)  // odd header: a packed UUID (16 bytes) follows
                body.append(uuid)
            } else {
                let utf8 = Array(s.utf8)
                body.varint(utf8.count << 1)
                body.append(utf8)
            }
        }
        body.varint(sites.count)
        for s in sites { body.uint64LE(s.rawValue) }
        body.append(rows.bytes)
        return body.bytes
    }

    /// The 16 bytes of `s` when it is a UUID in canonical lowercase form (8-4-4-4-12 hex digits),
    /// which record ids are: a packed UUID takes 17 bytes instead of 37.
    static func packedUUID(_ s: String) -> [UInt8]? {
        guard s.utf8.count == 36 else { return nil }
        return packedHex(s, dashesAt: [8, 13, 18, 23])
    }

    /// The bytes of lowercase hex digits `s`, with dashes exactly at `dashesAt`; nil for anything else.
    static func packedHex(_ s: String, dashesAt dashes: Set<Int> = []) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count / 2)
        var high: UInt8? = nil
        for (i, c) in s.utf8.enumerated() {
            if dashes.contains(i) {
                guard c == UInt8(ascii: "-") else { return nil }
                continue
            }
            let nibble: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = c - UInt8(ascii: "a") + 10
            default: return nil
            }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return high == nil ? bytes : nil
    }

    /// The canonical lowercase text of a packed UUID.
    static func unpackUUID(_ bytes: ArraySlice<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, b) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
