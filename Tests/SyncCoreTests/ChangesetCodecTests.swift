import Foundation
import Testing

@testable import SyncCore

func randomChangeset(_ rng: inout SeededRandom, rows: Int) -> Changeset {
    let voc = Vocabulary.shared
    let texts = voc.names.map(\.zh) + voc.names.map(\.bo) + voc.bo_phrases + voc.issue_kinds.values.flatMap(\.examples)
    let sites = (0..<4).map { _ in SiteID(rawValue: UInt64.random(in: 1...UInt64.max, using: &rng)) }
    var result = Changeset()
    for r in 0..<rows {
        var changes: [ColumnChange] = []
        for c in 0..<Int.random(in: 1...6, using: &rng) {
            let value: Value
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: value = .null
            case 1: value = .integer(Int64.random(in: Int64.min...Int64.max, using: &rng))
            case 2: value = .real(Double.random(in: -1e9...1e9, using: &rng))
            case 3: value = .text(texts.randomElement(using: &rng)!)
            default: value = .blob((0..<Int.random(in: 0..<40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            }
            let ts = HLCTimestamp(rawValue: UInt64.random(in: 1...(UInt64(1) << 62), using: &rng))
            let base =
                Bool.random(using: &rng)
                ? Version(
                    timestamp: HLCTimestamp(rawValue: UInt64.random(in: 1...(UInt64(1) << 62), using: &rng)),
                    site: sites.randomElement(using: &rng)!)
                : nil
            changes.append(
                ColumnChange(
                    column: "c\(c)", value: value, version: Version(timestamp: ts, site: sites.randomElement(using: &rng)!), base: base))
        }
        result.rows.append(
            RowChanges(
                table: ["households", "issues"].randomElement(using: &rng)!, rowID: "row-\(r)", grid: "xizang/g\(r % 3)", changes: changes))
    }
    return result
}

@Suite struct ChangesetCodecTests {
    /// Strings are compared by their bytes where the wire and the merge need it: canonically
    /// equivalent texts differ, and strings of every storage (small, large, empty, sliced) compare.
    @Test func stringsCompareByTheirBytes() {
        let precomposed = "\u{E9}"  // é
        let decomposed = "e\u{301}"  // e + combining acute
        #expect(precomposed == decomposed)  // Swift's equality
        #expect(!precomposed.hasSameBytes(as: decomposed))
        #expect(ExactString(precomposed) != ExactString(decomposed) && ExactString("g2") == ExactString("g" + "2"))
        let long = "xizang/lhasa/maizhokunggar/zhaxigang/v3/g2 ཚེ་རིང་། 次仁"
        #expect(long.hasSameBytes(as: "xizang/lhasa/maizhokunggar/zhaxigang/v3/g2 " + "ཚེ་རིང་། 次仁"))
        #expect(!long.hasSameBytes(as: "xizang/lhasa/maizhokunggar/zhaxigang/v3/g3 ཚེ་རིང་། 次仁"))
        #expect(!long.hasSameBytes(as: String(long.dropLast())))
        #expect("".hasSameBytes(as: "") && !"".hasSameBytes(as: "a") && "g2".hasSameBytes(as: "g" + "2"))
        #expect(String(long.prefix(10)).hasSameBytes(as: "xizang/lha"))
        #expect(!Value.text(precomposed).isIdentical(to: .text(decomposed)) && Value.text(long).isIdentical(to: .text(String(long))))
    }

    @Test(arguments: 0..<20) func roundTripsRandomChangesets(seed: Int) throws {
        var rng = SeededRandom(seed: UInt64(seed))
        let changeset = randomChangeset(&rng, rows: Int.random(in: 0...40, using: &rng))
        for compress in [true, false] {
            let one = try ChangesetEncoding.decode(ChangesetEncoding.encode(changeset, format: 1, compress: compress))
            #expect(one == changeset, "seed \(seed)")
            // Format 2 sends rows grouped by table and changes in column order.
            let two = try ChangesetEncoding.decode(ChangesetEncoding.encode(changeset, format: 2, compress: compress))
            #expect(two == ChangesetEncoding.canonical(changeset), "seed \(seed)")
            #expect(two.changeCount == changeset.changeCount)
        }
    }

    @Test func protocolExampleIsExact() throws {
        let hex = """
            01 00 40 05 14 68 6f 75 73 65 68 6f 6c 64 73 04 68 31 08 78 2f 67 31 14 64 6f 6f 72 5f 70 6c 61 74 65 08 31 e5 8f b7 \
            01 08 07 06 05 04 03 02 01 01 00 01 02 01 03 03 04 86 80 80 80 fa ec 82 a2 03 00 00
            """
        let expected = hex.split(separator: " ").map { UInt8($0, radix: 16)! }
        let version = Version(timestamp: HLCTimestamp(millis: 1_795_392_000_000, counter: 3), site: SiteID(rawValue: 0x0102_0304_0506_0708))
        let changeset = Changeset(rows: [
            RowChanges(
                table: "households", rowID: "h1", grid: "x/g1",
                changes: [ColumnChange(column: "door_plate", value: .text("1号"), version: version, base: nil)])
        ])
        #expect(ChangesetEncoding.encode(changeset, format: 1, compress: false) == expected)
        #expect(try ChangesetEncoding.decode(expected) == changeset)
    }

    @Test func uuidsArePackedAndOtherStringsAreNot() throws {
        let id = "0f8e2c1a-5b3d-4e6f-8a9b-0c1d2e3f4a5b"
        #expect(ChangesetEncoding.packedUUID(id)?.count == 16)
        #expect(ChangesetEncoding.unpackUUID(ChangesetEncoding.packedUUID(id)![...]) == id)
        for notUUID in [
            "0F8E2C1A-5B3D-4E6F-8A9B-0C1D2E3F4A5B", "0f8e2c1a5b3d4e6f8a9b0c1d2e3f4a5b", "0f8e2c1a-5b3d-4e6f-8a9b-0c1d2e3f4a5g", "扎西",
        ] {
            #expect(ChangesetEncoding.packedUUID(notUUID) == nil, "\(notUUID)")
        }
        let v = Version(timestamp: HLCTimestamp(millis: 1, counter: 0), site: SiteID(rawValue: 1))
        let c = Changeset(rows: [
            RowChanges(
                table: "issues", rowID: id, grid: "x",
                changes: [ColumnChange(column: "household_id", value: .text(id.uppercased()), version: v, base: nil)])
        ])
        #expect(try ChangesetEncoding.decode(ChangesetEncoding.encode(c, format: 1, compress: false)) == c)
        #expect(try ChangesetEncoding.decode(ChangesetEncoding.encode(c, format: 2, compress: false)) == c)
        // Odd string headers other than 1 are reserved.
        #expect(throws: ChangesetDecodingError.invalidField(offset: 1, "string header 3: odd headers other than 1 are reserved")) {
            try ChangesetEncoding.decode([1, 0, 5, 1, 3, 0, 0, 0])
        }
    }

    @Test func everyTruncationFailsWithATypedError() throws {
        var rng = SeededRandom(seed: 7)
        let changeset = randomChangeset(&rng, rows: 12)
        for (format, compress) in [(1, true), (1, false), (2, true), (2, false)] {
            let bytes = ChangesetEncoding.encode(changeset, format: UInt8(format), compress: compress)
            for n in 0..<bytes.count {
                #expect(throws: ChangesetDecodingError.self) { try ChangesetEncoding.decode(Array(bytes.prefix(n))) }
            }
            #expect(throws: ChangesetDecodingError.self) { try ChangesetEncoding.decode(bytes + [0]) }
        }
    }

    @Test func wrongVersionSaysWhatWasExpected() {
        #expect(throws: ChangesetDecodingError.unsupportedVersion(found: 9, supported: [1, 2])) {
            try ChangesetEncoding.decode([9, 0, 3, 0, 0, 0])
        }
        #expect(
            ChangesetDecodingError.unsupportedVersion(found: 9, supported: [1, 2]).description
                == "unsupported changeset format: expected one of 1, 2, found 9")
        #expect(throws: ChangesetDecodingError.empty) { try ChangesetEncoding.decode([]) }
        #expect(throws: ChangesetDecodingError.unknownFlags(found: 6)) { try ChangesetEncoding.decode([1, 6, 3, 0, 0, 0]) }
    }

    @Test func hugeLengthsAreRefusedBeforeAllocating() {
        // A body length of 2^62: refused by the limit, not allocated.
        #expect(throws: ChangesetDecodingError.bodyTooLarge(length: 1 << 62, limit: ChangesetEncoding.defaultMaxBodyBytes)) {
            try ChangesetEncoding.decode([1, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40])
        }
        // A string count of 2^40 in a body of a few bytes.
        let body: [UInt8] = [0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0, 0]
        #expect(throws: ChangesetDecodingError.self) { try ChangesetEncoding.decode([1, 0, UInt8(body.count)] + body) }
        // A varint that runs past 64 bits.
        #expect(throws: ChangesetDecodingError.varintOverflow(offset: 2)) {
            try ChangesetEncoding.decode([1, 0] + Array(repeating: 0xFF, count: 11))
        }
        // A zlib body that claims 10 bytes but inflates to far more (a small decompression bomb).
        let bomb = Deflate.compress(Array(repeating: 0, count: 100_000))
        #expect(throws: ChangesetDecodingError.self) { try ChangesetEncoding.decode([1, 1, 10] + bomb) }
    }

    @Test func randomBytesNeverTrap() {
        var rng = SeededRandom(seed: 42)
        let changeset = randomChangeset(&rng, rows: 8)
        let valid = [
            ChangesetEncoding.encode(changeset, format: 1, compress: false),
            ChangesetEncoding.encode(changeset, format: 2, compress: false),
        ]
        for i in 0..<6000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int.random(in: 0..<200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if i % 4 == 0 && !bytes.isEmpty { bytes[0] = UInt8(i % 8 / 4 + 1) }
            } else {
                bytes = valid[i % 4 / 2]  // flip a few bytes of a valid changeset
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            _ = try? ChangesetEncoding.decode(bytes)
        }
    }

    /// Inputs the fuzzer (`scripts/fuzz`) found: each decoder refuses them cleanly or decodes them
    /// to a value that survives a round trip through the encoder.
    @Test func fuzzFoundInputsDecodeCleanly() throws {
        let folder = Bundle.module.url(forResource: "fuzz-found", withExtension: nil, subdirectory: "Fixtures")!
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        #expect(!files.isEmpty)
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: file))
            let name = file.lastPathComponent
            if let c = try? ChangesetEncoding.decode(bytes) {
                for format: UInt8 in [1, 2] {
                    let expected = format == 1 ? c : ChangesetEncoding.canonical(c)
                    #expect(
                        try ChangesetEncoding.decode(ChangesetEncoding.encode(c, format: format, compress: false)) == expected, "\(name)")
                    #expect(try ChangesetEncoding.decode(ChangesetEncoding.encode(c, format: format)) == expected, "\(name)")
                }
            }
            if let r = try? SyncMessageCoding.decodeRequest(bytes) {
                #expect(try SyncMessageCoding.decodeRequest(SyncMessageCoding.encode(r, changesetFormat: 1)) == r, "\(name)")
            }
            if let r = try? SyncMessageCoding.decodeResponse(bytes) {
                #expect(try SyncMessageCoding.decodeResponse(SyncMessageCoding.encode(r, changesetFormat: 1)) == r, "\(name)")
            }
        }
    }

    @Test func crasherFixturesFailCleanly() throws {
        let folder = Bundle.module.url(forResource: "crashers", withExtension: nil, subdirectory: "Fixtures")!
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        #expect(!files.isEmpty)
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: file))
            #expect(throws: ChangesetDecodingError.self, "\(file.lastPathComponent)") { try ChangesetEncoding.decode(bytes) }
        }
    }
}

