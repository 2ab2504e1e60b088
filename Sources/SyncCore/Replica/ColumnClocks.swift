import Foundation

/// The merge metadata of one column of one row: the version of its value, the version its writer
/// had seen when writing (its base), and the local version at which it last changed here.
package struct ColumnClock: Equatable, Sendable {
    package var version: Version?
    package var base: Version?
    package var localVersion: Int64
}

/// The `_clock` blob of a row: for every column in storage order five little-endian 64-bit words
/// (timestamp, site, base timestamp, base site, local version); a zero timestamp means never written.
package struct ColumnClocks: Equatable, Sendable {
    static let wordsPerColumn = 5
    package var entries: [ColumnClock]

    init(count: Int) {
        entries = Array(repeating: ColumnClock(version: nil, base: nil, localVersion: 0), count: count)
    }

    package init<Bytes: ContiguousBytes>(blob: Bytes, count: Int) throws(SyncCoreError) {
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

    /// The blob, written word by word in place (it is built for every row a merge stores).
    package var blob: Data {
        var data = Data(count: entries.count * Self.wordsPerColumn * 8)
        data.withUnsafeMutableBytes { raw in
            var offset = 0
            func put(_ word: UInt64) {
                raw.storeBytes(of: word.littleEndian, toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            for e in entries {
                put(e.version?.timestamp.rawValue ?? 0)
                put(e.version?.site.rawValue ?? 0)
                put(e.base?.timestamp.rawValue ?? 0)
                put(e.base?.site.rawValue ?? 0)
                put(UInt64(bitPattern: e.localVersion))
            }
        }
        return data
    }
}
