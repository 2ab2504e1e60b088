import ArgumentParser
import Foundation
import SyncCore

/// `gridsync backup --to DIR`: a copy of the device folder that works as one.
struct BackupCommand: DeviceCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: tr("help.backup.copy_this_device_s")
    )

    @OptionGroup var common: CommonOptions

    @Option(help: ArgumentHelp(tr("help.backup.folder_write_must_not")))
    var to: String

    func execute() async throws {
        let home = common.device
        _ = try home.config()
        let target = URL(fileURLWithPath: to, isDirectory: true)
        if FileManager.default.fileExists(atPath: target.path) {
            throw Failure("exists", tr("backup.exists_back_up_into_new", to), status: .badInput)
        }
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let replica = try home.readReplica()
        try replica.backup(to: target.appendingPathComponent("replica.sqlite").path)
        for file in [home.configURL, home.credentialURL, home.caURL, home.onServerURL]
        where FileManager.default.fileExists(atPath: file.path) {
            try FileManager.default.copyItem(at: file, to: target.appendingPathComponent(file.lastPathComponent))
        }
        let photos = try home.blobs()
        let copies = try BlobStore(folder: target.appendingPathComponent("photos"))
        let hashes = photos.completeHashes()
        for hash in hashes {
            try FileManager.default.copyItem(at: photos.folder.appendingPathComponent(hash), to: copies.folder.appendingPathComponent(hash))
        }
        print(
            tr("backup.backed_up_records_setup_photo", to, hashes.count))
    }
}
