import Synchronization

/// How many bytes of records and photos each device may store on the server per day (UTC), so
/// that one lost or buggy handheld cannot fill the disk of the server and of every county replica.
///
/// Counted in memory: a restart gives every device a fresh day, which bounds a flood just as well.
final class StorageBudget: Sendable {
    /// Bytes of ids and values a device may push per day (the decoder's count, `ChangesetEncoding`).
    let recordBytesPerDay: Int
    /// Bytes of photos a device may upload per day.
    let photoBytesPerDay: Int
    private let spent = Mutex<(day: UInt64, records: [String: Int], photos: [String: Int])>((0, [:], [:]))

    init(recordBytesPerDay: Int, photoBytesPerDay: Int) {
        self.recordBytesPerDay = recordBytesPerDay
        self.photoBytesPerDay = photoBytesPerDay
    }

    /// What a device pushes or uploads.
    enum Kind { case records, photos }

    /// Counts `bytes` against `device`'s budget of `kind` for the day of `nowMillis`; throws the
    /// refusal, counting nothing, when they do not fit.
    func spend(_ bytes: Int, of kind: Kind, device: String, nowMillis: UInt64) throws(APIError) {
        let limit = kind == .records ? recordBytesPerDay : photoBytesPerDay
        let day = nowMillis / 86_400_000
        let used = spent.withLock { state -> Int? in
            if state.day != day { state = (day, [:], [:]) }
            let before = kind == .records ? state.records[device, default: 0] : state.photos[device, default: 0]
            guard before + bytes <= limit else { return before }
            if kind == .records { state.records[device] = before + bytes } else { state.photos[device] = before + bytes }
            return nil
        }
        if let used {
            let what = kind == .records ? "records" : "photos"
            throw APIError(
                status: 429, code: "quota_exceeded",
                message:
                    "this device has stored \(used / 1024) KiB of \(what) today; its daily budget is \(limit / 1024) KiB: nothing of this request was stored, try again tomorrow"
            )
        }
    }
}
