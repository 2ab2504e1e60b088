import ArgumentParser
import Dispatch
import Foundation
import SyncCore

/// `gridsync sync`: records first, then photos; retries a dropped link and resumes.
package struct SyncCommand: DeviceCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: tr("help.sync.send_receive_records_then"),
        discussion: tr("help.sync.records_always_go_first")
    )

    @OptionGroup package var common: CommonOptions
    @OptionGroup package var output: JSONFlag

    @Flag(help: ArgumentHelp(tr("help.sync.keep_running_sync_whenever")))
    package var watch = false

    @Option(help: ArgumentHelp(tr("help.sync.watch_seconds_between_syncs")))
    package var interval: Double = 60

    @Option(help: ArgumentHelp(tr("help.sync.byte_budget_this_sync")))
    package var maxBytes: Int?

    @Option(help: ArgumentHelp(tr("help.sync.retries_after_dropped_link")))
    package var retries = 6

    @Option(help: ArgumentHelp(tr("help.photo.seconds_wait_before_first")))
    package var backoff: Double = 2

    @Option(help: ArgumentHelp(tr("help.sync.first_photo_chunk_size")))
    package var chunkKib = 32

    @Option(help: ArgumentHelp(tr("help.sync.seconds_wait_answer_before")))
    package var timeout = 120

    @Flag(help: ArgumentHelp(tr("help.sync.records_only_leave_photos")))
    package var noPhotos = false

    @Flag(help: ArgumentHelp(tr("help.photo.no_progress_output")))
    package var quiet = false

    @Option(help: ArgumentHelp(tr("help.sync.reach_server_through_this")))
    package var via: String?

    package func validate() throws {
        guard interval >= 0.1 else { throw ValidationError(tr("args.interval_minimum")) }
        guard maxBytes.map({ $0 >= 0 }) ?? true else { throw ValidationError(tr("args.not_negative", "--max-bytes")) }
        guard retries >= 0, backoff >= 0 else { throw ValidationError(tr("args.not_negative", "--retries, --backoff")) }
        guard (1...4096).contains(chunkKib) else { throw ValidationError(tr("args.chunk_range")) }
        guard timeout >= 1 else { throw ValidationError(tr("args.timeout_minimum")) }
    }

    package func execute() async throws { try await Network.commands.sync(self) }
}
