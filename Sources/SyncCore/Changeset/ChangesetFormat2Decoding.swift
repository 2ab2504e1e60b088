extension ByteReader {
    /// A time of format 2 (`ByteWriter.time`): the milliseconds' difference and the counter.
    mutating func time(_ what: String) throws(ChangesetDecodingError) -> (delta: Int64, counter: UInt64) {
        let start = offset
        let packed = try varint(what)
        let z = packed >> 1
        let delta = Int64(bitPattern: z >> 1) ^ -Int64(bitPattern: z & 1)
        guard packed & 1 != 0 else { return (delta, 0) }
        let counter = try varint("\(what) counter")
        guard counter > 0, counter <= 0xFFFF else { throw .invalidField(offset: start, "\(what): counter \(counter) is not 1 to 65535") }
        return (delta, counter)
    }
}

extension ChangesetEncoding {
    /// Decodes a format-2 body (protocol.md §3.4), refusing anything malformed with a typed error.
    static func decodeBody2(_ body: [UInt8], expansionLimit: Int = Int.max) throws(ChangesetDecodingError) -> Changeset {
        var r = ByteReader(body)
        let sites = try r.siteList()
        func site(_ what: String) throws(ChangesetDecodingError) -> SiteID {
            let start = r.offset
            let i = try r.varint(what)
            guard i < UInt64(sites.count) else { throw .indexOutOfRange(offset: start, what: what, index: i, count: sites.count) }
            return sites[Int(i)]
        }
        var strings = StringReader()
        var expanded = 0
        func expand(_ n: Int) throws(ChangesetDecodingError) {
            expanded += n
            if expanded > expansionLimit { throw .expandsTooMuch(bytes: expanded, limit: expansionLimit) }
        }
        /// A timestamp of `millis` (0 to 2^47-1) and `counter`, not 0.
        func timestamp(millis: Int64, counter: UInt64, at offset: Int, _ what: String) throws(ChangesetDecodingError) -> HLCTimestamp {
            guard millis >= 0, millis < 1 << 47, millis > 0 || counter > 0 else {
                throw .invalidField(offset: offset, "\(what): milliseconds \(millis) out of range")
            }
            return HLCTimestamp(rawValue: UInt64(millis) << 16 | counter)
        }
        let blockCount = try r.count("block count", minBytes: 4)
        var rows: [RowChanges] = []
        var previousMillis: Int64 = 0
        var names = StringReader.Stream()
        for _ in 0..<blockCount {
            let table = try strings.read(&r, in: &names, "table name")
            let columnsStart = r.offset
            let columnCount = try r.count("column count")
            guard (1...maxBlockColumns).contains(columnCount) else {
                throw .invalidField(offset: columnsStart, "a block has 1 to \(maxBlockColumns) columns, not \(columnCount)")
            }
            var columns: [String] = []
            for _ in 0..<columnCount {
                let start = r.offset
                let column = try strings.read(&r, in: &names, "column name")
                guard !columns.contains(where: { $0.hasSameBytes(as: column) }) else {
                    throw .invalidField(offset: start, "column \(column) twice in a block")
                }
                columns.append(column)
            }
            let rowsStart = r.offset
            let rowCount = try r.count("row count", minBytes: 4)
            guard rowCount > 0 else { throw .invalidField(offset: rowsStart, "a block with no rows") }
            struct Head {
                var derived: Bool
                var id = ""
                var grid = ""
                var presence: UInt64 = 0
                var version = Version(timestamp: HLCTimestamp(rawValue: 1), site: SiteID(rawValue: 1))
                var changes: [ColumnChange] = []
                var offset: Int
            }
            var heads: [Head] = []
            heads.reserveCapacity(rowCount)
            var gridGiven: [Bool] = []
            for n in 0..<rowCount {
                let start = r.offset
                let flags = try r.varint("row flags")
                guard flags < 4 else { throw .invalidField(offset: start, "row flags \(flags): only bits 0 and 1 are defined") }
                guard n > 0 || flags & 2 != 0 else { throw .invalidField(offset: start, "the first row of a block must give its grid") }
                heads.append(Head(derived: flags & 1 != 0, offset: start))
                gridGiven.append(flags & 2 != 0)
            }
            var ids = StringReader.Stream()
            for h in heads.indices where !heads[h].derived { heads[h].id = try strings.read(&r, in: &ids, "row id") }
            var grids = StringReader.Stream()
            var grid = ""
            for h in heads.indices {
                if gridGiven[h] { grid = try strings.read(&r, in: &grids, "grid") }
                heads[h].grid = grid
            }
            for h in heads.indices {
                let start = r.offset
                let presence = try r.varint("presence")
                guard presence != 0, columnCount == 64 || presence >> UInt64(columnCount) == 0 else {
                    throw .invalidField(offset: start, "presence \(presence) names no column or one past the block's \(columnCount)")
                }
                heads[h].presence = presence
            }
            var stamps: [HLCTimestamp] = []
            for _ in heads.indices {
                let start = r.offset
                let (delta, counter) = try r.time("row timestamp")
                let millis = previousMillis &+ delta
                previousMillis = millis
                stamps.append(try timestamp(millis: millis, counter: counter, at: start, "row timestamp"))
            }
            for h in heads.indices { heads[h].version = Version(timestamp: stamps[h], site: try site("row site")) }
            for (k, column) in columns.enumerated() {
                let present = heads.indices.filter { heads[$0].presence & (1 << UInt64(k)) != 0 }
                var cellHeaders: [(tag: Tag2, own: Bool, base: Bool)] = []
                cellHeaders.reserveCapacity(present.count)
                for _ in present {
                    let start = r.offset
                    let head = try r.varint("cell header")
                    guard head >> 2 < 6, let tag = Tag2(rawValue: UInt8(head >> 2)) else {
                        throw .unknownValueTag(offset: start, found: UInt8(truncatingIfNeeded: min(head >> 2, 255)))
                    }
                    cellHeaders.append((tag, head & 1 != 0, head & 2 != 0))
                }
                var versions: [(Version, Version?)] = []
                versions.reserveCapacity(present.count)
                for (i, h) in present.enumerated() {
                    var version = heads[h].version
                    let rowMillis = Int64(bitPattern: version.timestamp.rawValue >> 16)
                    if cellHeaders[i].own {
                        let start = r.offset
                        let (delta, counter) = try r.time("cell timestamp")
                        let stamp = try timestamp(millis: rowMillis &+ delta, counter: counter, at: start, "cell timestamp")
                        version = Version(timestamp: stamp, site: try site("cell site"))
                    }
                    var base: Version?
                    if cellHeaders[i].base {
                        let start = r.offset
                        let (delta, counter) = try r.time("base timestamp")
                        let cellMillis = Int64(bitPattern: version.timestamp.rawValue >> 16)
                        let stamp = try timestamp(millis: cellMillis &- delta, counter: counter, at: start, "base timestamp")
                        base = Version(timestamp: stamp, site: try site("base site"))
                    }
                    versions.append((version, base))
                }
                var stream = StringReader.Stream()
                for (i, h) in present.enumerated() {
                    let start = r.offset
                    let (version, base) = versions[i]
                    let value: Value
                    switch cellHeaders[i].tag {
                    case .null: value = .null
                    case .integer: value = .integer(try r.zigzag("integer value"))
                    case .real:
                        let real = Double(bitPattern: try r.uint64LE("real value"))
                        guard !real.isNaN else { throw .invalidField(offset: start, "a real value is NaN") }
                        value = .real(real)
                    case .text: value = .text(try strings.read(&r, in: &stream, "text value"))
                    case .blob:
                        let n = try r.count("blob length")
                        value = .blob(Array(try r.slice(n, "blob bytes")))
                    case .ownTimestamp: value = .integer(Int64(bitPattern: version.timestamp.rawValue))
                    }
                    try expand(value.expandedBytes)
                    heads[h].changes.append(ColumnChange(column: column, value: value, version: version, base: base))
                }
            }
            for head in heads {
                var id = head.id
                if head.derived {
                    guard
                        let derived = DerivedID.of(
                            table: table, version: head.version,
                            value: { c in head.changes.first { $0.column.hasSameBytes(as: c) }?.value })
                    else {
                        throw .invalidField(offset: head.offset, "a derived id, but \(table) derives none from this row's columns")
                    }
                    id = derived
                }
                try expand(id.utf8.count + head.grid.utf8.count)
                rows.append(RowChanges(table: table, rowID: id, grid: head.grid, changes: head.changes))
            }
        }
        guard r.remaining == 0 else { throw .trailingBytes(offset: r.offset, count: r.remaining) }
        return Changeset(rows: rows)
    }
}

