import GRDB

extension Replica {
    /// Writes a consistent copy of this replica to a new file at `path` (SQLite's online backup:
    /// one read snapshot, whatever is written meanwhile).
    public func backup(to path: String) throws(SyncCoreError) {
        do {
            let copy = try DatabaseQueue(path: path)
            try database.backup(to: copy)
            try copy.close()
        } catch {
            throw Self.mapError(error, path: path)
        }
    }
}
