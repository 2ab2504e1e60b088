import Foundation
import SyncCore
import Testing

/// Every sync says which versions each side speaks; a device older than the server's window is
/// told to update, clearly, and nothing of its request is stored.
@Suite(.serialized) struct VersionTests {
    @Test func eachSideSaysItsVersionsAndAnOldDeviceIsToldToUpdate() async throws {
        let server = try LiveServer()
        defer { server.finish() }
        let device = try TestDevice(server: server, name: "device")
        try await device.enroll(code: try server.enrollmentCode(scopes: [ServerTests.gridA]))
        try device.replica.addHousehold(grid: ServerTests.gridA, HouseholdFields(doorPlate: "1号"))
        let request = SyncMessageCoding.encode(try SyncSession(replica: device.replica, peer: server.baseURL).nextRequest())
        func sync(_ versions: String?) async throws -> (status: Int, body: String) {
            var headers = [("Authorization", "Bearer \(device.credential)"), ("Content-Type", "application/x-gridsync")]
            if let versions { headers.append((PeerVersions.header, versions)) }
            let r = try await server.send(.POST, "/v1/sync", body: request, headers: headers)
            return (r.status, String(decoding: r.body, as: UTF8.self))
        }
        let sequence = try await ServerTests().sequence(server)
        let old = try await sync("protocol=0;changeset=1;schema=1")
        #expect(old.status == 426 && old.body.contains("\"upgrade_needed\"") && old.body.contains("update the field tool"), "\(old.body)")
        let garbled = try await sync("protocol=one")
        #expect(garbled.status == 400)
        #expect(try await ServerTests().sequence(server) == sequence, "nothing of a refused request is stored")
        // This build's versions, and a device that sends none (an earlier release), are served.
        #expect(try await sync(PeerVersions.current.description).status == 200)
        #expect(try await sync(nil).status == 200)
        #expect(try await sync("protocol=1;changeset=1;schema=9;later-key=3").status == 200)
        let health = try await server.send(.GET, "/health")
        let json = try JSONSerialization.jsonObject(with: Data(health.body)) as? [String: Any]
        #expect(json?["schema"] as? Int == PeerVersions.current.schema && json?["oldestProtocol"] as? Int == PeerVersions.oldestProtocol)
        #expect(PeerVersions(header: "protocol=1;changeset=1;schema=2;oldest-protocol=1") == .current)
    }
}
