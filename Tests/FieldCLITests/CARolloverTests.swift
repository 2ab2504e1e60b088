import Foundation
import Testing

/// The README's procedure for changing the CA itself: devices are given a trust file with both CAs,
/// then the server switches; no device enrolls again, and one that missed the file fails to
/// connect (exit 77) without losing what it records.
@Suite struct CARolloverTests {
    @Test func aNewCARollsOutWithoutEnrollingDevicesAgain() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let told = try cluster.device("told", scopes: [g2], person: "扎西")
        let missed = try cluster.device("missed", scopes: [g2], person: "卓玛")
        told.ok(["household", "add", "--door-plate", "换证前"])
        told.sync()
        missed.sync()

        // 1. A new CA, made in a scratch folder.
        let newCA = cluster.folder.appendingPathComponent("newca")
        let made = Cluster.run("gridsync-server", ["init", newCA.path, "--host", "localhost", "--port", "0"])
        #expect(made.status == 0, "\(made.errors)")
        let oldPEM = try String(contentsOfFile: cluster.ca, encoding: .utf8)
        let newPEM = try String(contentsOf: newCA.appendingPathComponent("ca.pem"), encoding: .utf8)
        #expect(oldPEM != newPEM)
        // 2. The told device trusts both and keeps syncing with the old certificate.
        try (oldPEM + newPEM).write(toFile: told.home + "/ca.pem", atomically: true, encoding: .utf8)
        told.ok(["household", "add", "--door-plate", "两个 CA"])
        told.sync()
        // 3. The server switches to the new CA.
        cluster.stop()
        for file in ["ca.pem", "ca-key.pem"] {
            let target = cluster.data.appendingPathComponent(file)
            try FileManager.default.removeItem(at: target)
            try FileManager.default.copyItem(at: newCA.appendingPathComponent(file), to: target)
        }
        #expect(Cluster.run("gridsync-server", ["renew-certificate", "--data", cluster.data.path]).status == 0)
        try cluster.start()
        told.ok(["household", "add", "--door-plate", "新 CA"])
        #expect((told.sync()["refused"] as? [Any])?.isEmpty == true)
        // 4. The device that missed the file cannot connect, and keeps what it records.
        missed.ok(["household", "add", "--door-plate", "未换证"])
        let refused = missed.run(["sync", "--retries", "0"])
        #expect(refused.status == 77, "\(refused.status) \(refused.errors)")
        try (oldPEM + newPEM).write(toFile: missed.home + "/ca.pem", atomically: true, encoding: .utf8)
        missed.sync()
        let county = try cluster.device("county", role: "county", scopes: [county])
        county.sync()
        let listed = county.ok(["household", "list", "--json"]).output
        for plate in ["换证前", "两个 CA", "新 CA", "未换证"] { #expect(listed.contains(plate), "\(plate) missing") }
    }
}
