import ArgumentParser
import Foundation
import SyncCore

/// `gridsync demo`: the whole story on loopback, with a real server and three devices.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: tr("help.demo.run_whole_story_loopback"),
        discussion: tr("help.demo.starts_gridsync_server_fresh")
    )

    @Option(help: ArgumentHelp(tr("help.demo.folder_demo_new_temporary")))
    var folder: String?

    @Flag(help: ArgumentHelp(tr("help.demo.keep_demo_folder_afterwards")))
    var keep = false

    @Flag(help: ArgumentHelp(tr("help.demo.keep_county_s_dashboard")))
    var dashboard = false

    @Option(help: ArgumentHelp(tr("help.demo.dashboard_s_port_dashboard")))
    var port = 8765

    @Option(help: ArgumentHelp(tr("help.demo.language_messages_zh_en")))
    var lang: Language?

    func run() async throws {
        if let lang { Language.current = lang }
        let dir = URL(
            fileURLWithPath: folder
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-demo-\(UUID().uuidString.prefix(8))").path)
        guard FileManager.default.fileExists(atPath: Processes.binaries.appendingPathComponent("gridsync-server").path) else {
            FileHandle.standardError.write(
                Data("gridsync: error: gridsync-server is not built next to gridsync: run `swift build` first\n".utf8))
            throw ExitCode(Failure.Status.config.rawValue)
        }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = DemoScript(folder: dir)
        do {
            try script.run()
            try script.openDashboard(keepOpen: dashboard, port: dashboard ? port : 0)
        } catch {
            script.stopServer()
            FileHandle.standardError.write(
                Data("gridsync: error: demo failed: \(Failure.from(error).message) (files kept in \(dir.path))\n".utf8))
            throw ExitCode(1)
        }
        script.stopServer()
        if keep {
            print(tr("demo.files_kept_in", dir.path))
        } else {
            try? FileManager.default.removeItem(at: dir)
        }
    }
}
