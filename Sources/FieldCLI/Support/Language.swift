import Foundation
import Synchronization

/// The language the tool speaks: English, Chinese or Tibetan, from `--lang` or the environment.
package enum Language: String, CaseIterable, Sendable {
    case en, zh, bo

    /// The language of this run: from the environment, then from `--lang` (anywhere on the
    /// command line) before anything is parsed or printed.
    package nonisolated(unsafe) static var current: Language = .fromEnvironment()

    /// The first of `LC_ALL`, `LC_MESSAGES` and `LANG` that is set: Chinese when it starts with
    /// `zh`, Tibetan with `bo`, English otherwise.
    package static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Language {
        let value = ["LC_ALL", "LC_MESSAGES", "LANG"].lazy.compactMap { environment[$0] }.first { !$0.isEmpty } ?? ""
        let lower = value.lowercased()
        return lower.hasPrefix("zh") ? .zh : lower.hasPrefix("bo") ? .bo : .en
    }
}

/// The tool's messages in each language, from `Catalogues/en.txt`, `zh.txt` and `bo.txt` (built
/// into the binary; a translator edits those files). One message per line, `key = text`; `{1}`,
/// `{2}`… are filled in by the program, `{{` and `}}` are braces, `\n` is a line break, `\\` a
/// backslash; lines that are empty or start with `#` are skipped. `CatalogueTests` checks that
/// every language has every key with the same placeholders, and that the code names only keys
/// that exist.
package enum Catalogue {
    /// The file of `language`, as built in.
    package static func source(_ language: Language) -> [UInt8] {
        switch language {
        case .en: PackageResources.en_txt
        case .zh: PackageResources.zh_txt
        case .bo: PackageResources.bo_txt
        }
    }

    /// A catalogue file's messages by key; a line that is not `key = text` is an error naming it.
    /// Read byte by byte: every command parses its language's file before it prints anything.
    package static func parse(_ bytes: [UInt8]) throws -> [String: String] {
        var table: [String: String] = [:]
        table.reserveCapacity(512)
        try bytes.withUnsafeBufferPointer { all in
            var start = 0
            var number = 0
            while start < all.count {
                number += 1
                var end = start
                while end < all.count && all[end] != 0x0A { end += 1 }
                let line = UnsafeBufferPointer(rebasing: all[start..<end])
                start = end + 1
                var first = 0
                while first < line.count && (line[first] == 0x20 || line[first] == 0x09) { first += 1 }
                if first == line.count || line[first] == 0x23 { continue }  // empty, or `#`
                // The first " = " separates the key from the text.
                var eq = first
                var found = false
                while eq + 2 < line.count {
                    if line[eq] == 0x20 && line[eq + 1] == 0x3D && line[eq + 2] == 0x20 {
                        found = true
                        break
                    }
                    eq += 1
                }
                guard found else { throw CatalogueError(line: number, problem: "not `key = text`") }
                let key = String(decoding: UnsafeBufferPointer(rebasing: line[first..<eq]), as: UTF8.self)
                guard table[key] == nil else { throw CatalogueError(line: number, problem: "key \(key) given twice") }
                let text = String(decoding: UnsafeBufferPointer(rebasing: line[(eq + 3)...]), as: UTF8.self)
                table[key] = text.utf8.contains(0x5C) ? unescape(text[...]) : text  // a backslash
            }
        }
        return table
    }

    package struct CatalogueError: Error, CustomStringConvertible {
        package var line: Int
        package var problem: String
        package var description: String { "line \(line): \(problem)" }
    }

    private static func unescape(_ text: Substring) -> String {
        guard text.utf8.contains(0x5C) else { return String(text) }
        var out = ""
        var escaped = false
        for ch in text {
            if escaped {
                out.append(ch == "n" ? "\n" : ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else {
                out.append(ch)
            }
        }
        return out
    }

    /// Each language's table, parsed on first use (a command parses only its own language's).
    private static let tables = Mutex<[Language: [String: String]]>([:])

    static func table(_ language: Language) -> [String: String] {
        tables.withLock { cache in
            if let known = cache[language] { return known }
            let parsed = (try? parse(source(language))) ?? [:]
            cache[language] = parsed
            return parsed
        }
    }

    /// The message `key` in `language` (English when that language lacks it, the key itself when
    /// no catalogue has it), with `{n}` replaced by `arguments[n - 1]`.
    package static func text(_ key: String, _ arguments: [String], in language: Language = .current) -> String {
        let template = table(language)[key] ?? (language == .en ? nil : table(.en)[key]) ?? key
        return fill(template, arguments)
    }

    /// `template` with `{n}` replaced by `arguments[n - 1]` and `{{`, `}}` by braces.
    package static func fill(_ template: String, _ arguments: [String]) -> String {
        guard template.utf8.contains(where: { $0 == 0x7B || $0 == 0x7D }) else { return template }  // no brace
        // By scalars, not characters: a Tibetan vowel sign after `}` joins it into one character.
        var out = String.UnicodeScalarView()
        var chars = template.unicodeScalars[...]
        while let ch = chars.first {
            chars = chars.dropFirst()
            if ch == "{" && chars.first == "{" || ch == "}" && chars.first == "}" {
                out.append(ch)
                chars = chars.dropFirst()
            } else if ch == "{", let close = chars.firstIndex(of: "}"), let n = Int(String(chars[..<close])), n >= 1, n <= arguments.count {
                out.append(contentsOf: arguments[n - 1].unicodeScalars)
                chars = chars[chars.index(after: close)...]
            } else {
                out.append(ch)
            }
        }
        return String(out)
    }

    /// The placeholders `{n}` of a template, for the tests.
    package static func placeholders(_ template: String) -> Set<Int> {
        var found: Set<Int> = []
        let plain = template.replacingOccurrences(of: "{{", with: "").replacingOccurrences(of: "}}", with: "")
        var rest = plain[...]
        while let open = rest.firstIndex(of: "{") {
            rest = rest[rest.index(after: open)...]
            guard let close = rest.firstIndex(of: "}") else { break }
            if let n = Int(rest[..<close]) { found.insert(n) }
            rest = rest[rest.index(after: close)...]
        }
        return found
    }
}

/// The message `key` of the catalogues in the current language, filled with `arguments`.
package func tr(_ key: String, _ arguments: any CustomStringConvertible...) -> String {
    Catalogue.text(key, arguments.map(\.description))
}
