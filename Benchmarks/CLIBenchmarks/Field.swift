import Foundation

/// A `gridsync-link` process; returns it, its port and the path of its figures.
@MainActor func startLink(_ args: [String]) -> (Process, Int, String) {
    let stats = folder.appendingPathComponent("link-\(UUID().uuidString.prefix(6)).json").path
    let p = Process()
    p.executableURL = binaries.appendingPathComponent("gridsync-link")
    p.arguments = ["--to", "localhost:\(port)", "--stats", stats] + args
    let out = Pipe()
    p.standardOutput = out
    try! p.run()
    var line = Data()
    while !line.contains(UInt8(ascii: "\n")) {
        let more = out.fileHandleForReading.availableData
        if more.isEmpty { break }
        line += more
    }
    let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return (p, Int(text.split(separator: ":").last ?? "0") ?? 0, stats)
}

@MainActor func linkStats(_ path: String) -> (up: Int, down: Int, cuts: Int) {
    let o = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))) as? [String: Any] ?? [:]
    return (o["bytesUp"] as? Int ?? 0, o["bytesDown"] as? Int ?? 0, o["cuts"] as? Int ?? 0)
}

@MainActor func photo(_ name: String, size: Int, seed: UInt64) -> String {
    var x = seed | 1
    var bytes = [UInt8](repeating: 0, count: size)
    for i in bytes.indices {
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        bytes[i] = UInt8(truncatingIfNeeded: x)
    }
    // A JPEG's first bytes (start of image, JFIF segment): `photo attach` checks the signature.
    bytes.replaceSubrange(0..<min(4, bytes.count), with: [0xFF, 0xD8, 0xFF, 0xE0].prefix(bytes.count))
    let url = folder.appendingPathComponent(name)
    try! Data(bytes).write(to: url)
    return url.path
}

/// Records a worker's day on `home`: `records` households and issues with events, and `photos` photos.
@MainActor func workersDay(_ home: String, records: Int, photos: [Int]) {
    var issue = ""
    for n in 0..<records {
        if n % 3 == 0 {
            let r = run("gridsync", ["issue", "report", "--home", home, "--kind", "dispute", "--title", "草场使用权纠纷 \(n)", "--json"])
            issue = ((try? JSONSerialization.jsonObject(with: Data(r.output.utf8))) as? [String: Any])?["id"] as? String ?? ""
        } else if n % 3 == 1 {
            check(run("gridsync", ["issue", "visit", issue, "--home", home, "--note", "上门了解情况，双方各执一词 \(n)"]), "visit")
        } else {
            check(
                run(
                    "gridsync",
                    [
                        "household", "add", "--home", home, "--door-plate", "3村\(n)号", "--head-zh", "次仁", "--head-bo", "ཚེ་རིང་།",
                        "--members", "5",
                    ]),
                "household")
        }
    }
    for (n, size) in photos.enumerated() {
        check(
            run(
                "gridsync",
                [
                    "photo", "attach",
                    photo("day-\(n)-\(UUID().uuidString.prefix(4)).jpg", size: size, seed: UInt64.random(in: 1...UInt64.max)), "--home",
                    home, "--issue", issue,
                ]), "attach")
    }
}

@MainActor func fieldFigures() throws {
    let worker = "\(county)/zhaxigang/v3/g2"
    // 3. Resumption: the same work through an uncut link and through one cut every 32 KiB.
    var carried: [(up: Int, down: Int, cuts: Int)] = []
    var seconds: [Double] = []
    for cut in [nil, 32 << 10] as [Int?] {
        let home = device("resume-\(cut ?? 0)", role: "worker", scope: worker)
        workersDay(home, records: 30, photos: [5_000_000])
        let (link, linkPort, stats) = startLink(cut.map { ["--cut-after", "\($0)"] } ?? [])
        let r = run(
            "gridsync",
            ["sync", "--home", home, "--via", "https://localhost:\(linkPort)", "--backoff", "0.05", "--retries", "10", "--json"])
        check(r, "sync through the link")
        seconds.append(r.seconds)
        link.terminate()
        link.waitUntilExit()
        carried.append(linkStats(stats))
    }
    let ratio = Double(carried[1].up + carried[1].down) / Double(carried[0].up + carried[0].down)
    print(
        String(
            format:
                "resumption: 30 records + a 5 MB photo; uncut %d B up / %d B down; cut every 32 KiB (%d cuts) %d B up / %d B down; ratio %.3f (target ≤ 1.25); %.1f s vs %.1f s",
            carried[0].up, carried[0].down, carried[1].cuts, carried[1].up, carried[1].down, ratio, seconds[0], seconds[1]))

    // 4. A worker's day through 2g: records first, timed until they are synced.
    let home = device("day-2g", role: "worker", scope: worker)
    workersDay(home, records: 30, photos: [200_000, 200_000, 200_000, 200_000, 200_000])
    let (link, linkPort, stats) = startLink(["--profile", "2g"])
    let r = run("gridsync", ["sync", "--home", home, "--via", "https://localhost:\(linkPort)", "--no-photos", "--json"])
    check(r, "sync over 2g")
    link.terminate()
    link.waitUntilExit()
    let s = linkStats(stats)
    let summary = (try? JSONSerialization.jsonObject(with: Data(r.output.utf8))) as? [String: Any] ?? [:]
    let bound = 3 * 1.3 + Double(s.up) / (32_000 / 8) + Double(s.down) / (35_000 / 8)
    print(
        String(
            format:
                "2g worker's day: 30 records (%d changes) synced in %.2f s; link carried %d B up, %d B down; physical bound %.2f s; ratio %.2f (target ≤ 1.3); %d HTTP round trip(s) + 2 for TCP and TLS 1.3 setup",
            summary["pushed"] as? Int ?? 0, r.seconds, s.up, s.down, bound, r.seconds / bound, summary["rounds"] as? Int ?? 0))

    // 5. Photos over satellite and EDGE: three 200 KB photos with their issue, timed whole. Each
    //    chunk costs a round trip, so the chunk size decides how close this comes to the bound.
    for (profile, upBitsPerSecond, rtt) in [("satellite", 1_000_000.0, 0.6), ("edge", 200_000.0, 0.84)] {
        let home = device("photos-\(profile)", role: "worker", scope: worker)
        workersDay(home, records: 1, photos: [200_000, 200_000, 200_000])
        let (link, linkPort, stats) = startLink(["--profile", profile])
        let r = run("gridsync", ["sync", "--home", home, "--via", "https://localhost:\(linkPort)", "--json"])
        check(r, "sync over \(profile)")
        link.terminate()
        link.waitUntilExit()
        let s = linkStats(stats)
        let summary = (try? JSONSerialization.jsonObject(with: Data(r.output.utf8))) as? [String: Any] ?? [:]
        let bound = 3 * rtt + Double(s.up) * 8 / upBitsPerSecond
        print(
            String(
                format:
                    "photos over %@: %d × 200 KB (and 1 record) in %.1f s; link carried %d B up; bound (3 RTT + bytes ÷ bandwidth) %.1f s; ratio %.2f",
                profile, summary["photosUploaded"] as? Int ?? 0, r.seconds, s.up, bound, r.seconds / bound))
    }
}
