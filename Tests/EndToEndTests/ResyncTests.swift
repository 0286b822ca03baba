import Foundation
import Testing
import TestSupport

/// `shadowsync resync`: the recovery after a fork, a move to a new repository, or a server restored
/// from a backup. Every machine ends with every side's files, and nothing a user saved is lost.
@Suite(.serialized) struct ResyncTests {
    /// The server forks history over SSH (main put back to an old commit, where C commits on top): B,
    /// whose verified head is gone, is refused by `sync`; `resync` takes the server's line, keeps B's
    /// files and both versions of the file the two lines changed, and pushes; C then syncs as usual, and
    /// A (on B's old line) recovers the same way.
    @Test(.enabled(if: SSHServer.available)) func resyncAfterAForkLeavesBothSidesFilesOnBothMachines() throws {
        let server = try SSHServer.info()
        let s = try Scratch("resync-fork")
        let repo = try s.serverRepository()
        let a = s.agent("a"), b = s.agent("b"), c = s.agent("c")
        let ssh = ["--no-passphrase", "--ssh-key", server.key("client_ed25519"), "--known-hosts", server.knownHosts]
        try a.write("doc.txt", "version 1\n")
        try a.ok(["init", a.folder, "--remote", server.url(repo)] + ssh)
        let key = try a.exportKey()
        for agent in [b, c] { try agent.ok(["join", server.url(repo), agent.folder, "--key-file", key] + ssh) }
        try a.sync()
        let base = try s.git(["rev-parse", "main"], in: repo).trimmingCharacters(in: .whitespacesAndNewlines)

        try a.write("doc.txt", "version 2 from a\n")
        try a.sync()
        try b.write("from-b.txt", "b\n")
        try b.write("dir/deep-b.txt", "deep b\n")
        try b.sync()
        // The fork: the server shows C the old head; C changes the same file and adds its own.
        try s.git(["update-ref", "refs/heads/main", base], in: repo)
        try c.write("from-c.txt", "c\n")
        try c.write("doc.txt", "version 2 from c\n")
        try c.sync()
        let lineOfC = try s.git(["rev-parse", "main"], in: repo).trimmingCharacters(in: .whitespacesAndNewlines)

        let refused = try b.run(["sync", "--folder", b.folder])
        #expect(refused.status == 2 && refused.stderr.contains("shadowsync resync"), "\(refused.stderr)")
        let r = try b.run(["resync", "--folder", b.folder])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("verified the server's history from its root: head \(lineOfC.prefix(12))"), "\(r.stdout)")
        #expect(r.stdout.contains("left out"), "\(r.stdout)")
        #expect(r.stdout.contains("pushed "), "\(r.stdout)")
        #expect(b.read("from-b.txt") == "b\n" && b.read("dir/deep-b.txt") == "deep b\n" && b.read("from-c.txt") == "c\n")
        func docVersions(_ agent: Agent) -> Set<String> {
            Set(agent.snapshot().filter { $0.key.hasPrefix("doc") }.values)
        }
        #expect(docVersions(b) == ["file:version 2 from a\n", "file:version 2 from c\n"], "\(b.snapshot())")
        // The server's line stays below the new head: C needs nothing but a sync.
        let after = try s.git(["rev-parse", "main"], in: repo).trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try s.git(["merge-base", "--is-ancestor", lineOfC, after], in: repo)
        try c.sync()
        #expect(c.read("from-b.txt") == "b\n" && c.read("dir/deep-b.txt") == "deep b\n")
        #expect(docVersions(c) == docVersions(b))

        // A verified B's old line, which the server no longer holds: refused, then recovered the same way.
        #expect(try a.run(["sync", "--folder", a.folder]).status == 2)
        try a.ok(["resync", "--folder", a.folder])
        try b.sync()
        try c.sync()
        #expect(a.snapshot() == b.snapshot() && b.snapshot() == c.snapshot(), "\(a.snapshot())\n\(b.snapshot())\n\(c.snapshot())")
        #expect(a.read("from-c.txt") == "c\n" && a.read("from-b.txt") == "b\n")
        for agent in [a, b, c] { #expect(try agent.run(["fsck", "--folder", agent.folder]).status == 0) }
        // A resync is a person's decision: beside a running daemon it is refused.
        let daemon = try RunningDaemon(b)
        defer { _ = daemon.stop() }
        let busy = try b.run(["resync", "--folder", b.folder])
        #expect(busy.status != 0 && busy.stderr.contains("resync runs only without it"), "\(busy.stderr)")
    }

