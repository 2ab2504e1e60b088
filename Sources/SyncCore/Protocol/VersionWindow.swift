import Foundation

/// The versions a peer speaks, sent with every sync (`GridSync-Versions` header, protocol.md §5),
/// and the window of versions this build supports.
public struct PeerVersions: Equatable, Sendable, CustomStringConvertible {
    /// The wire protocol (the sync messages' version byte).
    public var protocolVersion: Int
    /// The newest changeset format the peer writes (it reads every format up to it).
    public var changesetFormat: Int
    /// The data model's version: protocol.md's document version (columns, rules).
    public var schema: Int

    /// A peer speaking these versions.
    public init(protocolVersion: Int, changesetFormat: Int, schema: Int) {
        self.protocolVersion = protocolVersion
        self.changesetFormat = changesetFormat
        self.schema = schema
    }

    /// What this build speaks.
    public static let current = PeerVersions(
        protocolVersion: Int(SyncMessageCoding.protocolVersion), changesetFormat: Int(ChangesetEncoding.formatVersion), schema: 4)

    /// The oldest wire protocol this build still serves: the current one and the one before it.
    /// Protocol 1 is the first, so both ends of the window are 1 today.
    public static let oldestProtocol = 1

    /// The header's name.
    public static let header = "GridSync-Versions"

    /// The header's value, `protocol=1;changeset=1;schema=2`.
    public var description: String { "protocol=\(protocolVersion);changeset=\(changesetFormat);schema=\(schema)" }

    /// Parses a header value; nil when it is not `key=number` pairs with all three keys (unknown
    /// keys are ignored, so later versions may add some).
    public init?(header: String) {
        var values: [String: Int] = [:]
        for part in header.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let n = Int(pair[1]), n >= 0 else { return nil }
            values[pair[0]] = n
        }
        guard let p = values["protocol"], let c = values["changeset"], let s = values["schema"] else { return nil }
        self.init(protocolVersion: p, changesetFormat: c, schema: s)
    }

    /// The newest changeset format both this build and a peer speaking `self` read: what to send it.
    public var readableChangesetFormat: UInt8 {
        let shared = ChangesetEncoding.supportedVersions.filter { Int($0) <= changesetFormat }
        return shared.max() ?? 1
    }

    /// Why this build cannot serve a peer speaking `self`, or nil: a protocol older than the window.
    public var tooOld: String? {
        guard protocolVersion < Self.oldestProtocol else { return nil }
        return
            "this device speaks protocol \(protocolVersion); the server speaks \(Self.oldestProtocol) to \(Self.current.protocolVersion): update the field tool"
    }
}
