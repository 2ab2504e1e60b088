import ArgumentParser
import Foundation
import SyncCore

/// `gridsync-server name-area PATH --zh NAME --bo NAME`: names a grid of the area tree. Area names
/// come from the operator only (devices may not write them); they reach every device whose scopes
/// hold the grid with its next sync.
struct NameAreaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "name-area", abstract: "Give a grid its Chinese and Tibetan names (devices receive them when they sync).")

    @OptionGroup var data: DataOption

    @Argument(help: "The grid's area path.")
    var path: String

    @Option(help: "The Chinese name.")
    var zh: String?

    @Option(help: "The Tibetan name.")
    var bo: String?

    func validate() throws {
        do { _ = try AreaPath(path) } catch { throw ValidationError(error.description) }
        guard zh != nil || bo != nil else { throw ValidationError("give --zh, --bo or both") }
    }

    func run() throws {
        let folder = DataFolder(data.data)
        var storeConfig = Replica.Configuration()
        storeConfig.maxDriftMillis = try folder.loadConfig().maxDriftMillis
        let store = try Replica(path: folder.store.path, configuration: storeConfig)
        try store.putGrid(path, nameZh: zh, nameBo: bo)
        print("named \(path): \([zh, bo].compactMap { $0 }.joined(separator: " / "))")
    }
}
