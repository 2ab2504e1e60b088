import ArgumentParser
import Foundation
import SyncCore

/// `gridsync demo`: two field devices record offline, edit the same issue, and converge.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show two offline replicas diverging and converging, step by step (local files, no network).")

    @Option(help: "Folder for the demo's replica files (a new temporary folder by default).")
    var folder: String?

    func run() throws {
        let dir =
            folder ?? FileManager.default.temporaryDirectory.appendingPathComponent("gridsync-demo-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        do {
            try DemoScript(folder: dir).run()
        } catch {
            throw ValidationError("demo failed: \(error.description) [\(error.code)]")
        }
    }
}

/// The demo's steps, printed as they happen.
struct DemoScript {
    let folder: String
    let grid = "xizang/lhasa/maizhokunggar/zhaxigang/v3/g2"

    func step(_ text: String) { print("\n▶ \(text)") }
    func line(_ text: String) { print("  \(text)") }

    func run() throws(SyncCoreError) {
        print("GridSync demo — replicas in \(folder)")
        let worker = try Replica(path: folder + "/worker-tashi.sqlite")
        let township = try Replica(path: folder + "/township-drolma.sqlite")
        line("worker device   site \(worker.site)")
        line("township device site \(township.site)")

        step("Tashi (扎西, grid worker) records households and a dispute, offline")
        let h1 = try worker.addHousehold(
            grid: grid, HouseholdFields(doorPlate: "3村12号", headNameZh: "次仁", headNameBo: "ཚེ་རིང་།", members: 5, tags: ["牧户"]))
        let h2 = try worker.addHousehold(
            grid: grid, HouseholdFields(doorPlate: "3村14号", headNameZh: "卓玛", headNameBo: "སྒྲོལ་མ།", members: 1, tags: ["独居老人"]))
        let issue = try worker.reportIssue(
            IssueReport(
                grid: grid, kind: .dispute, tier: .small, title: "草场使用权纠纷 ཞིང་ཁའི་རྩོད་གཞི།",
                description: "两户对夏季草场边界有争议", householdID: h1, reporter: "扎西", dueDate: "2026-12-05"))
        try worker.appendEvent(issueID: issue, kind: .visit, actor: "扎西", note: "上门了解情况")
        try worker.attachPhoto(to: .issue, id: issue, sha256: String(repeating: "ab", count: 32), byteCount: 182_000, caption: "草场边界")
        for h in try worker.households() {
            line("household \(h.doorPlate ?? "") \(h.headNameZh ?? "") \(h.headNameBo ?? "") (\(h.members ?? 0) members)")
        }
        line("issue \(issue.prefix(8)) status: \(try worker.issueDetail(issue)!.issue.status.rawValue)")

        step("First sync: the township device receives everything")
        var workerCursor = try send(worker, to: township, since: 0)
        var townshipCursor: Int64 = 0
        line("township now sees \(try township.households().count) households, \(try township.issues().count) issue")

        step("Both edit the same issue while offline")
        try worker.editIssue(issue, IssueFields(description: "已初步调解，双方同意实地勘界"))
        try township.editIssue(issue, IssueFields(description: "乡镇司法所介入调解"))
        try township.appendEvent(issueID: issue, kind: .escalated, actor: "卓玛", tier: .medium)
        try worker.appendEvent(issueID: issue, kind: .accepted, actor: "扎西")
        try worker.editHousehold(h2, HouseholdFields(notes: "电瓶车入户充电，已提醒"))
        line("worker:   \(try worker.issueDetail(issue)!.issue.description ?? "")")
        line("township: \(try township.issueDetail(issue)!.issue.description ?? "")")

        step("They sync in both directions")
        townshipCursor = try send(township, to: worker, since: townshipCursor)
        workerCursor = try send(worker, to: township, since: workerCursor)
        townshipCursor = try send(township, to: worker, since: townshipCursor)
        _ = (workerCursor, townshipCursor)

        step("Result: the replicas hold the same data")
        for (name, r) in [("worker", worker), ("township", township)] {
            let d = try r.issueDetail(issue)!
            line(
                "\(name): status \(d.issue.status.rawValue), tier \(d.issue.tier.rawValue), \(d.events.count) events, \(d.photos.count) photo — \(d.issue.description ?? "")"
            )
        }
        let conflicts = try township.conflicts()
        for c in conflicts {
            line("conflict kept for review: \(c.table).\(c.column) lost value \"\(c.lostValue ?? "")\" written by \(c.lostSite)")
        }
        let sameIssue = try worker.issueDetail(issue) == township.issueDetail(issue)
        let sameConflicts = try worker.conflicts() == township.conflicts()
        let same = sameIssue && sameConflicts
        line(same ? "✔ converged" : "✘ replicas differ")
        if !same { throw .invalidInput("the demo's replicas did not converge") }
        print("\nSearch 纠纷 → \(try township.search("纠纷").map(\.label))")
    }

    /// Sends everything `from` changed since `since` to `to`, through the binary encoding.
    func send(_ from: Replica, to: Replica, since: Int64) throws(SyncCoreError) -> Int64 {
        var cursor = since
        while true {
            let batch = try from.changes(since: cursor, maxChanges: 500)
            if !batch.changeset.isEmpty {
                let bytes = ChangesetEncoding.encode(batch.changeset)
                let decoded: Changeset
                do { decoded = try ChangesetEncoding.decode(bytes) } catch { throw .invalidInput(error.description) }
                let report = try to.apply(decoded)
                line(
                    "sent \(batch.changeset.changeCount) column changes in \(bytes.count) bytes: \(report.applied) applied, \(report.conflictsFound) conflicts noticed"
                )
            }
            cursor = batch.cursor
            if !batch.hasMore { return cursor }
        }
    }
}
