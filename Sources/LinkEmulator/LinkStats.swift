import Foundation

/// What the link carried: bytes each way, connections and cuts.
struct LinkStats: Codable, Sendable {
    var bytesUp = 0
    var bytesDown = 0
    var connections = 0
    var cuts = 0
    var refused = 0

    var line: String {
        "carried up \(bytesUp) B, down \(bytesDown) B in \(connections) connection(s); \(cuts) cut, \(refused) refused in blackouts"
    }

    /// Writes the figures as JSON to `path`, replacing the file whole.
    func write(to path: String) {
        guard let data = try? JSONEncoder().encode(self) else { return }
        let temporary = path + ".tmp"
        if FileManager.default.createFile(atPath: temporary, contents: data) { rename(temporary, path) }
    }
}
