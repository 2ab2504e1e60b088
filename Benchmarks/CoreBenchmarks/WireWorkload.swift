import Foundation
import SyncCore

/// The wire-size workload (BENCHMARKS.md, "Bytes on the wire"): one device's replica of a county's
/// issues, synced the way `gridsync sync` sends it, against the same data as compact JSON lines
/// compressed with zlib.
///
/// - 20 grids; 2,000 households (door plate, head's name in Chinese and Tibetan, members);
/// - `issues` issues, each with a kind, a tier, a Chinese title, a description in Chinese and
///   Tibetan, a household of its grid, one photo (its SHA-256 and size), and a status reached through its
///   events (reported; some dispatched, accepted, resolved), reported minutes to hours apart;
/// - then `edits` edits, a fifth each of: status (the next lifecycle event), tier (an escalation),
///   title, note (a visit with a note) and photo (another photo attached).
struct WireWorkload {
    let replica: Replica
    let clock: ManualWallClock
    var rng: SeededGenerator
    var issueIDs: [String] = []
    var households: [[String]] = []  // per grid
    /// The baseline's records: every field's current value, by record id, in order of first write.
    var records: [String: [String: Any]] = [:]
    var order: [String] = []
    /// The delta's baseline: per edit, the record's id, the fields it changed and its new time.
    var editLines: [[String: Any]] = []

    static let grids = (0..<20).map { "xizang/lhasa/maizhokunggar/t\($0 / 10 + 1)/v\($0 / 2 % 5 + 1)/g\($0 % 2 + 1)" }
    static let problems = [
        "草场使用权纠纷", "邻里纠纷", "电瓶车入户充电", "消防隐患", "配电室线路老化", "乱倒垃圾", "饮水管道冻裂", "牲畜损害赔偿",
        "独居老人需要上门理发", "门牌号混乱", "流浪狗伤人", "取暖炉烟囱未装", "围栏被毁", "低保申请", "子女上学困难",
    ]
    static let details = [
        "双方对冬季牧场边界有争议", "楼道内有电瓶车飞线充电", "灭火器已过期", "群众反映多次未解决", "需要乡镇协调处理",
        "已现场核实情况属实", "涉及三户牧民", "房屋墙体出现裂缝", "夜间噪音影响休息", "请求帮助办理证件",
    ]
    static let tibetan = [
        "ཞིང་ཁའི་ས་མཚམས་ཀྱི་རྩོད་གཞི།", "མེ་སྐྱོན་ཉེན་ཁ།", "རྒན་པ་གཅིག་པུར་སྡོད་མཁན།", "ས་ཁོངས་ཞིབ་བཤེར།", "རྩྭ་ཐང་བེད་སྤྱོད་དབང་ཆ།",
        "ཁྱིམ་མཚེས་བར་གྱི་རྩོད་གཞི།", "ཆུ་ལམ་འཁྱགས་ནས་ཆག་འདུག", "ཕྱུགས་ཟོག་གིས་གནོད་སྐྱོན་བཏང་།",
    ]
    static let names = ["扎西", "次仁", "多吉", "卓玛", "白玛", "罗布", "达瓦", "边巴", "索朗", "拉姆", "央金", "格桑"]
    static let namesBo = ["བཀྲ་ཤིས།", "ཚེ་རིང་།", "རྡོ་རྗེ།", "སྒྲོལ་མ།", "པདྨ།", "ནོར་བུ།", "ཟླ་བ།", "སྤེན་པ།"]

    init(folder: URL, seed: UInt64) throws {
        clock = ManualWallClock(millis: 1_767_225_600_000)  // 2026-01-01 00:00 UTC
        var config = Replica.Configuration()
        config.durable = false
        config.wallClock = clock
        replica = try Replica(path: folder.appendingPathComponent("wire-\(seed).sqlite").path, configuration: config)
        rng = SeededGenerator(seed: seed)
    }

    mutating func pick<T>(_ a: [T]) -> T { a[Int.random(in: 0..<a.count, using: &rng)] }
    /// Moves the clock on by a time in `range` minutes, to the millisecond (as real clocks read).
    mutating func minutes(_ range: ClosedRange<Int64>) {
        clock.advance(by: Int64.random(in: range.lowerBound * 60_000...range.upperBound * 60_000, using: &rng))
    }
    mutating func photoHash() -> String { Hex.string((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }) }

    mutating func record(_ id: String, _ fields: [String: Any]) {
        if records[id] == nil { order.append(id) }
        records[id, default: ["id": id]].merge(fields) { $1 }
        records[id]!["updated"] = clock.nowMillis()
    }

