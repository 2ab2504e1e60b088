import ArgumentParser

/// The grid worker's and county center's command-line tool.
package struct GridSync: AsyncParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "gridsync",
        abstract: tr("help.grid_sync.offline_first_household_register"),
        discussion: tr("help.grid_sync.everything_recorded_this_device"),
        subcommands: [
            InitCommand.self, StatusCommand.self, HouseholdCommand.self, IssueCommand.self, PhotoCommand.self, SearchCommand.self,
            ConflictCommand.self, SyncCommand.self, ReportCommand.self, ExportCommand.self, DashboardCommand.self, BackupCommand.self,
            Demo.self,
        ]
    )
}
