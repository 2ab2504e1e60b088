import Foundation

/// What `POST /v1/enroll` takes (JSON; protocol.md §4.2).
public struct EnrollRequest: Codable, Sendable {
    /// The one-time enrollment code.
    public var code: String
    /// The device's site id, 16 hex digits.
    public var site: String
    /// The name the device's person gave (`gridsync init --name`), for the operator's log; the
    /// person the server records is the one the operator named with the code.
    public var name: String?
    /// The credential of the device whose folder this one took over (`gridsync init --adopt`): the
    /// new device may then also send changes under that device's site ids.
    public var formerCredential: String?

    public init(code: String, site: String, name: String? = nil, formerCredential: String? = nil) {
        self.code = code
        self.site = site
        self.name = name
        self.formerCredential = formerCredential
    }
}

/// What `POST /v1/enroll` answers (JSON; protocol.md §4.2).
public struct EnrollResponse: Codable, Sendable {
    public var device: String
    public var credential: String
    public var role: String
    /// The enrolled person: the author the server records for this device's events and reports.
    public var name: String?
    public var scopes: [String]
    public var caCertificate: String
    public var serverTimeMillis: UInt64
    public var protocolVersion: Int

    public init(
        device: String, credential: String, role: String, name: String?, scopes: [String], caCertificate: String,
        serverTimeMillis: UInt64, protocolVersion: Int
    ) {
        self.device = device
        self.credential = credential
        self.role = role
        self.name = name
        self.scopes = scopes
        self.caCertificate = caCertificate
        self.serverTimeMillis = serverTimeMillis
        self.protocolVersion = protocolVersion
    }
}
