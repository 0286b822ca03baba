import Foundation
import Testing
import TestSupport

/// A `shadowsync run` process of an agent, stopped with SIGTERM. Its log (standard error) is drained
/// as it is written, so a chatty daemon never blocks on a full pipe.
final class RunningDaemon {
    let agent: Agent
    let process: TestProcess

    /// Starts the daemon and, if `waitUntilReady`, waits until it answers on its control socket.
    init(_ agent: Agent, environment extra: [String: String] = [:], waitUntilReady: Bool = true) throws {
        self.agent = agent
        process = try TestProcess(Binaries.url(of: "shadowsync").path, ["run", "--folder", agent.folder],
                                  environment: agent.environment.merging(extra) { _, n in n }, stdout: .discard)
        guard waitUntilReady else { return }
        do {
            try eventually("daemon of \(agent.name) answers") {
                guard process.isRunning else { return true }
                return (try? agent.run(["status", "--json", "--folder", agent.folder]))?.stdout.contains("\"pid\"") == true
            }
        } catch {
            process.signal(SIGTERM)
        }
        guard process.isRunning else {
            let (status, log) = stop()
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "the daemon of \(agent.name) is not answering (exit \(status)): \(log)"])
        }
    }

    /// Everything it logged so far.
    var log: String { process.stderrSoFar }

    /// SIGTERM, then the exit status and everything it logged.
    func stop(timeout: Double = 60) -> (status: Int32, log: String) {
        process.signal(SIGTERM)
        let outcome = process.wait(timeout: timeout)
        return (outcome.status, outcome.stderr)
    }

    func kill9() {
        process.signal(SIGKILL)
        process.wait()
    }

    /// `status --json` with its null values left out (a key that is null reads as nil).
    func status() throws -> [String: Any] {
        let out = try agent.run(["status", "--json", "--folder", agent.folder]).stdout
        return ((try JSONSerialization.jsonObject(with: Data(out.utf8))) as? [String: Any] ?? [:]).filter { !($0.value is NSNull) }
    }

    deinit { if process.isRunning { kill9() } }
}

/// The entries where two snapshots differ, for a readable failure.
func snapshotDifference(_ a: [String: String], _ b: [String: String]) -> [String: String] {
    var out: [String: String] = [:]
    for key in Set(a.keys).union(b.keys) where a[key] != b[key] { out[key] = "\(a[key] ?? "missing") | \(b[key] ?? "missing")" }
    return out
}

/// Waits until `condition` holds, up to `timeout` seconds.
func eventually(_ what: String, timeout: Double = 20, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(50_000)
    }
    throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "timed out after \(timeout) s waiting for: \(what)"])
}

