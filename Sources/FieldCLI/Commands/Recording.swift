import ArgumentParser
import Foundation
import SyncCore

/// What every recording command needs: the device's setup and its replica.
package struct Recording {
    package let home: DeviceHome
    package let config: DeviceConfig
    package let replica: Replica

    package init(_ common: CommonOptions) throws {
        home = common.device
        config = try home.config()
        replica = try home.openReplica()
    }

    /// The grid a new record goes to: `--grid`, else the device's only scope. It must lie within
    /// the device's scopes, or the server would refuse it.
    package func grid(_ option: String?) throws -> String {
        guard let grid = option ?? (config.scopes.count == 1 ? config.scopes[0] : nil) else {
            throw Failure(
                "grid_needed",
                tr("recording.this_device_has_several_scopes"),
                status: .badInput)
        }
        let path = try AreaPath(grid)
        let scopes = try config.scopes.map { scope throws(SyncCoreError) in try AreaPath(scope) }
        guard AreaPath.isInScopes(path.string, scopes) else {
            throw Failure(
                "out_of_scope",
                tr("recording.grid_outside_this_device_s", grid, config.scopes.joined(separator: ", ")),
                status: .badInput)
        }
        return path.string
    }

    /// Who did it: the person this device is enrolled for. The server records events and reports
    /// under that name only (a device cannot speak for another person).
    package var author: String? { config.name }

    /// Refuses here, at once, what the server would refuse from this device's role.
    package func checkPermitted(event kind: IssueEventKind, issueTier: IssueTier?) throws {
        guard let role = DeviceRole(rawValue: config.role), WritePolicy.refusal(role: role, event: kind, issueTier: issueTier) != nil
        else { return }
        let language = Language.current.rawValue
        if kind == .closed, let tier = issueTier, let highest = WritePolicy.highestTierClosed(by: role), tier > highest {
            throw Failure(
                "not_permitted",
                tr(
                    "role.may_not_close", tr("role." + role.rawValue), Terms.term(.tier, tier.rawValue, language),
                    Terms.term(.tier, highest.rawValue, language)), status: .badInput)
        }
        throw Failure(
            "not_permitted", tr("role.may_not_record", tr("role." + role.rawValue), Terms.term(.event, kind.rawValue, language)),
            status: .badInput)
    }

    /// Refuses here what the server would refuse from this device's role in `table`.
    package func checkPermitted(table: SyncedTable) throws {
        guard let role = DeviceRole(rawValue: config.role) else { return }
        if WritePolicy.refusal(role: role, table: table.name) != nil {
            throw Failure(
                "not_permitted", tr(role == .operator ? "role.operator_writes_nothing" : "role.area_names_from_operator"), status: .badInput
            )
        }
    }

    package func id(_ prefix: String, _ table: SyncedTable) throws -> String { try replica.resolveID(prefix, in: table) }
}

/// A short form of an id for tables: its first 8 characters (commands accept any unique prefix).
package func short(_ id: String) -> String { String(id.prefix(8)) }

/// `YYYY-MM-DD` of today, in the local time zone.
package func today() -> String { day(Date()) }

/// `YYYY-MM-DD` of `date` in the local time zone.
package func day(_ date: Date) -> String { String(Output.time(UInt64(max(0, date.timeIntervalSince1970)) * 1000).prefix(10)) }

/// The local time zone's offset from UTC at `seconds` since 1970 (the C library's, read from
/// the system's zone file: no ICU to load in a process that lives 30 ms).
package func utcOffsetSeconds(at seconds: Int) -> Int {
    var t = time_t(seconds)
    var parts = tm()
    guard localtime_r(&t, &parts) != nil else { return 0 }
    return Int(parts.tm_gmtoff)
}

/// A report period from `from` to `to` (both days included, local time): wall-clock milliseconds
/// `[fromMillis, toMillis)` and the local time zone's offset at its start.
package func reportPeriod(from: String, to: String) throws -> (fromMillis: UInt64, toMillis: UInt64, utcOffsetSeconds: Int) {
    let start = try parseDay(from, option: "--from")
    guard let last = CalendarDate.dayNumber(to) else { throw ValidationError(tr("args.bad_date", "--to", to)) }
    let end = localMidnight(dayNumber: last + 1)
    let startSeconds = Int(start.timeIntervalSince1970)
    return (UInt64(max(0, startSeconds)) * 1000, UInt64(max(0, end)) * 1000, utcOffsetSeconds(at: startSeconds))
}

/// Parses `YYYY-MM-DD` (1970-9999) as the start of that day in the local time zone.
package func parseDay(_ text: String, option: String) throws -> Date {
    guard let n = CalendarDate.dayNumber(text) else { throw ValidationError(tr("args.bad_date", option, text)) }
    return Date(timeIntervalSince1970: TimeInterval(localMidnight(dayNumber: n)))
}

/// Seconds since 1970 of the start of day number `n` in the local time zone (`offsetAt` gives the
/// zone's offset at an instant): its UTC midnight less the offset there, the offset taken again
/// at that instant (a zone that moved its clocks in between). Where the clocks jump over midnight
/// (Santiago in September: 00:00 becomes 01:00), that lands in the day before, and the day begins
/// at the jump instead, as Foundation's formatters begin it.
package func localMidnight(dayNumber n: Int, offsetAt: (Int) -> Int = utcOffsetSeconds(at:)) -> Int {
    let utc = n * 86_400
    let guess = utc - offsetAt(utc)
    let start = utc - offsetAt(guess)
    let localDay = Int((Double(start + offsetAt(start)) / 86_400).rounded(.down))
    return localDay < n ? guess : start
}

extension IssueKind: ExpressibleByArgument {}
extension IssueChannel: ExpressibleByArgument {}
extension IssueTier: ExpressibleByArgument {}
extension IssueStatus: ExpressibleByArgument {}
