import FieldCLI
import Foundation
import SyncCore

/// A page to answer with: its status and HTML.
struct Page {
    var status: Int = 200
    var html: String
}

/// The dashboard's pages, rendered on the server from the device's own replica (no scripts).
/// Every figure on the overview is the figure `gridsync report --json` gives for the same area,
/// period and day; its element carries `data-figure` so that tests can compare them.
struct DashboardPages: Sendable {
    let replica: Replica
    let blobs: BlobStore
    /// The device's scopes: the area shown when none is asked for is its only scope.
    let scopes: [String]
    let defaultLanguage: DashboardText.Lang
    /// The server's last listing of the devices under this device's scopes.
    let devices: @Sendable () -> DeviceListing?

    /// What every page is asked with: language, area, period, the day overdue is judged on.
    struct Query {
        var lang: DashboardText.Lang
        var area: String?
        var from: String
        var to: String
        var today: String
        var parameters: [String: String]

        func value(_ key: String) -> String? { parameters[key].flatMap { $0.isEmpty ? nil : $0 } }
    }

    enum PageError: Error {
        case badRequest(String)
        case notFound(String)
    }

    func query(_ parameters: [String: String]) throws(PageError) -> Query {
        let lang = parameters["lang"].flatMap(DashboardText.Lang.init(rawValue:)) ?? defaultLanguage
        let today = parameters["today"].flatMap { $0.isEmpty ? nil : $0 } ?? FieldCLI.today()
        let to = parameters["to"].flatMap { $0.isEmpty ? nil : $0 } ?? today
        var from = parameters["from"].flatMap { $0.isEmpty ? nil : $0 } ?? ""
        for (name, value) in [("today", today), ("to", to)] {
            guard (try? parseDay(value, option: name)) != nil else { throw .badRequest("\(name): \(value)") }
        }
        if from.isEmpty, let end = CalendarDate.dayNumber(to) { from = CalendarDate.text(dayNumber: max(0, end - 364)) }
        guard let start = try? parseDay(from, option: "from"), let end = try? parseDay(to, option: "to"), start <= end else {
            throw .badRequest("from: \(from)")
        }
        var area = parameters["area"].flatMap { $0.isEmpty ? nil : $0 } ?? (scopes.count == 1 ? scopes[0] : nil)
        if let a = area {
            guard (try? AreaPath(a)) != nil, (try? replica.knowsArea(a, scopes: scopes)) == true else { throw .notFound(a) }
            area = a
        }
        return Query(lang: lang, area: area, from: from, to: to, today: today, parameters: parameters)
    }

    /// The period as the report takes it: local midnights, the last day included.
    func report(_ q: Query) throws -> CountyReport {
        let period = try reportPeriod(from: q.from, to: q.to)
        return try replica.countyReport(
            fromMillis: period.fromMillis, toMillis: period.toMillis, today: q.today, area: q.area,
            utcOffsetSeconds: period.utcOffsetSeconds, tibetan: q.lang == .bo, scopes: scopes)
    }

    // MARK: - Layout

    func t(_ key: String, _ q: Query) -> String { DashboardText.t(key, q.lang) }
    func term(_ group: Terms.Group, _ key: String, _ q: Query) -> String { HTML.escape(Terms.term(group, key, q.lang.rawValue)) }

    /// A link to `path` keeping the language, area and period, with `extra` changed.
    func link(_ path: String, _ q: Query, _ extra: [(String, String?)] = []) -> String {
        var pairs: [(String, String?)] = [
            ("lang", q.lang.rawValue), ("area", q.area), ("from", q.from), ("to", q.to), ("today", q.parameters["today"]),
        ]
        for (k, v) in extra {
            if let i = pairs.firstIndex(where: { $0.0 == k }) { pairs[i].1 = v } else { pairs.append((k, v)) }
        }
        return path + HTML.query(pairs)
    }

    func layout(_ title: String, _ q: Query, path: String, body: String) -> String {
        // The closures say `String`: with GRDB in reach, an interpolated literal could become its `SQL`.
        let langs = DashboardText.Lang.allCases.map { l -> String in
            let href =
                path
                + HTML.query(
                    [("lang", l.rawValue)]
                        + q.parameters.filter { $0.key != "lang" }.sorted { $0.key < $1.key }.map { ($0.key, Optional($0.value)) })
            return l == q.lang
                ? "<strong lang=\"\(l.htmlCode)\">\(l.own)</strong>"
                : "<a lang=\"\(l.htmlCode)\" href=\"\(HTML.escape(href))\">\(l.own)</a>"
        }.joined(separator: " ")
        return """
            <!doctype html>
            <html lang="\(q.lang.htmlCode)"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) · \(t("title", q))</title><link rel="stylesheet" href="/style.css"></head>
            <body><header><nav class="main"><a href="\(HTML.escape(link("/", q)))">\(t("overview", q))</a>
            <a href="\(HTML.escape(link("/issues", q)))">\(t("issues", q))</a>
            <a href="\(HTML.escape(link("/board", q)))">\(t("board", q))</a></nav>
            <nav class="langs">\(langs)</nav></header>
            <main>\(body)</main></body></html>
            """
    }

