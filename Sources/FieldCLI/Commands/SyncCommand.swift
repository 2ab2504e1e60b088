import ArgumentParser
import Dispatch
import Foundation
import SyncCore

/// `gridsync sync`: records first, then photos; retries a dropped link and resumes.
package struct SyncCommand: DeviceCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Send and receive records, then upload photos; retry and resume when the link drops.",
        discussion:
            "Records always go first. Photos follow in chunks that resume from the last byte the server acknowledged. With --max-bytes, photos stop when the budget is spent and wait for a later sync. With --watch, the tool keeps running and syncs whenever there is something to send, and every --interval seconds to receive, until stopped (Ctrl-C or SIGTERM)."
    )

    @OptionGroup package var common: CommonOptions
    @OptionGroup package var output: JSONFlag

    @Flag(help: "Keep running: sync whenever there is something to send or receive.")
    package var watch = false

    @Option(help: "With --watch: seconds between syncs that only receive.")
    package var interval: Double = 60

    @Option(help: "Byte budget for this sync on a metered link; records always go, photos wait when over it.")
    package var maxBytes: Int?

    @Option(help: "Retries after a dropped link before giving up (with --watch: per sync).")
    package var retries = 6

    @Option(help: "Seconds to wait before the first retry; doubles each time up to 60.")
    package var backoff: Double = 2

    @Option(help: "First photo chunk size in KiB; later chunks grow to about 8 s of the link's measured rate, up to 1 MiB.")
    package var chunkKib = 32

    @Option(help: "Seconds to wait for an answer before counting the link as lost.")
    package var timeout = 120

    @Flag(help: "Records only; leave photos for later.")
    package var noPhotos = false

    @Flag(help: "No progress output.")
    package var quiet = false

    @Option(help: "Reach the server through this address (a relay or tunnel); receipts and cursors stay the enrolled server's.")
    package var via: String?

    package func validate() throws {
        guard interval >= 0.1 else { throw ValidationError("--interval must be at least 0.1 seconds") }
        guard maxBytes.map({ $0 >= 0 }) ?? true else { throw ValidationError("--max-bytes must not be negative") }
        guard retries >= 0, backoff >= 0 else { throw ValidationError("--retries and --backoff must not be negative") }
        guard (1...4096).contains(chunkKib) else { throw ValidationError("--chunk-kib must be 1 to 4096") }
        guard timeout >= 1 else { throw ValidationError("--timeout must be at least 1 second") }
    }

    package func execute() async throws { try await Network.commands.sync(self) }
}
