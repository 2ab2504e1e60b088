import SyncCore

/// A libFuzzer target for everything a GridSync peer decodes off the wire: changesets, sync
/// requests (what the server reads) and sync responses (what a device reads).
///
/// Every input must decode or be refused with an error: a trap, an overflow or a hang is a defect.
/// An input that decodes must survive a round trip: encoding it again and decoding that gives the
/// same value, so the encoder and the decoder agree on every message either side accepts.
///
/// Built and run by `scripts/fuzz` (coverage comes from `-sanitize=fuzzer` on SyncCore, which the
/// manifest adds when `GRIDSYNC_FUZZ=1`); `main.swift` hands it to libFuzzer's driver.
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data!, count: size))
    if let changeset = try? ChangesetEncoding.decode(bytes) {
        for compress in [false, true] {
            let again = ChangesetEncoding.encode(changeset, compress: compress)
            guard (try? ChangesetEncoding.decode(again)) == changeset else {
                fatalError("a decoded changeset does not survive a round trip (compress: \(compress))")
            }
        }
    }
    if let request = try? SyncMessageCoding.decodeRequest(bytes) {
        guard (try? SyncMessageCoding.decodeRequest(SyncMessageCoding.encode(request))) == request else {
            fatalError("a decoded sync request does not survive a round trip")
        }
    }
    if let response = try? SyncMessageCoding.decodeResponse(bytes) {
        guard (try? SyncMessageCoding.decodeResponse(SyncMessageCoding.encode(response))) == response else {
            fatalError("a decoded sync response does not survive a round trip")
        }
    }
    return 0
}
