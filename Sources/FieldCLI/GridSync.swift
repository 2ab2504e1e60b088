import ArgumentParser

/// The grid worker's and county center's command-line tool.
@main
struct GridSync: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gridsync",
        abstract: "Offline-first household register and issue tracking for grid workers.",
        subcommands: [Demo.self]
    )
}
