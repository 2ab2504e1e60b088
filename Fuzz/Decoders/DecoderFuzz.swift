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
        // Format 1 keeps the order of rows and changes; format 2 sends them in canonical order.
        let canonical = ChangesetEncoding.canonical(changeset)
        guard ChangesetEncoding.canonical(canonical) == canonical else { fatalError("canonical order is not stable") }
        for format: UInt8 in [1, 2] {
            for compress in [false, true] {
                let again = ChangesetEncoding.encode(changeset, format: format, compress: compress)
                guard (try? ChangesetEncoding.decode(again)) == (format == 1 ? changeset : canonical) else {
                    fatalError("a decoded changeset does not survive a round trip (format \(format), compress: \(compress))")
                }
            }
        }
    }
    if var request = try? SyncMessageCoding.decodeRequest(bytes) {
        guard (try? SyncMessageCoding.decodeRequest(SyncMessageCoding.encode(request, changesetFormat: 1))) == request else {
            fatalError("a decoded sync request does not survive a round trip (format 1)")
        }
        request.changes = ChangesetEncoding.canonical(request.changes)
        guard (try? SyncMessageCoding.decodeRequest(SyncMessageCoding.encode(request, changesetFormat: 2))) == request else {
            fatalError("a decoded sync request does not survive a round trip (format 2)")
        }
    }
    if var response = try? SyncMessageCoding.decodeResponse(bytes) {
        guard (try? SyncMessageCoding.decodeResponse(SyncMessageCoding.encode(response, changesetFormat: 1))) == response else {
            fatalError("a decoded sync response does not survive a round trip (format 1)")
        }
        response.changes = ChangesetEncoding.canonical(response.changes)
        guard (try? SyncMessageCoding.decodeResponse(SyncMessageCoding.encode(response, changesetFormat: 2))) == response else {
            fatalError("a decoded sync response does not survive a round trip (format 2)")
        }
    }
    return 0
}
