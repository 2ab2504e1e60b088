import Crypto
import Foundation
import SyncCore

/// Random secrets and their stored form: only SHA-256 digests of codes and credentials are kept.
enum Secrets {
    /// Letters and digits without look-alikes (no 0/O, 1/I/L), for codes people type.
    static let codeAlphabet = Array("23456789ABCDEFGHJKMNPQRSTUVWXYZ")

    /// A one-time enrollment code: 12 characters (about 59 bits) shown as XXXX-XXXX-XXXX.
    static func enrollmentCode() -> String {
        var g = SystemRandomNumberGenerator()
        let chars = (0..<12).map { _ in codeAlphabet[Int.random(in: 0..<codeAlphabet.count, using: &g)] }
        return String(chars[0..<4]) + "-" + String(chars[4..<8]) + "-" + String(chars[8..<12])
    }

    /// The canonical form of a typed code: upper case, without dashes or spaces.
    static func normalizeCode(_ code: String) -> String {
        code.uppercased().filter { $0 != "-" && $0 != " " }
    }

    /// A device credential: 32 random bytes (256 bits), base64url.
    static func credential() -> String {
        var g = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The stored form of a secret: lowercase hex SHA-256.
    static func digest(_ secret: String) -> String {
        Hex.string(SHA256.hash(data: Data(secret.utf8)))
    }
}
