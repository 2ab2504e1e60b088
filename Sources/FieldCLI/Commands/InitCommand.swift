import ArgumentParser
import Foundation
import SyncCore

/// `gridsync init`: makes the device folder, enrolls with the server and pins its CA.
package struct InitCommand: DeviceCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: tr("help.init.set_up_this_device"),
        discussion: tr("help.init.operator_gives_you_server")
    )

    @OptionGroup package var common: CommonOptions

    @Option(help: ArgumentHelp(tr("help.init.sync_server_e_g")))
    package var server: String?

    @Option(name: .customLong("enroll"), help: ArgumentHelp(tr("help.init.one_time_enrollment_code")))
    package var code: String

    @Option(help: ArgumentHelp(tr("help.init.ca_certificate_pem_operator")))
    package var ca: String?

    @Flag(
        help: ArgumentHelp(tr("help.init.take_over_device_folder"))
    )
    package var adopt = false

    @Option(help: ArgumentHelp(tr("help.init.your_name_operator_s")))
    package var name: String?

    package func execute() async throws { try await Network.commands.enroll(self) }
}

/// Checks of values typed on the command line that the engine does not see.
package enum InputRulesForCLI {
    package static func name(_ s: String) throws -> String {
        let t = s.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty, t.count <= 64, !t.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Failure(
                "invalid_input", tr("init.name_characters_without_control_characters"), status: .badInput
            )
        }
        return t
    }
}
