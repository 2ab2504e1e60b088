import FieldCLI
import Foundation
import SyncCore

extension DashboardPages {
    /// The issues under the area, filtered by status, tier, kind, overdue and handler, and found
    /// by text (Chinese or Tibetan) with `q`.
    func issueList(_ parameters: [String: String]) -> Page {
        let q: Query
        do { q = try query(parameters) } catch { return errorPage(error, lang: language(parameters)) }
        do {
            let names = try replica.areaNames()
            var filter = IssueFilter(area: q.area)
            filter.status = q.value("status").flatMap(IssueStatus.init(rawValue:))
            filter.tier = q.value("tier").flatMap(IssueTier.init(rawValue:))
            filter.kind = q.value("kind").flatMap(IssueKind.init(rawValue:))
            filter.handler = q.value("handler")
            if q.value("overdue") == "1" { filter.overdueOn = q.today }
            filter.text = q.value("q")
            filter.limit = 500
            let shown = try replica.issues(filter)
            let count = shown.count < filter.limit ? shown.count : try replica.issueCount(filter)
            func select(_ name: String, _ group: Terms.Group, _ values: [String]) -> String {
                "<label>\(t(name, q)) <select name=\"\(name)\"><option value=\"\">\(t("any", q))</option>"
                    + values.map { v in
                        "<option value=\"\(v)\"\(q.value(name) == v ? " selected" : "")>\(term(group, v, q))</option>"
                    }.joined() + "</select></label>"
            }
            var body = "<h1>\(t("issues", q))</h1>" + breadcrumb(q, names: names, path: "/issues")
            body += """
                <form class="filters" method="get" action="/issues"><input type="hidden" name="lang" value="\(q.lang.rawValue)">
                <input type="hidden" name="area" value="\(HTML.escape(q.area ?? ""))">
                \(select("status", .status, IssueStatus.allCases.map(\.rawValue)))
                \(select("tier", .tier, IssueTier.allCases.map(\.rawValue)))
                \(select("kind", .kind, IssueKind.allCases.map(\.rawValue)))
                <label>\(t("handler", q)) <input name="handler" value="\(HTML.escape(q.value("handler") ?? ""))"></label>
                <label><input type="checkbox" name="overdue" value="1"\(q.value("overdue") == "1" ? " checked" : "")> \(t("only_overdue", q))</label>
                <label>\(t("search", q)) <input type="search" name="q" value="\(HTML.escape(q.value("q") ?? ""))"></label>
                <button type="submit">\(t("filter", q))</button></form>
                <p class="count"><span data-figure="count">\(count)</span> · \(shown.count) \(t("shown", q))</p>
                <table class="issues"><thead><tr><th>\(t("title_col", q))</th><th>\(t("area", q))</th><th>\(t("kind", q))</th><th>\(t("tier", q))</th>
                <th>\(t("status", q))</th><th>\(t("due", q))</th><th>\(t("handler", q))</th></tr></thead><tbody>
                """
            for i in shown {
                let overdue = i.dueDate.map { $0 < q.today } == true && !i.status.isDone
                body += """
                    <tr data-issue="\(HTML.escape(i.id))"\(overdue ? " class=\"overdue\"" : "")><td><a href="\(HTML.escape(link("/issue/" + i.id, q)))">\(HTML.escape(i.title))</a></td>\
                    <td>\(HTML.escape(names.label(i.grid, tibetan: q.lang == .bo)))</td><td>\(term(.kind, i.kind.rawValue, q))</td><td>\(term(.tier, i.tier.rawValue, q))</td>\
                    <td>\(term(.status, i.status.rawValue, q))</td><td>\(HTML.escape(i.dueDate ?? ""))</td><td>\(HTML.escape(i.handler ?? ""))</td></tr>
                    """
            }
            body += "</tbody></table>"
            return Page(html: layout(t("issues", q), q, path: "/issues", body: body))
        } catch {
            return Page(
                status: 500,
                html: layout("500", q, path: "/issues", body: "<p class=\"error\">\(HTML.escape(String(describing: error)))</p>"))
        }
    }

