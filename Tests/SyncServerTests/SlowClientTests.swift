import Foundation
import Testing

/// Clients that connect and then say nothing, or drip a request a byte at a time (slowloris): the
/// server closes them (idle timeout for silence and dripped heads, request deadline for dripped
/// bodies), stays up for everyone else, and stores nothing.
@Suite struct SlowClientTests {
    /// Starts `openssl s_client` (or a plain TCP client with `-plain`) to the server; returns the
    /// process and its stdin.
    static func client(port: Int, ca: String, tls: Bool) throws -> (Process, FileHandle, ExitTime) {
        let exit = ExitTime()
        let p = Process()
        // When it ends, measured off the test's executor (which blocking tests beside it may hold).
        p.terminationHandler = { _ in exit.record() }
        if tls {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", ca, "-quiet"]
        } else {
            // Bash's /dev/tcp: a TCP connection that never starts TLS.
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = ["-c", "exec 3<>/dev/tcp/127.0.0.1/\(port); cat <&3 >/dev/null; echo closed"]
        }
        let input = Pipe()
        p.standardInput = input
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return (p, input.fileHandleForWriting, exit)
    }

    /// When a client process ended.
    final class ExitTime: @unchecked Sendable {
        private let lock = NSLock()
        private var date: Date?
        func record() { lock.withLock { date = Date() } }
        func seconds(since start: Date) -> Double? { lock.withLock { date.map { $0.timeIntervalSince(start) } } }
    }

    @Test func silentAndDrippingClientsAreClosedAndTheServerStaysUp() async throws {
        let server = try LiveServer(extraInit: ["--idle-timeout", "2"])
        defer { server.finish() }
        let before = try await server.send(.GET, "/health")
        let silent = try Self.client(port: server.port, ca: server.caPath, tls: false)
        let dripping = try Self.client(port: server.port, ca: server.caPath, tls: true)
        // Drip a request head, one byte every 500 ms, never finishing it.
        let head = Array("POST /v1/sync HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer x".utf8)
        let start = Date()
        for byte in head {
            if !dripping.0.isRunning { break }
            try? dripping.1.write(contentsOf: [byte])
            // Others are served meanwhile.
            if byte == UInt8(ascii: "/") { #expect(try await server.send(.GET, "/health").status == 200) }
            try await Task.sleep(nanoseconds: 500_000_000)
        }
        // About 2 s; the drip itself would go on for 35 s.
        let closedAfter = dripping.2.seconds(since: start)
        #expect(closedAfter != nil && closedAfter! < 15, "the dripping client was not closed in time: \(closedAfter ?? -1) s")
        let deadline = Date().addingTimeInterval(10)
        while silent.0.isRunning && Date() < deadline { try await Task.sleep(nanoseconds: 100_000_000) }
        #expect(!silent.0.isRunning, "the silent client was not closed")
        if silent.0.isRunning { silent.0.terminate() }
        if dripping.0.isRunning { dripping.0.terminate() }
        let after = try await server.send(.GET, "/health")
        #expect(after.status == 200)
        // Nothing was stored: the sequence in /health did not move.
        let sequence = { (body: [UInt8]) in (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["sequence"] as? Int }
        #expect(sequence(before.body) == sequence(after.body))
    }

    /// A body dripped faster than the idle timeout would notice: the request deadline (grace plus
    /// 1 s per 256 bytes of Content-Length) closes it; the enrollment code it carried stays unused.
    @Test func aDrippedBodyIsClosedAtItsDeadline() async throws {
        let server = try LiveServer(extraInit: ["--idle-timeout", "60", "--request-timeout", "2"])
        defer { server.finish() }
        let code = try server.enrollmentCode(scopes: ["xizang/lhasa/maizhokunggar/zhaxigang/v3/g2"])
        let before = try await server.send(.GET, "/health")
        let dripping = try Self.client(port: server.port, ca: server.caPath, tls: true)
        let body = Array(#"{"code":"\#(code)","site":"0011223344556677"}"#.utf8)
        let padded = body + [UInt8](repeating: UInt8(ascii: " "), count: 1024 - body.count)
        try dripping.1.write(
            contentsOf: Array(
                "POST /v1/enroll HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1024\r\n\r\n".utf8))
        // 20 bytes a second, steadily: well inside the 60 s idle timeout, but 51 s for the body.
        let start = Date()
        for (n, byte) in padded.enumerated() {
            if !dripping.0.isRunning { break }
            try? dripping.1.write(contentsOf: [byte])
            if n % 40 == 0 { #expect(try await server.send(.GET, "/health").status == 200) }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        let closedAfter = dripping.2.seconds(since: start)
        if dripping.0.isRunning { dripping.0.terminate() }
        // The deadline is 2 s + 1024 / 256 s = 6 s after the head; the drip itself would go on for 51 s.
        #expect(closedAfter != nil && closedAfter! >= 4 && closedAfter! < 15, "closed after \(closedAfter ?? -1) s")
        let after = try await server.send(.GET, "/health")
        #expect(after.status == 200)
        let sequence = { (body: [UInt8]) in (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["sequence"] as? Int }
        #expect(sequence(before.body) == sequence(after.body))
        // The code was never used: a real device enrolls with it now.
        let device = try TestDevice(server: server, name: "late")
        try await device.enroll(code: code)
    }
}
