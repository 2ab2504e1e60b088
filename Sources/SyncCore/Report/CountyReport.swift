import Foundation

/// Closure figures of one area (a township, village or grid, or the report's whole area).
public struct AreaFigures: Codable, Equatable, Sendable {
    public var area: String
    /// How a person reads it (扎西岗乡 / 3村 / 2网格), from the area tree's names.
    public var name: String
    /// Issues reported in the period, and how many of them are closed now.
    public var reported = 0
    public var closed = 0
    /// closed ÷ reported (办结率), nil when nothing was reported.
    public var rate: Double?
    /// Issues overdue now (due before the report's day, not resolved), whenever reported.
    public var overdue = 0
}

/// Closure figures of one value of a breakdown: a tier, a kind, a handler or a worker.
public struct BreakdownFigures: Codable, Equatable, Sendable {
    public var key: String
    public var reported = 0
    public var closed = 0
    public var rate: Double?
    /// Of those, not yet resolved.
    public var open = 0
}

/// Where issues ended compared with where they started (小事不出村、中事不出乡、大事不出县).
public struct TierHandling: Codable, Equatable, Sendable {
    /// The tier the issues were reported at, or `*` for all of them.
    public var tier: String
    /// Issues of the period that are resolved (or further), and how many of them at the tier
    /// they were reported at.
    public var resolved = 0
    public var withinTier = 0
    public var rate: Double?
}

/// Follow-up visits (回访) and residents' satisfaction for the issues of the period.
public struct SatisfactionFigures: Codable, Equatable, Sendable {
    /// Issues resolved (or further), and how many of them had at least one follow-up visit.
    public var resolved = 0
    public var followedUp = 0
    /// followedUp ÷ resolved (回访率).
    public var coverage: Double?
    /// Follow-up visits that recorded a satisfaction, by satisfaction 1-5.
    public var visits = 0
    public var bySatisfaction = [0, 0, 0, 0, 0]
    /// Visits with satisfaction 4 or 5, as a share of visits (满意率).
    public var satisfiedRate: Double?
    public var average: Double?
}

/// A distribution of durations in hours: nearest-rank median and 90th percentile.
public struct DurationFigures: Codable, Equatable, Sendable {
    public var count = 0
    public var medianHours: Double?
    public var p90Hours: Double?
}

/// One age band of overdue issues, by whole days past the due date.
public struct AgeBand: Codable, Equatable, Sendable {
    /// `1-7`, `8-30`, `31-90`, `91+`.
    public var band: String
    public var count = 0
}

/// An issue past its due date and not yet resolved.
public struct OverdueIssue: Codable, Equatable, Sendable {
    public var id: String
    public var grid: String
    public var name: String
    public var title: String
    public var tier: IssueTier
    public var status: IssueStatus
    public var dueDate: String
    /// Whole days between the due date and the report's day.
    public var daysOverdue: Int
    public var handler: String?
}

/// An escalation or de-escalation of the period.
public struct TierChange: Codable, Equatable, Sendable {
    public var issueID: String
    public var title: String
    public var grid: String
    public var name: String
    public var kind: IssueEventKind
    /// The tier before the event, as the issue's events replay in time order, and the tier it names.
    public var fromTier: IssueTier
    public var toTier: IssueTier
    /// Wall-clock milliseconds.
    public var atMillis: UInt64
    public var actor: String?
    public var note: String?
}

/// Issues reported in one month of the period and how many of them are closed now.
public struct MonthFigures: Codable, Equatable, Sendable {
    /// `YYYY-MM`, in the report's time zone.
    public var month: String
    public var reported = 0
    public var closed = 0
    public var rate: Double?
}

