import Foundation
import Testing
import TestSupport

/// The command line as one coherent tool (Docs/OPERATIONS.md): one status schema with and without a
/// daemon, every folder listed, and the one-shot commands working beside a running daemon.
@Suite(.serialized) struct CLIWorkflowTests {
    func json(_ text: String) -> [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]) ?? [:]
    }

    /// `status --json` has the same keys with and without a daemon, the schema version, and full
    /// commit ids; only the daemon's own values differ.
    @Test func statusHasOneSchemaWithAndWithoutADaemon() throws {
        let (_, a, _) = try Scratch.daemonPair("status-schema")
        let without = json(try a.ok(["status", "--json", "--folder", a.folder]))
        #expect(without["schema"] as? Int == 1, "\(without)")
        #expect(without["running"] as? Bool == false && without["state"] as? String == "not running", "\(without)")
        #expect(without["pid"] is NSNull && without["last_push"] is NSNull, "\(without)")
        let head = try #require(without["head"] as? String)
        #expect(head.count == 40 && head.allSatisfy(\.isHexDigit), "\(head)")
        #expect(without["conflict_copies"] as? [String] == [] && without["pending"] as? [String] == [], "\(without)")

        let da = try RunningDaemon(a)
        try eventually("a's daemon finished its first pass") { (try? da.status())?["state"] as? String == "idle" }
        let with = json(try a.ok(["status", "--json", "--folder", a.folder]))
        #expect(Set(with.keys) == Set(without.keys), "only with: \(Set(with.keys).subtracting(without.keys)); only without: \(Set(without.keys).subtracting(with.keys))")
        #expect(with["schema"] as? Int == 1 && with["running"] as? Bool == true, "\(with)")
        #expect(with["head"] as? String == head && with["last_verified"] as? String == head, "\(with)")
        #expect(with["pid"] as? Int != nil && with["passes"] as? Int ?? 0 >= 1, "\(with)")
        // The text form says the same as the JSON: the daemon's state, the folder's head.
        let text = try a.ok(["status", "--folder", a.folder])
        #expect(text.contains("daemon:   idle") && text.contains(String(head.prefix(12))), "\(text)")
        _ = da.stop()
    }

    /// Outside every folder, `status` lists all of them (text and JSON) and exits 1 when one needs attention.
    @Test func statusOutsideAFolderListsEveryFolder() throws {
        let s = try Scratch("status-all")
        let a = s.agent("a")
        try a.write("one.txt", "1\n")
        try a.initialize()
        let second = s.root.appendingPathComponent("second").path
        try FileManager.default.createDirectory(atPath: second, withIntermediateDirectories: true)
        try "2\n".write(toFile: second + "/two.txt", atomically: true, encoding: .utf8)
        try a.ok(["init", second, "--remote", s.root.appendingPathComponent("second.git").path, "--no-passphrase"])

        let listed = try a.run(["status"])
        #expect(listed.status == 0, "\(listed.stdout) \(listed.stderr)")
        #expect(listed.stdout.contains(a.folder) && listed.stdout.contains(second), "\(listed.stdout)")
        #expect(listed.stdout.contains("no daemon, in sync"), "\(listed.stdout)")

        try "changed\n".write(toFile: second + "/two.txt", atomically: true, encoding: .utf8)
        let all = json(try a.ok(["status", "--all", "--json"]))
        #expect(all["schema"] as? Int == 1, "\(all)")
        let folders = try #require(all["folders"] as? [[String: Any]])
        #expect(folders.compactMap { $0["folder"] as? String }.sorted() == [a.folder, second].sorted(), "\(folders)")
        let pending = folders.first { $0["folder"] as? String == second }?["pending"] as? [String]
        #expect(pending == ["M two.txt"], "\(String(describing: pending))")

        // A conflict copy in one folder makes the list ask for attention.
        try a.write("one.sync-conflict-20261101-101010-abcdef12.txt", "copy\n")
        try a.sync()
        let attention = try a.run(["status"])
        #expect(attention.status == 1, "\(attention.status): \(attention.stdout)")
        #expect(attention.stdout.contains("! \(a.folder)") && attention.stdout.contains("1 conflict copy"), "\(attention.stdout)")
    }

    /// A key behind a passphrase nobody can type. With the daemon running, `status` needs no key at all:
    /// the daemon answers for the folder, without a scan of its own (a change it has seen is counted, not
    /// listed). Without one, `status` of the folder and of every folder answers at once from the files,
    /// saying the key is locked, and never asks, not even on a terminal (`script` gives it one).
    @Test func statusNeedsNoPassphraseAndAsksTheDaemonWhenOneRuns() throws {
        let s = try Scratch("status-locked")
        let a = s.agent("a")
        try a.write("one.txt", "1\n")
        let secret = s.root.appendingPathComponent("passphrase").path
        try "correct horse\n".write(toFile: secret, atomically: true, encoding: .utf8)
        chmod(secret, 0o600)
        try a.ok(["init", a.folder, "--remote", s.remote, "--passphrase-file", secret, "--kdf-profile", "interactive"])
        let unlocked = json(try a.ok(["status", "--json", "--folder", a.folder]))
        let head = try #require(unlocked["head"] as? String)
        #expect(unlocked["key_locked"] as? Bool == false && unlocked["in_sync"] as? Bool == true, "\(unlocked)")

        // The daemon unlocked the key when it started; then the passphrase file goes from the config.
        try a.ok(["config", "set", "sync.poll-seconds", "3600", "--folder", a.folder])
        let da = try RunningDaemon(a)
        try da.waitIdle()
        try a.ok(["config", "set", "passphrase-file", "", "--folder", a.folder])
        try a.ok(["pause", "--folder", a.folder])
        try a.write("two.txt", "2\n")
        try eventually("the daemon saw the new file") { (try? da.status())?["pending_events"] as? Int ?? 0 >= 1 }
        let daemon = json(try a.ok(["status", "--json", "--folder", a.folder]))
        #expect(Set(daemon.keys) == Set(unlocked.keys), "\(Set(daemon.keys).symmetricDifference(unlocked.keys))")
        #expect(daemon["running"] as? Bool == true && daemon["key_locked"] as? Bool == false, "\(daemon)")
        #expect(daemon["head"] as? String == head && daemon["last_verified"] as? String == head && daemon["sequence"] as? Int == unlocked["sequence"] as? Int, "\(daemon)")
        #expect(daemon["device"] as? String == unlocked["device"] as? String && daemon["read_only"] as? Bool == false, "\(daemon)")
        #expect(daemon["pending"] as? [String] == [] && daemon["in_sync"] as? Bool == false, "the daemon's count, not a scan: \(daemon)")
        _ = da.stop()

        let started = Date()
        let one = json(try a.ok(["status", "--json", "--folder", a.folder]))
        #expect(one["key_locked"] as? Bool == true && one["running"] as? Bool == false && one["error"] is NSNull, "\(one)")
        #expect(one["head"] as? String == head && one["device"] as? String == unlocked["device"] as? String, "\(one)")
        #expect(one["pending"] as? [String] == [] && one["in_sync"] as? Bool == false, "\(one)")
        let all = json(try a.ok(["status", "--all", "--json"]))
        let listed = try #require((all["folders"] as? [[String: Any]])?.first)
        #expect(listed["key_locked"] as? Bool == true && listed["error"] is NSNull && listed["head"] as? String == head, "\(listed)")
        let text = try a.run(["status"])
        #expect(text.status == 0 && text.stdout.contains("key locked: pending changes unknown"), "\(text.stdout) \(text.stderr)")
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/script") {
            let command = "\(Binaries.url(of: "shadowsync").path) status --all"
            let onTerminal = try TestProcess.run("/usr/bin/script", ["-qec", command, "/dev/null"], environment: a.environment, timeout: 30)
            #expect(onTerminal.status == 0 && onTerminal.stdout.contains("key locked") && !onTerminal.stdout.contains("Passphrase"),
                    "\(onTerminal.status): \(onTerminal.stdout)")
        }
        #expect(Date().timeIntervalSince(started) < 30)
    }

    /// Beside a running daemon `sync` asks it for a pass and prints the result, `conflicts` and `status`
    /// read without the lock; the mass-delete guard's advice works even while the daemon is paused.
    @Test func syncAndConflictsWorkBesideARunningDaemon() throws {
        let (_, a, b) = try Scratch.daemonPair("sync-beside")
        try a.ok(["config", "set", "sync.poll-seconds", "3600", "--folder", a.folder])
        let da = try RunningDaemon(a)
        try eventually("a's daemon is idle") { (try? da.status())?["state"] as? String == "idle" }
        #expect(try a.ok(["pause", "--folder", a.folder]).contains("paused"))
        try a.write("by-sync.txt", "asked for\n")
        let synced = try a.run(["sync", "--folder", a.folder])
        #expect(synced.status == 0, "\(synced.status): \(synced.stdout) \(synced.stderr)")
        #expect(synced.stdout.contains("committed + by-sync.txt") && synced.stdout.contains("pushed "), "\(synced.stdout)")
        try b.sync()
        #expect(b.read("by-sync.txt") == "asked for\n")

        let conflicts = try a.run(["conflicts", "--folder", a.folder])
        #expect(conflicts.status == 0 && conflicts.stdout.contains("no conflict copies"), "\(conflicts.status): \(conflicts.stdout) \(conflicts.stderr)")

        // Every tracked file vanishes: the guard trips (exit 1), and its advice is followed through the daemon.
        for name in try a.names() where !name.hasPrefix(".") { try a.remove(name) }
        let guarded = try a.run(["sync", "--folder", a.folder])
        #expect(guarded.status == 1, "\(guarded.status): \(guarded.stdout) \(guarded.stderr)")
        #expect(guarded.stderr.contains("--allow-mass-delete"), "\(guarded.stderr)")
        let allowed = try a.run(["sync", "--folder", a.folder, "--allow-mass-delete"])
        #expect(allowed.status == 0 && allowed.stdout.contains("committed - start.txt"), "\(allowed.status): \(allowed.stdout) \(allowed.stderr)")
        let log = da.stop().log
        #expect(log.contains("(sync command): + by-sync.txt"), "\(log)")
        // Log lines carry their time.
        #expect(log.range(of: #"shadowsync: 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d\d\dZ "#, options: .regularExpression) != nil, "\(log)")
    }
}

