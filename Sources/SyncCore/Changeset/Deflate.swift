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

extension Deflate {
    /// Compresses `input` into a zlib stream primed with the preset `dictionary` (RFC 1950 FDICT:
    /// the header names the dictionary by its Adler-32).
    static func compress(_ input: [UInt8], dictionary: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        var status = deflateInit2_(
            &stream, Z_BEST_COMPRESSION, Z_DEFLATED, MAX_WBITS, 9, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
            Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "zlib deflateInit2 failed with \(status)")
        defer { deflateEnd(&stream) }
        status = dictionary.withUnsafeBufferPointer { deflateSetDictionary(&stream, $0.baseAddress, uInt($0.count)) }
        precondition(status == Z_OK, "zlib deflateSetDictionary failed with \(status)")
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        var input = input
        let produced = input.withUnsafeMutableBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst -> Int in
                stream.next_in = src.baseAddress
                stream.avail_in = uInt(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                let status = deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "zlib deflate failed with \(status) on a buffer of its own bound")
                return dst.count - Int(stream.avail_out)
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// Inflates a zlib stream that was compressed with the preset `dictionary` (its header must say
    /// so) to exactly `expectedLength` bytes, consuming the input whole.
    static func decompress(_ input: ArraySlice<UInt8>, expectedLength: Int, dictionary: [UInt8]) throws(ChangesetDecodingError) -> [UInt8] {
        guard input.count >= 6, input[input.startIndex + 1] & 0x20 != 0 else {
            throw .decompressionFailed("the zlib stream does not name the format's preset dictionary")
        }
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .decompressionFailed("out of memory")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: expectedLength)
        var source = Array(input)
        let (status, produced, consumed) = source.withUnsafeMutableBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst -> (Int32, Int, Int) in
                stream.next_in = src.baseAddress
                stream.avail_in = uInt(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                var status = inflate(&stream, Z_FINISH)
                if status == Z_NEED_DICT {
                    status = dictionary.withUnsafeBufferPointer { inflateSetDictionary(&stream, $0.baseAddress, uInt($0.count)) }
                    if status == Z_OK { status = inflate(&stream, Z_FINISH) } else { status = Z_NEED_DICT }
                }
                return (status, dst.count - Int(stream.avail_out), src.count - Int(stream.avail_in))
            }
        }
        switch status {
        case Z_STREAM_END:
            guard produced == expectedLength else {
                throw .decompressionFailed("inflated to \(produced) bytes, header says \(expectedLength)")
            }
            guard consumed == source.count else {
                throw .decompressionFailed("\(source.count - consumed) bytes after the end of the zlib stream")
            }
            return output
        case Z_NEED_DICT: throw .decompressionFailed("the zlib stream names another preset dictionary")
        case Z_BUF_ERROR:
            throw .decompressionFailed(
                produced == expectedLength
                    ? "inflates to more than the \(expectedLength) bytes the header says" : "corrupt or truncated zlib stream")
        case Z_DATA_ERROR: throw .decompressionFailed("corrupt or truncated zlib stream")
        case Z_MEM_ERROR: throw .decompressionFailed("out of memory")
        default: throw .decompressionFailed("zlib status \(status)")
        }
    }
}
