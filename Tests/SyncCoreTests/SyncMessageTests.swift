import Testing

@testable import SyncCore

@Suite struct SyncMessageTests {
    @Test func requestsAndResponsesRoundTripAndEveryTruncationFails() throws {
        var rng = SeededRandom(seed: 3)
        let changes = randomChangeset(&rng, rows: 6)
        let request = SyncRequest(pullCursor: 1234, pushThrough: 99, maxPullChanges: 500, changes: changes)
        let response = SyncResponse(
            serverTimeMillis: testEpochMillis, receipt: 99, cursor: 4321, hasMore: true,
            rejections: [SyncRejection(row: 2, change: 1, code: "out_of_scope", message: "grid x/y 不在范围内")], changes: changes)
        let requestBytes = SyncMessageCoding.encode(request)
        let responseBytes = SyncMessageCoding.encode(response)
        var canonical = (request, response)
        canonical.0.changes = ChangesetEncoding.canonical(changes)
        canonical.1.changes = ChangesetEncoding.canonical(changes)
        #expect(try SyncMessageCoding.decodeRequest(requestBytes) == canonical.0)
        #expect(try SyncMessageCoding.decodeResponse(responseBytes) == canonical.1)
        #expect(try SyncMessageCoding.decodeRequest(SyncMessageCoding.encode(request, changesetFormat: 1)) == request)
        #expect(try SyncMessageCoding.decodeResponse(SyncMessageCoding.encode(response, changesetFormat: 1)) == response)
        for n in 0..<requestBytes.count {
            #expect(throws: ChangesetDecodingError.self) { try SyncMessageCoding.decodeRequest(Array(requestBytes.prefix(n))) }
        }
        for n in 0..<responseBytes.count {
            #expect(throws: ChangesetDecodingError.self) { try SyncMessageCoding.decodeResponse(Array(responseBytes.prefix(n))) }
        }
        #expect(throws: ChangesetDecodingError.self) { try SyncMessageCoding.decodeRequest(responseBytes) }  // wrong type
        var future = requestBytes
        future[1] = 2
        #expect(throws: ChangesetDecodingError.invalidField(offset: 1, "protocol version: expected one of 1, found 2")) {
            try SyncMessageCoding.decodeRequest(future)
        }
    }

    @Test func protocolExampleOfAnEmptyFirstSyncIsExact() throws {
        let request = SyncRequest(pullCursor: 0, pushThrough: 0, changes: Changeset())
        #expect(
            SyncMessageCoding.encode(request, changesetFormat: 1) == [0x53, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00])
        #expect(SyncMessageCoding.encode(request, changesetFormat: 2) == [0x53, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x02, 0x00, 0x00])
    }

    /// The device half of a sync against a server replica, with no network: push, receipt, pull.
    @Test func aSessionPushesOnlyItsOwnWritesAndRecordsTheReceipt() throws {
        let folder = TemporaryFolder()
        let device = try makeReplica(folder, "device")
        let server = try makeReplica(folder, "server")
        let other = try makeReplica(folder, "other")
        try other.addHousehold(grid: "xizang/a/g1", HouseholdFields(doorPlate: "other"))
        try sync(other, server)
        try device.addHousehold(grid: "xizang/a/g1", HouseholdFields(doorPlate: "mine"))
        let session = SyncSession(replica: device, peer: "server")
        // A server in miniature: apply, then answer what changed since the cursor.
        func serve(_ request: SyncRequest) throws -> SyncResponse {
            _ = try server.apply(request.changes)
            let batch = try server.changes(since: request.pullCursor)
            let rows = batch.changeset.rows.filter { row in row.changes.contains { $0.version.site != device.site } }
            return SyncResponse(
                serverTimeMillis: testEpochMillis, receipt: request.pushThrough, cursor: batch.cursor, hasMore: false, rejections: [],
                changes: Changeset(rows: rows))
        }
        var rounds = 0
        while true {
            rounds += 1
            let request = try session.nextRequest()
            #expect(request.changes.rows.allSatisfy { $0.changes.allSatisfy { $0.version.site == device.site } })
            let outcome = try session.handle(try serve(request), wallMillis: testEpochMillis)
            if !outcome.needsAnotherRound || rounds > 5 { break }
        }
        #expect(rounds <= 3)
        #expect(Set(try device.households().compactMap(\.doorPlate)) == ["mine", "other"])
        #expect(try session.nextRequest().changes.isEmpty)
        // The receipt covers every write of the device's own (rows it pulled need none).
        #expect(try device.pendingOwnChanges(after: device.peerCursor("server").acknowledged) == 0)
    }
}
