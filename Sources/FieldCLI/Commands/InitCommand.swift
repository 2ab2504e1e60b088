import ArgumentParser
import Foundation
import SyncCore

/// `gridsync init`: makes the device folder, enrolls with the server and pins its CA.
package struct InitCommand: DeviceCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Set up this device: enroll with the sync server using a one-time code and pin its CA.",
        discussion:
            "The operator gives you the server's address, a one-time enrollment code (from `gridsync-server enroll`) and the CA certificate (ca.pem) to trust. The credential the server issues is stored in the device folder with mode 0600."
    )

    @OptionGroup package var common: CommonOptions

    @Option(help: "The sync server, e.g. https://sync.example.org:8443 (with --adopt: the folder's own).")
    package var server: String?

    @Option(name: .customLong("enroll"), help: "The one-time enrollment code, e.g. 7KQ2-XM4P-9RTA.")
    package var code: String

    @Option(help: "The CA certificate (PEM) the operator gave you; only servers it signed are trusted (with --adopt: the folder's own).")
    package var ca: String?

    @Flag(
        help:
            "Take over a device folder copied from another handheld: this handheld gets its own site id and enrollment, and sends every record of the folder the server lacks."
    )
    package var adopt = false

    @Option(help: "Your name, for the operator's log (e.g. 扎西); events are recorded under the name the operator enrolled you with.")
    package var name: String?

    package func execute() async throws { try await Network.commands.enroll(self) }
}

/// Checks of values typed on the command line that the engine does not see.
package enum InputRulesForCLI {
    package static func name(_ s: String) throws -> String {
        let t = s.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty, t.count <= 64, !t.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Failure(
                "invalid_input", say("a name is 1 to 64 characters without control characters", "姓名为 1 到 64 个字符，不能含控制字符"), status: .badInput
            )
        }
        return t
    }
}
