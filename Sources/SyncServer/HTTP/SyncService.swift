import Foundation
import Logging
import SyncCore

/// The sync service without its transport: enrollment and the one-round-trip sync, from request
/// bytes to response bytes. The HTTP layer only authenticates and moves bytes.
struct SyncService: Sendable {
    let store: any SyncStore
    let registry: any DeviceDirectory
    let config: ServerConfig
    let caCertificatePEM: String
    let wallClock: any WallClock
    let metrics = ServerMetrics()
    let logger: Logger
    let budget: StorageBudget

    init(
        store: any SyncStore, registry: any DeviceDirectory, config: ServerConfig, caCertificatePEM: String, wallClock: any WallClock,
        logger: Logger
    ) {
        self.store = store
        self.registry = registry
        self.config = config
        self.caCertificatePEM = caCertificatePEM
        self.wallClock = wallClock
        self.logger = logger
        self.budget = StorageBudget(recordBytesPerDay: config.recordBudget, photoBytesPerDay: config.photoBudget)
    }

    func enroll(_ body: Data) async throws(APIError) -> EnrollResponse {
        guard let request = try? JSONDecoder().decode(EnrollRequest.self, from: body) else {
            throw .badRequest("expected JSON {\"code\": \"XXXX-XXXX-XXXX\", \"site\": \"<16 hex digits>\"}")
        }
        guard let site = SiteID(hex: request.site.lowercased()), site.rawValue != 0 else {
            throw .badRequest("site must be 16 hex digits, not zero")
        }
        do {
            let (device, credential) = try await registry.enroll(
                code: request.code, site: site, reserved: store.site, formerCredential: request.formerCredential,
                nowMillis: Int64(wallClock.nowMillis()))
            logger.info("enrolled", metadata: ["device": "\(device.id)", "role": "\(device.role.rawValue)", "scopes": "\(device.scopes)"])
            return EnrollResponse(
                device: device.id, credential: credential, role: device.role.rawValue, name: device.name, scopes: device.scopes,
                caCertificate: caCertificatePEM, serverTimeMillis: wallClock.nowMillis(),
                protocolVersion: Int(SyncMessageCoding.protocolVersion))
        } catch let error as AuthError {
            throw APIError(error)
        } catch {
            logger.error("enrollment failed", metadata: ["error": "\(String(reflecting: error))"])
            throw .fault(error, otherwise: .internal("enrollment failed"))
        }
    }

    /// The device presenting `authorization` (`Bearer <credential>`).
    func authenticate(_ authorization: String?) async throws(APIError) -> Device {
        guard let authorization, authorization.hasPrefix("Bearer "), authorization.count > 7 else { throw .unauthenticated }
        do {
            return try await registry.authenticate(credential: String(authorization.dropFirst(7)))
        } catch let error as AuthError {
            if case let .revoked(id) = error { logger.notice("refused revoked device", metadata: ["device": "\(id)"]) }
            throw APIError(error)
        } catch {
            throw .fault(error, otherwise: .internal("authentication failed"))
        }
    }

