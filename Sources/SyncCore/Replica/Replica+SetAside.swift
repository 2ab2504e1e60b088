import Foundation
import GRDB

/// A change this replica set aside: pulled and refused here, or pushed and refused by the server.
public struct SetAsideChange: Codable, Equatable, Sendable {
    public var table: String
    public var rowID: String
    public var column: String
    /// The refusal's code (`RejectionReason.code`, or the server's).
    public var code: String
    public var reason: String

    /// A change of `table`/`rowID`/`column`, set aside for `reason`.
    public init(table: String, rowID: String, column: String, code: String, reason: String) {
        self.table = table
        self.rowID = rowID
        self.column = column
        self.code = code
        self.reason = reason
    }
}

extension Replica {
    /// Merges what the server sent, keeping every change refused here in quarantine (whole, with
    /// its reason) instead of dropping it: a cursor that moves past it hides nothing. Quarantined
    /// changes are tried again first, so a replica that learned a rule (a newer release, a row that
    /// arrived since) takes them in.
    public func applyFromServer(_ changeset: Changeset) throws(SyncCoreError) -> ApplyReport {
        let retried = try retryQuarantine()
        var report = try apply(changeset, from: .server)
        if !report.rejected.isEmpty { try quarantine(report.rejected, from: changeset) }
        report.conflictsFound += retried.conflictsFound
        return report
    }

    /// Applies the quarantined changes again; those that now merge (or were already here) leave it.
    @discardableResult
    public func retryQuarantine() throws(SyncCoreError) -> ApplyReport {
        let held = try read { db in
            try Row.fetchAll(db, sql: "SELECT rowid, changeset FROM quarantine ORDER BY received_millis, rowid").map {
                (id: $0[0] as Int64, blob: $0[1] as Data)
            }
        }
        if held.isEmpty { return ApplyReport() }
        var entries: [(id: Int64, row: RowChanges)] = []
        for entry in held {
            guard let one = try? ChangesetEncoding.decode([UInt8](entry.blob)), one.rows.count == 1 else { continue }
            entries.append((entry.id, one.rows[0]))
        }
        let report = try apply(Changeset(rows: entries.map(\.row)), from: .server)
        var still: [String: RejectionReason] = [:]
        for r in report.rejected { still["\(r.table)\u{0}\(r.rowID)\u{0}\(r.column)"] = r.reason }
        try write { context in
            for (id, row) in entries {
                if let reason = row.changes.lazy.compactMap({ still["\(row.table)\u{0}\(row.rowID)\u{0}\($0.column)"] }).first {
                    try context.db.execute(
                        sql: "UPDATE quarantine SET code = ?, reason = ? WHERE rowid = ?", arguments: [reason.code, reason.description, id])
                } else {
                    try context.db.execute(sql: "DELETE FROM quarantine WHERE rowid = ?", arguments: [id])
                }
            }
        }
        return report
    }

    func quarantine(_ rejected: [RejectedChange], from changeset: Changeset) throws(SyncCoreError) {
        var reasons: [String: RejectionReason] = [:]
        for r in rejected { reasons["\(r.table)\u{0}\(r.rowID)\u{0}\(r.column)"] = r.reason }
        let now = Int64(clamping: configuration.wallClock.nowMillis())
        try write { context in
            for row in changeset.rows {
                // The row's refused changes are kept together (an event is refused whole, and only
                // merges whole), so a retry merges exactly what came.
                let refused = row.changes.filter { reasons["\(row.table)\u{0}\(row.rowID)\u{0}\($0.column)"] != nil }
                guard let first = refused.first, let reason = reasons["\(row.table)\u{0}\(row.rowID)\u{0}\(first.column)"] else { continue }
                let blob = ChangesetEncoding.encode(
                    Changeset(rows: [RowChanges(table: row.table, rowID: row.rowID, grid: row.grid, changes: refused)]))
                try context.db.execute(
                    sql: """
                        INSERT INTO quarantine (tbl, row_id, cols, changeset, code, reason, received_millis) VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT DO UPDATE SET code = excluded.code, reason = excluded.reason
                        """,
                    arguments: [
                        row.table, row.rowID, refused.map(\.column).joined(separator: ","), Data(blob), reason.code, reason.description,
                        now,
                    ])
            }
        }
    }

    /// The pulled changes held in quarantine, oldest first.
    public func quarantined() throws(SyncCoreError) -> [SetAsideChange] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT tbl, row_id, cols, code, reason FROM quarantine ORDER BY received_millis, rowid").map {
                SetAsideChange(table: $0[0], rowID: $0[1], column: $0[2], code: $0[3], reason: $0[4])
            }
        }
    }

    /// Records changes of this replica the server refused: they will not be sent again, and stay
    /// listed (`refusedPushes`) for the person to see and redo.
    public func recordRefusedPushes(_ refused: [SetAsideChange]) throws(SyncCoreError) {
        if refused.isEmpty { return }
        let now = Int64(clamping: configuration.wallClock.nowMillis())
        try write { context in
            for r in refused {
                try context.db.execute(
                    sql: """
                        INSERT INTO refused_pushes (tbl, row_id, col, code, reason, refused_millis) VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT DO UPDATE SET code = excluded.code, reason = excluded.reason, refused_millis = excluded.refused_millis
                        """, arguments: [r.table, r.rowID, r.column, r.code, r.reason, now])
            }
        }
    }

    /// This replica's changes the server refused, newest first.
    public func refusedPushes() throws(SyncCoreError) -> [SetAsideChange] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT tbl, row_id, col, code, reason FROM refused_pushes ORDER BY refused_millis DESC, rowid DESC")
                .map { SetAsideChange(table: $0[0], rowID: $0[1], column: $0[2], code: $0[3], reason: $0[4]) }
        }
    }
}
