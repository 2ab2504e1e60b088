import Foundation
import Testing

/// The `gridsync` client's side of TLS, and the server's versions seen by `curl`.
@Suite struct TLSTests {
    static func openssl(_ args: [String], in folder: URL) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = args
        p.currentDirectoryURL = folder
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ClusterError.setup("openssl \(args.prefix(2).joined(separator: " ")) failed") }
    }

    /// The device refuses a server whose certificate names another host, before sending anything.
    @Test func aCertificateForAnotherHostIsRefused() throws {
        let cluster = try Cluster(extraInit: ["--host", "sync.example.invalid"])
        defer { cluster.tearDown() }
        let home = cluster.folder.appendingPathComponent("d").path
        let r = Cluster.run(
            "gridsync", ["init", "--home", home, "--server", cluster.url, "--enroll", try cluster.code(scopes: [g2]), "--ca", cluster.ca])
        #expect(r.status == 77 && r.errors.contains("[untrusted_server]"), "\(r.errors)")
        #expect(!FileManager.default.fileExists(atPath: home + "/credential"))
    }

    /// The device refuses a server whose certificate, signed by the pinned CA, has expired.
    @Test func anExpiredCertificateIsRefused() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-expired-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        try Data("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n".utf8).write(
            to: work.appendingPathComponent("ext.cnf"))
        try Data(
            """
            [ca]
            default_ca = d
            [d]
            database = index.txt
            new_certs_dir = .
            serial = serial
            default_md = sha256
            policy = p
            unique_subject = no
            [p]
            commonName = supplied

            """.utf8
        ).write(to: work.appendingPathComponent("ca.cnf"))
        try Data().write(to: work.appendingPathComponent("index.txt"))
        try Data("01\n".utf8).write(to: work.appendingPathComponent("serial"))
        try Self.openssl(
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
                "-days",
                "3650", "-subj", "/CN=County CA",
            ], in: work)
        try Self.openssl(
            [
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr",
                "-subj", "/CN=localhost",
            ],
            in: work)
        try Self.openssl(
            [
                "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-in", "server.csr", "-out", "expired.pem",
                "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-extfile", "ext.cnf", "-notext",
            ], in: work)
        let expired = try Cluster(extraInit: [
            "--certificate", work.appendingPathComponent("expired.pem").path, "--key", work.appendingPathComponent("server.key").path,
            "--ca", work.appendingPathComponent("ca.pem").path,
        ])
        defer { expired.tearDown() }
        let home = expired.folder.appendingPathComponent("d").path
        let r = Cluster.run(
            "gridsync", ["init", "--home", home, "--server", expired.url, "--enroll", try expired.code(scopes: [g2]), "--ca", expired.ca])
        #expect(r.status == 77 && r.errors.contains("[untrusted_server]"), "\(r.errors)")
    }

    /// `curl`, an independent client: TLS 1.3 is negotiated; TLS 1.0 and 1.1 are refused.
    @Test func curlSeesTLS13AndNoOlderThan12() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        func curl(_ args: [String]) -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            p.arguments = ["-sS", "-v", "--cacert", cluster.ca, "--max-time", "10"] + args + ["\(cluster.url)/health"]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try? p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        let modern = curl([])
        #expect(modern.0 == 0 && modern.1.contains("TLSv1.3") && modern.1.contains("\"status\""), "\(modern.1)")
        let twelve = curl(["--tlsv1.2", "--tls-max", "1.2"])
        #expect(twelve.0 == 0 && twelve.1.contains("TLSv1.2"), "\(twelve.1)")
    }

    /// `openssl s_client` to `port` with `args`; the negotiated cipher, or nil when the handshake failed.
    static func handshake(port: Int, _ args: [String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["s_client", "-connect", "127.0.0.1:\(port)"] + args
        let out = Pipe()
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = out
        p.standardError = out
        try? p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard let line = text.split(separator: "\n").first(where: { $0.contains("Cipher is ") }), !line.contains("(NONE)") else {
            return nil
        }
        return String(line.split(separator: " ").last ?? "")
    }

    /// TLS 1.0 and 1.1 are refused, and TLS 1.2 offers AEAD suites only. The client is made to offer
    /// the old versions and suites (security level 0), and a plain `openssl s_server` that allows
    /// them accepts the very same handshakes: the refusals are the server's, not the client's.
    @Test func oldVersionsAndCBCSuitesAreRefusedByTheServer() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let port = cluster.port
        let weak: [[String]] = [
            ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"], ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
            ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA@SECLEVEL=0"],
        ]
        for args in weak { #expect(Self.handshake(port: port, args) == nil, "\(args) was accepted") }
        #expect(Self.handshake(port: port, ["-tls1_2"])?.contains("GCM") == true)

        let control = Process()
        control.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        let controlPort = Int.random(in: 20_000..<60_000)
        control.arguments = [
            "s_server", "-accept", "127.0.0.1:\(controlPort)", "-cert", cluster.data.appendingPathComponent("server.pem").path,
            "-key", cluster.data.appendingPathComponent("server-key.pem").path, "-cipher", "DEFAULT@SECLEVEL=0", "-quiet",
        ]
        control.standardOutput = FileHandle.nullDevice
        control.standardError = FileHandle.nullDevice
        try control.run()
        // SIGTERM left it running after the test (seen as leftover `openssl s_server` processes).
        defer {
            kill(control.processIdentifier, SIGKILL)
            control.waitUntilExit()
        }
        usleep(500_000)
        for args in weak { #expect(Self.handshake(port: controlPort, args) != nil, "the control server refused \(args)") }
    }
}
