import Crypto
import Foundation

/// The answer a device gives the server's challenge to show it holds a photo's bytes (protocol.md
/// §4.4): SHA-256 over the challenge's 32 bytes followed by the photo, as 64 hex digits.
public enum PhotoProof {
    /// The answer to `challenge` (64 hex digits) over `photo`; nil for a malformed challenge.
    public static func answer(challenge: String, photo: Data) -> String? {
        guard let key = Hex.bytes(challenge), key.count == 32 else { return nil }
        var hasher = SHA256()
        hasher.update(data: key)
        hasher.update(data: photo)
        return Hex.string(hasher.finalize())
    }
}
