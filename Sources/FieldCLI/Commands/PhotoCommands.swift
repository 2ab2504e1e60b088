import ArgumentParser
import Foundation
import SyncCore

/// `gridsync photo …`: photos as evidence, stored by SHA-256.
package struct PhotoCommand: AsyncParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "photo", abstract: tr("help.photo.attach_photos_records_fetch"),
        subcommands: [Attach.self, Fetch.self])

    /// The largest photo the server takes.
    static let maxBytes = 20 << 20

    struct Attach: DeviceCommand {
        static let configuration = CommandConfiguration(
            commandName: "attach", abstract: tr("help.photo.attach_photo_file_issue"))
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: ArgumentHelp(tr("help.photo.photo_file"))) var file: String
        @Option(help: ArgumentHelp(tr("help.photo.issue_it_shows_id"))) var issue: String?
        @Option(help: ArgumentHelp(tr("help.photo.household_it_shows"))) var household: String?
        @Option(help: ArgumentHelp(tr("help.photo.event_it_belongs"))) var event: String?
        @Option(help: ArgumentHelp(tr("help.photo.caption"))) var caption: String?

        func validate() throws {
            guard [issue, household, event].compactMap({ $0 }).count == 1 else {
                throw ValidationError(tr("args.photo_owner"))
            }
        }

        func execute() async throws {
            let r = try Recording(common)
            try r.checkPermitted(table: Schema.photoRefs)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: file), let size = attributes[.size] as? Int else {
                throw Failure("no_file", tr("photo.cannot_read", file), status: .badInput)
            }
            guard attributes[.type] as? FileAttributeType == .typeRegular else {
                throw Failure("not_a_file", tr("photo.not_file_folder", file), status: .badInput)
            }
            guard size > 0, size <= PhotoCommand.maxBytes else {
                throw Failure(
                    "bad_photo", tr("photo.photo_byte_mib_has_bytes", file, size),
                    status: .badInput)
            }
            guard let bytes = try? Data(contentsOf: URL(fileURLWithPath: file)) else {
                throw Failure("no_file", tr("photo.cannot_read", file), status: .badInput)
            }
            guard PhotoFormat(bytes) != nil else {
                throw Failure(
                    "not_a_photo", tr("photo.not_jpeg_png_webp_or", file),
                    status: .badInput)
            }
            let (owner, table, given): (PhotoOwner, SyncedTable, String) =
                if let issue { (.issue, Schema.issues, issue) } else if let household { (.household, Schema.households, household) } else {
                    (.event, Schema.issueEvents, event!)
                }
            let ownerID = try r.id(given, table)
            if try r.replica.isPhotoAttached(to: owner, id: ownerID, sha256: BlobStore.sha256(bytes)) {
                throw Failure(
                    "already_attached", tr("photo.this_photo_already_attached", ownerID), status: .badInput)
            }
            let hash = try r.home.blobs().put(bytes)
            let id = try r.replica.attachPhoto(to: owner, id: ownerID, sha256: hash, byteCount: bytes.count, caption: caption)
            if output.json { return try Output.json(["id": id, "sha256": hash]) }
            print(tr("photo.photo_attached", hash, Output.bytes(bytes.count)))
        }
    }

    package struct Fetch: DeviceCommand {
        package init() {}

        package static let configuration = CommandConfiguration(
            commandName: "fetch", abstract: tr("help.photo.download_photos_referenced_records"))
        @OptionGroup package var common: CommonOptions
        @OptionGroup package var output: JSONFlag
        @Argument(help: ArgumentHelp(tr("help.photo.photo_hashes_fetch"))) package var hashes: [String] = []
        @Flag(help: ArgumentHelp(tr("help.photo.fetch_every_photo_referenced"))) package var all = false
        @Option(help: ArgumentHelp(tr("help.photo.retries_after_dropped_link"))) package var retries = 6
        @Option(help: ArgumentHelp(tr("help.photo.seconds_wait_before_first"))) package var backoff: Double = 2
        @Flag(help: ArgumentHelp(tr("help.photo.no_progress_output"))) package var quiet = false
        @Option(help: ArgumentHelp(tr("help.photo.reach_server_through_this"))) package var via: String?
        @Option(help: ArgumentHelp(tr("help.photo.out"))) package var out: String?

        package func validate() throws {
            guard all != !hashes.isEmpty else { throw ValidationError(tr("args.hashes_or_all")) }
        }

        /// Copies the photos of `hashes` held here into `folder` under names a person reads: the
        /// caption (or what the photo belongs to), the first 8 characters of the hash, and the
        /// extension of its format. Returns the files written.
        package static func copyReadable(_ hashes: [String], replica: Replica, blobs: BlobStore, into folder: String) throws -> [String] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let refs = Dictionary(try replica.photoRefs().map { ($0.photo.sha256, $0.photo) }, uniquingKeysWith: { a, _ in a })
            var written: [String] = []
            for hash in hashes where blobs.contains(hash) {
                let bytes = try blobs.read(hash)
                let ext = PhotoFormat(bytes)?.fileExtension ?? "bin"
                var label = refs[hash]?.caption ?? ""
                if label.isEmpty, let ref = refs[hash] { label = Terms.recordName(ref.ownerTable, Language.current.rawValue) }
                // Nothing a file system refuses: no path separators or control characters, at most 60 characters.
                let safe = String(
                    label.map { $0 == "/" || $0 == "\\" || $0.isNewline || $0.asciiValue.map { $0 < 32 } == true ? "_" : $0 }.prefix(60))
                let name = (safe.isEmpty ? "" : safe + "-") + hash.prefix(8) + "." + ext
                let target = URL(fileURLWithPath: folder).appendingPathComponent(name)
                try? FileManager.default.removeItem(at: target)
                try bytes.write(to: target)
                written.append(target.path)
            }
            return written
        }

        package func execute() async throws { try await Network.commands.fetch(self) }
    }

    static func printList(_ photos: [PhotoRef], blobs: BlobStore) {
        guard !photos.isEmpty else { return }
        print("")
        print(
            TextWidth.table(
                [tr("photo.photo"), tr("photo.size"), tr("photo.here"), tr("photo.caption")],
                photos.map { p in
                    [
                        p.sha256, p.byteCount.map(Output.bytes) ?? "", blobs.contains(p.sha256) ? tr("photo.yes") : tr("photo.no"),
                        p.caption ?? "",
                    ]
                }, maxColumn: 64))
    }
}

