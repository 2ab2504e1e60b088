import Foundation

@testable import SyncCore

/// Random field work on a replica: households and issues added, edited, deleted; events appended,
/// escalations, photos. Operations the lifecycle refuses are simply skipped, as a person would.
struct Workload {
    static let grids = ["xizang/lhasa/maizhokunggar/zhaxigang/v1/g1", "xizang/lhasa/maizhokunggar/zhaxigang/v1/g2"]
    let voc = Vocabulary.shared

    func text(_ rng: inout SeededRandom) -> String {
        let kinds = Array(voc.issue_kinds.values)
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: return kinds.randomElement(using: &rng)!.examples.randomElement(using: &rng)! + " \(Int.random(in: 0..<1000, using: &rng))"
        case 1: return voc.bo_phrases.randomElement(using: &rng)! + " \(Int.random(in: 0..<1000, using: &rng))"
        default: return voc.names.randomElement(using: &rng)!.zh + "家 \(Int.random(in: 0..<1000, using: &rng))"
        }
    }

    /// Creates a few shared records to edit concurrently later.
    func seed(_ replica: Replica, _ rng: inout SeededRandom, households: Int = 4, issues: Int = 4) throws {
        for _ in 0..<households { try addHousehold(replica, &rng) }
        for _ in 0..<issues { try reportIssue(replica, &rng) }
    }

    func id(_ rng: inout SeededRandom) -> String { String(UInt64.random(in: 0...UInt64.max, using: &rng), radix: 36) }

    func addHousehold(_ replica: Replica, _ rng: inout SeededRandom) throws {
        let name = voc.names.randomElement(using: &rng)!
        _ = try replica.addHousehold(
            grid: Self.grids.randomElement(using: &rng)!,
            HouseholdFields(
                doorPlate: "\(Int.random(in: 1...300, using: &rng))号", headNameZh: name.zh, headNameBo: name.bo,
                members: Int.random(in: 1...9, using: &rng)), id: id(&rng))
    }

    func reportIssue(_ replica: Replica, _ rng: inout SeededRandom) throws {
        _ = try replica.reportIssue(
            IssueReport(
                grid: Self.grids.randomElement(using: &rng)!, kind: IssueKind.allCases.randomElement(using: &rng)!,
                tier: IssueTier.allCases.randomElement(using: &rng)!, title: text(&rng), description: text(&rng),
                dueDate: "2026-12-\(String(format: "%02d", Int.random(in: 1...28, using: &rng)))"), id: id(&rng))
    }

    /// One random operation.
    func step(_ replica: Replica, _ rng: inout SeededRandom) throws {
        let households = try replica.households()
        let issues = try replica.issues()
        do {
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<6: try addHousehold(replica, &rng)
            case 6..<12: try reportIssue(replica, &rng)
            case 12..<32:
                guard let h = households.randomElement(using: &rng) else { return }
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: try replica.editHousehold(h.id, HouseholdFields(headNameZh: voc.names.randomElement(using: &rng)!.zh))
                case 1: try replica.editHousehold(h.id, HouseholdFields(notes: text(&rng)))
                default: try replica.editHousehold(h.id, HouseholdFields(members: Int.random(in: 1...12, using: &rng)))
                }
            case 32..<52:
                guard let i = issues.randomElement(using: &rng) else { return }
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: try replica.editIssue(i.id, IssueFields(title: text(&rng)))
                case 1: try replica.editIssue(i.id, IssueFields(description: text(&rng)))
                default: try replica.editIssue(i.id, IssueFields(handler: voc.names.randomElement(using: &rng)!.zh))
                }
            case 52..<80:
                guard let i = issues.randomElement(using: &rng) else { return }
                let kind = IssueEventKind.allCases.filter { $0 != .reported }.randomElement(using: &rng)!
                let tier: IssueTier? = kind == .escalated || kind == .deescalated ? IssueTier.allCases.randomElement(using: &rng) : nil
                try replica.appendEvent(
                    issueID: i.id, kind: kind, actor: voc.names.randomElement(using: &rng)!.zh, note: text(&rng), tier: tier,
                    satisfaction: kind == .followUp ? Int.random(in: 1...5, using: &rng) : nil)
            case 80..<86:
                guard let i = issues.randomElement(using: &rng) else { return }
                let hash = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
                try replica.attachPhoto(to: .issue, id: i.id, sha256: hash, byteCount: Int.random(in: 100_000...300_000, using: &rng))
            case 86..<90:
                guard let h = households.randomElement(using: &rng) else { return }
                try replica.deleteHousehold(h.id)
            case 90..<93:
                guard let i = issues.randomElement(using: &rng) else { return }
                try replica.deleteIssue(i.id)
            default:
                guard let c = try replica.conflicts().randomElement(using: &rng) else { return }
                try replica.resolveConflict(c.id, by: voc.names.randomElement(using: &rng)!.zh, resolution: "已核实")
            }
        } catch SyncCoreError.lifecycle {
            // The lifecycle refused the event: a person would pick another.
        }
    }
}

extension Workload {
    /// Three devices working on the same records offline (seeded, then `steps` random operations),
    /// trading some changes among themselves.
    static func offlineDevices(_ folder: TemporaryFolder, _ rng: inout SeededRandom, steps: Int = 300) throws -> [Replica] {
        let sources = try (0..<3).map { i in
            try makeReplica(folder, "source\(i)", clock: ManualWallClock(millis: testEpochMillis + UInt64(i) * 1000), site: UInt64(100 + i))
        }
        try Workload().seed(sources[0], &rng)
        for j in 1..<3 { try sync(sources[0], sources[j]) }
        for _ in 0..<steps {
            let i = Int.random(in: 0..<3, using: &rng)
            try Workload().step(sources[i], &rng)
            if Int.random(in: 0..<20, using: &rng) == 0 { try sync(sources[i], sources[(i + 1) % 3]) }
        }
        return sources
    }

    /// All of `sources`' changes as a store receives them: batches of one or two small pushes,
    /// a quarter from a grid worker of the first grid (bound to site 101), the others trusted, one
    /// in eight carrying a later release's table (kept, not refused).
    static func pushBatches(from sources: [Replica], _ rng: inout SeededRandom) throws -> [[(Changeset, Sender)]] {
        let worker = Sender(scopes: [try AreaPath(grids[0])], site: SiteID(rawValue: 101), role: .worker, author: .unchecked)
        var batches: [[(Changeset, Sender)]] = []
        var cursors = [Int64](repeating: 0, count: sources.count)
        while try cursors.enumerated().contains(where: { try sources[$0.offset].localVersion() > $0.element }) {
            var batch: [(Changeset, Sender)] = []
            for _ in 0..<Int.random(in: 1...2, using: &rng) {
                let i = Int.random(in: 0..<sources.count, using: &rng)
                let b = try sources[i].changes(since: cursors[i], maxChanges: Int.random(in: 5...60, using: &rng))
                cursors[i] = b.cursor
                var sender = Int.random(in: 0..<4, using: &rng) == 0 ? worker : Sender.server
                var changeset = b.changeset
                if Int.random(in: 0..<8, using: &rng) == 0, let first = changeset.rows.first?.changes.first {
                    sender.keepsUnknown = true
                    changeset.rows.append(
                        RowChanges(
                            table: "livestock", rowID: "yak-\(batches.count)", grid: grids[1],
                            changes: [
                                ColumnChange(column: "count", value: .integer(Int64(batches.count)), version: first.version, base: nil)
                            ]))
                }
                batch.append((changeset, sender))
            }
            batches.append(batch)
        }
        return batches
    }
}