@Suite struct ChangesetFormat2Tests {
    /// Format 2's order (protocol.md §3.5, "Order"), against a plain reading of the rule: one block
    /// per table in order of first appearance, a row's changes in its block's column order, and a
    /// row that would change a column twice or a 65th column continuing in a new block of its table,
    /// which later rows of the table join. Rows change up to 80 columns of a pool of 90, with repeats.
    @Test(arguments: 0..<12) func canonicalOrderIsTheProtocols(seed: Int) throws {
        var rng = SeededRandom(seed: UInt64(seed) &+ 7000)
        let site = SiteID(rawValue: 0x5eed)
        var changeset = Changeset()
        for r in 0..<Int.random(in: 1...60, using: &rng) {
            let wide = Int.random(in: 0..<4, using: &rng) == 0
            let changes = (0..<Int.random(in: 1...(wide ? 80 : 6), using: &rng)).map { k in
                ColumnChange(
                    column: "c\(Int.random(in: 0..<(wide ? 90 : 8), using: &rng))", value: .integer(Int64(k)),
                    version: Version(timestamp: HLCTimestamp(rawValue: UInt64(1000 + r)), site: site), base: nil)
            }
            let table = ["households", "issues", "issue_events"].randomElement(using: &rng)!
            changeset.rows.append(RowChanges(table: table, rowID: "row-\(r)", grid: "xizang/g1", changes: changes))
        }
        let expected = Self.protocolOrder(changeset)
        #expect(ChangesetEncoding.canonical(changeset) == expected, "seed \(seed)")
        #expect(try ChangesetEncoding.decode(ChangesetEncoding.encode(changeset, format: 2)) == expected, "seed \(seed)")
    }