/// Reads format 2's strings: each new string joins the changeset's list, references count from the
/// previous string of the same stream.
struct StringReader {
    struct Stream {
        var previous = 0
    }

    private var list: [String] = []

    mutating func read(_ r: inout ByteReader, in stream: inout Stream, _ what: String) throws(ChangesetDecodingError) -> String {
        let start = r.offset
        let header = try r.varint("\(what) header")
        let s: String
        switch header {
        case ChangesetEncoding.StringHeader.inline:
            s = try r.lengthPrefixedString(what)
        case ChangesetEncoding.StringHeader.uuid:
            s = ChangesetEncoding.unpackUUID(try r.slice(16, "packed UUID"))
        case ChangesetEncoding.StringHeader.hex256:
            s = Hex.string(try r.slice(32, "packed hex"))
        case ChangesetEncoding.StringHeader.sharedPrefix:
            let previous = list.isEmpty ? "" : list[stream.previous]
            let shared = try r.varint("\(what) shared prefix")
            guard shared >= UInt64(ChangesetEncoding.StringHeader.shortestSharedPrefix), shared <= UInt64(previous.utf8.count) else {
                throw .invalidField(
                    offset: start, "\(what) shares \(shared) bytes with a previous string of \(previous.utf8.count) (at least 4)")
            }
            let restStart = r.offset
            let rest = try r.slice(try r.count("\(what) length"), what)
            guard let joined = String(validating: Array(previous.utf8.prefix(Int(shared))) + rest, as: UTF8.self) else {
                throw .invalidUTF8(offset: restStart)
            }
            s = joined
        default:
            let u = header - ChangesetEncoding.StringHeader.firstReference
            let delta = Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1)
            let (i, overflow) = Int64(stream.previous).addingReportingOverflow(delta)
            guard !overflow, i >= 0, i < Int64(list.count) else {
                throw .indexOutOfRange(offset: start, what: what, index: UInt64(bitPattern: i), count: list.count)
            }
            stream.previous = Int(i)
            return list[Int(i)]
        }
        stream.previous = list.count
        list.append(s)
        return s
    }
}
