import ArgumentParser
import Foundation
import SyncCore

/// `gridsync household …`: the household register.
struct HouseholdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "household", abstract: "Keep the household register: add, edit, list, show, delete.",
        subcommands: [Add.self, Edit.self, List.self, Show.self, Delete.self])

    /// The fields of a household, as options.
    struct Fields: ParsableArguments {
        @Option(help: "Door plate, e.g. 3村12号.") var doorPlate: String?
        @Option(help: "Head of household, Chinese name.") var headZh: String?
        @Option(help: "Head of household, Tibetan name.") var headBo: String?
        @Option(help: "Number of members.") var members: Int?
        @Option(help: "Phone number.") var phone: String?
        @Option(help: "Where the household lives.") var location: String?
        @Option(name: .customLong("tag"), help: "A tag such as 独居老人 (repeat for several).") var tags: [String] = []
        @Option(help: "Notes.") var notes: String?

        var values: HouseholdFields {
            HouseholdFields(
                doorPlate: doorPlate, headNameZh: headZh, headNameBo: headBo, members: members, phone: phone, location: location,
                tags: tags.isEmpty ? nil : tags, notes: notes)
        }
    }

    struct Add: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a household to the register.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Option(help: "The grid (default: the device's scope when it has one).") var grid: String?
        @OptionGroup var fields: Fields

        func validate() throws {
            guard fields.doorPlate != nil || fields.headZh != nil || fields.headBo != nil else {
                throw ValidationError("give at least --door-plate, --head-zh or --head-bo")
            }
        }

        func execute() async throws {
            let r = try Recording(common)
            try r.checkPermitted(table: Schema.households)
            let id = try r.replica.addHousehold(grid: try r.grid(grid), fields.values)
            if output.json { return try Output.json(["id": id]) }
            print(say("household added: \(id)", "已添加住户：\(id)"))
        }
    }

    struct Edit: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "edit", abstract: "Change fields of a household (\"\" clears one).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The household's id (or its first characters).") var id: String
        @OptionGroup var fields: Fields

        func execute() async throws {
            let r = try Recording(common)
            try r.checkPermitted(table: Schema.households)
            let id = try r.id(id, Schema.households)
            try r.replica.editHousehold(id, fields.values)
            print(say("household \(id) saved", "住户 \(id) 已保存"))
        }
    }

    struct List: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the households of a grid or area.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Option(help: "Only this grid or area.") var grid: String?
        @Option(help: "At most this many.") var limit = 1000

        func execute() async throws {
            let r = try Recording(common)
            let list = try r.replica.households(area: grid, limit: limit)
            if output.json { return try Output.json(list) }
            // Places by name (扎西岗乡 / 3村 / 2网格); `--json` gives the paths.
            let names = try r.replica.areaNames()
            var labels: [String: String] = [:]  // per grid: a township lists thousands of households
            func label(_ grid: String) -> String {
                if let known = labels[grid] { return known }
                let made = names.label(grid)
                labels[grid] = made
                return made
            }
            let rows = list.map { h in
                [
                    short(h.id), h.doorPlate ?? "", h.headNameZh ?? "", h.headNameBo ?? "", h.members.map(String.init) ?? "",
                    h.tags.joined(separator: ","), label(h.grid),
                ]
            }
            print(
                TextWidth.table(
                    [
                        say("id", "编号"), say("door plate", "门牌"), say("head", "户主"), say("head (bo)", "户主（藏文）"), say("members", "人口"),
                        say("tags", "标签"), say("grid", "网格"),
                    ],
                    rows))
            print(say("\(list.count) household(s)", "共 \(list.count) 户"))
        }
    }

    struct Show: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one household with its photos.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: "The household's id (or its first characters).") var id: String

        func execute() async throws {
            let r = try Recording(common)
            let id = try r.id(id, Schema.households)
            guard let h = try r.replica.household(id) else { throw SyncCoreError.notFound(kind: "household", id: id) }
            let photos = try r.replica.photos(of: id)
            if output.json {
                struct Shown: Encodable {
                    var household: Household
                    var photos: [PhotoRef]
                }
                return try Output.json(Shown(household: h, photos: photos))
            }
            let rows: [[String]] =
                [
                    [say("id", "编号"), h.id], [say("grid", "网格"), h.grid], [say("door plate", "门牌"), h.doorPlate ?? ""],
                    [say("head", "户主"), [h.headNameZh, h.headNameBo].compactMap { $0 }.joined(separator: " ")],
                    [say("members", "人口"), h.members.map(String.init) ?? ""], [say("phone", "电话"), h.phone ?? ""],
                    [say("location", "位置"), h.location ?? ""], [say("tags", "标签"), h.tags.joined(separator: ", ")],
                    [say("notes", "备注"), h.notes ?? ""],
                ] + (h.deleted ? [[say("state", "状态"), say("deleted", "已删除")]] : [])
            print(TextWidth.table([say("field", "字段"), say("value", "内容")], rows, maxColumn: 100))
            PhotoCommand.printList(photos, blobs: try r.home.blobs())
        }
    }

    struct Delete: DeviceCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete", abstract: "Delete a household (it stays as a tombstone and never comes back).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The household's id (or its first characters).") var id: String

        func execute() async throws {
            let r = try Recording(common)
            try r.checkPermitted(table: Schema.households)
            let id = try r.id(id, Schema.households)
            try r.replica.deleteHousehold(id)
            print(say("household \(id) deleted", "住户 \(id) 已删除"))
        }
    }
}
