/// Reads the primitive fields of the binary encodings, refusing to read past the end.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    mutating func byte(_ what: String) throws(ChangesetDecodingError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(offset: offset, expected: what) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func varint(_ what: String) throws(ChangesetDecodingError) -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte(what)
            if shift == 63 && b > 1 { throw .varintOverflow(offset: start) }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw .varintOverflow(offset: start) }
        }
    }

    mutating func zigzag(_ what: String) throws(ChangesetDecodingError) -> Int64 {
        let u = try varint(what)
        return Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1)
    }

    /// A count of items that each take at least `minBytes`: larger than what is left is an error,
    /// so no count can make the decoder allocate more than the input justifies.
    mutating func count(_ what: String, minBytes: Int = 1) throws(ChangesetDecodingError) -> Int {
        let start = offset
        let n = try varint(what)
        guard n <= UInt64(remaining / max(1, minBytes)) else {
            throw .lengthTooLarge(offset: start, what: what, length: n, available: remaining)
        }
        return Int(n)
    }

    mutating func uint64LE(_ what: String) throws(ChangesetDecodingError) -> UInt64 {
        guard remaining >= 8 else { throw .truncated(offset: offset, expected: what) }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return v
    }

    /// A varint byte length, then that many bytes of valid UTF-8.
    mutating func lengthPrefixedString(_ what: String) throws(ChangesetDecodingError) -> String {
        let start = offset
        let n = try count(what)
        guard let s = String(validating: try slice(n, what), as: UTF8.self) else { throw .invalidUTF8(offset: start) }
        return s
    }

    mutating func slice(_ n: Int, _ what: String) throws(ChangesetDecodingError) -> ArraySlice<UInt8> {
        guard n <= remaining else { throw .truncated(offset: offset, expected: what) }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }

    /// A varint count, then that many non-zero u64le site ids (both formats' site list).
    mutating func siteList() throws(ChangesetDecodingError) -> [SiteID] {
        let n = try count("site count", minBytes: 8)
        var sites: [SiteID] = []
        sites.reserveCapacity(n)
        for _ in 0..<n {
            let start = offset
            let v = try uint64LE("site id")
            guard v != 0 else { throw .invalidField(offset: start, "site id 0") }
            sites.append(SiteID(rawValue: v))
        }
        return sites
    }
}
