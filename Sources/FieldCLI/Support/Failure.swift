import ArgumentParser
import Foundation
import SyncCore

/// A failure shown to the person at the terminal: a stable code, a one-line message in their
/// language, and the exit status (the BSD `sysexits` values).
package struct Failure: Error, CustomStringConvertible {
    /// Exit statuses, one per kind of failure.
    package enum Status: Int32 {
        /// The input was refused: bad values, an unknown record, a step the lifecycle does not allow.
        case badInput = 65
        /// The server could not be reached, even after retries.
        case unavailable = 69
        /// A fault inside the tool or the server.
        case software = 70
        /// A local file could not be read or written, or the replica is damaged.
        case io = 74
        /// The server no longer speaks this tool's protocol: update the tool (recording still works).
        case upgradeNeeded = 76
        /// The server refused this device: unknown or revoked credential, refused enrollment code.
        case refused = 77
        /// The device is not set up (run `gridsync init`), or its setup is broken.
        case config = 78
    }

    package let code: String
    package let message: String
    package let status: Status

    package init(_ code: String, _ message: String, status: Status) {
        self.code = code
        self.message = message
        self.status = status
    }

    package var description: String { message }

    /// The engine's errors, mapped once here.
    init(_ error: SyncCoreError) {
        switch error {
        case .invalidInput, .notFound, .deleted, .lifecycle, .clock:
            self.init(error.code, error.description, status: .badInput)
        case .damagedReplica, .database:
            self.init(error.code, error.description, status: .io)
        }
    }

    /// Any error, as a failure.
    package static func from(_ error: any Error) -> Failure {
        switch error {
        case let f as Failure: return f
        case let e as SyncCoreError: return Failure(e)
        case let e as CocoaError: return Failure("io", e.localizedDescription, status: .io)
        default: return Failure("internal", String(describing: error), status: .software)
        }
    }
}

/// A command that works on the device: it reports every failure as one line and an exit status.
package protocol DeviceCommand: AsyncParsableCommand {
    var common: CommonOptions { get }
    func execute() async throws
}

extension DeviceCommand {
    package mutating func run() async throws {
        Language.current = common.lang ?? .fromEnvironment()
        do {
            try await execute()
        } catch let error as ExitCode {
            throw error
        } catch {
            let failure = Failure.from(error)
            let line = failure.message.replacingOccurrences(of: "\n", with: " ")
            FileHandle.standardError.write(Data("gridsync: \(say("error", "错误")): \(line) [\(failure.code)]\n".utf8))
            throw ExitCode(failure.status.rawValue)
        }
    }
}
