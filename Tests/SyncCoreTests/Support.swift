import Foundation
import GRDB

@testable import SyncCore

/// A seeded random number generator (SplitMix64), so every randomized test can be replayed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Throwaway replicas in a temporary folder, removed when the value is released.
final class TemporaryFolder {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// The fixed start of test clocks: 2026-11-23 00:00:00 UTC.
let testEpochMillis: UInt64 = 1_795_392_000_000

func makeReplica(
    _ folder: TemporaryFolder, _ name: String, clock: ManualWallClock? = nil, site: UInt64? = nil, durable: Bool = false,
    maxDriftMillis: UInt64 = HybridLogicalClock.defaultMaxDriftMillis
) throws -> Replica {
    var config = Replica.Configuration()
    config.maxDriftMillis = maxDriftMillis
    config.wallClock = clock ?? ManualWallClock(millis: testEpochMillis)
    config.durable = durable
    config.newSiteID = site.map(SiteID.init(rawValue:))
    return try Replica(path: folder.path(name + ".sqlite"), configuration: config)
}

/// Sends everything `from` has that `to` has not seen since `cursor`; returns the new cursor.
@discardableResult
func sync(_ from: Replica, _ to: Replica, since cursor: Int64 = 0) throws -> Int64 {
    var cursor = cursor
    while true {
        let batch = try from.changes(since: cursor, maxChanges: 500)
        if !batch.changeset.isEmpty {
            let decoded = try ChangesetEncoding.decode(ChangesetEncoding.encode(batch.changeset))
            let report = try to.apply(decoded)
            if !report.rejected.isEmpty { throw SyncCoreError.invalidInput("rejected: \(report.rejected.prefix(3))") }
        }
        cursor = batch.cursor
        if !batch.hasMore { return cursor }
    }
}

extension Replica {
    /// Every synced row as text: values and column versions (not local versions, which differ by
    /// replica), plus derived issue state. Equal dumps mean equal data.
    func dump(includeConflicts: Bool = true) throws -> String {
        try read { db in
            var lines: [String] = []
            for table in Schema.all where includeConflicts || table.name != "conflicts" {
                let rows = try Row.fetchAll(db, sql: "SELECT * FROM \(table.name) ORDER BY id")
                for row in rows {
                    var parts = ["\(table.name)", row["id"] as String, row["grid"] as String]
                    let clocks = try ColumnClocks(blob: [UInt8](row["_clock"] as Data), count: table.columns.count)
                    for (i, c) in table.columns.enumerated() {
                        let version = table.name == "conflicts" ? "" : "@\(clocks.entries[i].version?.description ?? "-")"
                        parts.append("\(c)=\(Value(row[c] as DatabaseValue))\(version)")
                    }
                    if table.name == "issues" { parts.append("status=\(row["_status"] as String)/\(row["_tier"] as String? ?? "-")") }
                    lines.append(parts.joined(separator: "|"))
                }
            }
            return lines.joined(separator: "\n")
        }
    }
}

/// The test vocabulary: Chinese and Tibetan names and issue texts kept inside the project.
struct Vocabulary: Decodable {
    struct Name: Decodable { let zh: String; let bo: String; let latin: String }
    struct Kind: Decodable { let zh: String; let examples: [String] }
    let names: [Name]
    let issue_kinds: [String: Kind]
    let bo_phrases: [String]

    static let shared: Vocabulary = {
        let url = Bundle.module.url(forResource: "vocabulary", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(Vocabulary.self, from: Data(contentsOf: url))
    }()
}
