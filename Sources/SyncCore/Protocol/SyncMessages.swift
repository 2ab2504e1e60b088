/// The body of `POST /v1/sync`: what a device pushes and what it asks to pull (protocol.md §5.3).
public struct SyncRequest: Equatable, Sendable {
    /// The message type byte of a sync request.
    public static let typeByte: UInt8 = 0x53
    /// The server sequence number the device has pulled up to.
    public var pullCursor: Int64
    /// The device's local version that `changes` covers (0 when nothing is pushed).
    public var pushThrough: Int64
    /// How many changes the device wants at most in the response (0: the server's default).
    public var maxPullChanges: Int
    /// The changes pushed.
    public var changes: Changeset

    /// A request pushing `changes` (through local version `pushThrough`) and pulling after `pullCursor`.
    public init(pullCursor: Int64, pushThrough: Int64, maxPullChanges: Int = 0, changes: Changeset) {
        self.pullCursor = pullCursor
        self.pushThrough = pushThrough
        self.maxPullChanges = maxPullChanges
        self.changes = changes
    }
}

/// One pushed change the server refused, with the reason (the rest of the batch is stored).
public struct SyncRejection: Equatable, Sendable {
    /// Index of the row in the pushed changeset.
    public var row: Int
    /// Index of the change within that row.
    public var change: Int
    /// A stable reason code (`out_of_scope`, `clock_skew`, …).
    public var code: String
    /// A human explanation.
    public var message: String

    /// A refusal of change `change` of row `row`.
    public init(row: Int, change: Int, code: String, message: String) {
        self.row = row
        self.change = change
        self.code = code
        self.message = message
    }
}

/// The body of a successful sync response.
public struct SyncResponse: Equatable, Sendable {
    /// The message type byte of a sync response.
    public static let typeByte: UInt8 = 0x73
    /// The server's wall clock when it answered (milliseconds since 1970).
    public var serverTimeMillis: UInt64
    /// The receipt: the highest local version of this device the server has durably stored.
    public var receipt: Int64
    /// The cursor to pull after next time.
    public var cursor: Int64
    /// True when more changes wait after `cursor`.
    public var hasMore: Bool
    /// Pushed changes the server refused.
    public var rejections: [SyncRejection]
    /// The changes pulled.
    public var changes: Changeset

    /// A response with these fields.
    public init(
        serverTimeMillis: UInt64, receipt: Int64, cursor: Int64, hasMore: Bool, rejections: [SyncRejection], changes: Changeset
    ) {
        self.serverTimeMillis = serverTimeMillis
        self.receipt = receipt
        self.cursor = cursor
        self.hasMore = hasMore
        self.rejections = rejections
        self.changes = changes
    }
}

/// Encoding of the sync messages: a type byte, the protocol version, fields, then an encoded changeset.
public enum SyncMessageCoding {
    /// The wire protocol version this code speaks.
    public static let protocolVersion: UInt8 = 1

    /// Encodes a request, its changes in changeset format `changesetFormat` (one the server reads).
    public static func encode(_ request: SyncRequest, changesetFormat: UInt8 = ChangesetEncoding.formatVersion) -> [UInt8] {
        var w = ByteWriter()
        w.byte(SyncRequest.typeByte)
        w.byte(protocolVersion)
        w.varint(UInt64(max(0, request.pullCursor)))
        w.varint(UInt64(max(0, request.pushThrough)))
        w.varint(max(0, request.maxPullChanges))
        w.append(ChangesetEncoding.encode(request.changes, format: changesetFormat))
        return w.bytes
    }

    /// Decodes a request, refusing anything malformed.
    public static func decodeRequest(_ bytes: [UInt8], maxBodyBytes: Int = ChangesetEncoding.defaultMaxBodyBytes)
        throws(ChangesetDecodingError) -> SyncRequest
    {
        var r = ByteReader(bytes)
        try header(&r, expected: SyncRequest.typeByte)
        let pull = try r.varint("pull cursor")
        let push = try r.varint("push through")
        let max = try r.varint("max pull changes")
        guard pull <= UInt64(Int64.max), push <= UInt64(Int64.max), max <= 1_000_000 else {
            throw .invalidField(offset: 2, "cursor, push version or max changes out of range")
        }
        let changes = try ChangesetEncoding.decode(Array(try r.slice(r.remaining, "changeset")), maxBodyBytes: maxBodyBytes)
        return SyncRequest(pullCursor: Int64(pull), pushThrough: Int64(push), maxPullChanges: Int(max), changes: changes)
    }

    /// Encodes a response, its changes in changeset format `changesetFormat` (one the device reads).
    public static func encode(_ response: SyncResponse, changesetFormat: UInt8 = ChangesetEncoding.formatVersion) -> [UInt8] {
        var w = ByteWriter()
        w.byte(SyncResponse.typeByte)
        w.byte(protocolVersion)
        w.uint64LE(response.serverTimeMillis)
        w.varint(UInt64(max(0, response.receipt)))
        w.varint(UInt64(max(0, response.cursor)))
        w.byte(response.hasMore ? 1 : 0)
        w.varint(response.rejections.count)
        for rejection in response.rejections {
            w.varint(rejection.row)
            w.varint(rejection.change)
            w.lengthPrefixed(rejection.code)
            w.lengthPrefixed(rejection.message)
        }
        w.append(ChangesetEncoding.encode(response.changes, format: changesetFormat))
        return w.bytes
    }

    /// Decodes a response, refusing anything malformed.
    public static func decodeResponse(_ bytes: [UInt8], maxBodyBytes: Int = ChangesetEncoding.defaultMaxBodyBytes)
        throws(ChangesetDecodingError) -> SyncResponse
    {
        var r = ByteReader(bytes)
        try header(&r, expected: SyncResponse.typeByte)
        let time = try r.uint64LE("server time")
        let receipt = try r.varint("receipt")
        let cursor = try r.varint("cursor")
        let flags = try r.byte("flags")
        guard receipt <= UInt64(Int64.max), cursor <= UInt64(Int64.max), flags <= 1 else {
            throw .invalidField(offset: r.offset, "receipt, cursor or flags out of range")
        }
        let count = try r.count("rejection count", minBytes: 4)
        var rejections: [SyncRejection] = []
        for _ in 0..<count {
            let row = try r.varint("rejected row")
            let change = try r.varint("rejected change")
            let code = try r.lengthPrefixedString("rejection code")
            let message = try r.lengthPrefixedString("rejection message")
            guard row <= UInt64(Int.max), change <= UInt64(Int.max) else {
                throw .invalidField(offset: r.offset, "rejection index out of range")
            }
            rejections.append(SyncRejection(row: Int(row), change: Int(change), code: code, message: message))
        }
        let changes = try ChangesetEncoding.decode(Array(try r.slice(r.remaining, "changeset")), maxBodyBytes: maxBodyBytes)
        return SyncResponse(
            serverTimeMillis: time, receipt: Int64(receipt), cursor: Int64(cursor), hasMore: flags == 1, rejections: rejections,
            changes: changes)
    }

    static func header(_ r: inout ByteReader, expected: UInt8) throws(ChangesetDecodingError) {
        let type = try r.byte("message type")
        guard type == expected else { throw .invalidField(offset: 0, "message type: expected \(expected), found \(type)") }
        let version = try r.byte("protocol version")
        guard version == protocolVersion else {
            throw .invalidField(offset: 1, "protocol version: expected one of \(protocolVersion), found \(version)")
        }
    }
}
