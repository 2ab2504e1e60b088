import ArgumentParser
import Foundation
import SyncCore

/// `gridsync dashboard`: the county center's web page, served from this device's own replica (no
/// network needed). It runs in `gridsync-net`, which carries the HTTP server.
package struct DashboardCommand: DeviceCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Serve the county center's dashboard from this device's data (overview, drill-down, issues, results board).",
        discussion:
            "Serves http://127.0.0.1:PORT/ by default, reachable from this machine only. To serve the office network, give --listen 0.0.0.0 (or an address of this machine) and an --access-code of at least 8 characters, which each browser is asked for once. Stop it with Ctrl-C."
    )

    @OptionGroup package var common: CommonOptions
    @Option(help: "The address to listen on (default: 127.0.0.1, this machine only).") package var listen = "127.0.0.1"
    @Option(help: "The port (0: any free port).") package var port = 8765
    @Option(help: "The code browsers must give when serving beyond this machine (at least 8 characters).") package var accessCode: String?

    /// Whether `address` is reachable from this machine only.
    package static func isLoopback(_ address: String) -> Bool {
        address == "localhost" || address == "::1" || address.hasPrefix("127.")
    }

    package func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        if let accessCode, accessCode.count < 8 { throw ValidationError("--access-code needs at least 8 characters") }
        if !Self.isLoopback(listen) && accessCode == nil {
            throw ValidationError("serving on \(listen) reaches other machines: give --access-code CODE (at least 8 characters)")
        }
    }

    package func execute() async throws { try await Network.commands.dashboard(self) }
}
