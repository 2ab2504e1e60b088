import FieldCLI

/// `gridsync-net`: the same commands as `gridsync`, with the HTTP and TLS stack for the ones that
/// talk to the sync server. `gridsync` hands those over to this program.
@main
enum Entry {
    static func main() async {
        Network.install(NetworkCommands())
        await Launch.main()
    }
}
