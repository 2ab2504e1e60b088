import Foundation
import Testing

@testable import SyncCore

/// A child process writing to a durable replica is killed with SIGKILL mid-burst; after reopening,
/// the file passes `PRAGMA integrity_check` and every write the child reported as saved is there.
@Suite struct CrashSafetyTests {
    static var probe: URL {
        // The test bundle sits beside the products it depends on.
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("CrashProbe")
    }

    /// Runs the probe until it has printed `lines` lines plus a random few milliseconds, kills it,
    /// and returns what it printed.
    func runAndKill(_ arguments: [String], afterLines lines: Int, _ rng: inout SeededRandom) throws -> [String] {
        let process = Process()
        process.executableURL = Self.probe
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        var output = Data()
        let handle = pipe.fileHandleForReading
        while output.split(separator: UInt8(ascii: "\n")).count < lines {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            output += chunk
        }
        usleep(UInt32.random(in: 0...20_000, using: &rng))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        output += handle.readDataToEndOfFile()
        let text = String(decoding: output, as: UTF8.self)
        // A line cut by the kill was not fully reported: drop it.
        var result = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if !text.hasSuffix("\n") { result.removeLast() }
        return result.filter { !$0.isEmpty }
    }

    @Test(arguments: 1...4) func killedDuringWritesLosesNothingReported(round: UInt64) throws {
        var rng = SeededRandom(seed: round)
        let folder = TemporaryFolder()
        let path = folder.path("device.sqlite")
        var saved: [String] = []
        for _ in 0..<3 {
            let lines = try runAndKill(["write", path], afterLines: Int.random(in: 5...60, using: &rng), &rng)
            saved += lines.compactMap { $0.hasPrefix("saved ") ? String($0.dropFirst(6)) : nil }
        }
        #expect(saved.count >= 15)
        let replica = try Replica(path: path)
        #expect(try replica.integrityCheck() == "ok")
        let present = Set(try replica.households(limit: 1_000_000).map(\.id))
        let missing = saved.filter { !present.contains($0) }
        #expect(missing.isEmpty, "round \(round): \(missing.count) reported writes lost")
    }

    @Test(arguments: 1...3) func killedDuringApplyLeavesWholeBatches(round: UInt64) throws {
        var rng = SeededRandom(seed: round + 100)
        let folder = TemporaryFolder()
        // A batch of 300 households, each with 6 columns.
        let source = try makeReplica(folder, "source")
        for n in 0..<300 {
            try source.addHousehold(
                grid: "xizang/lhasa/g\(n % 5)",
                HouseholdFields(doorPlate: "\(n)号", headNameZh: "卓玛", headNameBo: "སྒྲོལ་མ།", members: 3, notes: "电瓶车入户充电"), id: "h\(n)")
        }
        let file = folder.path("batch.bin")
        try Data(ChangesetEncoding.encode(try source.changes(since: 0, maxChanges: 1_000_000).changeset)).write(
            to: URL(fileURLWithPath: file))
        let path = folder.path("center.sqlite")
        let lines = try runAndKill(["apply", path, file], afterLines: Int.random(in: 1...4, using: &rng), &rng)
        let reported = lines.compactMap { line -> Int? in line.hasPrefix("applied ") ? Int(line.split(separator: " ")[1]) : nil }
        #expect(!reported.isEmpty)
        let replica = try Replica(path: path)
        #expect(try replica.integrityCheck() == "ok")
        let ids = try replica.households(limit: 1_000_000).map(\.id)
        var perBatch: [String: Int] = [:]
        for id in ids { perBatch[String(id.split(separator: "-")[0]), default: 0] += 1 }
        for n in reported { #expect(perBatch["\(n)"] == 300, "batch \(n) was reported applied") }
        // The batch in flight at the kill is all there or not at all.
        #expect(perBatch.values.allSatisfy { $0 == 300 }, "a torn batch: \(perBatch)")
    }
}
