import Foundation

/// What `POST /v1/enroll` takes (JSON; protocol.md §4.2).
public struct EnrollRequest: Codable, Sendable {
    /// The one-time enrollment code.
    public var code: String
    /// The device's site id, 16 hex digits.
    public var site: String

    public init(code: String, site: String) {
        self.code = code
        self.site = site
    }
}

/// What `POST /v1/enroll` answers (JSON; protocol.md §4.2).
public struct EnrollResponse: Codable, Sendable {
    public var device: String
    public var credential: String
    public var role: String
    public var scopes: [String]
    public var caCertificate: String
    public var serverTimeMillis: UInt64
    public var protocolVersion: Int

    public init(
        device: String, credential: String, role: String, scopes: [String], caCertificate: String, serverTimeMillis: UInt64,
        protocolVersion: Int
    ) {
        self.device = device
        self.credential = credential
        self.role = role
        self.scopes = scopes
        self.caCertificate = caCertificate
        self.serverTimeMillis = serverTimeMillis
        self.protocolVersion = protocolVersion
    }
}
