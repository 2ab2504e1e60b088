import Crypto
import FieldCLI
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SyncCore

/// The dashboard's HTTP server: plain HTTP on loopback by default; on any other address only with
/// an access code, asked for once per browser and remembered in a cookie for the server's run.
enum DashboardServer {
    static let cookieName = "gridsync_access"

    /// Every answer's headers: nothing from outside the page's own origin, no scripts at all.
    static let securityHeaders: [(HTTPField.Name, String)] = [
        (
            .contentSecurityPolicy,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
        (HTTPField.Name("X-Content-Type-Options")!, "nosniff"),
        (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
    ]

    static func run(pages: DashboardPages, host: String, port: Int, accessCode: String?, onRunning: @escaping @Sendable (Int) -> Void)
        async throws
    {
        // A fresh token per run: the cookie a browser gets for the right code.
        let token = accessCode.map { _ in SHA256.hash(data: Data(UUID().uuidString.utf8)).map { String(format: "%02x", $0) }.joined() }
        let router = Router()
        router.add(middleware: Guard(accessCode: accessCode, token: token, pages: pages))

        router.get("/style.css") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                body: .init(byteBuffer: ByteBuffer(string: DashboardStyle.css)))
        }
        router.get("/") { request, _ -> Response in html(pages.overview(parameters(request))) }
        router.get("/issues") { request, _ -> Response in html(pages.issueList(parameters(request))) }
        router.get("/board") { request, _ -> Response in html(pages.board(parameters(request))) }
        router.get("/issue/:id") { request, context -> Response in
            html(pages.issuePage(context.parameters.get("id") ?? "", parameters(request)))
        }
        router.get("/photo/:sha") { _, context -> Response in
            let sha = context.parameters.get("sha") ?? ""
            guard sha.utf8.count == 64, sha.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }),
                pages.blobs.contains(sha),
                let bytes = try? pages.blobs.read(sha), let format = PhotoFormat(bytes)
            else { return html(pages.errorPage(.notFound(sha), lang: pages.defaultLanguage)) }
            return Response(
                status: .ok, headers: [.contentType: format.mimeType, .cacheControl: "private, max-age=86400"],
                body: .init(byteBuffer: ByteBuffer(data: bytes)))
        }
        if let accessCode, let token {
            router.get("/login") { request, _ -> Response in html(loginPage(pages, parameters(request), wrong: false)) }
            router.post("/login") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 4096)
                let form = formFields(String(buffer: body))
                let given = Data((form["code"] ?? "").utf8)
                // Compared by hash, in constant time over the digests.
                let ok = SHA256.hash(data: given) == SHA256.hash(data: Data(accessCode.utf8))
                guard ok else { return html(loginPage(pages, form, wrong: true), status: 403) }
                var answer = Response(status: .seeOther)
                answer.headers[.location] = "/" + HTML.query([("lang", form["lang"])])
                answer.headers[.setCookie] = "\(cookieName)=\(token); Path=/; HttpOnly; SameSite=Strict"
                return answer
            }
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "gridsync-dashboard"),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) },
            logger: {
                // Warnings and errors only: the one line a person needs is the address.
                var logger = Logger(label: "gridsync-dashboard")
                logger.logLevel = .warning
                return logger
            }())
        try await app.runService()
    }

    static func parameters(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in request.uri.queryParameters { out[String(k)] = String(v) }
        return out
    }

    static func html(_ page: Page, status: Int? = nil) -> Response {
        Response(
            status: HTTPResponse.Status(code: status ?? page.status),
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: page.html)))
    }

    /// `application/x-www-form-urlencoded` fields.
    static func formFields(_ body: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            if kv.count == 2 { out[kv[0]] = kv[1] }
        }
        return out
    }

    static func loginPage(_ pages: DashboardPages, _ parameters: [String: String], wrong: Bool) -> Page {
        let lang = pages.language(parameters)
        let q = DashboardPages.Query(lang: lang, area: nil, from: "", to: "", today: "", parameters: ["lang": lang.rawValue])
        let body = """
            <h1>\(pages.t("title", q))</h1>\(wrong ? "<p class=\"error\">\(pages.t("wrong_code", q))</p>" as String : "")
            <form method="post" action="/login"><input type="hidden" name="lang" value="\(lang.rawValue)">
            <label>\(pages.t("access_code", q)) <input type="password" name="code" autocomplete="current-password" autofocus></label>
            <button type="submit">\(pages.t("enter", q))</button></form>
            """
        return Page(status: wrong ? 403 : 200, html: pages.layout(pages.t("access_code", q), q, path: "/login", body: body))
    }

    /// Adds the security headers to every answer and, with an access code, sends browsers without
    /// the cookie to the login page.
    struct Guard<Context: RequestContext>: RouterMiddleware {
        let accessCode: String?
        let token: String?
        let pages: DashboardPages

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            var answer: Response
            if let token, request.uri.path != "/login", request.uri.path != "/style.css", !hasCookie(request, token) {
                answer = Response(status: .seeOther)
                answer.headers[.location] = "/login" + HTML.query([("lang", DashboardServer.parameters(request)["lang"])])
            } else {
                answer = try await next(request, context)
            }
            for (name, value) in DashboardServer.securityHeaders { answer.headers[name] = value }
            return answer
        }

        func hasCookie(_ request: Request, _ token: String) -> Bool {
            request.headers[values: .cookie].contains { header in
                header.split(separator: ";").contains {
                    $0.trimmingCharacters(in: .whitespaces) == "\(DashboardServer.cookieName)=\(token)"
                }
            }
        }
    }
}