    /// The order §3.5 describes, written for reading rather than speed.
    static func protocolOrder(_ changeset: Changeset) -> Changeset {
        var blocks: [(columns: [String], rows: [RowChanges])] = []
        var newest: [[UInt8]: Int] = [:]  // a table's bytes → its newest block
        for row in changeset.rows {
            var pending = row.changes
            let table = Array(row.table.utf8)
            while !pending.isEmpty {
                if newest[table] == nil {
                    blocks.append(([], []))
                    newest[table] = blocks.count - 1
                }
                let b = newest[table]!
                var taken: [ColumnChange] = []
                for change in pending {
                    let inBlock = blocks[b].columns.contains { Array($0.utf8) == Array(change.column.utf8) }
                    let inRow = taken.contains { Array($0.column.utf8) == Array(change.column.utf8) }
                    if inRow || (!inBlock && blocks[b].columns.count == 64) { break }
                    if !inBlock { blocks[b].columns.append(change.column) }
                    taken.append(change)
                }
                if taken.isEmpty {
                    newest[table] = nil
                    continue
                }
                pending.removeFirst(taken.count)
                let columns = blocks[b].columns.map { Array($0.utf8) }
                taken.sort { columns.firstIndex(of: Array($0.column.utf8))! < columns.firstIndex(of: Array($1.column.utf8))! }
                blocks[b].rows.append(RowChanges(table: row.table, rowID: row.rowID, grid: row.grid, changes: taken))
            }
        }
        return Changeset(rows: blocks.flatMap(\.rows))
    }

