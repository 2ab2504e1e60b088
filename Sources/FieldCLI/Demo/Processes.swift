import Foundation

/// Runs the project's binaries as child processes, as a person at a terminal would.
struct Processes {
    /// The folder of this executable, where `swift build` puts `gridsync-server` too.
    static var binaries: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    }

    struct Result {
        var status: Int32
        var output: String
        var errors: String
    }

    /// Runs `binary ARGS` to completion.
    static func run(_ binary: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = binaries.appendingPathComponent(binary)
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Drain stderr on another thread so neither pipe fills and stalls the child.
        nonisolated(unsafe) var errors = Data()
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errors = err.fileHandleForReading.readDataToEndOfFile()
            drained.signal()
        }
        let output = out.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        p.waitUntilExit()
        return Result(
            status: p.terminationStatus, output: String(decoding: output, as: UTF8.self), errors: String(decoding: errors, as: UTF8.self))
    }

    /// Starts `gridsync-server serve` on the data folder (on `port`, or the folder's own when 0)
    /// and waits until it listens; returns the process and its port.
    static func startServer(data: URL, port: Int = 0) throws -> (Process, Int) {
        let p = Process()
        p.executableURL = binaries.appendingPathComponent("gridsync-server")
        p.arguments = ["serve", "--data", data.path] + (port == 0 ? [] : ["--port", "\(port)"])
        let log = data.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && p.isRunning {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on") }),
                let port = Int(line.split(separator: ":").last ?? "")
            {
                return (p, port)
            }
            usleep(50_000)
        }
        p.terminate()
        throw Failure("server_start", "gridsync-server did not start; see \(log.path)", status: .software)
    }
}
