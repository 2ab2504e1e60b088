import Foundation

/// The language the tool speaks: Chinese or English, from `--lang` or the environment (`LANG`).
package enum Language: String, CaseIterable, Sendable {
    case zh, en

    /// The language of this run; set once from the options before a command runs.
    package nonisolated(unsafe) static var current: Language = .fromEnvironment()

    /// Chinese when `LC_ALL`, `LC_MESSAGES` or `LANG` (the first one set) starts with `zh`.
    package static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Language {
        let value = ["LC_ALL", "LC_MESSAGES", "LANG"].lazy.compactMap { environment[$0] }.first { !$0.isEmpty } ?? ""
        return value.lowercased().hasPrefix("zh") ? .zh : .en
    }
}

/// A message in both languages; `text` is the one for the current language.
package struct Message: Sendable, CustomStringConvertible {
    package let en: String
    package let zh: String

    package init(_ en: String, _ zh: String) {
        self.en = en
        self.zh = zh
    }

    package var text: String { Language.current == .zh ? zh : en }
    package var description: String { text }
}

/// Shorthand for a message in the current language.
package func say(_ en: String, _ zh: String) -> String { Message(en, zh).text }
