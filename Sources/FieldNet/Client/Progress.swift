import FieldCLI
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Shows how a sync goes: a bar redrawn in place on a terminal, plain lines otherwise (on stderr,
/// so the summary on stdout stays clean for programs).
final class Progress: @unchecked Sendable {
    let terminal: Bool
    let quiet: Bool
    private let start = Date()
    private var lastDraw = Date()
    private var drawn = false
    /// When the stage now shown began, and the line last written (a line is never written twice).
    private var stage = ""
    private var stageStart = Date()
    private var lastLine = ""

    init(quiet: Bool = false) {
        terminal = isatty(STDERR_FILENO) == 1
        self.quiet = quiet
    }

    var elapsed: Double { Date().timeIntervalSince(start) }

    /// A line that stays (a retry, a refusal, a finished stage).
    func note(_ text: String) {
        guard !quiet else { return }
        if terminal && drawn { write("\r\u{1b}[2K") }
        write(text + "\n")
        drawn = false
    }

    /// A line saying the link dropped and when the next attempt comes.
    func retrying(_ attempt: Int, _ wait: Double, _ failure: Failure) {
        note(
            tr("progress.link_lost_retry_in_s", failure.message, attempt, String(format: "%.1f", wait)))
    }

    /// Progress of a stage: `done` of `total` units (nil when unknown), `bytes` moved so far.
    /// The rate is taken since `since` (default: since the stage's first update).
    func update(_ stage: String, done: Int, total: Int?, unit: String, bytes: Int, since: Date? = nil, force: Bool = false) {
        guard !quiet else { return }
        if stage != self.stage {
            self.stage = stage
            stageStart = Date()
        }
        // The rate over this stage; none shown before there is time enough to measure one.
        let seconds = Date().timeIntervalSince(since ?? stageStart)
        var text = "\(stage) \(done)"
        if let total { text += "/\(total)" }
        text += " \(unit) · \(Output.bytes(bytes))"
        if seconds >= 0.05 && bytes > 0 { text += " · \(Output.bytes(Int(Double(bytes) / seconds)))/s" }
        if let total, done > 0, done < total, seconds > 0.5 {
            let left = seconds / Double(done) * Double(total - done)
            text += " · " + tr("progress.s_left", Int(left.rounded(.up)))
        }
        if terminal {
            guard force || Date().timeIntervalSince(lastDraw) > 0.1 else { return }
            let width = 24
            let filled = total.map { $0 == 0 ? width : min(width, done * width / max(1, $0)) } ?? 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            write("\r\u{1b}[2K[\(bar)] \(text)")
            drawn = true
        } else {
            guard force || Date().timeIntervalSince(lastDraw) > 2, text != lastLine else { return }
            write(text + "\n")
            lastLine = text
        }
        lastDraw = Date()
    }

    func finish() {
        if terminal && drawn && !quiet { write("\n") }
        drawn = false
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
