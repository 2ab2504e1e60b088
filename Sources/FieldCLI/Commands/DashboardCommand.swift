import ArgumentParser
import Foundation
import SyncCore

/// `gridsync dashboard`: the county center's web page, served from this device's own replica (no
/// network needed). It runs in `gridsync-net`, which carries the HTTP server.
package struct DashboardCommand: DeviceCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: tr("help.dashboard.serve_county_center_s"),
        discussion: tr("help.dashboard.serves_http_port_default")
    )

    @OptionGroup package var common: CommonOptions
    @Option(help: ArgumentHelp(tr("help.dashboard.address_listen_default_this"))) package var listen = "127.0.0.1"
    @Option(help: ArgumentHelp(tr("help.dashboard.port_any_free_port"))) package var port = 8765
    @Option(help: ArgumentHelp(tr("help.dashboard.code_browsers_must_give"))) package var accessCode: String?

    /// Whether `address` is reachable from this machine only.
    package static func isLoopback(_ address: String) -> Bool {
        address == "localhost" || address == "::1" || address.hasPrefix("127.")
    }

    package func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError(tr("args.port_range", "--port")) }
        if let accessCode, accessCode.count < 8 { throw ValidationError(tr("args.access_code_length")) }
        if !Self.isLoopback(listen) && accessCode == nil {
            throw ValidationError(tr("args.access_code_needed", listen))
        }
    }

    package func execute() async throws { try await Network.commands.dashboard(self) }
}
