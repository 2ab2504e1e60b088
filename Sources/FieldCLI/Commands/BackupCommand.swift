import ArgumentParser
import Foundation
import SyncCore

/// `gridsync backup --to DIR`: a copy of the device folder that works as one.
struct BackupCommand: DeviceCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract:
            "Copy this device's folder (replica, setup, credential, photos) to a new folder; use it with --home, or copy it back, to restore."
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "The folder to write (must not exist).")
    var to: String

    func execute() async throws {
        let home = common.device
        _ = try home.config()
        let target = URL(fileURLWithPath: to, isDirectory: true)
        if FileManager.default.fileExists(atPath: target.path) {
            throw Failure("exists", say("\(to) exists: back up into a new folder", "\(to) 已存在：请备份到新的目录"), status: .badInput)
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
            say(
                "backed up to \(to): records, setup, \(hashes.count) photo(s). To restore, use it with --home: what it records then is sent as usual; what this device synced after the backup stays on the server (others see it) but does not come back to it",
                "已备份到 \(to)：记录、设置、\(hashes.count) 张照片。恢复时用 --home 指向它：此后的记录照常同步；备份之后已同步的内容保留在服务器上（他人可见），但不会回到本机"))
    }
}
