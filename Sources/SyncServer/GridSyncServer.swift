import ArgumentParser
import Foundation
import SyncCore

/// The sync server's command line: set up a data folder, serve, and manage devices.
@main
struct GridSyncServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gridsync-server",
        abstract: "GridSync sync server: TLS, enrollment, scoped one-round-trip sync.",
        version:
            "engine \(SyncCoreVersion.string), protocol \(SyncMessageCoding.protocolVersion), changeset format \(ChangesetEncoding.formatVersion)",
        subcommands: [
            InitCommand.self, ServeCommand.self, EnrollCommand.self, RevokeCommand.self, DevicesCommand.self, AreasCommand.self,
            NameAreaCommand.self,
            BackupCommand.self, CheckCommand.self, RenewCertificateCommand.self, RenewEpochCommand.self,
        ]
    )
}

extension GridSyncServer {
    /// Runs the command with a umask of 077: the data folder, its stores, keys and photos are
    /// readable by the server's user only, from the moment they are created.
    static func main() async {
        umask(0o077)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// The `--data` option every command but `init` takes.
struct DataOption: ParsableArguments {
    @Option(name: .long, help: "The server data folder made by `init`.")
    var data: String = "gridsync-data"
}
