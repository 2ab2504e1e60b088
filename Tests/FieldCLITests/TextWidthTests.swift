import Foundation
import SyncCore
import Testing

@testable import FieldCLI

/// Terminal widths: Latin 1 column, Han 2, Tibetan stacked letters and combining marks 0.
@Suite struct TextWidthTests {
    @Test func widthsFollowTheScript() {
        #expect(TextWidth.columns("abc-12 é") == 8)
        #expect(TextWidth.columns("e\u{301}") == 1 && TextWidth.columns("a\u{AD}b") == 2)
        #expect(TextWidth.columns("扎西岗乡") == 8 && TextWidth.columns("（3）") == 5)
        #expect(TextWidth.columns("བཀྲ") == 2)  // the subjoined ra stacks under ka
        // The second column starts at the same place on every line: 5 columns of བཀྲ་ཤིས, 2 of gap.
        let lines = TextWidth.table(["名称", "n"], [["བཀྲ་ཤིས", "1"], ["abc", "22"]]).split(separator: "\n").map(String.init)
        #expect(zip(lines, ["n", "1", "22"]).map { TextWidth.columns($0) - TextWidth.columns($1) } == [7, 7, 7])
        // Cells wider than the widest allowed are cut with …, the last one without trailing spaces.
        let cut = TextWidth.table(["a", "b"], [[String(repeating: "长", count: 30), String(repeating: "x", count: 60)]], maxColumn: 10)
        #expect(cut == "a           b\n" + String(repeating: "长", count: 4) + "… " + "  " + String(repeating: "x", count: 9) + "…")
    }

    /// The Tibetan block's fast path agrees with Unicode's general categories, scalar by scalar.
    @Test func tibetanMarksAreUnicodesNonspacingMarks() {
        for v in UInt32(0x0f00)...0x0fff {
            guard let scalar = Unicode.Scalar(v), scalar.properties.generalCategory != .unassigned else { continue }
            let mark = [.nonspacingMark, .enclosingMark, .format].contains(scalar.properties.generalCategory)
            #expect(TextWidth.columns(scalar) == (mark ? 0 : 1), "U+\(String(v, radix: 16))")
        }
    }
}

/// Days and times the field tool prints and reads, in the local time zone, as Foundation's
/// formatters give them (the tool computes them without loading a formatter).
@Suite struct LocalTimeTests {
    @Test func timesAndDaysMatchFoundationsFormatters() throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        for seconds in stride(from: 0, to: 4_102_444_800, by: 86_400 * 37 + 3_607) {
            let date = Date(timeIntervalSince1970: Double(seconds))
            #expect(Output.time(UInt64(seconds) * 1000 + 999) == formatter.string(from: date))
            #expect(day(date) == String(formatter.string(from: date).prefix(10)))
        }
        formatter.dateFormat = "yyyy-MM-dd"
        for text in ["1970-01-01", "2026-02-28", "2028-02-29", "2026-11-30", "2099-12-31"] {
            #expect(try parseDay(text, option: "--from") == formatter.date(from: text))
        }
        #expect(throws: (any Error).self) { try parseDay("2026-02-29", option: "--from") }
        // Where the clocks jump over midnight (Santiago, 2024-09-08: UTC-4 until 04:00 UTC, then
        // UTC-3), the day begins at the jump, not at 23:00 the day before.
        let day = try #require(CalendarDate.dayNumber("2024-09-08"))
        let jump = day * 86_400 + 4 * 3600
        #expect(localMidnight(dayNumber: day, offsetAt: { $0 < jump ? -4 * 3600 : -3 * 3600 }) == jump)
        #expect(localMidnight(dayNumber: day + 1, offsetAt: { $0 < jump ? -4 * 3600 : -3 * 3600 }) == (day + 1) * 86_400 + 3 * 3600)
        #expect(localMidnight(dayNumber: day, offsetAt: { _ in 8 * 3600 }) == day * 86_400 - 8 * 3600)  // Lhasa
        let period = try reportPeriod(from: "2026-11-01", to: "2026-11-30")
        #expect(period.toMillis - period.fromMillis == 30 * 86_400_000)
    }
}
