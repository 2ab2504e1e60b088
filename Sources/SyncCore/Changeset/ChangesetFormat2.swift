/// Changeset format 2 (protocol.md §3.4-3.6): rows grouped into one block per table, each block's
/// values grouped by column, every string sent once where it is first used and referred to after by
/// a small delta, ids of child rows derived instead of sent, an event's `at` implied by its version,
/// and the body compressed with a preset dictionary of the field's vocabulary.
extension ChangesetEncoding {
    /// At most this many columns in one block (a row's presence is a 64-bit mask).
    static let maxBlockColumns = 64

    /// Value tags of format 2 (a cell's first varint is `tag << 2 | flags`).
    enum Tag2: UInt8 {
        case null = 0, integer = 1, real = 2, text = 3, blob = 4, ownTimestamp = 5
    }

    /// String headers of format 2; headers from `firstReference` up are references.
    enum StringHeader {
        static let inline: UInt64 = 0, uuid: UInt64 = 1, hex256: UInt64 = 2, sharedPrefix: UInt64 = 3, firstReference: UInt64 = 4
        /// A new string shares at least this many bytes with the stream's previous string before it
        /// is written as a shared prefix and the rest.
        static let shortestSharedPrefix = 4
    }

    /// One table's rows as format 2 lays them out: the columns in order of first use, and each row's
    /// changes in that order (a row that changes a column twice, or more than 64 columns, is split).
    struct Block {
        var table: String
        var columns: [String] = []
        var columnIndex: [ExactString: Int] = [:]
        var rows: [RowChanges] = []
        /// For each row, bit i set when it changes `columns[i]`; its changes come in that order,
        /// so the change of column i is at the number of bits set below i.
        var presence: [UInt64] = []
        /// The column positions of the last row's changes, in order: the next row of the table
        /// most often changes the same columns, and a guess checked with one comparison saves
        /// hashing the column's name.
        var lastPositions: [Int] = []

        init(table: String) { self.table = table }

        /// The position of `column` in this block, or nil; `k` is the change's place in its row.
        func position(of column: String, guess k: Int) -> Int? {
            if k < lastPositions.count, columns[lastPositions[k]].hasSameBytes(as: column) { return lastPositions[k] }
            return columnIndex[ExactString(column)]
        }

        mutating func add(_ column: String) -> Int {
            columnIndex[ExactString(column)] = columns.count
            columns.append(column)
            return columns.count - 1
        }
    }

    /// `changeset` in the order format 2 sends it: rows grouped by table (tables in order of first
    /// appearance, rows in their order), each row's changes in its table's column order. Decoding a
    /// format-2 changeset gives this order, which rejections' indices refer to.
    public static func canonical(_ changeset: Changeset) -> Changeset {
        Changeset(rows: blocks(changeset).flatMap(\.rows))
    }

    static func blocks(_ changeset: Changeset) -> [Block] {
        var blocks: [Block] = []
        var open: [ExactString: Int] = [:]  // table → index of its last block
        // The previous row's table and block: rows of one table mostly come together.
        var lastTable: String?
        var lastBlock = -1
        var taken: [(position: Int, change: ColumnChange)] = []
        for row in changeset.rows {
            var pending = row.changes[...]
            while !pending.isEmpty {
                var b = -1
                if let lastTable, lastTable.hasSameBytes(as: row.table) { b = lastBlock } else { b = open[ExactString(row.table)] ?? -1 }
                if b < 0 {
                    b = blocks.count
                    blocks.append(Block(table: row.table))
                    open[ExactString(row.table)] = b
                }
                lastTable = row.table
                lastBlock = b
                // Take the longest run of changes this block can hold: no column twice, at most
                // 64 columns.
                taken.removeAll(keepingCapacity: true)
                var mask: UInt64 = 0
                var next = pending.startIndex
                while next < pending.endIndex {
                    let change = pending[next]
                    let known = blocks[b].position(of: change.column, guess: taken.count)
                    let fits = known.map { mask & (1 << UInt64($0)) == 0 } ?? (blocks[b].columns.count < maxBlockColumns)
                    if !fits { break }
                    let position = known ?? blocks[b].add(change.column)
                    mask |= 1 << UInt64(position)
                    taken.append((position, change))
                    next += 1
                }
                if taken.isEmpty {
                    // This block has no room for the next column: open a new block of the table.
                    blocks.append(Block(table: row.table))
                    open[ExactString(row.table)] = blocks.count - 1
                    lastBlock = blocks.count - 1
                    continue
                }
                let inOrder = taken.indices.dropFirst().allSatisfy { taken[$0 - 1].position < taken[$0].position }
                if inOrder && taken.count == row.changes.count {
                    // The whole row, in order (the usual case): kept as it is, not copied.
                    blocks[b].rows.append(row)
                } else {
                    if !inOrder { taken.sort { $0.position < $1.position } }
                    blocks[b].rows.append(RowChanges(table: row.table, rowID: row.rowID, grid: row.grid, changes: taken.map(\.change)))
                }
                blocks[b].presence.append(mask)
                blocks[b].lastPositions = taken.map(\.position)
                pending = pending[next...]
            }
        }
        return blocks
    }