    func errorPage(_ error: PageError, lang: DashboardText.Lang) -> Page {
        let q = Query(lang: lang, area: nil, from: "", to: "", today: "", parameters: ["lang": lang.rawValue])
        switch error {
        case .badRequest(let what):
            return Page(status: 400, html: layout("400", q, path: "/", body: "<h1>400</h1><p class=\"error\">\(HTML.escape(what))</p>"))
        case .notFound(let what):
            return Page(
                status: 404,
                html: layout("404", q, path: "/", body: "<h1>\(t("not_found", q))</h1><p class=\"error\">\(HTML.escape(what))</p>"))
        }
    }

    static func percent(_ r: Double?) -> String { r.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }

    /// The area's ancestors from the device's scope down, as links.
    func breadcrumb(_ q: Query, names: AreaNames, path: String) -> String {
        guard let area = q.area else { return "" }
        let segments = area.split(separator: "/")
        let top = scopes.map { $0.split(separator: "/").count }.min() ?? 1
        let crumbs = (max(1, min(top, segments.count))...segments.count).map { n -> String in
            let p = segments.prefix(n).joined(separator: "/")
            let name = HTML.escape(names.name(p, tibetan: q.lang == .bo))
            return n == segments.count ? "<span>\(name)</span>" : "<a href=\"\(HTML.escape(link(path, q, [("area", p)])))\">\(name)</a>"
        }
        return "<p class=\"crumbs\">" + crumbs.joined(separator: " › ") + "</p>"
    }

    // MARK: - Overview

