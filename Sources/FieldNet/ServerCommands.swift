import ArgumentParser
import Dispatch
import FieldCLI
import Foundation
import SyncCore

/// The server-facing commands, run here in `gridsync-net`.
struct NetworkCommands: ServerCommands {
    func enroll(_ command: InitCommand) async throws { try await command.perform() }
    func sync(_ command: SyncCommand) async throws { try await command.perform() }
    func fetch(_ command: PhotoCommand.Fetch) async throws { try await command.perform() }
    func dashboard(_ command: DashboardCommand) async throws {
        let r = try Recording(command.common)
        let language: DashboardText.Lang =
            switch Language.current {
            case .zh: .zh
            case .en: .en
            case .bo: .bo
            }
        let home = r.home
        let pages = DashboardPages(
            replica: r.replica, blobs: try home.blobs(), scopes: r.config.scopes, defaultLanguage: language,
            devices: { home.deviceListing() })
        let host = command.listen
        try await DashboardServer.run(pages: pages, host: host, port: command.port, accessCode: command.accessCode) { port in
            let shown = host.contains(":") ? "[\(host)]" : host
            FileHandle.standardOutput.write(Data((tr("server.dashboard") + "http://\(shown):\(port)/\n").utf8))
        }
    }
}

extension InitCommand {
    func perform() async throws {
        let home = common.device
        if adopt { return try await performAdoption(home) }
        if home.isInitialised {
            let existing = try home.config()
            throw Failure(
                "already_initialised",
                tr("server.already_set_up_as_device", home.folder.path, existing.device, existing.server),
                status: .badInput)
        }
        guard let server, let ca else {
            throw Failure("usage", tr("server.init_needs_server_ca"), status: .badInput)
        }
        if let name { _ = try InputRulesForCLI.name(name) }
        try FileManager.default.createDirectory(at: home.folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let connection = try ServerConnection(server: server, caFile: ca)
        defer { Task { await connection.shutdown() } }
        do {
            let replica = try DeviceHome.replica(at: home.replicaPath)
            try await enroll(home: home, connection: connection, site: replica.site, caFile: ca, former: nil)
        } catch {
            // Leave nothing half set up: the next attempt starts clean.
            for file in ["replica.sqlite", "replica.sqlite-wal", "replica.sqlite-shm", "ca.pem", "credential"] {
                try? FileManager.default.removeItem(at: home.folder.appendingPathComponent(file))
            }
            await connection.shutdown()
            throw error
        }
        await connection.shutdown()
    }

    /// Takes over a device folder copied from another handheld: enrolls this handheld as a new
    /// device with a new site id, presenting the folder's credential so that the server lets it
    /// send the folder's writes under the old site, then gives the replica the new site (the old
    /// one becomes a former site) and starts its sync over, so everything the server lacks is sent.
    private func performAdoption(_ home: DeviceHome) async throws {
        let old = try home.config()
        let oldCredential = try home.credential()
        let server = self.server ?? old.server
        let caFile = ca ?? home.caURL.path
        if let name { _ = try InputRulesForCLI.name(name) }
        let current = try home.readReplica()
        var site = SiteID.random()
        while site == current.site || current.formerSites.contains(site) { site = .random() }
        let connection = try ServerConnection(server: server, caFile: caFile)
        defer { Task { await connection.shutdown() } }
        try await enroll(home: home, connection: connection, site: site, caFile: caFile, former: oldCredential)
        await connection.shutdown()
        try Replica.adopt(path: home.replicaPath, newSite: site)
        let replica = try home.openReplica()
        for peer in Set([old.server, server]) { try replica.restartPeer(peer, storeEpoch: nil) }
        try home.savePhotosOnServer([])
        print(
            tr("server.this_handheld_now_writes_as", site))
    }

    private func enroll(home: DeviceHome, connection: ServerConnection, site: SiteID, caFile: String, former: String?) async throws {
        let health = try await connection.send(.GET, "/health")
        guard health.status == 200,
            let json = try? JSONSerialization.jsonObject(with: Data(health.body)) as? [String: Any],
            let proto = json["protocol"] as? Int
        else { throw ServerConnection.failure(health) }
        // The newest changeset format both read; a server too old to list formats reads format 1.
        let serverFormats = (json["changesetFormats"] as? [Int]) ?? [1]
        let format = serverFormats.filter { ChangesetEncoding.supportedVersions.contains(UInt8(clamping: $0)) }.max() ?? 1
        guard proto == SyncMessageCoding.protocolVersion else {
            throw Failure(
                "protocol_mismatch",
                tr("server.server_speaks_protocol_this_tool", proto, SyncMessageCoding.protocolVersion), status: .config)
        }
        let body = try JSONEncoder().encode(EnrollRequest(code: code, site: site.hex, name: name, formerCredential: former))
        let reply = try await connection.send(.POST, "/v1/enroll", body: Array(body), contentType: "application/json")
        guard reply.status == 200 else { throw ServerConnection.failure(reply) }
        let answer = try JSONDecoder().decode(EnrollResponse.self, from: Data(reply.body))
        let given = try String(contentsOfFile: caFile, encoding: .utf8)
        guard given.filter({ !$0.isWhitespace }).contains(answer.caCertificate.filter { !$0.isWhitespace }) else {
            throw Failure(
                "ca_mismatch",
                tr("server.server_s_ca_not_one"), status: .refused)
        }
        _ = try home.readReplica().learnServerTime(answer.serverTimeMillis)
        let pem = answer.caCertificate.hasSuffix("\n") ? answer.caCertificate : answer.caCertificate + "\n"
        try DeviceHome.writeDurably(Data(pem.utf8), to: home.caURL, mode: 0o644)
        try home.saveCredential(answer.credential)
        try home.save(
            DeviceConfig(
                server: connection.server, device: answer.device, role: answer.role, scopes: answer.scopes, site: site.hex,
                name: answer.name, enrolledAtMillis: UInt64(Date().timeIntervalSince1970 * 1000), serverChangesetFormat: format,
                machine: MachineIdentity.current()))
        print(tr("server.enrolled_as", answer.device, answer.role))
        if let enrolled = answer.name { print(tr("server.recorded_as") + enrolled) }
        print(tr("server.scopes") + answer.scopes.joined(separator: ", "))
        print(tr("server.device_folder") + home.folder.path)
    }
}

extension SyncCommand {
    func perform() async throws {
        let home = common.device
        let config = try home.config()
        let replica = try home.openReplica()
        let connection = try ServerConnection(
            server: via ?? config.server, caFile: home.caURL.path, credential: try home.credential(), timeoutSeconds: timeout)
        let progress = Progress(quiet: quiet || output.json)
        let policy = RetryPolicy(retries: retries, initialDelay: backoff)
        var photos = PhotoSync(
            home: home, replica: replica, blobs: try home.blobs(), connection: connection, policy: policy, progress: progress)
        photos.chunkSize = chunkKib << 10
        defer { Task { await connection.shutdown() } }
        if !watch {
            let summary = try await once(
                replica: replica, peer: config.server, connection: connection, photos: photos, progress: progress, policy: policy)
            await connection.shutdown()
            try show(summary)
            if !summary.photosDamaged.isEmpty {
                // Everything else went through; the exit status tells scripts a photo needs a person.
                throw Failure(
                    "photo_damaged",
                    tr("server.photo_s_damaged_on_this", summary.photosDamaged.count, photos.blobs.folder.path),
                    status: .io)
            }
            return
        }
        let stop = StopSignal()
        var nextPull = Date.distantPast
        var wait = max(backoff, 0.1)
        while !stop.requested {
            let somethingToSend =
                try replica.pendingOwnChanges(after: try replica.peerCursor(config.server).acknowledged) > 0
                || (!noPhotos && !(try photos.waiting().isEmpty))
            if somethingToSend || Date() >= nextPull {
                do {
                    let summary = try await once(
                        replica: replica, peer: config.server, connection: connection, photos: photos, progress: progress, policy: policy)
                    try show(summary)
                    nextPull = Date().addingTimeInterval(interval)
                    wait = max(backoff, 0.1)
                } catch let failure as Failure where failure.status == .unavailable {
                    progress.note(
                        tr("server.no_signal_trying_again_in", failure.message, Int(wait.rounded(.up))))
                    nextPull = Date().addingTimeInterval(wait)
                    wait = min(max(interval, 1), wait * 2)
                }
            }
            await stop.sleep(until: min(nextPull, Date().addingTimeInterval(1)))
        }
        progress.note(tr("server.stopped"))
        await connection.shutdown()
    }

