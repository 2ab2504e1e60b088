import ArgumentParser
import Foundation
import SyncCore

/// `gridsync init`: makes the device folder, enrolls with the server and pins its CA.
struct InitCommand: DeviceCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Set up this device: enroll with the sync server using a one-time code and pin its CA.",
        discussion:
            "The operator gives you the server's address, a one-time enrollment code (from `gridsync-server enroll`) and the CA certificate (ca.pem) to trust. The credential the server issues is stored in the device folder with mode 0600."
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "The sync server, e.g. https://sync.example.org:8443")
    var server: String

    @Option(name: .customLong("enroll"), help: "The one-time enrollment code, e.g. 7KQ2-XM4P-9RTA.")
    var code: String

    @Option(help: "The CA certificate (PEM) the operator gave you; only servers it signed are trusted.")
    var ca: String

    @Option(help: "Your name, recorded as who did each event (e.g. 扎西).")
    var name: String?

    func execute() async throws {
        let home = common.device
        if home.isInitialised {
            let existing = try home.config()
            throw Failure(
                "already_initialised",
                say(
                    "\(home.folder.path) is already set up as device \(existing.device) of \(existing.server); use another --home",
                    "\(home.folder.path) 已设置为 \(existing.server) 的设备 \(existing.device)；请使用其他 --home"),
                status: .badInput)
        }
        if let name { _ = try InputRulesForCLI.name(name) }
        try FileManager.default.createDirectory(at: home.folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let connection = try ServerConnection(server: server, caFile: ca)
        defer { Task { await connection.shutdown() } }
        do {
            try await enroll(home: home, connection: connection)
        } catch {
            // Leave nothing half set up: the next attempt starts clean.
            for file in ["replica.sqlite", "replica.sqlite-wal", "replica.sqlite-shm", "ca.pem", "credential"] {
                try? FileManager.default.removeItem(at: home.folder.appendingPathComponent(file))
            }
            await connection.shutdown()
            throw error
        }
        await connection.shutdown()
    }

    private func enroll(home: DeviceHome, connection: ServerConnection) async throws {
        let health = try await connection.send(.GET, "/health")
        guard health.status == 200,
            let json = try? JSONSerialization.jsonObject(with: Data(health.body)) as? [String: Any],
            let proto = json["protocol"] as? Int
        else { throw ServerConnection.failure(health) }
        guard proto == SyncMessageCoding.protocolVersion else {
            throw Failure(
                "protocol_mismatch",
                say(
                    "the server speaks protocol \(proto); this tool speaks \(SyncMessageCoding.protocolVersion)",
                    "服务器使用协议版本 \(proto)，本工具使用 \(SyncMessageCoding.protocolVersion)"), status: .config)
        }
        let replica = try DeviceHome.replica(at: home.replicaPath)
        let body = try JSONSerialization.data(withJSONObject: ["code": code, "site": replica.site.hex])
        let reply = try await connection.send(.POST, "/v1/enroll", body: Array(body), contentType: "application/json")
        guard reply.status == 200 else { throw ServerConnection.failure(reply) }
        struct Answer: Decodable {
            var device: String
            var credential: String
            var role: String
            var scopes: [String]
            var caCertificate: String
            var serverTimeMillis: UInt64
        }
        let answer = try JSONDecoder().decode(Answer.self, from: Data(reply.body))
        let given = try String(contentsOfFile: ca, encoding: .utf8)
        guard given.filter({ !$0.isWhitespace }).contains(answer.caCertificate.filter { !$0.isWhitespace }) else {
            throw Failure(
                "ca_mismatch",
                say(
                    "the server's CA is not the one you were given: check with the operator",
                    "服务器的 CA 与您收到的不一致：请与管理员核对"), status: .refused)
        }
        _ = try replica.learnServerTime(answer.serverTimeMillis)
        try DeviceHome.writeDurably(Data(answer.caCertificate.utf8), to: home.caURL, mode: 0o644)
        try home.saveCredential(answer.credential)
        try home.save(
            DeviceConfig(
                server: connection.server, device: answer.device, role: answer.role, scopes: answer.scopes, site: replica.site.hex,
                name: name, enrolledAtMillis: UInt64(Date().timeIntervalSince1970 * 1000)))
        print(say("enrolled as \(answer.device) (\(answer.role))", "已注册为 \(answer.device)（\(answer.role)）"))
        print(say("scopes: ", "范围：") + answer.scopes.joined(separator: ", "))
        print(say("device folder: ", "设备目录：") + home.folder.path)
    }
}

/// Checks of values typed on the command line that the engine does not see.
enum InputRulesForCLI {
    static func name(_ s: String) throws -> String {
        let t = s.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty, t.count <= 64, !t.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Failure(
                "invalid_input", say("a name is 1 to 64 characters without control characters", "姓名为 1 到 64 个字符，不能含控制字符"), status: .badInput
            )
        }
        return t
    }
}
