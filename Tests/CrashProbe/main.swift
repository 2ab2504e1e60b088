import Foundation
import SyncCore

// A child process for the crash-safety tests, which kill it with SIGKILL at a random moment.
//
//   CrashProbe write REPLICA       adds households forever, printing "saved ID" after each commit
//   CrashProbe apply REPLICA FILE  applies the changeset in FILE again and again under new ids,
//                                  printing "applied N" after each commit
/// Writes a line to stdout at once (unbuffered), after the commit it reports.
func report(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: CrashProbe write|apply REPLICA [CHANGESET]\n".utf8))
    exit(2)
}
do {
    let replica = try Replica(path: arguments[2])
    switch arguments[1] {
    case "write":
        for n in 0... {
            let id = try replica.addHousehold(
                grid: "xizang/lhasa/maizhokunggar/zhaxigang/v1/g1",
                HouseholdFields(doorPlate: "\(n)号", headNameZh: "扎西", headNameBo: "བཀྲ་ཤིས།", notes: String(repeating: "草场使用权纠纷", count: 20)))
            report("saved \(id)")
        }
    case "apply":
        let template = try ChangesetEncoding.decode([UInt8](try Data(contentsOf: URL(fileURLWithPath: arguments[3]))))
        for n in 0... {
            // The same rows under fresh ids, so every apply writes a full batch.
            let rows = template.rows.map { RowChanges(table: $0.table, rowID: "\(n)-\($0.rowID)", grid: $0.grid, changes: $0.changes) }
            let result = try replica.apply(Changeset(rows: rows))
            report("applied \(n) \(result.applied)")
        }
    default:
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("CrashProbe: \(error)\n".utf8))
    exit(1)
}
