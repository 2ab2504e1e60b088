extension ChangesetEncoding {
    /// Decodes an encoded changeset, refusing malformed input with a typed error. Never traps, and
    /// never allocates more than `maxBodyBytes` plus what the input itself justifies.
    public static func decode(_ bytes: [UInt8], maxBodyBytes: Int = defaultMaxBodyBytes) throws(ChangesetDecodingError) -> Changeset {
        var envelope = ByteReader(bytes)
        guard !bytes.isEmpty else { throw .empty }
        let version = try envelope.byte("format version")
        guard supportedVersions.contains(version) else { throw .unsupportedVersion(found: version, supported: supportedVersions) }
        let flags = try envelope.byte("flags")
        guard flags & ~flagCompressed == 0 else { throw .unknownFlags(found: flags) }
        let length = try envelope.varint("body length")
        guard length <= UInt64(maxBodyBytes) else { throw .bodyTooLarge(length: length, limit: maxBodyBytes) }
        let shortest: UInt64 = version == 1 ? 3 : 2
        guard length >= shortest else { throw .invalidField(offset: 2, "body length \(length) is shorter than an empty body") }
        let rest = try envelope.slice(envelope.remaining, "body")
        let body: [UInt8]
        // A body, and the ids and values it refers to, may stand for at most 256 times the input
        // (and 1 MiB in any case), so a small input cannot make the receiver allocate a large
        // buffer or store a flood of copies of one string.
        let expansionLimit = min(maxBodyBytes, Self.expansionLimit(encodedBytes: bytes.count))
        if flags & flagCompressed != 0 {
            guard length <= UInt64(expansionLimit) else { throw .bodyTooLarge(length: length, limit: expansionLimit) }
            body =
                version == 1
                ? try Deflate.decompress(rest, expectedLength: Int(length))
                : try Deflate.decompress(rest, expectedLength: Int(length), dictionary: PresetDictionary.bytes)
        } else {
            guard rest.count == Int(length) else {
                if rest.count < Int(length) { throw .truncated(offset: bytes.count, expected: "\(length) body bytes") }
                throw .trailingBytes(offset: bytes.count - (rest.count - Int(length)), count: rest.count - Int(length))
            }
            body = Array(rest)
        }
        return version == 1
            ? try decodeBody(body, expansionLimit: expansionLimit) : try decodeBody2(body, expansionLimit: expansionLimit)
    }

    static func decodeBody(_ body: [UInt8], expansionLimit: Int = Int.max) throws(ChangesetDecodingError) -> Changeset {
        var r = ByteReader(body)
        let stringCount = try r.count("string count")
        var strings: [String] = []
        strings.reserveCapacity(stringCount)
        for _ in 0..<stringCount {
            let start = r.offset
            let header = try r.varint("string header")
            if header & 1 == 1 {
                guard header == 1 else {
                    throw .invalidField(offset: start, "string header \(header): odd headers other than 1 are reserved")
                }
                strings.append(unpackUUID(try r.slice(16, "packed UUID")))
                continue
            }
            guard header >> 1 <= UInt64(r.remaining) else {
                throw .lengthTooLarge(offset: start, what: "string length", length: header >> 1, available: r.remaining)
            }
            let raw = try r.slice(Int(header >> 1), "string bytes")
            guard let s = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8(offset: start) }
            strings.append(s)
        }
        let sites = try r.siteList()
        func string(_ what: String) throws(ChangesetDecodingError) -> String {
            let start = r.offset
            let i = try r.varint(what)
            guard i < UInt64(strings.count) else { throw .indexOutOfRange(offset: start, what: what, index: i, count: strings.count) }
            return strings[Int(i)]
        }
        func site(_ i: UInt64, at start: Int, _ what: String) throws(ChangesetDecodingError) -> SiteID {
            guard i < UInt64(sites.count) else { throw .indexOutOfRange(offset: start, what: what, index: i, count: sites.count) }
            return sites[Int(i)]
        }
        var expanded = 0
        func expand(_ n: Int) throws(ChangesetDecodingError) {
            expanded += n
            if expanded > expansionLimit { throw .expandsTooMuch(bytes: expanded, limit: expansionLimit) }
        }
        let rowCount = try r.count("row count", minBytes: 4)
        var rows: [RowChanges] = []
        rows.reserveCapacity(rowCount)
        var previous: Int64 = 0
        for _ in 0..<rowCount {
            let table = try string("table")
            let rowID = try string("row id")
            let grid = try string("grid")
            try expand(rowID.utf8.count + grid.utf8.count)
            let start = r.offset
            let changeCount = try r.count("change count", minBytes: 4)
            guard changeCount > 0 else { throw .invalidField(offset: start, "a row with no changes") }
            var changes: [ColumnChange] = []
            changes.reserveCapacity(changeCount)
            for _ in 0..<changeCount {
                let column = try string("column")
                let tagOffset = r.offset
                let value: Value
                switch Tag(rawValue: try r.byte("value tag")) {
                case .null: value = .null
                case .integer: value = .integer(try r.zigzag("integer value"))
                case .real:
                    // SQLite stores no NaN (it becomes NULL), so a NaN could never converge: refuse it.
                    let real = Double(bitPattern: try r.uint64LE("real value"))
                    guard !real.isNaN else { throw .invalidField(offset: tagOffset, "a real value is NaN") }
                    value = .real(real)
                case .text: value = .text(try string("text value"))
                case .blob:
                    let n = try r.count("blob length")
                    value = .blob(Array(try r.slice(n, "blob bytes")))
                case nil: throw .unknownValueTag(offset: tagOffset, found: body[tagOffset])
                }
                try expand(value.expandedBytes)
                let tsOffset = r.offset
                let ts = previous &+ (try r.zigzag("timestamp"))
                previous = ts
                guard ts > 0 else { throw .invalidField(offset: tsOffset, "timestamp \(ts) is not positive") }
                let siteOffset = r.offset
                let writer = try site(try r.varint("site"), at: siteOffset, "site")
                let baseOffset = r.offset
                let baseSite = try r.varint("base site")
                var base: Version?
                if baseSite > 0 {
                    let s = try site(baseSite - 1, at: baseOffset, "base site")
                    let bts = ts &- (try r.zigzag("base timestamp"))
                    guard bts > 0 else { throw .invalidField(offset: baseOffset, "base timestamp \(bts) is not positive") }
                    base = Version(timestamp: HLCTimestamp(rawValue: UInt64(bts)), site: s)
                }
                changes.append(
                    ColumnChange(
                        column: column, value: value,
                        version: Version(timestamp: HLCTimestamp(rawValue: UInt64(ts)), site: writer), base: base))
            }
            rows.append(RowChanges(table: table, rowID: rowID, grid: grid, changes: changes))
        }
        guard r.remaining == 0 else { throw .trailingBytes(offset: r.offset, count: r.remaining) }
        return Changeset(rows: rows)
    }
}
