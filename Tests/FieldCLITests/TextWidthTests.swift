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
    }
}