    /// The body of format 2 (before compression).
    static func encodeBody2(_ changeset: Changeset) -> [UInt8] {
        var out = ByteWriter()
        var sites: [SiteID] = []
        var siteIndex: [SiteID: Int] = [:]
        func site(_ s: SiteID) -> Int {
            if let i = siteIndex[s] { return i }
            siteIndex[s] = sites.count
            sites.append(s)
            return sites.count - 1
        }
        var strings = StringWriter()
        let blocks = blocks(changeset)
        var body = ByteWriter()
        body.varint(blocks.count)
        var previousMillis: Int64 = 0
        var names = StringWriter.Stream()
        for block in blocks {
            strings.write(block.table, in: &names, to: &body)
            body.varint(block.columns.count)
            for column in block.columns { strings.write(column, in: &names, to: &body) }
            body.varint(block.rows.count)
            // The row heads, field by field: flags, the ids that are not derived, the grids that
            // change, presences, timestamps, sites.
            var rowVersions: [Version] = []
            var derived: [Bool] = []
            var gridGiven: [Bool] = []
            var previousGrid: String?
            for row in block.rows {
                let version = row.changes[0].version
                rowVersions.append(version)
                let id = DerivedID.of(table: block.table, version: version) { column in
                    row.changes.first { $0.column.hasSameBytes(as: column) }?.value
                }
                derived.append(id.map { $0.hasSameBytes(as: row.rowID) } ?? false)
                gridGiven.append(previousGrid.map { !$0.hasSameBytes(as: row.grid) } ?? true)
                previousGrid = row.grid
                body.varint((derived.last! ? 1 : 0) | (gridGiven.last! ? 2 : 0))
            }
            var ids = StringWriter.Stream()
            for (r, row) in block.rows.enumerated() where !derived[r] { strings.write(row.rowID, in: &ids, to: &body) }
            var grids = StringWriter.Stream()
            for (r, row) in block.rows.enumerated() where gridGiven[r] { strings.write(row.grid, in: &grids, to: &body) }
            for presence in block.presence { body.varint(presence) }
            for version in rowVersions {
                let millis = Int64(bitPattern: version.timestamp.rawValue >> 16)
                body.time(delta: millis &- previousMillis, counter: version.timestamp.rawValue & 0xFFFF)
                previousMillis = millis
            }
            for version in rowVersions { body.varint(site(version.site)) }
            // The columns, each as its cells' headers, then their versions, then their values.
            var cells: [(row: Int, change: ColumnChange)] = []
            for c in block.columns.indices {
                cells.removeAll(keepingCapacity: true)
                let bit: UInt64 = 1 << UInt64(c)
                for (r, presence) in block.presence.enumerated() where presence & bit != 0 {
                    cells.append((r, block.rows[r].changes[(presence & (bit - 1)).nonzeroBitCount]))
                }
                for (r, change) in cells {
                    let tag: Tag2
                    switch change.value {
                    case .null: tag = .null
                    case let .integer(i): tag = UInt64(bitPattern: i) == change.version.timestamp.rawValue ? .ownTimestamp : .integer
                    case .real: tag = .real
                    case .text: tag = .text
                    case .blob: tag = .blob
                    }
                    let own = change.version != rowVersions[r]
                    body.varint(UInt64(tag.rawValue) << 2 | (own ? 1 : 0) | (change.base != nil ? 2 : 0))
                }
                for (r, change) in cells {
                    let stamp = change.version.timestamp.rawValue
                    if change.version != rowVersions[r] {
                        let rowMillis = Int64(bitPattern: rowVersions[r].timestamp.rawValue >> 16)
                        body.time(delta: Int64(bitPattern: stamp >> 16) &- rowMillis, counter: stamp & 0xFFFF)
                        body.varint(site(change.version.site))
                    }
                    if let base = change.base {
                        let baseStamp = base.timestamp.rawValue
                        body.time(delta: Int64(bitPattern: stamp >> 16) &- Int64(bitPattern: baseStamp >> 16), counter: baseStamp & 0xFFFF)
                        body.varint(site(base.site))
                    }
                }
                var stream = StringWriter.Stream()
                for (_, change) in cells {
                    switch change.value {
                    case let .integer(i) where UInt64(bitPattern: i) != change.version.timestamp.rawValue: body.zigzag(i)
                    case let .real(d): body.uint64LE(d.bitPattern)
                    case let .text(s): strings.write(s, in: &stream, to: &body)
                    case let .blob(b):
                        body.varint(b.count)
                        body.append(b)
                    default: break
                    }
                }
            }
        }
        out.varint(sites.count)
        for s in sites { out.uint64LE(s.rawValue) }
        out.append(body.bytes)
        return out.bytes
    }

