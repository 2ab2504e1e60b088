import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The commands that need the network stack: `init`, `sync` and `photo fetch` (the sync server's
/// client) and `dashboard` (an HTTP server).
///
/// They run in `gridsync-net`, which carries the HTTP and TLS stack. `gridsync` itself stays small
/// so that recording, which a worker does many times a day, starts at once; when it is asked for
/// one of these commands it hands the whole command line over to `gridsync-net` (installed next to
/// it) with `execv`, keeping its process id, terminal, signals and exit status.
package protocol ServerCommands: Sendable {
    func enroll(_ command: InitCommand) async throws
    func sync(_ command: SyncCommand) async throws
    func fetch(_ command: PhotoCommand.Fetch) async throws
    func dashboard(_ command: DashboardCommand) async throws
}

package enum Network {
    private static let installed = Mutex<(any ServerCommands)?>(nil)

    /// Called by `gridsync-net` before it parses its arguments.
    package static func install(_ commands: any ServerCommands) {
        installed.withLock { $0 = commands }
    }

    /// The implementation in this process, or a hand-over to `gridsync-net`.
    static var commands: any ServerCommands {
        installed.withLock { $0 } ?? HandOver()
    }

    /// The helper's name, next to the running executable.
    package static let helperName = "gridsync-net"

    private struct HandOver: ServerCommands {
        func enroll(_ command: InitCommand) async throws { try handOver() }
        func sync(_ command: SyncCommand) async throws { try handOver() }
        func fetch(_ command: PhotoCommand.Fetch) async throws { try handOver() }
        func dashboard(_ command: DashboardCommand) async throws { try handOver() }

        private func handOver() throws -> Never {
            let helper = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
                .appendingPathComponent(Network.helperName).path
            fflush(nil)
            let arguments = [helper] + CommandLine.arguments.dropFirst()
            var argv = arguments.map { strdup($0) }
            argv.append(nil)
            execv(helper, argv)
            let reason = String(cString: strerror(errno))
            throw Failure(
                "helper_missing",
                tr("server.cannot_start_install_gridsync_net", helper, reason),
                status: .config)
        }
    }
}