extension Scratch {
    /// Two agents synced on a local bare repository (A made the vault with start.txt, B joined), both
    /// with the fast test timings: the starting point of the daemon tests.
    static func daemonPair(_ name: String) throws -> (Scratch, Agent, Agent) {
        let s = try Scratch(name)
        let a = s.agent("a"), b = s.agent("b")
        try a.write("start.txt", "start\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        // B's join commits its device record: A takes it, so both start at one head.
        try a.sync()
        try a.setFastTimings()
        try b.setFastTimings()
        return (s, a, b)
    }
}

extension Agent {
    func commitCount() throws -> Int {
        let out = try run(["log", "--json", "--folder", folder]).stdout
        return ((try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [Any])?.count ?? -1
    }

    /// Fast timings for tests: quiet 300 ms, max delay 3 s, fetch every second.
    func setFastTimings() throws {
        try ok(["config", "set", "sync.quiet-ms", "300", "--folder", folder])
        try ok(["config", "set", "sync.max-delay-ms", "3000", "--folder", folder])
        try ok(["config", "set", "sync.poll-seconds", "1", "--folder", folder])
    }
}

/// Two real daemons (`shadowsync run`) on a local bare repository: real inotify, real signals.
@Suite(.serialized) struct DaemonTests {
    @Test func savesRenamesAndDeletesReachTheOtherDaemonAndBurstsCoalesce() throws {
        let (_, a, b) = try Scratch.daemonPair("daemon-basic")
        let da = try RunningDaemon(a), db = try RunningDaemon(b)
        try a.write("notes/today.txt", "written on a\n")
        try eventually("b has a's save") { b.read("notes/today.txt") == "written on a\n" }
        try b.move("notes/today.txt", "notes/renamed.txt")
        try b.remove("start.txt")
        try eventually("a sees b's rename and delete") { a.read("notes/renamed.txt") == "written on a\n" && a.read("start.txt") == nil && a.read("notes/today.txt") == nil }

        // A burst: 300 files in a new directory tree, written over about a second, ends in a few commits.
        let before = try a.commitCount()
        for i in 0..<300 {
            try a.write("burst/d\(i % 7)/f\(i).txt", "file \(i)\n")
            if i % 50 == 0 { usleep(150_000) }
        }
        do {
            try eventually("b has the whole burst", timeout: 30) { (try? b.names("burst/d6").count) == 42 && b.read("burst/d0/f294.txt") == "file 294\n" }
        } catch {
            Issue.record("a: \((try? da.status()) ?? [:])\nb: \((try? db.status()) ?? [:])\nb has \((try? b.names("burst/d6").count) ?? -1) of burst/d6")
            throw error
        }
        let commits = try a.commitCount() - before
        #expect(commits >= 1 && commits <= 4, "the burst made \(commits) commits")
        // Editor swap files stay local.
        try a.write("notes/.renamed.txt.swp", "vim swap")
        try a.write("notes/marker.txt", "after the swap file\n")
        try eventually("b has the marker") { b.read("notes/marker.txt") != nil }
        #expect(b.read("notes/.renamed.txt.swp") == nil)
        try a.remove("notes/.renamed.txt.swp")

        try eventually("a is idle again") { (try? da.status())?["state"] as? String == "idle" }
        let sa = try da.status()
        // The root, notes, burst and its seven subdirectories.
        #expect(sa["watches"] as? Int == 10, "\(sa)")
        #expect(sa["degraded"] as? Bool == false && sa["last_error"] == nil, "\(sa)")
        let diff = snapshotDifference(a.snapshot(), b.snapshot())
        if let missing = diff.keys.first {
            let logA = (try? a.run(["log", "--json", "--folder", a.folder]).stdout) ?? ""
            let logB = (try? b.run(["log", "--json", "--folder", b.folder]).stdout) ?? ""
            Issue.record("\(missing): in a's log \(logA.contains(missing)), in b's log \(logB.contains(missing)); a \((try? da.status()) ?? [:]); b \((try? db.status()) ?? [:])")
        }
        let (statusA, logA) = da.stop()
        let (statusB, logB) = db.stop()
        if !diff.isEmpty { Issue.record("a's log:\n\(logA)\nb's log:\n\(logB)") }
        #expect(statusA == 0 && statusB == 0)
        #expect(logA.contains("watching") && logA.contains("stopped"), "\(logA)")
        #expect(snapshotDifference(a.snapshot(), b.snapshot()).isEmpty, "\(snapshotDifference(a.snapshot(), b.snapshot()))")
    }