    private func once(
        replica: Replica, peer: String, connection: ServerConnection, photos: PhotoSync, progress: Progress, policy: RetryPolicy
    ) async throws -> SyncSummary {
        var summary = SyncSummary()
        let home = common.device
        var config = try home.config()
        do {
            try await RecordSync(
                replica: replica, peer: peer, connection: connection, policy: policy, progress: progress,
                changesetFormat: UInt8(clamping: config.serverChangesetFormat ?? 1)
            ).run(into: &summary)
        } catch let failure as Failure where failure.status == .unavailable && !watch {
            // Say what matters to the person: nothing is lost, and how to go on.
            let waiting = try replica.pendingOwnChanges(after: try replica.peerCursor(peer).acknowledged)
            throw Failure(
                failure.code,
                tr("server.change_s_wait_safely_on", failure.message, waiting),
                status: .unavailable)
        }
        // What arrived is indexed for search now, while the person waits for the sync anyway.
        if summary.pulled > 0 {
            try replica.prepareSearch()
            try replica.checkpoint()
        }
        // County and township devices keep the server's list of the devices under them, for
        // `report` and the dashboard (best effort: an older server does not have it).
        if config.role == DeviceRole.county.rawValue || config.role == DeviceRole.township.rawValue,
            let reply = try? await connection.send(.GET, "/v1/devices"), reply.status == 200,
            (try? JSONDecoder().decode(DeviceListing.self, from: Data(reply.body))) != nil
        {
            try DeviceHome.writeDurably(Data(reply.body), to: home.devicesURL, mode: 0o600)
        }
        if let said = summary.serverChangesetFormat, said != config.serverChangesetFormat {
            config.serverChangesetFormat = said
            try home.save(config)
        }
        if noPhotos {
            summary.photosWaiting = try photos.waiting().count
        } else {
            let spent = summary.recordBytesSent + summary.recordBytesReceived
            try await photos.upload(budget: maxBytes.map { max(0, $0 - spent) }, into: &summary)
        }
        summary.seconds = progress.elapsed
        return summary
    }