    static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }
}

extension ByteWriter {
    /// A time in format 2: milliseconds as a difference from a reference time, and the logical
    /// counter: `varint(zigzag(delta) << 1 | (counter != 0))`, then `varint(counter)` when not 0.
    mutating func time(delta: Int64, counter: UInt64) {
        varint(ChangesetEncoding.zigzag(delta) << 1 | (counter != 0 ? 1 : 0))
        if counter != 0 { varint(counter) }
    }
}

/// Writes format 2's strings: a string's first use carries it (packed when it is a UUID or 64 hex
/// digits), later uses refer to it by the distance from the previous string of the same stream.
struct StringWriter {
    /// Where one kind of string is written (a block's ids, its grids, one column's texts, or the
    /// changeset's table and column names): references are relative to its previous string.
    struct Stream {
        var previous = 0
    }

    private var index: [ExactString: Int] = [:]
    private var list: [String] = []

    mutating func write(_ s: String, in stream: inout Stream, to out: inout ByteWriter) {
        // One lookup that also makes the entry when there is none (-1 until it is written).
        let known = Self.claim(&index[ExactString(s), default: -1], list.count)
        if known >= 0 {
            out.varint(StringHeader.firstReference + ChangesetEncoding.zigzag(Int64(known - stream.previous)))
            stream.previous = known
            return
        }
        let shared = list.isEmpty ? 0 : Self.sharedPrefix(s, list[stream.previous])
        if let uuid = ChangesetEncoding.packedUUID(s) {
            out.varint(StringHeader.uuid)
            out.append(uuid)
        } else if let hex = ChangesetEncoding.packedHex256(s) {
            out.varint(StringHeader.hex256)
            out.append(hex)
        } else if shared >= StringHeader.shortestSharedPrefix {
            let rest = Array(s.utf8.dropFirst(shared))
            out.varint(StringHeader.sharedPrefix)
            out.varint(shared)
            out.varint(rest.count)
            out.append(rest)
        } else {
            out.varint(StringHeader.inline)
            out.lengthPrefixed(s)
        }
        stream.previous = list.count
        list.append(s)
    }

    /// `slot`'s value if it holds one; else sets it to `next` and returns -1.
    private static func claim(_ slot: inout Int, _ next: Int) -> Int {
        if slot >= 0 { return slot }
        slot = next
        return -1
    }

    /// How many leading bytes `a` and `b` share.
    static func sharedPrefix(_ a: String, _ b: String) -> Int {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                var n = 0
                let end = min(x.count, y.count)
                while n < end && x[n] == y[n] { n += 1 }
                return n
            }
        }
    }

    typealias StringHeader = ChangesetEncoding.StringHeader
}

extension ChangesetEncoding {
    /// The 32 bytes of `s` when it is 64 lowercase hex digits (a SHA-256, as photo hashes are).
    static func packedHex256(_ s: String) -> [UInt8]? {
        guard s.utf8.count == 64 else { return nil }
        return packedHex(s)
    }
}