    @Test func sigtermLeavesNothingBehindAndOneInstancePerFolder() throws {
        let (_, a, _) = try Scratch.daemonPair("daemon-signals")
        let da = try RunningDaemon(a)
        let second = try a.run(["run", "--folder", a.folder])
        #expect(second.status == 3 && second.stderr.contains("pid \(da.process.processIdentifier)"), "\(second.stderr)")
        // repair needs the folder itself (sync asks the daemon instead).
        #expect(try a.run(["repair", "--folder", a.folder]).status == 3)
        let stateDir = try FileManager.default.contentsOfDirectory(atPath: a.home + "/data/shadowsync").first.map { a.home + "/data/shadowsync/" + $0 + "/state" }!
        #expect(FileManager.default.fileExists(atPath: stateDir + "/agent.sock"))
        for i in 0..<20 { try a.write("f\(i).txt", String(repeating: "x", count: 100_000)) }
        // Mid-pass when the daemon says so (a pass that ends before we look still leaves a valid test).
        try? eventually("a pass is running", timeout: 5) { ((try? da.status())?["state"] as? String ?? "idle") != "idle" }
        let (status, log) = da.stop()
        #expect(status == 0, "\(log)")
        #expect(!FileManager.default.fileExists(atPath: stateDir + "/agent.sock"))
        #expect(try a.names().allSatisfy { !$0.hasPrefix(".shadowsync-tmp") })
        // The lock is free: a one-shot sync runs, and finds the folder consistent.
        try a.sync()
        #expect(try a.ok(["fsck", "--folder", a.folder]).contains("ok:"))
    }

    @Test func pauseStopsSyncingAndResumeCatchesUp() throws {
        let (_, a, b) = try Scratch.daemonPair("daemon-pause")
        let da = try RunningDaemon(a), db = try RunningDaemon(b)
        #expect(try a.ok(["pause", "--folder", a.folder]).contains("paused"))
        #expect(try da.status()["state"] as? String == "paused")
        let before = try a.commitCount()
        let passesBefore = try da.status()["passes"] as? Int ?? -1
        try a.write("while-paused.txt", "held back\n")
        try eventually("a saw the write and holds it") {
            let s = try da.status()
            return s["pending_events"] as? Int ?? 0 > 0 && s["state"] as? String == "paused"
        }
        // b polls every second: two of its passes after a saw the write are more than a running daemon
        // needs to commit (quiet 300 ms) and push, and for b to fetch that.
        let bPasses = try db.status()["passes"] as? Int ?? 0
        try eventually("b polled twice") { try db.status()["passes"] as? Int ?? 0 >= bPasses + 2 }
        #expect(try da.status()["passes"] as? Int == passesBefore)
        #expect(try a.commitCount() == before)
        #expect(b.read("while-paused.txt") == nil)
        #expect(try a.ok(["resume", "--folder", a.folder]).contains("resumed"))
        try eventually("b gets what was written while paused") { b.read("while-paused.txt") == "held back\n" }
        _ = da.stop(); _ = db.stop()
    }

    @Test func killedMidPushTheRestartedDaemonConverges() throws {
        let (_, a, b) = try Scratch.daemonPair("daemon-kill")
        let db = try RunningDaemon(b)
        // The daemon dies right after its push landed, before it recorded that (kill -9 at that point).
        try a.write("before-crash.txt", "1\n")
        let crashing = try RunningDaemon(a, environment: ["SHADOWSYNC_CRASH_AT": "pushed"], waitUntilReady: false)
        try eventually("the daemon crashed at the push") { !crashing.process.isRunning }
        #expect(crashing.process.exitStatus != 0)
        try a.write("after-crash.txt", "2\n")
        let da = try RunningDaemon(a)
        try eventually("b converges") { b.read("before-crash.txt") == "1\n" && b.read("after-crash.txt") == "2\n" }
        try eventually("a and b agree") { a.snapshot() == b.snapshot() }
        _ = da.stop(); _ = db.stop()
    }

