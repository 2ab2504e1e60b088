import Foundation

/// RFC 4180 CSV: records of fields separated by commas, lines ended by CRLF (LF accepted on
/// reading), fields quoted with `"` when they hold a comma, quote or line break.
public enum CSV {
    /// One record, CRLF-terminated; a field is quoted when it holds a comma, quote, CR or LF, or
    /// begins or ends with a space.
    public static func line(_ fields: [String]) -> String {
        fields.map { f in
            let needsQuotes =
                f.contains { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" } || f.hasPrefix(" ") || f.hasSuffix(" ")
            return needsQuotes ? "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : f
        }.joined(separator: ",") + "\r\n"
    }

    /// The records of `text` with the line each starts on (1-based); a leading byte order mark is
    /// skipped, empty lines are skipped.
    public static func records(_ text: String) throws(SyncCoreError) -> [(line: Int, fields: [String])] {
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var afterQuote = false
        var line = 1
        var recordLine = 1
        var characters = text.unicodeScalars.makeIterator()
        if text.unicodeScalars.first == "\u{FEFF}" { _ = characters.next() }

        func endRecord() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].isEmpty) { records.append((recordLine, fields)) }
            fields = []
            field = ""
            afterQuote = false
        }
        var pendingCR = false
        while let c = characters.next() {
            if pendingCR {
                pendingCR = false
                if c == "\n" { continue }
            }
            if quoted {
                if c == "\"" {
                    quoted = false
                    afterQuote = true
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"":
                if afterQuote {
                    field.append("\"")
                    quoted = true
                    afterQuote = false
                } else if field.isEmpty {
                    quoted = true
                } else {
                    throw .invalidInput("line \(line): a quote inside an unquoted field")
                }
            case ",":
                fields.append(field)
                field = ""
                afterQuote = false
            case "\r", "\n":
                endRecord()
                line += 1
                recordLine = line
                pendingCR = c == "\r"
            default:
                if afterQuote { throw .invalidInput("line \(line): text after a closing quote") }
                field.unicodeScalars.append(c)
            }
        }
        if quoted { throw .invalidInput("line \(recordLine): a quoted field is not closed") }
        if !field.isEmpty || !fields.isEmpty || afterQuote { endRecord() }
        return records
    }
}
