import Foundation
import SyncCore
import Testing

@testable import FieldCLI

/// The message catalogues (`Sources/FieldCLI/Catalogues/*.txt`): complete in every language, the
/// same placeholders everywhere, and every key the code asks for present.
@Suite struct CatalogueTests {
    static let tables = Language.allCases.map { language in (language, try? Catalogue.parse(Catalogue.source(language))) }

    @Test func everyLanguageHasEveryMessageWithTheSamePlaceholders() throws {
        let en = try #require(try Catalogue.parse(Catalogue.source(.en)))
        #expect(en.count > 200)
        for (language, parsed) in Self.tables {
            let table = try #require(parsed, "\(language) does not parse")
            #expect(
                Set(table.keys) == Set(en.keys),
                "\(language): missing \(Set(en.keys).subtracting(table.keys).sorted()), extra \(Set(table.keys).subtracting(en.keys).sorted())"
            )
            for (key, text) in table {
                #expect(
                    !text.trimmingCharacters(in: .whitespaces).isEmpty || en[key]?.trimmingCharacters(in: .whitespaces).isEmpty == true,
                    "\(language) \(key) is empty")
                #expect(Catalogue.placeholders(text) == Catalogue.placeholders(en[key] ?? ""), "\(language) \(key): \(text)")
            }
        }
    }

    @Test func everyKeyTheCodeNamesExists() throws {
        let en = try Catalogue.parse(Catalogue.source(.en))
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources")
        var named: Set<String> = []
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            guard file.pathExtension == "swift", let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
            var rest = text[...]
            while let call = rest.range(of: "tr(\"") {
                rest = rest[call.upperBound...]
                guard let close = rest.firstIndex(of: "\"") else { break }
                let key = String(rest[..<close])
                // A key built from a prefix (`"status.count_" + table`, `"role." + role`) is checked below.
                if !key.hasSuffix("_") && !key.hasSuffix(".") { named.insert(key) }
            }
        }
        #expect(named.count > 200)
        #expect(named.subtracting(en.keys).isEmpty, "unknown keys: \(named.subtracting(en.keys).sorted())")
        for table in ["households", "issues", "issue_events", "photo_refs", "conflicts"] { #expect(en["status.count_" + table] != nil) }
        for role in ["worker", "village", "township", "county", "operator"] { #expect(en["role." + role] != nil) }
        for field in InputField.allCases { #expect(en["field." + field.rawValue] != nil, "field.\(field.rawValue)") }
    }

    /// The engine's input refusals reach the user in their language, whole (no English left in a
    /// Chinese or Tibetan line), with what they typed quoted as typed.
    @Test func inputRefusalsAreSaidInTheUsersLanguage() {
        let refusals: [InputRefusal] = [
            .empty(.title), .tooLong(.doorPlate, maxBytes: 64), .controlCharacter(.title, scalar: 7),
            .notADate(.dueDate, text: "2026-02-30"), .phone(text: "abc"), .tagWithComma("a,b"), .photoHash("xyz"), .members(-3),
            .satisfaction(9), .householdNeedsPlateOrHead, .alreadyExists(kind: "issue", id: "1234"), .idLength,
            .idTooShort(prefix: "ab", minimum: 4), .ambiguousID(prefix: "abcd", candidates: ["abcd1", "abcd2"]),
            .householdInOtherGrid(household: "h1", grid: "a/b", issueGrid: "a/c"), .searchTooLong(maxBytes: 1024), .emptyPeriod,
            .areaPath("Bad Path"),
        ]
        let saved = Language.current
        defer { Language.current = saved }
        for language in [Language.zh, .bo] {
            Language.current = language
            for refusal in refusals {
                let line = Failure(SyncCoreError.input(refusal)).message
                // What the engine says in English shares no word with the translated line.
                let english: Set<String> = Self.words(refusal.description).filter { $0.count > 3 }
                let typed: Set<String> = ["Bad", "Path", "abcd", "abcd1", "abcd2", "YYYY", "hash"]
                let left = english.subtracting(typed).intersection(Self.words(line))
                #expect(left.isEmpty, "\(language): \(line)")
                #expect(Failure(SyncCoreError.input(refusal)).code == "invalid_input")
            }
        }
        Language.current = .zh
        #expect(Failure(SyncCoreError.input(.notADate(.dueDate, text: "2026-02-30"))).message == "期限须为实际存在的日期，格式 YYYY-MM-DD：\"2026-02-30\"")
    }

    static func words(_ text: String) -> Set<String> {
        Set(text.split(whereSeparator: { !$0.isLetter }).map(String.init))
    }

    @Test func messagesAreFilledAndFallBack() {
        #expect(Catalogue.fill("{2} of {1}, {{literal}}", ["a", "b"]) == "b of a, {literal}")
        #expect(Catalogue.fill("{3} stays", ["a"]) == "{3} stays")
        #expect(Catalogue.fill("{1}ི {2}", ["ཀ", "ཁ"]) == "ཀི ཁ", "a vowel sign right after a placeholder")
        #expect(Catalogue.text("issue.issue_saved", ["1234"], in: .zh) == "事项 1234 已保存")
        #expect(Catalogue.text("issue.issue_saved", ["1234"], in: .bo) == "དོན་དག 1234 ཉར་ཟིན།")
        #expect(Catalogue.text("no.such.key", [], in: .bo) == "no.such.key")
        #expect(throws: Catalogue.CatalogueError.self) { try Catalogue.parse(Array("key without text\n".utf8)) }
        #expect(throws: Catalogue.CatalogueError.self) { try Catalogue.parse(Array("a = 1\na = 2\n".utf8)) }
    }

    @Test func theLanguageComesFromTheEnvironment() {
        #expect(Language.fromEnvironment(["LANG": "bo_CN.UTF-8"]) == .bo)
        #expect(Language.fromEnvironment(["LANG": "zh_CN.UTF-8"]) == .zh)
        #expect(Language.fromEnvironment(["LC_ALL": "bo_IN", "LANG": "zh_CN.UTF-8"]) == .bo)
        #expect(Language.fromEnvironment(["LANG": "C.UTF-8"]) == .en)
        #expect(Launch.suggestion("stauts", ["status", "sync", "search"]).contains("status"))
        #expect(Launch.suggestion("zzzzzz", ["status", "sync"]) == "")
    }
}