/// `gridsync search`: Chinese, Tibetan and Latin full-text search over households and issues.
struct SearchCommand: DeviceCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: tr("help.photo.search_households_issues_chinese"))
    @OptionGroup var common: CommonOptions
    @OptionGroup var output: JSONFlag
    @Argument(help: ArgumentHelp(tr("help.photo.what_look_e_g"))) var query: String
    @Option(help: ArgumentHelp(tr("help.photo.at_most_this_many"))) var limit = 50

    func execute() async throws {
        let r = try Recording(common)
        let hits = try r.replica.search(query, limit: limit)
        if output.json { return try Output.json(hits) }
        print(
            TextWidth.table(
                [tr("photo.kind"), tr("conflict.id"), tr("household.grid"), tr("photo.what")],
                hits.map { [$0.table == "households" ? tr("issue.household") : tr("photo.issue"), short($0.id), $0.grid, $0.label] }))
        print(tr("photo.hit_s", hits.count))
    }
}

/// The photo formats a handheld's camera writes, told by their first bytes.
package enum PhotoFormat: String, Sendable {
    case jpeg, png, webp, heic

    package var mimeType: String { "image/\(rawValue)" }
    package var fileExtension: String { self == .jpeg ? "jpg" : rawValue }

    package init?(_ bytes: Data) {
        let b = [UInt8](bytes.prefix(12))
        if b.starts(with: [0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if b.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else if b.count == 12, b[0..<4].elementsEqual(Array("RIFF".utf8)), b[8..<12].elementsEqual(Array("WEBP".utf8)) {
            self = .webp
        } else if b.count == 12, b[4..<8].elementsEqual(Array("ftyp".utf8)),
            ["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"].contains(String(decoding: b[8..<12], as: UTF8.self))
        {
            self = .heic
        } else {
            return nil
        }
    }
}