    /// inotify's queue is sized when the watcher starts (fs.inotify.max_queued_events): with 16 slots, a
    /// few hundred creates made while the daemon is stopped overflow it. The daemon notices, rescans, and loses nothing.
    @Test(.enabled(if: ContinuousIntegration.runsAsRoot))
    func queueOverflowTriggersARescanAndLosesNothing() throws {
        let (_, a, b) = try Scratch.daemonPair("daemon-overflow")
        let limit = "/proc/sys/fs/inotify/max_queued_events"
        let saved = try String(contentsOfFile: limit, encoding: .utf8)
        try "16\n".write(toFile: limit, atomically: false, encoding: .utf8)
        let da: RunningDaemon
        do { da = try RunningDaemon(a) } catch {
            try saved.write(toFile: limit, atomically: false, encoding: .utf8)
            throw error
        }
        try saved.write(toFile: limit, atomically: false, encoding: .utf8)
        let db = try RunningDaemon(b)
        // Into a directory already watched (a new one is scanned when its watch is added, not flooded),
        // while the daemon is stopped and reads nothing: the 16-slot queue certainly overflows.
        try a.write("flood/first.txt", "first\n")
        try eventually("flood/ is watched") { (try? da.status())?["watches"] as? Int == 2 }
        kill(da.process.processIdentifier, SIGSTOP)
        for i in 0..<400 { try a.write("flood/f\(i).txt", "\(i)\n") }
        kill(da.process.processIdentifier, SIGCONT)
        try eventually("b has every flooded file", timeout: 30) { (try? b.names("flood").count) == 401 }
        #expect((try da.status()["overflows"] as? Int ?? 0) >= 1)
        _ = da.stop(); _ = db.stop()
        #expect(snapshotDifference(a.snapshot(), b.snapshot()).isEmpty, "\(snapshotDifference(a.snapshot(), b.snapshot()))")
    }

    @Test func hooksRunWithEventDetailsAndNeverBlock() throws {
        let (s, a, b) = try Scratch.daemonPair("daemon-hooks")
        let hooks = s.root.appendingPathComponent("hooks").path
        try FileManager.default.createDirectory(atPath: hooks, withIntermediateDirectories: true)
        let out = s.root.appendingPathComponent("hook-out").path
        for event in ["on-commit", "on-push", "on-pull"] {
            try "#!/bin/sh\nprintf '%s %s %s\\n' \"$SHADOWSYNC_EVENT\" \"$SHADOWSYNC_COUNT\" \"$SHADOWSYNC_ITEMS\" >> \(out)-$SHADOWSYNC_EVENT\n"
                .write(toFile: hooks + "/" + event, atomically: true, encoding: .utf8)
            chmod(hooks + "/" + event, 0o755)
        }
        // A hook that hangs must not hold the sync.
        try "#!/bin/sh\nsleep 600\n".write(toFile: hooks + "/on-commit.slow", atomically: true, encoding: .utf8)
        chmod(hooks + "/on-commit.slow", 0o755)
        try a.ok(["config", "set", "hooks.dir", hooks, "--folder", a.folder])
        try b.ok(["config", "set", "hooks.dir", hooks, "--folder", b.folder])
        let da = try RunningDaemon(a), db = try RunningDaemon(b)
        try a.write("hooked.txt", "x\n")
        try eventually("b applied it") { b.read("hooked.txt") == "x\n" }
        try eventually("hooks ran") { FileManager.default.fileExists(atPath: out + "-on-pull") && FileManager.default.fileExists(atPath: out + "-on-push") }
        #expect(try String(contentsOfFile: out + "-on-commit", encoding: .utf8).contains("on-commit 1 + hooked.txt"))
        #expect(try String(contentsOfFile: out + "-on-pull", encoding: .utf8).contains("on-pull 1"))
        try a.write("second.txt", "y\n")
        try eventually("a second commit despite the hanging hook") { b.read("second.txt") == "y\n" }
        _ = da.stop(); _ = db.stop()
    }