    /// One issue: its fields, household, event timeline (who, when, what), photos and open conflicts.
    func issuePage(_ id: String, _ parameters: [String: String]) -> Page {
        var parameters = parameters
        parameters["area"] = nil
        let q: Query
        do { q = try query(parameters) } catch { return errorPage(error, lang: language(parameters)) }
        do {
            guard let detail = try replica.issueDetail(id), !detail.issue.deleted else { return errorPage(.notFound(id), lang: q.lang) }
            let i = detail.issue
            let names = try replica.areaNames()
            var body = "<h1>\(HTML.escape(i.title))</h1>"
            body += "<p class=\"crumbs\">\(HTML.escape(names.label(i.grid, tibetan: q.lang == .bo)))</p>"
            let tier =
                i.tier == i.reportedTier
                ? term(.tier, i.tier.rawValue, q) : "\(term(.tier, i.reportedTier.rawValue, q)) → \(term(.tier, i.tier.rawValue, q))"
            body += """
                <dl class="fields"><dt>\(t("status", q))</dt><dd data-figure="status">\(term(.status, i.status.rawValue, q))</dd>
                <dt>\(t("kind", q))</dt><dd>\(term(.kind, i.kind.rawValue, q))</dd><dt>\(t("tier", q))</dt><dd>\(tier)</dd>
                <dt>\(t("due", q))</dt><dd>\(HTML.escape(i.dueDate ?? "-"))</dd><dt>\(t("reporter", q))</dt><dd>\(HTML.escape(i.reporter ?? "-"))</dd>
                <dt>\(t("handler", q))</dt><dd>\(HTML.escape(i.handler ?? "-"))</dd></dl>
                """
            if let text = i.description { body += "<p class=\"description\">\(HTML.escape(text))</p>" }
            if let hid = i.householdID, let h = try replica.household(hid), !h.deleted {
                body += """
                    <section><h2>\(t("household", q))</h2><dl class="fields"><dt>\(t("door_plate", q))</dt><dd>\(HTML.escape(h.doorPlate ?? "-"))</dd>
                    <dt>\(t("household", q))</dt><dd>\(HTML.escape([h.headNameZh, h.headNameBo].compactMap { $0 }.joined(separator: " / ")))</dd>
                    <dt>\(t("members", q))</dt><dd>\(h.members.map(String.init) ?? "-")</dd><dt>\(t("phone", q))</dt><dd>\(HTML.escape(h.phone ?? "-"))</dd></dl></section>
                    """
            }
            body +=
                "<section><h2>\(t("timeline", q))</h2><table class=\"timeline\"><thead><tr><th>\(t("when", q))</th><th>\(t("who", q))</th><th>\(t("what", q))</th><th>\(t("note", q))</th></tr></thead><tbody>"
            for e in detail.events {
                var what = term(.event, e.kind.rawValue, q)
                if let tier = e.tier { what += " → " + term(.tier, tier.rawValue, q) }
                if let s = e.satisfaction { what += " · " + String(repeating: "★", count: s) }
                body +=
                    "<tr data-event=\"\(e.kind.rawValue)\"><td>\(Output.time(e.at.millis))</td><td>\(HTML.escape(e.actor ?? "-"))</td><td>\(what)</td><td>\(HTML.escape(e.note ?? ""))</td></tr>"
            }
            body += "</tbody></table></section>"
            body += "<section><h2>\(t("photos", q))</h2><div class=\"photos\">"
            for p in detail.photos {
                let caption = HTML.escape(p.caption ?? "")
                if blobs.contains(p.sha256) {
                    body +=
                        "<figure><a href=\"/photo/\(p.sha256)\"><img src=\"/photo/\(p.sha256)\" alt=\"\(caption)\" loading=\"lazy\"></a><figcaption>\(caption)</figcaption></figure>"
                } else {
                    body += "<figure class=\"missing\"><div>\(t("photo_missing", q))</div><figcaption>\(caption)</figcaption></figure>"
                }
            }
            if detail.photos.isEmpty { body += "<p>\(t("none", q))</p>" }
            body += "</div></section>"
            let conflicts = try replica.conflicts(rowID: i.id)
            body += "<section><h2>\(t("conflicts", q))</h2>"
            if conflicts.isEmpty {
                body += "<p>\(t("none", q))</p>"
            } else {
                body +=
                    "<table class=\"conflicts\"><thead><tr><th>\(t("column", q))</th><th>\(t("lost_value", q))</th><th>\(t("when", q))</th></tr></thead><tbody>"
                for c in conflicts {
                    body +=
                        "<tr><td>\(HTML.escape(c.column))</td><td>\(HTML.escape(c.lostValue ?? ""))</td><td>\(Output.time(c.lostAt.millis))</td></tr>"
                }
                body += "</tbody></table>"
            }
            body += "</section>"
            return Page(html: layout(i.title, q, path: "/issue/" + i.id, body: body))
        } catch {
            return Page(
                status: 500, html: layout("500", q, path: "/", body: "<p class=\"error\">\(HTML.escape(String(describing: error)))</p>"))
        }
    }

