import ArgumentParser

/// The grid worker's and county center's command-line tool.
package struct GridSync: AsyncParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "gridsync",
        abstract: "Offline-first household register and issue tracking for grid workers, synced over TLS.",
        discussion:
            "Everything is recorded on this device first and works with no signal; `gridsync sync` exchanges changes with the sync server when a link is there. Messages are in Chinese or English (LANG, or --lang zh|en).",
        subcommands: [
            InitCommand.self, StatusCommand.self, HouseholdCommand.self, IssueCommand.self, PhotoCommand.self, SearchCommand.self,
            ConflictCommand.self, SyncCommand.self, ReportCommand.self, ExportCommand.self, DashboardCommand.self, BackupCommand.self,
            Demo.self,
        ]
    )
}