    /// A server restored from an older backup: the commits it lost are still this machine's history,
    /// so `resync` pushes them back unchanged (a fast-forward), after verifying what the server holds.
    @Test func resyncAfterARestoreFromBackupPushesTheLostCommitsBack() throws {
        let s = try Scratch("resync-restore")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("doc.txt", "version 1\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        try a.sync()
        let backup = s.root.appendingPathComponent("backup.git").path
        _ = try s.git(["clone", "--bare", "--quiet", s.remote, backup], in: s.root.path)
        try a.write("doc.txt", "version 2\n")
        try a.write("later.txt", "after the backup\n")
        try a.sync()
        let lost = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.removeItem(atPath: s.remote)
        _ = try s.git(["clone", "--bare", "--quiet", backup, s.remote], in: s.root.path)

        let refused = try a.run(["sync", "--folder", a.folder])
        #expect(refused.status == 2 && refused.stderr.contains("rolled back") && refused.stderr.contains("shadowsync resync"), "\(refused.stderr)")
        let r = try a.run(["resync", "--folder", a.folder])
        #expect(r.status == 0 && r.stdout.contains("restored  1 commit(s)"), "\(r.stdout)\(r.stderr)")
        #expect(try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines) == lost)
        try b.sync()
        #expect(b.read("later.txt") == "after the backup\n" && b.read("doc.txt") == "version 2\n")
        #expect(a.snapshot() == b.snapshot())
    }

    /// Moving to a new, empty repository: `config set remote NEW`, then `resync`, fills it with this
    /// machine's history; a machine joining there gets every file, and the other machine follows.
    @Test func movingToANewEmptyRemoteAndResyncPushesEverythingThere() throws {
        let s = try Scratch("resync-move")
        let a = s.agent("a"), b = s.agent("b"), d = s.agent("d")
        try a.write("doc.txt", "version 1\n")
        try a.write("sub/more.txt", "more\n")
        try a.initialize()
        try b.join(keyFile: try a.exportKey())
        try b.write("b.txt", "from b\n")
        try b.sync()
        try a.sync()
        let fresh = s.root.appendingPathComponent("new.git").path
        _ = try s.git(["init", "--bare", "--quiet", "-b", "main", fresh], in: s.root.path)
        try a.ok(["config", "set", "remote", fresh, "--folder", a.folder])
        try a.write("unpushed.txt", "made before the move\n")
        let r = try a.run(["resync", "--folder", a.folder])
        #expect(r.status == 0 && r.stdout.contains("the server's repository was empty") && r.stdout.contains("pushed "), "\(r.stdout)\(r.stderr)")
        #expect(try s.git(["rev-parse", "main"], in: fresh).trimmingCharacters(in: .whitespacesAndNewlines).count == 40)

        try d.ok(["join", fresh, d.folder, "--key-file", try a.exportKey(), "--no-passphrase"])
        #expect(d.read("doc.txt") == "version 1\n" && d.read("sub/more.txt") == "more\n" && d.read("b.txt") == "from b\n"
                && d.read("unpushed.txt") == "made before the move\n")
        try b.ok(["config", "set", "remote", fresh, "--folder", b.folder])
        try b.ok(["resync", "--folder", b.folder])
        try a.sync()
        #expect(a.snapshot() == b.snapshot() && b.snapshot() == d.snapshot(), "\(a.snapshot())\n\(b.snapshot())\n\(d.snapshot())")
    }

