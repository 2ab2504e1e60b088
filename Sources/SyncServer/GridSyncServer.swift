import ArgumentParser
import SyncCore

/// The sync server's command line. Serving over TLS is the subject of the SyncServer issue; today
/// it reports the engine and encoding versions it is built with.
@main
struct GridSyncServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gridsync-server",
        abstract: "GridSync sync server.",
        version: "engine \(SyncCoreVersion.string), changeset format \(ChangesetEncoding.formatVersion)"
    )
}