    /// A first import shows its progress on a terminal (script(1) provides one), and only there.
    @Test func firstImportShowsProgressOnATerminal() throws {
        let s = try Scratch("progress")
        let a = s.agent("a"), b = s.agent("b")
        for i in 0..<400 { try a.write("d\(i % 10)/f\(i).txt", String(repeating: "x", count: i)) }
        let binary = Binaries.productsDirectory.appendingPathComponent("shadowsync").path
        let command = [binary, "init", a.folder, "--remote", s.remote, "--no-passphrase"].map { "'\($0)'" }.joined(separator: " ")
        let r = SSHServer.shell(["script", "-qec", command, "/dev/null"], environment: a.environment)
        #expect(r.status == 0, "\(r.output)")
        // Every phase shows, with the time so far; the count ends in "encrypted", not a frozen 400/400.
        for phase in ["scanning (", "committing (encrypting changed files)", "encrypted 400 files (77.9 KiB); committing", "pushing ("] {
            #expect(r.output.contains(phase), "\(phase): \(r.output)")
        }
        // Without a terminal: no progress line, though b's join encrypts as many files.
        for i in 0..<400 { try b.write("e\(i).txt", "y") }
        let joined = try b.run(["join", s.remote, b.folder, "--key-file", try a.exportKey(), "--no-passphrase"])
        #expect(joined.status == 0 && joined.stdout.contains("committed") && !(joined.stdout + joined.stderr).contains("encrypting"),
                "\(joined.stdout)\(joined.stderr)")
    }
}

/// The hooks shipped in Hooks/, run as the daemon runs them, with stand-ins for notify-send and logger
/// that record their arguments.
@Suite struct ShippedHookTests {
    static let hooks = SSHServer.testsDirectory.deletingLastPathComponent().appendingPathComponent("Hooks").path

    func run(_ hook: String, event: String, items: String) throws -> String {
        let s = try Scratch("hook-\(hook)")
        let bin = s.root.appendingPathComponent("bin").path
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let record = s.root.appendingPathComponent("recorded").path
        for tool in ["notify-send", "logger"] {
            try "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done > \(record)\n".write(toFile: bin + "/" + tool, atomically: true, encoding: .utf8)
            chmod(bin + "/" + tool, 0o755)
        }
        let r = SSHServer.shell([Self.hooks + "/" + hook], environment: [
            "PATH": bin + ":/usr/bin:/bin", "SHADOWSYNC_EVENT": event, "SHADOWSYNC_FOLDER": "/home/me/Notes",
            "SHADOWSYNC_COUNT": "2", "SHADOWSYNC_ITEMS": items, "SHADOWSYNC_HEAD": "abc123def456",
        ])
        #expect(r.status == 0, "\(r.output)")
        return (try? String(contentsOfFile: record, encoding: .utf8)) ?? ""
    }

    @Test func notifyDesktopSpeaksUpForConflictsErrorsAndAlertsOnly() throws {
        let conflict = try run("notify-desktop", event: "on-conflict", items: "todo.txt: edited on both\nplan.md: edited on both")
        #expect(conflict.contains("[--urgency=normal][ShadowSync: 2 conflict(s) in Notes][Both versions were kept. todo.txt: edited on both\nplan.md: edited on both"), "\(conflict)")
        let error = try run("notify-desktop", event: "on-error", items: "cannot reach me@vps: Connection refused")
        #expect(error.contains("[--urgency=critical][ShadowSync: Notes is not syncing][cannot reach me@vps: Connection refused"), "\(error)")
        let alert = try run("notify-desktop", event: "on-alert", items: "the server withholds commit 3f9c01d2e8aa")
        #expect(alert.contains("[--urgency=critical][ShadowSync: the server of Notes hides history][the server withholds commit 3f9c01d2e8aa"), "\(alert)")
        #expect(try run("notify-desktop", event: "on-push", items: "+ a.txt").isEmpty)
    }

    @Test func logJournalWritesOneTaggedLinePerEvent() throws {
        let line = try run("log-journal", event: "on-error", items: "cannot reach me@vps\nsecond line")
        #expect(line == "[-t][shadowsync-event][-p][user.err][--][on-error folder=/home/me/Notes count=2 head=abc123def456 first=cannot reach me@vps]", "\(line)")
        #expect(try run("log-journal", event: "on-push", items: "+ a.txt").contains("[user.info]"))
        #expect(try run("log-journal", event: "on-alert", items: "the server withholds commit 3f9c01d2e8aa").contains("[user.err]"))
    }
}