    private func show(_ s: SyncSummary) throws {
        if output.json { return try Output.json(s) }
        print(
            tr(
                "server.synced_sent_change_s_received", s.pushed, s.pulled, s.refused.count, s.rounds, s.retries,
                Output.bytes(s.recordBytesSent + s.recordBytesReceived)))
        for r in s.refused {
            print(tr("server.refused") + "\(r.table)/\(r.row).\(r.column) [\(r.code)] \(r.message)")
        }
        if s.conflicts > 0 {
            print(
                tr("server.new_conflict_s_see_gridsync", s.conflicts))
        }
        print(
            tr("server.receipt_server_has_stored_this", s.receipt))
        print(
            tr("server.photos_uploaded_waiting", s.photosUploaded, Output.bytes(s.photoBytesSent), s.photosWaiting))
        for d in s.photosDamaged {
            print(tr("server.damaged_set_aside") + "\(d.sha256) → \(d.movedTo)")
        }
    }
}

extension PhotoCommand.Fetch {
    func perform() async throws {
        let r = try Recording(common)
        let blobs = try r.home.blobs()
        let wanted =
            try all
            ? r.replica.referencedPhotos().filter { !blobs.contains($0) }
            : hashes.map { h in
                try InputRules.checkHash(h)
                return h
            }
        let connection = try ServerConnection(
            server: via ?? r.config.server, caFile: r.home.caURL.path, credential: try r.home.credential())
        let sync = PhotoSync(
            home: r.home, replica: r.replica, blobs: blobs, connection: connection,
            policy: RetryPolicy(retries: retries, initialDelay: backoff),
            progress: Progress(quiet: quiet || output.json))
        let result: (fetched: [String], missing: [String])
        do {
            result = try await sync.fetch(wanted)
        } catch {
            await connection.shutdown()
            throw error
        }
        await connection.shutdown()
        // With --out, every photo asked for that is held here (fetched now or before), named for people.
        let held = try (all ? r.replica.referencedPhotos() : hashes).filter { !result.missing.contains($0) }
        let copies = try out.map { try Self.copyReadable(held, replica: r.replica, blobs: blobs, into: $0) } ?? []
        if output.json { return try Output.json(["fetched": result.fetched, "missing": result.missing, "files": copies]) }
        print(
            tr("server.photo_s_fetched_into", result.fetched.count, blobs.folder.path))
        if let out { print(tr("server.photos_copied_readable", copies.count, out)) }
        for hash in result.missing { print(tr("server.not_on_server_yet", hash)) }
    }
}

/// SIGINT or SIGTERM asks a watching sync to stop after the step in progress; a second one stops at once.
final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var sources: [DispatchSourceSignal] = []

    init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.received() }
            source.resume()
            sources.append(source)
        }
    }

    var requested: Bool { lock.withLock { count > 0 } }

    private func received() {
        let n = lock.withLock {
            count += 1
            return count
        }
        if n > 1 { exit(130) }
    }

    /// Sleeps until `date` or until a stop is asked for.
    func sleep(until date: Date) async {
        while !requested && Date() < date {
            try? await Task.sleep(nanoseconds: UInt64(min(0.2, max(0.01, date.timeIntervalSinceNow)) * 1e9))
        }
    }
}