    /// A server colluding with a thief: after A revokes B (a new key epoch), the server is put back to
    /// a copy taken before the revocation and B pushes onto it. A's sync refuses the rollback, and so
    /// does `resync`: the server's history lacks the revocation A verified, so nothing of it is taken
    /// (B's file never reaches A's folder) and A's own history stays readable. The advised recovery,
    /// a fresh repository filled from A, then carries A's history with the revocation.
    @Test func resyncRefusesAServerHistoryThatLacksARevocationThisMachineVerified() throws {
        let s = try Scratch("resync-revoked")
        let a = s.agent("a"), b = s.agent("b")
        try a.write("doc.txt", "version 1\n")
        try a.ok(["init", a.folder, "--remote", s.remote, "--no-passphrase", "--device-name", "laptop"])
        try b.ok(["join", s.remote, b.folder, "--invite", try InviteTests.invite(a, ["--name", "bee"]), "--no-passphrase"])
        try a.sync()
        let old = s.root.appendingPathComponent("old.git").path
        #expect(try TestProcess.run("/bin/cp", ["-a", s.remote, old]).status == 0)
        try a.ok(["device", "revoke", "bee", "--folder", a.folder])
        try a.write("after.txt", "written after the revocation\n")
        try a.sync()
        let verified = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.removeItem(atPath: s.remote)
        #expect(try TestProcess.run("/bin/cp", ["-a", old, s.remote]).status == 0)
        try b.write("thief.txt", "from the revoked device\n")
        try b.sync()

        #expect(try a.run(["sync", "--folder", a.folder]).status == 2)
        let before = a.snapshot()
        let r = try a.run(["resync", "--folder", a.folder])
        #expect(r.status == 2, "\(r.status)\n\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("lacks the revocation of device bee") && r.stderr.contains("\(verified.prefix(12))")
                && r.stderr.contains("old or forged history") && r.stderr.contains("config set remote"), "\(r.stderr)")
        #expect(a.read("thief.txt") == nil && a.snapshot() == before, "\(a.snapshot())")
        let log = try a.run(["log", "--folder", a.folder])
        #expect(log.status == 0 && !log.stderr.contains("failed authentication"), "\(log.stdout)\(log.stderr)")
        #expect(try DeviceTests.devices(a)["bee"]?["revoked"] as? Bool == true)

        // The advised recovery: A's history, revocation included, fills a fresh repository.
        let fresh = s.root.appendingPathComponent("fresh.git").path
        _ = try s.git(["init", "--bare", "--quiet", "-b", "main", fresh], in: s.root.path)
        try a.ok(["config", "set", "remote", fresh, "--folder", a.folder])
        try a.ok(["resync", "--folder", a.folder])
        _ = try s.git(["merge-base", "--is-ancestor", verified, "main"], in: fresh)
        try a.write("later.txt", "later\n")
        try a.sync()
        #expect(a.read("thief.txt") == nil && a.read("after.txt") == "written after the revocation\n")
        #expect(try a.run(["log", "--folder", a.folder]).status == 0)
        #expect(try a.ok(["fsck", "--folder", a.folder]).hasPrefix("ok: "))
    }

    /// A revocation made here whose push never happened, on a line the server's history left out:
    /// `resync` takes the server's line, writes under that tree's newest key epoch (not the one started
    /// here, which the tree lacks), so every machine reads what it commits, and says the revocation
    /// was left out so that it is repeated.
    @Test func resyncOntoALineWithoutAnEpochStartedHereWritesUnderTheTreesEpoch() throws {
        let s = try Scratch("resync-epoch")
        let (laptop, desktop, _) = try RevocationTests.threeMachines(s, remote: s.remote)
        let base = try s.git(["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try laptop.write("x.txt", "verified on the lost line\n")
        try laptop.sync()
        // Killed before the push: the revocation and its key epoch stay on this machine only.
        let killed = try laptop.run(["device", "revoke", "stolen", "--folder", laptop.folder], crashAt: "git-push")
        #expect(killed.status != 0)
        try s.git(["update-ref", "refs/heads/main", base])
        try desktop.write("d.txt", "on the server's line\n")
        try desktop.sync()

        #expect(try laptop.run(["sync", "--folder", laptop.folder]).status == 2)
        let r = try laptop.run(["resync", "--folder", laptop.folder])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("lacks the revocation of device stolen") && r.stdout.contains("repeat"), "\(r.stdout)")
        let log = try laptop.run(["log", "--folder", laptop.folder])
        #expect(log.status == 0 && !log.stderr.contains("failed authentication"), "\(log.stdout)\(log.stderr)")
        try desktop.sync()
        #expect(desktop.read("x.txt") == "verified on the lost line\n" && laptop.read("d.txt") == "on the server's line\n")
        #expect(desktop.snapshot() == laptop.snapshot(), "\(desktop.snapshot())\n\(laptop.snapshot())")
        #expect(try desktop.run(["log", "--folder", desktop.folder]).status == 0)
        // Repeated as the warning says, the revocation reaches the server's history.
        try laptop.ok(["device", "revoke", "stolen", "--folder", laptop.folder])
        try desktop.sync()
        #expect(try DeviceTests.devices(desktop)["stolen"]?["revoked"] as? Bool == true)
    }
}
