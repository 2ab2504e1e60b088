import ArgumentParser
import Foundation
import SyncCore

/// `gridsync-server areas`: the area tree and its Chinese and Tibetan names. Area names come from
/// the operator only (devices may not write them); they reach, with their next sync, every device
/// whose scopes lie under or above them.
struct AreasCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "areas", abstract: "Import and list the area tree with its Chinese and Tibetan names.",
        subcommands: [ImportAreasCommand.self, ListAreasCommand.self])
}

/// Runs `body` with the server's store, for the operator's commands (the server may be running:
/// SQLite serialises the writes, PostgreSQL orders the transactions).
private func withStore<T: Sendable>(_ data: DataOption, _ body: @Sendable (any SyncStore) async throws -> T) async throws -> T {
    let folder = DataFolder(data.data)
    return try await folder.withStores(try folder.loadConfig()) { store, _ in try await body(store) }
}

struct ImportAreasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Make the area tree what FILE lists (CSV: path, level, Chinese name, Tibetan name).",
        discussion: """
            FILE is UTF-8 CSV (a byte order mark is allowed) with one area per line: its path, its level \
            (region, prefecture, county, township, village, grid, or 自治区, 地区, 县, 乡镇, 村/社区, 网格; it \
            must match the path's depth), its Chinese name and its Tibetan name. A first line starting with \
            `path` is a header. Every area's parent must be listed, except at the file's top level. The \
            whole file is checked before anything changes. Importing again renames what changed, adds what \
            is new and removes areas no longer listed; an area that still holds households or issues cannot \
            be removed, and then nothing changes.
            """)

    @OptionGroup var data: DataOption

    @Argument(help: "The CSV file.")
    var file: String

    @Flag(help: "Check the file and say what would change, without changing anything.")
    var dryRun = false

    func run() async throws {
        guard let bytes = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw ValidationError("\(file) is not UTF-8 text") }
        let areas = try AreaTreeFile.parse(text)
        if dryRun {
            let known = Dictionary(
                try await withStore(data) { try await $0.areas(under: nil) }.map { ($0.path, $0) }, uniquingKeysWith: { $1 })
            let listed = Set(areas.map(\.path))
            let added = areas.filter { known[$0.path] == nil }.count
            let renamed = areas.filter { a in known[a.path].map { $0 != a } ?? false }.count
            let removed = known.keys.filter { !listed.contains($0) }.count
            print("\(file): \(areas.count) areas; would add \(added), rename \(renamed), remove \(removed) (nothing changed)")
            return
        }
        let result = try await withStore(data) { try await $0.importAreas(areas) }
        print(
            "imported \(file): \(result.added.count) added, \(result.renamed.count) renamed, \(result.removed.count) removed, "
                + "\(result.unchanged) unchanged; devices receive the names with their next sync")
    }
}

struct ListAreasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the named areas.")

    @OptionGroup var data: DataOption

    @Option(help: "Only this area and those under it.")
    var under: String?

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "Print CSV in the form `import` reads.")
    var csv = false

    func run() async throws {
        let under = under
        if let under {
            do { _ = try AreaPath(under) } catch { throw ValidationError(error.description) }
        }
        let found = try await withStore(data) { store -> [AreaName]? in
            if let under, try await !store.knowsArea(under) { return nil }
            return try await store.areas(under: under)
        }
        guard let areas = found else { throw ValidationError("no area \(under ?? "") in the tree") }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(areas), as: UTF8.self))
        } else if csv {
            print(CSV.line(["path", "level", "name_zh", "name_bo"]), terminator: "")
            for a in areas { print(CSV.line([a.path, a.level?.rawValue ?? "", a.nameZh ?? "", a.nameBo ?? ""]), terminator: "") }
        } else {
            let top = areas.map { $0.path.split(separator: "/").count }.min() ?? 0
            for a in areas {
                let depth = a.path.split(separator: "/").count
                let indent = String(repeating: "  ", count: max(0, depth - top))
                print("\(indent)\(a.nameZh ?? "")  \(a.nameBo ?? "")  [\(a.level?.rawValue ?? "?")] \(a.path)")
            }
            print("\(areas.count) areas")
        }
    }
}

/// `gridsync-server name-area PATH --zh NAME --bo NAME`: names one area of the tree.
struct NameAreaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "name-area", abstract: "Give one area its Chinese and Tibetan names (devices receive them when they sync).")

    @OptionGroup var data: DataOption

    @Argument(help: "The area's path.")
    var path: String

    @Option(help: "The Chinese name.")
    var zh: String?

    @Option(help: "The Tibetan name.")
    var bo: String?

    func validate() throws {
        do { _ = try AreaPath(path) } catch { throw ValidationError(error.description) }
        guard zh != nil || bo != nil else { throw ValidationError("give --zh, --bo or both") }
    }

    func run() async throws {
        let (path, zh, bo) = (path, zh, bo)
        try await withStore(data) { try await $0.putGrid(path, nameZh: zh, nameBo: bo) }
        print("named \(path): \([zh, bo].compactMap { $0 }.joined(separator: " / "))")
    }
}
