import Foundation
import SyncCore
import Testing

@testable import FieldCLI

/// A real `gridsync-server` on loopback and `gridsync` devices, each its own process and folder.
final class Cluster: @unchecked Sendable {
    let folder: URL
    let data: URL
    private(set) var server: Process?
    private(set) var port = 0

    static var binaries: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    }

    struct Result {
        var status: Int32
        var output: String
        var errors: String

        /// Parsed JSON output.
        var json: Any { (try? JSONSerialization.jsonObject(with: Data(output.utf8))) ?? [:] }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
    }

    /// A server made by `gridsync-server init` with `extraInit` (e.g. an operator's certificate).
    init(extraInit: [String] = []) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-cli-\(UUID().uuidString.prefix(8))")
        data = folder.appendingPathComponent("server")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let made = Self.run("gridsync-server", ["init", data.path, "--port", "0"] + extraInit)
        guard made.status == 0 else { throw ClusterError.setup(made.output + made.errors) }
        try start()
    }

    var url: String { "https://localhost:\(port)" }
    var ca: String { data.appendingPathComponent("ca.pem").path }

    /// Starts the server (on its previous port when it ran before), as the demo starts it.
    func start() throws {
        let (process, listening) = try Processes.startServer(data: data, port: port)
        server = process
        port = listening
    }

    func stop() {
        if let server, server.isRunning {
            server.terminate()
            server.waitUntilExit()
        }
        server = nil
    }

    func tearDown() {
        stop()
        try? FileManager.default.removeItem(at: folder)
    }

    /// Runs one of the project's binaries to completion.
    static func run(_ binary: String, _ arguments: [String], environment: [String: String] = [:]) -> Result {
        let p = Process()
        p.executableURL = binary.hasPrefix("/") ? URL(fileURLWithPath: binary) : binaries.appendingPathComponent(binary)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        env["LANG"] = environment["LANG"] ?? "C.UTF-8"
        p.environment = env
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return Result(status: -1, output: "", errors: "\(error)") }
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

    func serverCommand(_ arguments: [String]) throws -> String {
        let r = Self.run("gridsync-server", arguments)
        guard r.status == 0 else { throw ClusterError.setup(r.output + r.errors) }
        return r.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func code(role: String = "worker", scopes: [String], person: String? = nil) throws -> String {
        try serverCommand(
            ["enroll", "--data", data.path, "--role", role] + scopes.flatMap { ["--scope", $0] } + (person.map { ["--name", $0] } ?? []))
    }

    /// A device folder in this cluster, enrolled with `scopes`.
    func device(
        _ name: String, role: String = "worker", scopes: [String], person: String? = nil, environment: [String: String] = [:]
    ) throws -> Device {
        let device = Device(home: folder.appendingPathComponent(name).path, environment: environment)
        let r = device.run(
            ["init", "--server", url, "--enroll", try code(role: role, scopes: scopes, person: person), "--ca", ca]
                + (person.map { ["--name", $0] } ?? []))
        guard r.status == 0 else { throw ClusterError.setup("init \(name): \(r.errors)") }
        return device
    }
}

/// A `gridsync` device: a folder of its own, driven through the binary.
struct Device: Sendable {
    let home: String
    var environment: [String: String] = [:]

    @discardableResult
    func run(_ arguments: [String]) -> Cluster.Result {
        Cluster.run("gridsync", arguments + ["--home", home], environment: environment)
    }

    /// Runs a command that must succeed and returns its result.
    @discardableResult
    func ok(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) -> Cluster.Result {
        let r = run(arguments)
        #expect(r.status == 0, "gridsync \(arguments.joined(separator: " ")): \(r.errors)", sourceLocation: sourceLocation)
        return r
    }

    /// The id a `--json` recording command printed.
    func id(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) -> String {
        (ok(arguments + ["--json"], sourceLocation: sourceLocation).object["id"] as? String) ?? "?"
    }

    /// Syncs records and photos; returns the JSON summary.
    @discardableResult
    func sync(_ extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) -> [String: Any] {
        ok(["sync", "--json", "--backoff", "0.2"] + extra, sourceLocation: sourceLocation).object
    }

    /// This device's export of `area` as JSON text (identical on replicas holding the same data),
    /// without the manifest's columns on this device's own photo files.
    func export(area: String) -> String {
        let text = ok(["export", "--format", "json", "--area", area]).output
        guard var document = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return text }
        document["photos"] = (document["photos"] as? [[String: Any]])?.map { $0.filter { $0.key != "file" && $0.key != "on_this_device" } }
        return (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) }
            ?? text
    }

    var replicaPath: String { home + "/replica.sqlite" }
}

enum ClusterError: Error {
    case setup(String)
}

/// A file of `size` pseudo-random bytes standing in for a photo.
func photoFile(in folder: URL, _ name: String, size: Int, seed: UInt64) throws -> String {
    var x = seed | 1
    var bytes = [UInt8](repeating: 0, count: size)
    for i in bytes.indices {
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        bytes[i] = UInt8(truncatingIfNeeded: x)
    }
    // A JPEG's first bytes (start of image, JFIF segment): `photo attach` checks the signature.
    bytes.replaceSubrange(0..<min(4, bytes.count), with: [0xFF, 0xD8, 0xFF, 0xE0].prefix(bytes.count))
    let url = folder.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

let county = "xizang/lhasa/maizhokunggar"
let township = "xizang/lhasa/maizhokunggar/zhaxigang"
let g2 = "xizang/lhasa/maizhokunggar/zhaxigang/v3/g2"
let g3 = "xizang/lhasa/maizhokunggar/zhaxigang/v3/g3"