    /// Events and photo references a replica writes take derived ids, which format 2 does not send;
    /// the receiver derives the same ids. An event's `at` travels as a one-byte tag.
    @Test func childIdsAreDerivedNotSent() throws {
        let r = try Replica(path: nil)
        let issue = try r.reportIssue(IssueReport(grid: "x/g1", kind: .hazard, tier: .small, title: "电瓶车入户充电"))
        let hash = String(repeating: "ab", count: 32)
        let ref = try r.attachPhoto(to: .issue, id: issue, sha256: hash)
        #expect(try r.attachPhoto(to: .issue, id: issue, sha256: hash) == ref, "the same photo attached again is the same reference")
        let changes = try r.changes(since: 0, maxChanges: 1000).changeset
        let event = try #require(changes.rows.first { $0.table == "issue_events" })
        let version = event.changes[0].version
        #expect(event.rowID == DerivedID.event(issueID: issue, version: version))
        #expect(ref == DerivedID.photoRef(ownerTable: "issues", ownerID: issue, sha256: hash))
        let two = ChangesetEncoding.encode(changes, format: 2, compress: false)
        #expect(try ChangesetEncoding.decode(two) == ChangesetEncoding.canonical(changes))
        // The issue's id travels once (16 bytes); the event's and the reference's not at all.
        let packed = ChangesetEncoding.packedUUID(issue)!
        #expect(two.indices.filter { two[$0...].starts(with: packed) }.count == 1)
        for id in [event.rowID, ref] { #expect(!two.indices.contains { two[$0...].starts(with: ChangesetEncoding.packedUUID(id)!) }) }
    }

    /// An id that is not the derived one travels, and a derived flag where the table derives none is refused.
    @Test func idsThatAreNotDerivedTravel() throws {
        let v = Version(timestamp: HLCTimestamp(millis: 1_795_392_000_000, counter: 0), site: SiteID(rawValue: 7))
        let c = Changeset(rows: [
            RowChanges(
                table: "issue_events", rowID: "e-1", grid: "x/g1",
                changes: [
                    ColumnChange(column: "issue_id", value: .text("i-1"), version: v, base: nil),
                    ColumnChange(column: "at", value: .integer(Int64(v.timestamp.rawValue)), version: v, base: nil),
                ])
        ])
        #expect(try ChangesetEncoding.decode(ChangesetEncoding.encode(c, format: 2)) == c)
        var derived = c
        derived.rows[0].rowID = DerivedID.event(issueID: "i-1", version: v)
        #expect(try ChangesetEncoding.decode(ChangesetEncoding.encode(derived, format: 2)) == derived)
        derived.rows[0].table = "households"
        #expect(try ChangesetEncoding.decode(ChangesetEncoding.encode(derived, format: 2)) == derived, "sent, not derived")
    }

    /// Canonically equivalent texts with different bytes stay different on the wire.
    @Test func equivalentTextsKeepTheirBytes() throws {
        let v = Version(timestamp: HLCTimestamp(millis: 5, counter: 1), site: SiteID(rawValue: 1))
        let composed = "\u{00E9}", decomposed = "e\u{0301}"
        let c = Changeset(rows: [
            RowChanges(
                table: "issues", rowID: "a", grid: "x",
                changes: [
                    ColumnChange(column: "title", value: .text(composed), version: v, base: nil),
                    ColumnChange(column: "note", value: .text(decomposed), version: v, base: nil),
                ])
        ])
        for format: UInt8 in [1, 2] {
            let back = try ChangesetEncoding.decode(ChangesetEncoding.encode(c, format: format))
            #expect(Array(back.rows[0].changes[1].value.text!.utf8) == Array(decomposed.utf8), "format \(format)")
        }
    }

    /// A body compressed without the format's dictionary, or with another, is refused.
    @Test func theDictionaryIsPartOfTheFormat() throws {
        var rng = SeededRandom(seed: 3)
        let c = randomChangeset(&rng, rows: 20)
        let body = ChangesetEncoding.encodeBody2(c)
        let plain = ChangesetEncoding.envelope(body: body, compressed: Deflate.compress(body), format: 2)
        #expect(throws: ChangesetDecodingError.self) { try ChangesetEncoding.decode(plain) }
        let other = ChangesetEncoding.envelope(body: body, compressed: Deflate.compress(body, dictionary: Array("other".utf8)), format: 2)
        #expect(throws: ChangesetDecodingError.decompressionFailed("the zlib stream names another preset dictionary")) {
            try ChangesetEncoding.decode(other)
        }
        let right = ChangesetEncoding.envelope(
            body: body, compressed: Deflate.compress(body, dictionary: PresetDictionary.bytes), format: 2)
        #expect(try ChangesetEncoding.decode(right) == ChangesetEncoding.canonical(c))
    }
}

