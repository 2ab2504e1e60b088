import ArgumentParser
import Foundation
import SyncCore

/// A failure shown to the person at the terminal: a stable code, a one-line message in their
/// language, and the exit status (the BSD `sysexits` values).
package struct Failure: Error, CustomStringConvertible {
    /// Exit statuses, one per kind of failure.
    package enum Status: Int32 {
        /// The command line was not understood: an unknown command or option, a missing argument.
        case usage = 64
        /// The input was refused: bad values, an unknown record, a step the lifecycle does not allow.
        case badInput = 65
        /// The server could not be reached, even after retries.
        case unavailable = 69
        /// A fault inside the tool or the server.
        case software = 70
        /// A local file could not be read or written, or the replica is damaged.
        case io = 74
        /// The server no longer speaks this tool's protocol: update the tool (recording still works).
        case upgradeNeeded = 76
        /// The server refused this device: unknown or revoked credential, refused enrollment code.
        case refused = 77
        /// The device is not set up (run `gridsync init`), or its setup is broken.
        case config = 78
    }

    package let code: String
    package let message: String
    package let status: Status

    package init(_ code: String, _ message: String, status: Status) {
        self.code = code
        self.message = message
        self.status = status
    }

    package var description: String { message }

    /// The engine's errors, mapped once here.
    init(_ error: SyncCoreError) {
        switch error {
        case let .notFound(kind, id):
            self.init(error.code, tr("error.not_found", Self.kindName(kind), id), status: .badInput)
        case let .deleted(kind, id):
            self.init(error.code, tr("error.deleted", Self.kindName(kind), id), status: .badInput)
        case let .lifecycle(refusal):
            self.init(error.code, Self.lifecycleText(refusal), status: .badInput)
        case let .input(refusal):
            self.init(error.code, Self.inputText(refusal), status: .badInput)
        case .invalidInput, .clock:
            self.init(error.code, error.description, status: .badInput)
        case .damagedReplica, .database:
            self.init(error.code, error.description, status: .io)
        }
    }

    /// The name of a kind of record the engine names in English (`issue`, `area`…) in the user's language.
    static func kindName(_ kind: String) -> String {
        let table = ["household": "households", "issue": "issues", "event": "issue_events", "photo": "photo_refs", "conflict": "conflicts"]
        if let t = table[kind] { return Terms.recordName(t, Language.current.rawValue) }
        return kind == "area" ? tr("report.area") : kind
    }

    /// A lifecycle refusal in the user's language, statuses, tiers and events named by their terms.
    static func lifecycleText(_ refusal: LifecycleRefusal) -> String {
        func t(_ group: Terms.Group, _ key: String) -> String { Terms.term(group, key) }
        switch refusal {
        case .reportedOnce: return tr("lifecycle.reported_once")
        case let .escalationNeedsHigherTier(tier): return tr("lifecycle.escalation_needs_higher", t(.tier, tier.rawValue))
        case let .deescalationNeedsLowerTier(tier): return tr("lifecycle.deescalation_needs_lower", t(.tier, tier.rawValue))
        case let .reopenNeedsDone(status): return tr("lifecycle.reopen_needs_done", t(.status, status.rawValue))
        case .closedReopenFirst: return tr("lifecycle.closed_reopen_first")
        case .followUpNeedsSatisfaction: return tr("lifecycle.follow_up_needs_satisfaction")
        case let .wouldMoveBack(status, event):
            return tr("lifecycle.would_move_back", t(.status, status.rawValue), t(.event, event.rawValue))
        case let .needsResolved(event, status):
            return tr("lifecycle.needs_resolved", t(.event, event.rawValue), t(.status, status.rawValue))
        case let .publishNeedsClosed(status): return tr("lifecycle.publish_needs_closed", t(.status, status.rawValue))
        }
    }

    /// An input refusal in the user's language, the field named as the form names it.
    static func inputText(_ refusal: InputRefusal) -> String {
        func field(_ f: InputField) -> String { tr("field." + f.rawValue) }
        switch refusal {
        case let .empty(f): return tr("input.empty", field(f))
        case let .tooLong(f, max): return tr("input.too_long", field(f), String(max))
        case let .controlCharacter(f, v): return tr("input.control_character", field(f), String(v, radix: 16, uppercase: true))
        case let .notADate(f, text): return tr("input.not_a_date", field(f), text.debugDescription)
        case let .phone(text): return tr("input.phone", text.debugDescription)
        case let .tagWithComma(tag): return tr("input.tag_with_comma", tag.debugDescription)
        case let .photoHash(text): return tr("input.photo_hash", text.debugDescription)
        case let .members(n): return tr("input.members", String(n))
        case let .satisfaction(n): return tr("input.satisfaction", String(n))
        case .householdNeedsPlateOrHead: return tr("input.household_needs_plate_or_head")
        case let .alreadyExists(kind, id): return tr("input.already_exists", kindName(kind), id)
        case .idLength: return tr("input.id_length")
        case let .idTooShort(prefix, minimum): return tr("input.id_too_short", String(minimum), prefix)
        case let .ambiguousID(prefix, ids):
            return tr("input.ambiguous_id", prefix, ids.prefix(5).joined(separator: ", ") + (ids.count > 5 ? ", …" : ""))
        case let .householdInOtherGrid(household, grid, issueGrid):
            return tr("input.household_in_other_grid", household, grid, issueGrid)
        case let .searchTooLong(max): return tr("input.search_too_long", String(max))
        case .emptyPeriod: return tr("input.empty_period")
        case let .areaPath(path): return tr("input.area_path", path.debugDescription)
        }
    }

    /// Any error, as a failure.
    package static func from(_ error: any Error) -> Failure {
        switch error {
        case let f as Failure: return f
        case let e as SyncCoreError: return Failure(e)
        case let e as CocoaError: return Failure("io", e.localizedDescription, status: .io)
        default: return Failure("internal", String(describing: error), status: .software)
        }
    }
}

/// A command that works on the device: it reports every failure as one line and an exit status.
package protocol DeviceCommand: AsyncParsableCommand {
    var common: CommonOptions { get }
    func execute() async throws
}

extension DeviceCommand {
    package mutating func run() async throws {
        if let lang = common.lang { Language.current = lang }
        do {
            try await execute()
        } catch let error as ExitCode {
            throw error
        } catch {
            throw ExitCode(Launch.report(Failure.from(error)))
        }
    }
}