extension CLIWorkflowTests {
    /// `restore` writes outside the folder by default (nothing new syncs), `--here` beside the original;
    /// `--at` takes HEAD~N through a merge and relative times; `show` prints an old version and `diff`
    /// a unified diff against the folder.
    @Test func restoreShowAndDiffReadOldVersions() throws {
        let s = try Scratch("restore-show-diff")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("doc.txt", "one\ntwo\nthree\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        sleep(2)
        try a.write("doc.txt", "one\nTWO\nthree\n")
        try a.sync()
        try b.write("other.txt", "from b\n")
        try b.sync()  // b's own commit, then the merge with a's edit
        #expect(b.read("doc.txt") == "one\nTWO\nthree\n")

        // HEAD~1 follows the merge's first parent: b's commit, where doc.txt was still the first version.
        #expect(try b.ok(["show", "doc.txt", "--at", "HEAD~1", "--folder", b.folder]) == "one\ntwo\nthree\n")
        #expect(try b.ok(["show", "doc.txt", "--folder", b.folder]) == "one\nTWO\nthree\n")
        // A moment after the first commit and before a's edit (two seconds later) names the first version.
        let log = (try JSONSerialization.jsonObject(with: Data(try b.ok(["log", "--json", "--folder", b.folder]).utf8))) as? [[String: Any]] ?? []
        let firstMillis = try #require(log.last?["time_ms"] as? Int)
        let formatter = ISO8601DateFormatter()
        let moment = String(formatter.string(from: Date(timeIntervalSince1970: Double(firstMillis / 1000 + 1))).prefix(19))
        #expect(try b.ok(["show", "doc.txt", "--at", moment, "--folder", b.folder]) == "one\ntwo\nthree\n", "\(moment)")
        #expect(try b.ok(["show", "doc.txt", "--at", "today", "--folder", b.folder]) == "one\nTWO\nthree\n")

        let before = b.snapshot()
        let restored = try b.run(["restore", "doc.txt", "--at", "HEAD~1", "--folder", b.folder])
        #expect(restored.status == 0, "\(restored.stderr)")
        let path = restored.stdout.replacingOccurrences(of: "restored ", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(path.hasPrefix(b.home + "/data/shadowsync/restored/") && path.hasSuffix(".txt"), "\(path)")
        #expect((try? String(contentsOfFile: path, encoding: .utf8)) == "one\ntwo\nthree\n")
        #expect(b.snapshot() == before, "the folder is untouched")
        let here = try b.ok(["restore", "doc.txt", "--at", "HEAD~1", "--here", "--folder", b.folder])
        #expect(here.contains(b.folder + "/doc.restored-"), "\(here)")

        try b.write("doc.txt", "one\nTWO\nthree\nfour\n")
        let diff = try b.run(["diff", "doc.txt", "--folder", b.folder])
        #expect(diff.status == 1, "\(diff.status) \(diff.stderr)")
        #expect(diff.stdout.contains("+++ b/doc.txt\n@@ -1,3 +1,4 @@\n one\n TWO\n three\n+four\n"), "\(diff.stdout)")
        let older = try b.run(["diff", "doc.txt", "--at", "HEAD~1", "--folder", b.folder])
        #expect(older.stdout.contains("-two\n+TWO\n"), "\(older.stdout)")
        try b.write("doc.txt", "one\nTWO\nthree\n")
        let same = try b.run(["diff", "doc.txt", "--folder", b.folder])
        #expect(same.status == 0 && same.stdout.isEmpty, "\(same.status): \(same.stdout)")

        let bad = try b.run(["show", "doc.txt", "--at", "last tuesday", "--folder", b.folder])
        #expect(bad.status == 2 && bad.stderr.contains("yesterday"), "\(bad.stderr)")
    }
}

extension CLIWorkflowTests {
    /// A moved folder follows with `config set folder NEW --folder OLD`: nothing re-synced, nothing lost,
    /// and the next change syncs from the new place.
    @Test func aMovedFolderIsFollowedByItsConfig() throws {
        let s = try Scratch("move-folder")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("notes/kept.txt", "kept\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        let moved = s.root.appendingPathComponent("moved-a").path
        // Still there: refused, nothing changed.
        let early = try a.run(["config", "set", "folder", moved, "--folder", a.folder])
        #expect(early.status != 0 && early.stderr.contains("does not exist"), "\(early.stderr)")
        try FileManager.default.moveItem(atPath: a.folder, toPath: moved)
        let set = try a.run(["config", "set", "folder", moved, "--folder", a.folder])
        #expect(set.status == 0 && set.stdout.contains("folder = \(moved)"), "\(set.status): \(set.stdout) \(set.stderr)")
        let status = try a.run(["status", "--folder", moved])
        #expect(status.status == 0 && status.stdout.contains("pending:  nothing") && status.stdout.contains("state:    in sync"), "\(status.stdout) \(status.stderr)")
        try "after the move\n".write(toFile: moved + "/notes/new.txt", atomically: true, encoding: .utf8)
        let synced = try a.ok(["sync", "--folder", moved])
        #expect(synced.contains("committed + notes/new.txt") && !synced.contains("kept.txt"), "\(synced)")
        try b.sync()
        #expect(b.read("notes/new.txt") == "after the move\n" && b.read("notes/kept.txt") == "kept\n")
    }

    /// An init killed before its first push says how to finish it: `status`, a second `init`, and `sync`
    /// finishing it.
    @Test func anInterruptedInitSaysHowToFinish() throws {
        let s = try Scratch("interrupted-init")
        let a = s.agent("a")
        try a.write("first.txt", "first\n")
        let killed = try a.run(["init", a.folder, "--remote", s.remote, "--no-passphrase"], crashAt: "commit-objects")
        #expect(killed.status == 137, "\(killed.status) \(killed.stderr)")
        let status = try a.run(["status", "--folder", a.folder])
        #expect(status.stdout.contains("init or join was interrupted") && status.stdout.contains("run 'shadowsync sync --folder"), "\(status.stdout) \(status.stderr)")
        let again = try a.run(["init", a.folder, "--remote", s.remote, "--no-passphrase"])
        #expect(again.status == 2 && again.stderr.contains("run 'shadowsync sync --folder \(a.folder)' to finish it"), "\(again.stderr)")
        let finished = try a.run(["sync", "--folder", a.folder])
        #expect(finished.status == 0 && finished.stdout.contains("pushed "), "\(finished.status): \(finished.stdout) \(finished.stderr)")
        let b = s.agent("b")
        try b.join(keyFile: try a.exportKey())
        #expect(b.read("first.txt") == "first\n")
    }

    /// A secret file others can read is warned about by every command that finds the folder, even
    /// those that never read it.
    @Test func openSecretFilesAreWarnedAboutByEveryCommand() throws {
        let s = try Scratch("secret-warnings")
        let a = s.agent("a")
        try a.write("x.txt", "x\n")
        try a.initialize()
        let key = s.root.appendingPathComponent("id_ed25519").path
        try "not really a key\n".write(toFile: key, atomically: true, encoding: .utf8)
        chmod(key, 0o600)
        try a.ok(["config", "set", "ssh.key", key, "--folder", a.folder])
        chmod(key, 0o644)
        for args in [["status"], ["log"], ["conflicts"], ["config", "list"]] {
            let r = try a.run(args + ["--folder", a.folder])
            #expect(r.stderr.contains("warning: the SSH key \(key) is accessible by other users (mode 644)") && r.stderr.contains("chmod 600 \(key)"),
                    "\(args): \(r.stderr)")
        }
    }
}

/// A one-shot push rings the doorbell through a real prosody on loopback (Tests/xmpp-server.sh): the
/// other machine's daemon polls every ten minutes, so a change arriving within seconds was rung.
@Suite(.serialized, .enabled(if: XMPPServer.available)) struct OneShotDoorbellTests {
    @Test func aOneShotSyncRingsTheOtherDaemon() throws {
        let server = try XMPPServer.info()
        let s = try Scratch("oneshot-doorbell")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("start.txt", "start\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        for agent in [a, b] {
            try agent.setDoorbellTimings()
            try agent.useDoorbell(server)
        }
        let db = try RunningDaemon(b)
        try eventually("b's doorbell is connected") { (try? db.xmpp())?["connected"] as? Bool == true }
        try db.waitIdle()

        try a.write("rung.txt", "pushed by a one-shot sync\n")
        let started = Date()
        let synced = try a.run(["sync", "--folder", a.folder])
        #expect(synced.status == 0, "\(synced.stdout) \(synced.stderr)")
        #expect(Self.agentsRung(synced.stdout) >= 1, "\(synced.stdout)")
        try eventually("b has a's one-shot push", timeout: 15) { b.read("rung.txt") == "pushed by a one-shot sync\n" }
        #expect(Date().timeIntervalSince(started) < 15)
        let bell = try db.xmpp()
        #expect(bell["accepted"] as? Int ?? 0 >= 1, "\(bell)")

        // Nothing pushed: no login, no doorbell line.
        let idle = try a.run(["sync", "--folder", a.folder])
        #expect(idle.status == 0 && !idle.stdout.contains("doorbell"), "\(idle.stdout)")
        _ = db.stop()
    }
}

extension OneShotDoorbellTests {
    /// N of the "doorbell: rang N other agent(s)" line, 0 without one. The test server's room is shared
    /// with other suites' agents running at the same time, so a test can count on its own agents only.
    static func agentsRung(_ output: String) -> Int {
        output.split(separator: "\n").first { $0.hasPrefix("doorbell: rang ") }
            .flatMap { Int($0.dropFirst("doorbell: rang ".count).prefix { $0.isNumber }) } ?? 0
    }

    /// `join --config` takes the doorbell's settings before the join's first push: that push (the new
    /// device's record and the files its folder held) rings the daemon already running on the other
    /// machine, which polls every ten minutes, so it arrives within seconds. The settings stay in the
    /// new folder's config for its own daemon.
    @Test func aJoinGivenTheDoorbellSettingsRingsTheOtherDaemon() throws {
        let server = try XMPPServer.info()
        let s = try Scratch("join-doorbell")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("start.txt", "start\n")
        try a.initialize()
        try a.setDoorbellTimings()
        try a.useDoorbell(server)
        let da = try RunningDaemon(a)
        try eventually("a's doorbell is connected") { (try? da.xmpp())?["connected"] as? Bool == true }
        try da.waitIdle()

        try b.write("from-b.txt", "in b's folder before it joined\n")
        let started = Date()
        let joined = try b.run(["join", s.remote, b.folder, "--key-file", try a.exportKey(), "--no-passphrase",
                                "--config", "xmpp.jid=agents@localhost", "--config", "xmpp.password-file=\(server.passwordFile("agents"))",
                                "--config", "xmpp.server=127.0.0.1:\(server.port)", "--config", "xmpp.ca-file=\(server.caFile)"])
        #expect(joined.status == 0, "\(joined.stdout) \(joined.stderr)")
        #expect(Self.agentsRung(joined.stdout) >= 1, "\(joined.stdout)")
        try eventually("a has b's file", timeout: 15) { a.read("from-b.txt") == "in b's folder before it joined\n" }
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(try da.xmpp()["accepted"] as? Int ?? 0 >= 1)
        let config = try b.ok(["config", "list", "--folder", b.folder])
        #expect(config.contains("xmpp.jid") && config.contains("agents@localhost"), "\(config)")

        // A key `config set` does not know is refused before anything is made.
        let c = s.agent("c")
        let refused = try c.run(["join", s.remote, c.folder, "--key-file", try a.exportKey(), "--no-passphrase", "--config", "xmpp.jdi=x@y"])
        #expect(refused.status == 2 && refused.stderr.contains("xmpp.jdi"), "\(refused.status) \(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: c.folder))
        _ = da.stop()
    }

    /// A plain `join` rings nobody (no doorbell yet); once the doorbell is configured, the next one-shot
    /// `sync` rings for that push although it has nothing new to push, and only once.
    @Test func aPlainJoinIsAnnouncedByTheNextSyncOnceTheDoorbellIsSet() throws {
        let server = try XMPPServer.info()
        let s = try Scratch("join-doorbell-later")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("start.txt", "start\n")
        try a.initialize()
        try a.setDoorbellTimings()
        try a.useDoorbell(server)
        let da = try RunningDaemon(a)
        try eventually("a's doorbell is connected") { (try? da.xmpp())?["connected"] as? Bool == true }
        try da.waitIdle()

        try b.write("from-b.txt", "in b's folder before it joined\n")
        let joined = try b.ok(["join", s.remote, b.folder, "--key-file", try a.exportKey(), "--no-passphrase"])
        #expect(!joined.contains("doorbell:"), "\(joined)")
        try b.useDoorbell(server)
        let started = Date()
        let synced = try b.ok(["sync", "--folder", b.folder])
        #expect(Self.agentsRung(synced) >= 1 && !synced.contains("pushed "), "\(synced)")
        try eventually("a has b's file", timeout: 15) { a.read("from-b.txt") == "in b's folder before it joined\n" }
        #expect(Date().timeIntervalSince(started) < 15)
        let again = try b.ok(["sync", "--folder", b.folder])
        #expect(!again.contains("doorbell:"), "announced once: \(again)")
        _ = da.stop()
    }
}

/// `Examples/install.sh` installs everything in one step under a prefix, the unit pointing at the binary.
@Suite struct InstallTests {
    @Test func installScriptInstallsBinaryManPageCompletionsAndUnit() throws {
        let s = try Scratch("install")
        let home = s.root.appendingPathComponent("home").path, prefix = s.root.appendingPathComponent("prefix").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let script = SSHServer.testsDirectory.deletingLastPathComponent().appendingPathComponent("Examples/install.sh").path
        let r = try TestProcess.run("/bin/bash", [script, "--binary", Binaries.url(of: "shadowsync").path, "--prefix", prefix],
                                    environment: ["HOME": home, "XDG_CONFIG_HOME": home + "/.config"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        for file in ["bin/shadowsync", "share/man/man1/shadowsync.1", "share/bash-completion/completions/shadowsync",
                     "share/zsh/site-functions/_shadowsync", "share/fish/vendor_completions.d/shadowsync.fish",
                     "share/doc/shadowsync/OPERATIONS.md"] {
            #expect(FileManager.default.fileExists(atPath: prefix + "/" + file), "\(file)")
        }
        let unit = try String(contentsOfFile: home + "/.config/systemd/user/shadowsync@.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=\(prefix)/bin/shadowsync run --folder %f"), "\(unit)")
        let version = try TestProcess.run(prefix + "/bin/shadowsync", ["--version"])
        #expect(version.status == 0 && version.stdout.contains("0."), "\(version.stdout)")
        #expect(r.stdout.contains("systemctl --user enable --now \"shadowsync@$(systemd-escape --path ~/Notes).service\""), "\(r.stdout)")
        // The man page carries what OPERATIONS documents: examples, files, environment, exit status.
        let man = try String(contentsOfFile: prefix + "/share/man/man1/shadowsync.1", encoding: .utf8)
        for section in [".SH EXAMPLES", ".SH FILES", ".SH ENVIRONMENT", ".SH EXIT STATUS"] { #expect(man.contains(section), "\(section)") }
    }
}

/// The README's demo: two live daemons on a local bare repository, a save on each appearing on the other.
@Suite struct DemoTests {
    @Test func demoShowsSavesCrossingBetweenTwoDaemons() throws {
        let script = SSHServer.testsDirectory.deletingLastPathComponent().appendingPathComponent("Examples/demo.sh").path
        let r = try TestProcess.run("/bin/bash", [script, Binaries.url(of: "shadowsync").path])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.components(separatedBy: "appeared on the other machine after ").count == 3, "\(r.stdout)")
        #expect(r.stdout.contains("committed 1 change(s) (changes): + plumber.txt"), "\(r.stdout)")
        #expect(r.stdout.contains("daemon:   idle"), "\(r.stdout)")
    }
}

/// A push over SSH shows the bytes it sent and the rate on a terminal (through the test sshd).
/// A push to a local bare repository shows on a terminal what it wrote, as an SSH push shows what it sent.
@Suite struct LocalPushProgressTests {
    @Test func aFirstImportToALocalRepositoryShowsTheBytesWritten() throws {
        let s = try Scratch("local-push-progress")
        let a = s.agent("a")
        for i in 0..<300 { try a.write("d\(i % 10)/f\(i).bin", String(repeating: "\(i % 10)", count: 2000 + i)) }
        let binary = Binaries.productsDirectory.appendingPathComponent("shadowsync").path
        let command = [binary, "init", a.folder, "--remote", s.remote, "--no-passphrase"].map { "'\($0)'" }.joined(separator: " ")
        let r = SSHServer.shell(["script", "-qec", command, "/dev/null"], environment: a.environment)
        #expect(r.status == 0, "\(r.output)")
        let pushed = try #require(r.output.components(separatedBy: "pushing: ").last, "\(r.output)")
        #expect(pushed.contains(" sent, ") && pushed.contains(" objects"), "\(r.output)")
        // At least the 300 files' contents (645,150 bytes) went into the repository.
        let words = pushed.split(separator: " ")
        let unit: Double = words.count > 1 && words[1] == "MiB" ? 1_048_576 : words.count > 1 && words[1] == "KiB" ? 1024 : 1
        #expect((Double(words.first ?? "") ?? 0) * unit >= 645_150, "\(pushed.prefix(80))")
    }
}

@Suite(.enabled(if: SSHServer.available)) struct PushProgressTests {
    @Test func aFirstImportOverSSHShowsItsPhasesAndTheBytesPushed() throws {
        let server = try SSHServer.info()
        let s = try Scratch("push-progress")
        let repo = try s.serverRepository()
        let a = s.agent("a")
        for i in 0..<300 { try a.write("d\(i % 10)/f\(i).bin", String(repeating: "\(i % 10)", count: 2000 + i)) }
        let binary = Binaries.productsDirectory.appendingPathComponent("shadowsync").path
        let command = [binary, "init", a.folder, "--remote", server.url(repo), "--no-passphrase", "--ssh-key", server.key("client_ed25519"),
                       "--known-hosts", server.knownHosts].map { "'\($0)'" }.joined(separator: " ")
        let r = SSHServer.shell(["script", "-qec", command, "/dev/null"], environment: a.environment)
        #expect(r.status == 0, "\(r.output)")
        for phase in ["scanning (", "encrypted 300 files", "pushing (", "pushing: ", " sent, "] {
            #expect(r.output.contains(phase), "\(phase): \(r.output)")
        }
        // The second machine's join fetches it all: the bytes received show.
        let b = s.agent("b")
        let join = [binary, "join", server.url(repo), b.folder, "--key-file", try a.exportKey(), "--no-passphrase",
                    "--ssh-key", server.key("client_ed25519"), "--known-hosts", server.knownHosts].map { "'\($0)'" }.joined(separator: " ")
        let j = SSHServer.shell(["script", "-qec", join, "/dev/null"], environment: b.environment)
        #expect(j.status == 0, "\(j.output)")
        #expect(j.output.contains("fetching: ") && j.output.contains(" received, "), "\(j.output)")
        #expect(b.read("d3/f3.bin") == String(repeating: "3", count: 2003))
    }
}