    /// The public results board (晒单): issues of the period closed now, with their resolution and
    /// the resident's satisfaction; residents' names and phone numbers masked. Printable.
    func board(_ parameters: [String: String]) -> Page {
        let q: Query
        do { q = try query(parameters) } catch { return errorPage(error, lang: language(parameters)) }
        do {
            let names = try replica.areaNames()
            let (start, end, _) = try reportPeriod(from: q.from, to: q.to)
            var filter = IssueFilter(status: .closed, area: q.area)
            filter.limit = Int.max
            var rows: [(issue: Issue, reported: UInt64, closed: UInt64, resolution: String?, satisfaction: Int?)] = []
            let closedIssues = try replica.issues(filter)
            // One read of the area's event log, not one per issue.
            let logs = closedIssues.isEmpty ? [:] : Dictionary(grouping: try replica.events(area: q.area), by: \.issueID)
            for i in closedIssues {
                let events = logs[i.id] ?? []
                // Only results published for the board (晒单), reported in the period.
                guard events.contains(where: { $0.kind == .published }),
                    let reported = events.first(where: { $0.kind == .reported })?.at.millis, reported >= start && reported < end
                else { continue }
                rows.append(
                    (
                        i, reported, events.last { $0.kind == .closed }?.at.millis ?? reported,
                        events.last { $0.kind == .resolved }?.note, events.last { $0.kind == .followUp }?.satisfaction
                    ))
            }
            rows.sort { ($0.closed, $0.issue.id) > ($1.closed, $1.issue.id) }
            // A notice board shows the latest results: at most 500 (a village's year fits).
            let total = rows.count
            rows = Array(rows.prefix(500))
            var body = "<h1>\(t("board", q))</h1>" + breadcrumb(q, names: names, path: "/board")
            body +=
                "<p class=\"intro\">\(t("board_intro", q)) · \(q.from) – \(q.to) · <span data-figure=\"count\">\(total)</span>\(total > rows.count ? " · \(rows.count) \(t("shown", q))" as String : "")</p>"
            body +=
                "<table class=\"board\"><thead><tr><th>\(t("title_col", q))</th><th>\(t("area", q))</th><th>\(t("kind", q))</th><th>\(t("resolution", q))</th><th>\(t("rating", q))</th><th>\(t("closed", q))</th></tr></thead><tbody>"
            for r in rows {
                // The resident's names, phone and door plate, looked up for the rows shown only.
                var mask: [String] = []
                if let hid = r.issue.householdID, let h = try replica.household(hid) {
                    mask = [h.headNameZh, h.headNameBo, h.phone, h.doorPlate].compactMap { $0 }.filter { !$0.isEmpty }
                }
                body += """
                    <tr data-issue="\(HTML.escape(r.issue.id))"><td>\(HTML.escape(Self.masked(r.issue.title, mask)))</td><td>\(HTML.escape(names.label(r.issue.grid, tibetan: q.lang == .bo)))</td>\
                    <td>\(term(.kind, r.issue.kind.rawValue, q))</td><td>\(HTML.escape(Self.masked(r.resolution ?? "", mask)))</td>\
                    <td>\(r.satisfaction.map { String(repeating: "★", count: $0) + String(repeating: "☆", count: 5 - $0) } ?? "-")</td><td>\(day(Date(timeIntervalSince1970: Double(r.closed) / 1000)))</td></tr>
                    """
            }
            body += "</tbody></table>"
            return Page(html: layout(t("board", q), q, path: "/board", body: body))
        } catch {
            return Page(
                status: 500,
                html: layout("500", q, path: "/board", body: "<p class=\"error\">\(HTML.escape(String(describing: error)))</p>"))
        }
    }

    /// `text` with each of `secrets` (a resident's names, phone, door plate) and any run of 7 or
    /// more digits (a phone number) masked: the first character kept, the rest as `*`.
    static func masked(_ text: String, _ secrets: [String]) -> String {
        var out = text
        for s in secrets.sorted(by: { $0.count > $1.count }) where s.count >= 1 {
            out = out.replacingOccurrences(of: s, with: String(s.prefix(1)) + String(repeating: "*", count: max(1, s.count - 1)))
        }
        var result = ""
        var digits = ""
        for ch in out + "\u{0}" {
            if ch.isASCII && ch.isNumber {
                digits.append(ch)
                continue
            }
            result += digits.count >= 7 ? String(repeating: "*", count: digits.count) : digits
            digits = ""
            if ch != "\u{0}" { result.append(ch) }
        }
        return result
    }
}
