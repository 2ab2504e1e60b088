import FieldCLI

/// `gridsync`: recording, reports and exports, without the network stack. `init`, `sync` and
/// `photo fetch` are handed over to `gridsync-net` (see `ServerCommands`).
@main
enum Entry {
    static func main() async {
        await Launch.main()
    }
}
