import Foundation
import SyncCore
import Testing

/// The field tool at the trust boundary: it never builds a request the server must refuse for its
/// size, it refuses locally what the device's role may not do, and it records events under the
/// person the device is enrolled for.
@Suite struct TrustTests {
    @Test func fourOneLetterNotesOf32KiBSyncAndTheRecordsBehindThemToo() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let worker = try cluster.device("worker", scopes: [g2], person: "扎西")
        let notes = String(repeating: "a", count: 32 * 1024)
        for i in 0..<4 { worker.ok(["household", "add", "--door-plate", "\(i)号", "--notes", notes]) }
        let behind = worker.id(["household", "add", "--door-plate", "之后"])
        let summary = worker.sync()
        #expect((summary["refused"] as? [Any])?.isEmpty == true, "\(summary)")
        #expect(summary["pushed"] as? Int == 4 * 3 + 2)
        let status = worker.ok(["status", "--json"]).object
        #expect(status["changesWaiting"] as? Int == 0, "\(status)")
        let county = try cluster.device("county", role: "county", scopes: [county])
        county.sync()
        #expect(county.ok(["household", "show", String(behind.prefix(8)), "--json"]).output.contains("之后"))
    }

    @Test func aRoleIsEnforcedLocallyAndEventsCarryTheEnrolledPerson() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let code = try cluster.serverCommand(["enroll", "--data", cluster.data.path, "--scope", g2, "--name", "扎西"])
        let home = cluster.folder.appendingPathComponent("worker").path
        let worker = Device(home: home)
        // The operator's name for the code wins over the one the device proposes.
        worker.ok(["init", "--server", cluster.url, "--enroll", code, "--ca", cluster.ca, "--name", "别人"])
        let issue = worker.id(["issue", "report", "--kind", "dispute", "--tier", "medium", "--title", "邻里纠纷"])
        let dispatch = worker.run(["issue", "dispatch", String(issue.prefix(8)), "--to", "卓玛"])
        #expect(dispatch.status == 65 && dispatch.errors.contains("[not_permitted]"), "\(dispatch.errors)")
        worker.ok(["issue", "accept", String(issue.prefix(8))])
        worker.ok(["issue", "resolve", String(issue.prefix(8)), "--resolution", "调解"])
        let close = worker.run(["issue", "close", String(issue.prefix(8))])
        #expect(close.status == 65 && close.errors.contains("may not close a medium (township) issue"), "\(close.errors)")
        let summary = worker.sync()
        #expect((summary["refused"] as? [Any])?.isEmpty == true, "\(summary)")
        let shown = worker.ok(["issue", "show", String(issue.prefix(8)), "--json"]).output
        #expect(shown.contains("扎西") && !shown.contains("别人"), "\(shown)")
        let devices = try cluster.serverCommand(["devices", "--data", cluster.data.path, "--json"])
        #expect(devices.contains("\"name\" : \"扎西\""), "\(devices)")
    }

    /// The order loop's dispatch and accept: the township dispatches to a named worker; only that
    /// worker accepts it, and finds it with `issue list --mine`.
    @Test func aWorkerAcceptsWhatWasDispatchedToThemAndListsItAsTheirs() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let tashi = try cluster.device("tashi", scopes: [g2], person: "扎西")
        let drolma = try cluster.device("drolma", scopes: [g2], person: "卓玛")
        let officer = try cluster.device("officer", role: "township", scopes: [township], person: "次仁")
        let issue = tashi.id(["issue", "report", "--kind", "dispute", "--title", "草场使用权纠纷"])
        tashi.sync()
        officer.sync()
        officer.ok(["issue", "dispatch", String(issue.prefix(8)), "--to", "卓玛"])
        officer.sync()
        tashi.sync()
        drolma.sync()
        let refused = tashi.run(["issue", "accept", String(issue.prefix(8)), "--lang", "zh"])
        #expect(refused.status == 65 && refused.errors.contains("卓玛") && refused.errors.contains("[not_permitted]"), "\(refused.errors)")
        // Nor can he make it his: a worker does not reassign (the server refuses it too).
        let reassign = tashi.run(["issue", "edit", String(issue.prefix(8)), "--handler", "扎西"])
        #expect(reassign.status == 65 && reassign.errors.contains("[not_permitted]"), "\(reassign.errors)")
        #expect((tashi.ok(["issue", "list", "--mine", "--json"]).json as? [Any])?.isEmpty == true)
        #expect(drolma.ok(["issue", "list", "--mine", "--json"]).output.contains(issue))
        #expect(tashi.ok(["issue", "list", "--handler", "卓玛", "--json"]).output.contains(issue))
        drolma.ok(["issue", "accept", String(issue.prefix(8))])
        let shown = drolma.ok(["issue", "show", String(issue.prefix(8)), "--json"]).output
        #expect(shown.contains("\"status\" : \"accepted\""), "\(shown)")
        // Before its first sync he may still put right the handler of an issue he reported; the
        // same handler again is no change; after the sync it is the dispatcher's to change.
        let fresh = tashi.id(["issue", "report", "--kind", "hazard", "--title", "电瓶车入户充电", "--handler", "卓玛"])
        tashi.ok(["issue", "edit", String(fresh.prefix(8)), "--handler", "扎西"])
        tashi.sync()
        tashi.ok(["issue", "edit", String(fresh.prefix(8)), "--handler", " 扎西 "])
        let late = tashi.run(["issue", "edit", String(fresh.prefix(8)), "--handler", "卓玛"])
        #expect(late.status == 65 && late.errors.contains("[not_permitted]"), "\(late.errors)")
    }
}
