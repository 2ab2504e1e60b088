import ArgumentParser
import Foundation
import SyncCore

/// `gridsync-server enroll`: prints a one-time enrollment code.
struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll", abstract: "Print a one-time enrollment code for a new device.")

    @OptionGroup var data: DataOption

    @Option(name: .customLong("scope"), help: "An area path the device may read and write (repeatable).")
    var scopes: [String] = []

    @Option(help: "worker, village, township, county or operator.")
    var role: String = "worker"

    @Option(help: "The person the device is for: the author the server records for its events and reports.")
    var name: String?

    @Option(help: "How many codes to print, one a line; `{n}` in a scope becomes 1, 2, 3, … (one grid per device).")
    var count: Int = 1

    func validate() throws {
        guard !scopes.isEmpty else { throw ValidationError("give at least one --scope") }
        for s in scopes {
            do { _ = try AreaPath(s.replacingOccurrences(of: "{n}", with: "1")) } catch { throw ValidationError(error.description) }
        }
        guard DeviceRole(rawValue: role) != nil else {
            throw ValidationError("role must be one of worker, village, township, county, operator")
        }
        if let name {
            do { _ = try InputRules.personName(name) } catch { throw ValidationError("--name: \(error.description)") }
        }
        guard (1...10_000).contains(count) else { throw ValidationError("count must be 1 to 10000") }
    }

    func run() async throws {
        let folder = DataFolder(data.data)
        let config = try folder.loadConfig()
        let (role, scopes, name, count) = (DeviceRole(rawValue: role)!, scopes, try name.map(InputRules.personName), count)
        try await folder.withStores(config) { _, registry in
            for n in 1...count {
                let code = try await registry.createEnrollment(
                    role: role, scopes: try scopes.map { try AreaPath($0.replacingOccurrences(of: "{n}", with: String(n))) }, name: name,
                    ttlSeconds: config.enrollmentTTLSeconds, nowMillis: Int64(SystemWallClock().nowMillis()))
                print(code)
            }
        }
    }
}

/// `gridsync-server revoke DEVICE`: refuses the device's requests from now on.
struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a device at once.")

    @OptionGroup var data: DataOption

    @Argument(help: "The device id (see `devices`).")
    var device: String

    func run() async throws {
        let folder = DataFolder(data.data)
        let device = device
        let revoked = try await folder.withStores(try folder.loadConfig()) { _, registry in
            try await registry.revoke(device, nowMillis: Int64(SystemWallClock().nowMillis()))
        }
        guard revoked else {
            // One line, no usage text: the command was right, the id is not.
            throw ServerError.setup("no device \(device) here: `gridsync-server devices --data \(data.data)` lists them")
        }
        print("revoked \(device)")
    }
}

/// `gridsync-server devices`: the enrolled devices.
struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "devices", abstract: "List devices, scopes, last sync.")

    @OptionGroup var data: DataOption

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let folder = DataFolder(data.data)
        let config = try folder.loadConfig()
        let blobs = try BlobStore(folder: folder.photos(config))
        let listing = try await folder.withStores(config) { store, registry in
            // Photos referenced by records in a device's scopes whose bytes the server does not hold yet.
            var grids: [String: [String]] = [:]
            for hash in try await store.referencedPhotos() where !blobs.contains(hash) { grids[hash] = try await store.photoGrids(hash) }
            return try await registry.devices().map { d in
                let scopes = d.areaScopes
                return Listing(device: d, pendingPhotos: grids.values.filter { $0.contains { AreaPath.isInScopes($0, scopes) } }.count)
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(listing), as: UTF8.self))
            return
        }
        for item in listing {
            let d = item.device
            let last = d.lastSyncMillis.map { Date(timeIntervalSince1970: Double($0) / 1000).description } ?? "never"
            print(
                "\(d.id)  \(d.name ?? "(no name)")  \(d.role.rawValue)  \(d.revokedMillis == nil ? "active" : "REVOKED")  last sync \(last)  receipt \(d.acknowledged)  "
                    + "pending photos \(item.pendingPhotos)  \(d.scopes.joined(separator: " "))")
        }
    }
}

/// One line of `devices`: the device and the photos waiting for it to upload.
struct Listing: Encodable {
    var device: Device
    var pendingPhotos: Int

    enum CodingKeys: String, CodingKey {
        case id, site, role, name, scopes, enrolledMillis, revokedMillis, lastSyncMillis, acknowledged, pendingPhotos
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(device.id, forKey: .id)
        try c.encode(device.site, forKey: .site)
        try c.encode(device.role, forKey: .role)
        try c.encodeIfPresent(device.name, forKey: .name)
        try c.encode(device.scopes, forKey: .scopes)
        try c.encode(device.enrolledMillis, forKey: .enrolledMillis)
        try c.encodeIfPresent(device.revokedMillis, forKey: .revokedMillis)
        try c.encodeIfPresent(device.lastSyncMillis, forKey: .lastSyncMillis)
        try c.encode(device.acknowledged, forKey: .acknowledged)
        try c.encode(pendingPhotos, forKey: .pendingPhotos)
    }
}