/// What the county center reports on a period and an area (PRODUCT.md, "What a county center
/// reports"). The issues counted are those under the area whose `reported` event falls in the
/// period; "closed" means closed now. Overdue issues are counted whenever they were reported.
public struct CountyReport: Codable, Equatable, Sendable {
    /// The period, as wall-clock milliseconds: `[fromMillis, toMillis)`.
    public var fromMillis: UInt64
    public var toMillis: UInt64
    /// The day overdue is judged on (`YYYY-MM-DD`).
    public var today: String
    public var total: AreaFigures
    public var townships: [AreaFigures] = []
    public var villages: [AreaFigures] = []
    public var grids: [AreaFigures] = []
    /// Handled within tier: all issues first, then by the tier they were reported at.
    public var withinTier: [TierHandling] = []
    /// By the tier the issues stand at now.
    public var byTier: [BreakdownFigures] = []
    public var byKind: [BreakdownFigures] = []
    /// By the person handling the issue (`-` for none).
    public var byHandler: [BreakdownFigures] = []
    /// By the grid worker who reported it.
    public var byWorker: [BreakdownFigures] = []
    public var satisfaction = SatisfactionFigures()
    /// From the `reported` event to the last `resolved` event (issues resolved or further), and to
    /// the last `closed` event (closed issues).
    public var toResolved = DurationFigures()
    public var toClosed = DurationFigures()
    public var overdue: [OverdueIssue] = []
    public var overdueByTier: [String: Int] = [:]
    public var overdueByAge: [AgeBand] = []
    public var tierChanges: [TierChange] = []
    public var months: [MonthFigures] = []
    /// Devices under the area that have not synced lately, from the server's last listing (nil:
    /// this device has none; only county and township devices receive one).
    public var devices: DeviceOversight?
}

/// Devices that have not synced for `staleDays` days before `asOfMillis`, or never did.
public struct DeviceOversight: Codable, Equatable, Sendable {
    /// When the server listed them (the listing is as fresh as this device's last sync).
    public var listedMillis: Int64
    public var asOfMillis: Int64
    public var staleDays: Int
    /// Devices listed under the area (revoked ones left out), and those of them not synced lately.
    public var listed: Int
    public var stale: [DeviceSeen]

    /// The devices of `listing` under `area` (all when nil) that are stale at `nowMillis`, oldest
    /// sync first.
    public init(_ listing: DeviceListing, area: String?, staleDays: Int, nowMillis: Int64) {
        let scope = area.flatMap { try? AreaPath($0) }
        let under = listing.devices.filter { d in
            !d.revoked && (scope.map { s in d.scopes.contains { AreaPath.isInScopes($0, [s]) } } ?? true)
        }
        listedMillis = listing.serverMillis
        asOfMillis = nowMillis
        self.staleDays = staleDays
        listed = under.count
        stale = under.filter { $0.isStale(days: staleDays, nowMillis: nowMillis) }
            .sorted { ($0.lastSyncMillis ?? 0, $0.name ?? "", $0.id) < ($1.lastSyncMillis ?? 0, $1.name ?? "", $1.id) }
    }
}

/// The report's arithmetic on loaded rows (`Replica.countyReport` loads them).
enum ReportMath {
    static func rate(_ part: Int, _ whole: Int) -> Double? { whole == 0 ? nil : Double(part) / Double(whole) }

    /// The nearest-rank `q` quantile of sorted `values`: the value at rank ⌈q × n⌉.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = max(1, Int((q * Double(sorted.count)).rounded(.up)))
        return sorted[min(sorted.count, rank) - 1]
    }

    static func durations(_ hours: [Double]) -> DurationFigures {
        let sorted = hours.sorted()
        return DurationFigures(count: sorted.count, medianHours: quantile(sorted, 0.5), p90Hours: quantile(sorted, 0.9))
    }

    static let ageBands: [(String, ClosedRange<Int>)] = [("1-7", 1...7), ("8-30", 8...30), ("31-90", 31...90), ("91+", 91...Int.max)]

    /// Whole days from `from` to `to` (both `YYYY-MM-DD`), nil when either is not a date.
    static func days(from: String, to: String) -> Int? {
        guard let a = CalendarDate.dayNumber(from), let b = CalendarDate.dayNumber(to) else { return nil }
        return b - a
    }

    /// `YYYY-MM` of a `monthKey`.
    static func monthText(_ key: Int) -> String { String(format: "%04d-%02d", key / 100, key % 100) }

    /// The month of wall-clock `millis` shifted by `offsetSeconds`, as year × 100 + month (a
    /// number: formatting text for each of thousands of issues costs more than the report).
    static func monthKey(_ millis: UInt64, offsetSeconds: Int) -> Int {
        let date = CalendarDate.civil(dayNumber: Int((Int64(millis / 1000) + Int64(offsetSeconds)) / 86400))
        return date.year * 100 + date.month
    }
}
