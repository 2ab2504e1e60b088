import AsyncHTTPClient
import FieldCLI
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import SyncCore

/// An HTTPS connection to the sync server that trusts only the pinned CA (TLS 1.2 at least).
final class ServerConnection: Sendable {
    /// What the server answered.
    struct Reply: Sendable {
        var status: Int
        var body: [UInt8]
        var headers: HTTPHeaders
    }

    let server: String
    let credential: String?
    private let client: HTTPClient
    private let timeout: TimeAmount

    /// A connection to `server` (an `https://` URL) trusting the CA certificates in `caFile`.
    init(server: String, caFile: String, credential: String? = nil, timeoutSeconds: Int = 120) throws {
        guard let url = URL(string: server), url.scheme == "https", url.host != nil else {
            throw Failure(
                "bad_server", tr("server_connection.server_must_be_https_url", server),
                status: .badInput)
        }
        let roots: [NIOSSLCertificate]
        do {
            // Files joined with `cat` may run one certificate's last line into the next one's first.
            let text = try String(contentsOfFile: caFile, encoding: .utf8)
                .replacingOccurrences(of: "-----END CERTIFICATE----------BEGIN", with: "-----END CERTIFICATE-----\n-----BEGIN")
            roots = try NIOSSLCertificate.fromPEMBytes(Array(text.utf8))
        } catch {
            throw Failure("bad_ca", tr("server_connection.cannot_read_ca_certificate_from", caFile), status: .badInput)
        }
        guard !roots.isEmpty else {
            throw Failure("bad_ca", tr("server_connection.holds_no_certificate", caFile), status: .badInput)
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.trustRoots = .certificates(roots)
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.httpVersion = .http1Only
        configuration.timeout = .init(connect: .seconds(15), read: .seconds(Int64(timeoutSeconds)))
        // A refused connection is a link that is down: report it at once and let RetryPolicy decide.
        configuration.connectionPool.retryConnectionEstablishment = false
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.credential = credential
        self.timeout = .seconds(Int64(timeoutSeconds))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    /// Sends one request. Transport faults and server faults (5xx) come back as retryable
    /// `unavailable` failures; a refused certificate is not retried.
    /// `pieces`: write the body in pieces of at most this many bytes. TLS seals each write in its
    /// own record, and a server decrypts only whole records: when the link drops mid-body, the server
    /// has all but the last piece (photo chunks; it keeps what arrived).
    func send(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String? = nil, headers: [(String, String)] = [],
        pieces: Int? = nil
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: server + path)
        request.method = method
        if let credential { request.headers.add(name: "Authorization", value: "Bearer \(credential)") }
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        request.headers.add(name: PeerVersions.header, value: PeerVersions.current.description)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            if let pieces, body.count > pieces {
                request.body = .stream(Pieces(bytes: body, size: pieces), length: .known(Int64(body.count)))
            } else {
                request.body = .bytes(ByteBuffer(bytes: body))
            }
        }
        let reply: Reply
        do {
            let response = try await client.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: 64 << 20)
            reply = Reply(status: Int(response.status.code), body: Array(buffer: bytes), headers: response.headers)
        } catch {
            throw Self.transportFailure(error, server: server)
        }
        if reply.status >= 500 || reply.status == 429 {
            throw Failure(
                "server_unavailable",
                tr("server_connection.server_answered", reply.status, Self.message(reply)),
                status: .unavailable)
        }
        return reply
    }

    /// The failure a non-success reply stands for, from the server's JSON error.
    static func failure(_ reply: Reply) -> Failure {
        let code = errorCode(reply) ?? "http_\(reply.status)"
        let text = message(reply)
        switch (reply.status, code) {
        case (403, "revoked"):
            return Failure(code, tr("server_connection.this_device_was_revoked_by", text), status: .refused)
        case (403, "enrollment_refused"):
            return Failure(code, tr("server_connection.enrollment_code_refused", text), status: .refused)
        case (426, _):
            return Failure(
                code,
                tr("server_connection.this_field_tool_too_old", text),
                status: .upgradeNeeded)
        case (429, _):
            return Failure(
                code,
                tr("server_connection.server_refused_more_from_this", text),
                status: .refused)
        case (401, _):
            return Failure(code, tr("server_connection.server_does_not_know_this", text), status: .refused)
        default:
            return Failure(
                code, tr("server_connection.server_refused_request", reply.status, text),
                status: .badInput)
        }
    }

    static func errorCode(_ reply: Reply) -> String? {
        let json = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]
        return (json?["error"] as? [String: Any])?["code"] as? String
    }

    static func message(_ reply: Reply) -> String {
        let json = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]
        if let message = (json?["error"] as? [String: Any])?["message"] as? String { return message }
        return String(decoding: reply.body.prefix(200), as: UTF8.self)
    }

    static func transportFailure(_ error: any Error, server: String) -> Failure {
        let text = String(describing: error)
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError || text.contains("handshakeFailed")
            || text.contains("CERTIFICATE_VERIFY")
        {
            return Failure(
                "untrusted_server",
                tr("server_connection.server_at_did_not_prove", server, text),
                status: .refused)
        }
        // What a person can act on, not the library's text: the kind of failure.
        let kind =
            if text.contains("errno: 111") || text.contains("connectionRefused") || text.contains("Connection refused") {
                tr("server_connection.kind_no_answer")
            } else if text.contains("deadlineExceeded") || text.contains("imeout") || text.contains("timedOut") {
                tr("server_connection.kind_timed_out")
            } else if text.contains("errno: 101") || text.contains("errno: 113") || text.contains("nreachable") {
                tr("server_connection.kind_no_route")
            } else if text.contains("errno: -2") || text.contains("errno: -3") || text.contains("ame resolution") {
                tr("server_connection.kind_no_name")
            } else {
                tr("server_connection.kind_dropped")
            }
        return Failure("unreachable", tr("server_connection.no_connection", server, kind), status: .unavailable)
    }
}

