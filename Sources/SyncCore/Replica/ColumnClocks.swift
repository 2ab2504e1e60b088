import Foundation

/// The merge metadata of one column of one row: the version of its value, the version its writer
/// had seen when writing (its base), and the local version at which it last changed here.
struct ColumnClock: Equatable {
    var version: Version?
    var base: Version?
    var localVersion: Int64
}

/// The `_clock` blob of a row: for every column in storage order five little-endian 64-bit words
/// (timestamp, site, base timestamp, base site, local version); a zero timestamp means never written.
struct ColumnClocks: Equatable {
    static let wordsPerColumn = 5
    var entries: [ColumnClock]

    init(count: Int) {
        entries = Array(repeating: ColumnClock(version: nil, base: nil, localVersion: 0), count: count)
    }

    init<Bytes: ContiguousBytes>(blob: Bytes, count: Int) throws(SyncCoreError) {
        let width = Self.wordsPerColumn * 8
        let size = blob.withUnsafeBytes { $0.count }
        guard size == count * width else {
            throw .damagedReplica("column clock blob of \(size) bytes, expected \(count * width)")
        }
        var entries: [ColumnClock] = []
        entries.reserveCapacity(count)
        blob.withUnsafeBytes { raw in
            for i in 0..<count {
                func word(_ k: Int) -> UInt64 {
                    UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: (i * Self.wordsPerColumn + k) * 8, as: UInt64.self))
                }
                let ts = word(0), site = word(1), bts = word(2), bsite = word(3)
                entries.append(
                    ColumnClock(
                        version: ts == 0 ? nil : Version(timestamp: HLCTimestamp(rawValue: ts), site: SiteID(rawValue: site)),
                        base: bts == 0 ? nil : Version(timestamp: HLCTimestamp(rawValue: bts), site: SiteID(rawValue: bsite)),
                        localVersion: Int64(bitPattern: word(4))))
            }
        }
        self.entries = entries
    }

    var blob: [UInt8] {
        var words: [UInt64] = []
        words.reserveCapacity(entries.count * Self.wordsPerColumn)
        for e in entries {
            words.append(e.version?.timestamp.rawValue ?? 0)
            words.append(e.version?.site.rawValue ?? 0)
            words.append(e.base?.timestamp.rawValue ?? 0)
            words.append(e.base?.site.rawValue ?? 0)
            words.append(UInt64(bitPattern: e.localVersion))
        }
        return words.withUnsafeBufferPointer { buf in
            buf.map(\.littleEndian).withUnsafeBytes { [UInt8]($0) }
        }
    }
}
