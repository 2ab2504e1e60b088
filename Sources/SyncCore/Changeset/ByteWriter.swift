/// Appends the primitive fields of the binary encodings: bytes, LEB128 varints, zigzag varints.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func byte(_ b: UInt8) { bytes.append(b) }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func varint(_ value: Int) { varint(UInt64(value)) }

    /// A signed value as a zigzag varint (0, -1, 1, -2, … become 0, 1, 2, 3, …).
    mutating func zigzag(_ value: Int64) { varint(UInt64(bitPattern: (value << 1) ^ (value >> 63))) }

    mutating func uint64LE(_ value: UInt64) {
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    mutating func append(_ other: [UInt8]) { bytes += other }

    /// A varint byte length, then the UTF-8 bytes.
    mutating func lengthPrefixed(_ text: String) {
        let utf8 = Array(text.utf8)
        varint(utf8.count)
        append(utf8)
    }
}