extension ChangesetFormat2Tests {
    /// The example of protocol.md §3.7, byte for byte.
    @Test func protocolExampleIsExact() throws {
        let hex = """
            02 00 78 01 08 07 06 05 04 03 02 01 02 \
            00 06 69 73 73 75 65 73 02 00 05 74 69 74 6c 65 00 04 74 69 65 72 01 02 00 02 69 31 00 04 78 2f 67 31 03 \
            80 80 bd b6 81 d1 01 00 0c 00 06 e5 85 85 e7 94 b5 0c 00 05 73 6d 61 6c 6c \
            00 0c 69 73 73 75 65 5f 65 76 65 6e 74 73 03 03 06 02 69 64 00 04 6b 69 6e 64 00 02 61 74 01 03 0c 07 00 00 \
            0c 0a 0c 00 08 72 65 70 6f 72 74 65 64 14
            """
        let expected = hex.split(separator: " ").map { UInt8($0, radix: 16)! }
        let version = Version(timestamp: HLCTimestamp(millis: 1_795_392_000_000, counter: 0), site: SiteID(rawValue: 0x0102_0304_0506_0708))
        let stamp = Int64(bitPattern: version.timestamp.rawValue)
        let changeset = Changeset(rows: [
            RowChanges(
                table: "issues", rowID: "i1", grid: "x/g1",
                changes: [
                    ColumnChange(column: "title", value: .text("充电"), version: version, base: nil),
                    ColumnChange(column: "tier", value: .text("small"), version: version, base: nil),
                ]),
            RowChanges(
                table: "issue_events", rowID: DerivedID.event(issueID: "i1", version: version), grid: "x/g1",
                changes: [
                    ColumnChange(column: "issue_id", value: .text("i1"), version: version, base: nil),
                    ColumnChange(column: "kind", value: .text("reported"), version: version, base: nil),
                    ColumnChange(column: "at", value: .integer(stamp), version: version, base: nil),
                ]),
        ])
        let encoded = ChangesetEncoding.encode(changeset, format: 2, compress: false)
        #expect(encoded == expected, "\(encoded.map { String(format: "%02x", $0) }.joined(separator: " "))")
        #expect(try ChangesetEncoding.decode(expected) == changeset)
        #expect(DerivedID.event(issueID: "i1", version: version) == "cc2f1493-3166-8ab2-8d89-c3689fa5e7e6")
    }
}

extension ChangesetFormat2Tests {
    /// protocol.md §3.6 prints the preset dictionary: its lines joined by single spaces are the
    /// dictionary's bytes, with the SHA-256 and Adler-32 it states.
    @Test func theDictionaryIsTheOneInTheProtocol() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("protocol.md"), encoding: .utf8)
        let section = try #require(
            text.components(separatedBy: "<!-- dictionary begins -->").dropFirst().first?
                .components(separatedBy: "<!-- dictionary ends -->").first)
        let lines = section.split(separator: "\n").filter { !$0.hasPrefix("```") }
        #expect(lines.joined(separator: " ") == PresetDictionary.text)
        #expect(BlobStore.sha256(PresetDictionary.bytes) == "d41bc5e274e0ff4e6424ae7f2cf22251cc0fd485464f22ad8160ecfea78fa186")
        // Adler-32 (RFC 1950), which a zlib header names the dictionary by.
        var (a, b): (UInt32, UInt32) = (1, 0)
        for byte in PresetDictionary.bytes {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        #expect(b << 16 | a == 0xf342_6676)
        #expect(text.contains("DICTID is the dictionary's Adler-32, `f3426676`"))
    }
}
