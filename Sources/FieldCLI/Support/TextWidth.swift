/// Terminal column widths of Chinese, Tibetan and Latin text, and tables aligned by them.
enum TextWidth {
    /// Columns `text` takes in a terminal: 2 for East Asian wide characters (Han, kana, Hangul,
    /// full-width forms), 0 for combining marks (Tibetan vowel signs and subjoined letters), 1 else.
    static func columns(_ text: String) -> Int {
        // Decoded from the string's own UTF-8 bytes (valid UTF-8, as every Swift string is).
        let measured = text.utf8.withContiguousStorageIfAvailable { bytes -> Int in
            var total = 0
            var i = 0
            while i < bytes.count {
                let lead = UInt32(bytes[i])
                if lead < 0x80 {
                    total += lead >= 0x20 && lead != 0x7f ? 1 : 0
                    i += 1
                    continue
                }
                let length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2
                var v = lead & (0x7f >> length)
                for k in 1..<length { v = v << 6 | UInt32(bytes[i + k] & 0x3f) }
                total += Unicode.Scalar(v).map(columns) ?? 1
                i += length
            }
            return total
        }
        if let measured { return measured }
        var total = 0
        for scalar in text.unicodeScalars { total += columns(scalar) }
        return total
    }

    /// Ranges are tested with `switch` (compiled to comparisons): a township's register measures
    /// 40,000 cells, and arrays of ranges searched with closures cost more than the rest of it.
    static func columns(_ scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        // Printable Latin: one column, the common case (no combining marks below U+0300).
        if v >= 0x20 && v < 0x300 { return v < 0x7f || (v >= 0xa0 && v != 0xad) ? 1 : 0 }
        // Han ideographs: two columns, the next most common.
        if v >= 0x4e00 && v <= 0x9fff { return 2 }
        // Tibetan: vowel signs and subjoined letters stack (no column), the rest one column.
        if v >= 0x0f00 && v <= 0x0fff { return isTibetanMark(v) ? 0 : 1 }
        if v < 0x20 { return 0 }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        switch v {
        // The East Asian wide ranges.
        case 0x1100...0x115f, 0x2e80...0x303e, 0x3041...0x33ff, 0x3400...0x4dbf, 0xa000...0xa4cf, 0xac00...0xd7a3, 0xf900...0xfaff,
            0xfe30...0xfe4f, 0xff00...0xff60, 0xffe0...0xffe6, 0x1f300...0x1f64f, 0x20000...0x3fffd:
            return 2
        default: return 1
        }
    }

    /// The Tibetan block's nonspacing marks (Unicode's general category Mn).
    static func isTibetanMark(_ v: UInt32) -> Bool {
        switch v {
        case 0x0f18...0x0f19, 0x0f35, 0x0f37, 0x0f39, 0x0f71...0x0f7e, 0x0f80...0x0f84, 0x0f86...0x0f87, 0x0f8d...0x0f97, 0x0f99...0x0fbc,
            0x0fc6:
            return true
        default: return false
        }
    }

    /// `text` padded with spaces to `width` columns (or cut to it, ending in `…`).
    static func pad(_ text: String, to width: Int) -> String { pad(text, columns: columns(text), to: width) }

    /// `pad(_:to:)` for text already measured as `w` columns.
    private static func pad(_ text: String, columns w: Int, to width: Int) -> String {
        if w <= width { return text + String(repeating: " ", count: width - w) }
        var out = ""
        var used = 0
        for ch in text {
            let c = columns(String(ch))
            if used + c > width - 1 { break }
            out.append(ch)
            used += c
        }
        return out + "…" + String(repeating: " ", count: max(0, width - used - 1))
    }

    /// Rows laid out in columns aligned by display width, the header first; cells longer than
    /// `maxColumn` are cut.
    static func table(_ header: [String], _ rows: [[String]], maxColumn: Int = 48) -> String {
        let all = [header] + rows
        // Each cell measured once (a township's register has thousands of rows), and the table
        // written as one buffer of bytes.
        let measured = all.map { row in row.map(columns) }
        var widths = Array(repeating: 0, count: header.count)
        var bytes = 0
        for (row, w) in zip(all, measured) {
            for (i, width) in w.enumerated() where i < widths.count { widths[i] = min(maxColumn, max(widths[i], width)) }
            bytes += row.reduce(row.count * 4) { $0 + $1.utf8.count }
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes + all.count * widths.reduce(0, +))
        for (n, (row, w)) in zip(all, measured).enumerated() {
            if n > 0 { out.append(0x0a) }
            for i in row.indices {
                if i > 0 { out.append(contentsOf: [0x20, 0x20]) }
                if i == row.count - 1 {
                    append(w[i] <= maxColumn ? row[i] : pad(row[i], columns: w[i], to: maxColumn).trimmingTrailingSpaces(), to: &out)
                } else if w[i] <= widths[i] {
                    append(row[i], to: &out)
                    out.append(contentsOf: repeatElement(0x20, count: widths[i] - w[i]))
                } else {
                    append(pad(row[i], columns: w[i], to: widths[i]), to: &out)
                }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `text`'s UTF-8 bytes at once when the string holds them contiguously (as native
    /// strings do), byte by byte otherwise.
    private static func append(_ text: String, to out: inout [UInt8]) {
        if text.utf8.withContiguousStorageIfAvailable({ out.append(contentsOf: $0) }) == nil { out.append(contentsOf: text.utf8) }
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
