import CZlib

/// zlib (RFC 1950) compression of changeset bodies, through the system's libz.
enum Deflate {
    /// The shortest zlib stream: 2 header bytes, an empty final block in 2, the Adler-32 in 4.
    static let minimumStreamBytes = 8

    static func compress(_ input: [UInt8]) -> [UInt8] {
        var bound = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(bound))
        let status = input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                compress2(dst.baseAddress, &bound, src.baseAddress, uLong(src.count), Z_BEST_COMPRESSION)
            }
        }
        precondition(status == Z_OK, "zlib compress2 failed with \(status) on a buffer of its own bound")
        output.removeSubrange(Int(bound)...)
        return output
    }

    /// Inflates `input` (`expectedLength` > 0), which must decompress to exactly `expectedLength` bytes and be consumed whole.
    static func decompress(_ input: ArraySlice<UInt8>, expectedLength: Int) throws(ChangesetDecodingError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: expectedLength)
        var outLength = uLong(expectedLength)
        var inLength = uLong(input.count)
        let status = input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                uncompress2(dst.baseAddress, &outLength, src.baseAddress, &inLength)
            }
        }
        switch status {
        case Z_OK:
            guard outLength == uLong(expectedLength) else {
                throw .decompressionFailed("inflated to \(outLength) bytes, header says \(expectedLength)")
            }
            guard inLength == uLong(input.count) else {
                throw .decompressionFailed("\(uLong(input.count) - inLength) bytes after the end of the zlib stream")
            }
            return output
        case Z_BUF_ERROR:
            throw .decompressionFailed("inflates to more than the \(expectedLength) bytes the header says")
        case Z_DATA_ERROR: throw .decompressionFailed("corrupt or truncated zlib stream")
        case Z_MEM_ERROR: throw .decompressionFailed("out of memory")
        default: throw .decompressionFailed("zlib status \(status)")
        }
    }
}
