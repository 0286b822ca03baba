import Foundation
import Testing
import TestSupport

/// A server that withholds a commit from one machine (a freeze of its view, or a fork) cannot be told
/// apart from a quiet vault by signatures alone; the doorbell's authenticated heads reveal it. Real
/// daemons, a real prosody on loopback, and a second bare repository standing in for the frozen view:
/// b's remote is a copy taken before a pushed, which never moves unless the test moves it.
@Suite(.serialized, .enabled(if: XMPPServer.available)) struct WithheldCommitTests {
    /// Seconds a head may be missing before the alert in these tests (the default is 120).
    static let graceSeconds = 2

    func frozenPair(_ name: String) throws -> (s: Scratch, a: Agent, b: Agent, frozen: String, alerts: String) {
        let server = try XMPPServer.info()
        let s = try Scratch(name)
        let a = s.agent("a"), b = s.agent("b")
        try a.write("start.txt", "start\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        let frozen = s.root.appendingPathComponent("frozen.git").path
        _ = try s.git(["clone", "--bare", "--quiet", s.remote, frozen], in: s.root.path)
        try b.ok(["config", "set", "remote", frozen, "--folder", b.folder])
        let hooks = s.root.appendingPathComponent("hooks").path, alerts = s.root.appendingPathComponent("alerts.out").path
        try FileManager.default.createDirectory(atPath: hooks, withIntermediateDirectories: true)
        try "#!/bin/sh\nprintf '%s %s\\n%s\\n' \"$SHADOWSYNC_EVENT\" \"$SHADOWSYNC_COUNT\" \"$SHADOWSYNC_ITEMS\" >> '\(alerts)'\n"
            .write(toFile: hooks + "/on-alert", atomically: true, encoding: .utf8)
        chmod(hooks + "/on-alert", 0o755)
        for x in [a, b] {
            try x.setDoorbellTimings()
            try x.useDoorbell(server)
            try x.ok(["config", "set", "sync.withheld-seconds", String(Self.graceSeconds), "--folder", x.folder])
            try x.ok(["config", "set", "hooks.dir", hooks, "--folder", x.folder])
        }
        return (s, a, b, frozen, alerts)
    }

    func alerts(_ d: RunningDaemon) throws -> [[String: Any]] { try d.status()["alerts"] as? [[String: Any]] ?? [] }

    func thisDevice(_ d: RunningDaemon) throws -> String {
        let devices = try d.status()["devices"] as? [[String: Any]] ?? []
        return devices.first { $0["this_device"] as? Bool == true }?["device"] as? String ?? "?"
    }

    /// a pushes; its doorbell reaches b, whose server view is frozen: after the grace period b raises
    /// `withheld_commit` in status (text and JSON), the on-alert hook and doctor, and clears it once its
    /// server shows the commit.
    @Test func aPushedHeadTheServerWithholdsRaisesAnAlertUntilItArrives() throws {
        let (s, a, b, frozen, hookOutput) = try frozenPair("withheld-pushed")
        let (da, db) = try RunningDaemon.pair(a, b)
        defer { _ = da.stop(); _ = db.stop() }
        try da.waitIdle()
        try db.waitIdle()
        #expect(try alerts(db).isEmpty)

        try a.write("news.txt", "from a\n")
        try eventually("a pushed") { try da.status()["last_push"] != nil && (try da.status()["state"] as? String) == "idle" }
        let pushed = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let deviceA = try thisDevice(da)
        try eventually("b raised an alert", timeout: 30) { !(try alerts(db)).isEmpty }
        let alert = try #require(try alerts(db).first)
        #expect(alert["kind"] as? String == "withheld_commit")
        #expect(alert["commit"] as? String == pushed)
        #expect(alert["device"] as? String == deviceA)
        #expect((alert["message"] as? String ?? "").contains("the server withholds commit \(pushed.prefix(12)) that device \(deviceA) pushed at"))
        #expect(alert["since"] as? String != nil && alert["advice"] as? String != nil)
        #expect(b.read("news.txt") == nil, "the frozen server never had it")
        // a's push time shows on b, from the doorbell (the commit itself never reached b).
        let devices = try db.status()["devices"] as? [[String: Any]] ?? []
        #expect(devices.contains { $0["device"] as? String == deviceA && $0["last_push"] as? String != nil }, "\(devices)")

        let text = try b.run(["status", "--folder", b.folder])
        #expect(text.status == 1, "a folder with an alert needs attention: \(text.stdout)")
        #expect(text.stdout.contains("ALERT:    the server withholds commit \(pushed.prefix(12))"), "\(text.stdout)")
        #expect(text.stdout.contains("\(deviceA) last pushed"), "\(text.stdout)")
        let doctor = try b.run(["doctor", "--folder", b.folder])
        #expect(doctor.stdout.contains("server history") && doctor.stdout.contains("withheld_commit"), "\(doctor.stdout)\(doctor.stderr)")
        try eventually("the on-alert hook ran") { FileManager.default.fileExists(atPath: hookOutput) }
        let hookText = try String(contentsOfFile: hookOutput, encoding: .utf8)
        #expect(hookText.hasPrefix("on-alert 1\nthe server withholds commit \(pushed.prefix(12))"), "\(hookText)")
        #expect(try alerts(da).isEmpty, "a's server shows everything a was told about")

        // The server catches up: b's view gets the history; b's next pass (its own save) finds the commit.
        _ = try s.git(["push", "--quiet", frozen, "main"])
        try b.write("from-b.txt", "b\n")
        try eventually("b has a's file and no alert", timeout: 30) { try b.read("news.txt") == "from a\n" && alerts(db).isEmpty }
        #expect(db.log.contains("alert cleared"), "\(db.log)")
        let after = try b.run(["doctor", "--folder", b.folder])
        #expect(!after.stdout.contains("withheld_commit"), "\(after.stdout)")
    }

    /// b was offline while a pushed; when b comes online, the hello exchange tells it a's head, which its
    /// frozen server lacks: the alert comes without any new push.
    @Test func theHelloExchangeRevealsAHeadPushedWhileOffline() throws {
        let (s, a, b, _, _) = try frozenPair("withheld-hello")
        let da = try RunningDaemon(a)
        defer { _ = da.stop() }
        try da.waitIdle()
        try a.write("while-b-slept.txt", "a\n")
        try eventually("a pushed") { try da.status()["last_push"] != nil && (try da.status()["state"] as? String) == "idle" }
        let pushed = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)

        let db = try RunningDaemon(b)
        defer { _ = db.stop() }
        try eventually("b raised an alert from a's answer to its hello", timeout: 30) {
            (try alerts(db)).contains { $0["commit"] as? String == pushed }
        }
        let message = try alerts(db).first?["message"] as? String ?? ""
        #expect(message.contains("had on the server at"), "\(message)")
        // b's hello carried b's older head, which a's history contains: no alert on a.
        #expect(try alerts(da).isEmpty)
        // The alert outlives the daemon: status without a daemon reads it from the state directory.
        _ = db.stop()
        let json = try b.run(["status", "--json", "--folder", b.folder])
        #expect(json.status == 1 && json.stdout.contains("\"kind\":\"withheld_commit\""), "\(json.stdout)\(json.stderr)")
        // b moves to the repository a pushed to: a one-shot sync gets the commit and drops the alert.
        try b.ok(["config", "set", "remote", s.remote, "--folder", b.folder])
        try b.sync()
        #expect(b.read("while-b-slept.txt") == "a\n")
        let after = try b.run(["status", "--json", "--folder", b.folder])
        #expect(!after.stdout.contains("withheld_commit"), "\(after.stdout)")
    }
}
