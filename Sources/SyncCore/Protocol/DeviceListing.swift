/// What the server tells a county or township device about the devices under its scopes
/// (`GET /v1/devices`, protocol.md §4.5): enough to see who has not synced, nothing secret.
public struct DeviceListing: Codable, Equatable, Sendable {
    /// The server's wall clock when it answered, in milliseconds.
    public var serverMillis: Int64
    public var devices: [DeviceSeen]

    public init(serverMillis: Int64, devices: [DeviceSeen]) {
        self.serverMillis = serverMillis
        self.devices = devices
    }
}

/// One enrolled device as the county sees it.
public struct DeviceSeen: Codable, Equatable, Sendable {
    public var id: String
    /// The person it is enrolled for.
    public var name: String?
    public var role: String
    public var scopes: [String]
    public var enrolledMillis: Int64
    /// Its last sync, nil when it never synced.
    public var lastSyncMillis: Int64?
    /// Its receipt: the highest local version of it the server has stored.
    public var acknowledged: Int64
    public var revoked: Bool

    public init(
        id: String, name: String?, role: String, scopes: [String], enrolledMillis: Int64, lastSyncMillis: Int64?, acknowledged: Int64,
        revoked: Bool
    ) {
        self.id = id
        self.name = name
        self.role = role
        self.scopes = scopes
        self.enrolledMillis = enrolledMillis
        self.lastSyncMillis = lastSyncMillis
        self.acknowledged = acknowledged
        self.revoked = revoked
    }

    /// Whether it has not synced in the `days` before `nowMillis` (never counts as not).
    public func isStale(days: Int, nowMillis: Int64) -> Bool {
        guard !revoked else { return false }
        return (lastSyncMillis ?? 0) < nowMillis - Int64(days) * 86_400_000
    }
}
