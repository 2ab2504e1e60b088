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
    @Test(arguments: 0..<20) func roundTripsRandomChangesets(seed: Int) throws {
        var rng = SeededRandom(seed: UInt64(seed))
        let changeset = randomChangeset(&rng, rows: Int.random(in: 0...40, using: &rng))
        for compress in [true, false] {
            let decoded = try ChangesetEncoding.decode(ChangesetEncoding.encode(changeset, compress: compress))
            #expect(decoded == changeset, "seed \(seed)")
        }
    }

    @Test func everyTruncationFailsWithATypedError() throws {
        var rng = SeededRandom(seed: 7)
        let changeset = randomChangeset(&rng, rows: 12)
        for compress in [true, false] {
            let bytes = ChangesetEncoding.encode(changeset, compress: compress)
            for n in 0..<bytes.count {
                #expect(throws: ChangesetDecodingError.self) { try ChangesetEncoding.decode(Array(bytes.prefix(n))) }
            }
            #expect(throws: ChangesetDecodingError.self) { try ChangesetEncoding.decode(bytes + [0]) }
        }
    }

    @Test func wrongVersionSaysWhatWasExpected() {
        #expect(throws: ChangesetDecodingError.unsupportedVersion(found: 9, supported: [1])) {
            try ChangesetEncoding.decode([9, 0, 3, 0, 0, 0])
        }
        #expect(
            ChangesetDecodingError.unsupportedVersion(found: 9, supported: [1]).description
                == "unsupported changeset format: expected one of 1, found 9")
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
        let valid = ChangesetEncoding.encode(randomChangeset(&rng, rows: 8), compress: false)
        for i in 0..<3000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int.random(in: 0..<200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if i % 4 == 0 && !bytes.isEmpty { bytes[0] = 1 }
            } else {
                bytes = valid  // flip a few bytes of a valid changeset
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            _ = try? ChangesetEncoding.decode(bytes)
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
