import FieldCLI
import Foundation
import SyncCore
import Testing

/// One terminology: every status, tier, kind and event has a term in each language, no two values
/// of a group share one, and `docs/TERMS.md` prints exactly the table in the code.
@Suite struct TermsTests {
    @Test func everyValueHasItsTermsAndTheDocumentAgrees() throws {
        let groups: [(Terms.Group, [String])] = [
            (.tier, IssueTier.allCases.map(\.rawValue)), (.kind, IssueKind.allCases.map(\.rawValue)),
            (.status, IssueStatus.allCases.map(\.rawValue)), (.event, IssueEventKind.allCases.map(\.rawValue)),
            (.channel, IssueChannel.allCases.map(\.rawValue)),
        ]
        let document = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("docs/TERMS.md"), encoding: .utf8)
        for (group, values) in groups {
            #expect(Set(Terms.table[group]?.keys.map { $0 } ?? []) == Set(values), "\(group)")
            for language in ["en", "zh", "bo"] {
                let terms = values.map { Terms.term(group, $0, language) }
                #expect(Set(terms).count == values.count && !terms.contains(where: \.isEmpty), "\(group) \(language): \(terms)")
            }
            for value in values {
                let line =
                    "| `\(value)` | \(Terms.term(group, value, "en")) | \(Terms.term(group, value, "zh")) | \(Terms.term(group, value, "bo")) |"
                #expect(document.contains(line), "docs/TERMS.md lacks \(line)")
            }
        }
    }
}
