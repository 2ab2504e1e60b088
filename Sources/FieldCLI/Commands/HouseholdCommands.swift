import ArgumentParser
import Foundation
import SyncCore

/// `gridsync household …`: the household register.
struct HouseholdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "household", abstract: tr("help.household.keep_household_register_add"),
        subcommands: [Add.self, Edit.self, List.self, Show.self, Delete.self])

    /// The fields of a household, as options.
    struct Fields: ParsableArguments {
        @Option(help: ArgumentHelp(tr("help.household.door_plate_e_g"))) var doorPlate: String?
        @Option(help: ArgumentHelp(tr("help.household.head_household_chinese_name"))) var headZh: String?
        @Option(help: ArgumentHelp(tr("help.household.head_household_tibetan_name"))) var headBo: String?
        @Option(help: ArgumentHelp(tr("help.household.number_members"))) var members: Int?
        @Option(help: ArgumentHelp(tr("help.household.phone_number"))) var phone: String?
        @Option(help: ArgumentHelp(tr("help.household.where_household_lives"))) var location: String?
        @Option(name: .customLong("tag"), help: ArgumentHelp(tr("help.household.tag_such_as_repeat"))) var tags: [String] = []
        @Option(help: ArgumentHelp(tr("help.household.notes"))) var notes: String?

        var values: HouseholdFields {
            HouseholdFields(
                doorPlate: doorPlate, headNameZh: headZh, headNameBo: headBo, members: members, phone: phone, location: location,
                tags: tags.isEmpty ? nil : tags, notes: notes)
        }
    }

    struct Add: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: tr("help.household.add_household_register"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Option(help: ArgumentHelp(tr("help.household.grid_default_device_s"))) var grid: String?
        @OptionGroup var fields: Fields

        func validate() throws {
            guard fields.doorPlate != nil || fields.headZh != nil || fields.headBo != nil else {
                throw ValidationError(tr("args.household_needs_name"))
            }
        }

        func execute() async throws {
            let r = try Recording(common)
            try r.checkPermitted(table: Schema.households)
            let id = try r.replica.addHousehold(grid: try r.grid(grid), fields.values)
            if output.json { return try Output.json(["id": id]) }
            print(tr("household.household_added", id))
        }
    }

    struct Edit: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "edit", abstract: tr("help.household.change_fields_household_clears"))
        @OptionGroup var common: CommonOptions
        @Argument(help: ArgumentHelp(tr("help.household.household_s_id_its"))) var id: String
        @OptionGroup var fields: Fields

        func execute() async throws {
            let r = try Recording(common)
            try r.checkPermitted(table: Schema.households)
            let id = try r.id(id, Schema.households)
            try r.replica.editHousehold(id, fields.values)
            print(tr("household.household_saved", id))
        }
    }

    struct List: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: tr("help.household.list_households_grid_area"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Option(help: ArgumentHelp(tr("help.household.only_this_grid_area"))) var grid: String?
        @Option(help: ArgumentHelp(tr("help.household.at_most_this_many"))) var limit = 1000

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
                        tr("conflict.id"), tr("household.door_plate"), tr("household.head"), tr("household.head_bo"),
                        tr("household.members"),
                        tr("household.tags"), tr("household.grid"),
                    ],
                    rows))
            print(tr("household.household_s", list.count))
        }
    }

    struct Show: DeviceCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: tr("help.household.show_one_household_its"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: ArgumentHelp(tr("help.household.household_s_id_its"))) var id: String

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
                    [tr("conflict.id"), h.id], [tr("household.grid"), h.grid], [tr("household.door_plate"), h.doorPlate ?? ""],
                    [tr("household.head"), [h.headNameZh, h.headNameBo].compactMap { $0 }.joined(separator: " ")],
                    [tr("household.members"), h.members.map(String.init) ?? ""], [tr("household.phone"), h.phone ?? ""],
                    [tr("household.location"), h.location ?? ""], [tr("household.tags"), h.tags.joined(separator: ", ")],
                    [tr("household.notes"), h.notes ?? ""],
                ] + (h.deleted ? [[tr("household.state"), tr("household.deleted")]] : [])
            print(TextWidth.table([tr("conflict.field"), tr("conflict.value")], rows, maxColumn: 100))
            PhotoCommand.printList(photos, blobs: try r.home.blobs())
        }
    }

    struct Delete: DeviceCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete", abstract: tr("help.household.delete_household_it_stays"))
        @OptionGroup var common: CommonOptions
        @Argument(help: ArgumentHelp(tr("help.household.household_s_id_its"))) var id: String

        func execute() async throws {
            let r = try Recording(common)
            try r.checkPermitted(table: Schema.households)
            let id = try r.id(id, Schema.households)
            try r.replica.deleteHousehold(id)
            print(tr("household.household_deleted", id))
        }
    }
}
