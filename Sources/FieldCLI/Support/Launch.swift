import ArgumentParser
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the `gridsync` command line (in `gridsync` and in `gridsync-net`): the language is taken
/// from `--lang` wherever it stands, and a command line that cannot be parsed is refused in one
/// line of the user's language, with a suggestion for a mistyped command or option:
/// `gridsync: error: MESSAGE [usage]` (exit 64) or `[bad_value]` (exit 65).
package enum Launch {
    package static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        do {
            try takeLanguage(from: &arguments)
            try checkWords(arguments)
        } catch let failure as Failure {
            exit(report(failure))
        } catch {
            exit(report(Failure.from(error)))
        }
        var command: any ParsableCommand
        do {
            command = try GridSync.parseAsRoot(arguments)
        } catch {
            if GridSync.exitCode(for: error) == .success { GridSync.exit(withError: error) }  // --help
            // A mistyped option is the likelier cause than what the parser met first.
            exit(report(unknownOption(arguments) ?? parseFailure(error, arguments)))
        }
        do {
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            if GridSync.exitCode(for: error) == .success { GridSync.exit(withError: error) }
            exit(report(Failure.from(error)))
        }
    }

    /// Prints `failure` as the one line the README documents; returns its exit status.
    package static func report(_ failure: Failure) -> Int32 {
        let line = failure.message.replacingOccurrences(of: "\n", with: " ")
        FileHandle.standardError.write(Data("gridsync: \(tr("failure.error")): \(line) [\(failure.code)]\n".utf8))
        return failure.status.rawValue
    }

    /// Sets the language from `--lang X` or `--lang=X` anywhere before `--`, and takes it out of
    /// the arguments (so it may come before the command as well as after it).
    static func takeLanguage(from arguments: inout [String]) throws {
        let end = arguments.firstIndex(of: "--") ?? arguments.count
        guard let i = arguments[..<end].firstIndex(where: { $0 == "--lang" || $0.hasPrefix("--lang=") }) else { return }
        let value: String
        if arguments[i] == "--lang" {
            guard i + 1 < end, !arguments[i + 1].hasPrefix("-") else {
                throw Failure("usage", tr("args.missing_value", "--lang"), status: .usage)
            }
            value = arguments[i + 1]
            arguments.removeSubrange(i...(i + 1))
        } else {
            value = String(arguments[i].dropFirst("--lang=".count))
            arguments.remove(at: i)
        }
        guard let language = Language(rawValue: value) else {
            throw Failure("bad_value", tr("args.unknown_language", value), status: .badInput)
        }
        Language.current = language
    }

    /// Refuses an unknown command before parsing, with the closest known one.
    static func checkWords(_ arguments: [String]) throws {
        // The argument parser's own root options (shell completion, help dumps) pass as they are.
        if let first = arguments.first,
            ["--generate-completion-script", "--experimental-dump-help", "--version"].contains(
                where: { first == $0 || first.hasPrefix($0 + "=") })
        {
            return
        }
        let (command, path, rest) = named(arguments)
        let children = subcommands(of: command)
        if let word = rest.first, !word.hasPrefix("-"), !children.isEmpty {
            if word == "help" { return }
            throw Failure(
                "usage", tr("args.unknown_command", word, path.joined(separator: " ")) + suggestion(word, children.map(name)),
                status: .usage)
        }
        if !children.isEmpty && !hasDefault(command) && !rest.contains(where: { $0 == "--help" || $0 == "-h" }) {
            throw Failure(
                "usage", tr("args.needs_command", path.joined(separator: " "), children.map(name).joined(separator: ", ")),
                status: .usage)
        }
    }

    /// An option of `arguments` the command they name does not take, as a failure with the
    /// closest one it does take (read from its help: done only once parsing failed).
    static func unknownOption(_ arguments: [String]) -> Failure? {
        let (command, path, rest) = named(arguments)
        let known = options(of: command)
        for word in rest.prefix(while: { $0 != "--" }) where word.hasPrefix("--") {
            let option = String(word.split(separator: "=", maxSplits: 1)[0])
            if !known.contains(option) {
                return Failure(
                    "usage", tr("args.unknown_option", option, path.joined(separator: " ")) + suggestion(option, known.sorted()),
                    status: .usage)
            }
        }
        return nil
    }

    /// The command the leading words of `arguments` name (as far as they are subcommands), its
    /// path of names, and the arguments after it.
    private static func named(_ arguments: [String]) -> (any ParsableCommand.Type, [String], ArraySlice<String>) {
        var command: any ParsableCommand.Type = GridSync.self
        var path = ["gridsync"]
        var rest = arguments[...]
        while let word = rest.first, !word.hasPrefix("-"), let next = subcommands(of: command).first(where: { name($0) == word }) {
            command = next
            path.append(word)
            rest = rest.dropFirst()
        }
        return (command, path, rest)
    }

    private static func subcommands(of command: any ParsableCommand.Type) -> [any ParsableCommand.Type] {
        command.configuration.subcommands
    }

    private static func hasDefault(_ command: any ParsableCommand.Type) -> Bool {
        command.configuration.defaultSubcommand != nil
    }

    private static func name(_ command: any ParsableCommand.Type) -> String { command._commandName }

    /// The long options `command` takes, read from its help.
    static func options(of command: any ParsableCommand.Type) -> Set<String> {
        let help = GridSync.helpMessage(for: command, columns: 200)
        var found: Set<String> = ["--help"]
        var word = ""
        for ch in help + " " {
            if ch.isLetter || ch.isNumber || ch == "-" {
                word.append(ch)
            } else {
                if word.hasPrefix("--") && word.count > 2 { found.insert(word) }
                word = ""
            }
        }
        return found
    }

    /// "; did you mean X?" for the closest of `candidates` to `word`, or nothing.
    static func suggestion(_ word: String, _ candidates: [String]) -> String {
        let scored = candidates.map { ($0, distance(word, $0)) }.filter { $0.1 <= max(2, word.count / 3) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return "" }
        return tr("args.did_you_mean", best.0)
    }

    /// The edit distance between `a` and `b` (insertions, deletions, substitutions, transpositions).
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty || y.isEmpty { return max(x.count, y.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[x.count][y.count]
    }

    /// A parse error of the argument parser, in the user's language: a value that is not one the
    /// option takes is refused input (65); a missing or unexpected argument is a usage error (64).
    static func parseFailure(_ error: any Error, _ arguments: [String]) -> Failure {
        let text = GridSync.message(for: error)
        func quoted(_ s: Substring) -> [String] {
            s.split(separator: "'", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
        }
        /// `--kind <kind>` as the parser names it: the option alone.
        func option(_ s: String) -> String { String(s.split(separator: " ").first ?? Substring(s)) }
        let firstLine = text.split(separator: "\n").first ?? ""
        let q = quoted(firstLine)
        if firstLine.hasPrefix("The value "), q.count >= 2 {
            let choices = text.split(separator: "\n").filter { $0.hasPrefix("  - ") }.map { $0.dropFirst(4) }
            let allowed = choices.isEmpty ? "" : tr("args.choose_from", choices.joined(separator: ", "))
            return Failure("bad_value", tr("args.invalid_value", q[0], option(q[1])) + allowed, status: .badInput)
        }
        if firstLine.hasPrefix("Missing value for "), let name = q.first.map(option) {
            return Failure("usage", tr("args.missing_value", name), status: .usage)
        }
        if firstLine.hasPrefix("Missing expected argument "), let name = q.first.map(option) {
            return Failure("usage", tr("args.missing_argument", name), status: .usage)
        }
        if firstLine.hasPrefix("Unexpected argument"), let word = q.first {
            return Failure("usage", tr("args.unexpected", word), status: .usage)
        }
        if firstLine.hasPrefix("Unknown option "), let name = q.first {
            return Failure("usage", tr("args.unknown_option", name, "gridsync"), status: .usage)
        }
        // The parser's other complaints about the command line's shape: usage errors too.
        let shape = ["nexpected argument", "does not take any value", "already been set", "Missing ", "Unknown "]
        if firstLine.hasPrefix("Error: ") || text.contains("Usage:") || shape.contains(where: { firstLine.contains($0) }) {
            return Failure("usage", String(firstLine), status: .usage)
        }
        // A check of the command's own (already in the user's language).
        return Failure("bad_value", String(firstLine), status: .badInput)
    }
}
