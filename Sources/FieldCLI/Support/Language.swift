import Foundation

/// The language the tool speaks: Chinese or English, from `--lang` or the environment (`LANG`).
enum Language: String, CaseIterable, Sendable {
    case zh, en

    /// The language of this run; set once from the options before a command runs.
    nonisolated(unsafe) static var current: Language = .fromEnvironment()

    /// Chinese when `LC_ALL`, `LC_MESSAGES` or `LANG` (the first one set) starts with `zh`.
    static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Language {
        let value = ["LC_ALL", "LC_MESSAGES", "LANG"].lazy.compactMap { environment[$0] }.first { !$0.isEmpty } ?? ""
        return value.lowercased().hasPrefix("zh") ? .zh : .en
    }
}

/// A message in both languages; `text` is the one for the current language.
struct Message: Sendable, CustomStringConvertible {
    let en: String
    let zh: String

    init(_ en: String, _ zh: String) {
        self.en = en
        self.zh = zh
    }

    var text: String { Language.current == .zh ? zh : en }
    var description: String { text }
}

/// Shorthand for a message in the current language.
func say(_ en: String, _ zh: String) -> String { Message(en, zh).text }
