import Foundation
import SyncCore

/// An error answered to a client: an HTTP status, a stable protocol code and a message.
struct APIError: Error, Equatable {
    var status: Int
    var code: String
    var message: String

    static func badRequest(_ m: String) -> APIError { APIError(status: 400, code: "bad_request", message: m) }
    static let unauthenticated = APIError(status: 401, code: "unauthenticated", message: "missing or unknown credential")
    static func revoked(_ id: String) -> APIError { APIError(status: 403, code: "revoked", message: "device \(id) has been revoked") }
    static let enrollmentRefused = APIError(
        status: 403, code: "enrollment_refused", message: "the enrollment code is unknown, used or expired")
    static func tooLarge(_ limit: Int) -> APIError {
        APIError(status: 413, code: "too_large", message: "request body exceeds \(limit) bytes")
    }
    static func unsupported(_ m: String) -> APIError { APIError(status: 415, code: "unsupported", message: m) }
    static func `internal`(_ m: String) -> APIError { APIError(status: 500, code: "internal", message: m) }
    /// The database cannot be reached now (its primary died and no standby is promoted yet):
    /// nothing of the request is stored; the answer carries `Retry-After`.
    static let unavailable = APIError(
        status: 503, code: "unavailable", message: "the server's database is unavailable for now; try again shortly")
    /// Seconds a device waits before trying again after `unavailable`.
    static let retryAfterSeconds = 2

    /// What a fault that is not an `APIError` is answered with: `unavailable` when the database
    /// cannot be reached, else `otherwise`.
    static func fault(_ error: any Error, otherwise: APIError = .internal("internal server error")) -> APIError {
        StoreFailure.isUnavailable(error) ? .unavailable : otherwise
    }

    /// The JSON body of the error response.
    var json: Data {
        (try? JSONSerialization.data(withJSONObject: ["error": ["code": code, "message": message]], options: [.sortedKeys])) ?? Data()
    }

    /// Maps an authentication failure.
    init(_ auth: AuthError) {
        switch auth {
        case .unknownCredential: self = .unauthenticated
        case let .revoked(id): self = .revoked(id)
        case .invalidCode: self = .enrollmentRefused
        case let .invalid(m): self = .badRequest(m)
        case .siteTaken:
            self = APIError(
                status: 409, code: "site_taken", message: "another device already has this site id: make a new replica and enroll again")
        }
    }

    init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }
}