    /// Writes the households and issues.
    mutating func build(issues: Int) throws {
        for (g, grid) in Self.grids.enumerated() {
            var ids: [String] = []
            for n in 0..<100 {
                let plate = "\(g + 1)组\(n + 1)号", zh = pick(Self.names), bo = pick(Self.namesBo)
                let members = Int.random(in: 1...9, using: &rng)
                let id = try replica.addHousehold(
                    grid: grid, HouseholdFields(doorPlate: plate, headNameZh: zh, headNameBo: bo, members: members))
                record(id, ["grid": grid, "door_plate": plate, "head_name_zh": zh, "head_name_bo": bo, "members": members])
                ids.append(id)
                minutes(0...3)
            }
            households.append(ids)
        }
        for n in 0..<issues {
            minutes(1...120)
            let g = Int.random(in: 0..<Self.grids.count, using: &rng)
            let problem = pick(Self.problems), detail = pick(Self.details)
            let title = "\(problem)（\(g % 2 + 1)组）"
            let description = "\(pick(households[g]).prefix(0))\(problem)，\(detail)。\(pick(Self.tibetan)) \(pick(Self.tibetan)) 编号\(n + 1)"
            let kind = pick(IssueKind.allCases)
            let tier: IssueTier = n % 10 < 7 ? .small : n % 10 < 9 ? .medium : .large
            let household = pick(households[g])
            let reporter = pick(Self.names)
            let id = try replica.reportIssue(
                IssueReport(
                    grid: Self.grids[g], kind: kind, tier: tier, title: title, description: description, householdID: household,
                    reporter: reporter))
            let photo = photoHash()
            let photoBytes = Int.random(in: 150_000...400_000, using: &rng)
            try replica.attachPhoto(to: .issue, id: id, sha256: photo, byteCount: photoBytes)
            var status = "reported"
            for (step, share) in [(IssueEventKind.dispatched, 6), (.accepted, 5), (.resolved, 3)] where n % 10 < share {
                minutes(5...240)
                try replica.appendEvent(issueID: id, kind: step, actor: reporter)
                status = step.rawValue
            }
            record(
                id,
                [
                    "grid": Self.grids[g], "kind": kind.rawValue, "tier": tier.rawValue, "title": title, "description": description,
                    "household": household, "reporter": reporter, "photo": photo, "photo_bytes": photoBytes, "status": status,
                ])
            issueIDs.append(id)
        }
    }

    /// Applies `count` edits, a fifth of each kind, to issues spread over the register.
    mutating func edit(count: Int) throws {
        for n in 0..<count {
            minutes(1...30)
            let id = issueIDs[(n * 7919) % issueIDs.count]
            let (status, tier) = try state(id)
            var changed: [String: Any] = [:]
            switch n % 5 {
            case 0:
                let next: IssueEventKind =
                    switch status {
                    case .reported: .dispatched
                    case .dispatched: .accepted
                    case .accepted, .reopened: .resolved
                    case .resolved: .closed
                    default: .reopened
                    }
                try replica.appendEvent(issueID: id, kind: next, actor: pick(Self.names))
                changed["status"] = try state(id).0.rawValue
            case 1:
                if tier == .large {
                    try replica.appendEvent(issueID: id, kind: .deescalated, actor: pick(Self.names), tier: .medium)
                } else {
                    try replica.appendEvent(issueID: id, kind: .escalated, actor: pick(Self.names), tier: tier == .small ? .medium : .large)
                }
                changed["tier"] = try state(id).1.rawValue
            case 2:
                let title = "\(pick(Self.problems))（已回访 \(n)）"
                try replica.editIssue(id, IssueFields(title: title))
                changed["title"] = title
            case 3:
                let note = "\(pick(Self.details))。\(pick(Self.tibetan))"
                if status == .closed { try replica.appendEvent(issueID: id, kind: .reopened, actor: pick(Self.names)) }
                try replica.appendEvent(issueID: id, kind: .visit, actor: pick(Self.names), note: note)
                changed["note"] = note
            default:
                let photo = photoHash()
                let photoBytes = Int.random(in: 150_000...400_000, using: &rng)
                try replica.attachPhoto(to: .issue, id: id, sha256: photo, byteCount: photoBytes)
                changed["photo"] = photo
                changed["photo_bytes"] = photoBytes
            }
            record(id, changed)
            changed["id"] = id
            changed["updated"] = clock.nowMillis()
            editLines.append(changed)
        }
    }

    func state(_ id: String) throws -> (IssueStatus, IssueTier) {
        let issue = try replica.issueDetail(id)!.issue
        return (issue.status, issue.tier)
    }

    /// The request bodies a device sends to push what a server that speaks changeset format
    /// `format` has not acknowledged yet, batched as `gridsync sync` batches them.
    /// Also returns the time spent encoding the requests and decoding them again, in seconds.
    func requestBodies(format: UInt8) throws -> (bodies: [Int], changes: Int, rows: Int, encodeSeconds: Double, decodeSeconds: Double) {
        let peer = "server-reading-format-\(format)"
        let session = SyncSession(replica: replica, peer: peer)
        var bodies: [Int] = []
        var changes = 0
        var rows = 0
        var (encoding, decoding) = (Duration.zero, Duration.zero)
        while true {
            let request = try session.nextRequest()
            if request.changes.isEmpty { break }
            let start = ContinuousClock.now
            let body = SyncMessageCoding.encode(request, changesetFormat: format)
            let encoded = ContinuousClock.now
            let decoded = try SyncMessageCoding.decodeRequest(body)
            decoding += ContinuousClock.now - encoded
            encoding += encoded - start
            precondition(decoded.changes == ChangesetEncoding.canonical(request.changes), "format \(format) does not round-trip")
            bodies.append(body.count)
            changes += request.changes.changeCount
            rows += request.changes.rows.count
            _ = try session.handle(
                SyncResponse(
                    serverTimeMillis: clock.nowMillis(), receipt: request.pushThrough, cursor: 0, hasMore: false, rejections: [],
                    changes: Changeset()), wallMillis: clock.nowMillis())
        }
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        return (bodies, changes, rows, seconds(encoding), seconds(decoding))
    }

    /// The baseline: one compact JSON object per line.
    static func jsonLines(_ objects: [[String: Any]]) -> [UInt8] {
        var out: [UInt8] = []
        for o in objects {
            out += try! JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])
            out.append(10)
        }
        return out
    }
}

/// A small deterministic generator (SplitMix64), so every run measures the same workload.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
