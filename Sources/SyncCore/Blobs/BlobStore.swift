import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Photos stored by the SHA-256 of their bytes, in a folder: `<hash>` for complete photos and
/// `partial/<hash>` for uploads in progress, which grow by appending and are verified before they
/// become complete. Used by devices (their photos) and by the server (received uploads).
public final class BlobStore: @unchecked Sendable {
    /// The folder.
    public let folder: URL
    private let lock = NSLock()

    /// A store in `folder` (created if missing).
    public init(folder: URL) throws(SyncCoreError) {
        self.folder = folder
        do {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("partial"), withIntermediateDirectories: true)
        } catch {
            throw .invalidInput("cannot create photo folder \(folder.path): \(error.localizedDescription)")
        }
    }

    /// The lowercase hex SHA-256 of `bytes`.
    public static func sha256(_ bytes: some DataProtocol) -> String {
        Hex.string(SHA256.hash(data: bytes))
    }

    func path(_ hash: String) -> URL { folder.appendingPathComponent(hash) }
    func partialPath(_ hash: String) -> URL { folder.appendingPathComponent("partial").appendingPathComponent(hash) }

    static func check(_ hash: String) throws(SyncCoreError) -> String {
        guard let h = try InputRules.sha256(hash).text else { throw .input(.photoHash(hash)) }
        return h
    }

    /// Stores `bytes` durably and returns their hash; storing the same photo twice keeps one copy.
    @discardableResult
    public func put(_ bytes: Data) throws(SyncCoreError) -> String {
        let hash = Self.sha256(bytes)
        if contains(hash) { return hash }
        do {
            try Self.writeDurably(bytes, to: path(hash))
        } catch {
            throw .database("cannot store photo \(hash): \(error.localizedDescription)")
        }
        return hash
    }

    /// True when the complete photo `hash` is here.
    public func contains(_ hash: String) -> Bool {
        FileManager.default.fileExists(atPath: path(hash).path)
    }

    /// The size of complete photo `hash`, or nil.
    public func size(_ hash: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path(hash).path)[.size] as? Int) ?? nil
    }

    /// Bytes `range` of complete photo `hash` (the whole photo when nil).
    public func read(_ hash: String, range: Range<Int>? = nil) throws(SyncCoreError) -> Data {
        let hash = try Self.check(hash)
        guard let handle = try? FileHandle(forReadingFrom: path(hash)) else { throw .notFound(kind: "photo", id: hash) }
        defer { try? handle.close() }
        do {
            if let range {
                try handle.seek(toOffset: UInt64(range.lowerBound))
                return try handle.read(upToCount: range.count) ?? Data()
            }
            return try handle.readToEnd() ?? Data()
        } catch {
            throw .database("cannot read photo \(hash): \(error.localizedDescription)")
        }
    }

    /// True when complete photo `hash` is here and its bytes still hash to its name.
    public func isIntact(_ hash: String) -> Bool {
        guard let bytes = try? read(hash) else { return false }
        return Self.sha256(bytes) == hash
    }

    /// Moves complete photo `hash` out of the store into `damaged/` (kept, never deleted) and
    /// returns where it went: for a photo whose bytes no longer hash to its name.
    public func setAside(_ hash: String) throws(SyncCoreError) -> URL {
        let hash = try Self.check(hash)
        let damaged = folder.appendingPathComponent("damaged")
        let target = damaged.appendingPathComponent(hash)
        do {
            try FileManager.default.createDirectory(at: damaged, withIntermediateDirectories: true)
            guard rename(path(hash).path, target.path) == 0 else {
                throw SyncCoreError.database("cannot move \(hash) to \(damaged.path): errno \(errno)")
            }
            try Self.synchronizeFolder(damaged)
            try Self.synchronizeFolder(folder)
        } catch let error as SyncCoreError {
            throw error
        } catch {
            throw .database("cannot set photo \(hash) aside: \(error.localizedDescription)")
        }
        return target
    }

    /// The hashes of every complete photo held.
    public func completeHashes() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { Hex.isLowercase($0, digits: 64) }.sorted()
    }

    /// Removes uploads in progress that have not grown since `cutoff` (an abandoned upload must not
    /// hold disk for ever); returns how many were removed.
    @discardableResult
    public func expirePartials(untouchedSince cutoff: Date) -> Int {
        lock.lock()
        defer { lock.unlock() }
        let partials = folder.appendingPathComponent("partial")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: partials.path)) ?? []
        var removed = 0
        for name in names {
            let url = partials.appendingPathComponent(name)
            guard let modified = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date,
                modified < cutoff
            else { continue }
            if (try? FileManager.default.removeItem(at: url)) != nil { removed += 1 }
        }
        return removed
    }

    /// How many bytes of an upload of `hash` are stored (its full size when complete).
    public func receivedBytes(_ hash: String) -> Int {
        if let size = size(hash) { return size }
        return (try? FileManager.default.attributesOfItem(atPath: partialPath(hash).path)[.size] as? Int) ?? 0
    }

    /// The result of appending a chunk.
    public enum AppendResult: Equatable, Sendable {
        /// Stored; the upload now holds this many bytes.
        case stored(Int)
        /// The chunk did not start where the upload ends, which is at this offset: resume from there.
        case wrongOffset(Int)
        /// The upload is complete and its bytes hash to `hash`.
        case complete(Int)
        /// The bytes, all `total` of them, do not hash to the name: the upload was discarded.
        case corrupt
    }

    /// Appends `chunk` at `offset` to the upload of `hash` (durably, before answering); once
    /// `total` bytes are there, verifies the hash and either completes the photo or discards it.
    public func append(_ hash: String, offset: Int, chunk: Data, total: Int) throws(SyncCoreError) -> AppendResult {
        let hash = try Self.check(hash)
        lock.lock()
        defer { lock.unlock() }
        if let size = size(hash) { return .complete(size) }
        let partial = partialPath(hash)
        let current = receivedBytes(hash)
        guard offset == current else { return .wrongOffset(current) }
        guard total >= 0, offset + chunk.count <= total else { throw .invalidInput("chunk runs past the photo's total size \(total)") }
        do {
            if !FileManager.default.fileExists(atPath: partial.path) {
                _ = FileManager.default.createFile(atPath: partial.path, contents: nil)
                // The new file's name must survive a power cut too, not only the bytes written to it.
                try Self.synchronizeFolder(partial.deletingLastPathComponent())
            }
            let handle = try FileHandle(forWritingTo: partial)
            try handle.seekToEnd()
            try handle.write(contentsOf: chunk)
            try handle.synchronize()
            try handle.close()
            let now = offset + chunk.count
            guard now == total else { return .stored(now) }
            let bytes = try Data(contentsOf: partial)
            guard Self.sha256(bytes) == hash else {
                try FileManager.default.removeItem(at: partial)
                return .corrupt
            }
            guard rename(partial.path, path(hash).path) == 0 else { throw SyncCoreError.database("cannot complete \(hash)") }
            try Self.synchronizeFolder(folder)
            return .complete(total)
        } catch {
            throw .database("cannot store upload of \(hash): \(error.localizedDescription)")
        }
    }

    static func writeDurably(_ data: Data, to url: URL) throws {
        let temporary = url.appendingPathExtension("tmp")
        _ = FileManager.default.createFile(atPath: temporary.path, contents: nil)
        let handle = try FileHandle(forWritingTo: temporary)
        try handle.write(contentsOf: data)
        try handle.synchronize()
        try handle.close()
        guard rename(temporary.path, url.path) == 0 else { throw SyncCoreError.database("cannot rename \(temporary.path)") }
        try synchronizeFolder(url.deletingLastPathComponent())
    }

    /// Flushes `folder`'s entries to disk: a rename or a new file is durable only once its folder is
    /// (an fsync of the file alone keeps its bytes, not its name, through a power cut).
    static func synchronizeFolder(_ folder: URL) throws {
        let fd = open(folder.path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw SyncCoreError.database("cannot open \(folder.path): errno \(errno)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SyncCoreError.database("cannot flush \(folder.path): errno \(errno)") }
    }
}