    func overview(_ parameters: [String: String]) -> Page {
        let q: Query
        do { q = try query(parameters) } catch { return errorPage(error, lang: language(parameters)) }
        do {
            let r = try report(q)
            let names = try replica.areaNames()
            let level = AreaLevel.below(q.area)
            let children = level.map { l in l == .township ? r.townships : l == .village ? r.villages : r.grids } ?? []
            let open = r.byTier.reduce(0) { $0 + $1.open }
            var body = "<h1>\(HTML.escape(r.total.name == "*" ? t("title", q) : r.total.name))</h1>"
            body += breadcrumb(q, names: names, path: "/")
            body += """
                <form class="period" method="get" action="/"><input type="hidden" name="lang" value="\(q.lang.rawValue)">
                <input type="hidden" name="area" value="\(HTML.escape(q.area ?? ""))">
                <label>\(t("period", q)) <input type="date" name="from" value="\(q.from)"> – <input type="date" name="to" value="\(q.to)"></label>
                <button type="submit">\(t("filter", q))</button></form>
                <section class="cards">
                <div class="card"><h2>\(t("closure_rate", q))</h2><p class="big" data-figure="total-rate">\(Self.percent(r.total.rate))</p>
                <p><span data-figure="total-closed">\(r.total.closed)</span> / <span data-figure="total-reported">\(r.total.reported)</span></p></div>
                <div class="card"><h2>\(t("open", q))</h2><p class="big" data-figure="open">\(open)</p></div>
                <div class="card"><h2><a href="\(HTML.escape(link("/issues", q, [("overdue", "1")])))">\(t("overdue", q))</a></h2><p class="big" data-figure="overdue">\(r.overdue.count)</p></div>
                <div class="card"><h2>\(t("satisfaction", q))</h2><p class="big" data-figure="satisfied-rate">\(Self.percent(r.satisfaction.satisfiedRate))</p>
                <p>\(t("coverage", q)) <span data-figure="coverage">\(Self.percent(r.satisfaction.coverage))</span></p></div>
                <div class="card"><h2>\(t("within_tier", q))</h2><p class="big" data-figure="within-tier">\(Self.percent(r.withinTier.first { $0.tier == "*" }?.rate))</p></div>
                <div class="card"><h2>\(t("median_resolve", q))</h2><p class="big" data-figure="median-resolve">\(r.toResolved.medianHours.map { String(format: "%.1f", $0 / 24) } ?? "-")</p><p>\(t("days", q))</p></div>
                </section>
                """
            if !children.isEmpty {
                body += "<section><h2>\(t("by_area", q))</h2>"
                body += Charts.bars(
                    children.map { c in (names.name(c.area, tibetan: q.lang == .bo), c.rate, link("/", q, [("area", c.area)])) },
                    title: t("closure_rate", q))
                body +=
                    "<table class=\"areas\"><thead><tr><th>\(t("area", q))</th><th>\(t("reported", q))</th><th>\(t("closed", q))</th><th>\(t("rate", q))</th><th>\(t("overdue", q))</th></tr></thead><tbody>"
                for c in children {
                    body += """
                        <tr data-area="\(HTML.escape(c.area))"><td><a href="\(HTML.escape(link("/", q, [("area", c.area)])))">\(HTML.escape(names.name(c.area, tibetan: q.lang == .bo)))</a></td>\
                        <td data-figure="reported">\(c.reported)</td><td data-figure="closed">\(c.closed)</td><td data-figure="rate">\(Self.percent(c.rate))</td>\
                        <td data-figure="overdue"><a href="\(HTML.escape(link("/issues", q, [("area", c.area), ("overdue", "1")])))">\(c.overdue)</a></td></tr>
                        """
                }
                body += "</tbody></table></section>"
            }
            body += "<section><h2>\(t("trend", q))</h2>"
            body += Charts.trend(r.months.map { ($0.month, $0.reported, $0.closed) }, title: t("trend", q))
            body +=
                "<table class=\"months\"><thead><tr><th>\(t("month", q))</th><th>\(t("reported", q))</th><th>\(t("closed", q))</th><th>\(t("rate", q))</th></tr></thead><tbody>"
            for m in r.months {
                body +=
                    "<tr data-month=\"\(m.month)\"><td>\(m.month)</td><td data-figure=\"reported\">\(m.reported)</td><td data-figure=\"closed\">\(m.closed)</td><td>\(Self.percent(m.rate))</td></tr>"
            }
            body += "</tbody></table></section>"
            if let listing = devices() {
                let d = DeviceOversight(listing, area: q.area, staleDays: 3, nowMillis: Int64(Date().timeIntervalSince1970 * 1000))
                body +=
                    "<section><h2>\(t("stale_devices", q))</h2><p><span data-figure=\"stale-devices\">\(d.stale.count)</span> / \(d.listed)</p>"
                if !d.stale.isEmpty {
                    body +=
                        "<table class=\"devices\"><thead><tr><th>\(t("who", q))</th><th>\(t("role", q))</th><th>\(t("last_sync", q))</th><th>\(t("receipt", q))</th></tr></thead><tbody>"
                    for s in d.stale {
                        let last = s.lastSyncMillis.map { Output.time(UInt64($0)) } ?? t("never", q)
                        body +=
                            "<tr data-device=\"\(HTML.escape(s.id))\"><td>\(HTML.escape(s.name ?? "-"))</td><td>\(HTML.escape(s.role))</td><td>\(last)</td><td>\(s.acknowledged)</td></tr>"
                    }
                    body += "</tbody></table>"
                }
                body += "</section>"
            }
            body +=
                "<section><h2>\(t("tier", q))</h2><table class=\"tiers\"><thead><tr><th></th><th>\(t("reported", q))</th><th>\(t("closed", q))</th><th>\(t("rate", q))</th><th>\(t("open", q))</th></tr></thead><tbody>"
            for b in r.byTier {
                body +=
                    "<tr data-tier=\"\(b.key)\"><td><a href=\"\(HTML.escape(link("/issues", q, [("tier", b.key)])))\">\(term(.tier, b.key, q))</a></td><td data-figure=\"reported\">\(b.reported)</td><td data-figure=\"closed\">\(b.closed)</td><td>\(Self.percent(b.rate))</td><td>\(b.open)</td></tr>"
            }
            body += "</tbody></table></section>"
            return Page(html: layout(r.total.name == "*" ? t("overview", q) : r.total.name, q, path: "/", body: body))
        } catch {
            return Page(
                status: 500, html: layout("500", q, path: "/", body: "<p class=\"error\">\(HTML.escape(String(describing: error)))</p>"))
        }
    }

    func language(_ parameters: [String: String]) -> DashboardText.Lang {
        parameters["lang"].flatMap(DashboardText.Lang.init(rawValue:)) ?? defaultLanguage
    }
}
