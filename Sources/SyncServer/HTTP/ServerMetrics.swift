import Metrics

/// The server's own figures, exported at `/metrics` in Prometheus text format (request counts and
/// durations come from Hummingbird's MetricsMiddleware).
struct ServerMetrics: Sendable {
    let changesAccepted = Counter(label: "gridsync_changes_accepted_total")
    let bytesIn = Counter(label: "gridsync_sync_bytes_in_total")
    let bytesOut = Counter(label: "gridsync_sync_bytes_out_total")
    let photoBytes = Counter(label: "gridsync_photo_bytes_received_total")
    let syncDuration = Timer(label: "gridsync_sync_duration_seconds")

    /// Counts refused changes by reason code.
    func refused(_ reason: String, count: Int) {
        Counter(label: "gridsync_changes_refused_total", dimensions: [("reason", reason)]).increment(by: count)
    }
}
