import ArgumentParser
import Foundation
import SyncCore

extension Language: ExpressibleByArgument {}

/// Options every device command takes.
package struct CommonOptions: ParsableArguments {
    package init() {}

    @Option(name: .long, help: ArgumentHelp(tr("help.options.device_folder_default_gridsync")))
    package var home: String?

    @Option(name: .long, help: ArgumentHelp(tr("help.demo.language_messages_zh_en")))
    package var lang: Language?

    /// The device folder these options name.
    package var device: DeviceHome { DeviceHome.resolve(home) }
}

/// `--json` for commands that print data.
package struct JSONFlag: ParsableArguments {
    package init() {}

    @Flag(name: .long, help: ArgumentHelp(tr("help.options.print_json_instead_text")))
    package var json = false
}

/// Printing results: text for people, JSON for programs.
package enum Output {
    package static func json(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// A date and time from wall-clock milliseconds, in the local time zone.
    package static func time(_ millis: UInt64) -> String {
        let seconds = Int(millis / 1000)
        let local = seconds + utcOffsetSeconds(at: seconds)
        let dayNumber = Int((Double(local) / 86_400).rounded(.down))
        let inDay = local - dayNumber * 86_400
        return CalendarDate.text(dayNumber: dayNumber) + String(format: " %02d:%02d:%02d", inDay / 3600, inDay / 60 % 60, inDay % 60)
    }

    /// A byte count for people: 1.5 MiB, 320 KiB, 12 B.
    package static func bytes(_ n: Int) -> String {
        if n >= 1 << 20 { return String(format: "%.1f MiB", Double(n) / Double(1 << 20)) }
        if n >= 1 << 10 { return String(format: "%.0f KiB", Double(n) / Double(1 << 10)) }
        return "\(n) B"
    }
}