    /// One round trip: store what the device pushed (refusing what it may not write, one change at
    /// a time), then answer with the receipt, the server's time and what changed in its scopes.
    /// `changesetFormat` is the newest format the device reads (1 for devices that do not say).
    /// `includeOwn`: the device asks for its own writes too (it was restored from an older copy).
    /// `reusedVersions` in the answer: the push brought new changes under local versions this
    /// server had already acknowledged, which only a replica restored from an older copy does (a
    /// repeated request brings nothing new).
    func sync(device: Device, body: [UInt8], changesetFormat: UInt8 = 1, includeOwn: Bool = false) async throws(APIError) -> (
        body: [UInt8], reusedVersions: Bool
    ) {
        let request: SyncRequest
        do {
            request = try SyncMessageCoding.decodeRequest(body, maxBodyBytes: config.maxBodyBytes * 4)
        } catch {
            throw .badRequest(error.description)
        }
        let scopes = device.areaScopes
        let sender = device.sender
        if !request.changes.isEmpty {
            try budget.spend(
                ChangesetEncoding.expandedBytes(request.changes), of: .records, device: device.id, nowMillis: wallClock.nowMillis())
        }
        let started = ContinuousClock.now
        do {
            let receipt = max(device.acknowledged, request.pushThrough)
            let now = wallClock.nowMillis()
            // Idempotent: a batch repeated after a lost response changes nothing the second time.
            let report =
                request.changes.isEmpty
                ? ApplyReport()
                : try await store.apply(
                    request.changes, from: sender, receipt: Receipt(device: device.id, acknowledged: receipt, nowMillis: Int64(now)))
            let rejections = Self.locate(report.rejected, in: request.changes)
            let accepted = report.applied
            // What this push stored stays out of this pull: the device has it.
            let skipping = Set(report.storedVersions)
            let limit = config.pullLimit(asked: request.maxPullChanges)
            let batch = try await store.changes(since: request.pullCursor, maxChanges: limit, scopes: scopes, skipping: skipping)
            // A push's receipt went with it where the store keeps the devices; a pull alone records its time here.
            if request.changes.isEmpty || !store.writesReceipts {
                try await registry.recordSync(device.id, acknowledged: receipt, nowMillis: Int64(now))
            }
            let site = includeOwn ? nil : SiteID(hex: device.site)
            // The device has its own writes already: do not send them back.
            let rows = batch.changeset.rows.compactMap { row -> RowChanges? in
                // Most rows hold none of the device's own writes: sent as read, not copied.
                guard let site, row.changes.contains(where: { $0.version.site == site }) else { return row }
                let others = row.changes.filter { $0.version.site != site }
                return others.isEmpty ? nil : RowChanges(table: row.table, rowID: row.rowID, grid: row.grid, changes: others)
            }
            let answer = SyncMessageCoding.encode(
                SyncResponse(
                    serverTimeMillis: now, receipt: receipt, cursor: batch.cursor, hasMore: batch.hasMore, rejections: rejections,
                    changes: Changeset(rows: rows)), changesetFormat: changesetFormat)
            let elapsed = ContinuousClock.now - started
            metrics.changesAccepted.increment(by: accepted)
            for (reason, group) in Dictionary(grouping: rejections, by: \.code) { metrics.refused(reason, count: group.count) }
            metrics.bytesIn.increment(by: body.count)
            metrics.bytesOut.increment(by: answer.count)
            metrics.syncDuration.record(duration: elapsed)
            logger.info(
                "sync",
                metadata: [
                    "device": "\(device.id)", "pushed": "\(request.changes.changeCount)", "accepted": "\(accepted)",
                    "refused": "\(rejections.count)", "pulled": "\(rows.reduce(0) { $0 + $1.changes.count })",
                    "receipt": "\(receipt)", "cursor": "\(batch.cursor)", "bytes_in": "\(body.count)", "bytes_out": "\(answer.count)",
                    "ms": "\(elapsed.components.attoseconds / 1_000_000_000_000_000 + elapsed.components.seconds * 1000)",
                ])
            return (answer, !request.changes.isEmpty && request.pushThrough <= device.acknowledged && accepted > 0)
        } catch {
            // The detail goes to the operator's log, never to the client.
            logger.error("sync failed", metadata: ["device": "\(device.id)", "error": "\(error)"])
            throw .fault(error, otherwise: .internal("internal server error: nothing of this request was stored"))
        }
    }

    /// Turns the store's refusals into positions in the pushed changeset.
    static func locate(_ rejected: [RejectedChange], in changes: Changeset) -> [SyncRejection] {
        if rejected.isEmpty { return [] }
        var index: [String: (Int, Int)] = [:]
        for (r, row) in changes.rows.enumerated() {
            for (c, change) in row.changes.enumerated() { index["\(row.table)\u{0}\(row.rowID)\u{0}\(change.column)"] = (r, c) }
        }
        return rejected.map { x in
            let (r, c) = index["\(x.table)\u{0}\(x.rowID)\u{0}\(x.column)"] ?? (0, 0)
            return SyncRejection(row: r, change: c, code: x.reason.code, message: x.reason.description)
        }
    }
}
