/// Terminal column widths of Chinese, Tibetan and Latin text, and tables aligned by them.
enum TextWidth {
    /// Columns `text` takes in a terminal: 2 for East Asian wide characters (Han, kana, Hangul,
    /// full-width forms), 0 for combining marks (Tibetan vowel signs and subjoined letters), 1 else.
    static func columns(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + columns($1) }
    }

    static func columns(_ scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        // Printable Latin: one column, the common case (no combining marks below U+0300).
        if v >= 0x20 && v < 0x300 && !(0x7f..<0xa0).contains(v) && v != 0xad { return 1 }
        // Han ideographs: two columns, the next most common.
        if v >= 0x4e00 && v <= 0x9fff { return 2 }
        // Tibetan: vowel signs and subjoined letters stack (no column), the rest one column.
        if v >= 0x0f00 && v <= 0x0fff { return tibetanMarks.contains { $0.contains(v) } ? 0 : 1 }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if v < 0x20 || (0x7f..<0xa0).contains(v) { return 0 }
        return wide.contains { $0.contains(v) } ? 2 : 1
    }

    /// The Tibetan block's nonspacing marks (Unicode's general category Mn).
    static let tibetanMarks: [ClosedRange<UInt32>] = [
        0x0f18...0x0f19, 0x0f35...0x0f35, 0x0f37...0x0f37, 0x0f39...0x0f39, 0x0f71...0x0f7e, 0x0f80...0x0f84, 0x0f86...0x0f87,
        0x0f8d...0x0f97, 0x0f99...0x0fbc, 0x0fc6...0x0fc6,
    ]

    /// The East Asian wide ranges.
    private static let wide: [ClosedRange<UInt32>] = [
        0x1100...0x115f, 0x2e80...0x303e, 0x3041...0x33ff, 0x3400...0x4dbf, 0x4e00...0x9fff, 0xa000...0xa4cf,
        0xac00...0xd7a3, 0xf900...0xfaff, 0xfe30...0xfe4f, 0xff00...0xff60, 0xffe0...0xffe6, 0x1f300...0x1f64f,
        0x20000...0x3fffd,
    ]

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
        // Each cell measured once (a township's register has thousands of rows).
        let measured = all.map { row in row.map(columns) }
        var widths = Array(repeating: 0, count: header.count)
        for row in measured {
            for (i, w) in row.enumerated() where i < widths.count { widths[i] = min(maxColumn, max(widths[i], w)) }
        }
        return zip(all, measured).map { row, w in
            row.indices.map { i in
                i == row.count - 1
                    ? (w[i] <= maxColumn ? row[i] : pad(row[i], columns: w[i], to: maxColumn).trimmingTrailingSpaces())
                    : pad(row[i], columns: w[i], to: widths[i])
            }
            .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