/// A request body as a sequence of pieces of at most `size` bytes.
struct Pieces: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let bytes: [UInt8]
    let size: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        let bytes: [UInt8]
        let size: Int
        var at = 0

        mutating func next() async -> ByteBuffer? {
            guard at < bytes.count else { return nil }
            let end = Swift.min(bytes.count, at + size)
            defer { at = end }
            return ByteBuffer(bytes: bytes[at..<end])
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: bytes, size: size) }
}

/// How often and how long to retry a request on a link that drops.
struct RetryPolicy: Sendable {
    /// Attempts after the first; nil: retry until stopped.
    var retries: Int?
    /// Wait before the first retry, in seconds; doubles each time up to `maxDelay`.
    var initialDelay: Double
    var maxDelay: Double = 60
    /// While no request of this run has reached the server (no signal at all), give up after this
    /// many seconds instead of spending every retry: the records are safe on the device either way.
    var noSignalSeconds: Double? = 15
    /// Whether a request of this run has reached the server; shared by the copies of the policy.
    let link = LinkSeen()

    final class LinkSeen: @unchecked Sendable {
        private let lock = NSLock()
        private var seen = false
        var reached: Bool {
            get { lock.withLock { seen } }
            set { lock.withLock { seen = newValue } }
        }
    }

    /// Runs `body`, retrying `unavailable` failures with exponential backoff and jitter.
    func run<T>(onRetry: (Int, Double, Failure) -> Void, _ body: () async throws -> T) async throws -> T {
        var attempt = 0
        var delay = initialDelay
        let started = Date()
        while true {
            do {
                let result = try await body()
                link.reached = true
                return result
            } catch {
                let failure = Failure.from(error)
                guard failure.status == .unavailable, retries.map({ attempt < $0 }) ?? true else { throw failure }
                attempt += 1
                let wait = delay * Double.random(in: 0.8...1.2)
                if let budget = noSignalSeconds, !link.reached, Date().timeIntervalSince(started) + wait > budget { throw failure }
                onRetry(attempt, wait, failure)
                try await Task.sleep(nanoseconds: UInt64(wait * 1e9))
                delay = min(maxDelay, delay * 2)
            }
        }
    }
}
