import ArgumentParser
import Foundation
import SyncCore

/// `gridsync demo`: the whole story on loopback, with a real server and three devices.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole story on loopback: a real server, two workers and a county center, offline work, sync, report.",
        discussion:
            "Starts gridsync-server with a fresh CA in a temporary folder, enrolls two grid workers and a county device, records households, issues, events and photos offline, makes concurrent edits to one issue, syncs (cutting a photo upload and resuming it), and ends with the county report and the county's dashboard (`--dashboard` keeps it open). Every step runs the real `gridsync` command and prints it."
    )

    @Option(help: "Folder for the demo (a new temporary folder by default).")
    var folder: String?

    @Flag(help: "Keep the demo folder afterwards.")
    var keep = false

    @Flag(help: "Keep the county's dashboard open at the end (until Ctrl-C).")
    var dashboard = false

    @Option(help: "The dashboard's port with --dashboard (0: any free port).")
    var port = 8765

    @Option(help: "Language of messages: zh or en (default: from LANG).")
    var lang: Language?

    func run() async throws {
        Language.current = lang ?? .fromEnvironment()
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
            print(say("\nFiles kept in \(dir.path)", "\n文件保留在 \(dir.path)"))
        } else {
            try? FileManager.default.removeItem(at: dir)
        }
    }
}
