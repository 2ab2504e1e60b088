import ArgumentParser
import SyncCore

/// The sync server's command line: set up a data folder, serve, and manage devices.
@main
struct GridSyncServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gridsync-server",
        abstract: "GridSync sync server: TLS, enrollment, scoped one-round-trip sync.",
        version:
            "engine \(SyncCoreVersion.string), protocol \(SyncMessageCoding.protocolVersion), changeset format \(ChangesetEncoding.formatVersion)",
        subcommands: [InitCommand.self, ServeCommand.self, EnrollCommand.self, RevokeCommand.self, DevicesCommand.self]
    )
}

/// The `--data` option every command but `init` takes.
struct DataOption: ParsableArguments {
    @Option(name: .long, help: "The server data folder made by `init`.")
    var data: String = "gridsync-data"
}
