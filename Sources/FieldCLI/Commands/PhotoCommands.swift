import ArgumentParser
import Foundation
import SyncCore

/// `gridsync photo …`: photos as evidence, stored by SHA-256.
package struct PhotoCommand: AsyncParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "photo", abstract: "Attach photos to records and fetch photos from the server.",
        subcommands: [Attach.self, Fetch.self])

    /// The largest photo the server takes.
    static let maxBytes = 20 << 20

    struct Attach: DeviceCommand {
        static let configuration = CommandConfiguration(
            commandName: "attach", abstract: "Attach a photo file to an issue, household or event (stored on the device by its SHA-256).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: "The photo file.") var file: String
        @Option(help: "The issue it shows (id or its first characters).") var issue: String?
        @Option(help: "The household it shows.") var household: String?
        @Option(help: "The event it belongs to.") var event: String?
        @Option(help: "A caption.") var caption: String?

        func validate() throws {
            guard [issue, household, event].compactMap({ $0 }).count == 1 else {
                throw ValidationError("say what the photo shows with exactly one of --issue, --household or --event")
            }
        }

        func execute() async throws {
            let r = try Recording(common)
            try r.checkPermitted(table: Schema.photoRefs)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: file), let size = attributes[.size] as? Int else {
                throw Failure("no_file", say("cannot read \(file)", "无法读取 \(file)"), status: .badInput)
            }
            guard attributes[.type] as? FileAttributeType == .typeRegular else {
                throw Failure("not_a_file", say("\(file) is not a file (a folder?)", "\(file) 不是文件（是文件夹？）"), status: .badInput)
            }
            guard size > 0, size <= PhotoCommand.maxBytes else {
                throw Failure(
                    "bad_photo", say("a photo is 1 byte to 20 MiB; \(file) has \(size) bytes", "照片大小须为 1 字节到 20 MiB；\(file) 为 \(size) 字节"),
                    status: .badInput)
            }
            guard let bytes = try? Data(contentsOf: URL(fileURLWithPath: file)) else {
                throw Failure("no_file", say("cannot read \(file)", "无法读取 \(file)"), status: .badInput)
            }
            guard PhotoFormat(bytes) != nil else {
                throw Failure(
                    "not_a_photo", say("\(file) is not a JPEG, PNG, WebP or HEIC photo", "\(file) 不是 JPEG、PNG、WebP 或 HEIC 照片"),
                    status: .badInput)
            }
            let (owner, table, given): (PhotoOwner, SyncedTable, String) =
                if let issue { (.issue, Schema.issues, issue) } else if let household { (.household, Schema.households, household) } else {
                    (.event, Schema.issueEvents, event!)
                }
            let ownerID = try r.id(given, table)
            if try r.replica.isPhotoAttached(to: owner, id: ownerID, sha256: BlobStore.sha256(bytes)) {
                throw Failure(
                    "already_attached", say("this photo is already attached to \(ownerID)", "此照片已附加到 \(ownerID)"), status: .badInput)
            }
            let hash = try r.home.blobs().put(bytes)
            let id = try r.replica.attachPhoto(to: owner, id: ownerID, sha256: hash, byteCount: bytes.count, caption: caption)
            if output.json { return try Output.json(["id": id, "sha256": hash]) }
            print(say("photo attached: \(hash) (\(Output.bytes(bytes.count)))", "照片已附加：\(hash)（\(Output.bytes(bytes.count))）"))
        }
    }

    package struct Fetch: DeviceCommand {
        package init() {}

        package static let configuration = CommandConfiguration(
            commandName: "fetch", abstract: "Download photos referenced by records here (resuming partial downloads).")
        @OptionGroup package var common: CommonOptions
        @OptionGroup package var output: JSONFlag
        @Argument(help: "Photo hashes to fetch.") package var hashes: [String] = []
        @Flag(help: "Fetch every photo referenced here that is not on this device.") package var all = false
        @Option(help: "Retries after a dropped link.") package var retries = 6
        @Option(help: "Seconds to wait before the first retry; doubles each time up to 60.") package var backoff: Double = 2
        @Flag(help: "No progress output.") package var quiet = false
        @Option(help: "Reach the server through this address (a relay or tunnel).") package var via: String?

        package func validate() throws {
            guard all != !hashes.isEmpty else { throw ValidationError("give photo hashes or --all (not both)") }
        }

        package func execute() async throws { try await Network.commands.fetch(self) }
    }

    static func printList(_ photos: [PhotoRef], blobs: BlobStore) {
        guard !photos.isEmpty else { return }
        print("")
        print(
            TextWidth.table(
                [say("photo", "照片"), say("size", "大小"), say("here", "本机"), say("caption", "说明")],
                photos.map { p in
                    [
                        p.sha256, p.byteCount.map(Output.bytes) ?? "", blobs.contains(p.sha256) ? say("yes", "有") : say("no", "无"),
                        p.caption ?? "",
                    ]
                }, maxColumn: 64))
    }
}

/// `gridsync search`: Chinese, Tibetan and Latin full-text search over households and issues.
struct SearchCommand: DeviceCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Search households and issues (Chinese, Tibetan or Latin text).")
    @OptionGroup var common: CommonOptions
    @OptionGroup var output: JSONFlag
    @Argument(help: "What to look for, e.g. 草场 or བཀྲ་ཤིས.") var query: String
    @Option(help: "At most this many hits.") var limit = 50

    func execute() async throws {
        let r = try Recording(common)
        let hits = try r.replica.search(query, limit: limit)
        if output.json { return try Output.json(hits) }
        print(
            TextWidth.table(
                [say("kind", "类别"), say("id", "编号"), say("grid", "网格"), say("what", "内容")],
                hits.map { [$0.table == "households" ? say("household", "住户") : say("issue", "事件"), short($0.id), $0.grid, $0.label] }))
        print(say("\(hits.count) hit(s)", "共 \(hits.count) 条"))
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
