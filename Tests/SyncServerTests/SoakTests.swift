import Foundation
import Testing

/// The short soak CI runs: `gridsync-loadtest --duration` with 50 devices syncing every 2 s for 30 s
/// against the real server over TLS (the 10-minute, 1,000-device run is by hand; RELIABILITY.md).
@Suite struct SoakTests {
    @Test func devicesSyncingAgainAndAgainGetNoErrorsAndServerMemoryStaysFlat() throws {
        let binaries = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let p = Process()
        p.executableURL = binaries.appendingPathComponent("gridsync-loadtest")
        // Light enough not to starve the timing tests that run beside it on 2 cores.
        p.arguments = ["--devices", "50", "--duration", "30", "--interval", "2", "--changes", "10"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let figures = try #require(
            try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(String(decoding: data, as: UTF8.self))")
        #expect(p.terminationStatus == 0, "\(figures["first_errors"] ?? "")")
        #expect(figures["errors"] as? Int == 0)
        // 50 devices every 2 s (±50%) for 30 s: about 750 syncs if the server keeps up.
        let syncs = figures["syncs"] as? Int ?? 0
        #expect(syncs > 500, "\(syncs) syncs")
        // Two devices per grid: each pulls what the other pushed.
        #expect((figures["changes_pulled"] as? Int ?? 0) > (figures["changes_pushed"] as? Int ?? 0) / 2)
        let growth = figures["server_rss_growth_after_warmup"] as? Double ?? 99
        #expect(growth < 1.5, "server memory grew \(growth)×: \(figures["server_rss_mib"] ?? "")")
    }
}
