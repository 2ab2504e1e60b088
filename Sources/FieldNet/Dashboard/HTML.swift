/// Building HTML text: every value from the data goes through `escape`.
enum HTML {
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A query string from pairs, percent-encoded, empty values left out.
    static func query(_ pairs: [(String, String?)]) -> String {
        let parts = pairs.compactMap { k, v -> String? in
            guard let v, !v.isEmpty else { return nil }
            return "\(k)=\(percent(v))"
        }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }

    static func percent(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "/"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += "%" + String(b, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

/// Bar charts and a trend line as inline SVG (no scripts, no outside requests).
enum Charts {
    /// Horizontal bars of `values` (0...1) with their labels; each bar links to `links[i]` when given.
    static func bars(_ items: [(label: String, value: Double?, link: String?)], title: String) -> String {
        let row = 26
        let width = 640
        let labelWidth = 220
        let height = max(1, items.count) * row + 8
        var svg =
            "<svg class=\"chart\" role=\"img\" aria-label=\"\(HTML.escape(title))\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\">"
        for (i, item) in items.enumerated() {
            let y = i * row + 4
            let barWidth = Int(((item.value ?? 0) * Double(width - labelWidth - 70)).rounded())
            let label = "<text x=\"\(labelWidth - 8)\" y=\"\(y + 17)\" text-anchor=\"end\">\(HTML.escape(item.label))</text>"
            svg += item.link.map { "<a href=\"\(HTML.escape($0))\">\(label)</a>" } ?? label
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y + 4)\" width=\"\(barWidth)\" height=\"16\" class=\"bar\"/>"
            let text = item.value.map { String(format: "%.1f%%", $0 * 100) } ?? "-"
            svg += "<text x=\"\(labelWidth + barWidth + 6)\" y=\"\(y + 17)\">\(text)</text>"
        }
        return svg + "</svg>"
    }

    /// Columns of reported issues per month, with the closed share drawn inside each.
    static func trend(_ months: [(month: String, reported: Int, closed: Int)], title: String) -> String {
        let width = 640
        let height = 180
        let top = max(1, months.map(\.reported).max() ?? 1)
        let slot = months.isEmpty ? width : min(72, max(40, (width - 20) / months.count))
        var svg =
            "<svg class=\"chart\" role=\"img\" aria-label=\"\(HTML.escape(title))\" viewBox=\"0 0 \(max(width, slot * months.count + 20)) \(height + 24)\" width=\"\(width)\" height=\"\(height + 24)\">"
        for (i, m) in months.enumerated() {
            let x = 10 + i * slot
            let h = Int(Double(m.reported) / Double(top) * Double(height - 20))
            let c = Int(Double(m.closed) / Double(top) * Double(height - 20))
            svg += "<rect x=\"\(x + 4)\" y=\"\(height - h)\" width=\"\(slot - 8)\" height=\"\(h)\" class=\"bar light\"/>"
            svg += "<rect x=\"\(x + 4)\" y=\"\(height - c)\" width=\"\(slot - 8)\" height=\"\(c)\" class=\"bar\"/>"
            svg += "<text x=\"\(x + slot / 2)\" y=\"\(height - h - 4)\" text-anchor=\"middle\">\(m.reported)</text>"
            svg += "<text x=\"\(x + slot / 2)\" y=\"\(height + 16)\" text-anchor=\"middle\" class=\"small\">\(HTML.escape(m.month))</text>"
        }
        return svg + "</svg>"
    }
}
